"""The FastAPI application. Run with `uvicorn --factory service.main:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from reporting.logs import configure_logging
from reporting.settings import Settings, load_settings
from service import errors
from service.context import AppContext
from service.routers import (
    admin,
    api_keys,
    audit,
    folders,
    health,
    notebooks,
    products,
    queue,
    tasks,
    users,
)

DESCRIPTION = """
Run parameterised notebooks into reports.

1. An admin creates an API key with the master key: `POST /v1/admin/api-keys`.
2. `GET /v1/notebooks` lists the reports and their parameters.
3. `POST /v1/tasks` asks for one; poll `GET /v1/tasks/{id}` until `success`.
4. `GET /v1/tasks/{id}/pdf` downloads it.

Every `/v1` endpoint needs `Authorization: Bearer <API key>`
(except `/v1/admin/api-keys`, which needs `X-Master-Key`).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        app.state.context = AppContext.open(settings)
        try:
            yield
        finally:
            app.state.context.close()

    app = FastAPI(title="Reportbook", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    errors.register(app)
    for module in (
        health,
        admin,
        users,
        api_keys,
        folders,
        products,
        notebooks,
        tasks,
        queue,
        audit,
    ):
        app.include_router(module.router)
    return app
