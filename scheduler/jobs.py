"""The RQ job that runs one task: claim, execute, export, store, record.

Its lifecycle writes the task's status at every transition; the executed notebook is stored
before the outcome is recorded, so a failed, cancelled or timed-out run still leaves its
partial notebook. If the store is down when the run ends, the job keeps trying to record the
outcome instead of losing it.
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

from reporting import logs
from reporting.alerts import on_run_ended
from reporting.artifacts import ArtifactStore, open_artifacts
from reporting.data_versions import DataVersions
from reporting.errors import NotFound
from reporting.execution import NotebookFailed, NotebookInterrupted, execute
from reporting.export import ReportMeta, export_report
from reporting.lifecycle import Outcome, end_attempt, failure
from reporting.notebooks import NotebookCatalog, NotebookSpec
from reporting.products import ProductRepository
from reporting.result_cache import cache_key
from reporting.settings import Settings, load_settings
from reporting.store import open_store
from reporting.tasks import TaskRepository, TaskStatus
from reporting.telemetry import bind_task
from scheduler.kernel_pool import PooledKernelManager, pooled_kernel_pid
from scheduler.monitor import RunMonitor, StopReason
from scheduler.snapshot_jobs import chunk_ended

log = logging.getLogger(__name__)

RECORD_RETRY_SECONDS = 600


def _store_artifact(
    artifacts: ArtifactStore, task: dict[str, Any], kind: str, data: bytes
) -> dict[str, Any]:
    """Store one output; each attempt keeps its own executed notebook."""
    name = {"notebook": f"attempt-{task['attempt']}.ipynb", "html": "report.html",
            "pdf": "report.pdf"}[kind]  # fmt: skip
    artifacts.put(task["_id"], name, data)
    return {"kind": kind, "name": name, "size": len(data)}


class TaskRun:
    """Everything one run needs, built from the settings at the edge of the job."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = open_store(settings)
        self.tasks = TaskRepository(self.store.db)
        self.artifacts = open_artifacts(settings, self.store)
        self.catalog = NotebookCatalog(settings.notebooks_dir)
        self.products = ProductRepository(self.store.db)
        self.versions = DataVersions(self.store.db)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"

    def run(self, task_id: str) -> str:
        logs.task_id.set(task_id)  # on every log line of this run
        task = self.tasks.start(task_id, self.worker_id)
        if task is None:
            current = self.tasks.get(task_id)
            status = current["status"] if current else "missing"
            log.warning("task %s not claimable (status %s), skipped", task_id, status)
            return status
        log.info("task %s attempt %d running %s", task_id, task["attempt"], task["notebook"])
        bind_task(task)  # Sentry: every event of this run carries its notebook and attempt
        timings = {"queue_wait": round((task["started_at"] - task["queued_at"]).total_seconds(), 3)}
        try:
            outcome = self._execute(task, timings)
        except Exception as exc:
            # Not the notebook's fault (a missing notebook, a full disk...): record it anyway.
            log.exception("task %s: internal error", task_id)
            outcome = Outcome(
                TaskStatus.failed, failure("internal", type(exc).__name__, str(exc)), [], timings
            )
        ended = self._record(task, outcome)
        return ended["status"] if ended else outcome.status.value

    def _timeout(self, spec: NotebookSpec | None) -> float:
        if spec is not None and spec.timeout_seconds:
            return spec.timeout_seconds
        return self.settings.task_timeout_seconds

    def _execute(self, task: dict[str, Any], timings: dict[str, float]) -> Outcome:
        task_id = task["_id"]
        try:
            spec = self.catalog.find(task["notebook"])
        except NotFound as exc:
            return Outcome(
                TaskStatus.failed, failure("error", "NotFound", exc.message), [], timings
            )
        product = self.products.get(task["product_id"])  # named on the title page
        # The inputs as this run sees them, before it reads any (reporting/result_cache.py).
        key = cache_key(spec.path, task["parameters"], product, self.versions) if product else None
        monitor = RunMonitor(
            self.tasks, task, self.settings.heartbeat_interval_seconds, self._timeout(spec)
        )
        km = PooledKernelManager.from_environment()  # the worker's pre-started kernel, if any
        monitor.kernel_pid = pooled_kernel_pid() if km else None
        with tempfile.TemporaryDirectory(prefix=f"task-{task_id}-") as tmp, monitor:
            try:
                run = execute(
                    spec,
                    task["parameters"],
                    Path(tmp) / "notebook.ipynb",
                    kernel_name=self.settings.kernel_name,
                    on_cell=monitor.on_cell,
                    km=km,
                )
            except (NotebookFailed, NotebookInterrupted) as stopped:
                return self._stopped(task, stopped.notebook, stopped, monitor, timings)
        if monitor.reason is not None:  # stopped before its kernel had started a cell
            return self._stopped(task, run.notebook, None, monitor, timings)
        started = time.perf_counter()
        html, pdf = export_report(
            run.notebook,
            {"metadata": {"name": spec.name, "path": str(spec.path.parent)}},
            meta=ReportMeta(product=product["name"] if product else None),
        )
        timings.update(
            execution=round(run.cell_seconds, 3),
            kernel_and_papermill=round(run.seconds - run.cell_seconds, 3),
            export=round(time.perf_counter() - started, 3),
        )
        saved = [
            _store_artifact(self.artifacts, task, "notebook", nbformat.writes(run.notebook).encode()),
            _store_artifact(self.artifacts, task, "html", html.encode()),
            _store_artifact(self.artifacts, task, "pdf", pdf),
        ]  # fmt: skip
        return Outcome(TaskStatus.success, None, saved, timings, {"cache_key": key})

    def _stopped(
        self,
        task: dict[str, Any],
        notebook: nbformat.NotebookNode | None,
        stopped: NotebookFailed | NotebookInterrupted | None,
        monitor: RunMonitor,
        timings: dict[str, float],
    ) -> Outcome:
        saved = []
        if notebook is not None:
            data = nbformat.writes(notebook).encode()
            saved.append(_store_artifact(self.artifacts, task, "notebook", data))
        if monitor.reason is StopReason.cancelled:
            error = failure("cancelled", "Cancelled", "cancelled while running")
            return Outcome(TaskStatus.cancelled, error, saved, timings)
        if monitor.reason is StopReason.timeout:
            error = failure("timeout", "TaskTimeout", f"ran longer than {monitor.timeout:g} s")
            return Outcome(TaskStatus.failed, error, saved, timings)
        if isinstance(stopped, NotebookFailed):
            return Outcome(TaskStatus.failed, {"reason": "error", **stopped.error}, saved, timings)
        assert isinstance(stopped, NotebookInterrupted)
        error = failure("kernel_died", type(stopped.cause).__name__, str(stopped.cause))
        return Outcome(TaskStatus.failed, error, saved, timings)

    def _record(self, task: dict[str, Any], outcome: Outcome) -> dict[str, Any] | None:
        """Record the outcome, retrying while the store is unreachable."""
        deadline = time.monotonic() + RECORD_RETRY_SECONDS
        delay = 0.5
        while True:
            try:
                ended = end_attempt(self.tasks, task, outcome)
                log.info("task %s: %s", task["_id"], ended["status"] if ended else "already closed")
                on_run_ended(self.settings, ended)  # Sentry + Slack if it failed; never raises
                chunk_ended(self.settings, ended)  # a snapshot's last chunk: aggregate next
                return ended
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise
                log.warning("task %s: outcome not recorded yet (%s), retrying in %.1fs",
                            task["_id"], exc, delay)  # fmt: skip
                time.sleep(delay)
                delay = min(delay * 2, 10)


def run_task(task_id: str) -> str:
    """RQ entry point (enqueued by name as `scheduler.jobs.run_task`)."""
    run = TaskRun(load_settings())
    try:
        return run.run(task_id)
    finally:
        run.store.close()
