"""Engine overhead per task with a trivial notebook, against the notebook's own run time.

The product as `make run` starts it runs RUNS tasks of a one-cell notebook, one after another
(POST -> poll every 10 ms -> success). Per task:
- papermill: kernel start, the cell, shutdown (the worker's own measurement);
- export: HTML + PDF of the (almost empty) report;
- engine: everything else: API request and validation, the store writes at each transition
  (pending, queued, running, heartbeat, success), Redis enqueue and dequeue, the RQ job
  process, and the 10 ms polling granularity.
Baseline in the same invocation: `papermill.execute_notebook` of that notebook, in-process.

Usage: python bench/engine_overhead.py [RUNS]   (default 10)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill
from product import run_to_success, running_product


def trivial_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("y = x + 1")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "trivial.ipynb"
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory(prefix="reportbook-bench-") as tmp:
        notebooks = Path(tmp) / "notebooks"
        notebooks.mkdir()
        path = trivial_notebook(notebooks)
        baseline = []
        for _ in range(runs):
            started = time.perf_counter()
            papermill.execute_notebook(str(path), str(Path(tmp) / "out.ipynb"),
                                       kernel_name="python3", progress_bar=False)  # fmt: skip
            baseline.append(time.perf_counter() - started)
        with running_product(Path(tmp) / "var", REPORTBOOK_NOTEBOOKS_DIR=str(notebooks)) as client:
            run_to_success(client, {"notebook": "trivial"})  # warm-up
            rows = []
            for _ in range(runs):
                total, task = run_to_success(client, {"notebook": "trivial"})
                t = task["timings"]
                papermill_s = t["kernel_and_papermill"] + t["execution"]
                rows.append({"total": total, "papermill": papermill_s, "export": t["export"],
                             "engine": total - papermill_s - t["export"],
                             "queue_wait": t["queue_wait"]})  # fmt: skip

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    base = statistics.median(baseline)
    print(f"trivial notebook, median of {runs} (seconds)")
    print(f"  papermill in-process baseline   {base:6.3f}")
    print(f"  request -> success              {med('total'):6.3f}")
    print(f"    papermill in the worker       {med('papermill'):6.3f}")
    print(f"    export (HTML + PDF)           {med('export'):6.3f}")
    print(f"    engine                        {med('engine'):6.3f}")
    print(f"      of which queue wait         {med('queue_wait'):6.3f}")
    print(f"  engine / papermill baseline     {med('engine') / base:6.2f}x")
