"""Request-to-PDF time for the sample report, split by stage, against the floor.

Starts the product the way `make run` does (`reportbook run`, embedded store, private Redis,
the default two workers) in a temporary data dir, runs one warm-up report, then RUNS reports
one after another: POST /v1/tasks -> poll GET /v1/tasks/{id} every 10 ms -> GET .../pdf.
The floor is the same notebook's code as a plain script plus the PDF render, in one fresh
process (bench/floor.py), run RUNS times.

Usage: python bench/request_to_pdf.py [RUNS]   (default 5)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from product import ROOT, run_to_success, running_product

NOTEBOOK = ROOT / "notebooks" / "reddit_report.ipynb"
STAGES = ("queue_wait", "kernel_and_papermill", "execution", "export")


def one_report(client: httpx.Client) -> dict[str, float]:
    started = time.perf_counter()
    _, task = run_to_success(client, {"notebook": "reddit_report"})
    pdf = client.get(f"/v1/tasks/{task['id']}/pdf")
    total = time.perf_counter() - started
    assert pdf.content.startswith(b"%PDF")
    stages = {name: task["timings"][name] for name in STAGES}
    return {"total": total, **stages, "api_store_and_polling": total - sum(stages.values())}


def floor(executed: Path, data_dir: Path, runs: int) -> list[dict[str, float]]:
    env = dict(os.environ, REPORTBOOK_DATA_DIR=str(data_dir))
    return [
        json.loads(
            subprocess.run(
                [sys.executable, str(ROOT / "bench" / "floor.py"), str(NOTEBOOK), str(executed)],
                cwd=NOTEBOOK.parent,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()[-1]
        )
        for _ in range(runs)
    ]


def median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory(prefix="reportbook-bench-") as tmp:
        data_dir = Path(tmp)
        with running_product(data_dir) as client:
            one_report(client)  # warm-up
            rows = [one_report(client) for _ in range(runs)]
            last = client.get("/v1/tasks?limit=1").json()["items"][0]["id"]
            executed = data_dir / "executed.ipynb"
            executed.write_bytes(client.get(f"/v1/tasks/{last}/notebook").content)
        floors = floor(executed, data_dir, runs)

    print(f"request -> PDF, sample report, median of {runs} (seconds)")
    for key in ("total", *STAGES, "api_store_and_polling"):
        print(f"  {key:<24} {median(rows, key):6.2f}")
    print(f"floor (script + PDF render in one fresh process), median of {runs}")
    for key in ("floor", "script", "pdf"):
        print(f"  {key:<24} {median(floors, key):6.2f}")
    print(f"ratio total / floor        {median(rows, 'total') / median(floors, 'floor'):6.2f}x")
