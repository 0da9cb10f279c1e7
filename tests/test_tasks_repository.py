import datetime as dt
import multiprocessing

from reporting.store import open_store
from reporting.tasks import TaskRepository, TaskStatus, utcnow


def _repo(settings) -> TaskRepository:
    repo = TaskRepository(open_store(settings).db)
    repo.ensure_indexes()
    return repo


def test_create_get_and_list_newest_first_with_filters(settings):
    repo = _repo(settings)
    ids = [repo.create("reddit_report", {"n": i}, "key1")["_id"] for i in range(5)]
    repo.create("broken", {}, "key1")
    assert repo.get(ids[0])["parameters"] == {"n": 0}
    assert repo.get("nope") is None

    page, total = repo.list(notebook="reddit_report", limit=2, offset=1)
    assert total == 5
    assert [t["_id"] for t in page] == [ids[3], ids[2]]
    assert repo.list(status=TaskStatus.pending)[1] == 6
    assert repo.list(status=TaskStatus.running)[1] == 0


def test_lifecycle_transitions_are_guarded(settings):
    repo = _repo(settings)
    task = repo.create("broken", {}, "key1")
    assert repo.start(task["_id"], "w1") is None  # not queued yet
    assert repo.queue(task["_id"])["status"] == "queued"
    assert repo.queue(task["_id"]) is None  # already queued
    running = repo.start(task["_id"], "w1")
    assert running["status"] == "running" and running["worker_id"] == "w1"
    assert repo.start(task["_id"], "w2") is None  # a second worker cannot claim it
    done = repo.finish(task["_id"], TaskStatus.success, [], {"execution": 1.0})
    assert done["status"] == "success" and done["finished_at"] >= done["started_at"]
    assert repo.finish(task["_id"], TaskStatus.failed, [], {}) is None


def test_claim_due_takes_earliest_due_only(settings):
    repo = _repo(settings)
    now = utcnow()
    later = repo.create("broken", {}, "k", run_at=now + dt.timedelta(hours=1))
    second = repo.create("broken", {}, "k", run_at=now - dt.timedelta(minutes=1))
    first = repo.create("broken", {}, "k", run_at=now - dt.timedelta(minutes=5))
    assert repo.claim_due(now)["_id"] == first["_id"]
    assert repo.claim_due(now)["_id"] == second["_id"]
    assert repo.claim_due(now) is None
    assert repo.get(later["_id"])["status"] == "pending"


def _claim_all(settings, results) -> None:
    repo = TaskRepository(open_store(settings).db)
    claimed = []
    while (task := repo.claim_due(utcnow())) is not None:
        claimed.append(task["_id"])
    results.put(claimed)


def test_concurrent_claims_across_processes_never_double_claim(settings):
    repo = _repo(settings)
    ids = {repo.create("broken", {}, "k")["_id"] for _ in range(40)}
    results = multiprocessing.get_context("fork").Queue()
    workers = [
        multiprocessing.get_context("fork").Process(target=_claim_all, args=(settings, results))
        for _ in range(3)
    ]
    for w in workers:
        w.start()
    claimed = [i for _ in workers for i in results.get(timeout=60)]
    for w in workers:
        w.join(10)
    assert sorted(claimed) == sorted(ids)  # every task exactly once
