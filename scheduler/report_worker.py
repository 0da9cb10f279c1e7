"""The RQ worker class for report queues: how it stops, and what dies with it.

- Stopping (SIGTERM, SIGINT or SIGHUP) while a notebook runs hands the task back instead of
  finishing it: the job process is killed and the task returns to `pending`, due now, with
  the attempt not counted, so a stop takes seconds whatever the report.
- The job process dies with its worker (PR_SET_PDEATHSIG): a worker killed with SIGKILL
  leaves no orphan running on; its task is then found by the scheduler's reaper (abandoned).
- A Redis that goes away while a job runs does not end the worker: the missed RQ heartbeats
  are logged and the run goes on (the task's own heartbeat goes to the store). A Redis
  restarted empty gets the worker's record again at its next heartbeat.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from redis.exceptions import RedisError
from rq import Worker, worker_registration

from reporting.processes import die_with_parent
from reporting.queue import RUN_TASK, task_of_job
from reporting.settings import Settings, load_settings
from reporting.store import open_store
from reporting.tasks import TaskRepository

log = logging.getLogger(__name__)


class ReportWorker(Worker):
    def __init__(self, *args: Any, settings: Settings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings or load_settings()
        self._running: Any = None  # the job being executed, seen from the worker
        self._hand_back = False

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        signal.signal(signal.SIGHUP, self.request_stop)  # a closed terminal stops it the same

    def request_stop(self, signum: Any, frame: Any) -> None:
        super().request_stop(signum, frame)  # idle: raises StopRequested, the worker ends
        job = self._running
        if job is not None and job.func_name == RUN_TASK and self.horse_pid:
            self._hand_back = True
            log.info("stopping: handing job %s back instead of finishing it", job.id)
            self.kill_horse(signal.SIGKILL)

    def heartbeat(self, timeout: Any = None, pipeline: Any = None) -> None:
        if (
            pipeline is None
            and self.birth_date is not None
            and not self.connection.sismember(self.redis_workers_keys, self.key)
        ):
            # Redis was restarted without this worker's record: register again, or no one
            # (/readiness, RQ's registry cleanup) would know the worker is alive.
            log.warning("Redis lost the record of worker %s: registering it again", self.name)
            with self.connection.pipeline() as again:
                again.hset(self.key, mapping=self.serialize())
                worker_registration.register(self, again)
                again.execute()
        super().heartbeat(timeout, pipeline)

    def main_work_horse(self, job: Any, queue: Any) -> None:
        die_with_parent(signal.SIGKILL)  # in the job process: it ends with its worker
        super().main_work_horse(job, queue)

    def maintain_heartbeats(self, job: Any, execution: Any) -> None:
        try:
            super().maintain_heartbeats(job, execution)
        except RedisError as exc:
            log.warning("RQ heartbeat for job %s not sent (Redis: %s); the run goes on",
                        job.id, exc)  # fmt: skip

    def execute_job(self, job: Any, queue: Any) -> None:
        self._running = job
        try:
            super().execute_job(job, queue)
        finally:
            self._running = None
            if self._hand_back:
                self._hand_back = False
                self.hand_back(job)

    def hand_back(self, job: Any) -> None:
        """Return the task of `job` (its job process is dead) to `pending`, due now. If the
        store cannot be reached, the reaper finds the task later (abandoned)."""
        task_id, attempt = task_of_job(job.id)
        store = None
        try:
            store = open_store(self.settings)
            released = TaskRepository(store.db).release(task_id, attempt)
        except Exception as exc:
            log.warning("task %s not handed back (%s): the reaper will take it", task_id, exc)
            return
        finally:
            if store is not None:
                store.close()
        if released is not None:
            log.info("task %s handed back: pending again, attempt %d not counted", task_id,
                     attempt)  # fmt: skip
