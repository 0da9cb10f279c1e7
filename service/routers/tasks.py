from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from reporting.errors import NotFound
from reporting.tasks import TaskStatus
from service import task_commands
from service.deps import Context, CurrentScope, Reader, Writer
from service.schemas import TaskCreate, TaskOut, TaskPage, TaskUpdate

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "notebook": "application/x-ipynb+json",
}
NO_SNIFF = {"X-Content-Type-Options": "nosniff"}
# A report page may show its own inline styles and data: images, and run or load nothing.
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The task's status does not allow this; `status` says which"}
}
_FILE: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such task, or the run has not produced this file"}
}


def _artifact_urls(task_id: str, artifacts: list[dict[str, Any]], prefix: str) -> list[dict]:
    return [{**a, "url": f"/v1/tasks/{task_id}{prefix}/{a['kind']}"} for a in artifacts]


def task_out(task: dict[str, Any]) -> TaskOut:
    task_id = task["_id"]
    attempts = [
        {**a, "artifacts": _artifact_urls(task_id, a["artifacts"], f"/attempts/{a['number']}")}
        for a in task["attempts"]
    ]
    artifacts = _artifact_urls(task_id, task["artifacts"], "")
    return TaskOut(**{**task, "id": task_id, "artifacts": artifacts, "attempts": attempts})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TaskOut)
def create_task(
    body: TaskCreate, context: Context, principal: Writer, scope: CurrentScope
) -> TaskOut:
    """Ask for a report for a product you may write to. Parameters are checked against the
    notebook's declared parameters; a task due now is queued at once, a later one waits for
    the scheduler's tick."""
    return task_out(task_commands.submit(context, body, principal, scope))


@router.get("", response_model=TaskPage)
def list_tasks(
    context: Context,
    _: Reader,
    scope: CurrentScope,
    status: TaskStatus | None = None,
    notebook: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TaskPage:
    """The tasks of the products you can see, newest first."""
    items, total = context.tasks.page(status, notebook, limit, offset, scope.product_ids)
    return TaskPage(items=[task_out(t) for t in items], total=total, limit=limit, offset=offset)


@router.get("/{task_id}", response_model=TaskOut)
def get_task(task_id: str, context: Context, _: Reader, scope: CurrentScope) -> TaskOut:
    return task_out(task_commands.get(context, scope, task_id))


@router.patch("/{task_id}", response_model=TaskOut, responses=_CONFLICT)
def update_task(
    task_id: str, body: TaskUpdate, context: Context, principal: Writer, scope: CurrentScope
) -> TaskOut:
    """Reschedule (`run_at`) or edit `parameters` (re-validated) while pending; change
    `priority` while pending or queued."""
    return task_out(task_commands.update(context, principal, scope, task_id, body))


@router.post(
    "/{task_id}/cancel",
    response_model=TaskOut,
    responses={**_CONFLICT, 202: {"model": TaskOut, "description": "Running: being stopped"}},
)
def cancel_task(task_id: str, context: Context, principal: Writer, scope: CurrentScope) -> Any:
    """pending or queued -> cancelled at once (200). running -> its kernel is stopped within
    HEARTBEAT_INTERVAL_SECONDS and it ends cancelled (202, `cancel_requested: true`).
    Cancelling an occurrence of a recurring task ends the series (pause it to suspend it)."""
    task, in_progress = task_commands.cancel(context, principal, scope, task_id)
    if in_progress:
        return JSONResponse(task_out(task).model_dump(mode="json"), status_code=202)
    return task_out(task)


@router.post("/{task_id}/retry", response_model=TaskOut, responses=_CONFLICT)
def retry_task(task_id: str, context: Context, principal: Writer, scope: CurrentScope) -> TaskOut:
    """failed -> pending again now, with a fresh retry budget; earlier attempts are kept."""
    return task_out(task_commands.retry(context, principal, scope, task_id))


@router.post("/{task_id}/pause", response_model=TaskOut, responses=_CONFLICT)
def pause_schedule(
    task_id: str, context: Context, principal: Writer, scope: CurrentScope
) -> TaskOut:
    """Suspend a recurring task's series: its next occurrence waits until resumed."""
    return task_out(task_commands.set_paused(context, principal, scope, task_id, True))


@router.post("/{task_id}/resume", response_model=TaskOut, responses=_CONFLICT)
def resume_schedule(
    task_id: str, context: Context, principal: Writer, scope: CurrentScope
) -> TaskOut:
    """Resume a paused series; an occurrence that fell due meanwhile runs now."""
    return task_out(task_commands.set_paused(context, principal, scope, task_id, False))


def _download(
    task: dict[str, Any], artifacts: list[dict[str, Any]], kind: str, context: Context
) -> Response:
    found = [a for a in artifacts if a["kind"] == kind]
    if kind != "notebook" and task["status"] != TaskStatus.success:
        found = []
    if not found:
        raise NotFound(f"no {kind} for task {task['_id']!r}: its status is {task['status']}")
    owner = task.get("artifacts_of") or task["_id"]  # a cache hit serves the files it reuses
    data = context.artifacts.get(owner, found[0]["name"])
    extension = found[0]["name"].rsplit(".", 1)[1]
    filename = f"{task['notebook']}-{task['_id']}.{extension}"
    headers = {"Content-Disposition": f'inline; filename="{filename}"', **NO_SNIFF}
    if kind == "html":
        headers.update(HTML_HEADERS)
    return Response(data, media_type=CONTENT_TYPES[kind], headers=headers)


@router.get("/{task_id}/pdf", response_class=Response, responses=_FILE)
def get_task_pdf(task_id: str, context: Context, _: Reader, scope: CurrentScope) -> Response:
    """The report as PDF, once the run succeeded."""
    task = task_commands.get(context, scope, task_id)
    return _download(task, task["artifacts"], "pdf", context)


@router.get("/{task_id}/html", response_class=Response, responses=_FILE)
def get_task_html(task_id: str, context: Context, _: Reader, scope: CurrentScope) -> Response:
    """The report as a self-contained HTML page, once the run succeeded."""
    task = task_commands.get(context, scope, task_id)
    return _download(task, task["artifacts"], "html", context)


@router.get("/{task_id}/notebook", response_class=Response, responses=_FILE)
def get_task_notebook(task_id: str, context: Context, _: Reader, scope: CurrentScope) -> Response:
    """The executed notebook (.ipynb) of the last attempt; for a failed or stopped run, the
    partial notebook up to where it stopped."""
    task = task_commands.get(context, scope, task_id)
    return _download(task, task["artifacts"], "notebook", context)


@router.get("/{task_id}/attempts/{number}/notebook", response_class=Response, responses=_FILE)
def get_attempt_notebook(
    task_id: str, number: int, context: Context, _: Reader, scope: CurrentScope
) -> Response:
    """The executed notebook of one ended attempt."""
    task = task_commands.get(context, scope, task_id)
    attempts = [a for a in task["attempts"] if a["number"] == number]
    if not attempts:
        raise NotFound(f"task {task_id!r} has no ended attempt {number}")
    return _download(task, attempts[0]["artifacts"], "notebook", context)
