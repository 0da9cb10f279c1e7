"""The on-demand path and the scheduler tick against a real Redis."""

import datetime as dt

from reporting.queue import RUN_TASK, TaskQueue, dispatch, enqueue_now
from reporting.store import open_store
from reporting.tasks import TaskRepository, new_task, utcnow
from scheduler.tick import tick
from tests.conftest import queued_job_ids


def _setup(settings):
    tasks = TaskRepository(open_store(settings).db)
    tasks.ensure_indexes()
    return tasks, TaskQueue(settings)


def _dead_queue(settings) -> TaskQueue:
    return TaskQueue(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))


def _task(tasks, seconds_from_now: float = 0, **fields) -> str:
    run_at = utcnow() + dt.timedelta(seconds=seconds_from_now)
    return tasks.insert(new_task("broken", {}, "k", run_at, **fields))["_id"]


def test_enqueue_now_queues_in_store_and_redis(settings):
    tasks, queue = _setup(settings)
    task_id = _task(tasks)
    assert enqueue_now(tasks, queue, task_id)
    assert tasks.get(task_id)["status"] == "queued"
    job = queue.queues["normal"].fetch_job(f"task-{task_id}-1")
    assert job.func_name == RUN_TASK and job.args == (task_id,)
    assert not enqueue_now(tasks, queue, task_id)  # already queued: no second job
    assert queued_job_ids(settings) == [f"task-{task_id}-1"]


def test_tick_enqueues_due_tasks_once_and_leaves_future_and_paused_ones(settings):
    tasks, queue = _setup(settings)
    due = [_task(tasks, -30), _task(tasks, -10)]
    future = _task(tasks, 3600)
    paused = _task(tasks, -60, paused=True)
    assert tick(tasks, queue) == 2
    assert tick(tasks, queue) == 0  # a second tick finds nothing more
    assert queued_job_ids(settings) == [f"task-{i}-1" for i in due]  # earliest first
    assert tasks.get(future)["status"] == "pending"
    assert tasks.get(paused)["status"] == "pending"


def test_priorities_go_to_their_own_queues_served_high_first(settings):
    tasks, queue = _setup(settings)
    low = _task(tasks, -3, priority="low")
    normal = _task(tasks, -2)
    high = _task(tasks, -1, priority="high")
    assert tick(tasks, queue) == 3
    assert queued_job_ids(settings) == [f"task-{i}-1" for i in (high, normal, low)]


def test_retries_only_tick_leaves_first_runs_for_the_hourly_tick(settings):
    tasks, queue = _setup(settings)
    first_run = _task(tasks, -5)
    retry = tasks.insert({**new_task("broken", {}, "k", utcnow()), "attempt": 1})["_id"]
    assert tick(tasks, queue, retries_only=True) == 1
    assert queued_job_ids(settings) == [f"task-{retry}-2"]  # the job id names the attempt
    assert tasks.get(first_run)["status"] == "pending"


def test_queue_down_leaves_task_pending_for_the_next_tick(settings):
    tasks, queue = _setup(settings)
    task_id = _task(tasks)
    assert not enqueue_now(tasks, _dead_queue(settings), task_id)
    assert tasks.get(task_id)["status"] == "pending"
    assert tick(tasks, queue) == 1  # the next tick, with Redis back, enqueues it
    assert queued_job_ids(settings) == [f"task-{task_id}-1"]


def test_dispatch_refused_stops_the_tick_without_losing_tasks(settings):
    tasks, _ = _setup(settings)
    dead = _dead_queue(settings)
    ids = [_task(tasks) for _ in range(3)]
    assert tick(tasks, dead) == 0
    assert {tasks.get(i)["status"] for i in ids} == {"pending"}
    assert not dispatch(tasks, dead, tasks.get(ids[0]))
