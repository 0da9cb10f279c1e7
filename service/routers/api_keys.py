from __future__ import annotations

from fastapi import APIRouter, status

from service import accounts
from service.deps import Context, CurrentScope, Reader
from service.schemas import ApiKeyIn, ApiKeyNew, ApiKeyOut

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyNew)
def create_key(
    body: ApiKeyIn, context: Context, principal: Reader, scope: CurrentScope
) -> ApiKeyNew:
    """A key for yourself (never with more rights than you have; by default it acts with
    your grants), or for admins a service key with any role and grants. The key is shown
    once: only its hash is stored."""
    record, key = accounts.create_key(context, principal, scope, body)
    return ApiKeyNew(**accounts.key_out(record), key=key)


@router.get("", response_model=list[ApiKeyOut])
def list_keys(context: Context, principal: Reader) -> list[ApiKeyOut]:
    """Your keys (admins: every key), without secrets: a user's keys for a user or a key it
    owns; for a non-admin service key, only itself (never the other service keys)."""
    owner = accounts.owner_of(principal)
    if principal.is_admin:
        records = context.api_keys.list(everyone=True)
    elif owner is not None:
        records = context.api_keys.list(owner)
    else:
        records = [r for r in [context.api_keys.get(principal.id)] if r is not None]
    return [ApiKeyOut(**accounts.key_out(r)) for r in records]


@router.delete("/{key_id}", response_model=ApiKeyOut)
def revoke_key(key_id: str, context: Context, principal: Reader) -> ApiKeyOut:
    """Revoke one of your keys (admins: any key); it answers 401 at once."""
    return ApiKeyOut(**accounts.key_out(accounts.revoke_key(context, principal, key_id)))
