"""Request and response bodies of the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from reporting.api_keys import Role
from reporting.tasks import TaskStatus


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.user


class ApiKeyCreated(BaseModel):
    id: str
    name: str
    role: Role
    prefix: str
    created_at: dt.datetime
    key: str = Field(description="The API key. Shown once: only its hash is stored.")


class ParameterOut(BaseModel):
    name: str
    type: str
    default: Any = None
    required: bool
    description: str
    enum: list[Any] | None = None


class NotebookOut(BaseModel):
    name: str
    title: str
    description: str
    parameters: list[ParameterOut]


class TaskCreate(BaseModel):
    notebook: str = Field(description="Name of a notebook from GET /v1/notebooks")
    parameters: dict[str, Any] = Field(default_factory=dict)
    run_at: AwareDatetime | None = Field(
        default=None, description="When to run (ISO 8601 with offset); default now"
    )


class TaskError(BaseModel):
    cell_index: int | None = Field(description="Index of the failing cell in the notebook")
    execution_count: int | None = None
    ename: str
    evalue: str
    source: str | None = None
    traceback: str | None = None


class Artifact(BaseModel):
    name: str
    content_type: str
    size: int
    url: str


class TaskOut(BaseModel):
    id: str
    notebook: str
    parameters: dict[str, Any]
    status: TaskStatus
    created_at: dt.datetime
    run_at: dt.datetime
    queued_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    worker_id: str | None = None
    error: TaskError | None = None
    artifacts: list[Artifact] = []
    timings: dict[str, float] = {}


class TaskPage(BaseModel):
    items: list[TaskOut]
    total: int
    limit: int
    offset: int


class HealthOut(BaseModel):
    status: str
    checks: dict[str, str]
