"""Slack alerts: real failing runs (a real kernel), the real reaper, real Redis for grouping,
and a local HTTP server standing in for the incoming webhook."""

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sentry_sdk
from redis import Redis

from reporting import alerts
from reporting.processes import free_port, stop
from reporting.queue import TaskQueue, enqueue_now
from reporting.tasks import TaskStatus, new_task
from scheduler.jobs import TaskRun
from scheduler.tick import reap
from tests.http_recorder import HttpRecorder, sentry_events, sentry_for

ROOT = Path(__file__).resolve().parent.parent
HOOK_PATH = "/services/T0000/B0000/webhook-secret-part"


@pytest.fixture
def slack():
    with HttpRecorder() as server:
        yield server


@pytest.fixture
def alerting(settings, slack):
    return settings.model_copy(
        update={
            "slack_webhook_url": slack.url + HOOK_PATH,
            "public_base_url": "https://reports.example.com/",
            "slack_timeout_seconds": 0.5,
            "heartbeat_interval_seconds": 0.2,
        }
    )


def _queued(run: TaskRun, notebook: str = "broken", parameters: dict | None = None, **fields):
    parameters = {"label": "weekly"} if parameters is None else parameters
    task = run.tasks.insert(new_task(notebook, parameters, "key", **fields))
    run.tasks.queue(task["_id"])
    return task["_id"]


def _run_events(sentry_server: HttpRecorder) -> list[dict]:
    """The failed-run events Sentry received (not the log lines the SDK also sends)."""
    return [e for e in sentry_events(sentry_server) if e.get("logger") == "reportbook.runs"]


def _text(message: dict | list | str) -> str:
    """Everything a reader sees in a message, blocks included, one text per line."""
    if isinstance(message, str):
        return message
    items = message.values() if isinstance(message, dict) else message
    return "\n".join(_text(item) for item in items if isinstance(item, dict | list | str))


def test_a_failed_run_posts_one_message_with_what_to_look_at(alerting, slack):
    run = TaskRun(alerting)
    task_id = _queued(run, parameters={"label": "weekly", "api_token": "tok-secret-123"})
    assert run.run(task_id) == "failed"
    [request] = slack.wait_for(1)
    assert request.path == HOOK_PATH and request.headers["content-type"] == "application/json"
    message = request.json()
    link = f"https://reports.example.com/v1/tasks/{task_id}"
    assert task_id in message["text"] and link in message["text"]
    assert "ZeroDivisionError: division by zero" in message["text"]
    shown = _text(message)
    for expected in (f"<{link}|{task_id}>", "`broken`", "*Attempt*\n1 of 1", "*Reason*\nerror",
                     "*Failing cell*\n3", "1 / divisor", '"label": "weekly"'):  # fmt: skip
        assert expected in shown, expected
    assert "tok-secret-123" not in shown and '"api_token": "[REDACTED]"' in shown
    assert [b["type"] for b in message["blocks"]][:3] == ["header", "section", "section"]


def test_only_the_final_failure_is_alerted_not_a_retry(alerting, slack):
    run = TaskRun(alerting)
    task_id = _queued(run, retry={"max_attempts": 2, "backoff_seconds": 0})
    assert run.run(task_id) == "pending"
    run.tasks.queue(task_id)
    assert run.run(task_id) == "failed"
    [request] = slack.wait_for(1)
    assert "*Attempt*\n2 of 2" in _text(request.json())


def test_a_failed_run_reaches_both_slack_and_sentry(alerting, slack):
    with HttpRecorder() as sentry_server:
        host_port = sentry_server.url.removeprefix("http://")
        both = alerting.model_copy(update={"sentry_dsn": f"http://public@{host_port}/1"})
        with sentry_for(both, "worker"):
            run = TaskRun(both)
            task_id = _queued(run)
            assert run.run(task_id) == "failed"
            # A later event carries the Slack request among its breadcrumbs.
            logging.getLogger("reporting").error("something else went wrong")
            sentry_sdk.flush(timeout=5)
        [event] = _run_events(sentry_server)
        [later] = [e for e in sentry_events(sentry_server) if e.get("logger") == "reporting"]
    assert event["tags"]["task_id"] == task_id
    assert event["exception"]["values"][0]["type"] == "ZeroDivisionError"
    assert len(slack.wait_for(1)) == 1
    crumbs = [c for c in later["breadcrumbs"]["values"] if c.get("category") == "httplib"]
    assert [c["data"]["url"] for c in crumbs] == ["[REDACTED]"]  # the POST to Slack
    sent = b"".join(r.body for r in sentry_server.requests)
    assert HOOK_PATH.encode() not in sent  # the webhook URL is a secret too


def test_an_abandoned_run_is_alerted_by_the_reaper(alerting, slack):
    run = TaskRun(alerting)
    task_id = _queued(run, "chart_table")
    run.tasks.start(task_id, "lost-host:4242")
    time.sleep(0.05)
    assert reap(run.tasks, 0.01, alerting) == 1
    assert run.tasks.get(task_id)["status"] == TaskStatus.failed
    [request] = slack.wait_for(1)
    shown = _text(request.json())
    assert "WorkerLost: no heartbeat from worker lost-host:4242" in shown
    assert "*Reason*\nabandoned" in shown and "*Failing cell*\n-" in shown


def test_a_storm_is_one_message_per_notebook_and_error_with_the_count_held_back(
    alerting, slack, redis_url
):
    grouped = alerting.model_copy(update={"slack_min_interval_seconds": 1})
    run = TaskRun(grouped)
    task_id = _queued(run)
    assert run.run(task_id) == "failed"
    failed = run.tasks.get(task_id)
    # Four more of the same, reported by "other workers" (their own Redis connections).
    for n in range(4):
        with Redis.from_url(redis_url) as other_worker:
            alerts.on_run_ended(grouped, {**failed, "_id": f"same-{n}"}, other_worker)
    timeout = {**failed, "_id": "other", "error": {**failed["error"], "reason": "timeout",
               "ename": "TaskTimeout", "evalue": "ran longer than 5 s"}}  # fmt: skip
    alerts.on_run_ended(grouped, timeout, None)  # another error: its own message
    assert [r.json()["text"].split(": ")[2] for r in slack.wait_for(2)] == [
        "ZeroDivisionError",
        "TaskTimeout",
    ]
    time.sleep(1.1)  # the group's interval is over: the next one goes out, with the count
    alerts.on_run_ended(grouped, {**failed, "_id": "after"}, None)
    last = slack.wait_for(3)[-1].json()
    assert "+4 more like this since the last message" in last["text"] and "after" in last["text"]
    assert len(slack.requests) == 3


def test_only_failures_and_broken_series_are_alerted(alerting, slack):
    recurring = {**new_task("chart_table", {}, "key", recurrence={"every": "1h"}), "attempt": 1}
    for task in (
        None,
        {**recurring, "status": "success", "next_task_id": "next"},
        {**recurring, "status": "cancelled"},  # cancelling ends a series on purpose
        {**recurring, "status": "pending"},  # a retry is on its way
    ):
        alerts.on_run_ended(alerting, task)
    assert slack.requests == []
    alerts.on_run_ended(alerting, {**recurring, "status": "success", "next_task_id": None})
    [request] = slack.wait_for(1)
    assert request.json()["text"].startswith("Recurring series broken: chart_table")


@pytest.mark.parametrize("webhook", ["answers 500", "hangs", "unreachable"])
def test_a_failing_slack_never_fails_or_holds_up_the_job(alerting, slack, webhook, caplog):
    if webhook == "answers 500":
        slack.status = 500
    elif webhook == "hangs":
        slack.hang = True
    else:
        url = f"http://127.0.0.1:{free_port()}{HOOK_PATH}"
        alerting = alerting.model_copy(update={"slack_webhook_url": url})
    run = TaskRun(alerting)
    with caplog.at_level(logging.WARNING):
        task_id = _queued(run)
        assert run.run(task_id) == "failed"
        failed = run.tasks.get(task_id)
        assert failed["status"] == TaskStatus.failed and failed["attempts"]  # recorded
        other = {**failed, "_id": "other", "error": {**failed["error"], "ename": "KeyError"}}
        started = time.monotonic()
        alerts.on_run_ended(alerting, other)
        assert time.monotonic() - started < alerting.slack_timeout_seconds + 1
    notes = [r.getMessage() for r in caplog.records if "Slack alert not sent" in r.getMessage()]
    assert len(notes) == 2 and len(slack.requests) == (0 if webhook == "unreachable" else 2)
    assert HOOK_PATH not in caplog.text  # the webhook URL is never logged


def test_alerts_go_out_even_when_redis_is_down(alerting, slack, caplog):
    no_redis = alerting.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    task = {**new_task("broken", {}, "key"), "attempt": 1, "status": "failed",
            "error": {"reason": "error", "ename": "ValueError", "evalue": "bad"}}  # fmt: skip
    with caplog.at_level(logging.WARNING):
        alerts.on_run_ended(no_redis, task)
    assert len(slack.wait_for(1)) == 1
    assert "alert grouping unavailable" in caplog.text


def test_a_real_worker_process_reports_its_failed_run(alerting, slack, monkeypatch, tmp_path):
    """`python -m scheduler.worker` with SENTRY_DSN and SLACK_WEBHOOK_URL: the job runs in a
    forked process that exits right after it, and both still receive the failure."""
    with HttpRecorder() as sentry_server:
        monkeypatch.setenv("SENTRY_DSN", sentry_server.url.replace("//", "//public@") + "/1")
        monkeypatch.setenv("SLACK_WEBHOOK_URL", alerting.slack_webhook_url)
        run = TaskRun(alerting)
        task = run.tasks.insert(new_task("broken", {"label": "weekly"}, "key"))
        assert enqueue_now(run.tasks, TaskQueue(alerting), task["_id"])
        with open(tmp_path / "worker.log", "w") as log:
            command = [sys.executable, "-m", "scheduler.worker"]
            worker = subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            [request] = slack.wait_for(1, timeout=60)
            deadline = time.monotonic() + 10
            while not (events := _run_events(sentry_server)) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            stop(worker, timeout=5)
    assert task["_id"] in request.json()["text"]
    [event] = events
    assert event["tags"]["task_id"] == task["_id"] and event["tags"]["component"] == "worker"
    assert run.tasks.get(task["_id"])["status"] == TaskStatus.failed
