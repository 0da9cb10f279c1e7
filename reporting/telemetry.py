"""Error tracking with Sentry: set up once per process, failed runs reported as events.

Sentry must never break the API or a job: a bad DSN, an unreachable or failing Sentry, or an
exception inside the SDK is logged once per process and the work goes on. Every event passes
`scrubber` before it leaves: the configured secrets (master key, pepper, DSN, Slack webhook),
API keys, bearer tokens and JWTs are masked wherever they appear, headers and variables named
like secrets are blanked (the SDK's denylist plus ours), and parameters named like secrets
are masked. Performance tracing is off unless SENTRY_TRACES_SAMPLE_RATE is set.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from importlib import metadata
from typing import Any

import sentry_sdk
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber
from sentry_sdk.transport import HttpTransport

from reporting import logs
from reporting.settings import Settings

log = logging.getLogger(__name__)

SECRET_NAME = re.compile(r"(?i)secret|token|passw|api_?key|credential|dsn|pepper|private|auth")
DENYLIST = [*DEFAULT_DENYLIST, "x-master-key", "x_master_key", "master_key", "x-api-key",
            "pepper", "api_key_pepper", "slack_webhook_url", "sentry_dsn"]  # fmt: skip
TAG_KEY_LENGTH, TAG_VALUE_LENGTH = 32, 200  # Sentry's limits


class LogOnce:
    """Warns about each kind of problem once per process: a broken Sentry must not flood the
    logs (the SDK itself only reports its failures in debug mode)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def warning(self, kind: str, message: str, *args: Any) -> None:
        if kind not in self.seen:
            self.seen.add(kind)
            log.warning(message + " (further ones are not logged)", *args)

    def reset(self) -> None:
        self.seen.clear()


problems = LogOnce()


class Transport(HttpTransport):
    """The SDK's own HTTP transport, which says (once) that events are being dropped: Sentry
    answered an error status, could not be reached, or the send queue is full."""

    def on_dropped_event(self, reason: str) -> None:
        problems.warning("dropped", "Sentry: events are being dropped (%s); work goes on", reason)


def release(settings: Settings) -> str:
    if settings.release:
        return settings.release
    try:
        return f"reportbook@{metadata.version('reportbook')}"
    except metadata.PackageNotFoundError:
        return "reportbook@unknown"


def _redact(value: Any, redactor: logs.Redactor) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {key: _redact(item, redactor) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item, redactor) for item in value]
    return value


def scrubber(settings: Settings) -> Callable[[Any, dict], Any]:
    """`before_send`: the current request and task ids as tags, then every string of the
    event with secrets masked. If it raised, the SDK would drop the event (never send it)."""
    secrets = [s for s in (settings.sentry_dsn, settings.slack_webhook_url) if s]
    secrets += [s.get_secret_value() for s in (settings.master_key, settings.api_key_pepper) if s]
    redactor = logs.Redactor(secrets)

    def before_send(event: Any, hint: dict) -> Any:
        tags = event.setdefault("tags", {})
        for name, var in (("request_id", logs.request_id), ("task_id", logs.task_id)):
            if var.get() and name not in tags:
                tags[name] = var.get()
        return _redact(event, redactor)

    return before_send


def init_sentry(settings: Settings, component: str) -> bool:
    """Turn error tracking on for this process (`component`: api, worker, scheduler) when
    SENTRY_DSN is set; returns whether it is on. Never raises."""
    if not settings.sentry_dsn:
        return False
    try:
        sentry_sdk.init(
            dsn=settings.sentry_dsn,
            release=release(settings),
            environment=settings.environment.value,
            traces_sample_rate=settings.sentry_traces_sample_rate,
            # No PII by default. Not `data_collection`: it would switch the scrubber off.
            event_scrubber=EventScrubber(denylist=DENYLIST, recursive=True),
            before_send=scrubber(settings),
            before_send_transaction=scrubber(settings),
            transport=Transport,
        )
        sentry_sdk.get_global_scope().set_tag("component", component)
    except Exception as exc:  # a bad DSN (BadDsn), or the SDK failing to start
        problems.warning("init", "Sentry is off: %s: %s", type(exc).__name__, exc)
        return False
    problems.reset()
    log.info("Sentry on for %s (release %s)", component, release(settings))
    return True


def public_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """A run's parameters, with those named like secrets masked."""
    return {k: logs.MASK if SECRET_NAME.search(k) else v for k, v in parameters.items()}


def _tag_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return " ".join(text.split())[:TAG_VALUE_LENGTH]


def task_tags(task: dict[str, Any]) -> dict[str, str]:
    """The tags that find a run's events: task id, notebook, attempt, failure reason and
    each (non-secret) parameter as `param.<name>`."""
    tags = {"task_id": task["_id"], "notebook": task["notebook"], "attempt": str(task["attempt"])}
    if reason := (task.get("error") or {}).get("reason"):
        tags["reason"] = reason
    for name, value in public_parameters(task.get("parameters") or {}).items():
        tags[f"param.{name}"[:TAG_KEY_LENGTH]] = _tag_value(value)
    return tags


def bind_task(task: dict[str, Any]) -> None:
    """Tag every event of the current (per-job) scope with the task's tags. Never raises."""
    try:
        sentry_sdk.get_isolation_scope().set_tags(task_tags(task))
    except Exception as exc:
        problems.warning("capture", "Sentry: could not tag task %s: %s", task.get("_id"), exc)


def failed_run_event(task: dict[str, Any]) -> dict[str, Any]:
    """A failed run as a Sentry error event: the notebook's exception (`ZeroDivisionError:
    division by zero`, `TaskTimeout: ...`, `WorkerLost: ...`), grouped per notebook, reason
    and exception name."""
    error = task.get("error") or {}
    ename, reason = error.get("ename") or "TaskFailed", error.get("reason") or "error"
    exception = {"type": ename, "value": error.get("evalue") or "",
                 "mechanism": {"type": "reportbook.run", "handled": True}}  # fmt: skip
    return {
        "level": "error",
        "logger": "reportbook.runs",
        "transaction": task["notebook"],
        "exception": {"values": [exception]},
        "fingerprint": ["task-failed", task["notebook"], reason, ename],
        "contexts": {
            "task": {
                "id": task["_id"],
                "notebook": task["notebook"],
                "attempt": task["attempt"],
                "attempts_allowed": task.get("attempts_allowed"),
                "parameters": public_parameters(task.get("parameters") or {}),
                "reason": reason,
                "cell_index": error.get("cell_index"),
                "source": error.get("source"),
                "traceback": error.get("traceback"),
            }
        },
    }


def report_failed_run(task: dict[str, Any]) -> str | None:
    """Send a run that ended `failed` to Sentry (nothing when Sentry is off); returns the
    event id. Never raises."""
    if not sentry_sdk.get_client().is_active():
        return None
    try:
        with sentry_sdk.new_scope() as scope:
            scope.set_tags(task_tags(task))
            return sentry_sdk.capture_event(failed_run_event(task))  # type: ignore[arg-type]
    except Exception as exc:
        problems.warning("capture", "Sentry: could not report task %s: %s", task.get("_id"), exc)
        return None
