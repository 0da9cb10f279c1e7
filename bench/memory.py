"""Worker memory across many consecutive runs (issue 7, target 4: no growth).

Starts the product with ONE worker (so every run goes through the same worker process; the
default setup has two, each the same code) and runs RUNS reports one after another. After
runs 1, RUNS/4, RUNS/2, 3*RUNS/4 and RUNS, once the worker's next pooled kernel has finished
warming up, it records the RSS (psutil) of the worker process, of its kernel template and
the kernel forked from it ("kernel": their sum, which counts the pages they share twice), and
of the API process; the worker process's RSS is also read after every run, for the slope.

The default notebook is a small report made here ("small_report": a parameter, a pandas
table, a matplotlib figure, markdown: the same path as the sample report: pooled kernel,
papermill, HTML + PDF export, artifacts), because 200 runs of the sample report take longer
than this bench's ~10-minute budget on this machine; `--notebook reddit_report` runs the
sample report instead.

Usage: python bench/memory.py [--runs N] [--notebook small_report|reddit_report]  (default 200)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
from proctree import kind, rss_mb, settle
from product import ROOT, load, run_to_success, running_product

SMALL_REPORT = [
    "n = 200  # rows",
    "import pandas as pd\nfrom matplotlib.figure import Figure\nfrom IPython.display import "
    "Markdown, display\ndf = pd.DataFrame({'x': range(n), 'y': [i * i % 97 for i in range(n)]})",
    "display(Markdown(f'# Small report\\n\\n{n} rows, mean y {df.y.mean():.1f}'))",
    "fig = Figure(figsize=(6, 3))\nax = fig.subplots()\nax.plot(df.x, df.y)\ndisplay(fig)",
    "display(df.describe().round(2))",
]


def small_report(folder: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in SMALL_REPORT]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nbformat.write(nb, folder / "small_report.ipynb")


def slope_per_100(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs, per 100 runs."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 100 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--notebook", default="small_report")
    args = parser.parse_args()
    checkpoints = sorted({1, *(round(args.runs * q) for q in (0.25, 0.5, 0.75, 1.0))} - {0})
    print(f"start: {load()}")
    rows = []
    parent_rss: list[tuple[int, float]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reportbook-memory-") as tmp:
        notebooks = Path(tmp) / "notebooks"
        notebooks.mkdir()
        small_report(notebooks)
        shutil.copy(ROOT / "notebooks" / "reddit_report.ipynb", notebooks)
        with running_product(
            Path(tmp) / "var", workers=1, REPORTBOOK_NOTEBOOKS_DIR=str(notebooks)
        ) as client:
            procs = psutil.Process(client.pid).children(recursive=True)  # type: ignore[attr-defined]
            worker = next(p for p in procs if kind(p) == "worker")
            api = next(p for p in procs if kind(p) == "api")
            for run in range(1, args.runs + 1):
                run_to_success(client, {"notebook": args.notebook}, poll=0.05)
                parent_rss.append((run, rss_mb(worker)))
                if run in checkpoints:
                    settle(client.pid)  # type: ignore[attr-defined]  # next kernel warmed up
                    kernels = [c for c in worker.children(recursive=True)
                               if kind(c) in ("kernel", "template")]  # fmt: skip
                    kernel = sum(rss_mb(k) for k in kernels)
                    rows.append({"run": run, "worker": rss_mb(worker), "kernel": kernel,
                                 "total": rss_mb(worker) + kernel, "api": rss_mb(api),
                                 "kernels": len(kernels)})  # fmt: skip
                    r = rows[-1]
                    print(f"  after run {run:>4}: worker {r['worker']:7.1f} MB  kernel "
                          f"{r['kernel']:7.1f} MB ({r['kernels']})  worker+kernel {r['total']:7.1f} MB"
                          f"  api {r['api']:7.1f} MB  ({time.perf_counter() - started:.0f} s, {load()})",
                          flush=True)  # fmt: skip
    print(f"RSS over {args.runs} consecutive {args.notebook} runs, one worker (MB)")
    print(f"  {'run':>5} {'worker':>8} {'kernel':>8} {'total':>8} {'api':>8}")
    for r in rows:
        print(
            f"  {r['run']:>5} {r['worker']:8.1f} {r['kernel']:8.1f} {r['total']:8.1f} {r['api']:8.1f}"
        )
    xs = [r["run"] for r in rows]
    total_slope = slope_per_100(xs, [r["total"] for r in rows])
    parent_slope = slope_per_100([x for x, _ in parent_rss], [y for _, y in parent_rss])
    api_slope = slope_per_100(xs, [r["api"] for r in rows])
    later = [r for r in rows if r["run"] >= checkpoints[1]]  # after the first run's warm-up
    later_slope = slope_per_100([r["run"] for r in later], [r["total"] for r in later])
    growth = rows[-1]["total"] - later[0]["total"]
    print(f"  slope worker+kernel, all checkpoints     {total_slope:+7.2f} MB per 100 runs")
    print(f"  slope worker+kernel, from run {later[0]['run']:<4}      {later_slope:+7.2f} MB per 100 runs"
          f"  (run {later[0]['run']} -> {rows[-1]['run']}: {growth:+.1f} MB)")  # fmt: skip
    print(f"  slope worker process, every run          {parent_slope:+7.2f} MB per 100 runs")
    print(f"  slope api process                        {api_slope:+7.2f} MB per 100 runs")
    # No growth: the later half moves by less than 1% of its size, or 2 MB per 100 runs.
    flat = abs(later_slope) <= max(2.0, 0.01 * rows[-1]["total"])
    print(f"  target no growth: {'met' if flat else 'NOT met'}")
    print(f"  {time.perf_counter() - started:.0f} s; end: {load()}")


if __name__ == "__main__":
    main()
