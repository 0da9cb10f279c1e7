from __future__ import annotations

from fastapi import APIRouter, status

from service.deps import Context, MasterKey
from service.schemas import ApiKeyCreate, ApiKeyCreated

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def create_api_key(body: ApiKeyCreate, context: Context, _: MasterKey) -> ApiKeyCreated:
    """Create an API key with the master key (`X-Master-Key`). The key is shown only here."""
    new = context.api_keys.create(body.name, body.role)
    record = new.record
    return ApiKeyCreated(
        id=record["_id"],
        name=record["name"],
        role=record["role"],
        prefix=record["prefix"],
        created_at=record["created_at"],
        key=new.key,
    )
