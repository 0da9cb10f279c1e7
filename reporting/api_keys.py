"""API keys: `rb_<prefix>_<secret>`, stored as a SHA-256 hash, looked up by prefix."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING

from reporting.tasks import utcnow

COLLECTION = "api_keys"
KEY_PREFIX = "rb"


class Role(StrEnum):
    admin = "admin"
    user = "user"
    restricted = "restricted"


@dataclass(frozen=True)
class NewKey:
    record: dict[str, Any]
    key: str  # shown once, never stored


def _hash(secret: str) -> str:
    # The secret is 256 random bits, so a fast hash cannot be brute-forced.
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class ApiKeyRepository:
    def __init__(self, db: Any) -> None:
        self.collection = db[COLLECTION]

    def ensure_indexes(self) -> None:
        self.collection.create_index([("prefix", ASCENDING)], unique=True)

    def create(self, name: str, role: Role) -> NewKey:
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32).replace("_", "-")
        record = {
            "_id": str(ObjectId()),
            "name": name,
            "role": role.value,
            "prefix": prefix,
            "hash": _hash(secret),
            "created_at": utcnow(),
            "revoked_at": None,
        }
        self.collection.insert_many([record])
        return NewKey(record=record, key=f"{KEY_PREFIX}_{prefix}_{secret}")

    def verify(self, key: str) -> dict[str, Any] | None:
        """The live key record `key` belongs to, or None; compares hashes in constant time."""
        parts = split_key(key)
        if parts is None:
            return None
        prefix, secret = parts
        record = self.collection.find_one({"prefix": prefix, "revoked_at": None})
        if record is None or not hmac.compare_digest(record["hash"], _hash(secret)):
            return None
        return record
