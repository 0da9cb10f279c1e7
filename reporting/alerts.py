"""Alerts for runs that need a human: a task that ended `failed` (a cell raised, it timed out,
its worker was lost) or a recurring series left without a next occurrence.

`on_run_ended(settings, task)` is the one hook, called wherever a run ends (the worker, the
reaper). It reports a failed run to Sentry (see telemetry) and posts one message to
SLACK_WEBHOOK_URL. It never raises, and waits at most SLACK_TIMEOUT_SECONDS for Slack.

Grouping: at most one Slack message per notebook + failure (reason and exception name) every
SLACK_MIN_INTERVAL_SECONDS, shared by every worker through Redis (a key set with NX and that
TTL). Failures held back meanwhile are counted in Redis; the group's next message says how
many. If Redis cannot be reached the message is sent anyway.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import httpx
from redis import Redis
from redis.exceptions import RedisError

from reporting import telemetry
from reporting.settings import Settings
from reporting.tasks import TaskStatus

log = logging.getLogger(__name__)

KEY = "reportbook:alerts:{group}:{what}"
COUNT_TTL = 7 * 86400  # a held-back count older than a week is forgotten
FIELD_LENGTH, CODE_LENGTH = 1000, 1500  # well under Slack's 2000 / 3000 character limits


class AlertGate:
    """At most one message per group per `interval` seconds, across processes."""

    def __init__(self, redis: Redis, interval: float) -> None:
        self.redis, self.interval = redis, interval

    def _key(self, group: str, what: str) -> str:
        return KEY.format(group=hashlib.sha1(group.encode()).hexdigest()[:16], what=what)

    def admit(self, group: str) -> int | None:
        """None: held back (and counted). Else how many were held back since the last one."""
        if self.interval <= 0:
            return 0
        count = self._key(group, "held")
        if self.redis.set(
            self._key(group, "gate"), 1, nx=True, px=max(1, int(self.interval * 1000))
        ):
            return int(self.redis.getdel(count) or 0)
        pipe = self.redis.pipeline()  # redis>=6 types incr() on a pipeline as int: no chaining
        pipe.incr(count)
        pipe.expire(count, COUNT_TTL)
        pipe.execute()
        return None


def series_broken(task: dict[str, Any]) -> bool:
    """A recurring task that ended (not cancelled: that ends a series on purpose) without a
    next occurrence."""
    ended = task["status"] in (TaskStatus.success, TaskStatus.failed)
    return bool(task.get("recurrence")) and ended and not task.get("next_task_id")


def _group(task: dict[str, Any]) -> str:
    error = task.get("error") or {}
    if task["status"] != TaskStatus.failed:
        return f"{task['notebook']}|series_broken"
    return f"{task['notebook']}|{error.get('reason')}|{error.get('ename')}"


def _escape(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _section(markdown: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown}}


def _context(markdown: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": markdown}]}


def message(settings: Settings, task: dict[str, Any], held_back: int = 0) -> dict[str, Any]:
    """The Slack message: `text` (notifications, fallback) and Block Kit `blocks`."""
    error = task.get("error") or {}
    link = f"{settings.public_base_url.rstrip('/')}/v1/tasks/{task['_id']}"
    failed = task["status"] == TaskStatus.failed
    if failed:
        title = f"Report run failed: {task['notebook']}"
        problem = f"{error.get('ename')}: {error.get('evalue')}"
    else:
        title = f"Recurring series broken: {task['notebook']}"
        problem = "the run ended but no next occurrence was scheduled"
    parameters = json.dumps(telemetry.public_parameters(task.get("parameters") or {}), default=str)
    cell = error.get("cell_index")
    fields = [
        f"*Task*\n<{link}|{task['_id']}>",
        f"*Notebook*\n`{_escape(task['notebook'])}`",
        f"*Attempt*\n{task['attempt']} of {task.get('attempts_allowed', task['attempt'])}",
        f"*Reason*\n{_escape(error.get('reason') or task['status'])}",
        f"*Failing cell*\n{'-' if cell is None else cell}",
    ]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, 150)}},
        _section(f"*Error*\n{_clip(_escape(problem), FIELD_LENGTH)}"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        _section(f"*Parameters*\n```{_clip(_escape(parameters), CODE_LENGTH)}```"),
    ]
    if error.get("source"):
        blocks.append(
            _section(f"*Cell {cell}*\n```{_clip(_escape(error['source']), CODE_LENGTH)}```")
        )
    if failed and series_broken(task):
        blocks.append(_context("Recurring series broken: no next occurrence was scheduled."))
    text = f"{title} (task {task['_id']}, attempt {task['attempt']}): {problem} {link}"
    if held_back:
        note = f"+{held_back} more like this since the last message (not sent separately)"
        blocks.append(_context(note))
        text += f" ({note})"
    return {"text": _clip(text, 3000), "blocks": blocks}


def send(settings: Settings, payload: dict[str, Any]) -> bool:
    """POST to the incoming webhook; False (logged, never raised) when it did not take it.
    The URL is a secret: it is never logged."""
    assert settings.slack_webhook_url
    try:
        response = httpx.post(
            settings.slack_webhook_url, json=payload, timeout=settings.slack_timeout_seconds
        )
    except httpx.HTTPError as exc:
        log.warning("Slack alert not sent: %s", type(exc).__name__)
        return False
    if not response.is_success:
        log.warning("Slack alert not sent: webhook answered %d", response.status_code)
        return False
    return True


def notify(settings: Settings, task: dict[str, Any], redis: Redis | None = None) -> bool:
    """Post the task's alert to Slack unless its group had one in the last interval; returns
    whether a message was sent."""
    client = redis or Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        held_back = AlertGate(client, settings.slack_min_interval_seconds).admit(_group(task))
    except RedisError as exc:
        log.warning("alert grouping unavailable (%s): sending anyway", type(exc).__name__)
        held_back = 0
    finally:
        if redis is None:
            client.close()
    if held_back is None:
        log.info("Slack alert for task %s held back (one per %gs per notebook and error)",
                 task["_id"], settings.slack_min_interval_seconds)  # fmt: skip
        return False
    return send(settings, message(settings, task, held_back))


def on_run_ended(
    settings: Settings, task: dict[str, Any] | None, redis: Redis | None = None
) -> None:
    """The hook where a run ends: for a task that ended `failed` or whose recurring series
    broke, report to Sentry and alert Slack. Any other task (success, cancelled, a retry
    going back to pending, None: already closed) is ignored. Never raises."""
    try:
        if task is None or not (task["status"] == TaskStatus.failed or series_broken(task)):
            return
        if task["status"] == TaskStatus.failed:
            telemetry.report_failed_run(task)
        if settings.slack_webhook_url:
            notify(settings, task, redis)
    except Exception:
        log.exception("alerting for task %s failed", (task or {}).get("_id"))
