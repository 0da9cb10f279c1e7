import datetime as dt
import multiprocessing

from reporting.store import open_store
from reporting.tasks import TaskRepository, TaskStatus, new_task, utcnow


def _create(repo: TaskRepository, notebook: str, parameters: dict, run_at=None, **fields) -> dict:
    return repo.insert(new_task(notebook, parameters, "key1", run_at, **fields))


def _repo(settings) -> TaskRepository:
    repo = TaskRepository(open_store(settings).db)
    repo.ensure_indexes()
    return repo


def test_create_get_and_list_newest_first_with_filters(settings):
    repo = _repo(settings)
    ids = [_create(repo, "reddit_report", {"n": i})["_id"] for i in range(5)]
    _create(repo, "broken", {})
    assert repo.get(ids[0])["parameters"] == {"n": 0}
    assert repo.get("nope") is None

    page, total = repo.page(notebook="reddit_report", limit=2, offset=1)
    assert total == 5
    assert [t["_id"] for t in page] == [ids[3], ids[2]]
    assert repo.page(status=TaskStatus.pending)[1] == 6
    assert repo.page(status=TaskStatus.running)[1] == 0


def test_lifecycle_transitions_are_guarded(settings):
    repo = _repo(settings)
    task = _create(repo, "broken", {})
    assert repo.start(task["_id"], "w1") is None  # not queued yet
    assert repo.queue(task["_id"])["status"] == "queued"
    assert repo.queue(task["_id"]) is None  # already queued
    running = repo.start(task["_id"], "w1")
    assert running["status"] == "running" and running["worker_id"] == "w1"
    assert running["attempt"] == 1 and running["heartbeat_at"] == running["started_at"]
    assert repo.start(task["_id"], "w2") is None  # a second worker cannot claim it
    assert repo.heartbeat(task["_id"], 1, {"cell": 2, "of": 9})["progress"] == {"cell": 2, "of": 9}
    assert repo.heartbeat(task["_id"], 2, None) is None  # not the running attempt
    done = repo.end_attempt(task["_id"], 1, {"status": "success"}, {"number": 1})
    assert done["status"] == "success" and done["attempts"] == [{"number": 1}]
    assert repo.end_attempt(task["_id"], 1, {"status": "failed"}, {"number": 1}) is None
    assert repo.cancel_waiting(task["_id"]) is None and repo.request_cancel(task["_id"]) is None


def test_queue_with_due_by_claims_only_due_unpaused_tasks(settings):
    repo = _repo(settings)
    now = utcnow()
    later = _create(repo, "broken", {}, now + dt.timedelta(hours=1))
    paused = _create(repo, "broken", {}, now, paused=True)
    second = _create(repo, "broken", {}, now - dt.timedelta(minutes=1))
    first = _create(repo, "broken", {}, now - dt.timedelta(minutes=5))
    assert repo.due_ids(now, 10) == [first["_id"], second["_id"]]
    assert repo.queue(later["_id"], due_by=now) is None
    assert repo.queue(paused["_id"], due_by=now) is None
    assert repo.queue(first["_id"], due_by=now)["status"] == "queued"


def test_cancel_waiting_and_retry(settings):
    repo = _repo(settings)
    task = _create(repo, "broken", {})
    cancelled = repo.cancel_waiting(task["_id"])
    assert cancelled["status"] == "cancelled" and cancelled["error"]["reason"] == "cancelled"
    assert repo.retry(task["_id"], 1) is None  # only failed tasks are retried
    failed = _create(repo, "broken", {})
    repo.queue(failed["_id"])
    repo.start(failed["_id"], "w")
    repo.end_attempt(failed["_id"], 1, {"status": "failed"}, {"number": 1})
    again = repo.retry(failed["_id"], 2)
    assert again["status"] == "pending" and again["attempts_allowed"] == 3


def _claim_all(settings, results) -> None:
    repo = TaskRepository(open_store(settings).db)
    now = utcnow()
    results.put([i for i in repo.due_ids(now, 100) if repo.queue(i, due_by=now)])


def test_concurrent_claims_across_processes_never_double_claim(settings):
    repo = _repo(settings)
    ids = {_create(repo, "broken", {})["_id"] for _ in range(40)}
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_claim_all, args=(settings, results)) for _ in range(3)]
    for w in workers:
        w.start()
    claimed = [i for _ in workers for i in results.get(timeout=60)]
    for w in workers:
        w.join(10)
    assert sorted(claimed) == sorted(ids)  # every task exactly once
