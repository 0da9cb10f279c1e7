"""The audit log: who did what, to what, and when. Readable by admins."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING

from reporting.access import Principal
from reporting.tasks import utcnow


class AuditLog:
    def __init__(self, db: Any) -> None:
        self.collection = db["audit"]

    def ensure_indexes(self) -> None:
        self.collection.create_index([("at", ASCENDING)])

    def record(
        self,
        actor: Principal | None,
        action: str,
        target_type: str,
        target_id: str,
        **details: Any,
    ) -> None:
        """`actor` None is the master key."""
        who = (
            {"id": actor.id, "kind": actor.kind, "name": actor.name}
            if actor
            else {"id": "master-key", "kind": "master_key", "name": "master key"}
        )
        entry = {"_id": str(ObjectId()), "at": utcnow(), "actor": who, "action": action,
                 "target": {"type": target_type, "id": target_id}, "details": details}  # fmt: skip
        self.collection.insert_many([entry])

    def list(self, limit: int, offset: int, action: str | None = None) -> tuple[list, int]:
        query = {"action": action} if action else {}
        total = self.collection.count_documents(query)
        cursor = (
            self.collection.find(query).sort([("at", -1), ("_id", -1)]).skip(offset).limit(limit)
        )
        return list(cursor), total
