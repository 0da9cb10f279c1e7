"""One handler per error family: our errors carry their status; store failures are 503."""

from __future__ import annotations

import logging
import sqlite3

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError

from reporting.errors import InvalidInput, InvalidTransition, ReportbookError, Unauthenticated

log = logging.getLogger(__name__)


async def reportbook_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReportbookError)
    body: dict = {"detail": exc.errors if isinstance(exc, InvalidInput) else exc.message}
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


def register(app: FastAPI) -> None:
    app.add_exception_handler(ReportbookError, reportbook_error)
    app.add_exception_handler(PyMongoError, store_error)
    app.add_exception_handler(sqlite3.Error, store_error)
