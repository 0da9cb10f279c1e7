"""Pre-started kernels (scheduler.kernel_pool) with a real RQ worker process: runs start on a
kernel that already has the common imports, each kernel serves exactly one run, and nothing
one run leaves behind is visible to the next."""

import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil

from reporting.queue import TaskQueue, enqueue_now
from reporting.store import open_store
from reporting.tasks import TaskRepository, new_task
from scheduler.jobs import TaskRun
from scheduler.kernel_pool import KernelTemplate, PooledWorker
from scheduler.monitor import kill_tree

ROOT = Path(__file__).resolve().parent.parent


def _run(tasks, queue, mode: str) -> dict:
    task = tasks.insert(new_task("isolation", {"mode": mode}, "test"))
    enqueue_now(tasks, queue, task["_id"])
    deadline = time.monotonic() + 60
    while (current := tasks.get(task["_id"]))["status"] not in ("success", "failed"):
        assert time.monotonic() < deadline, current
        time.sleep(0.1)
    return current


def _kernel_line(settings, task: dict) -> tuple[int, bool, int]:
    """(kernel pid, pandas preloaded, objects frozen out of the collector's reach)."""
    nb = nbformat.reads(TaskRun(settings).artifacts.get(task["_id"], "attempt-1.ipynb").decode(), 4)
    text = str([c.get("outputs") for c in nb.cells])
    match = re.search(r"kernel (\d+) preloaded (True|False) frozen (\d+)", text)
    assert match, text
    return int(match[1]), match[2] == "True", int(match[3])


def test_each_run_gets_a_fresh_preloaded_kernel_and_no_state_leaks(settings):
    tasks = TaskRepository(open_store(settings).db)
    tasks.ensure_indexes()
    queue = TaskQueue(settings)
    worker = subprocess.Popen([sys.executable, "-m", "scheduler.worker"], cwd=ROOT,
                              start_new_session=True)  # fmt: skip
    try:
        time.sleep(3)  # the worker's first kernel warms up meanwhile
        first = _run(tasks, queue, "set")
        second = _run(tasks, queue, "check")
        assert first["status"] == "success", first["error"]
        assert second["status"] == "success", second["error"]  # LEAKED was not there
        first_kernel, first_preloaded, frozen = _kernel_line(settings, first)
        second_kernel, _, _ = _kernel_line(settings, second)
        assert first_preloaded  # pandas was imported before the notebook asked for it
        assert frozen > 10_000  # the preload was frozen: the cells' collections skip it
        assert first_kernel != second_kernel
        assert not psutil.pid_exists(first_kernel)  # discarded after its one run
    finally:
        kill_tree(worker.pid)


def test_without_the_pool_the_run_starts_its_own_kernel(settings):
    tasks = TaskRepository(open_store(settings).db)
    task = tasks.insert(new_task("isolation", {"mode": "check"}, "test"))
    tasks.queue(task["_id"])
    run = TaskRun(settings)  # in-process: no pooled kernel in the environment
    assert run.run(task["_id"]) == "success"
    _, preloaded, frozen = _kernel_line(settings, tasks.get(task["_id"]))
    assert preloaded is False and frozen == 0


def test_a_pooled_kernel_exits_when_its_worker_dies():
    code = (
        "from pathlib import Path; from scheduler.kernel_pool import KernelTemplate; "
        "k = KernelTemplate(Path('.').resolve()).fork(); print(k.pid, flush=True); "
        "import time; time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    kernel = psutil.Process(int(parent.stdout.readline()))
    time.sleep(2)
    parent.kill()  # SIGKILL: no clean-up code runs in the worker
    parent.wait()
    try:
        kernel.wait(timeout=30)  # ipykernel's parent poller notices and exits
    except psutil.TimeoutExpired:
        kernel.kill()
        raise AssertionError("the pooled kernel outlived its worker") from None


def _evaluate(kernel, expression: str):
    """The value of `expression` in `kernel` (a pooled kernel), through its own client."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(kernel.connection_file))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive("", user_expressions={"v": expression}, timeout=60)
        value = reply["content"]["user_expressions"]["v"]
        assert value["status"] == "ok", value
        return eval(value["data"]["text/plain"])  # a repr of plain Python values
    finally:
        client.stop_channels()


def test_kernels_forked_from_one_template_are_separate_processes(tmp_path):
    template = KernelTemplate(ROOT / "notebooks")
    first, second = template.fork(), template.fork()
    try:
        assert first.pid != second.pid
        for kernel in (first, second):
            assert psutil.Process(kernel.pid).ppid() == template.process.pid
        probe = ("(os.getpid(), 'pandas' in sys.modules, gc.get_freeze_count() > 10_000, "
                 "numpy.random.rand(), random.random(), "
                 "subprocess.run(['true']).returncode, os.getcwd())")  # fmt: skip
        setup = "import gc, os, random, subprocess, sys, numpy"
        values = []
        for kernel in (first, second):
            _evaluate(kernel, f"exec({setup!r}) or 0")
            values.append(_evaluate(kernel, probe))
        (pid1, pre1, frozen1, np1, r1, rc1, cwd1), (pid2, *_rest, np2, r2, rc2, cwd2) = values
        assert (pid1, pid2) == (first.pid, second.pid)
        assert pre1 and frozen1  # imported and frozen once, in the template
        assert np1 != np2 and r1 != r2  # each kernel draws its own random numbers
        assert rc1 == rc2 == 0  # subprocesses can be waited for (SIGCHLD is the kernel's)
        assert cwd1 == cwd2 == str(ROOT / "notebooks")
    finally:
        first.discard()
        second.discard()
    assert not psutil.pid_exists(first.pid) and not psutil.pid_exists(second.pid)

    template.process.kill()  # a template that died is started again on the next fork
    template.process.wait()
    again = template.fork()
    try:
        assert _evaluate(again, "1 + 1") == 2
    finally:
        again.discard()
        template.stop()


def test_without_a_template_the_worker_still_runs_the_task(settings, tmp_path):
    """A template that cannot start (here: its folder is gone) costs speed, not the run: the
    job starts its own kernel, as without the pool."""
    tasks = TaskRepository(open_store(settings).db)
    tasks.ensure_indexes()
    queue = TaskQueue(settings)
    worker = PooledWorker(queue.in_order, connection=queue.redis, kernel_cwd=tmp_path / "gone")
    assert worker.next_kernel is None
    task = tasks.insert(new_task("isolation", {"mode": "check"}, "test"))
    enqueue_now(tasks, queue, task["_id"])
    try:
        worker.work(burst=True)
    finally:
        worker.teardown()
    done = tasks.get(task["_id"])
    assert done["status"] == "success", done.get("error")
    _, preloaded, _ = _kernel_line(settings, done)
    assert preloaded is False  # its own kernel, started by papermill
