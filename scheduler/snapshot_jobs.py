"""The snapshot pipeline's jobs: start (prompts, scrape, chunk tasks) and aggregate.

    API / scheduler tick -- scheduled -> running --> start_snapshot (RQ job)
        prompts -> scrape -> one `snapshot_brand` notebook task per brand (run in parallel)
    the last chunk task to end (worker, or the reaper) -- running -> aggregating --> aggregate
        every chunk notebook + what changed since the previous snapshot -> one PDF
    succeeded or failed -> the next snapshot is scheduled 7 days later

Every step records its status, times, detail and error on the snapshot. A failed step fails
the snapshot with that step's error; the next one is scheduled all the same. The scheduler's
maintenance round re-checks running snapshots, so a crash between "last chunk ended" and
"aggregate queued" only delays the aggregate.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import nbformat

from reporting.artifacts import ArtifactStore, open_artifacts
from reporting.errors import ReportbookError
from reporting.notebooks import NotebookCatalog
from reporting.products import ProductRepository
from reporting.queue import TaskQueue, enqueue_now
from reporting.reddit import RedditRepository
from reporting.research import ResearchRepository
from reporting.settings import Settings, load_settings
from reporting.snapshot_document import snapshot_pdf
from reporting.snapshot_metrics import measure
from reporting.snapshots import (
    AGGREGATE,
    RECUR_AFTER,
    SnapshotRepository,
    SnapshotStatus,
    StepStatus,
    following_week,
    new_snapshot,
    start_job_id,
    step,
)
from reporting.sov_scrapes import SovScrapeRepository
from reporting.store import open_store
from reporting.tasks import FINAL, TaskRepository, TaskStatus, new_task, utcnow

log = logging.getLogger(__name__)

CHUNK_NOTEBOOK = "snapshot_brand"
CHUNK_RETRY = {"max_attempts": 2, "backoff_seconds": 30.0}
TERMINAL = {s.value for s in FINAL}  # a chunk task in one of these has ended


class StepError(ReportbookError):
    """A pipeline step failed; `error` is what the snapshot records."""

    def __init__(self, step: str, reason: str, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.step = step
        self.error = {"reason": reason, "message": message, **detail}


class SnapshotRun:
    """Everything the pipeline needs, built from the settings at the edge of a job."""

    def __init__(self, settings: Settings, queue: TaskQueue | None = None) -> None:
        self.settings = settings
        self.store = open_store(settings)
        db = self.store.db
        self.snapshots = SnapshotRepository(db)
        self.tasks = TaskRepository(db)
        self.products = ProductRepository(db)
        self.research = ResearchRepository(db)
        self.reddit = RedditRepository(db)
        self.sov_scrapes = SovScrapeRepository(db)
        self.artifacts: ArtifactStore = open_artifacts(settings, self.store)
        self.catalog = NotebookCatalog(settings.notebooks_dir)
        self.queue = queue or TaskQueue(settings)

    def close(self) -> None:
        self.store.close()

    # -- start: prompts, scrape, chunks ----------------------------------------------------

    def start(self, snapshot_id: str) -> str:
        snapshot = self.snapshots.get(snapshot_id)
        if snapshot is None or snapshot["status"] != SnapshotStatus.running.value:
            log.warning("snapshot %s is not running, start skipped", snapshot_id)
            return snapshot["status"] if snapshot else "missing"
        try:
            snapshot, research = self._prompts(snapshot)
            snapshot = self._scrape(snapshot, research)
            self._chunks(snapshot, research)
        except StepError as exc:
            return self._fail(snapshot_id, exc.step, exc.error)
        except Exception as exc:  # a bug or an outage: recorded on the step it stopped
            log.exception("snapshot %s: internal error", snapshot_id)
            current = self.snapshots.get(snapshot_id) or snapshot
            name = next((s["name"] for s in current["steps"] if s["status"] == "running"),
                        "prompts")  # fmt: skip
            return self._fail(snapshot_id, name, {"reason": "internal",
                              "message": f"{type(exc).__name__}: {exc}"})  # fmt: skip
        self.advance(snapshot_id)  # every chunk may already have ended
        return SnapshotStatus.running.value

    def _prompts(self, snapshot: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        snapshot = self.snapshots.set_step(snapshot, "prompts", StepStatus.running)
        research = self.research.latest(snapshot["product_id"])
        if research is None:
            raise StepError("prompts", "no_research",
                            "the product has no research yet: PUT /v1/products/"
                            f"{snapshot['product_id']}/research first")  # fmt: skip
        queries = list(research["queries"]) or list(research["brands"])
        detail = {"research_version": research["version"], "brands": research["brands"],
                  "queries": queries}  # fmt: skip
        snapshot = self.snapshots.set_step(snapshot, "prompts", StepStatus.succeeded, detail)
        updated = self.snapshots.set(snapshot["_id"], research_version=research["version"])
        assert updated is not None
        return updated, research

    def _scrape(self, snapshot: dict[str, Any], research: dict[str, Any]) -> dict[str, Any]:
        snapshot = self.snapshots.set_step(snapshot, "scrape", StepStatus.running)
        detail: dict[str, Any] = {}
        if self.settings.n8n_sov_webhook_path:
            detail = self._scrape_with_n8n(snapshot, research)
        posts = self.reddit.count_posts_between(
            snapshot["product_slug"], snapshot["start"], snapshot["end"]
        )
        comments = self.reddit.count_comments_between(
            snapshot["product_slug"], snapshot["start"], snapshot["end"]
        )
        detail |= {"reddit_posts": posts, "reddit_comments": comments}
        if posts + comments == 0:
            raise StepError("scrape", "no_data",
                            f"no Reddit data for {snapshot['product_slug']!r} from "
                            f"{snapshot['start']} to {snapshot['end']}: import some with "
                            f"POST /v1/products/{snapshot['product_id']}/raw/reddit",
                            **detail)  # fmt: skip
        return self.snapshots.set_step(snapshot, "scrape", StepStatus.succeeded, detail)

    def _scrape_with_n8n(self, snapshot: dict[str, Any], research: dict[str, Any]) -> dict:
        """Trigger the share-of-voice workflow and wait for it; it posts its rows back to the
        inbound endpoint under this snapshot's id."""
        from reporting.n8n import N8nClient, StepFailed  # only where n8n is configured

        s = self.settings
        client = N8nClient(s.n8n_base_url, s.n8n_api_key_value())
        payload = {"product_id": snapshot["product_id"], "run_id": snapshot["_id"],
                   "brands": research["brands"],
                   "queries": step(snapshot, "prompts")["detail"]["queries"],
                   "start": snapshot["start"], "end": snapshot["end"]}  # fmt: skip
        try:
            execution_id = client.trigger(s.n8n_sov_webhook_path or "", payload)
            execution = client.wait(execution_id, s.n8n_poll_timeout_seconds)
        except StepFailed as exc:
            raise StepError("scrape", exc.reason, str(exc), source="n8n") from exc
        rows = self.sov_scrapes.count(snapshot["product_id"], snapshot["_id"])
        return {"source": "n8n", "execution_id": execution_id, "sov_rows": rows,
                "n8n_status": execution.status}  # fmt: skip

    def _chunks(self, snapshot: dict[str, Any], research: dict[str, Any]) -> None:
        snapshot = self.snapshots.set_step(snapshot, "chunks", StepStatus.running)
        spec = self.catalog.get(CHUNK_NOTEBOOK)
        created = []
        for brand in research["brands"]:
            parameters = spec.validate({
                "brand": brand, "brands": research["brands"],  # product: the task's own
                "aliases": research.get("aliases") or {},
                "stages": research.get("journey_stages") or {},
                "start": snapshot["start"], "end": snapshot["end"],
            })  # fmt: skip
            task = new_task(spec.name, parameters, snapshot["created_by"],
                            product_id=snapshot["product_id"], folder_id=snapshot["folder_id"],
                            retry=CHUNK_RETRY)  # fmt: skip
            task["snapshot_id"] = snapshot["_id"]
            created.append(self.tasks.insert(task))
        ids = [t["_id"] for t in created]
        self.snapshots.set(snapshot["_id"], chunk_task_ids=ids)
        self.snapshots.set_step(snapshot, "chunks", StepStatus.running,
                                {"tasks": [{"brand": b, "task_id": t} for b, t in
                                           zip(research["brands"], ids, strict=True)]})  # fmt: skip
        for task_id in ids:  # a refused enqueue leaves the task pending for the scheduler
            enqueue_now(self.tasks, self.queue, task_id)

    # -- chunks ended: aggregate or fail ---------------------------------------------------

    def advance(self, snapshot_id: str) -> str | None:
        """Called when a chunk task ended: once every chunk has, move on (exactly once)."""
        snapshot = self.snapshots.get(snapshot_id)
        if snapshot is None or snapshot["status"] != SnapshotStatus.running.value:
            return None
        if not snapshot["chunk_task_ids"]:
            return None  # the start job has not created them yet
        chunks = [self.tasks.get(t) for t in snapshot["chunk_task_ids"]]
        if any(c is None or c["status"] not in TERMINAL for c in chunks):
            return None
        failed = [c for c in chunks if c is not None and c["status"] != TaskStatus.success.value]
        if failed:
            errors = [{"task_id": c["_id"], "brand": c["parameters"].get("brand"),
                       "status": c["status"], "error": c["error"]} for c in failed]  # fmt: skip
            message = f"{len(failed)} of {len(chunks)} chunk tasks did not succeed"
            return self._fail(snapshot_id, "chunks",
                              {"reason": "chunk_failed", "message": message, "chunks": errors},
                              from_=SnapshotStatus.running)  # fmt: skip
        moved = self.snapshots.move(
            snapshot_id,
            SnapshotStatus.running,
            SnapshotStatus.aggregating,
            aggregating_since=utcnow(),
        )
        if moved is None:
            return None  # another chunk's worker moved it
        self.snapshots.set_step(moved, "chunks", StepStatus.succeeded)
        try:
            self.queue.enqueue_job(AGGREGATE, snapshot_id, job_id=aggregate_job_id(snapshot_id))
        except Exception as exc:  # the maintenance round will try again
            log.warning("snapshot %s: aggregate not queued yet: %s", snapshot_id, exc)
            self.snapshots.move(snapshot_id, SnapshotStatus.aggregating, SnapshotStatus.running)
            return None
        return SnapshotStatus.aggregating.value

    def aggregate(self, snapshot_id: str) -> str:
        snapshot = self.snapshots.get(snapshot_id)
        if snapshot is None or snapshot["status"] != SnapshotStatus.aggregating.value:
            return snapshot["status"] if snapshot else "missing"
        snapshot = self.snapshots.set_step(snapshot, "aggregate", StepStatus.running)
        try:
            detail = self._assemble(snapshot)
        except Exception as exc:
            log.exception("snapshot %s: aggregate failed", snapshot_id)
            return self._fail(snapshot_id, "aggregate", {"reason": "error",
                              "message": f"{type(exc).__name__}: {exc}"},
                              from_=SnapshotStatus.aggregating)  # fmt: skip
        snapshot = self.snapshots.get(snapshot_id) or snapshot
        self.snapshots.set_step(snapshot, "aggregate", StepStatus.succeeded, detail)
        self._end(snapshot_id, SnapshotStatus.aggregating, SnapshotStatus.succeeded)
        return SnapshotStatus.succeeded.value

    def _chunk_notebooks(self, snapshot: dict[str, Any]) -> list[nbformat.NotebookNode]:
        notebooks = []
        for task_id in snapshot["chunk_task_ids"]:
            task = self.tasks.get(task_id)
            assert task is not None
            data = self.artifacts.get(task_id, f"attempt-{task['attempt']}.ipynb")
            notebooks.append(nbformat.reads(data.decode(), as_version=4))
        return notebooks

    def _assemble(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        research = self.research.get(snapshot["product_id"], snapshot["research_version"])
        assert research is not None
        posts = self.reddit.load_posts(snapshot["product_slug"], snapshot["start"], snapshot["end"])
        comments = self.reddit.load_comments(
            snapshot["product_slug"], snapshot["start"], snapshot["end"]
        )
        scraped = self.sov_scrapes.load(snapshot["product_id"], snapshot["_id"])
        metrics = measure(posts, comments, research["brands"], research.get("aliases") or {},
                          scraped)  # fmt: skip
        previous = self.snapshots.previous_succeeded(snapshot)
        pdf, delta = snapshot_pdf(self._chunk_notebooks(snapshot), snapshot, metrics, previous)
        self.artifacts.put(snapshot["_id"], "snapshot.pdf", pdf)
        artifacts = [{"kind": "pdf", "name": "snapshot.pdf", "size": len(pdf)}]
        self.snapshots.set(snapshot["_id"], metrics=metrics, changes=delta, artifacts=artifacts,
                           compared_with=previous["_id"] if previous else None)  # fmt: skip
        return {"pdf_bytes": len(pdf), "compared_with": previous["_id"] if previous else None}

    # -- endings -----------------------------------------------------------------------------

    def _fail(
        self,
        snapshot_id: str,
        step_name: str,
        error: dict[str, Any],
        from_: SnapshotStatus = SnapshotStatus.running,
    ) -> str:
        snapshot = self.snapshots.get(snapshot_id)
        assert snapshot is not None
        self.snapshots.set_step(snapshot, step_name, StepStatus.failed, error=error)
        self._end(snapshot_id, from_, SnapshotStatus.failed, error={"step": step_name, **error})
        log.warning("snapshot %s failed at %s: %s", snapshot_id, step_name, error["message"])
        return SnapshotStatus.failed.value

    def _end(
        self, snapshot_id: str, from_: SnapshotStatus, to: SnapshotStatus, **changes: Any
    ) -> None:
        """from_ -> to (succeeded or failed), with the product's next weekly snapshot, 7 days
        after this one ended, named in the same update: whoever sees the snapshot ended also
        sees its successor. The successor is stored first and removed again if the snapshot
        was no longer `from_` (cancelled, or ended by another process)."""
        snapshot = self.snapshots.get(snapshot_id)
        assert snapshot is not None
        finished_at = utcnow()
        nxt = None
        product = self.products.get(snapshot["product_id"])
        if product is not None and snapshot.get("weekly", True):
            try:
                start, end = following_week(snapshot)
                nxt = self.snapshots.insert(new_snapshot(
                    product, start, end, snapshot["created_by"],
                    run_at=finished_at + RECUR_AFTER, previous_snapshot_id=snapshot_id,
                ))  # fmt: skip
            except (ValueError, OverflowError) as exc:  # no next week (the calendar's end)
                log.warning("snapshot %s: no next week scheduled: %s", snapshot_id, exc)
            else:
                changes.update(next_snapshot_id=nxt["_id"], next_run_at=nxt["run_at"])
        ended = self.snapshots.move(snapshot_id, from_, to, finished_at=finished_at, **changes)
        if ended is None and nxt is not None:
            self.snapshots.delete(nxt["_id"])


def advance_snapshots(run: SnapshotRun) -> int:
    """The maintenance safety net, one snapshot at a time (one that fails to move is logged and
    does not stop the others): move on every running snapshot whose chunks all ended; fail one
    whose start job is gone without having made its chunks (its worker died, Redis lost it, or
    it crashed), so that the next week is still scheduled; queue again an aggregate whose job
    Redis lost."""
    cutoff = utcnow() - dt.timedelta(seconds=run.settings.lost_job_grace_seconds)
    moved = 0
    for snapshot in run.snapshots.with_status(SnapshotStatus.running):
        try:
            if run.advance(snapshot["_id"]) is not None or _fail_if_start_lost(
                run, snapshot, cutoff
            ):
                moved += 1
        except Exception as exc:  # a step that raises ends failed, not running forever
            log.exception("snapshot %s: could not move it on", snapshot["_id"])
            try:
                run._fail(snapshot["_id"], "chunks", {"reason": "internal",
                          "message": f"{type(exc).__name__}: {exc}"})  # fmt: skip
            except Exception:  # the store is down too: the next round tries again
                log.exception("snapshot %s: its failure not recorded yet", snapshot["_id"])
    for snapshot in run.snapshots.with_status(SnapshotStatus.aggregating):
        job = aggregate_job_id(snapshot["_id"])
        try:
            if snapshot["aggregating_since"] < cutoff and not run.queue.holds_job(job):
                log.warning(
                    "snapshot %s: its aggregate job was lost, queued again", snapshot["_id"]
                )
                run.queue.enqueue_job(AGGREGATE, snapshot["_id"], job_id=job)
                moved += 1
        except Exception:
            log.exception("snapshot %s: could not queue its aggregate again", snapshot["_id"])
    return moved


def _fail_if_start_lost(run: SnapshotRun, snapshot: dict[str, Any], cutoff: dt.datetime) -> bool:
    if snapshot["chunk_task_ids"] or snapshot["started_at"] >= cutoff:
        return False
    if run.queue.holds_job(start_job_id(snapshot["_id"])):
        return False  # still waiting or running (a long scrape)
    current = run.snapshots.get(snapshot["_id"])  # read after the job check: it may just have
    if current is None or current["chunk_task_ids"]:  # made its chunks and ended
        return False
    step_name = next((s["name"] for s in current["steps"] if s["status"] == "running"), "prompts")
    message = "the snapshot's start job was lost (its worker died, Redis lost it, or it crashed)"
    return run._fail(snapshot["_id"], step_name, {"reason": "lost", "message": message}) == "failed"


def aggregate_job_id(snapshot_id: str) -> str:
    return f"snapshot-{snapshot_id}-agg"


def chunk_ended(settings: Settings, task: dict[str, Any] | None) -> None:
    """After a task's run was recorded: if it was a snapshot's last chunk, move the snapshot
    on. Never raises (the scheduler's maintenance round catches what this misses)."""
    if task is None or not task.get("snapshot_id") or task["status"] not in TERMINAL:
        return
    try:
        run = SnapshotRun(settings)
        try:
            run.advance(task["snapshot_id"])
        finally:
            run.close()
    except Exception:
        log.exception("snapshot %s: could not advance after task %s", task["snapshot_id"],
                      task["_id"])  # fmt: skip


def _job(method: str, snapshot_id: str) -> str:
    run = SnapshotRun(load_settings())
    try:
        result: str = getattr(run, method)(snapshot_id)
        return result
    finally:
        run.close()


def start_snapshot(snapshot_id: str) -> str:
    """RQ entry point (by name: START)."""
    return _job("start", snapshot_id)


def aggregate_snapshot(snapshot_id: str) -> str:
    """RQ entry point (by name: AGGREGATE)."""
    return _job("aggregate", snapshot_id)
