"""A scheduled task starts at its run_at, not at the next hourly sweep: a real scheduler (with
SCHEDULER_INTERVAL_SECONDS 3600 and maintenance rounds minutes apart) and a real worker; tasks
created through the API. Bounds are sanity bounds far below the hour the sweep would take."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reporting.processes import stop
from reporting.queue import TaskQueue
from reporting.tasks import utcnow

ROOT = Path(__file__).resolve().parent.parent
SLOW_ROUNDS = {
    "SCHEDULER_INTERVAL_SECONDS": "3600",
    "HEARTBEAT_TIMEOUT_SECONDS": "600",  # maintenance rounds (retries too) every 300 s
}


@pytest.fixture
def scheduler_and_worker(settings, monkeypatch, tmp_path):
    for name, value in SLOW_ROUNDS.items():
        monkeypatch.setenv(name, value)
    started = []
    for module in ("scheduler", "scheduler.worker"):
        log = open(tmp_path / f"{module}.log", "w")
        started.append(subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip
    queue = TaskQueue(settings)
    wait_for(lambda: queue.scheduler_heartbeat() is not None, "the scheduler's first round")
    wait_for(lambda: queue.worker_count() > 0, "the worker")
    yield
    for process in started:
        stop(process, timeout=5)


def wait_for(predicate, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _ended(client, auth, task_id: str) -> dict:
    return wait_for(
        lambda: (
            (t := client.get(f"/v1/tasks/{task_id}", headers=auth).json())["status"]
            in ("success", "failed")
            and t
        ),
        f"task {task_id}",
    )


def test_a_task_due_in_3s_starts_at_its_run_at_not_at_the_hourly_sweep(
    client, auth, pid, scheduler_and_worker
):
    run_at = utcnow() + dt.timedelta(seconds=3)
    response = client.post("/v1/tasks", headers=auth, json={
        "notebook": "slow", "product_id": pid, "parameters": {"seconds": 0.1},
        "run_at": run_at.isoformat(),
    })  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending"
    task = _ended(client, auth, response.json()["id"])
    assert task["status"] == "success", task
    queued, started = _parse(task["queued_at"]), _parse(task["started_at"])
    assert _parse(task["run_at"]) <= queued <= started  # claimed when due, not before
    assert (started - _parse(task["run_at"])).total_seconds() < 30  # the sweep: an hour


def test_a_retry_starts_after_its_backoff_not_at_the_next_round(
    client, auth, pid, scheduler_and_worker
):
    response = client.post("/v1/tasks", headers=auth, json={
        "notebook": "broken", "product_id": pid, "parameters": {"divisor": 0},
        "retry": {"max_attempts": 2, "backoff_seconds": 2},
    })  # fmt: skip
    assert response.status_code == 201, response.text
    task = _ended(client, auth, response.json()["id"])
    wait_for(
        lambda: (
            len((t := client.get(f"/v1/tasks/{task['id']}", headers=auth).json())["attempts"]) == 2
            and t["status"] == "failed"
        ),
        "the second attempt",
    )
    task = client.get(f"/v1/tasks/{task['id']}", headers=auth).json()
    first, second = task["attempts"]
    assert second["number"] == 2 and first["error"]["reason"] == "error"
    waited = (_parse(second["started_at"]) - _parse(first["finished_at"])).total_seconds()
    assert 2 <= waited < 30  # backoff 2 s; the next maintenance round is 300 s away


def test_an_interval_recurrence_starts_each_occurrence_on_time(
    client, auth, pid, scheduler_and_worker
):
    response = client.post("/v1/tasks", headers=auth, json={
        "notebook": "slow", "product_id": pid, "parameters": {"seconds": 0.1},
        "recurrence": {"every": "1m"},
    })  # fmt: skip
    assert response.status_code == 201, response.text
    first = _ended(client, auth, response.json()["id"])
    following = wait_for(lambda: first.get("next_task_id") or client.get(
        f"/v1/tasks/{first['id']}", headers=auth).json()["next_task_id"], "the next occurrence")  # fmt: skip
    second = _ended(client, auth, following)
    assert second["status"] == "success", second
    lateness = (_parse(second["started_at"]) - _parse(second["run_at"])).total_seconds()
    assert 0 <= lateness < 30
    client.post(f"/v1/tasks/{second['next_task_id']}/cancel", headers=auth)
