from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from reporting.store import StoreUnavailable
from service.deps import Context
from service.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get(
    "/healthcheck",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A dependency is down"}},
)
def healthcheck(context: Context) -> JSONResponse:
    """Unauthenticated liveness of the API and its store and queue."""
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
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status_code=200 if healthy else 503,
    )
