"""Request and response bodies of the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)

from reporting.access import ResourceType, Role
from reporting.date_bounds import BoundedDate, BoundedDatetime, FutureDatetime
from reporting.errors import InvalidInput
from reporting.products import SLUG
from reporting.recurrence import Recurrence
from reporting.tasks import Priority, TaskStatus


class ServiceKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.admin


class ParameterOut(BaseModel):
    name: str
    type: str
    default: Any = None
    required: bool
    nullable: bool = Field(default=False, description="null is a valid value")
    description: str
    enum: list[Any] | None = None


class NotebookOut(BaseModel):
    name: str
    title: str
    description: str
    parameters: list[ParameterOut]
    timeout_seconds: int | None = Field(description="Overrides TASK_TIMEOUT_SECONDS")
    kernel: str | None = Field(
        default=None, description="The notebook's Jupyter kernel; null: KERNEL_NAME"
    )
    available: bool = Field(default=True, description="false: it cannot run (admins only)")
    reason: str | None = Field(default=None, description="Why it cannot run")


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_attempts: StrictInt = Field(
        default=1, ge=1, le=10, description="Attempts in all, 1 = no retry"
    )
    backoff_seconds: StrictFloat = Field(
        default=60, ge=0, le=86400, description="Wait before the 2nd attempt; doubles each time"
    )


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notebook: str = Field(description="Name of a notebook from GET /v1/notebooks")
    product_id: str = Field(min_length=1, description="The product (and so folder) it is for")
    parameters: dict[str, Any] = Field(default_factory=dict)
    run_at: BoundedDatetime | None = Field(
        default=None, description="When to run (ISO 8601 with offset, years 2000-2100); default now"
    )
    priority: Priority = Priority.normal
    recurrence: Recurrence | None = Field(
        default=None, description="Run again: `every` + `anchor`, or `cron` + `timezone`"
    )
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    cache: StrictBool = Field(
        default=True,
        description="Answer from the result cache when an identical report (same notebook "
        "content, parameters and input data) already succeeded; false forces a fresh run",
    )


class TaskUpdate(BaseModel):
    """Changes to a task that has not started: `run_at` and `parameters` while pending,
    `priority` while pending or queued."""

    model_config = ConfigDict(extra="forbid")

    run_at: BoundedDatetime | None = None
    priority: Priority | None = None
    parameters: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _something(self) -> TaskUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of run_at, priority, parameters")
        return self


class TaskError(BaseModel):
    reason: str = Field(
        default="error",
        description="error (a cell raised), timeout, abandoned (worker lost), cancelled, "
        "kernel_died, internal",
    )
    cell_index: int | None = Field(description="Index of the failing cell in the notebook")
    execution_count: int | None = None
    ename: str
    evalue: str
    source: str | None = None
    traceback: str | None = None


class Artifact(BaseModel):
    kind: str = Field(description="notebook, html or pdf")
    name: str
    size: int
    url: str


class Attempt(BaseModel):
    number: int
    status: TaskStatus
    worker_id: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime
    error: TaskError | None = None
    timings: dict[str, float] = {}
    artifacts: list[Artifact] = []


class Progress(BaseModel):
    cell: int = Field(description="Index of the cell running now")
    of: int = Field(description="Cells in the executed notebook")


class TaskOut(BaseModel):
    id: str
    notebook: str
    product_id: str
    folder_id: str
    parameters: dict[str, Any]
    status: TaskStatus
    priority: Priority
    created_at: dt.datetime
    run_at: dt.datetime
    queued_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    heartbeat_at: dt.datetime | None = None
    progress: Progress | None = None
    finished_at: dt.datetime | None = None
    worker_id: str | None = None
    cancel_requested: bool = False
    error: TaskError | None = None
    artifacts: list[Artifact] = []
    timings: dict[str, float] = {}
    retry: RetryPolicy
    attempt: int = Field(description="Attempts started so far")
    attempts: list[Attempt] = Field(description="Every ended attempt, oldest first")
    recurrence: Recurrence | None = None
    series_id: str = Field(description="Id of the first task of a recurring series")
    previous_task_id: str | None = None
    next_task_id: str | None = None
    next_run_at: dt.datetime | None = Field(
        default=None, description="When the next occurrence of a recurring task is due"
    )
    paused: bool = False
    snapshot_id: str | None = Field(
        default=None, description="The snapshot this task is a chunk of, if any"
    )
    cache_hit: bool = Field(
        default=False,
        description="Answered from the result cache: no run, the files of `cached_from`",
    )
    cached_from: str | None = Field(default=None, description="The task whose report it is")


class TaskPage(BaseModel):
    items: list[TaskOut]
    total: int
    limit: int
    offset: int


class QueueOut(BaseModel):
    items: list[TaskOut] = Field(
        description="Queued tasks in the order workers take them (high, normal, low; oldest "
        "first), then pending ones by due time (paused ones excluded)"
    )


class HealthOut(BaseModel):
    status: str
    checks: dict[str, str]


class ErrorOut(BaseModel):
    detail: str = Field(description="What went wrong")
    code: str | None = Field(default=None, description="401 only: why the credentials failed")


MAX_MARKDOWN_CHARS = 2_000_000


class PdfIn(BaseModel):
    """A Markdown document to render as a report PDF (POST /v1/pdf)."""

    model_config = ConfigDict(extra="forbid")

    markdown: str = Field(min_length=1, max_length=MAX_MARKDOWN_CHARS, pattern=r"\S",
                          description="The document (CommonMark + tables; raw HTML is shown as "
                          "text; images only as data: URIs)")  # fmt: skip
    title: str = Field(min_length=1, max_length=200, pattern=r"\S",
                       description="Title page and PDF title; the file name comes from it")  # fmt: skip
    product: str | None = Field(default=None, max_length=200, description="On the title page")
    period: str | None = Field(default=None, max_length=200,
                               description='On the title page, e.g. "1 Jul – 30 Sep 2026"')  # fmt: skip


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ResourceType
    resource_id: str = Field(min_length=1)


class GrantOut(GrantIn):
    id: str
    created_at: dt.datetime


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Role | None = Field(default=None, description="Default: the caller's role")
    grants: list[GrantIn] | None = Field(
        default=None,
        description="Folders/products the key may use; default: whatever its owner has",
    )
    expires_at: FutureDatetime | None = Field(
        default=None, description="ISO 8601 with offset, in the future (up to 2100)"
    )
    service: StrictBool = Field(
        default=False, description="Admins only: a key owned by no user (a service key)"
    )


class ApiKeyOut(BaseModel):
    id: str
    name: str
    role: Role
    prefix: str
    owner_id: str | None
    grants: list[GrantIn] | None
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class ApiKeyNew(ApiKeyOut):
    key: str = Field(description="The API key. Shown once: only its hash is stored.")


class PrincipalOut(BaseModel):
    id: str
    kind: str
    name: str
    role: Role
    grants: list[GrantIn]


class FolderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class FolderOut(FolderIn):
    id: str
    created_at: dt.datetime


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    folder_id: str = Field(min_length=1)
    slug: str | None = Field(
        default=None,
        max_length=100,
        pattern=SLUG.pattern,
        description="The key the product's raw data is stored under (default: from the name); "
        "notebooks take it as their `product` parameter. Never changes.",
    )


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    folder_id: str | None = Field(default=None, min_length=1)


class ProductOut(ProductIn):
    id: str
    slug: str
    created_at: dt.datetime


class UserOut(BaseModel):
    id: str = Field(description="The Firebase uid")
    email: str | None
    role: Role
    created_at: dt.datetime


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class AuditEntry(BaseModel):
    id: str
    at: dt.datetime
    actor: dict[str, str]
    action: str
    target: dict[str, str]
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int
    limit: int
    offset: int


class QueueStats(BaseModel):
    queue: str
    priority: str
    queued: int
    started: int
    finished: int
    failed: int
    deferred: int
    scheduled: int
    canceled: int
    workers: int


MAX_SNAPSHOT_DAYS = 92


class SnapshotCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1)
    start: BoundedDate | None = Field(
        default=None, description="First day covered (UTC); default: 7 days before `end`"
    )
    end: BoundedDate | None = Field(
        default=None, description="Last day covered (UTC, inclusive); default: yesterday"
    )
    run_at: BoundedDatetime | None = Field(default=None, description="When to run (default: now)")

    @model_validator(mode="after")
    def _period(self) -> SnapshotCreate:
        end = self.end or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
        start = self.start or end - dt.timedelta(days=6)
        # InvalidInput, not ValueError: a model validator's error would name no field.
        if start > end:
            raise InvalidInput([{"loc": ["body", "start"], "type": "value_error",
                                 "msg": "start must be on or before end"}])  # fmt: skip
        if (end - start).days >= MAX_SNAPSHOT_DAYS:
            raise InvalidInput([{"loc": ["body", "end"], "type": "value_error",
                                 "msg": f"a snapshot covers at most {MAX_SNAPSHOT_DAYS} days"}])  # fmt: skip
        self.start, self.end = start, end
        return self


class SnapshotStep(BaseModel):
    name: str = Field(description="prompts, scrape, chunks or aggregate")
    status: str = Field(description="waiting, running, succeeded, failed or skipped")
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    detail: dict[str, Any] = {}
    error: dict[str, Any] | None = None


class SnapshotOut(BaseModel):
    id: str
    product_id: str
    product_slug: str
    folder_id: str
    status: str = Field(
        description="scheduled, running, aggregating, succeeded, failed or cancelled"
    )
    start: dt.date
    end: dt.date
    run_at: dt.datetime
    created_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    research_version: int | None = Field(default=None, description="Product research used")
    steps: list[SnapshotStep]
    chunk_task_ids: list[str] = Field(description="One notebook task per brand")
    metrics: dict[str, Any] | None = Field(
        default=None,
        description="Share of voice, sentiment and themes of the period; `scraped`: the "
        "share of voice its scrape counted (sources; per brand mentions and share)",
    )
    changes: dict[str, Any] | None = Field(
        default=None,
        description="What changed since the snapshot compared with; `scraped`: per brand "
        "share, previous_share and share_change (null without a scrape)",
    )
    compared_with: str | None = Field(default=None, description="The previous snapshot's id")
    previous_snapshot_id: str | None = None
    next_snapshot_id: str | None = None
    next_run_at: dt.datetime | None = None
    error: dict[str, Any] | None = Field(default=None, description="The failed step and why")
    artifacts: list[Artifact] = []
