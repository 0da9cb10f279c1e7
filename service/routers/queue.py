from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service import task_commands
from service.deps import Context, CurrentPrincipal
from service.routers.tasks import task_out
from service.schemas import QueueOut

router = APIRouter(prefix="/v1/queue", tags=["tasks"])


@router.get("", response_model=QueueOut)
def list_queue(
    context: Context, _: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> QueueOut:
    """What will run, in execution order."""
    return QueueOut(items=[task_out(t) for t in task_commands.queue_view(context, limit)])
