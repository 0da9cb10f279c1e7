"""Admin assignments with the master key (`X-Master-Key`): bootstrap and break-glass only."""

from __future__ import annotations

from fastapi import APIRouter, status

from reporting.access import Role
from reporting.errors import NotFound
from service import accounts
from service.deps import Context, MasterKey
from service.schemas import ApiKeyNew, ApiKeyOut, RoleIn, ServiceKeyIn, UserOut

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyNew)
def create_service_key(body: ServiceKeyIn, context: Context, _: MasterKey) -> ApiKeyNew:
    """Create a service key (owned by no user; `admin` by default). Shown only here."""
    new = context.api_keys.create(body.name, body.role, owner_id=None, created_by="master-key")
    context.audit.record(
        None, "api_key.created", "api_key", new.record["_id"], role=body.role.value
    )
    return ApiKeyNew(**accounts.key_out(new.record), key=new.key)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut)
def revoke_key(key_id: str, context: Context, _: MasterKey) -> ApiKeyOut:
    """Revoke any key: it answers 401 at once."""
    revoked = context.api_keys.revoke(key_id)
    if revoked is None:
        raise NotFound(f"no live API key {key_id!r}")
    context.audit.record(None, "api_key.revoked", "api_key", key_id)
    return ApiKeyOut(**accounts.key_out(revoked))


@router.put("/users/{uid}/role", response_model=UserOut)
def set_user_role(uid: str, body: RoleIn, context: Context, _: MasterKey) -> UserOut:
    """Set a Firebase user's role, e.g. make the first admin (also mirrored to its claims)."""
    return UserOut(**accounts.set_role(context, None, uid, Role(body.role)))
