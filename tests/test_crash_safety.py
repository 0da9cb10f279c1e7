"""Nothing stuck, nothing lost, nothing run twice: real worker and scheduler processes, a
real redis-server that gets shut down, a worker killed with SIGKILL, a store that vanishes."""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from reporting.processes import start_redis, stop
from reporting.queue import TaskQueue, enqueue_now
from reporting.settings import load_settings
from reporting.store import open_store
from reporting.tasks import TaskRepository, TaskStatus, new_task, utcnow
from scheduler.jobs import TaskRun
from scheduler.monitor import kill_tree
from service.main import create_app
from tests.conftest import MASTER_KEY, TEST_MONGODB_URI, queued_job_ids

ROOT = Path(__file__).resolve().parent.parent
FAST = {
    "HEARTBEAT_INTERVAL_SECONDS": "0.5",
    "HEARTBEAT_TIMEOUT_SECONDS": "3",
    "SCHEDULER_INTERVAL_SECONDS": "1",
    "LOST_JOB_GRACE_SECONDS": "1",
}


@pytest.fixture
def fast(settings, monkeypatch):
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.fixture
def spawn(tmp_path):
    """Start `python -m <module>` with the test's environment; stop them all at the end."""
    started: list[subprocess.Popen] = []

    def start(module: str) -> subprocess.Popen:
        log = open(tmp_path / f"{module}-{len(started)}.log", "w")
        process = subprocess.Popen(
            [sys.executable, "-m", module], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process, timeout=5)


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _tasks(settings) -> TaskRepository:
    tasks = TaskRepository(open_store(settings).db)
    tasks.ensure_indexes()
    return tasks


def test_worker_killed_mid_run_is_detected_and_its_task_retried(fast, spawn, tmp_path):
    tasks, queue = _tasks(fast), TaskQueue(fast)
    pid_file = tmp_path / "kernel.pid"
    task = tasks.insert(new_task("slow", {"seconds": 120, "pid_file": str(pid_file)}, "k",
                                 retry={"max_attempts": 2, "backoff_seconds": 0}))  # fmt: skip
    enqueue_now(tasks, queue, task["_id"])
    worker = spawn("scheduler.worker")
    wait_for(pid_file.exists, what="the kernel")
    first_worker = tasks.get(task["_id"])["worker_id"]
    kill_tree(worker.pid)  # SIGKILL the worker, its job process and their kernel
    killed_at = time.monotonic()

    spawn("scheduler")
    retried = wait_for(lambda: (t := tasks.get(task["_id"]))["attempts"] and t, what="the reaper")
    detected = time.monotonic() - killed_at
    # Bound: HEARTBEAT_TIMEOUT_SECONDS (3) + one maintenance round (1.5) + process start-up.
    assert detected < 3 + 1.5 + 10
    attempt = retried["attempts"][0]
    assert attempt["status"] == "failed" and attempt["error"]["reason"] == "abandoned"
    assert attempt["worker_id"] == first_worker
    wait_for(lambda: f"task-{task['_id']}-2" in queued_job_ids(fast), what="the retry's job")

    pid_file.unlink()
    spawn("scheduler.worker")  # a new worker takes attempt 2; cancel it once it runs
    wait_for(pid_file.exists, what="the second kernel")
    second = tasks.get(task["_id"])
    assert second["attempt"] == 2 and second["worker_id"] != first_worker
    tasks.request_cancel(task["_id"])
    wait_for(lambda: tasks.get(task["_id"])["status"] == "cancelled", what="the cancel")


def test_without_retries_an_abandoned_run_ends_failed_not_running_forever(fast, spawn, tmp_path):
    tasks, queue = _tasks(fast), TaskQueue(fast)
    pid_file = tmp_path / "kernel.pid"
    task = tasks.insert(new_task("slow", {"seconds": 120, "pid_file": str(pid_file)}, "k"))
    enqueue_now(tasks, queue, task["_id"])
    worker = spawn("scheduler.worker")
    wait_for(pid_file.exists, what="the kernel")
    kill_tree(worker.pid)
    spawn("scheduler")
    ended = wait_for(lambda: (t := tasks.get(task["_id"]))["status"] != "running" and t, 30)
    assert ended["status"] == "failed" and ended["error"]["reason"] == "abandoned"
    assert "no heartbeat" in ended["error"]["evalue"]


def test_redis_restarted_empty_loses_no_task(fast, spawn, tmp_path, monkeypatch):
    # A private redis-server for this test, shut down without saving and started again.
    redis_dir = tmp_path / "redis"
    process, url = start_redis(redis_dir)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    monkeypatch.setenv("REDIS_URL", url)
    settings = load_settings()
    try:
        tasks, queue = _tasks(settings), TaskQueue(settings)
        ids = [tasks.insert(new_task("broken", {"divisor": 2}, "k"))["_id"] for _ in range(4)]
        for task_id in ids:
            enqueue_now(tasks, queue, task_id)
        assert len(queued_job_ids(settings)) == 4
        try:
            Redis.from_url(url).shutdown(nosave=True)
        except Exception:
            pass  # the server closes the connection as it goes
        process.wait(10)
        process, _ = start_redis(redis_dir, port)
        assert queued_job_ids(settings) == []  # Redis lost every job; the store still says queued
        assert {tasks.get(i)["status"] for i in ids} == {"queued"}

        spawn("scheduler")
        wait_for(lambda: len(queued_job_ids(settings)) == 4, 30, "re-enqueued jobs")
        spawn("scheduler.worker")
        wait_for(lambda: {tasks.get(i)["status"] for i in ids} == {"success"}, 90, "the runs")
    finally:
        stop(process)


def test_two_schedulers_racing_over_200_due_tasks_enqueue_each_exactly_once(fast, spawn):
    tasks = _tasks(fast)
    tasks.collection.insert_many([new_task("broken", {"n": i}, "k") for i in range(200)])
    spawn("scheduler")
    spawn("scheduler")
    wait_for(lambda: not tasks.due_ids(utcnow(), 1), 60, "the schedulers")
    time.sleep(1)  # a double claim would show up as a second job for some task
    jobs = queued_job_ids(fast)
    assert len(jobs) == 200 and len(set(jobs)) == 200
    assert tasks.page(status=TaskStatus.queued)[1] == 200


embedded_only = pytest.mark.skipif(
    bool(TEST_MONGODB_URI),
    reason="simulates the embedded store's file vanishing; on MongoDB, pymongo errors map to 503",
)


def _vanish(settings) -> list[str]:
    """Make the embedded store's database file disappear, as an unmounted disk would."""
    db_file = settings.embedded_db_dir / f"{settings.mongodb_database}.sqlite"
    aside = settings.data_dir / "aside"
    aside.mkdir()
    moved = glob.glob(f"{db_file}*")
    for path in moved:
        shutil.move(path, aside)
    db_file.mkdir()
    return moved


def _restore(settings, moved: list[str]) -> None:
    db_file = settings.embedded_db_dir / f"{settings.mongodb_database}.sqlite"
    db_file.rmdir()
    for path in moved:
        shutil.move(settings.data_dir / "aside" / Path(path).name, path)
    (settings.data_dir / "aside").rmdir()


@embedded_only
def test_store_unreachable_gives_503_then_recovers(settings):
    with TestClient(create_app(settings)) as client:
        key = client.post("/v1/admin/api-keys", headers={"X-Master-Key": MASTER_KEY},
                          json={"name": "t"}).json()["key"]  # fmt: skip
        auth = {"Authorization": f"Bearer {key}"}
        moved = _vanish(settings)
        try:
            response = client.get("/v1/tasks", headers=auth)
            assert response.status_code == 503
            assert "store is unavailable" in response.json()["detail"]
            health = client.get("/healthcheck")
            assert health.status_code == 503 and health.json()["checks"]["store"].startswith(
                "error"
            )
            assert health.json()["checks"]["queue"] == "ok"
        finally:
            _restore(settings, moved)
        assert client.get("/v1/tasks", headers=auth).status_code == 200


@embedded_only
def test_worker_keeps_retrying_to_record_a_finished_run(settings):
    run = TaskRun(settings)
    task = run.tasks.insert(new_task("broken", {"divisor": 3}, "k"))
    run.tasks.queue(task["_id"])
    result: list = []
    original = run.artifacts.put
    vanished: list = []

    def put_then_vanish(task_id, name, data):
        original(task_id, name, data)
        if name == "report.pdf":  # the run is done; the store goes away before it is recorded
            vanished.extend(_vanish(settings))

    run.artifacts.put = put_then_vanish  # type: ignore[method-assign]
    thread = threading.Thread(target=lambda: result.append(run.run(task["_id"])))
    thread.start()
    wait_for(lambda: vanished, 60, "the run to finish")
    time.sleep(2)  # the worker is now failing to record, and retrying
    assert thread.is_alive() and not result
    _restore(settings, vanished)
    thread.join(30)
    assert result == ["success"]
    assert run.tasks.get(task["_id"])["status"] == "success"
