"""Logging shared by the API, the workers and the scheduler.

- One line per record: JSON in production (or LOG_FORMAT=json), readable text in development.
- Every line carries the request id (API) and the task id (workers, task commands), taken from
  context variables, so one request or one run can be followed across processes' logs.
- Secrets never reach a log: API keys, bearer tokens, JWTs and the configured secrets
  (master key, pepper) are masked in every message before it is formatted.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
task_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)

# Libraries that log every step of every report at INFO.
QUIET = ("weasyprint", "fontTools", "traitlets", "papermill")
MASK = "[REDACTED]"
PATTERNS = [
    re.compile(r"rb_[0-9a-f]{8}_[A-Za-z0-9-]{20,}"),  # API keys
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),  # Authorization headers
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # JWTs
]
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Warnings every report raises and nothing can act on; an operator's log stays readable.
EXPECTED = re.compile(
    r"Anchor defined twice"  # WeasyPrint: headings repeated across cells share an anchor
    r"|HarfBuzz-Subset"  # WeasyPrint: pip wheels subset fonts with fontTools, as intended
    r"|Could not destroy zmq context"  # jupyter_client: a kernel client collected at exit
)


class ExpectedNoise(logging.Filter):
    """Drops the expected warnings above (EXPECTED)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno < logging.ERROR and EXPECTED.search(str(record.msg)))


class Redactor(logging.Filter):
    """Masks secrets in a record's message (arguments included) and exception text."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        super().__init__()
        self.known = [s for s in known if s]

    def redact(self, text: str) -> str:
        for value in self.known:
            text = text.replace(value, MASK)
        for pattern in PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.request_id = request_id.get()
        record.task_id = task_id.get()
        return True


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(
            f"{name}={value}"
            for name, value in (
                ("request", getattr(record, "request_id", None)),
                ("task", getattr(record, "task_id", None)),
            )
            if value
        )
        line = f"{self.formatTime(record)} {record.levelname} {record.name} [{record.process}]"
        line += f" {ids}: {record.msg}" if ids else f" {record.msg}"
        return f"{line}\n{record.exc_text}" if record.exc_text else line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.msg,
            "process": record.process,
            "request_id": getattr(record, "request_id", None),
            "task_id": getattr(record, "task_id", None),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


def configure_logging(settings: Any = None, level: str = "INFO") -> None:
    """Send every logger (uvicorn's and RQ's included) through one redacting handler."""
    json_lines = False
    known: list[str] = []
    if settings is not None:
        json_lines = settings.log_format == "json" or (
            settings.log_format is None and settings.environment == "production"
        )
        known = [s.get_secret_value() for s in (settings.master_key, settings.api_key_pepper) if s]
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ExpectedNoise())
    handler.addFilter(Redactor(known))
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "rq.worker"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # reportbook.access logs each request, with its request id; uvicorn's own is not needed.
    logging.getLogger("uvicorn.access").handlers = []
    logging.getLogger("uvicorn.access").propagate = False
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


access_log = logging.getLogger("reportbook.access")


async def request_id_middleware(request: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
    """Give each request an id (the caller's `X-Request-ID` if it is sane), put it on every
    log line of the request, log the request (path without its query) and return the id as
    `X-Request-ID`."""
    incoming = request.headers.get("x-request-id", "")
    rid = incoming if REQUEST_ID.match(incoming) else secrets.token_hex(8)
    token = request_id.set(rid)
    started = time.perf_counter()
    try:
        response = await call_next(request)
        access_log.info("%s %s -> %d in %.0f ms", request.method, request.url.path,
                        response.status_code, (time.perf_counter() - started) * 1000)  # fmt: skip
    finally:
        request_id.reset(token)
    response.headers["X-Request-ID"] = rid
    return response
