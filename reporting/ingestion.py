"""Ingestion runs: one record per import of raw Reddit data, with its counts and rejected rows.

A run is `running` while it imports, then `succeeded` (every row read was added or was a
duplicate), `partial` (some rows were rejected) or `failed` (the input could not be read at
all, or the import stopped on an error; what was added before stays). Its counts always add
up: `read == posts_added + comments_added + duplicates + rejected`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING

from reporting.access import Principal
from reporting.tasks import utcnow

RUNS = "ingestion_runs"
MAX_REJECTED_KEPT = 1000  # rejected rows kept on a run (all are counted)
EXCERPT_CHARS = 200


class IngestionStatus(StrEnum):
    running = "running"
    succeeded = "succeeded"
    partial = "partial"
    failed = "failed"


class IngestionSource(StrEnum):
    upload = "upload"  # a file sent to the API (multipart)
    api = "api"  # records sent as the request body
    cli = "cli"  # `reportbook import-reddit`
    reddit_api = "reddit_api"  # Reddit's public listings (`reportbook fetch-reddit`)


def excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


@dataclass
class IngestionReport:
    """What an import did so far; the importer fills it in while it reads."""

    read: int = 0
    posts_added: int = 0
    comments_added: int = 0
    duplicates: int = 0
    rejected: int = 0
    truncated: int = 0  # rows whose text was cut to reddit_import.MAX_TEXT_CHARS
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # why the import failed

    def reject(self, row: int, reason: str, text: str) -> None:
        self.rejected += 1
        if len(self.rejected_rows) < MAX_REJECTED_KEPT:
            self.rejected_rows.append({"row": row, "reason": reason, "excerpt": excerpt(text)})

    def counts(self) -> dict[str, int]:
        return {"read": self.read, "posts_added": self.posts_added,
                "comments_added": self.comments_added, "duplicates": self.duplicates,
                "rejected": self.rejected, "truncated": self.truncated}  # fmt: skip

    @property
    def status(self) -> IngestionStatus:
        if self.error is not None:
            return IngestionStatus.failed
        return IngestionStatus.partial if self.rejected else IngestionStatus.succeeded


def actor(principal: Principal) -> dict[str, str]:
    """Who started a run, as the audit log names them."""
    return {"id": principal.id, "kind": principal.kind, "name": principal.name}


def cli_actor(user: str) -> dict[str, str]:
    return {"id": f"cli:{user}", "kind": "cli", "name": user}


class IngestionRepository:
    """The ingestion runs (the only place their queries live)."""

    def __init__(self, db: Any) -> None:
        self.collection = db[RUNS]

    def ensure_indexes(self) -> None:
        self.collection.create_index([("product_id", ASCENDING), ("started_at", ASCENDING)])

    def start(
        self,
        product: dict[str, Any],
        source: IngestionSource,
        started_by: dict[str, str],
        filename: str | None,
        format: str | None,
    ) -> dict[str, Any]:
        run = {
            "_id": str(ObjectId()),
            "product_id": product["_id"],
            "product": product["slug"],
            "source": source.value,
            "filename": filename,
            "format": format,
            "started_by": started_by,
            "started_at": utcnow(),
            "finished_at": None,
            "status": IngestionStatus.running.value,
            "counts": IngestionReport().counts(),
            "rejected_rows": [],
            "error": None,
        }
        self.collection.insert_many([run])
        return run

    def progress(self, run_id: str, report: IngestionReport) -> None:
        """Counts so far, written after each batch while the run imports."""
        self.collection.update_one({"_id": run_id}, {"$set": {"counts": report.counts()}})

    def finish(self, run_id: str, report: IngestionReport) -> dict[str, Any]:
        changes = {"status": report.status.value, "finished_at": utcnow(),
                   "counts": report.counts(), "rejected_rows": report.rejected_rows,
                   "error": report.error}  # fmt: skip
        run = self.collection.find_one_and_update(
            {"_id": run_id}, {"$set": changes}, return_document=True
        )
        assert run is not None, f"ingestion run {run_id} vanished"
        return run

    def delete_for_product(self, product_id: str) -> int:
        return self.collection.delete_many({"product_id": product_id}).deleted_count

    def get(self, run_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": run_id})

    def page(self, product_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """A product's runs, newest first, without their rejected rows."""
        query = {"product_id": product_id}
        total = self.collection.count_documents(query)
        cursor = (
            self.collection.find(query, {"rejected_rows": 0})
            .sort([("started_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return list(cursor), total
