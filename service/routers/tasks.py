from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from reporting.errors import NotFound
from reporting.queue import enqueue_now
from reporting.tasks import TaskStatus, utcnow
from service.deps import Context, CurrentPrincipal
from service.schemas import TaskCreate, TaskOut, TaskPage

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

# Downloadable artifacts: path suffix -> (stored name, content type, statuses it exists in).
DOWNLOADS = {
    "pdf": ("report.pdf", "application/pdf", {TaskStatus.success}),
    "html": ("report.html", "text/html; charset=utf-8", {TaskStatus.success}),
    "notebook": (
        "notebook.ipynb",
        "application/x-ipynb+json",
        {TaskStatus.success, TaskStatus.failed},
    ),
}
_ARTIFACT_PATHS = {stored: suffix for suffix, (stored, _, _) in DOWNLOADS.items()}


def task_out(task: dict[str, Any]) -> TaskOut:
    task_id = task["_id"]
    artifacts = [
        {**a, "url": f"/v1/tasks/{task_id}/{_ARTIFACT_PATHS[a['name']]}"}
        for a in task.get("artifacts", [])
    ]
    return TaskOut(**{**task, "id": task_id, "artifacts": artifacts})


def _get_task(context: Context, task_id: str) -> dict[str, Any]:
    task = context.tasks.get(task_id)
    if task is None:
        raise NotFound(f"task {task_id!r} not found")
    return task


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TaskOut)
def create_task(body: TaskCreate, context: Context, principal: CurrentPrincipal) -> TaskOut:
    """Ask for a report. Parameters are checked against the notebook's declared parameters;
    a task due now is queued at once, a later one waits for the scheduler."""
    spec = context.catalog.get(body.notebook)
    parameters = spec.validate(body.parameters)
    task = context.tasks.create(spec.name, parameters, principal.id, body.run_at)
    if task["run_at"] <= utcnow():
        enqueue_now(context.tasks, context.queue, task["_id"], context.settings.job_timeout_seconds)
        task = _get_task(context, task["_id"])
    return task_out(task)


@router.get("", response_model=TaskPage)
def list_tasks(
    context: Context,
    _: CurrentPrincipal,
    status: TaskStatus | None = None,
    notebook: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TaskPage:
    """Tasks, newest first."""
    items, total = context.tasks.list(status, notebook, limit, offset)
    return TaskPage(items=[task_out(t) for t in items], total=total, limit=limit, offset=offset)


@router.get("/{task_id}", response_model=TaskOut)
def get_task(task_id: str, context: Context, _: CurrentPrincipal) -> TaskOut:
    return task_out(_get_task(context, task_id))


def _download(context: Context, task_id: str, suffix: str) -> Response:
    stored, content_type, statuses = DOWNLOADS[suffix]
    task = _get_task(context, task_id)
    if TaskStatus(task["status"]) not in statuses:
        raise NotFound(f"no {suffix} for task {task_id!r}: its status is {task['status']}")
    data = context.artifacts.get(task_id, stored)
    filename = f"{task['notebook']}-{task_id}.{stored.rsplit('.', 1)[1]}"
    return Response(
        data,
        media_type=content_type,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


_FILE = {404: {"description": "No such task, or the run has not produced this file"}}


@router.get("/{task_id}/pdf", response_class=Response, responses=_FILE)
def get_task_pdf(task_id: str, context: Context, _: CurrentPrincipal) -> Response:
    """The report as PDF, once the run succeeded."""
    return _download(context, task_id, "pdf")


@router.get("/{task_id}/html", response_class=Response, responses=_FILE)
def get_task_html(task_id: str, context: Context, _: CurrentPrincipal) -> Response:
    """The report as a self-contained HTML page, once the run succeeded."""
    return _download(context, task_id, "html")


@router.get("/{task_id}/notebook", response_class=Response, responses=_FILE)
def get_task_notebook(task_id: str, context: Context, _: CurrentPrincipal) -> Response:
    """The executed notebook (.ipynb); for a failed run, the partial notebook up to the error."""
    return _download(context, task_id, "notebook")
