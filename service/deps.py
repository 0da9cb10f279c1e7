"""Typed dependencies: the app context, who is calling, and what the caller may do.

An endpoint's signature says who may call it:
- `Reader`: any authenticated principal (lists are then filtered by its `Scope`);
- `Writer`: `admin` or `user` (a `restricted` principal gets 403);
- `Admin`: `admin` only (403 otherwise);
- `MasterKey`: the `X-Master-Key` header, only for admin assignments.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reporting.access import Grant, Principal, Role, Scope, lowest
from reporting.api_keys import looks_like_key
from reporting.errors import Forbidden, Unauthenticated
from service.context import AppContext

log = logging.getLogger(__name__)


def get_context(request: Request) -> AppContext:
    return request.app.state.context


Context = Annotated[AppContext, Depends(get_context)]

_bearer = HTTPBearer(
    auto_error=False,
    description="A Firebase ID token, or an API key `rb_<prefix>_<secret>`",
)


def _user_principal(context: AppContext, uid: str, email: str | None) -> Principal:
    user = context.users.get_or_create(uid, email)
    grants = frozenset(Grant.of(g) for g in context.grants.of(uid))
    return Principal(id=uid, kind="user", name=email or uid, role=Role(user["role"]),
                     grants=grants)  # fmt: skip


def _key_principal(context: AppContext, record: dict) -> Principal:
    role = Role(record["role"])
    owner = None
    if record["owner_id"] is not None:
        user = context.users.get(record["owner_id"])
        if user is None:
            raise Unauthenticated("invalid_api_key", "the API key's owner no longer exists")
        owner = _user_principal(context, user["_id"], user.get("email"))
        role = lowest(role, owner.role)
    if record["grants"] is None:  # a user's key without its own grants acts with the user's
        grants = owner.grants if owner else frozenset()
    else:
        grants = frozenset(Grant.of(g) for g in record["grants"])
    return Principal(id=record["_id"], kind="api_key", name=record["name"], role=role,
                     grants=grants, owner=owner)  # fmt: skip


def current_principal(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_api_key: Annotated[str | None, Header(description="An API key, instead of a bearer")] = None,
) -> Principal:
    token = credentials.credentials if credentials else x_api_key
    if not token:
        raise Unauthenticated("missing_token", "send Authorization: Bearer <token or API key>")
    if looks_like_key(token):
        record = context.api_keys.verify(token)
        if record is None:
            raise Unauthenticated("invalid_api_key", "invalid, expired or revoked API key")
        return _key_principal(context, record)
    identity = context.firebase.verify(token)  # TokenRejected: 401 with its code (503 if down)
    return _user_principal(context, identity.uid, identity.email)


Reader = Annotated[Principal, Depends(current_principal)]


def require_writer(principal: Reader) -> Principal:
    if not principal.may_write:
        raise Forbidden("the restricted role is read-only")
    return principal


def require_admin(principal: Reader) -> Principal:
    if not principal.is_admin:
        raise Forbidden("admins only")
    return principal


Writer = Annotated[Principal, Depends(require_writer)]
Admin = Annotated[Principal, Depends(require_admin)]


def _own_scope(context: AppContext, principal: Principal) -> Scope:
    if principal.is_admin:
        return Scope(None, None)
    folders = principal.granted_folders()
    products = principal.granted_products() | context.products.ids_in_folders(folders)
    return Scope(frozenset(products), frozenset(folders | context.products.folders_of(products)))


def scope_of(context: AppContext, principal: Principal) -> Scope:
    """What `principal` can see; a user's API key never sees more than its owner."""
    scope = _own_scope(context, principal)
    if principal.owner is not None:
        scope = scope.intersect(_own_scope(context, principal.owner))
    return scope


def current_scope(context: Context, principal: Reader) -> Scope:
    return scope_of(context, principal)


CurrentScope = Annotated[Scope, Depends(current_scope)]


def require_master_key(
    context: Context,
    x_master_key: Annotated[str | None, Header(description="The MASTER_KEY")] = None,
) -> None:
    expected = context.settings.master_key
    if expected is None:
        raise Unauthenticated("master_key_not_set", "MASTER_KEY is not configured")
    if not x_master_key or not hmac.compare_digest(
        x_master_key.encode(), expected.get_secret_value().encode()
    ):
        raise Unauthenticated("invalid_master_key", "missing or wrong X-Master-Key")


MasterKey = Annotated[None, Depends(require_master_key)]
