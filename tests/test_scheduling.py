"""The on-demand path and the scheduler tick against a real Redis."""

import datetime as dt

from reporting.queue import RUN_TASK, dispatch, enqueue_now, report_queue
from reporting.settings import load_settings
from reporting.store import open_store
from reporting.tasks import TaskRepository, utcnow
from scheduler.tick import tick


def _setup(settings):
    tasks = TaskRepository(open_store(settings).db)
    tasks.ensure_indexes()
    return tasks, report_queue(settings)


def test_enqueue_now_queues_in_store_and_redis(settings):
    tasks, queue = _setup(settings)
    task = tasks.create("broken", {}, "k")
    assert enqueue_now(tasks, queue, task["_id"], 60)
    assert tasks.get(task["_id"])["status"] == "queued"
    job = queue.fetch_job(f"task-{task['_id']}")
    assert job.func_name == RUN_TASK and job.args == (task["_id"],)
    assert not enqueue_now(tasks, queue, task["_id"], 60)  # already queued: no second job
    assert queue.count == 1


def test_tick_enqueues_due_tasks_once_and_leaves_future_ones(settings):
    tasks, queue = _setup(settings)
    due = [
        tasks.create("broken", {}, "k", run_at=utcnow() - dt.timedelta(seconds=s))["_id"]
        for s in (30, 10)
    ]
    future = tasks.create("broken", {}, "k", run_at=utcnow() + dt.timedelta(hours=1))["_id"]
    assert tick(tasks, queue, 60) == 2
    assert tick(tasks, queue, 60) == 0  # a second tick finds nothing more
    assert queue.job_ids == [f"task-{i}" for i in due]  # earliest first
    assert tasks.get(future)["status"] == "pending"


def test_queue_down_leaves_task_pending_for_the_next_tick(settings, redis_url):
    tasks, _ = _setup(settings)
    dead = report_queue(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    task = tasks.create("broken", {}, "k")
    assert not enqueue_now(tasks, dead, task["_id"], 60)
    assert tasks.get(task["_id"])["status"] == "pending"
    # The next tick with Redis back enqueues it.
    live = report_queue(load_settings())
    assert tick(tasks, live, 60) == 1
    assert live.job_ids == [f"task-{task['_id']}"]


def test_dispatch_refused_stops_the_tick_without_losing_tasks(settings):
    tasks, _ = _setup(settings)
    dead = report_queue(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    ids = [tasks.create("broken", {}, "k")["_id"] for _ in range(3)]
    assert tick(tasks, dead, 60) == 0
    assert {tasks.get(i)["status"] for i in ids} == {"pending"}
    assert not dispatch(tasks, dead, ids[0], 60)
