"""Queue control through the API: reschedule, priority, parameters, cancel, retry, pause,
resume, the queue view, and 409 for what a task's status does not allow."""

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from reporting.lifecycle import Outcome, end_attempt, failure
from reporting.tasks import TaskStatus
from service.main import create_app
from tests.conftest import MASTER_KEY, queued_job_ids

LATER = "2099-01-01T00:00:00Z"


@pytest.fixture
def client(settings, pid):
    with TestClient(create_app(settings)) as client:
        client.pid = pid
        key = client.post(
            "/v1/admin/api-keys", headers={"X-Master-Key": MASTER_KEY}, json={"name": "t"}
        ).json()["key"]
        client.headers["Authorization"] = f"Bearer {key}"
        client.app_context = client.app.state.context
        yield client


def _create(client, **body) -> dict:
    response = client.post(
        "/v1/tasks", json={"product_id": client.pid, "notebook": "broken", **body}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _fail(client, task_id: str) -> None:
    """Run the task's attempt to a failure, as a worker would."""
    tasks = client.app_context.tasks
    tasks.queue(task_id)
    end_attempt(
        tasks, tasks.start(task_id, "w"), Outcome(TaskStatus.failed, failure("error", "E", "x"))
    )


def test_reschedule_reprioritise_and_edit_parameters_while_pending(client):
    task = _create(client, run_at=LATER)
    response = client.patch(
        f"/v1/tasks/{task['id']}",
        json={
            "run_at": "2098-06-01T09:00:00+02:00",
            "priority": "high",
            "parameters": {"divisor": 5},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run_at"].startswith("2098-06-01T07:00:00")
    assert body["priority"] == "high" and body["parameters"] == {"divisor": 5}


def test_rescheduling_to_now_enqueues_at_once(client, settings):
    task = _create(client, run_at=LATER)
    now = dt.datetime.now(dt.UTC).isoformat()
    assert (
        client.patch(f"/v1/tasks/{task['id']}", json={"run_at": now}).json()["status"] == "queued"
    )
    assert queued_job_ids(settings) == [f"task-{task['id']}-1"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"parameters": {"divisor": "x"}}, ["body", "parameters", "divisor"]),
        ({"parameters": {"nope": 1}}, ["body", "parameters", "nope"]),
        ({"priority": "urgent"}, ["body", "priority"]),
        ({"run_at": "2030-01-01T00:00:00"}, ["body", "run_at"]),
        ({"run_at": None}, ["body", "run_at"]),
        ({"status": "success"}, ["body", "status"]),
        ({}, ["body"]),
    ],
)
def test_bad_updates_are_422_naming_the_field(client, body, loc):
    task = _create(client, run_at=LATER)
    response = client.patch(f"/v1/tasks/{task['id']}", json=body)
    assert response.status_code == 422, response.text
    assert any(e["loc"][: len(loc)] == loc for e in response.json()["detail"]), response.text
    assert client.get(f"/v1/tasks/{task['id']}").json()["parameters"] == {}


def test_priority_of_a_queued_task_moves_its_job(client, settings):
    task = _create(client)
    assert client.patch(f"/v1/tasks/{task['id']}", json={"run_at": LATER}).status_code == 409
    response = client.patch(f"/v1/tasks/{task['id']}", json={"priority": "high"})
    assert response.status_code == 200 and response.json()["status"] == "queued"
    queues = client.app_context.queue.queues
    assert queues["high"].job_ids == [f"task-{task['id']}-1"] and queues["normal"].job_ids == []


def test_cancel_pending_and_queued_tasks(client, settings):
    pending = _create(client, run_at=LATER)
    queued = _create(client)
    for task in (pending, queued):
        response = client.post(f"/v1/tasks/{task['id']}/cancel")
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert queued_job_ids(settings) == []  # its job was taken off the queue
    again = client.post(f"/v1/tasks/{queued['id']}/cancel")
    assert again.status_code == 409 and again.json()["status"] == "cancelled"


def test_cancel_running_task_is_requested_with_202(client):
    task = _create(client)
    client.app_context.tasks.start(task["id"], "w")
    response = client.post(f"/v1/tasks/{task['id']}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "running" and response.json()["cancel_requested"] is True


def test_retry_a_failed_task_only(client, settings):
    task = _create(client)
    response = client.post(f"/v1/tasks/{task['id']}/retry")
    assert response.status_code == 409 and response.json() == {
        "detail": "cannot retry a task that is queued",
        "status": "queued",
    }
    _fail(client, task["id"])
    retried = client.post(f"/v1/tasks/{task['id']}/retry").json()
    assert retried["status"] == "queued" and retried["error"] is None
    assert retried["attempts"][0]["status"] == "failed"
    assert f"task-{task['id']}-2" in queued_job_ids(settings)


def test_pause_and_resume_a_recurring_series(client, settings):
    task = _create(client, run_at=LATER, recurrence={"every": "1h", "anchor": "scheduled"})
    assert task["next_run_at"].startswith("2099-01-01T01:00:00")
    assert client.post(f"/v1/tasks/{task['id']}/pause").json()["paused"] is True
    tasks = client.app_context.tasks
    tasks.update_pending(task["id"], {"run_at": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)})
    assert tasks.due_ids(dt.datetime.now(dt.UTC), 10) == []  # paused: the tick skips it
    resumed = client.post(f"/v1/tasks/{task['id']}/resume").json()
    assert resumed["paused"] is False and resumed["status"] == "queued"  # it was overdue
    one_off = _create(client, run_at=LATER)
    assert client.post(f"/v1/tasks/{one_off['id']}/pause").status_code == 409


@pytest.mark.parametrize(
    ("extra", "loc"),
    [
        ({"recurrence": {"every": "fortnightly"}}, ["body", "recurrence", "every"]),
        ({"recurrence": {"cron": "0 25 * * *"}}, ["body", "recurrence", "cron"]),
        (
            {"recurrence": {"cron": "0 6 * * *", "timezone": "Nowhere/Land"}},
            ["body", "recurrence", "timezone"],
        ),
        ({"recurrence": {}}, ["body", "recurrence"]),
        ({"retry": {"max_attempts": 0}}, ["body", "retry", "max_attempts"]),
        ({"retry": {"backoff_seconds": -1}}, ["body", "retry", "backoff_seconds"]),
        ({"priority": "asap"}, ["body", "priority"]),
        ({"colour": "red"}, ["body", "colour"]),
    ],
)
def test_bad_schedules_are_422_naming_the_field(client, settings, extra, loc):
    response = client.post(
        "/v1/tasks", json={"product_id": client.pid, "notebook": "broken", **extra}
    )
    assert response.status_code == 422, response.text
    assert any(e["loc"][: len(loc)] == loc for e in response.json()["detail"]), response.text
    assert client.get("/v1/tasks").json()["total"] == 0


def test_queue_view_is_in_execution_order(client):
    low = _create(client, priority="low")
    normal = _create(client)
    high = _create(client, priority="high")
    later = _create(client, run_at="2098-01-01T00:00:00Z")
    latest = _create(client, run_at=LATER)
    paused = _create(client, run_at=LATER, recurrence={"every": "1d"})
    client.post(f"/v1/tasks/{paused['id']}/pause")
    ids = [t["id"] for t in client.get("/v1/queue").json()["items"]]
    assert ids == [high["id"], normal["id"], low["id"], later["id"], latest["id"]]


def test_unknown_task_is_404_for_every_command(client):
    for method, path in [("patch", ""), ("post", "/cancel"), ("post", "/retry"),
                         ("post", "/pause"), ("post", "/resume"), ("get", "/attempts/1/notebook")]:  # fmt: skip
        response = client.request(method, f"/v1/tasks/nope{path}", json={"priority": "low"})
        assert response.status_code == 404, (method, path)
