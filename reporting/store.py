"""The document store: MongoDB through pymongo, or the embedded tinymongo (sqlite) store.

Both expose pymongo's Database/Collection API, so repositories run the same code on either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pymongo

from reporting.settings import Settings

log = logging.getLogger(__name__)


class Backend(StrEnum):
    mongodb = "mongodb"
    embedded = "embedded"


class StoreUnavailable(RuntimeError):
    """The store could not be reached."""


@dataclass
class Store:
    client: Any
    db: Any
    backend: Backend

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers a real read."""
        try:
            self.db.command("ping")
            self.db["health"].find_one({})  # the embedded store's ping does not touch its file
        except Exception as exc:  # any driver error means the store is not usable
            raise StoreUnavailable(f"store unreachable: {exc}") from exc

    def close(self) -> None:
        self.client.close()


def is_embedded(db: Any) -> bool:
    """Whether `db` is the embedded store's database (it evaluates most filters in Python)."""
    return not isinstance(db, pymongo.database.Database)


def open_store(settings: Settings) -> Store:
    """Connect to MongoDB when MONGODB_URI is set, else open the embedded store."""
    if settings.mongodb_uri:
        client: Any = pymongo.MongoClient(
            settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=3000
        )
        return Store(client, client[settings.mongodb_database], Backend.mongodb)
    import tinymongo

    settings.embedded_db_dir.mkdir(parents=True, exist_ok=True)
    client = tinymongo.MongoClient(
        tinymongo_folder=str(settings.embedded_db_dir), backend="sqlite", tz_aware=True
    )
    return Store(client, client[settings.mongodb_database], Backend.embedded)
