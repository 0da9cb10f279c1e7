"""The RQ job that runs one task: claim, execute, export, store, record.

Its lifecycle writes the task's status at every transition; the executed notebook is stored
before the outcome is recorded, so a failed, cancelled or timed-out run still leaves its
partial notebook, and before the report is exported, so an export that fails (reason
`export`) or a run whose output is beyond the hard limit (reason `output_limit`) leaves it too.
The heartbeat goes on through the export, which runs in a child process with its own timeout
(EXPORT_TIMEOUT_SECONDS) on outputs bounded by reporting/output_limits.py. If the store is
down when the run ends, the job keeps trying to record the outcome instead of losing it.
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
from reporting.errors import InvalidInput, NotFound
from reporting.execution import NotebookFailed, NotebookInterrupted, execute, source_cell_index
from reporting.export import ReportMeta
from reporting.export_runner import ExportFailed, ExportStopped, export_in_child
from reporting.lifecycle import Outcome, end_attempt, failure
from reporting.notebooks import NotebookCatalog, NotebookSpec
from reporting.output_limits import OutputLimitExceeded, bound_outputs
from reporting.product_context import RESERVED_PARAMETER, NoProductData, context_for
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
POOLED_KERNEL = "python3"  # the kernel the worker's pool pre-starts (scheduler.kernel_pool)


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
        except InvalidInput as exc:  # broken since it was submitted: say what is wrong
            error = failure("error", "NotebookUnavailable", exc.errors[0]["msg"])
            return Outcome(TaskStatus.failed, error, [], timings)
        product = self.products.get(task["product_id"])  # named on the title page
        parameters = dict(task["parameters"])
        if spec.binds_product:  # the task's product, whatever the stored parameters say
            if product is None:
                error = failure("no_data", "NoProductData", f"product {task['product_id']!r} "
                                "no longer exists")  # fmt: skip
                return Outcome(TaskStatus.failed, error, [], timings)
            context = context_for(self.store.db, product)
            parameters[RESERVED_PARAMETER] = context.as_parameter()
        # The inputs as this run sees them, before it reads any (reporting/result_cache.py).
        key = cache_key(spec.path, task["parameters"], product, self.versions) if product else None
        monitor = RunMonitor(
            self.tasks, task, self.settings.heartbeat_interval_seconds, self._timeout(spec)
        )
        kernel = spec.kernel or self.settings.kernel_name  # the notebook's own kernelspec
        # The worker's pre-started python3 kernel, if any; another kernel starts as usual.
        km = PooledKernelManager.from_environment() if kernel == POOLED_KERNEL else None
        monitor.kernel_pid = pooled_kernel_pid() if km else None
        with tempfile.TemporaryDirectory(prefix=f"task-{task_id}-") as tmp, monitor:
            try:
                run = execute(
                    spec,
                    parameters,
                    Path(tmp) / "notebook.ipynb",
                    kernel_name=kernel,
                    on_cell=monitor.on_cell,
                    km=km,
                    max_output_bytes=self.settings.output_hard_limit_bytes,
                )
            except (NotebookFailed, NotebookInterrupted) as stopped:
                return self._stopped(task, stopped.notebook, stopped, monitor, timings)
            if monitor.reason is not None:  # stopped before its kernel had started a cell
                return self._stopped(task, run.notebook, None, monitor, timings)
            timings.update(
                execution=round(run.cell_seconds, 3),
                kernel_and_papermill=round(run.seconds - run.cell_seconds, 3),
            )
            meta = ReportMeta(product=product["name"] if product else None)
            outcome = self._report(task, spec, run.notebook, meta, monitor, Path(tmp), timings)
        if outcome.status is TaskStatus.success:
            outcome.recorded["cache_key"] = key
        return outcome

    def _report(
        self,
        task: dict[str, Any],
        spec: NotebookSpec,
        notebook: nbformat.NotebookNode,
        meta: ReportMeta,
        monitor: RunMonitor,
        folder: Path,
        timings: dict[str, float],
    ) -> Outcome:
        """Store the executed notebook, then export the report (the monitor still beating)."""
        saved = [
            _store_artifact(self.artifacts, task, "notebook", nbformat.writes(notebook).encode())
        ]
        monitor.kernel_pid = None  # the kernel is gone: its pid may be reused meanwhile
        monitor.deadline = float("inf")  # the export has its own timeout
        started = time.perf_counter()
        try:
            bound_outputs(notebook, self.settings.output_limits)
            html, pdf = export_in_child(
                notebook,
                {"metadata": {"name": spec.name, "path": str(spec.path.parent)}},
                meta,
                folder / "export",
                self.settings.export_timeout_seconds,
                should_stop=lambda: monitor.reason is not None,
            )
        except OutputLimitExceeded as exc:
            error = failure("output_limit", "OutputLimitExceeded", exc.message)
            return Outcome(TaskStatus.failed, error, saved, timings)
        except ExportFailed as exc:
            log.warning("task %s: export failed: %s", task["_id"], exc)
            return Outcome(
                TaskStatus.failed, failure("export", exc.ename, exc.evalue), saved, timings
            )
        except ExportStopped:
            error = failure("cancelled", "Cancelled", "cancelled while exporting")
            return Outcome(TaskStatus.cancelled, error, saved, timings)
        finally:
            timings["export"] = round(time.perf_counter() - started, 3)
        saved += [
            _store_artifact(self.artifacts, task, "html", html.encode()),
            _store_artifact(self.artifacts, task, "pdf", pdf),
        ]
        return Outcome(TaskStatus.success, None, saved, timings)

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
        # The analyst's number of the cell that was running when the kernel stopped.
        running = source_cell_index(notebook, (monitor.progress or {}).get("cell"))
        if monitor.reason is StopReason.cancelled:
            error = failure("cancelled", "Cancelled", "cancelled while running", cell_index=running)
            return Outcome(TaskStatus.cancelled, error, saved, timings)
        if monitor.reason is StopReason.timeout:
            error = failure("timeout", "TaskTimeout", f"ran longer than {monitor.timeout:g} s",
                            cell_index=running)  # fmt: skip
            return Outcome(TaskStatus.failed, error, saved, timings)
        if isinstance(stopped, NotebookFailed):
            reason = "no_data" if stopped.error["ename"] == NoProductData.__name__ else "error"
            return Outcome(TaskStatus.failed, {"reason": reason, **stopped.error}, saved, timings)
        assert isinstance(stopped, NotebookInterrupted)
        error = failure("kernel_died", type(stopped.cause).__name__, str(stopped.cause),
                        cell_index=running)  # fmt: skip
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
