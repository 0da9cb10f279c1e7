"""`reportbook run` supervises what it starts: real processes, killed with SIGKILL as the OOM
killer would, while reports run. The API keeps answering, the dead process is back (a new
pid), every task ends `success` or `failed` with a reason; a crash loop is given up and shown
in /readiness; nothing outlives the launcher; SIGHUP stops everything within 10 s."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest

from reporting.processes import running_product
from reporting.sample_data import SAMPLE_PRODUCT_NAME
from reporting.settings import load_settings
from reporting.store import open_store
from reporting.supervision import STATUS_FILE
from reporting.tasks import TaskRepository
from tests.conftest import MASTER_KEY, TEST_MONGODB_URI, fresh_database

FAST = {
    "HEARTBEAT_INTERVAL_SECONDS": "0.5",
    "HEARTBEAT_TIMEOUT_SECONDS": "4",
    "LOST_JOB_GRACE_SECONDS": "2",
    "MASTER_KEY": MASTER_KEY,
    "MONGODB_URI": TEST_MONGODB_URI,
}
ENDED = ("success", "failed", "cancelled")


def wait_for(predicate, timeout: float = 120, what: str = "condition", during=None):
    deadline = time.monotonic() + timeout
    while True:
        if during is not None:
            during()
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


class Product:
    """A running `reportbook run` driven over HTTP, plus what the launcher says of its
    children (the status file /readiness reads)."""

    def __init__(self, base: str, process, data: Path, database: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=30)
        self.process = process
        self.data = data
        self.database = database
        self.answers: list[int] = []
        key = self.client.post("/v1/admin/api-keys", headers={"X-Master-Key": MASTER_KEY},
                               json={"name": "sup", "role": "admin"}).json()["key"]  # fmt: skip
        self.auth = {"Authorization": f"Bearer {key}"}

    def children(self) -> dict[str, dict]:
        return json.loads((self.data / STATUS_FILE).read_text())["processes"]

    def pid_of(self, name: str) -> int | None:
        child = self.children()[name]
        return child["pid"] if child["state"] == "running" else None

    def probe(self) -> None:
        """The API answers (a store read, whatever else is down)."""
        self.answers.append(self.client.get("/v1/tasks", headers=self.auth).status_code)

    def task(self, task_id: str) -> dict:
        return self.client.get(f"/v1/tasks/{task_id}", headers=self.auth).json()

    def request(self, seconds: float, pid_file: Path, attempts: int = 2) -> str:
        response = self.client.post("/v1/tasks", headers=self.auth, json={
            "product_id": self.product_id(), "notebook": "slow",
            "parameters": {"seconds": seconds, "pid_file": str(pid_file)},
            "retry": {"max_attempts": attempts, "backoff_seconds": 0}, "cache": False,
        })  # fmt: skip
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def product_id(self) -> str:
        products = self.client.get("/v1/products", headers=self.auth).json()
        return next(p["id"] for p in products if p["name"] == SAMPLE_PRODUCT_NAME)

    def tasks_store(self) -> TaskRepository:
        settings = load_settings(data_dir=self.data, mongodb_uri=TEST_MONGODB_URI or None,
                                 mongodb_database=self.database)  # fmt: skip
        return TaskRepository(open_store(settings).db)


@pytest.fixture(scope="module")
def product(tmp_path_factory, notebooks_dir):
    root = tmp_path_factory.mktemp("supervised")
    database = fresh_database()
    with running_product(
        root / "var", root / "run.log", workers=2, REPORTBOOK_NOTEBOOKS_DIR=str(notebooks_dir),
        MONGODB_DATABASE=database, **FAST,
    ) as (base, process):  # fmt: skip
        yield Product(base, process, root / "var", database)


def _worker_running(task: dict) -> psutil.Process:
    """The RQ worker whose job process runs `task` (worker_id is host:job-process-pid)."""
    horse = psutil.Process(int(task["worker_id"].rsplit(":", 1)[1]))
    return horse.parent()


def _template_of(worker: psutil.Process) -> psutil.Process | None:
    for child in worker.children():
        try:
            if "scheduler.kernel_template" in " ".join(child.cmdline()):
                return child
        except psutil.Error:  # a killed one not reaped yet
            continue
    return None


VICTIMS = ["worker", "scheduler", "kernel template", "redis"]


@pytest.mark.parametrize("victim", VICTIMS)
def test_a_killed_child_is_restarted_and_no_task_is_left_running(product, victim, tmp_path):
    pid_file = tmp_path / "kernel.pid"
    task_id = product.request(6, pid_file)
    running = wait_for(lambda: (t := product.task(task_id))["status"] == "running" and t,
                       what="the report to run", during=product.probe)  # fmt: skip
    wait_for(pid_file.exists, what="the kernel")
    worker = _worker_running(running)
    name = next(n for n, c in product.children().items() if c["pid"] == worker.pid)
    if victim == "worker":
        killed, supervised = worker.pid, name
    elif victim == "kernel template":
        template = _template_of(worker)
        assert template is not None
        killed, supervised = template.pid, None
    else:
        killed, supervised = product.pid_of(victim), victim
    os.kill(killed, signal.SIGKILL)

    if supervised is not None:  # back under the launcher with a new pid
        wait_for(lambda: product.pid_of(supervised) not in (None, killed), 60,
                 f"{supervised} to be restarted", during=product.probe)  # fmt: skip
    else:  # the worker makes its kernel template again
        wait_for(lambda: (t := _template_of(worker)) and t.pid != killed, 60, "a new template",
                 during=product.probe)  # fmt: skip
    ended = wait_for(lambda: (t := product.task(task_id))["status"] in ENDED and t, 180,
                     "the task to end", during=product.probe)  # fmt: skip
    assert ended["status"] == "success" or ended["error"]["reason"], ended
    for attempt in ended["attempts"]:
        assert attempt["status"] == "success" or attempt["error"]["reason"], attempt
    if victim == "worker":  # its job process died with it: the attempt was abandoned
        assert ended["attempts"][0]["error"]["reason"] == "abandoned"
    # The API answered every request throughout (reads need only the store).
    assert set(product.answers) == {200}, product.answers
    # A fresh report runs after the restart.
    after = product.request(0.1, tmp_path / "after.pid", attempts=1)
    done = wait_for(lambda: (t := product.task(after))["status"] in ENDED and t, 180,
                    "a report after the restart")  # fmt: skip
    assert done["status"] == "success", done


def test_no_task_stays_running_and_the_launcher_reports_every_process(product):
    tasks = product.client.get("/v1/tasks?limit=100", headers=product.auth).json()
    items = tasks["items"] if isinstance(tasks, dict) else tasks
    assert items and all(t["status"] in ENDED for t in items), [t["status"] for t in items]
    readiness = product.client.get("/readiness").json()
    names = {k for k in readiness["checks"] if k.startswith("process.")}
    assert names == {"process.api", "process.scheduler", "process.redis", "process.worker-1",
                     "process.worker-2"}  # fmt: skip
    assert all(readiness["checks"][n].startswith("running") for n in names), readiness


def test_sighup_hands_the_running_report_back_and_stops_everything_within_10s(product, tmp_path):
    pid_file = tmp_path / "kernel.pid"
    task_id = product.request(120, pid_file)
    wait_for(lambda: product.task(task_id)["status"] == "running", what="the report to run")
    wait_for(pid_file.exists, what="the kernel")
    children = psutil.Process(product.process.pid).children(recursive=True)
    assert len(children) >= 6  # api, scheduler, redis, 2 workers, their templates, a kernel
    product.process.send_signal(signal.SIGHUP)
    started = time.monotonic()
    product.process.wait(30)
    stopped_in = time.monotonic() - started
    gone, alive = psutil.wait_procs(children, timeout=1)
    assert alive == [], alive
    assert stopped_in < 10, stopped_in  # a container runtime's grace period
    task = product.tasks_store().get(task_id)
    # Handed back, not finished or failed: pending again, due now, the attempt not counted.
    assert task["status"] == "pending" and task["attempt"] == 0 and task["attempts"] == []


@pytest.fixture
def crash_looping(tmp_path, notebooks_dir):
    """A product whose only worker dies at start: its KERNEL_NAME names no installed kernel."""
    database = fresh_database()
    with running_product(
        tmp_path / "var", tmp_path / "run.log", workers=1, KERNEL_NAME="no-such-kernel",
        REPORTBOOK_NOTEBOOKS_DIR=str(notebooks_dir), MONGODB_DATABASE=database, **FAST,
    ) as (base, process):  # fmt: skip
        yield Product(base, process, tmp_path / "var", database), tmp_path / "run.log"


def test_a_crash_loop_is_given_up_reported_in_readiness_and_the_api_stays(crash_looping):
    product, log = crash_looping

    def given_up() -> dict | None:
        answer = product.client.get("/readiness")
        check = answer.json()["checks"]["process.worker-1"]
        return answer if check.startswith("error: gave up") else None

    answer = wait_for(given_up, 240, "the launcher to give up on the worker")
    assert answer.status_code == 503
    assert "exited 5 times in a row" in answer.json()["checks"]["process.worker-1"]
    restarts = product.children()["worker-1"]["restarts"]
    time.sleep(3)  # a crash loop would have restarted it again by now
    assert product.children()["worker-1"]["restarts"] == restarts == 4
    assert product.client.get("/v1/tasks", headers=product.auth).status_code == 200
    text = log.read_text()
    assert "'no-such-kernel' is not an installed Jupyter kernel" in text
    assert "worker-1 exited 5 times in a row" in text

    # SIGKILL of the launcher (a container runtime after its grace period): no child is left.
    children = psutil.Process(product.process.pid).children(recursive=True)
    assert children
    product.process.kill()
    product.process.wait(10)
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], [(p.pid, p.name()) for p in alive]


def test_a_signal_to_makes_own_pid_stops_the_product(tmp_path, notebooks_dir):
    """make waits on its child and passes on neither SIGINT nor SIGHUP sent to its own pid:
    `reportbook run --exit-with-parent` (the Makefile's `run`) notices and stops."""
    import subprocess
    import sys

    from reporting.processes import free_port

    port = free_port()
    (tmp_path / "Makefile").write_text(
        f"run:\n\t{sys.executable} -m reporting.cli run --exit-with-parent --workers 1 "
        f"--port {port}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "MASTER_KEY"}}
    env.update(REPORTBOOK_DATA_DIR=str(tmp_path / "var"), MONGODB_URI=TEST_MONGODB_URI,
               MONGODB_DATABASE=fresh_database(), REPORTBOOK_NOTEBOOKS_DIR=str(notebooks_dir),
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))  # fmt: skip
    with open(tmp_path / "make.log", "w") as log:
        make = subprocess.Popen(["make", "-f", str(tmp_path / "Makefile"), "run"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthcheck"), 180, "the product")
        children = psutil.Process(make.pid).children(recursive=True)
        assert any("reporting.cli" in " ".join(c.cmdline()) for c in children)
        os.kill(make.pid, signal.SIGHUP)  # to make alone, as a closed terminal's shell would
        make.wait(60)
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], [(p.pid, p.name()) for p in alive]
        assert "the parent process" in (tmp_path / "make.log").read_text()
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.TransportError:
        return False
