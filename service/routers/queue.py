from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service import task_commands
from service.deps import Context, CurrentScope, Reader
from service.routers.tasks import task_out
from service.schemas import QueueOut

router = APIRouter(prefix="/v1/queue", tags=["tasks"])


@router.get("", response_model=QueueOut)
def list_queue(
    context: Context,
    _: Reader,
    scope: CurrentScope,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> QueueOut:
    """What will run, in execution order (of the products you can see)."""
    return QueueOut(items=[task_out(t) for t in task_commands.queue_view(context, scope, limit)])
