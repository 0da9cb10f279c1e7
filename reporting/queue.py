"""The RQ queues that carry tasks from the API and the scheduler to the workers.

One RQ queue per priority (`reports-high`, `reports`, `reports-low`); workers listen on all
three and always take from the highest first. A job's id names its task and attempt
(`task-<id>-<attempt>`), so an attempt is enqueued at most once however often it is asked.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.client import PubSub
from redis.exceptions import RedisError
from redis.retry import Retry
from rq import Queue, Worker
from rq.job import Job, JobStatus

from reporting.settings import Settings
from reporting.tasks import Priority, TaskRepository

log = logging.getLogger(__name__)

# Referenced by name: the service and the scheduler enqueue it without importing the worker.
RUN_TASK = "scheduler.jobs.run_task"
DEAD_JOB = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def connect_redis(settings: Settings) -> Redis:
    # One quick retry: a request must not hang for seconds when Redis is down.
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=2,
        socket_timeout=5,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
    )


def job_id(task: dict[str, Any]) -> str:
    return f"task-{task['_id']}-{task['attempt'] + 1}"


def task_of_job(id_: str) -> tuple[str, int]:
    """(task id, attempt) of a run's job id, `task-<id>-<attempt>`."""
    _, task_id, attempt = id_.rsplit("-", 2) if id_.count("-") >= 2 else ("", id_, "0")
    return task_id, int(attempt)


class TaskQueue:
    def __init__(self, settings: Settings, redis: Redis | None = None) -> None:
        self.redis = redis or connect_redis(settings)
        self.job_timeout = settings.job_timeout_seconds
        names = {
            Priority.high: f"{settings.queue_name}-high",
            Priority.normal: settings.queue_name,
            Priority.low: f"{settings.queue_name}-low",
        }
        self.queues = {p: Queue(name, connection=self.redis) for p, name in names.items()}

    @property
    def in_order(self) -> list[Queue]:
        """The queues in the order workers serve them."""
        return [self.queues[p] for p in Priority]

    def enqueue(self, task: dict[str, Any]) -> None:
        self.queues[Priority(task["priority"])].enqueue(
            RUN_TASK,
            task["_id"],
            job_id=job_id(task),
            job_timeout=self.job_timeout,
            result_ttl=86400,
            failure_ttl=7 * 86400,
        )

    def enqueue_job(self, function: str, *args: Any, job_id: str) -> None:
        """A pipeline job (not a notebook run) on the high queue: short, and what it unblocks
        (a snapshot's chunk tasks, its PDF) is waited for."""
        self.queues[Priority.high].enqueue(
            function, *args, job_id=job_id, job_timeout=self.job_timeout, result_ttl=86400,
            failure_ttl=7 * 86400,
        )  # fmt: skip

    def remove(self, task: dict[str, Any]) -> None:
        """Take a task's waiting job off its queue (when cancelled or re-prioritised)."""
        for queue in self.queues.values():
            queue.remove(job_id(task))

    @property
    def _heartbeat_key(self) -> str:
        return f"reportbook:{self.queues[Priority.normal].name}:scheduler-heartbeat"

    def beat_scheduler(self) -> None:
        """The scheduler finished a round now (read by /readiness)."""
        self.redis.set(self._heartbeat_key, time.time(), ex=86400)

    @property
    def _wake_channel(self) -> str:
        return f"reportbook:{self.queues[Priority.normal].name}:wake-scheduler"

    def wake_scheduler(self) -> None:
        """Tell the scheduler that a pending task's due time was set (created, moved, retried,
        resumed): it reads the next due time again at once. Best effort: the scheduler also
        reads it every few seconds."""
        try:
            self.redis.publish(self._wake_channel, "due")
        except RedisError as exc:
            log.warning("could not wake the scheduler (it looks again within seconds): %s", exc)

    def wake_subscription(self) -> PubSub:
        """What the scheduler listens on between rounds (see wake_scheduler)."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(self._wake_channel)
        return pubsub

    def scheduler_heartbeat(self) -> float | None:
        value = self.redis.get(self._heartbeat_key)
        return float(value) if value is not None else None

    def worker_count(self) -> int:
        return len(Worker.all(connection=self.redis, queue=self.queues[Priority.normal]))

    def stats(self) -> list[dict[str, Any]]:
        return [
            {
                "queue": queue.name,
                "priority": priority.value,
                "queued": queue.count,
                "started": queue.started_job_registry.count,
                "finished": queue.finished_job_registry.count,
                "failed": queue.failed_job_registry.count,
                "deferred": queue.deferred_job_registry.count,
                "scheduled": queue.scheduled_job_registry.count,
                "canceled": queue.canceled_job_registry.count,
                "workers": len(Worker.all(connection=self.redis, queue=queue)),
            }
            for priority, queue in self.queues.items()
        ]

    def holds(self, task: dict[str, Any]) -> bool:
        """Whether Redis still has a live job for the task's next attempt."""
        return self.holds_job(job_id(task))

    def holds_job(self, id_: str) -> bool:
        """Whether Redis has job `id_` waiting or running (not failed, stopped or lost)."""
        try:
            job = Job.fetch(id_, connection=self.redis)
        except Exception:  # NoSuchJobError, or a job Redis half-lost
            return False
        return job.get_status(refresh=False) not in DEAD_JOB


def dispatch(tasks: TaskRepository, queue: TaskQueue, task: dict[str, Any]) -> bool:
    """Enqueue one task that is already `queued` in the store.

    When Redis refuses, the task goes back to `pending` so the next scheduler tick retries
    it: the store stays the source of truth and nothing is lost.
    """
    try:
        queue.enqueue(task)
    except RedisError as exc:
        log.warning(
            "could not enqueue task %s, left pending for the next tick: %s", task["_id"], exc
        )
        tasks.unqueue(task["_id"])
        return False
    return True


def enqueue_now(tasks: TaskRepository, queue: TaskQueue, task_id: str) -> bool:
    """pending -> queued -> on the queue, for a task that is due now."""
    task = tasks.queue(task_id)
    if task is None:
        return False
    return dispatch(tasks, queue, task)
