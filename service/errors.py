"""One handler per error family: our errors carry their status; store and queue (Redis)
failures are 503; anything else is a JSON 500 with the request id."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import sentry_sdk
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from reporting.errors import InvalidInput, InvalidTransition, ReportbookError, Unauthenticated
from reporting.logs import request_id

log = logging.getLogger(__name__)


async def reportbook_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReportbookError)
    body: dict = {"detail": bounded(exc.errors) if isinstance(exc, InvalidInput) else exc.message}
    headers = {}
    if isinstance(exc, InvalidTransition):
        body["status"] = exc.status
    if isinstance(exc, Unauthenticated):
        body["code"] = exc.code
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def store_error(_: Request, exc: Exception) -> JSONResponse:
    log.error("store error: %s", exc)
    return JSONResponse(
        {"detail": "the document store is unavailable; try again shortly"}, status_code=503
    )


async def queue_error(_: Request, exc: Exception) -> JSONResponse:
    """Redis down: 503. What the store already recorded stands; the scheduler's recovery
    enqueues a queued task whose job Redis does not hold (scheduler/tick.py: recover)."""
    log.error("queue error: %s", exc)
    return JSONResponse(
        {"detail": "the task queue (Redis) is unavailable; try again shortly"}, status_code=503
    )


async def unhandled_error(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
    """Any other exception: logged with its traceback and the request id (this middleware runs
    inside the request-id one), answered as a JSON 500 carrying the same id."""
    try:
        return await call_next(request)
    except Exception as exc:
        rid = request_id.get()
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        sentry_sdk.capture_exception(exc)  # answered here, so Sentry's own hook never sees it
        return JSONResponse(
            {"detail": "internal error; quote the request id when reporting it",
             "request_id": rid}, status_code=500,
        )  # fmt: skip


# ---- 422: what was wrong, never a copy of a large input ------------------------------------

ECHO_CHARS = 200  # strings in a 422 are cut to this
ECHO_ITEMS = 10  # objects and arrays longer than this (or nested deeper) are summarised


def _summary(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return value if len(value) <= ECHO_CHARS else (
            f"{value[:ECHO_CHARS]}... ({len(value):,} characters)")  # fmt: skip
    if isinstance(value, bytes | bytearray):
        return f"({len(value):,} bytes)"
    if isinstance(value, dict):
        if len(value) > ECHO_ITEMS or depth >= 2:
            return f"(an object of {len(value):,} keys)"
        return {_summary(str(k)): _summary(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if len(value) > ECHO_ITEMS or depth >= 2:
            return f"(an array of {len(value):,} items)"
        return [_summary(v, depth + 1) for v in value]
    return value if value is None or isinstance(value, bool | int | float) else _summary(str(value))


def bounded(errors: Any) -> Any:
    """Validation errors with every `input`, `loc` part and `msg` cut short."""
    out = []
    for error in jsonable_encoder(errors):
        error = dict(error)
        if "input" in error:
            error["input"] = _summary(error["input"])
        error["loc"] = [_summary(part) for part in error.get("loc", [])]
        error["msg"] = _summary(error.get("msg", ""))
        if len(repr(error.get("ctx"))) > ECHO_CHARS:
            error.pop("ctx")
        out.append(error)
    return out


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": bounded(exc.errors())}, status_code=422)


async def http_error(request: Request, exc: Exception) -> Any:
    """FastAPI's 400 for a body it could not decode (invalid UTF-8) is a 422 naming `body`."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        return JSONResponse({"detail": [{"loc": ["body"], "type": "unicode_decode",
                             "msg": "the body is not valid UTF-8"}]}, status_code=422)  # fmt: skip
    return await http_exception_handler(request, exc)


def register(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(ReportbookError, reportbook_error)
    app.add_exception_handler(PyMongoError, store_error)
    app.add_exception_handler(sqlite3.Error, store_error)
    app.add_exception_handler(RedisError, queue_error)
    app.middleware("http")(unhandled_error)  # registered before, so inside, the request id
