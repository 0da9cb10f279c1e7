"""A version number per product that goes up whenever the product's input data changes: Reddit
posts or comments stored, share-of-voice rows delivered, research saved. The result cache
keys reports on it, so a report over changed data is never served from the cache.

Keys are what the data is stored under: Reddit data under the product's slug, research and
scrapes under its id. The repositories that write the data bump the version themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reporting.tasks import utcnow

COLLECTION = "data_versions"


class DataVersions:
    def __init__(self, db: Any) -> None:
        self.collection = db[COLLECTION]

    def bump(self, key: str) -> None:
        """The data stored under `key` changed (one atomic upsert: writers never collide)."""
        self.collection.update_one(
            {"_id": key},
            {"$inc": {"version": 1}, "$set": {"changed_at": utcnow()}},
            upsert=True,
        )

    def of(self, keys: Iterable[str]) -> dict[str, int]:
        """The current version of each key (0: nothing stored under it yet)."""
        keys = sorted(set(keys))
        found = {d["_id"]: d["version"] for d in self.collection.find({"_id": {"$in": keys}})}
        return {k: int(found.get(k, 0)) for k in keys}
