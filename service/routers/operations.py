"""For operators: readiness of every dependency, and the queues' contents."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from reporting.store import StoreUnavailable
from service.deps import Admin, Context
from service.schemas import ErrorOut, HealthOut, QueueStats

router = APIRouter(tags=["health"])


@router.get(
    "/readiness",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A dependency is down"}},
)
def readiness(context: Context) -> JSONResponse:
    """Each dependency, for operators (unauthenticated; no secrets): the store, Redis, RQ
    workers alive, the scheduler's last round, Firebase sign-in. 503 when the store or Redis
    is down, no worker is alive, or the scheduler has been silent for three rounds."""
    checks: dict[str, str] = {}
    healthy = True
    try:
        context.store.ping()
        checks["store"] = "ok"
    except StoreUnavailable as exc:
        checks["store"], healthy = f"error: {exc}", False
    try:
        workers = context.queue.worker_count()
        checks["queue"] = "ok"
        checks["workers"] = f"{workers} alive" if workers else "error: no worker alive"
        healthy = healthy and workers > 0
        last = context.queue.scheduler_heartbeat()
        limit = 3 * context.settings.maintenance_interval_seconds
        if last is None or time.time() - last > limit:
            checks["scheduler"] = "error: no round in the last " + f"{limit:g} s"
            healthy = False
        else:
            checks["scheduler"] = f"ok: last round {time.time() - last:.0f} s ago"
    except RedisError as exc:
        checks["queue"], healthy = f"error: {exc}", False
    checks["firebase"] = "configured" if context.firebase.configured else "not configured"
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status_code=200 if healthy else 503,
    )


@router.get(
    "/v1/admin/queues",
    response_model=list[QueueStats],
    tags=["admin"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut, "description": "Admins only"}},
)
def queue_stats(context: Context, _: Admin) -> list[QueueStats]:
    """Admins: jobs per RQ queue and registry (queued, started, finished, failed, ...) and
    the workers listening."""
    return [QueueStats(**stats) for stats in context.queue.stats()]
