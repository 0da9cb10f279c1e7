"""Liveness (`/healthcheck`, cheap) and readiness (`/readiness`, every dependency): open to
all, no secrets in either."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from reporting.store import StoreUnavailable
from service.context import AppContext
from service.deps import Context
from service.schemas import HealthOut

router = APIRouter(tags=["health"])
_DOWN: dict[int | str, dict[str, Any]] = {
    503: {"model": HealthOut, "description": "A dependency is down"}
}


def _answer(checks: dict[str, str], healthy: bool) -> JSONResponse:
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status_code=200 if healthy else 503,
    )


def _store_and_queue(context: AppContext) -> dict[str, str]:
    checks = {}
    try:
        context.store.ping()
        checks["store"] = "ok"
    except StoreUnavailable as exc:
        checks["store"] = f"error: {exc}"
    try:
        context.queue.redis.ping()
        checks["queue"] = "ok"
    except RedisError as exc:
        checks["queue"] = f"error: {exc}"
    return checks


@router.get("/healthcheck", response_model=HealthOut, responses=_DOWN)
def healthcheck(context: Context) -> JSONResponse:
    """Unauthenticated liveness of the API and its store and queue."""
    checks = _store_and_queue(context)
    return _answer(checks, all(v == "ok" for v in checks.values()))


def _workers_and_scheduler(context: AppContext) -> dict[str, str]:
    workers = context.queue.worker_count()
    checks = {"workers": f"{workers} alive" if workers else "error: no worker alive"}
    last = context.queue.scheduler_heartbeat()
    limit = 3 * context.settings.maintenance_interval_seconds
    if last is None or time.time() - last > limit:
        checks["scheduler"] = f"error: no round in the last {limit:g} s"
    else:
        checks["scheduler"] = f"ok: last round {time.time() - last:.0f} s ago"
    return checks


@router.get("/readiness", response_model=HealthOut, responses=_DOWN)
def readiness(context: Context) -> JSONResponse:
    """Each dependency, for operators: the store, Redis, RQ workers alive, the scheduler's
    last round, Firebase sign-in. 503 when the store or Redis is down, no worker is alive, or
    the scheduler has been silent for three rounds."""
    checks = _store_and_queue(context)
    if checks["queue"] == "ok":
        try:
            checks.update(_workers_and_scheduler(context))
        except RedisError as exc:
            checks["queue"] = f"error: {exc}"
    healthy = not any(v.startswith("error") for v in checks.values())
    checks["firebase"] = "configured" if context.firebase.configured else "not configured"
    return _answer(checks, healthy and "workers" in checks)
