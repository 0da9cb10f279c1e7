"""The sample report's cells in a pooled kernel against the same code in-process: how much of
"execution" is the kernel, and how much a fresh process's first run. No API, no queue.

On one seeded store, RUNS times, interleaved:
- pooled kernel: a kernel made as a worker makes it (forked from scheduler.kernel_template,
  the preload imports), left to finish warming up, then `reporting.execution.execute` (what the
  job runs: papermill on that kernel); "cells" is the sum of papermill's cell durations,
  "papermill" the whole call;
- first run: bench/floor.py --serve in a fresh process: the preload imports, then the script
  once (what a fresh, preloaded process pays on its first run);
- warm: the script again in one long-lived bench/floor.py --serve process (the warm floor).

Usage: python bench/in_kernel.py [RUNS]   (default 5)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from product import BENCH, ROOT, load

NOTEBOOK = ROOT / "notebooks" / "reddit_report.ipynb"


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"start: {load()}")
    with tempfile.TemporaryDirectory(prefix="reportbook-inkernel-") as tmp:
        os.environ.update(REPORTBOOK_DATA_DIR=tmp, MONGODB_URI="")
        from reporting.launcher import seed
        from reporting.notebooks import NotebookCatalog
        from reporting.settings import load_settings

        seed(load_settings())
        sys.path.insert(0, str(BENCH))
        from kernels import ready_manager
        from proctree import settle
        from request_to_pdf import WarmFloor

        from reporting.execution import execute
        from scheduler.kernel_pool import KernelTemplate

        spec = NotebookCatalog(NOTEBOOK.parent).get("reddit_report")
        executed = Path(tmp) / "executed.ipynb"
        execute(spec, {}, executed, "python3")  # a fresh kernel: the executed notebook
        env = dict(os.environ)
        warm = WarmFloor(executed, env)
        rows: list[dict[str, float]] = []
        template = KernelTemplate(NOTEBOOK.parent)
        try:
            for i in range(runs):
                kernel = template.fork()
                try:
                    km = ready_manager(kernel)
                    started = time.perf_counter()
                    run = execute(spec, {}, Path(tmp) / "out.ipynb", "python3", km=km)
                    papermill_s = time.perf_counter() - started
                finally:
                    kernel.discard()
                fresh = WarmFloor(executed, env)
                first = fresh.first["first"]["script"]
                fresh.close()
                settle(os.getpid())
                w = warm.run()["script"]
                rows.append({"cells": run.cell_seconds, "papermill": papermill_s,
                             "first": first, "warm": w})  # fmt: skip
                print(f"  run {i + 1}: pooled kernel cells {run.cell_seconds:.2f} (papermill "
                      f"{papermill_s:.2f})  fresh process first run {first:.2f}  warm {w:.2f}"
                      f"  ({load()})", flush=True)  # fmt: skip
        finally:
            warm.close()
            template.stop()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"sample report's code, median of {runs} (seconds)")
    print(f"  pooled kernel, cells (papermill's durations)   {med('cells'):6.2f}")
    print(f"  pooled kernel, whole papermill call            {med('papermill'):6.2f}")
    print(f"  fresh preloaded process, first run (script)    {med('first'):6.2f}")
    print(f"  warm process (script)                          {med('warm'):6.2f}")
    print(f"  kernel over a fresh process: cells - first     {med('cells') - med('first'):+6.2f}")
    print(f"  first-use cost: first - warm                   {med('first') - med('warm'):+6.2f}")
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
