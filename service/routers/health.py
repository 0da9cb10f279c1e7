"""Liveness (`/healthcheck`, cheap) and readiness (`/readiness`, every dependency): open to
all, no secrets in either."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from reporting.store import StoreUnavailable
from reporting.supervision import read_status
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


def _supervised(context: AppContext) -> dict[str, str]:
    """Under `reportbook run`: each process it supervises, e.g. `process.worker-1`:
    `running (pid 123, 2 restarts)`, or `error: gave up: exited 5 times in a row...`."""
    status = read_status(context.settings.data_dir)
    if status is None:
        return {}
    checks = {}
    for name, child in status["processes"].items():
        key = f"process.{name}"
        if child["state"] == "gave up":
            checks[key] = f"error: gave up: {child['reason']}"
        else:
            checks[key] = f"{child['state']} (pid {child['pid']}, {child['restarts']} restarts)"
    return checks


@router.get("/readiness", response_model=HealthOut, responses=_DOWN)
def readiness(context: Context) -> JSONResponse:
    """Each dependency, for operators: the store, Redis, RQ workers alive, the scheduler's
    last round, Firebase sign-in, and under `reportbook run` each process it supervises. 503
    when the store or Redis is down, no worker is alive, the scheduler has been silent for
    three rounds, or `reportbook run` gave up restarting a process."""
    checks = _store_and_queue(context)
    if checks["queue"] == "ok":
        try:
            checks.update(_workers_and_scheduler(context))
        except RedisError as exc:
            checks["queue"] = f"error: {exc}"
    checks.update(_supervised(context))
    healthy = not any(v.startswith("error") for v in checks.values())
    checks["firebase"] = "configured" if context.firebase.configured else "not configured"
    return _answer(checks, healthy and "workers" in checks)
