"""Sentry with the real SDK and its real HTTP transport, against a local server that receives
the envelopes; real failing runs (a real kernel) and the real API in-process."""

import json
import logging

import pytest
import sentry_sdk
from fastapi.testclient import TestClient

from reporting import telemetry
from reporting.processes import free_port
from reporting.settings import load_settings
from reporting.tasks import TaskStatus, new_task
from scheduler.jobs import TaskRun
from service.main import create_app
from tests.conftest import MASTER_KEY
from tests.http_recorder import HttpRecorder, envelope_items, sentry_events, sentry_for

SECRET_PARAMETER = "do-not-send-this-0123456789"


@pytest.fixture
def sentry_server():
    with HttpRecorder() as server:
        yield server


@pytest.fixture
def tracked(settings, sentry_server):
    """Settings with SENTRY_DSN pointing at the local server."""
    host_port = sentry_server.url.removeprefix("http://")
    return settings.model_copy(update={"sentry_dsn": f"http://public@{host_port}/1"})


def _failing_run(settings, **parameters) -> tuple[TaskRun, str]:
    run = TaskRun(settings)
    task = run.tasks.insert(new_task("broken", {"label": "weekly", **parameters}, "key"))
    run.tasks.queue(task["_id"])
    assert run.run(task["_id"]) == "failed"
    return run, task["_id"]


def _dropped_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "events are being dropped" in r.getMessage()]


def test_a_failed_run_is_an_error_event_with_its_tags_release_and_environment(
    tracked, sentry_server
):
    with sentry_for(tracked, "worker") as on:
        assert on
        _, task_id = _failing_run(tracked, api_token=SECRET_PARAMETER)
        sentry_sdk.flush(timeout=5)
    request = sentry_server.requests[0]
    assert request.path == "/api/1/envelope/"
    assert "sentry_key=public" in request.headers["x-sentry-auth"]
    [event] = [e for e in sentry_events(sentry_server) if e.get("logger") == "reportbook.runs"]
    assert event["level"] == "error"
    assert event["exception"]["values"][0]["type"] == "ZeroDivisionError"
    assert "division by zero" in event["exception"]["values"][0]["value"]
    assert (
        event["tags"]
        | {
            "task_id": task_id,
            "notebook": "broken",
            "attempt": "1",
            "reason": "error",
            "component": "worker",
            "param.label": "weekly",
            "param.api_token": "[REDACTED]",
        }
        == event["tags"]
    )
    assert event["environment"] == "development" and event["release"] == "reportbook@0.1.0"
    assert event["contexts"]["task"]["cell_index"] == 3
    assert "1 / divisor" in event["contexts"]["task"]["source"]
    assert event["fingerprint"] == ["task-failed", "broken", "error", "ZeroDivisionError"]
    for request in sentry_server.requests:
        assert SECRET_PARAMETER.encode() not in request.body
        assert MASTER_KEY.encode() not in request.body


def test_api_exceptions_are_reported_without_keys_or_the_master_key(tracked, sentry_server):
    with sentry_for(tracked, "api"):
        app = create_app(tracked)
        with TestClient(app, raise_server_exceptions=False) as client:
            created = client.post(
                "/v1/admin/api-keys",
                headers={"X-Master-Key": MASTER_KEY},
                json={"name": "ops", "role": "admin"},
            )
            key = created.json()["key"]

            @app.post("/boom")  # (any unknown GET is the web app's page)
            def boom() -> None:  # a bug, with secrets in its locals and its message
                master_key, api_key = MASTER_KEY, key  # noqa: F841
                raise RuntimeError(f"cannot use {key} with {MASTER_KEY}")

            response = client.post(
                "/boom", headers={"Authorization": f"Bearer {key}", "X-Master-Key": MASTER_KEY}
            )
            assert response.status_code == 500
            assert client.get("/healthcheck").status_code == 200
        sentry_sdk.flush(timeout=5)
    [event] = [e for e in sentry_events(sentry_server) if e.get("exception")]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["tags"]["component"] == "api"
    assert event["environment"] == "development" and event["release"] == "reportbook@0.1.0"
    assert event["request"]["url"].endswith("/boom")
    payloads = b"".join(request.body for request in sentry_server.requests)
    for secret in (MASTER_KEY, key, key.split("_")[2], tracked.pepper()):
        assert secret.encode() not in payloads
    # Tracing is off by default: errors only, no transactions.
    items = [h["type"] for r in sentry_server.requests for h, _ in envelope_items(r.body)]
    assert "transaction" not in items and "event" in items


def test_tracing_is_off_unless_a_sample_rate_is_set(settings, monkeypatch):
    assert settings.sentry_traces_sample_rate == 0.0
    monkeypatch.setenv("SENTRY_TRACES_SAMPLE_RATE", "0.25")
    monkeypatch.setenv("SENTRY_DSN", "http://public@127.0.0.1:9/1")
    configured = load_settings()
    with sentry_for(configured, "worker"):
        assert sentry_sdk.get_client().options["traces_sample_rate"] == 0.25


def test_exceptions_in_a_bound_task_scope_carry_the_task_tags(tracked, sentry_server):
    task = {**new_task("broken", {"label": "x"}, "key"), "attempt": 2}
    with sentry_for(tracked, "worker"), sentry_sdk.isolation_scope():
        telemetry.bind_task(task)
        try:
            raise KeyError("missing column")
        except KeyError:
            sentry_sdk.capture_exception()
        sentry_sdk.flush(timeout=5)
    [event] = sentry_events(sentry_server)
    assert event["exception"]["values"][0]["type"] == "KeyError"
    assert {"task_id": task["_id"], "notebook": "broken", "attempt": "2"}.items() <= event[
        "tags"
    ].items()


def test_a_bad_dsn_is_logged_once_and_the_api_still_answers(settings, caplog):
    bad = settings.model_copy(update={"sentry_dsn": "not-a-dsn"})
    with caplog.at_level(logging.WARNING), sentry_for(bad, "api") as on:
        assert not on and not telemetry.init_sentry(bad, "api")
        with TestClient(create_app(bad)) as client:
            assert client.get("/healthcheck").status_code == 200
        assert not sentry_sdk.get_client().is_active()
        assert telemetry.report_failed_run(new_task("broken", {}, "key")) is None
    warnings = [r.getMessage() for r in caplog.records if "Sentry is off" in r.getMessage()]
    assert len(warnings) == 1 and "BadDsn" in warnings[0]


@pytest.mark.parametrize("sentry", ["answers 500", "unreachable"])
def test_a_failing_sentry_is_logged_once_and_runs_still_fail_cleanly(
    tracked, sentry_server, sentry, caplog
):
    if sentry == "answers 500":
        sentry_server.status = 500
    else:
        tracked = tracked.model_copy(
            update={"sentry_dsn": f"http://public@127.0.0.1:{free_port()}/1"}
        )
    with caplog.at_level(logging.WARNING), sentry_for(tracked, "worker"):
        for _ in range(2):
            run, task_id = _failing_run(tracked)
            sentry_sdk.flush(timeout=5)
            task = run.tasks.get(task_id)
            assert task["status"] == TaskStatus.failed and task["error"]["reason"] == "error"
        logging.getLogger("reporting").error("an error logged while Sentry is down")
        sentry_sdk.flush(timeout=5)
    if sentry == "answers 500":
        assert len(sentry_server.requests) >= 3  # both runs and the error line were sent
    assert len(_dropped_warnings(caplog)) == 1


def test_tags_are_short_single_line_and_secret_parameters_are_masked():
    task = new_task("broken", {"note": "a\nb " * 100, "db_password": "x", "days": [1, 2]}, "k")
    tags = telemetry.task_tags({**task, "attempt": 1})
    assert tags["param.db_password"] == "[REDACTED]" and tags["param.days"] == "[1, 2]"
    assert len(tags["param.note"]) == 200 and "\n" not in tags["param.note"]
    assert json.dumps(tags)  # all strings
