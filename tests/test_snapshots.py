"""The snapshot pipeline's steps and hand-offs on the real store and a real Redis (the whole
chain through the API, with workers and the PDF, is in test_end_to_end.py)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from reporting.research import ResearchRepository
from reporting.sample_data import SAMPLE_BRANDS, sample_research, seed_sample_data
from reporting.snapshots import (
    AGGREGATE,
    START,
    SnapshotRepository,
    SnapshotStatus,
    launch,
    new_snapshot,
    step,
    tick_snapshots,
)
from reporting.store import open_store
from reporting.tasks import TaskStatus, utcnow
from scheduler.snapshot_jobs import CHUNK_NOTEBOOK, SnapshotRun, advance_snapshots
from tests.conftest import make_product

WEEK = (dt.date(2026, 8, 10), dt.date(2026, 8, 16))


@pytest.fixture
def run(settings):
    run = SnapshotRun(settings)
    run.snapshots.ensure_indexes()
    seed_sample_data(run.store.db)
    yield run
    run.close()


@pytest.fixture
def product(settings, run) -> dict:
    product = make_product(settings)
    # The sample data is stored under the sample product's slug; this product reads it too.
    product = run.products.update(product["_id"], {"slug": "home-espresso"})
    ResearchRepository(run.store.db).save(product["_id"], sample_research(), "test")
    return product


def _running(run: SnapshotRun, product: dict, period=WEEK) -> dict:
    snapshot = run.snapshots.insert(new_snapshot(product, *period, "tester"))
    assert launch(run.snapshots, run.queue, snapshot["_id"])
    return run.snapshots.get(snapshot["_id"])


def _jobs(run: SnapshotRun) -> list:
    return [job for queue in run.queue.in_order for job in queue.get_jobs()]


def _end_chunks(run: SnapshotRun, snapshot: dict, statuses: list[TaskStatus]) -> None:
    ids = run.snapshots.get(snapshot["_id"])["chunk_task_ids"]
    for task_id, status in zip(ids, statuses, strict=False):
        error = (
            None
            if status is TaskStatus.success
            else {"reason": "error", "ename": "ValueError", "evalue": "bad data", "cell_index": 3}
        )
        run.tasks.collection.update_one({"_id": task_id}, {"$set": {
            "status": status.value, "error": error, "finished_at": utcnow()}})  # fmt: skip


def test_launch_claims_a_snapshot_once_and_queues_its_start_job(run, product):
    snapshot = run.snapshots.insert(new_snapshot(product, *WEEK, "tester"))
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        launch(SnapshotRepository(open_store(run.settings).db), run.queue, snapshot["_id"])))
        for _ in range(4)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    jobs = _jobs(run)
    assert [(j.func_name, j.args, j.id) for j in jobs] == [
        (START, (snapshot["_id"],), f"snapshot-{snapshot['_id']}-start")
    ]
    assert run.snapshots.get(snapshot["_id"])["status"] == "running"


def test_tick_launches_only_due_snapshots(run, product):
    due = run.snapshots.insert(new_snapshot(product, *WEEK, "t"))
    later = run.snapshots.insert(
        new_snapshot(product, *WEEK, "t", run_at=utcnow() + dt.timedelta(days=7))
    )
    assert tick_snapshots(run.snapshots, run.queue) == 1
    assert run.snapshots.get(due["_id"])["status"] == "running"
    assert run.snapshots.get(later["_id"])["status"] == "scheduled"
    assert tick_snapshots(run.snapshots, run.queue) == 0


def test_start_records_prompts_and_scrape_then_queues_one_chunk_task_per_brand(run, product):
    snapshot = _running(run, product)
    assert run.start(snapshot["_id"]) == "running"
    snapshot = run.snapshots.get(snapshot["_id"])
    prompts, scrape, chunks = (step(snapshot, n) for n in ("prompts", "scrape", "chunks"))
    assert prompts["status"] == "succeeded" and prompts["detail"]["research_version"] == 1
    assert prompts["detail"]["queries"] == sample_research().queries
    assert scrape["status"] == "succeeded" and scrape["detail"]["reddit_posts"] > 100
    assert chunks["status"] == "running" and step(snapshot, "aggregate")["status"] == "waiting"
    tasks = [run.tasks.get(t) for t in snapshot["chunk_task_ids"]]
    assert [t["parameters"]["brand"] for t in tasks] == SAMPLE_BRANDS
    for task in tasks:
        assert task["notebook"] == CHUNK_NOTEBOOK and task["snapshot_id"] == snapshot["_id"]
        assert task["status"] == "queued" and task["product_id"] == product["_id"]
        assert (task["parameters"]["start"], task["parameters"]["end"]) == (
            "2026-08-10",
            "2026-08-16",
        )
        assert task["parameters"]["aliases"] == {"Moka Nova": ["MokaNova", "Moka-Nova"]}
    assert {j.args[0] for j in _jobs(run) if j.func_name.endswith("run_task")} == {
        t["_id"] for t in tasks
    }


def test_aggregate_is_queued_exactly_once_when_the_last_chunk_ends(run, product):
    snapshot = _running(run, product)
    run.start(snapshot["_id"])
    _end_chunks(run, snapshot, [TaskStatus.success] * 4)
    assert run.advance(snapshot["_id"]) is None  # one chunk still queued
    _end_chunks(run, snapshot, [TaskStatus.success] * 5)
    results = []
    threads = [threading.Thread(target=lambda: results.append(run.advance(snapshot["_id"])))
               for _ in range(3)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, results)) == ["None", "None", "aggregating"]
    assert [j.id for j in _jobs(run) if j.func_name == AGGREGATE] == [
        f"snapshot-{snapshot['_id']}-agg"
    ]
    assert step(run.snapshots.get(snapshot["_id"]), "chunks")["status"] == "succeeded"


def test_a_failed_chunk_fails_the_snapshot_with_its_error_and_the_next_week_is_scheduled(
    run, product
):
    snapshot = _running(run, product)
    run.start(snapshot["_id"])
    _end_chunks(run, snapshot, [TaskStatus.success, TaskStatus.failed] + [TaskStatus.success] * 3)
    assert advance_snapshots(run) == 1  # the scheduler's safety net finds it
    failed = run.snapshots.get(snapshot["_id"])
    assert failed["status"] == "failed" and failed["error"]["step"] == "chunks"
    (chunk,) = step(failed, "chunks")["error"]["chunks"]
    assert chunk["brand"] == SAMPLE_BRANDS[1] and chunk["error"]["evalue"] == "bad data"
    nxt = run.snapshots.get(failed["next_snapshot_id"])
    assert nxt["status"] == "scheduled" and nxt["previous_snapshot_id"] == failed["_id"]
    assert (nxt["start"], nxt["end"]) == ("2026-08-17", "2026-08-23")
    assert nxt["run_at"] == failed["finished_at"] + dt.timedelta(days=7)
    assert failed["next_run_at"] == nxt["run_at"]


def test_no_research_fails_at_prompts_saying_what_to_do(run, settings):
    product = make_product(settings, name="Bare")
    snapshot = _running(run, product)
    assert run.start(snapshot["_id"]) == "failed"
    failed = run.snapshots.get(snapshot["_id"])
    assert step(failed, "prompts")["status"] == "failed"
    assert failed["error"]["reason"] == "no_research" and "/research" in failed["error"]["message"]
    assert step(failed, "chunks")["status"] == "waiting" and failed["chunk_task_ids"] == []


def test_no_data_for_the_period_fails_at_scrape_naming_the_import(run, product):
    snapshot = _running(run, product, (dt.date(2025, 1, 1), dt.date(2025, 1, 7)))
    assert run.start(snapshot["_id"]) == "failed"
    failed = run.snapshots.get(snapshot["_id"])
    assert step(failed, "prompts")["status"] == "succeeded"
    scrape = step(failed, "scrape")
    assert scrape["status"] == "failed" and scrape["error"]["reason"] == "no_data"
    assert f"/v1/products/{product['_id']}/raw/reddit" in scrape["error"]["message"]
    assert run.snapshots.get(failed["next_snapshot_id"])["status"] == "scheduled"


def test_an_aggregate_run_twice_at_once_ends_the_snapshot_once_with_one_successor(run, product):
    """Two aggregate jobs for one snapshot (a redelivery while the first still runs): each
    stores a successor before ending it, and the one that loses the move removes its own."""
    snapshot = _running(run, product)
    run.start(snapshot["_id"])
    _end_chunks(run, snapshot, [TaskStatus.success] * 5)
    assert run.advance(snapshot["_id"]) == "aggregating"
    threads = [threading.Thread(target=run.aggregate, args=(snapshot["_id"],)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ended = run.snapshots.get(snapshot["_id"])
    assert ended["status"] in ("succeeded", "failed")
    others = [s for s in run.snapshots.recent(None, product["_id"]) if s["_id"] != ended["_id"]]
    assert [s["_id"] for s in others] == [ended["next_snapshot_id"]]
    assert others[0]["run_at"] == ended["finished_at"] + dt.timedelta(days=7)


def test_a_cancelled_snapshot_schedules_nothing(run, product):
    snapshot = run.snapshots.insert(new_snapshot(product, *WEEK, "t"))
    assert run.snapshots.move(snapshot["_id"], SnapshotStatus.scheduled, SnapshotStatus.cancelled)
    assert tick_snapshots(run.snapshots, run.queue) == 0
    assert len(run.snapshots.recent(None, product["_id"])) == 1
    assert _jobs(run) == []


def test_an_aggregate_job_redis_lost_is_queued_again(run, product):
    snapshot = _running(run, product)
    run.start(snapshot["_id"])
    _end_chunks(run, snapshot, [TaskStatus.success] * 5)
    assert run.advance(snapshot["_id"]) == "aggregating"
    assert advance_snapshots(run) == 0  # its job is on the queue
    run.queue.redis.flushdb()  # Redis restarted empty
    run.snapshots.set(snapshot["_id"], aggregating_since=utcnow() - dt.timedelta(minutes=5))
    assert advance_snapshots(run) == 1
    assert [j.func_name for j in _jobs(run)] == [AGGREGATE]


def test_a_start_job_that_is_gone_fails_the_snapshot_and_the_next_week_is_scheduled(run, product):
    snapshot = _running(run, product)
    assert advance_snapshots(run) == 0  # its start job is on the queue
    run.snapshots.set(snapshot["_id"], started_at=utcnow() - dt.timedelta(minutes=5))
    assert advance_snapshots(run) == 0  # still on the queue: a long scrape is not lost
    run.queue.redis.flushdb()  # the job is gone, with none of its chunks made
    assert advance_snapshots(run) == 1
    failed = run.snapshots.get(snapshot["_id"])
    assert failed["status"] == "failed" and failed["error"]["reason"] == "lost"
    assert step(failed, failed["error"]["step"])["status"] == "failed"
    following = run.snapshots.get(failed["next_snapshot_id"])
    assert following["status"] == "scheduled" and following["start"] == "2026-08-17"
    assert advance_snapshots(run) == 0  # failed once
