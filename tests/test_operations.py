"""Readiness of each dependency with real worker and scheduler processes, and queue counts."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reporting.processes import stop
from service.main import create_app
from tests.conftest import MASTER_KEY

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def client(settings, monkeypatch):
    monkeypatch.setenv("HEARTBEAT_TIMEOUT_SECONDS", "2")  # the scheduler runs a round every 1 s
    fast = settings.model_copy(update={"heartbeat_timeout_seconds": 2})
    with TestClient(create_app(fast)) as client:
        yield client


def _start(module: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def _wait_for_status(client, status: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/readiness")
        if response.status_code == status or time.monotonic() > deadline:
            return response.json()
        time.sleep(0.2)


def test_readiness_names_each_missing_part_until_all_run(client):
    body = client.get("/readiness").json()
    assert body["status"] == "unavailable"
    assert body["checks"]["store"] == "ok" and body["checks"]["queue"] == "ok"
    assert body["checks"]["workers"] == "error: no worker alive"
    assert body["checks"]["scheduler"].startswith("error")
    assert body["checks"]["firebase"] == "not configured"
    assert client.get("/healthcheck").status_code == 200  # liveness stays cheap and green
    worker, scheduler = _start("scheduler.worker"), _start("scheduler")
    try:
        body = _wait_for_status(client, 200)
        assert body["status"] == "ok", body
        assert body["checks"]["workers"] == "1 alive"
        assert body["checks"]["scheduler"].startswith("ok: last round")
        stop(scheduler)
        body = _wait_for_status(client, 503, timeout=15)  # silent for 3 rounds (3 s)
        assert (
            body["checks"]["scheduler"].startswith("error")
            and body["checks"]["workers"] == "1 alive"
        )
    finally:
        stop(worker)
        stop(scheduler)


def test_admins_see_jobs_per_queue_and_registry(client, pid):
    key = client.post("/v1/admin/api-keys", headers={"X-Master-Key": MASTER_KEY},
                      json={"name": "ops"}).json()["key"]  # fmt: skip
    admin = {"X-API-Key": key}
    client.post(
        "/v1/tasks",
        headers=admin,
        json={"notebook": "broken", "product_id": pid, "priority": "high"},
    )
    stats = {q["priority"]: q for q in client.get("/v1/admin/queues", headers=admin).json()}
    assert set(stats) == {"high", "normal", "low"}
    assert stats["high"]["queued"] == 1 and stats["normal"]["queued"] == 0
    assert stats["high"]["queue"] == "reports-high" and stats["high"]["workers"] == 0
    assert client.get("/v1/admin/queues").status_code == 401
