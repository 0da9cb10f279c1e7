"""What the API does to tasks, between parsing a request and answering it."""

from __future__ import annotations

from typing import Any

from reporting.errors import InvalidInput, InvalidTransition, NotFound
from reporting.queue import enqueue_now
from reporting.tasks import Priority, TaskStatus, new_task, utcnow
from service.context import AppContext
from service.deps import Principal
from service.schemas import TaskCreate, TaskUpdate

PRIORITY_ORDER = {p.value: i for i, p in enumerate(Priority)}


def get(context: AppContext, task_id: str) -> dict[str, Any]:
    task = context.tasks.get(task_id)
    if task is None:
        raise NotFound(f"task {task_id!r} not found")
    return task


def _enqueue_if_due(context: AppContext, task: dict[str, Any]) -> dict[str, Any]:
    if task["run_at"] <= utcnow() and not task["paused"]:
        enqueue_now(context.tasks, context.queue, task["_id"])
        return get(context, task["_id"])
    return task


def submit(context: AppContext, body: TaskCreate, principal: Principal) -> dict[str, Any]:
    """Validate, store, and queue at once when due now; a later one waits for the scheduler."""
    spec = context.catalog.get(body.notebook)
    parameters = spec.validate(body.parameters)
    task = new_task(
        spec.name,
        parameters,
        principal.id,
        body.run_at,
        priority=body.priority,
        recurrence=body.recurrence.model_dump(exclude_none=True) if body.recurrence else None,
        retry=body.retry.model_dump(),
    )
    return _enqueue_if_due(context, context.tasks.insert(task))


def update(context: AppContext, task_id: str, body: TaskUpdate) -> dict[str, Any]:
    task = get(context, task_id)
    changes: dict[str, Any] = {}
    if body.parameters is not None:
        spec = context.catalog.get(task["notebook"], loc=("body", "notebook"))
        changes["parameters"] = spec.validate(body.parameters)
    if "run_at" in body.model_fields_set:
        if body.run_at is None:
            raise InvalidInput([{"loc": ["body", "run_at"], "msg": "must be a date-time",
                                 "type": "datetime_type"}])  # fmt: skip
        changes["run_at"] = body.run_at
    if body.priority is not None:
        changes["priority"] = body.priority.value
    only_priority = set(changes) == {"priority"}
    updated = (
        context.tasks.update_waiting(task_id, changes)
        if only_priority
        else context.tasks.update_pending(task_id, changes)
    )
    if updated is None:
        raise InvalidTransition("change", get(context, task_id)["status"])
    if only_priority and updated["status"] == TaskStatus.queued:
        context.queue.remove(task)  # move its job to the queue of the new priority
        context.queue.enqueue(updated)
    return _enqueue_if_due(context, updated) if updated["status"] == TaskStatus.pending else updated


def cancel(context: AppContext, task_id: str) -> tuple[dict[str, Any], bool]:
    """Cancel a waiting task at once, or ask the worker to stop a running one. Returns the
    task and whether the cancellation is still in progress (running)."""
    task = get(context, task_id)
    cancelled = context.tasks.cancel_waiting(task_id)
    if cancelled is not None:
        context.queue.remove(task)
        return cancelled, False
    requested = context.tasks.request_cancel(task_id)
    if requested is not None:
        return requested, True
    raise InvalidTransition("cancel", get(context, task_id)["status"])


def retry(context: AppContext, task_id: str) -> dict[str, Any]:
    task = get(context, task_id)
    retried = context.tasks.retry(task_id, allowed_more=task["retry"]["max_attempts"])
    if retried is None:
        raise InvalidTransition("retry", get(context, task_id)["status"])
    return _enqueue_if_due(context, retried)


def set_paused(context: AppContext, task_id: str, paused: bool) -> dict[str, Any]:
    task = get(context, task_id)
    if not task.get("recurrence"):
        raise InvalidTransition("pause or resume the schedule of", "not recurring")
    if not context.tasks.set_series_paused(task["series_id"], paused):
        raise InvalidTransition("pause or resume", f"{task['status']} (the series has ended)")
    if not paused:  # an occurrence that fell due while paused runs now
        for waiting in context.tasks.pending_in_series(task["series_id"]):
            _enqueue_if_due(context, waiting)
    return get(context, task_id)


def queue_view(context: AppContext, limit: int) -> list[dict[str, Any]]:
    waiting = context.tasks.waiting(limit)
    queued = sorted(
        (t for t in waiting if t["status"] == TaskStatus.queued),
        key=lambda t: (PRIORITY_ORDER[t["priority"]], t["queued_at"]),
    )
    pending = [t for t in waiting if t["status"] == TaskStatus.pending and not t["paused"]]
    return (queued + pending)[:limit]
