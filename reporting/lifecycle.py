"""How a run ends: success, a retry, a final failure or a cancellation, and what comes next
for a recurring task. Used by the worker (a run that ended) and the reaper (a run whose worker
died), so both follow the same rules."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from reporting.recurrence import Recurrence
from reporting.tasks import TaskRepository, TaskStatus, new_task, utcnow

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What one attempt came to."""

    status: TaskStatus
    error: dict[str, Any] | None = None
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    recorded: dict[str, Any] = field(default_factory=dict)  # more fields to set on success

    @property
    def retryable(self) -> bool:
        return self.status is TaskStatus.failed


def failure(reason: str, ename: str, evalue: str, **details: Any) -> dict[str, Any]:
    return {"reason": reason, "ename": ename, "evalue": evalue, "cell_index": None, **details}


def backoff(task: dict[str, Any]) -> dt.timedelta:
    """Exponential: backoff_seconds, then twice that, four times..."""
    seconds = float(task["retry"]["backoff_seconds"]) * 2 ** max(task["attempt"] - 1, 0)
    return dt.timedelta(seconds=seconds)


def end_attempt(
    tasks: TaskRepository, task: dict[str, Any], outcome: Outcome
) -> dict[str, Any] | None:
    """Record `outcome` for the running attempt of `task`: retry it when the policy allows,
    else end it, and for a recurring task create the next occurrence. Returns the updated
    task, or None when the attempt was already closed (by the reaper, say)."""
    now = utcnow()
    record = {
        "number": task["attempt"],
        "status": outcome.status.value,
        "worker_id": task["worker_id"],
        "started_at": task["started_at"],
        "finished_at": now,
        "error": outcome.error,
        "timings": outcome.timings,
        "artifacts": outcome.artifacts,
    }
    common = {"error": outcome.error, "artifacts": outcome.artifacts, "timings": outcome.timings,
              "progress": None}  # fmt: skip
    retry = (
        outcome.retryable
        and not task.get("cancel_requested")
        and task["attempt"] < task["attempts_allowed"]
    )
    successor = None
    if retry:
        changes = {**common, "status": TaskStatus.pending.value, "queued_at": None,
                   "run_at": now + backoff(task)}  # fmt: skip
    else:
        changes = {**common, "status": outcome.status.value, "finished_at": now}
        if outcome.status is TaskStatus.success:
            changes.update(outcome.recorded)
        successor = _store_successor(tasks, task, outcome.status, now)
        if successor is not None:
            changes.update(next_task_id=successor["_id"], next_run_at=successor["run_at"])
        else:  # no next occurrence (a cancelled series): none is shown
            changes["next_run_at"] = None
    ended = tasks.end_attempt(task["_id"], task["attempt"], changes, record)
    if ended is None:
        if successor is not None:
            tasks.delete(successor["_id"])
        log.warning("attempt %s of task %s was already closed", task["attempt"], task["_id"])
        return None
    if successor is not None and ended["paused"] != successor["paused"]:
        tasks.update_pending(successor["_id"], {"paused": ended["paused"]})  # paused meanwhile
    return ended


def _store_successor(
    tasks: TaskRepository, task: dict[str, Any], status: TaskStatus, now: dt.datetime
) -> dict[str, Any] | None:
    """The next occurrence of a recurring task whose run ends now with `status` (none for a
    cancelled one: cancelling stops a series; pausing suspends it). It is stored before the
    run is ended, so that the update that ends the run also names it: whoever sees the run
    ended sees what comes next."""
    if not task.get("recurrence") or status is TaskStatus.cancelled:
        return None
    rule = Recurrence.model_validate(task["recurrence"])
    run_at = rule.next_run(task["run_at"], now, now)
    assert run_at is not None  # the run has finished, so every rule knows its next time
    return tasks.insert(
        new_task(
            task["notebook"], task["parameters"], task["created_by"], run_at,
            product_id=task["product_id"], folder_id=task["folder_id"],
            priority=task["priority"], recurrence=task["recurrence"], retry=task["retry"],
            series_id=task["series_id"], previous_task_id=task["_id"], paused=task["paused"],
        )
    )  # fmt: skip
