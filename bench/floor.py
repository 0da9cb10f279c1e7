"""The floor for one report: the notebook's code as a plain script (displays rendered the way a
kernel renders them) plus the PDF render. Prints JSON timings (seconds) on its last line.

Two variants:
- cold (default): one run in this fresh process, imports and exporter set-up included.
- warm (`--warm N`): in this one process, import what a pooled kernel preloads
  (scheduler.kernel_template.PRELOAD) and warm the exporter (as the worker does before it forks),
  then run script + PDF once ("first": what a fresh, preloaded process still pays on its first
  run: first figure, first Styler, fonts...) and N more times ("warm": the floor issue 7 asks
  for, the median of those N).

With `--serve`, the warm process does one run per line it reads (for benches that interleave
the floor with the runs it is compared to).

Usage: python bench/floor.py [--warm N | --serve] SOURCE.ipynb EXECUTED.ipynb
(run it with the notebook's folder as cwd and REPORTBOOK_DATA_DIR set to a seeded store)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time

started = time.perf_counter()

import IPython.display  # noqa: E402
import nbformat  # noqa: E402
from IPython.core.formatters import DisplayFormatter  # noqa: E402


def _render(*objects, **_):
    """What the kernel does for display(): PNG for figures, every mimetype for the rest."""
    from matplotlib.figure import Figure

    for obj in objects:
        if isinstance(obj, Figure):
            obj.savefig(io.BytesIO(), format="png", bbox_inches="tight")
        else:
            _formatter.format(obj)


_formatter = DisplayFormatter()
IPython.display.display = _render


def script_code(source: str) -> str:
    """The notebook's code cells as one script, IPython magics left out."""
    nb = nbformat.read(source, as_version=4)
    return "\n".join(
        line
        for cell in nb.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if not line.lstrip().startswith("%")
    )


def run_once(code, executed: nbformat.NotebookNode) -> dict[str, float]:
    """The script, then the PDF of the executed notebook; seconds of each."""
    from reporting.export import export_report

    t0 = time.perf_counter()
    exec(code, {"__name__": "__main__"})
    t1 = time.perf_counter()
    export_report(executed)
    t2 = time.perf_counter()
    return {"script": t1 - t0, "pdf": t2 - t1, "floor": t2 - t0}


def cold(source: str, executed: str) -> dict:
    code = compile(script_code(source), source, "exec")
    exec(code, {"__name__": "__main__"})
    script_done = time.perf_counter()

    from reporting.export import export_report

    export_report(nbformat.read(executed, as_version=4))
    done = time.perf_counter()
    return {"script": script_done - started, "pdf": done - script_done, "floor": done - started}


def _warm_process(source: str, executed_path: str):
    """Preload what a pooled kernel preloads, warm the exporter; then one first run."""
    import importlib

    from scheduler.kernel_template import PRELOAD

    t0 = time.perf_counter()
    for module in PRELOAD:
        importlib.import_module(module)
    from reporting.export import export_report

    export_report(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Warm-up")]))
    preload = time.perf_counter() - t0
    code = compile(script_code(source), source, "exec")
    executed = nbformat.read(executed_path, as_version=4)
    first = run_once(code, executed)
    return code, executed, preload, first


def serve(source: str, executed_path: str) -> None:
    """Warm floor on demand, so a bench can interleave it with its other runs: prints the
    first run's JSON, then one JSON line per line read from stdin, until EOF."""
    import sys

    code, executed, preload, first = _warm_process(source, executed_path)
    print(json.dumps({"preload_and_exporter_warmup": preload, "first": first}), flush=True)
    for _ in sys.stdin:
        print(json.dumps(run_once(code, executed)), flush=True)


def warm(source: str, executed_path: str, runs: int) -> dict:
    code, executed, preload, first = _warm_process(source, executed_path)
    rows = [run_once(code, executed) for _ in range(runs)]
    med = {k: statistics.median(r[k] for r in rows) for k in ("script", "pdf", "floor")}
    return {
        "preload_and_exporter_warmup": preload,
        "first": first,
        "warm": med,
        "warm_runs": [r["floor"] for r in rows],
        "loadavg": os.getloadavg()[0],
        **med,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("executed")
    parser.add_argument("--warm", type=int, default=0, metavar="N",
                        help="warm floor: median of N runs in this process after a first run")  # fmt: skip
    parser.add_argument("--serve", action="store_true",
                        help="warm floor, one run per line read from stdin (JSON lines out)")  # fmt: skip
    args = parser.parse_args()
    if args.serve:
        serve(args.source, args.executed)
        raise SystemExit(0)
    result = (
        warm(args.source, args.executed, args.warm)
        if args.warm
        else cold(args.source, args.executed)
    )
    print(json.dumps(result))
