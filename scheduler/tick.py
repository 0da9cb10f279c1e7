"""The periodic tick: claim due pending tasks in the store and put them on the queue."""

from __future__ import annotations

import logging
import threading

from rq import Queue

from reporting.queue import dispatch, report_queue
from reporting.settings import Settings
from reporting.store import open_store
from reporting.tasks import TaskRepository, utcnow

log = logging.getLogger(__name__)


def tick(tasks: TaskRepository, queue: Queue, job_timeout: int) -> int:
    """Enqueue every task due now. Each claim is atomic in the store (pending -> queued), so
    two schedulers ticking at once never enqueue the same task twice. Returns how many."""
    now = utcnow()
    enqueued = 0
    while (task := tasks.claim_due(now)) is not None:
        if not dispatch(tasks, queue, task["_id"], job_timeout):
            break  # the queue is down: the rest stay pending for the next tick
        enqueued += 1
    return enqueued


def run_scheduler(settings: Settings, stop: threading.Event) -> None:
    """Tick every `SCHEDULER_INTERVAL_SECONDS` until `stop` is set."""
    store = open_store(settings)
    tasks = TaskRepository(store.db)
    tasks.ensure_indexes()
    queue = report_queue(settings)
    log.info("scheduler ticking every %ss", settings.scheduler_interval_seconds)
    try:
        while not stop.is_set():
            try:
                count = tick(tasks, queue, settings.job_timeout_seconds)
                if count:
                    log.info("tick enqueued %d due task(s)", count)
            except Exception:
                # A failed tick (store down) must not end the scheduler: log, try next time.
                log.exception("scheduler tick failed")
            stop.wait(settings.scheduler_interval_seconds)
    finally:
        store.close()
