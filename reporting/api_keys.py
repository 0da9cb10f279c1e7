"""API keys: `rb_<prefix>_<secret>`, looked up by prefix, stored only as a peppered hash.

The hash is HMAC-SHA256 of the secret keyed with a server-side pepper (API_KEY_PEPPER): a
copy of the database alone cannot be used to test guesses, and the secret's 256 random bits
make a slow hash unnecessary. Hashes are compared in constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING

from reporting.access import Grant, Role
from reporting.tasks import utcnow

COLLECTION = "api_keys"
KEY_PREFIX = "rb"
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # at most one write per key per minute


@dataclass(frozen=True)
class NewKey:
    record: dict[str, Any]
    key: str  # shown once, never stored


def split_key(key: str) -> tuple[str, str] | None:
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def looks_like_key(token: str) -> bool:
    return token.startswith(f"{KEY_PREFIX}_")


class ApiKeyRepository:
    def __init__(self, db: Any, pepper: str) -> None:
        self.collection = db[COLLECTION]
        self._pepper = pepper.encode()

    def _hash(self, secret: str) -> str:
        return hmac.new(self._pepper, secret.encode(), hashlib.sha256).hexdigest()

    def ensure_indexes(self) -> None:
        self.collection.create_index([("prefix", ASCENDING)], unique=True)
        self.collection.create_index([("owner_id", ASCENDING)])

    def create(
        self,
        name: str,
        role: Role,
        owner_id: str | None,
        grants: list[Grant] | None = None,
        expires_at: dt.datetime | None = None,
        created_by: str | None = None,
    ) -> NewKey:
        """`owner_id` None: a service key (made by an admin or with the master key).
        `grants` None: the key acts with its owner's grants, whatever they are at the time."""
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32).replace("_", "-")
        record = {
            "_id": str(ObjectId()),
            "name": name,
            "role": role.value,
            "owner_id": owner_id,
            "grants": None if grants is None else [g.doc() for g in grants],
            "prefix": prefix,
            "hash": self._hash(secret),
            "created_by": created_by,
            "created_at": utcnow(),
            "expires_at": expires_at,
            "last_used_at": None,
            "revoked_at": None,
        }
        self.collection.insert_many([record])
        return NewKey(record=record, key=f"{KEY_PREFIX}_{prefix}_{secret}")

    def verify(self, key: str) -> dict[str, Any] | None:
        """The live (not revoked, not expired) key record `key` belongs to, or None."""
        parts = split_key(key)
        if parts is None:
            return None
        prefix, secret = parts
        record = self.collection.find_one({"prefix": prefix})
        if record is None or not hmac.compare_digest(record["hash"], self._hash(secret)):
            return None
        now = utcnow()
        if record["revoked_at"] is not None:
            return None
        if record["expires_at"] is not None and record["expires_at"] <= now:
            return None
        last = record["last_used_at"]
        if last is None or now - last >= LAST_USED_RESOLUTION:
            self.collection.update_one({"_id": record["_id"]}, {"$set": {"last_used_at": now}})
        return record

    def get(self, key_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": key_id})

    def list(self, owner_id: str | None = None, everyone: bool = False) -> list[dict[str, Any]]:
        """Every key (`everyone`), or the keys of one owner; newest first."""
        query = {} if everyone else {"owner_id": owner_id}
        return sorted(self.collection.find(query), key=lambda k: k["created_at"], reverse=True)

    def revoke(self, key_id: str) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"_id": key_id, "revoked_at": None},
            {"$set": {"revoked_at": utcnow()}},
            return_document=True,
        )
