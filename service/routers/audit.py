from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.deps import Admin, Context
from service.schemas import AuditEntry, AuditPage

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def list_audit(
    context: Context,
    _: Admin,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    """Who did what and when, newest first (`?action=task.created`, ...)."""
    items, total = context.audit.list(limit, offset, action)
    return AuditPage(items=[AuditEntry(**{**e, "id": e["_id"]}) for e in items], total=total,
                     limit=limit, offset=offset)  # fmt: skip
