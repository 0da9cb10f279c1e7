"""`gc.freeze()` after the warm-up, in the two long-lived processes that others build on:

- job side: the RQ worker parent warms the exporter, then forks one job process per report.
  Without a freeze, the first full collection in each job walks the whole inherited heap.
  Measured: the export of the executed sample report in a forked child, CPU seconds and the
  time the collector spent (gc.callbacks), after a parent that did or did not freeze. A fresh
  parent per round, forking 3 children.
- kernel side: a kernel that preloaded pandas, matplotlib, the store and the insight modules
  runs one report. Measured: the sample report's cells (papermill's durations) on a fresh
  kernel process that preloads, then freezes, against one with the same preload and no
  freeze (bench/kernels.py; the product's kernels are now forked from a template that froze
  its heap, scheduler/kernel_template.py).

Usage: python bench/gc_freeze.py [RUNS]   (default 5)
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from product import ROOT, load


def job_child(freeze: bool, notebook: str, exports: int) -> None:
    """A worker parent: warm up as scheduler.worker does, freeze or not, fork `exports` jobs."""
    import nbformat

    from reporting.export import export_report

    cell = nbformat.v4.new_markdown_cell("# Warm-up\n\ntext")
    export_report(nbformat.v4.new_notebook(cells=[cell]))
    if freeze:
        gc.collect()
        gc.freeze()
    nb = nbformat.read(notebook, as_version=4)
    for _ in range(exports):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(write, timed_export(nb).encode())
            os._exit(0)
        os.close(write)
        print(os.read(read, 64).decode().strip(), flush=True)
        os.waitpid(pid, 0)


def timed_export(nb) -> str:
    """In the job process: "CPU seconds, seconds in the collector" of one export."""
    from reporting.export import export_report

    collecting = [0.0, 0.0]  # start of the current collection, total

    def timer(phase: str, _info: dict) -> None:
        if phase == "start":
            collecting[0] = time.perf_counter()
        else:
            collecting[1] += time.perf_counter() - collecting[0]

    gc.callbacks.append(timer)
    cpu = time.process_time()
    export_report(nb)
    return f"{time.process_time() - cpu} {collecting[1]}\n"


def job_side(runs: int, notebook: str) -> None:
    rows: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(runs):
        for freeze in rows:
            out = subprocess.run(
                [sys.executable, __file__, "--job", str(int(freeze)), notebook, "3"],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )  # fmt: skip
            rows[freeze] += [tuple(map(float, line.split())) for line in out.stdout.splitlines()]
    print(f"job side: export in a forked job process, median of {3 * runs} (CPU seconds)")
    for freeze, values in rows.items():
        cpu = statistics.median(v[0] for v in values)
        collector = statistics.median(v[1] for v in values)
        print(
            f"  {'gc.freeze' if freeze else 'no freeze':<10} export {cpu:.3f}  of which gc {collector:.3f}"
        )


def kernel_side(runs: int, tmp: str) -> None:
    from kernels import fresh_kernel, ready_manager

    from reporting.execution import execute
    from reporting.notebooks import NotebookCatalog

    spec = NotebookCatalog(ROOT / "notebooks").get("reddit_report")

    starts = {
        "no freeze": lambda: fresh_kernel(spec.path.parent),
        "gc.freeze": lambda: fresh_kernel(spec.path.parent, freeze=True),
    }
    rows: dict[str, list[float]] = {name: [] for name in starts}
    for i in range(runs):
        for name, start in starts.items():
            kernel = start()
            try:
                km = ready_manager(kernel)
                run = execute(spec, {}, Path(tmp) / "out.ipynb", "python3", km=km)
                rows[name].append(run.cell_seconds)
            finally:
                kernel.discard()
        print(f"  round {i + 1}: " + "  ".join(f"{n} {r[-1]:.2f}" for n, r in rows.items())
              + f"  ({load()})", flush=True)  # fmt: skip
    print(f"kernel side: the sample report's cells on a pooled kernel, median of {runs} (s)")
    for name, values in rows.items():
        print(f"  {name:<10} cells {statistics.median(values):.3f}")


def main() -> None:
    if sys.argv[1:2] == ["--job"]:
        job_child(sys.argv[2] == "1", sys.argv[3], int(sys.argv[4]))
        return
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"start: {load()}")
    with tempfile.TemporaryDirectory(prefix="reportbook-gc-") as tmp:
        os.environ.update(REPORTBOOK_DATA_DIR=tmp, MONGODB_URI="")
        import papermill

        from reporting.launcher import seed
        from reporting.settings import load_settings

        seed(load_settings())
        notebook = os.path.join(tmp, "executed.ipynb")
        papermill.execute_notebook(
            str(ROOT / "notebooks" / "reddit_report.ipynb"), notebook,
            cwd=str(ROOT / "notebooks"), progress_bar=False,
        )  # fmt: skip
        job_side(runs, notebook)
        print(f"after the job side: {load()}")
        kernel_side(runs, tmp)
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
