"""The RQ queue that carries tasks from the API and the scheduler to the workers."""

from __future__ import annotations

import logging

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from rq import Queue

from reporting.settings import Settings
from reporting.tasks import TaskRepository

log = logging.getLogger(__name__)

# Referenced by name: the service and the scheduler enqueue it without importing the worker.
RUN_TASK = "scheduler.jobs.run_task"


def connect_redis(settings: Settings) -> Redis:
    # One quick retry: a request must not hang for seconds when Redis is down.
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=2,
        socket_timeout=5,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
    )


def report_queue(settings: Settings, redis: Redis | None = None) -> Queue:
    return Queue(settings.queue_name, connection=redis or connect_redis(settings))


def dispatch(tasks: TaskRepository, queue: Queue, task_id: str, job_timeout: int) -> bool:
    """Enqueue one task that is already `queued` in the store.

    When Redis refuses, the task goes back to `pending` so the next scheduler tick retries
    it: the store stays the source of truth and nothing is lost.
    """
    try:
        queue.enqueue(
            RUN_TASK,
            task_id,
            job_id=f"task-{task_id}",
            job_timeout=job_timeout,
            result_ttl=86400,
            failure_ttl=7 * 86400,
        )
    except RedisError as exc:
        log.warning("could not enqueue task %s, left pending for the next tick: %s", task_id, exc)
        tasks.unqueue(task_id)
        return False
    return True


def enqueue_now(tasks: TaskRepository, queue: Queue, task_id: str, job_timeout: int) -> bool:
    """pending -> queued -> on the queue, for a task that is due now."""
    if tasks.queue(task_id) is None:
        return False
    return dispatch(tasks, queue, task_id, job_timeout)
