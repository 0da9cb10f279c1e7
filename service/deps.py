"""Typed dependencies: the app context, and who is calling (visible in each signature)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reporting.api_keys import Role
from service.context import AppContext


def get_context(request: Request) -> AppContext:
    return request.app.state.context


Context = Annotated[AppContext, Depends(get_context)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `rb_<prefix>_<secret>`")


@dataclass(frozen=True)
class Principal:
    id: str
    kind: str
    name: str
    role: Role


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=reason, headers={"WWW-Authenticate": "Bearer"}
    )


def current_principal(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise _unauthorized("missing bearer token")
    record = context.api_keys.verify(credentials.credentials)
    if record is None:
        raise _unauthorized("invalid or revoked API key")
    return Principal(
        id=record["_id"], kind="api_key", name=record["name"], role=Role(record["role"])
    )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_master_key(
    context: Context,
    x_master_key: Annotated[str | None, Header(description="The MASTER_KEY")] = None,
) -> None:
    expected = context.settings.master_key
    if expected is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="MASTER_KEY is not set")
    if not x_master_key or not hmac.compare_digest(
        x_master_key.encode(), expected.get_secret_value().encode()
    ):
        raise _unauthorized("missing or wrong X-Master-Key")


MasterKey = Annotated[None, Depends(require_master_key)]
