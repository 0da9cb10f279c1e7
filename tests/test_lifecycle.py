"""How attempts end: retries with backoff, final failures, and recurring series."""

import datetime as dt

import pytest

from reporting.lifecycle import Outcome, end_attempt, failure
from reporting.store import open_store
from reporting.tasks import TaskRepository, TaskStatus, new_task, utcnow


@pytest.fixture
def tasks(settings) -> TaskRepository:
    repo = TaskRepository(open_store(settings).db)
    repo.ensure_indexes()
    return repo


def _running(tasks, **fields) -> dict:
    task = tasks.insert(new_task("broken", {}, "k", **fields))
    tasks.queue(task["_id"])
    return tasks.start(task["_id"], "worker-1")


FAILED = Outcome(TaskStatus.failed, failure("error", "ValueError", "bad"), [], {"execution": 1.0})


def test_failure_with_attempts_left_is_retried_after_an_exponential_backoff(tasks):
    task = _running(tasks, retry={"max_attempts": 3, "backoff_seconds": 10})
    before = utcnow()
    retried = end_attempt(tasks, task, FAILED)
    assert retried["status"] == "pending" and retried["finished_at"] is None
    assert retried["run_at"] >= before + dt.timedelta(seconds=10)
    assert retried["attempts"][0]["number"] == 1 and retried["attempts"][0]["status"] == "failed"
    tasks.queue(task["_id"])
    second = tasks.start(task["_id"], "worker-2")
    retried = end_attempt(tasks, second, FAILED)
    assert retried["run_at"] >= utcnow() + dt.timedelta(seconds=19)  # 10 s, then 20 s
    tasks.queue(task["_id"])
    third = tasks.start(task["_id"], "worker-1")
    final = end_attempt(tasks, third, FAILED)
    assert final["status"] == "failed" and final["attempt"] == 3
    assert [a["worker_id"] for a in final["attempts"]] == ["worker-1", "worker-2", "worker-1"]


def test_an_attempt_is_closed_once_and_its_series_goes_on_once(tasks):
    task = _running(tasks, recurrence={"every": "1h", "anchor": "scheduled"})
    ended = end_attempt(tasks, task, FAILED)
    assert ended["status"] == "failed"
    assert end_attempt(tasks, task, Outcome(TaskStatus.success)) is None  # e.g. reaped already
    series = tasks.collection.find({"series_id": task["series_id"]})
    assert sorted(t["_id"] for t in series) == sorted([task["_id"], ended["next_task_id"]])


def test_a_cancelled_run_is_not_retried(tasks):
    task = _running(tasks, retry={"max_attempts": 3, "backoff_seconds": 0})
    task = tasks.request_cancel(task["_id"])
    assert end_attempt(tasks, task, FAILED)["status"] == "failed"


def test_weekly_snapshot_schedules_its_next_run_seven_days_after_it_finished(tasks):
    task = _running(tasks, recurrence={"every": "7d", "anchor": "finished"})
    assert task["next_run_at"] is None
    ended = end_attempt(tasks, task, Outcome(TaskStatus.success))
    nxt = tasks.get(ended["next_task_id"])
    assert nxt["status"] == "pending" and nxt["series_id"] == task["_id"]
    assert nxt["previous_task_id"] == task["_id"]
    assert nxt["run_at"] == ended["finished_at"] + dt.timedelta(days=7) == ended["next_run_at"]


def test_a_finally_failed_occurrence_keeps_the_chain(tasks):
    task = _running(tasks, recurrence={"every": "1h", "anchor": "scheduled"})
    assert task["next_run_at"] == task["run_at"] + dt.timedelta(hours=1)
    ended = end_attempt(tasks, task, FAILED)
    assert ended["status"] == "failed"
    assert tasks.get(ended["next_task_id"])["run_at"] == task["run_at"] + dt.timedelta(hours=1)


def test_a_cancelled_occurrence_ends_the_series_and_a_paused_one_passes_pause_on(tasks):
    task = _running(tasks, recurrence={"every": "1h", "anchor": "scheduled"})
    tasks.request_cancel(task["_id"])
    ended = end_attempt(tasks, task, Outcome(TaskStatus.cancelled))
    assert ended["next_task_id"] is None
    paused = _running(tasks, recurrence={"every": "1h", "anchor": "scheduled"})
    assert tasks.set_series_paused(paused["series_id"], True) == 1  # while the run went on
    ended = end_attempt(tasks, paused, Outcome(TaskStatus.success))
    assert ended["paused"] is True and tasks.get(ended["next_task_id"])["paused"] is True
