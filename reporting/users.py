"""Firebase users as Reportbook knows them (role, keyed by uid) and their grants."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING

from reporting.access import Grant, Role
from reporting.tasks import utcnow


class UserRepository:
    def __init__(self, db: Any) -> None:
        self.collection = db["users"]

    def get_or_create(self, uid: str, email: str | None) -> dict[str, Any]:
        """The user with Firebase uid `uid`, created on first sight: role `user`, no grants."""
        user = self.collection.find_one({"_id": uid})
        if user is None:
            user = {"_id": uid, "email": email, "role": Role.user.value, "created_at": utcnow()}
            try:
                self.collection.insert_many([user])
            except Exception:  # created by a concurrent first request: read it back
                user = self.collection.find_one({"_id": uid})
                if user is None:
                    raise
        return user

    def get(self, uid: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": uid})

    def list(self) -> list[dict[str, Any]]:
        return sorted(self.collection.find({}), key=lambda u: (u.get("email") or "", u["_id"]))

    def set_role(self, uid: str, role: Role) -> dict[str, Any]:
        """Set a user's role, creating the user record if it has not been seen yet."""
        self.get_or_create(uid, None)
        return self.collection.find_one_and_update(
            {"_id": uid}, {"$set": {"role": role.value}}, return_document=True
        )


class GrantRepository:
    def __init__(self, db: Any) -> None:
        self.collection = db["grants"]

    def ensure_indexes(self) -> None:
        self.collection.create_index([("uid", ASCENDING)])

    def of(self, uid: str) -> list[dict[str, Any]]:
        return list(self.collection.find({"uid": uid}))

    def add(self, uid: str, grant: Grant, created_by: str) -> dict[str, Any]:
        existing = self.collection.find_one({"uid": uid, **grant.doc()})
        if existing is not None:
            return existing
        doc = {"_id": str(ObjectId()), "uid": uid, **grant.doc(), "created_by": created_by,
               "created_at": utcnow()}  # fmt: skip
        self.collection.insert_many([doc])
        return doc

    def remove(self, uid: str, grant_id: str) -> dict[str, Any] | None:
        return self.collection.find_one_and_delete({"_id": grant_id, "uid": uid})

    def remove_resource(self, grant: Grant) -> int:
        """Drop every grant on a deleted folder or product."""
        return self.collection.delete_many(grant.doc()).deleted_count
