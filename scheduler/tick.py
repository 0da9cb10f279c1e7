"""The scheduler: due tasks started on time, and the maintenance that keeps runs from getting
stuck.

- timer: the scheduler sleeps until the next due task (the store's earliest pending run_at,
  read again at least every RECHECK_SECONDS, and at once when the API wakes it through
  Redis after a task's due time was set), then claims what fell due: a task starts within
  about 2 s of its run_at (bench/lateness.py), retries and recurrences too;
- tick: claim due pending tasks in the store (one indexed query, then one guarded update per
  task, so two schedulers never claim the same task) and enqueue them; at each timer wake,
  every SCHEDULER_INTERVAL_SECONDS as the safety-net sweep, every maintenance round for due
  retries;
- reap: a running task whose worker stopped sending heartbeats is retried or ends `failed`
  with reason `abandoned`;
- recover: a task the store says is queued but whose job Redis no longer holds (Redis was
  flushed or restarted) is enqueued again;
- snapshots: due scheduled snapshots are launched with the tick; running snapshots whose
  chunk tasks all ended are moved on every round (see scheduler/snapshot_jobs.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from redis.client import PubSub
from redis.exceptions import RedisError

from reporting.alerts import on_run_ended
from reporting.lifecycle import Outcome, end_attempt, failure
from reporting.queue import TaskQueue, dispatch
from reporting.settings import Settings
from reporting.snapshots import tick_snapshots
from reporting.store import open_store
from reporting.tasks import TaskRepository, TaskStatus, utcnow
from scheduler.snapshot_jobs import SnapshotRun, advance_snapshots, chunk_ended

log = logging.getLogger(__name__)
BATCH = 1000
RECHECK_SECONDS = 2.0  # the timer reads the next due time at least this often


def tick(tasks: TaskRepository, queue: TaskQueue, retries_only: bool = False) -> int:
    """Enqueue every task due now (or only the due retries of failed attempts); returns how
    many this scheduler enqueued."""
    now = utcnow()
    enqueued = 0
    while ids := tasks.due_ids(now, BATCH, retries_only):
        claimed = 0
        for task_id in ids:
            task = tasks.queue(task_id, due_by=now)
            if task is None:
                continue  # another scheduler got it, or it changed meanwhile
            claimed += 1
            if not dispatch(tasks, queue, task):
                return enqueued  # the queue is down: the rest stay pending for the next tick
            enqueued += 1
        if claimed == 0 or len(ids) < BATCH:
            break
    return enqueued


def reap(tasks: TaskRepository, heartbeat_timeout: float, settings: Settings | None = None) -> int:
    """Close the attempts of running tasks whose worker died; returns how many."""
    cutoff = utcnow() - dt.timedelta(seconds=heartbeat_timeout)
    reaped = 0
    for task in tasks.silent_since(cutoff):
        silent = (utcnow() - task["heartbeat_at"]).total_seconds()
        if task.get("cancel_requested"):
            outcome = Outcome(TaskStatus.cancelled, failure("cancelled", "Cancelled",
                              "cancelled; its worker stopped responding"))  # fmt: skip
        else:
            outcome = Outcome(TaskStatus.failed, failure(
                "abandoned", "WorkerLost",
                f"no heartbeat from worker {task['worker_id']} for {silent:.0f} s"))  # fmt: skip
        if (ended := end_attempt(tasks, task, outcome)) is not None:
            if settings is not None:  # a final failure (abandoned): Sentry + Slack
                on_run_ended(settings, ended)
                chunk_ended(settings, ended)
            log.warning("task %s attempt %d abandoned by %s", task["_id"], task["attempt"],
                        task["worker_id"])  # fmt: skip
            reaped += 1
    return reaped


def recover(tasks: TaskRepository, queue: TaskQueue, grace: float) -> int:
    """Re-enqueue queued tasks whose job Redis lost; returns how many."""
    recovered = 0
    for task in tasks.queued_since(utcnow() - dt.timedelta(seconds=grace)):
        if not queue.holds(task):
            queue.remove(task)
            if dispatch(tasks, queue, task):
                log.warning(
                    "task %s was queued but Redis had lost its job: re-enqueued", task["_id"]
                )
                recovered += 1
    return recovered


class DueTimer:
    """Sleeps until a deadline, or until the API says a task's due time was set
    (TaskQueue.wake_scheduler), or until `stop`. Without Redis it just sleeps."""

    def __init__(self, queue: TaskQueue, stop: threading.Event) -> None:
        self.queue = queue
        self.stop = stop
        self.pubsub: PubSub | None = None

    def wait(self, until: float) -> None:
        while not self.stop.is_set() and (left := until - time.monotonic()) > 0:
            step = min(left, 1.0)  # `stop` is seen within a second
            try:
                if self.pubsub is None:
                    self.pubsub = self.queue.wake_subscription()
                if self.pubsub.get_message(timeout=step) is not None:
                    while self.pubsub.get_message() is not None:  # several wakes: one look
                        pass
                    return
            except RedisError:
                self.close()
                self.stop.wait(step)

    def close(self) -> None:
        if self.pubsub is not None:
            try:
                self.pubsub.close()
            except RedisError:
                pass
            self.pubsub = None


def _next_wake(tasks: TaskRepository, next_round: float) -> float:
    """The monotonic time to look again: the next due task, the next maintenance round, or
    RECHECK_SECONDS from now (a retry or a recurrence a worker stored meanwhile)."""
    until = min(next_round, time.monotonic() + RECHECK_SECONDS)
    due = tasks.next_due_at()
    if due is not None:
        until = min(until, time.monotonic() + (due - utcnow()).total_seconds())
    return until


def run_scheduler(settings: Settings, stop: threading.Event) -> None:
    """Start each task when it falls due (a timer on the next due time, woken by the API),
    sweep for due tasks every SCHEDULER_INTERVAL_SECONDS, and run maintenance more often,
    until `stop`."""
    store = open_store(settings)
    tasks = TaskRepository(store.db)
    tasks.ensure_indexes()
    queue = TaskQueue(settings)
    pipeline = SnapshotRun(settings, queue)
    pipeline.snapshots.ensure_indexes()
    timer = DueTimer(queue, stop)
    log.info(
        "scheduler: each task at its due time, a sweep for due tasks every %ss, dead-worker "
        "and lost-job checks every %ss",
        settings.scheduler_interval_seconds, settings.maintenance_interval_seconds,
    )  # fmt: skip
    next_tick = next_round = 0.0
    try:
        while not stop.is_set():
            until = time.monotonic() + 1.0  # after a failed round: try again in a second
            try:
                if time.monotonic() >= next_round:
                    next_round = time.monotonic() + settings.maintenance_interval_seconds
                    reap(tasks, settings.heartbeat_timeout_seconds, settings)
                    recover(tasks, queue, settings.lost_job_grace_seconds)
                    due_tick = time.monotonic() >= next_tick
                    if due_tick:
                        next_tick = time.monotonic() + settings.scheduler_interval_seconds
                    # Retries and due snapshots are not left waiting for the (hourly) tick.
                    if count := tick(tasks, queue, retries_only=not due_tick):
                        log.info("enqueued %d due task(s)", count)
                    if count := tick_snapshots(pipeline.snapshots, queue):  # one indexed query
                        log.info("launched %d due snapshot(s)", count)
                    advance_snapshots(pipeline)
                    queue.beat_scheduler()
                elif count := tick(tasks, queue):  # the timer: what fell due since
                    log.info("enqueued %d task(s) at their due time", count)
                until = _next_wake(tasks, next_round)
            except RedisError as exc:  # Redis down or restarting: expected, said in one line
                log.warning("scheduler round not finished, Redis unavailable: %s", exc)
            except Exception:
                # A failed round (store down, a bug) must not end the scheduler.
                log.exception("scheduler round failed")
            timer.wait(until)
    finally:
        timer.close()
        pipeline.close()
        store.close()
