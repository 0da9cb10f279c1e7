"""Log lines: JSON in production with request and task ids, readable in development, and no
secret in either."""

import json
import logging
import os

from fastapi.testclient import TestClient

from reporting import logs
from reporting.logs import configure_logging
from service.main import create_app
from tests.conftest import MASTER_KEY

KEY = "rb_0123abcd_" + "A1b2-" * 9
JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"


def test_secrets_are_masked_in_messages_arguments_and_tracebacks(settings, capsys):
    configure_logging(settings)
    log = logging.getLogger("test.secrets")
    log.warning("key %s and header %s", KEY, f"Bearer {JWT}")
    log.warning("the master key is %s", MASTER_KEY)
    try:
        raise ValueError(f"bad key {KEY}")
    except ValueError:
        log.exception("failed with %s", JWT)
    err = capsys.readouterr().err
    assert err.count(logs.MASK) >= 5
    for secret in (KEY, JWT, MASTER_KEY, KEY.split("_")[2]):
        assert secret not in err
    assert "ValueError" in err and "Traceback" in err  # the traceback itself is kept


def test_production_lines_are_json_with_the_request_id(settings, capsys):
    production = settings.model_copy(update={"log_format": "json"})
    with TestClient(create_app(production)) as client:
        capsys.readouterr()
        response = client.get("/healthcheck", headers={"X-Request-ID": "req-42"})
        assert response.headers["X-Request-ID"] == "req-42"
        generated = client.get("/healthcheck").headers["X-Request-ID"]
        assert len(generated) == 16 and generated != "req-42"
        bad = client.get("/healthcheck", headers={"X-Request-ID": "x" * 65 + "\n"})
        assert bad.headers["X-Request-ID"] != "x" * 65 + "\n"
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    access = [line for line in lines if line["logger"] == "reportbook.access"]
    assert access[0]["request_id"] == "req-42" and access[0]["message"].startswith(
        "GET /healthcheck -> 200"
    )
    assert access[1]["request_id"] == generated
    assert {"ts", "level", "logger", "message", "process", "request_id", "task_id"} <= set(lines[0])


def test_development_lines_are_text_with_the_task_id(settings, capsys):
    configure_logging(settings)
    token = logs.task_id.set("task-abc")
    try:
        logging.getLogger("scheduler.jobs").info("running")
    finally:
        logs.task_id.reset(token)
    line = capsys.readouterr().err.strip()
    assert line.endswith(f"INFO scheduler.jobs [{os.getpid()}] task=task-abc: running")
