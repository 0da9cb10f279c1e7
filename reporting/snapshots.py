"""Weekly snapshots of a product: the record of one pipeline run and its repository.

A snapshot runs these steps, each recorded with its status, times, detail and error:

    prompts   the search queries for this run, from the product research (version recorded)
    scrape    raw data for the period: an n8n workflow when one is configured, else the
              Reddit data already stored for the product
    chunks    one notebook task per brand, run in parallel by the workers
    aggregate the chunks assembled into one PDF, with what changed since the previous snapshot

When it ends (succeeded or failed) the next snapshot of the product is scheduled 7 days later
for the following week. Guarded updates filter on `snapshot_id`, an indexed copy of `_id`
(see TaskRepository for why).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument
from redis.exceptions import RedisError

from reporting.queue import TaskQueue
from reporting.tasks import utcnow

COLLECTION = "snapshots"
# The pipeline's RQ jobs, by name (scheduler/snapshot_jobs.py), as RUN_TASK in reporting/queue.
START = "scheduler.snapshot_jobs.start_snapshot"
AGGREGATE = "scheduler.snapshot_jobs.aggregate_snapshot"
STEPS = ("prompts", "scrape", "chunks", "aggregate")
RECUR_AFTER = dt.timedelta(days=7)

log = logging.getLogger(__name__)


class SnapshotStatus(StrEnum):
    scheduled = "scheduled"  # waiting for its run_at
    running = "running"  # prompts, scrape and the chunk tasks
    aggregating = "aggregating"  # every chunk ended; the aggregate job is queued or running
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class StepStatus(StrEnum):
    waiting = "waiting"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    skipped = "skipped"


def new_snapshot(
    product: dict[str, Any],
    start: dt.date,
    end: dt.date,
    created_by: str,
    run_at: dt.datetime | None = None,
    previous_snapshot_id: str | None = None,
    weekly: bool = True,
) -> dict[str, Any]:
    """A scheduled snapshot; `weekly`: when it ends, the next week's is scheduled."""
    snapshot_id = str(ObjectId())
    return {
        "_id": snapshot_id,
        "snapshot_id": snapshot_id,
        "product_id": product["_id"],
        "product_slug": product["slug"],
        "product_name": product["name"],
        "folder_id": product["folder_id"],
        "status": SnapshotStatus.scheduled.value,
        "run_at": run_at or utcnow(),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "created_by": created_by,
        "created_at": utcnow(),
        "started_at": None,
        "finished_at": None,
        "research_version": None,
        "steps": [
            {
                "name": name,
                "status": StepStatus.waiting.value,
                "started_at": None,
                "finished_at": None,
                "detail": {},
                "error": None,
            }
            for name in STEPS
        ],  # fmt: skip
        "chunk_task_ids": [],
        "metrics": None,
        "changes": None,
        "previous_snapshot_id": previous_snapshot_id,
        "compared_with": None,
        "next_snapshot_id": None,
        "weekly": weekly,
        "error": None,
        "artifacts": [],
    }


def following_week(snapshot: dict[str, Any]) -> tuple[dt.date, dt.date]:
    """The period the next snapshot covers: the 7 days after this one's."""
    end = dt.date.fromisoformat(snapshot["end"])
    return end + dt.timedelta(days=1), end + RECUR_AFTER


def step(snapshot: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in snapshot["steps"] if s["name"] == name)


class SnapshotRepository:
    def __init__(self, db: Any) -> None:
        self.collection = db[COLLECTION]

    def ensure_indexes(self) -> None:
        self.collection.create_index([("snapshot_id", ASCENDING)], unique=True)
        self.collection.create_index([("status", ASCENDING), ("run_at", ASCENDING)])
        self.collection.create_index([("product_id", ASCENDING), ("created_at", ASCENDING)])

    def insert(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        self.collection.insert_many([snapshot])
        return snapshot

    def get(self, snapshot_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"snapshot_id": snapshot_id})

    def recent(
        self, product_ids: Iterable[str] | None, product_id: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Newest first: one product's (which the caller may see), or those of `product_ids`
        (None: every product)."""
        query: dict[str, Any] = {}
        if product_id is not None:
            query["product_id"] = product_id
        elif product_ids is not None:
            query["product_id"] = {"$in": sorted(product_ids)}
        cursor = self.collection.find(query).sort([("created_at", -1), ("_id", -1)]).limit(limit)
        return list(cursor)

    def count_for_product(self, product_id: str) -> int:
        return self.collection.count_documents({"product_id": product_id})

    def has_weekly_series(self, product_id: str) -> bool:
        """Whether a snapshot of the product that will schedule the next week's is waiting or
        under way (snapshots made before `weekly` existed all did)."""
        active = [SnapshotStatus.scheduled.value, SnapshotStatus.running.value,
                  SnapshotStatus.aggregating.value]  # fmt: skip
        found = self.collection.find(
            {"product_id": product_id, "status": {"$in": active}}, {"weekly": 1}
        )
        return any(s.get("weekly", True) for s in found)

    def due_ids(self, now: dt.datetime) -> list[str]:
        query = {"status": SnapshotStatus.scheduled.value, "run_at": {"$lte": now}}
        return [s["_id"] for s in self.collection.find(query, {"_id": 1}).sort("run_at")]

    def with_status(self, status: SnapshotStatus) -> list[dict[str, Any]]:
        return list(self.collection.find({"status": status.value}))

    def previous_succeeded(self, snapshot: dict[str, Any]) -> dict[str, Any] | None:
        """The product's latest succeeded snapshot of an earlier period: what to compare with."""
        earlier = self.collection.find(
            {"product_id": snapshot["product_id"], "status": SnapshotStatus.succeeded.value}
        )
        candidates = [s for s in earlier if s["end"] < snapshot["end"]]
        return max(candidates, key=lambda s: (s["end"], s["finished_at"]), default=None)

    # -- guarded transitions ---------------------------------------------------------------

    def _transition(self, query: dict[str, Any], update: dict[str, Any]) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            query, update, return_document=ReturnDocument.AFTER
        )

    def move(
        self,
        snapshot_id: str,
        from_: SnapshotStatus,
        to: SnapshotStatus,
        **changes: Any,
    ) -> dict[str, Any] | None:
        """from_ -> to (with `changes`); None when the snapshot is not `from_` any more, so of
        two schedulers or two last chunks only one moves it."""
        return self._transition(
            {"snapshot_id": snapshot_id, "status": from_.value},
            {"$set": {"status": to.value, **changes}},
        )

    def delete(self, snapshot_id: str) -> bool:
        return self.collection.delete_one({"snapshot_id": snapshot_id}).deleted_count == 1

    def set(self, snapshot_id: str, **changes: Any) -> dict[str, Any] | None:
        return self._transition({"snapshot_id": snapshot_id}, {"$set": changes})

    def set_step(
        self,
        snapshot: dict[str, Any],
        name: str,
        status: StepStatus,
        detail: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record one step's new state (times filled in) and return the updated snapshot."""
        now = utcnow()
        steps = []
        for s in snapshot["steps"]:
            if s["name"] == name:
                s = dict(s, status=status.value, error=error)
                if status is StepStatus.running:
                    s["started_at"] = now
                elif status is not StepStatus.waiting:
                    s["finished_at"] = now
                    s["started_at"] = s["started_at"] or now
                if detail is not None:
                    s["detail"] = {**s["detail"], **detail}
            steps.append(s)
        updated = self.set(snapshot["_id"], steps=steps)
        assert updated is not None
        return updated


def launch(snapshots: SnapshotRepository, queue: TaskQueue, snapshot_id: str) -> bool:
    """scheduled -> running and its start job on the queue; False if another scheduler (or
    request) got it first, or Redis refused (then it stays scheduled for the next tick)."""
    snapshot = snapshots.move(snapshot_id, SnapshotStatus.scheduled, SnapshotStatus.running,
                              started_at=utcnow())  # fmt: skip
    if snapshot is None:
        return False
    try:
        queue.enqueue_job(START, snapshot_id, job_id=start_job_id(snapshot_id))
    except RedisError as exc:
        log.warning("snapshot %s left scheduled, the queue refused it: %s", snapshot_id, exc)
        snapshots.move(snapshot_id, SnapshotStatus.running, SnapshotStatus.scheduled,
                       started_at=None)  # fmt: skip
        return False
    return True


def start_job_id(snapshot_id: str) -> str:
    return f"snapshot-{snapshot_id}-start"


def tick_snapshots(snapshots: SnapshotRepository, queue: TaskQueue) -> int:
    """Launch every snapshot due now; returns how many this scheduler launched."""
    return sum(launch(snapshots, queue, sid) for sid in snapshots.due_ids(utcnow()))
