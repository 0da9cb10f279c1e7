"""Throughput of the default setup (two workers) over N queued reports, against the ideal
(issue 7, target 3: >= 80% of cores / CPU-seconds per report).

Starts the product as `make run` does (two workers, kernel pool), runs two warm-up reports
at once (one per worker), waits for the processes to go quiet, then POSTs N sample reports as
fast as it can (each is queued at once) and waits until all have ended.
- throughput: N / (last finished_at - first created_at), the tasks' own timestamps;
- CPU-seconds per report: the CPU time the whole product tree used meanwhile (API, scheduler,
  redis, workers, their job processes and kernels; measured with psutil as each live
  process's own + reaped children's times, after the last kernels have warmed up, so N kernel
  start-ups are counted), divided by N;
- ideal: cores / CPU-seconds per report. The machine is shared: the CPU others used during the
  run (system-wide busy time minus ours minus this client's) is printed, with the ideal for
  the cores they left us.

Usage: python bench/throughput.py [--reports N] [--notebook NAME]   (default 100 reddit_report)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

import psutil
from proctree import CpuByKind, settle, tree_cpu_seconds
from product import load, running_product

STAGES = ("queue_wait", "kernel_and_papermill", "execution", "export")


def busy_seconds() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--notebook", default="reddit_report")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    cores = psutil.cpu_count()
    print(f"start: {load()}")
    with tempfile.TemporaryDirectory(prefix="reportbook-throughput-") as tmp:
        with running_product(Path(tmp), workers=args.workers) as client:
            body = {"notebook": args.notebook, "product_id": client.product_id, "cache": False}  # type: ignore[attr-defined]
            warm = [client.post("/v1/tasks", json=body).json()["id"] for _ in range(args.workers)]
            wait_ended(client, warm)
            settle(client.pid)  # type: ignore[attr-defined]
            me = psutil.Process()
            cpu0, busy0, mine0 = tree_cpu_seconds(client.pid), busy_seconds(), sum(me.cpu_times()[:2])  # type: ignore[attr-defined]  # fmt: skip
            wall0 = time.perf_counter()
            with CpuByKind(client.pid) as by_kind:  # type: ignore[attr-defined]
                ids = [
                    client.post("/v1/tasks", json=body).json()["id"] for _ in range(args.reports)
                ]
                tasks = wait_ended(client, ids, interval=1.0)
                settle(client.pid)  # type: ignore[attr-defined]  # the last kernels warm up
            cpu = tree_cpu_seconds(client.pid) - cpu0  # type: ignore[attr-defined]
            wall = time.perf_counter() - wall0
            busy, mine = busy_seconds() - busy0, sum(me.cpu_times()[:2]) - mine0
    failed = [t for t in tasks if t["status"] != "success"]
    if failed:
        raise SystemExit(f"{len(failed)} reports failed, e.g. {failed[0]['error']}")
    makespan = (
        max(parse(t["finished_at"]) for t in tasks) - min(parse(t["created_at"]) for t in tasks)
    ).total_seconds()
    per_report = cpu / args.reports
    throughput = args.reports / makespan
    ideal = cores / per_report
    others = max(0.0, busy - cpu - mine)
    # What the other users of the machine left us, on average, over the run.
    left = max(0.1, cores - others / wall)
    print(f"{args.reports} queued {args.notebook} reports, {args.workers} workers, {cores} cores")
    print(f"  makespan (first created -> last finished)  {makespan:8.1f} s")
    print(f"  throughput                                 {throughput:8.3f} reports/s")
    print(f"  product CPU                                {cpu:8.1f} s  = {per_report:.2f} CPU-s per report")  # fmt: skip
    shares = by_kind.totals()
    print("    by process kind (sampled, approx.): " + ", ".join(
        f"{k} {v / args.reports:.2f}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1])))  # fmt: skip
    print(f"  ideal = cores / CPU-s per report           {ideal:8.3f} reports/s")
    ratio = throughput / ideal
    print(f"  throughput / ideal                         {ratio:8.0%}  (target >= 80%: "
          f"{'met' if ratio >= 0.8 else 'NOT met'})")  # fmt: skip
    print(f"  CPU used by others meanwhile               {others:8.1f} s  (= {others / wall:.2f} cores"
          f" of {cores}); this client {mine:.1f} s")  # fmt: skip
    print(
        f"  throughput / ideal on the {left:.2f} cores left to us  {throughput / (left / per_report):5.0%}"
    )
    print("  per-report stages under load (median): " + ", ".join(
        f"{s} {statistics.median(t['timings'][s] for t in tasks):.2f}" for s in STAGES if s != "queue_wait"))  # fmt: skip
    print(f"end: {load()}")


def wait_ended(client, ids: list[str], interval: float = 0.05) -> list[dict]:
    pending, done = list(ids), {}
    while pending:
        for task_id in list(pending):
            task = client.get(f"/v1/tasks/{task_id}").json()
            if task["status"] in ("success", "failed", "cancelled"):
                done[task_id] = task
                pending.remove(task_id)
            else:
                break  # they mostly end in order: check the rest next time
        if pending:
            time.sleep(interval)
    return [done[i] for i in ids]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
