"""Tasks: one requested run of a notebook, and the repository that holds their queries."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument

COLLECTION = "tasks"


class TaskStatus(StrEnum):
    pending = "pending"
    queued = "queued"
    running = "running"
    success = "success"
    failed = "failed"
    cancelled = "cancelled"


def utcnow() -> dt.datetime:
    # Millisecond precision: what both MongoDB and the embedded store keep.
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class TaskRepository:
    def __init__(self, db: Any) -> None:
        self.collection = db[COLLECTION]

    def ensure_indexes(self) -> None:
        self.collection.create_index([("status", ASCENDING), ("run_at", ASCENDING)])
        # Ascending only (the embedded store's limit); MongoDB walks them backwards for
        # newest-first listings.
        self.collection.create_index([("notebook", ASCENDING), ("created_at", ASCENDING)])
        self.collection.create_index([("created_at", ASCENDING)])

    def create(
        self,
        notebook: str,
        parameters: dict[str, Any],
        created_by: str,
        run_at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        now = utcnow()
        task = {
            "_id": str(ObjectId()),
            "notebook": notebook,
            "parameters": parameters,
            "status": TaskStatus.pending.value,
            "created_by": created_by,
            "created_at": now,
            "run_at": run_at or now,
            "queued_at": None,
            "started_at": None,
            "finished_at": None,
            "worker_id": None,
            "error": None,
            "artifacts": [],
            "timings": {},
        }
        # insert_many: the embedded store's insert_one scans the whole collection.
        self.collection.insert_many([task])
        return task

    def get(self, task_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": task_id})

    def list(
        self,
        status: TaskStatus | None = None,
        notebook: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        query: dict[str, Any] = {}
        if status is not None:
            query["status"] = status.value
        if notebook is not None:
            query["notebook"] = notebook
        total = self.collection.count_documents(query)
        cursor = (
            self.collection.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return list(cursor), total

    def _transition(
        self, query: dict[str, Any], changes: dict[str, Any], sort: list | None = None
    ) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            query, {"$set": changes}, sort=sort, return_document=ReturnDocument.AFTER
        )

    def queue(self, task_id: str) -> dict[str, Any] | None:
        """pending -> queued for one task; None when it is not pending any more."""
        return self._transition(
            {"_id": task_id, "status": TaskStatus.pending.value},
            {"status": TaskStatus.queued.value, "queued_at": utcnow()},
        )

    def claim_due(self, now: dt.datetime) -> dict[str, Any] | None:
        """Atomically move the earliest due pending task to queued; None when none is due."""
        return self._transition(
            {"status": TaskStatus.pending.value, "run_at": {"$lte": now}},
            {"status": TaskStatus.queued.value, "queued_at": utcnow()},
            sort=[("run_at", ASCENDING)],
        )

    def unqueue(self, task_id: str) -> dict[str, Any] | None:
        """queued -> pending, when the queue refused the job: the next tick enqueues it again."""
        return self._transition(
            {"_id": task_id, "status": TaskStatus.queued.value},
            {"status": TaskStatus.pending.value, "queued_at": None},
        )

    def start(self, task_id: str, worker_id: str) -> dict[str, Any] | None:
        """queued -> running, claimed by one worker; None when another got it or it ended."""
        return self._transition(
            {"_id": task_id, "status": TaskStatus.queued.value},
            {"status": TaskStatus.running.value, "started_at": utcnow(), "worker_id": worker_id},
        )

    def finish(
        self,
        task_id: str,
        status: TaskStatus,
        artifacts: list[dict[str, Any]],
        timings: dict[str, float],
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """running -> success | failed, with what the run produced."""
        return self._transition(
            {"_id": task_id, "status": TaskStatus.running.value},
            {
                "status": status.value,
                "finished_at": utcnow(),
                "artifacts": artifacts,
                "timings": timings,
                "error": error,
            },
        )
