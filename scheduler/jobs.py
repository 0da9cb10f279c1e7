"""The RQ job that runs one task: claim, execute, export, store, record.

Its lifecycle writes the task's status at every transition; the executed notebook is stored
before a failure is recorded, so a failed run still leaves its partial notebook.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat

from reporting.artifacts import ArtifactStore, open_artifacts
from reporting.execution import NotebookFailed, execute
from reporting.export import export_report
from reporting.notebooks import NotebookCatalog
from reporting.settings import Settings, load_settings
from reporting.store import open_store
from reporting.tasks import TaskRepository, TaskStatus

log = logging.getLogger(__name__)

NOTEBOOK = ("notebook.ipynb", "application/x-ipynb+json")
HTML = ("report.html", "text/html")
PDF = ("report.pdf", "application/pdf")


def _store_artifact(
    artifacts: ArtifactStore, task_id: str, kind: tuple[str, str], data: bytes
) -> dict[str, Any]:
    name, content_type = kind
    artifacts.put(task_id, name, data)
    return {"name": name, "content_type": content_type, "size": len(data)}


class TaskRun:
    """Everything one run needs, built from the settings at the edge of the job."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = open_store(settings)
        self.tasks = TaskRepository(self.store.db)
        self.artifacts = open_artifacts(settings, self.store)
        self.catalog = NotebookCatalog(settings.notebooks_dir)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"

    def run(self, task_id: str) -> str:
        task = self.tasks.start(task_id, self.worker_id)
        if task is None:
            current = self.tasks.get(task_id)
            status = current["status"] if current else "missing"
            log.warning("task %s not claimable (status %s), skipped", task_id, status)
            return status
        log.info("task %s running %s", task_id, task["notebook"])
        timings = {"queue_wait": round((task["started_at"] - task["queued_at"]).total_seconds(), 3)}
        try:
            return self._execute(task, timings)
        except Exception as exc:
            # Unexpected (not a notebook error): record it on the task, then let RQ see it too.
            error = {"ename": type(exc).__name__, "evalue": str(exc), "cell_index": None}
            self.tasks.finish(task_id, TaskStatus.failed, [], timings, error)
            raise

    def _execute(self, task: dict[str, Any], timings: dict[str, float]) -> str:
        task_id = task["_id"]
        spec = self.catalog.find(task["notebook"])
        with tempfile.TemporaryDirectory(prefix=f"task-{task_id}-") as tmp:
            try:
                run = execute(
                    spec,
                    task["parameters"],
                    Path(tmp) / NOTEBOOK[0],
                    kernel_name=self.settings.kernel_name,
                    cell_timeout=self.settings.task_timeout_seconds,
                )
            except NotebookFailed as failure:
                saved = _store_artifact(
                    self.artifacts, task_id, NOTEBOOK, nbformat.writes(failure.notebook).encode()
                )
                self.tasks.finish(task_id, TaskStatus.failed, [saved], timings, failure.error)
                log.info("task %s failed: %s", task_id, failure.message)
                return TaskStatus.failed.value
        started = time.perf_counter()
        html, pdf = export_report(
            run.notebook, {"metadata": {"name": spec.name, "path": str(spec.path.parent)}}
        )
        timings.update(
            execution=round(run.cell_seconds, 3),
            kernel_and_papermill=round(run.seconds - run.cell_seconds, 3),
            export=round(time.perf_counter() - started, 3),
        )
        saved = [
            _store_artifact(
                self.artifacts, task_id, NOTEBOOK, nbformat.writes(run.notebook).encode()
            ),
            _store_artifact(self.artifacts, task_id, HTML, html.encode()),
            _store_artifact(self.artifacts, task_id, PDF, pdf),
        ]
        self.tasks.finish(task_id, TaskStatus.success, saved, timings)
        log.info("task %s succeeded in %.2fs", task_id, sum(timings.values()))
        return TaskStatus.success.value


def run_task(task_id: str) -> str:
    """RQ entry point (enqueued by name as `scheduler.jobs.run_task`)."""
    run = TaskRun(load_settings())
    try:
        return run.run(task_id)
    finally:
        run.store.close()
