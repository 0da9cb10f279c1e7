"""What the API does to tasks, between parsing a request and answering it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from reporting.access import Principal, Scope
from reporting.errors import InvalidInput, InvalidTransition, NotFound
from reporting.queue import enqueue_now
from reporting.result_cache import cache_key
from reporting.tasks import Priority, TaskStatus, new_task, utcnow
from service.context import AppContext
from service.schemas import TaskCreate, TaskUpdate

PRIORITY_ORDER = {p.value: i for i, p in enumerate(Priority)}
log = logging.getLogger(__name__)


def get(context: AppContext, scope: Scope, task_id: str) -> dict[str, Any]:
    """The task, if the caller can see it (else 404: its existence is not revealed)."""
    task = context.tasks.get(task_id)
    if task is None or not scope.sees_product(task["product_id"]):
        raise NotFound(f"task {task_id!r} not found")
    return task


def _reload(context: AppContext, task_id: str) -> dict[str, Any]:
    task = context.tasks.get(task_id)
    assert task is not None
    return task


def _enqueue_if_due(context: AppContext, task: dict[str, Any]) -> dict[str, Any]:
    if task["run_at"] <= utcnow() and not task["paused"]:
        enqueue_now(context.tasks, context.queue, task["_id"])
        return _reload(context, task["_id"])
    context.queue.wake_scheduler()  # its timer moves to this task if it is due first
    return task


def submit(
    context: AppContext, body: TaskCreate, principal: Principal, scope: Scope
) -> dict[str, Any]:
    """Validate, store, and queue at once when due now; a later one waits for the scheduler."""
    product = context.products.get(body.product_id)
    if product is None or not scope.sees_product(body.product_id):
        raise InvalidInput([{"loc": ["body", "product_id"], "msg": f"no product {body.product_id!r}",
                             "type": "unknown_resource"}])  # fmt: skip
    spec = context.catalog.get(body.notebook)
    parameters = spec.validate(body.parameters)
    hit = _cached(context, body, spec.path, parameters, product)
    task = new_task(
        spec.name,
        parameters,
        principal.id,
        body.run_at,
        product_id=product["_id"],
        folder_id=product["folder_id"],
        priority=body.priority,
        recurrence=body.recurrence.model_dump(exclude_none=True) if body.recurrence else None,
        retry=body.retry.model_dump(),
    )
    if hit is not None:
        task.update(_answer_from(hit))
        context.tasks.insert(task)
    else:
        task = _enqueue_if_due(context, context.tasks.insert(task))
    context.audit.record(principal, "task.created", "task", task["_id"], notebook=spec.name,
                         product_id=product["_id"], cache_hit=hit is not None)  # fmt: skip
    return task


def _cached(
    context: AppContext,
    body: TaskCreate,
    path: Path,
    parameters: dict[str, Any],
    product: dict[str, Any],
) -> dict[str, Any] | None:
    """The successful task an identical request made, if this one may be answered by it: a
    one-off request, due now, that did not opt out (`cache: false`)."""
    due_now = body.run_at is None or body.run_at <= utcnow()
    if not (body.cache and due_now and body.recurrence is None):
        return None
    return context.tasks.cached(cache_key(path, parameters, product, context.data_versions))


def _answer_from(hit: dict[str, Any]) -> dict[str, Any]:
    """A task's fields when it is answered by `hit` (or by the run `hit` was answered by)."""
    now, origin = utcnow(), hit.get("cached_from") or hit["_id"]
    return {"status": TaskStatus.success.value, "finished_at": now, "queued_at": now,
            "started_at": now, "cache_hit": True, "cached_from": origin,
            "cache_key": hit["cache_key"], "artifacts": hit["artifacts"],
            "artifacts_of": hit.get("artifacts_of") or hit["_id"]}  # fmt: skip


def update(
    context: AppContext, principal: Principal, scope: Scope, task_id: str, body: TaskUpdate
) -> dict[str, Any]:
    task = get(context, scope, task_id)
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
        raise InvalidTransition("change", _reload(context, task_id)["status"])
    if only_priority and updated["status"] == TaskStatus.queued:
        context.queue.remove(task)  # move its job to the queue of the new priority
        context.queue.enqueue(updated)
    context.audit.record(principal, "task.updated", "task", task_id, fields=sorted(changes))
    return _enqueue_if_due(context, updated) if updated["status"] == TaskStatus.pending else updated


def cancel(
    context: AppContext, principal: Principal, scope: Scope, task_id: str
) -> tuple[dict[str, Any], bool]:
    """Cancel a waiting task at once, or ask the worker to stop a running one. Returns the
    task and whether the cancellation is still in progress (running)."""
    task = get(context, scope, task_id)
    cancelled = context.tasks.cancel_waiting(task_id)
    if cancelled is not None:
        try:
            context.queue.remove(task)
        except RedisError as exc:  # a worker skips a cancelled task's job: it is cancelled
            log.warning("task %s cancelled; its job stays in Redis for now: %s", task_id, exc)
        if cancelled.get("previous_task_id"):  # the series ends: no next run shown before
            context.tasks.forget_next_run(cancelled["previous_task_id"], task_id)
        context.audit.record(principal, "task.cancelled", "task", task_id)
        return cancelled, False
    requested = context.tasks.request_cancel(task_id)
    if requested is not None:
        context.audit.record(principal, "task.cancelled", "task", task_id, running=True)
        return requested, True
    raise InvalidTransition("cancel", _reload(context, task_id)["status"])


def retry(context: AppContext, principal: Principal, scope: Scope, task_id: str) -> dict[str, Any]:
    task = get(context, scope, task_id)
    retried = context.tasks.retry(task_id, allowed_more=task["retry"]["max_attempts"])
    if retried is None:
        raise InvalidTransition("retry", _reload(context, task_id)["status"])
    context.audit.record(principal, "task.retried", "task", task_id)
    return _enqueue_if_due(context, retried)


def set_paused(
    context: AppContext, principal: Principal, scope: Scope, task_id: str, paused: bool
) -> dict[str, Any]:
    task = get(context, scope, task_id)
    if not task.get("recurrence"):
        raise InvalidTransition("pause or resume the schedule of", "not recurring")
    if not context.tasks.set_series_paused(task["series_id"], paused):
        raise InvalidTransition("pause or resume", f"{task['status']} (the series has ended)")
    if not paused:  # an occurrence that fell due while paused runs now
        for waiting in context.tasks.pending_in_series(task["series_id"]):
            _enqueue_if_due(context, waiting)
    context.audit.record(principal, "task.paused" if paused else "task.resumed", "task", task_id)
    return _reload(context, task_id)


def queue_view(context: AppContext, scope: Scope, limit: int) -> list[dict[str, Any]]:
    waiting = context.tasks.waiting(limit, scope.product_ids)
    queued = sorted(
        (t for t in waiting if t["status"] == TaskStatus.queued),
        key=lambda t: (PRIORITY_ORDER[t["priority"]], t["queued_at"]),
    )
    pending = [t for t in waiting if t["status"] == TaskStatus.pending and not t["paused"]]
    return (queued + pending)[:limit]
