from __future__ import annotations

from fastapi import APIRouter, status

from reporting.errors import NotFound
from service import accounts
from service.deps import Admin, Context, Reader
from service.schemas import GrantIn, GrantOut, PrincipalOut, RoleIn, UserOut

router = APIRouter(prefix="/v1", tags=["users"])


def _grant_out(doc: dict) -> GrantOut:
    return GrantOut(id=doc["_id"], type=doc["type"], resource_id=doc["resource_id"],
                    created_at=doc["created_at"])  # fmt: skip


@router.get("/me", response_model=PrincipalOut)
def me(principal: Reader) -> PrincipalOut:
    """Who you are to Reportbook: your role and grants."""
    grants = [GrantIn(type=g.type, resource_id=g.id) for g in sorted(principal.grants, key=str)]
    return PrincipalOut(id=principal.id, kind=principal.kind, name=principal.name,
                        role=principal.role, grants=grants)  # fmt: skip


@router.get("/users", response_model=list[UserOut])
def list_users(context: Context, _: Admin) -> list[UserOut]:
    return [UserOut(**accounts.user_out(u)) for u in context.users.list()]


@router.get("/users/{uid}", response_model=UserOut)
def get_user(uid: str, context: Context, _: Admin) -> UserOut:
    user = context.users.get(uid)
    if user is None:
        raise NotFound(f"user {uid!r} not found")
    return UserOut(**accounts.user_out(user))


@router.put("/users/{uid}/role", response_model=UserOut)
def set_role(uid: str, body: RoleIn, context: Context, admin: Admin) -> UserOut:
    """Set a user's role (also mirrored to its Firebase custom claims)."""
    return UserOut(**accounts.set_role(context, admin, uid, body.role))


@router.get("/users/{uid}/grants", response_model=list[GrantOut])
def list_grants(uid: str, context: Context, _: Admin) -> list[GrantOut]:
    return [_grant_out(g) for g in context.grants.of(uid)]


@router.post("/users/{uid}/grants", status_code=status.HTTP_201_CREATED, response_model=GrantOut)
def add_grant(uid: str, body: GrantIn, context: Context, admin: Admin) -> GrantOut:
    """Give a user access to a folder (and every product in it) or one product."""
    return _grant_out(accounts.add_grant(context, admin, uid, body))


@router.delete("/users/{uid}/grants/{grant_id}", response_model=GrantOut)
def remove_grant(uid: str, grant_id: str, context: Context, admin: Admin) -> GrantOut:
    return _grant_out(accounts.remove_grant(context, admin, uid, grant_id))
