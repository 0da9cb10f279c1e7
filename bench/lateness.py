"""How late scheduled tasks start: 200 tasks due at spread times over a few minutes, against
`reportbook run` (2 workers) with SCHEDULER_INTERVAL_SECONDS=3600 and maintenance rounds 5
minutes apart, so only the scheduler's due-time timer can start them on time.

Prints p50/p95/p99/max of started_at - run_at (what a user sees: includes waiting for a free
worker) and of queued_at - run_at (the scheduler alone: when it claimed the task).

    .venv/bin/python bench/lateness.py [--tasks 200] [--spread 240]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from product import ROOT, load, running_product


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _percentiles(values: list[float]) -> str:
    values = sorted(values)
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {q[49]:.2f} s, p95 {q[94]:.2f} s, p99 {q[98]:.2f} s, max {values[-1]:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--spread", type=float, default=240, help="seconds the due times span")
    parser.add_argument("--lead", type=float, default=60, help="seconds before the first is due")
    args = parser.parse_args()
    rng = random.Random(13)
    with tempfile.TemporaryDirectory() as tmp:
        notebooks = Path(tmp) / "notebooks"
        notebooks.mkdir()
        shutil.copy(ROOT / "tests/notebooks/slow.ipynb", notebooks)
        with running_product(
            Path(tmp) / "var",
            REPORTBOOK_NOTEBOOKS_DIR=str(notebooks),
            SCHEDULER_INTERVAL_SECONDS="3600",
            HEARTBEAT_TIMEOUT_SECONDS="600",
        ) as client:
            start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=args.lead)
            offsets = sorted(rng.uniform(0, args.spread) for _ in range(args.tasks))
            ids = []
            for offset in offsets:
                run_at = start + dt.timedelta(seconds=offset)
                task = client.post("/v1/tasks", json={
                    "notebook": "slow", "product_id": client.product_id,  # type: ignore[attr-defined]
                    "parameters": {"seconds": 0}, "run_at": run_at.isoformat(), "cache": False,
                }).json()  # fmt: skip
                ids.append(task["id"])
            created = dt.datetime.now(dt.UTC)
            early = sum(start + dt.timedelta(seconds=o) <= created for o in offsets)
            deadline = time.monotonic() + args.lead + args.spread + 600
            tasks: list[dict] = []
            while time.monotonic() < deadline:
                tasks = [client.get(f"/v1/tasks/{i}").json() for i in ids]
                if all(t["status"] in ("success", "failed", "cancelled") for t in tasks):
                    break
                time.sleep(5)
            started = [t for t in tasks if t.get("started_at")]
            late = [
                (_parse(t["started_at"]) - _parse(t["run_at"])).total_seconds() for t in started
            ]
            claim = [
                (_parse(t["queued_at"]) - _parse(t["run_at"])).total_seconds() for t in started
            ]
            print(f"{len(ids)} tasks due over {args.spread:g} s ({early} already due when created); "
                  f"{sum(t['status'] == 'success' for t in tasks)} succeeded; {load()}")  # fmt: skip
            print(f"started_at - run_at: {_percentiles(late)}")
            print(f"queued_at - run_at (the scheduler's claim): {_percentiles(claim)}")
            print(f"started before run_at: {sum(x < 0 for x in late)}")


if __name__ == "__main__":
    main()
