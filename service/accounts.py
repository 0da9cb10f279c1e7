"""Keys, roles and grants: what the API does between parsing a request and answering it."""

from __future__ import annotations

import logging
from typing import Any

from reporting.access import RANK, Grant, Principal, ResourceType, Role, Scope
from reporting.errors import Forbidden, InvalidInput, NotFound
from service.context import AppContext
from service.schemas import ApiKeyIn, GrantIn

log = logging.getLogger(__name__)


def key_out(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "id": record["_id"]}


def user_out(user: dict[str, Any]) -> dict[str, Any]:
    return {**user, "id": user["_id"]}


def owner_of(principal: Principal) -> str | None:
    """The user a new key made by `principal` acts for."""
    if principal.kind == "user":
        return principal.id
    return principal.owner.id if principal.owner else None


def create_key(
    context: AppContext, principal: Principal, scope: Scope, body: ApiKeyIn
) -> tuple[dict[str, Any], str]:
    """A key for the caller itself, never with more rights than it has; admins may also make
    service keys with any role and grants."""
    role = body.role or principal.role
    grants = None if body.grants is None else [Grant(g.type, g.resource_id) for g in body.grants]
    owner = owner_of(principal)
    if body.service or owner is None:
        if not principal.is_admin:
            raise Forbidden(
                "only admins create service keys"
                if body.service
                else "a service key can only create keys if it is an admin key"
            )
        owner = None
    elif not principal.is_admin:
        if RANK[role] > RANK[principal.role]:
            raise Forbidden(f"a {principal.role} cannot create a {role} key")
        for i, grant in enumerate(grants or []):
            covered = (
                grant.id in principal.granted_folders()
                if grant.type is ResourceType.folder
                else scope.sees_product(grant.id)
            )
            if not covered:
                raise Forbidden(f"grants[{i}]: you have no access to {grant.type} {grant.id!r}")
    for i, grant in enumerate(grants or []):
        _check_resource(context, grant, ("body", "grants", i, "resource_id"))
    new = context.api_keys.create(body.name, role, owner, grants, body.expires_at, principal.id)
    context.audit.record(principal, "api_key.created", "api_key", new.record["_id"],
                         role=role.value, owner_id=owner)  # fmt: skip
    return new.record, new.key


def revoke_key(context: AppContext, principal: Principal, key_id: str) -> dict[str, Any]:
    record = context.api_keys.get(key_id)
    owner = owner_of(principal)
    mine = record is not None and owner is not None and record["owner_id"] == owner
    if record is None or not (principal.is_admin or mine):
        raise NotFound(f"API key {key_id!r} not found")
    revoked = context.api_keys.revoke(key_id)
    if revoked is None:
        raise NotFound(f"API key {key_id!r} is already revoked")
    context.audit.record(principal, "api_key.revoked", "api_key", key_id)
    return revoked


def set_role(context: AppContext, actor: Principal | None, uid: str, role: Role) -> dict[str, Any]:
    before = context.users.get(uid)
    user = context.users.set_role(uid, role)
    context.audit.record(actor, "user.role_changed", "user", uid, role=role.value,
                         previous=before["role"] if before else None)  # fmt: skip
    try:
        context.firebase.set_role_claim(uid, role.value)
    except Exception as exc:  # the store is the source of truth; the claim is a mirror
        log.warning("role of %s not mirrored to Firebase custom claims: %s", uid, exc)
    return user_out(user)


def _check_resource(context: AppContext, grant: Grant, loc: tuple) -> None:
    repository = context.folders if grant.type is ResourceType.folder else context.products
    if repository.get(grant.id) is None:
        raise InvalidInput([{"loc": list(loc), "msg": f"no {grant.type} {grant.id!r}",
                             "type": "unknown_resource"}])  # fmt: skip


def add_grant(context: AppContext, actor: Principal, uid: str, body: GrantIn) -> dict[str, Any]:
    if context.users.get(uid) is None:
        raise NotFound(f"user {uid!r} not found")
    grant = Grant(body.type, body.resource_id)
    _check_resource(context, grant, ("body", "resource_id"))
    doc = context.grants.add(uid, grant, actor.id)
    context.audit.record(actor, "grant.added", "user", uid, **grant.doc())
    return doc


def remove_grant(context: AppContext, actor: Principal, uid: str, grant_id: str) -> dict[str, Any]:
    removed = context.grants.remove(uid, grant_id)
    if removed is None:
        raise NotFound(f"user {uid!r} has no grant {grant_id!r}")
    context.audit.record(actor, "grant.removed", "user", uid, type=removed["type"],
                         resource_id=removed["resource_id"])  # fmt: skip
    return removed
