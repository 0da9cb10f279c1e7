"""Notebooks an analyst brings, run through the worker's job (scheduler.jobs.TaskRun) on real
kernels: what each one ends as, what its error record says, what its report holds."""

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from pypdf import PdfReader

from reporting.queue import TaskQueue, enqueue_now
from reporting.tasks import TaskStatus, new_task
from scheduler.jobs import TaskRun
from scheduler.monitor import kill_tree
from scheduler.tick import reap
from tests.pdf_checks import pdf_words

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run(settings) -> TaskRun:
    return TaskRun(settings.model_copy(update={"heartbeat_interval_seconds": 0.2}))


def _queued(run: TaskRun, notebook: str, parameters: dict | None = None) -> str:
    task = run.tasks.insert(new_task(notebook, parameters or {}, "test"))
    run.tasks.queue(task["_id"])
    return task["_id"]


def _notebook(run: TaskRun, task_id: str) -> nbformat.NotebookNode:
    return nbformat.reads(run.artifacts.get(task_id, "attempt-1.ipynb").decode(), as_version=4)


def _printed(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if "text" in o)


def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_stale_injected_cell_is_replaced_on_every_run(run):
    without = _queued(run, "stale_injected")
    assert run.run(without) == "success"
    nb = _notebook(run, without)
    assert "msg=None" in _printed(nb) and "stale value" not in _printed(nb)
    with_value = _queued(run, "stale_injected", {"msg": "fresh"})
    assert run.run(with_value) == "success"
    nb = _notebook(run, with_value)
    assert "msg=fresh" in _printed(nb) and "stale value" not in json.dumps(nb)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1


def test_inferred_parameters_reach_the_notebook(run):
    task_id = _queued(run, "parameter_types", {"ids": [4, 5], "pair": [3, 4], "limit": 5})
    assert run.run(task_id) == "success"
    line = next(x for x in _printed(_notebook(run, task_id)).splitlines() if x.startswith("VALUES"))
    values = json.loads(line.removeprefix("VALUES "))
    assert values["ids"] == [4, 5] and values["pair"] == [3, 4] and values["limit"] == 5
    assert values["seconds"] == 3600  # the notebook's own expression, not a string
    assert values["anything"] is None and values["ratio"] == 0.5


def test_sys_exit_0_succeeds_without_a_systemexit_box(run):
    task_id = _queued(run, "system_exit")
    assert run.run(task_id) == "success"
    html = run.artifacts.get(task_id, "report.html").decode()
    assert "before the exit" in html and "SystemExit" not in html
    words = pdf_words(run.artifacts.get(task_id, "report.pdf"))
    assert "before the exit" in words and "SystemExit" not in words
    assert "SystemExit" in json.dumps(_notebook(run, task_id))  # the notebook keeps the truth


def test_an_unknown_line_magic_records_the_usage_error(run):
    task_id = _queued(run, "unknown_magic")
    assert run.run(task_id) == "failed"
    error = run.tasks.get(task_id)["error"]
    assert error["reason"] == "error" and error["ename"] == "UsageError"
    assert "Line magic function `%nosuchmagic` not found" in error["evalue"]
    assert error["cell_index"] == 3


def test_cell_index_counts_the_cells_of_the_file_as_the_analyst_wrote_it(run):
    # old_banners.ipynb carries two error banners from an earlier run; papermill drops them.
    task_id = _queued(run, "old_banners", {"value": 4})
    assert run.run(task_id) == "failed"
    error = run.tasks.get(task_id)["error"]
    assert error["ename"] == "ValueError" and "value 4 is not accepted" in error["evalue"]
    assert error["cell_index"] == 6


def test_kernel_death_records_the_cell_that_was_running(run):
    task_id = _queued(run, "kernel_death")
    assert run.run(task_id) == "failed"
    error = run.tasks.get(task_id)["error"]
    assert error["reason"] == "kernel_died" and error["cell_index"] == 3


def test_cancel_records_the_cell_that_was_running(run, tmp_path):
    pid_file = tmp_path / "kernel.pid"
    task_id = _queued(run, "slow", {"seconds": 60, "pid_file": str(pid_file)})
    result: list = []
    thread = threading.Thread(target=lambda: result.append(run.run(task_id)))
    thread.start()
    _wait_for(lambda: (run.tasks.get(task_id)["progress"] or {}).get("cell") == 4)
    run.tasks.request_cancel(task_id)
    thread.join(60)
    assert result == ["cancelled"]
    assert run.tasks.get(task_id)["error"]["cell_index"] == 3  # time.sleep(seconds)


def test_huge_output_ends_success_with_a_bounded_report_and_is_never_abandoned(run):
    """100,000 printed lines; meanwhile the reaper runs with a 2 s heartbeat timeout, as the
    scheduler would: the heartbeat goes on through the export, so it never takes the run."""
    task_id = _queued(run, "huge_output")
    result: list = []
    thread = threading.Thread(target=lambda: result.append(run.run(task_id)))
    thread.start()
    reaped = 0
    while thread.is_alive():
        reaped += reap(run.tasks, heartbeat_timeout=2)
        thread.join(0.5)
    assert reaped == 0
    assert result == ["success"], run.tasks.get(task_id)["error"]
    task = run.tasks.get(task_id)
    assert task["status"] == TaskStatus.success
    pdf = run.artifacts.get(task_id, "report.pdf")
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    assert pages < 40  # 500 lines at most, not ~1,700 pages
    words = pdf_words(pdf)
    assert "Output truncated" in words and "line 0 of the huge output" in words
    assert "line 99999 of the huge output" not in words
    assert "the report goes on after the big cell" in words
    assert "line 99999 of the huge output" in _printed(_notebook(run, task_id))  # all kept


def test_beyond_the_hard_limit_the_run_fails_output_limit_and_keeps_its_notebook(settings):
    run = TaskRun(settings.model_copy(update={"output_hard_limit_bytes": 10_000}))
    task_id = _queued(run, "huge_output", {"lines": 2000})
    assert run.run(task_id) == "failed"
    task = run.tasks.get(task_id)
    assert task["error"]["reason"] == "output_limit" and "10,000" in task["error"]["evalue"]
    assert [a["kind"] for a in task["artifacts"]] == ["notebook"]
    kept = _printed(_notebook(run, task_id))  # what came before the limit; no more
    assert "line 0 of the huge output" in kept and "line 1999 of the huge output" not in kept


def test_an_export_failure_is_failed_export_with_the_notebook_downloadable(settings, client,
                                                                           auth, pid):  # fmt: skip
    run = TaskRun(settings.model_copy(update={"export_timeout_seconds": 0.01}))
    task = run.tasks.insert(new_task("chart_table", {}, "test", product_id=pid))
    run.tasks.queue(task["_id"])
    assert run.run(task["_id"]) == "failed"
    error = run.tasks.get(task["_id"])["error"]
    assert error["reason"] == "export" and error["ename"] == "ExportTimeout"
    listed = client.get(f"/v1/tasks/{task['_id']}", headers=auth).json()
    assert [a["kind"] for a in listed["artifacts"]] == ["notebook"]
    response = client.get(f"/v1/tasks/{task['_id']}/notebook", headers=auth)
    assert response.status_code == 200, response.text
    assert nbformat.reads(response.text, as_version=4).cells


# ---- Kernels ------------------------------------------------------------------------------


@pytest.fixture
def second_kernel(tmp_path, monkeypatch) -> str:
    """A second Python kernelspec, installed in a JUPYTER_PATH of this test only, whose
    kernels carry an environment marker."""
    folder = tmp_path / "jupyter" / "kernels" / "reportbook-test-second"
    folder.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Second",
        "language": "python",
        "env": {"REPORTBOOK_TEST_KERNEL": "second"},
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "reportbook-test-second"


def test_another_installed_kernel_runs_the_notebook_under_the_pooled_worker(
    settings, second_kernel
):
    """A real RQ worker with its pre-started python3 kernel: the notebook that names another
    kernel runs on that kernel (its marker is set), a python3 notebook on the pool."""
    run = TaskRun(settings)
    queue = TaskQueue(settings)
    worker = subprocess.Popen([sys.executable, "-m", "scheduler.worker"], cwd=ROOT,
                              start_new_session=True)  # fmt: skip
    try:
        ids = []
        for name in ("second_kernel", "isolation"):
            task = run.tasks.insert(new_task(name, {}, "test"))
            enqueue_now(run.tasks, queue, task["_id"])
            ids.append(task["_id"])
        for task_id in ids:
            _wait_for(lambda t=task_id: run.tasks.get(t)["status"] in ("success", "failed"), 120)
        second, pooled = (run.tasks.get(t) for t in ids)
        assert second["status"] == "success", second["error"]
        assert pooled["status"] == "success", pooled["error"]
        assert "KERNEL second" in _printed(_notebook(run, ids[0]))
        pooled_outputs = str([c.get("outputs") for c in _notebook(run, ids[1]).cells])
        assert "preloaded True" in pooled_outputs  # it ran on the pooled kernel
    finally:
        kill_tree(worker.pid)
        assert not psutil.pid_exists(worker.pid) or psutil.Process(worker.pid).status() == "zombie"


def test_a_queued_notebook_that_cannot_run_fails_saying_why(run):
    task_id = _queued(run, "unknown_kernel")  # queued as if it had been fine at submit time
    assert run.run(task_id) == "failed"
    error = run.tasks.get(task_id)["error"]
    assert error["ename"] == "NotebookUnavailable"
    assert "'reportbook-no-such-kernel' is not installed" in error["evalue"]
