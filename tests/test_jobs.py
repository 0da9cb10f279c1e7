"""The worker's job, run in-process against real kernels, the embedded store and files."""

import nbformat
import pytest

from reporting.tasks import TaskStatus
from scheduler.jobs import TaskRun


@pytest.fixture
def run(settings) -> TaskRun:
    return TaskRun(settings)


def _queued(run: TaskRun, notebook: str, parameters: dict) -> str:
    task = run.tasks.create(notebook, parameters, "key")
    run.tasks.queue(task["_id"])
    return task["_id"]


def test_failing_cell_is_recorded_with_its_partial_notebook(run):
    task_id = _queued(run, "broken", {"label": "kept output"})
    assert run.run(task_id) == "failed"
    task = run.tasks.get(task_id)
    assert task["status"] == TaskStatus.failed
    error = task["error"]
    assert error["cell_index"] == 3  # the `1 / divisor` cell as written in the notebook
    assert error["ename"] == "ZeroDivisionError"
    assert "division by zero" in error["evalue"]
    assert "1 / divisor" in error["source"]
    assert "ZeroDivisionError" in error["traceback"] and "\x1b[" not in error["traceback"]
    assert [a["name"] for a in task["artifacts"]] == ["notebook.ipynb"]
    partial = nbformat.reads(run.artifacts.get(task_id, "notebook.ipynb").decode(), as_version=4)
    outputs = [o for c in partial.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("kept output" in str(o.get("data", {})) for o in outputs)


def test_successful_run_stores_pdf_html_and_notebook(run):
    task_id = _queued(run, "chart_table", {})
    assert run.run(task_id) == "success"
    task = run.tasks.get(task_id)
    assert task["error"] is None
    assert {a["name"] for a in task["artifacts"]} == {"notebook.ipynb", "report.html", "report.pdf"}
    assert run.artifacts.get(task_id, "report.pdf").startswith(b"%PDF")
    assert set(task["timings"]) == {"queue_wait", "execution", "kernel_and_papermill", "export"}
    assert all(v >= 0 for v in task["timings"].values())


def test_a_task_not_queued_is_not_run_twice(run):
    task_id = _queued(run, "broken", {})
    run.tasks.start(task_id, "another-worker")
    assert run.run(task_id) == "running"
    assert run.tasks.get(task_id)["worker_id"] == "another-worker"


def test_unknown_notebook_at_run_time_fails_the_task_clearly(run):
    task_id = _queued(run, "deleted_since", {})
    with pytest.raises(Exception, match="deleted_since"):
        run.run(task_id)
    task = run.tasks.get(task_id)
    assert task["status"] == "failed" and task["error"]["ename"] == "NotFound"
