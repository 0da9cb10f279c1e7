"""The worker's job, run in-process against real kernels, the embedded store and files."""

import threading
import time

import nbformat
import psutil
import pytest

from reporting.tasks import TaskStatus, new_task
from scheduler.jobs import TaskRun


@pytest.fixture
def run(settings) -> TaskRun:
    return TaskRun(settings.model_copy(update={"heartbeat_interval_seconds": 0.2}))


def _queued(run: TaskRun, notebook: str, parameters: dict, **fields) -> str:
    task = run.tasks.insert(new_task(notebook, parameters, "key", **fields))
    run.tasks.queue(task["_id"])
    return task["_id"]


def _notebook(run: TaskRun, task_id: str, name: str) -> nbformat.NotebookNode:
    return nbformat.reads(run.artifacts.get(task_id, name).decode(), as_version=4)


def test_failing_cell_is_recorded_with_its_partial_notebook(run):
    task_id = _queued(run, "broken", {"label": "kept output"})
    assert run.run(task_id) == "failed"
    task = run.tasks.get(task_id)
    assert task["status"] == TaskStatus.failed
    error = task["error"]
    assert error["reason"] == "error"
    assert error["cell_index"] == 3  # the `1 / divisor` cell as written in the notebook
    assert error["ename"] == "ZeroDivisionError"
    assert "division by zero" in error["evalue"]
    assert "1 / divisor" in error["source"]
    assert "ZeroDivisionError" in error["traceback"] and "\x1b[" not in error["traceback"]
    assert [a["name"] for a in task["artifacts"]] == ["attempt-1.ipynb"]
    partial = _notebook(run, task_id, "attempt-1.ipynb")
    outputs = [o for c in partial.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("kept output" in str(o.get("data", {})) for o in outputs)


def test_successful_run_stores_pdf_html_and_notebook(run):
    task_id = _queued(run, "chart_table", {})
    assert run.run(task_id) == "success"
    task = run.tasks.get(task_id)
    assert task["error"] is None and task["progress"] is None
    assert {a["kind"] for a in task["artifacts"]} == {"notebook", "html", "pdf"}
    assert run.artifacts.get(task_id, "report.pdf").startswith(b"%PDF")
    assert set(task["timings"]) == {"queue_wait", "execution", "kernel_and_papermill", "export"}
    assert all(v >= 0 for v in task["timings"].values())
    assert task["attempts"][0]["status"] == "success" and task["attempts"][0]["number"] == 1


def test_each_attempt_keeps_its_own_record_and_notebook(run):
    task_id = _queued(
        run, "broken", {"label": "first"}, retry={"max_attempts": 2, "backoff_seconds": 0}
    )
    assert run.run(task_id) == "pending"  # the retry is due at once
    run.tasks.update_pending(task_id, {"parameters": {"label": "second"}})
    run.tasks.queue(task_id)
    assert run.run(task_id) == "failed"
    task = run.tasks.get(task_id)
    assert [a["number"] for a in task["attempts"]] == [1, 2]
    assert [a["artifacts"][0]["name"] for a in task["attempts"]] == [
        "attempt-1.ipynb",
        "attempt-2.ipynb",
    ]
    assert "first" in str(_notebook(run, task_id, "attempt-1.ipynb").cells)
    assert "second" in str(_notebook(run, task_id, "attempt-2.ipynb").cells)


def test_a_task_not_queued_is_not_run_twice(run):
    task_id = _queued(run, "broken", {})
    run.tasks.start(task_id, "another-worker")
    assert run.run(task_id) == "running"
    assert run.tasks.get(task_id)["worker_id"] == "another-worker"


def test_unknown_notebook_at_run_time_fails_the_task_clearly(run):
    task_id = _queued(run, "deleted_since", {})
    assert run.run(task_id) == "failed"
    error = run.tasks.get(task_id)["error"]
    assert error["ename"] == "NotFound" and "deleted_since" in error["evalue"]


def _run_in_thread(run: TaskRun, task_id: str) -> tuple[threading.Thread, list]:
    result: list = []
    thread = threading.Thread(target=lambda: result.append(run.run(task_id)))
    thread.start()
    return thread, result


def _wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_progress_is_reported_while_running_and_cancel_stops_the_kernel(run, tmp_path):
    pid_file = tmp_path / "kernel.pid"
    task_id = _queued(run, "slow", {"seconds": 60, "pid_file": str(pid_file)})
    thread, result = _run_in_thread(run, task_id)
    _wait_for(lambda: pid_file.exists() and pid_file.read_text())
    kernel = psutil.Process(int(pid_file.read_text()))
    _wait_for(lambda: (run.tasks.get(task_id)["progress"] or {}).get("cell") == 4)  # the sleep
    assert run.tasks.get(task_id)["progress"]["of"] == 6  # with the injected parameters cell
    assert run.tasks.request_cancel(task_id)["cancel_requested"] is True
    thread.join(30)
    assert result == ["cancelled"]
    assert not kernel.is_running() or kernel.status() == psutil.STATUS_ZOMBIE
    task = run.tasks.get(task_id)
    assert task["error"]["reason"] == "cancelled" and task["artifacts"][0]["kind"] == "notebook"


def test_timeout_kills_the_kernel_and_fails_the_task(run, tmp_path):
    # slow.ipynb declares timeout_seconds: 8 in its metadata (TASK_TIMEOUT_SECONDS is 1800).
    pid_file = tmp_path / "kernel.pid"
    task_id = _queued(run, "slow", {"seconds": 120, "pid_file": str(pid_file)})
    started = time.monotonic()
    assert run.run(task_id) == "failed"
    assert 8 <= time.monotonic() - started < 60
    assert not psutil.pid_exists(int(pid_file.read_text()))
    error = run.tasks.get(task_id)["error"]
    assert error["reason"] == "timeout" and error["ename"] == "TaskTimeout"
