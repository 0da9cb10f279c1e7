"""For operators: the queues' contents."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import Admin, Context
from service.schemas import ErrorOut, QueueStats

router = APIRouter(tags=["admin"])


@router.get(
    "/v1/admin/queues",
    response_model=list[QueueStats],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut, "description": "Admins only"}},
)
def queue_stats(context: Context, _: Admin) -> list[QueueStats]:
    """Admins: jobs per RQ queue and registry (queued, started, finished, failed, ...) and
    the workers listening."""
    return [QueueStats(**stats) for stats in context.queue.stats()]
