"""The FastAPI application. Run with `uvicorn --factory service.main:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from reporting.logs import configure_logging, request_id_middleware
from reporting.settings import Settings, load_settings
from reporting.telemetry import init_sentry
from service import errors, web
from service.context import AppContext
from service.routers import (
    admin,
    api_keys,
    audit,
    events,
    folders,
    health,
    inbound,
    notebooks,
    operations,
    pdf,
    products,
    queue,
    raw,
    research,
    snapshots,
    tasks,
    users,
)
from service.schemas import ErrorOut

DESCRIPTION = """
Run parameterised notebooks into reports.

1. An admin creates an API key with the master key: `POST /v1/admin/api-keys`.
2. `GET /v1/notebooks` lists the reports and their parameters.
3. `POST /v1/tasks` asks for one; poll `GET /v1/tasks/{id}` until `success`.
4. `GET /v1/tasks/{id}/pdf` downloads it.

Every `/v1` endpoint needs `Authorization: Bearer <Firebase ID token or API key>` (or
`X-API-Key`), except the master-key endpoints under `/v1/admin` (`X-Master-Key`) and what
n8n delivers under `/v1/inbound/n8n` (the shared secret in `X-Reportbook-Secret`).
Every response carries an `X-Request-ID`, also found on every log line of that request.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    init_sentry(settings, "api")  # when SENTRY_DSN is set; never raises

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings)
        app.state.context = AppContext.open(settings)
        try:
            yield
        finally:
            app.state.context.close()

    app = FastAPI(
        title="Reportbook",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )  # fmt: skip  (service/web.py serves them offline)
    errors.register(app)
    app.middleware("http")(request_id_middleware)
    for module in (
        health,
        operations,
        admin,
        users,
        api_keys,
        folders,
        products,
        raw,
        research,
        notebooks,
        tasks,
        queue,
        snapshots,
        pdf,
        audit,
        events,
        inbound,
    ):
        app.include_router(module.router, responses=_V1_ERRORS if module in V1 else None)
    web.register(app, settings)  # last: the app's catch-all must not shadow the API
    return app


V1 = (admin, users, api_keys, folders, products, raw, research, notebooks, tasks, queue, snapshots,
      pdf, audit, events)  # fmt: skip
_V1_ERRORS: dict[int | str, dict] = {
    401: {"model": ErrorOut, "description": "Missing or invalid credentials (`code` says why)"},
    403: {"model": ErrorOut, "description": "Your role does not allow this"},
}
