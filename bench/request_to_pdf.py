"""Request-to-PDF time for the sample report, split by stage, against the floor (issue 7,
target 1: p50 <= 1.3x the warm floor).

Starts the product the way `make run` does (`reportbook run`, embedded store, private Redis,
the default two workers) in a temporary data dir and runs one warm-up report. Then, RUNS
times, interleaved so that load changes on this shared machine hit all alike:
- "idle" report: once the product's processes are quiet (the pooled kernels warmed up), a
  report: POST /v1/tasks -> poll GET /v1/tasks/{id} -> GET .../pdf, timed from the POST to the
  task's own finished_at plus the PDF download (bench/product.py `request_to_pdf`: polling
  every 10 ms would cost the API ~1 CPU-s per report and slow the report down);
- "back-to-back" report: the same, right after the previous one ended, while the worker that
  ran it is starting its next kernel (CPU the two compete for);
- warm floor (the target's): the notebook's code as a plain script plus the PDF render, in ONE
  long-lived process whose imports are done and exporter warmed (bench/floor.py --serve);
- cold floor: the same in a fresh process (bench/floor.py), as measured before.
The split of a report comes from the task's own timings, written by the worker.

Usage: python bench/request_to_pdf.py [RUNS]   (default 7)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from proctree import settle
from product import BENCH, ROOT, load, request_to_pdf, running_product

NOTEBOOK = ROOT / "notebooks" / "reddit_report.ipynb"
STAGES = ("queue_wait", "kernel_and_papermill", "execution", "export")
FLOOR = ("floor", "script", "pdf")


def one_report(client: httpx.Client) -> dict[str, float]:
    total, task = request_to_pdf(client, {"notebook": "reddit_report"})
    stages = {name: task["timings"][name] for name in STAGES}
    return {"total": total, **stages, "api_and_store": total - sum(stages.values())}


def floor_command(executed: Path, *flags: str) -> list[str]:
    return [sys.executable, str(BENCH / "floor.py"), *flags, str(NOTEBOOK), str(executed)]


def cold_floor(executed: Path, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(floor_command(executed), cwd=NOTEBOOK.parent, env=env,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return json.loads(out.splitlines()[-1])


class WarmFloor:
    """bench/floor.py --serve: one warm process, a run per request."""

    def __init__(self, executed: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            floor_command(executed, "--serve"), cwd=NOTEBOOK.parent, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        self.first = self._read()

    def _read(self) -> dict:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("bench/floor.py --serve ended")
            if line.startswith("{"):
                return json.loads(line)

    def run(self) -> dict[str, float]:
        assert self.process.stdin is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


def median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(f"start: {load()}")
    idle: list[dict[str, float]] = []
    back: list[dict[str, float]] = []
    warm: list[dict[str, float]] = []
    cold: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="reportbook-bench-") as tmp:
        data_dir = Path(tmp)
        env = dict(os.environ, REPORTBOOK_DATA_DIR=str(data_dir), MONGODB_URI="")
        with running_product(data_dir) as client:
            warm_up = one_report(client)
            del warm_up
            last = client.get("/v1/tasks?limit=1").json()["items"][0]["id"]
            executed = data_dir / "executed.ipynb"
            executed.write_bytes(client.get(f"/v1/tasks/{last}/notebook").content)
            floor = WarmFloor(executed, env)
            try:
                for i in range(runs):
                    settle(client.pid)  # type: ignore[attr-defined]
                    idle.append(one_report(client))
                    back.append(one_report(client))
                    settle(client.pid)  # type: ignore[attr-defined]
                    warm.append(floor.run())
                    cold.append(cold_floor(executed, env))
                    print(f"  run {i + 1}: idle {idle[-1]['total']:.2f}  back-to-back "
                          f"{back[-1]['total']:.2f}  warm floor {warm[-1]['floor']:.2f}  cold floor "
                          f"{cold[-1]['floor']:.2f}  ({load()})", flush=True)  # fmt: skip
            finally:
                floor.close()

    print(f"request -> PDF, sample report, median (p50) of {runs} (seconds)")
    print(f"  {'':<24} {'idle':>6} {'b2b':>6}")
    for key in ("total", *STAGES, "api_and_store"):
        print(f"  {key:<24} {median(idle, key):6.2f} {median(back, key):6.2f}")
    print(f"warm floor (script + PDF render, one warm process), median of {runs}")
    for key in FLOOR:
        print(f"  {key:<24} {median(warm, key):6.2f}")
    first = floor.first["first"]
    print(f"  first run in that process after the kernel's preload imports: script "
          f"{first['script']:.2f}, pdf {first['pdf']:.2f}")  # fmt: skip
    print(f"cold floor (script + PDF render in one fresh process), median of {runs}")
    for key in FLOOR:
        print(f"  {key:<24} {median(cold, key):6.2f}")
    w = median(warm, "floor")
    for name, rows in (("idle", idle), ("back-to-back", back)):
        ratio = median(rows, "total") / w
        verdict = "met" if ratio <= 1.3 else "NOT met"
        print(f"ratio p50 {name:<12} / warm floor  {ratio:5.2f}x  (target <= 1.3x: {verdict});"
              f" / cold floor {median(rows, 'total') / median(cold, 'floor'):4.2f}x")  # fmt: skip
    print("over the warm floor, idle report (seconds):")
    extra = {
        "queue_wait": median(idle, "queue_wait"),
        "kernel_and_papermill": median(idle, "kernel_and_papermill"),
        "execution - warm script": median(idle, "execution") - median(warm, "script"),
        "export - warm pdf": median(idle, "export") - median(warm, "pdf"),
        "api_and_store": median(idle, "api_and_store"),
    }
    for key, value in extra.items():
        print(f"  {key:<24} {value:+6.2f}")
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
