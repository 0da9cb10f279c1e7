"""The document store: MongoDB through pymongo, or the embedded tinymongo (sqlite) store.

Both expose pymongo's Database/Collection API, so repositories run the same code on either.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pymongo

from reporting.settings import Settings, private_dir

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

    _private_files(settings)
    client = tinymongo.MongoClient(
        tinymongo_folder=str(settings.embedded_db_dir), backend="sqlite", tz_aware=True
    )
    return Store(client, client[settings.mongodb_database], Backend.embedded)


def _private_files(settings: Settings) -> None:
    """The embedded store's folder, 0700 in a 0700 data dir, and its files 0600 (key hashes
    live there). The store makes files as it goes (a shard per collection, locks, journals),
    so the process makes every new file without group or other access (umask 077); files of
    an older install are narrowed here."""
    private_dir(settings.data_dir)
    folder = private_dir(settings.embedded_db_dir)
    os.umask(os.umask(0o077) | 0o077)
    for path in folder.rglob("*"):
        try:
            mode = path.stat().st_mode
            if mode & 0o077:
                path.chmod(0o700 if path.is_dir() else stat.S_IMODE(mode) & 0o600)
        except FileNotFoundError:  # SQLite's -wal/-shm come and go as other processes close
            continue
