"""Server-Sent Events: task changes pushed to the web console (`GET /v1/events`).

The server watches the store: every `POLL_SECONDS` it reads the newest tasks of the products
the caller can see (one product with `?product_id=`) and sends a `task` event for each one whose
status, progress or attempt changed. The caller's credentials are checked again every
`RECHECK_SECONDS`: a revoked key or a lost grant ends the stream with a `signed_out` event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from reporting.access import Scope
from reporting.errors import NotFound, Unauthenticated
from service.context import AppContext
from service.deps import Context, CurrentScope, Reader, current_principal, scope_of

router = APIRouter(prefix="/v1/events", tags=["events"])

POLL_SECONDS = 0.5
RECHECK_SECONDS = 5.0
WATCHED = 200  # the newest tasks watched per stream
KEEPALIVE_SECONDS = 15.0


def _state(task: dict[str, Any]) -> tuple:
    return (task["status"], json.dumps(task.get("progress")), task.get("attempt"))


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n"


def _task_event(task: dict[str, Any]) -> dict[str, Any]:
    return {"id": task["_id"], "product_id": task["product_id"], "status": task["status"],
            "progress": task.get("progress"), "attempt": task.get("attempt"),
            "finished_at": task.get("finished_at")}  # fmt: skip


def _watched(context: AppContext, scope: Scope, product_id: str | None) -> list[dict[str, Any]]:
    products = scope.product_ids if product_id is None else {product_id}
    items, _ = context.tasks.page(limit=WATCHED, product_ids=products)
    return items


def _still_allowed(context: AppContext, token: str, product_id: str | None) -> Scope | None:
    try:
        principal = current_principal(
            context, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
        )
    except Unauthenticated:
        return None
    scope = scope_of(context, principal)
    return scope if scope.sees_product(product_id) or product_id is None else None


# Left out of /openapi.json: a stream never ends, so schema-driven clients and fuzzers (which
# wait for a response body) would hang on it. README "Web console" documents it.
@router.get("", response_class=StreamingResponse, include_in_schema=False)
async def task_events(
    request: Request,
    context: Context,
    _: Reader,
    scope: CurrentScope,
    product_id: Annotated[str | None, Query(description="Only this product's tasks")] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> StreamingResponse:
    """Task changes as Server-Sent Events, for the products you can see: `ready` once, then a
    `task` event (`id`, `status`, `progress`, `attempt`) whenever one of the newest tasks
    changes; `signed_out` (and the end) when your credentials stop being valid."""
    if product_id is not None and (
        context.products.get(product_id) is None or not scope.sees_product(product_id)
    ):
        raise NotFound(f"product {product_id!r} not found")
    token = (authorization or "").removeprefix("Bearer ").strip() or x_api_key or ""

    async def stream() -> AsyncIterator[str]:
        nonlocal scope
        seen = {t["_id"]: _state(t) for t in await run_in_threadpool(
            _watched, context, scope, product_id)}  # fmt: skip
        yield _event("ready", {"watching": len(seen)})
        since_check = since_beat = 0.0
        while not await request.is_disconnected():
            await asyncio.sleep(POLL_SECONDS)
            since_check += POLL_SECONDS
            since_beat += POLL_SECONDS
            if since_check >= RECHECK_SECONDS:
                since_check = 0.0
                checked = await run_in_threadpool(_still_allowed, context, token, product_id)
                if checked is None:
                    yield _event("signed_out", {"reason": "credentials no longer valid"})
                    return
                scope = checked
            for task in await run_in_threadpool(_watched, context, scope, product_id):
                state = _state(task)
                if seen.get(task["_id"]) != state:
                    seen[task["_id"]] = state
                    yield _event("task", _task_event(task))
                    since_beat = 0.0
            if since_beat >= KEEPALIVE_SECONDS:
                since_beat = 0.0
                yield ": keep-alive\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
