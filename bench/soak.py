"""Soak: `reportbook run` under continuous requests while its children are SIGKILLed.

Reports (the `slow` test notebook, 1 s) and snapshots of the sample product are requested
continuously; every --kill-every seconds a random child (a worker, the scheduler, a kernel
template) is SIGKILLed, and Redis twice (at 1/3 and 2/3 of the run). Afterwards requests stop
and the tasks get --drain seconds to end. Prints: requests served, 5xx (503s counted apart:
documented while Redis is down), tasks lost (gone), tasks stuck (not ended after the drain),
how the tasks ended, and each kill's time to recover (the victim back with a new pid and
/readiness 200 again).

    .venv/bin/python bench/soak.py --minutes 30
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
from product import ROOT, load, running_product

from reporting.supervision import STATUS_FILE

ENDED = {"success", "failed", "cancelled"}


class Soak:
    def __init__(self, client: httpx.Client, data: Path, seconds: float, rng: random.Random):
        self.client, self.data, self.seconds, self.rng = client, data, seconds, rng
        self.stop = threading.Event()
        self.codes: collections.Counter[int] = collections.Counter()
        self.transport_errors = 0
        self.task_ids: list[str] = []
        self.snapshot_ids: list[str] = []
        self.kills: list[dict] = []
        self.lock = threading.Lock()

    def call(self, method: str, url: str, **kwargs) -> httpx.Response | None:
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TransportError:
            with self.lock:
                self.transport_errors += 1
            return None
        with self.lock:
            self.codes[response.status_code] += 1
        return response

    # -- load ------------------------------------------------------------------------------

    def request_reports(self, every: float) -> None:
        while not self.stop.wait(every):
            body = {"product_id": self.client.product_id, "notebook": "slow",  # type: ignore[attr-defined]
                    "parameters": {"seconds": 1}, "cache": False,
                    "retry": {"max_attempts": 2, "backoff_seconds": 1}}  # fmt: skip
            response = self.call("POST", "/v1/tasks", json=body)
            if response is not None and response.status_code == 201:
                self.task_ids.append(response.json()["id"])
            self.call("GET", "/v1/tasks", params={"limit": 20})

    def request_snapshots(self, every: float) -> None:
        while not self.stop.wait(every):
            body = {"product_id": self.client.product_id}  # type: ignore[attr-defined]
            response = self.call("POST", "/v1/snapshots", params={"weekly": "false"}, json=body)
            if response is not None and response.status_code == 201:
                self.snapshot_ids.append(response.json()["id"])

    # -- kills -----------------------------------------------------------------------------

    def children(self) -> dict[str, dict]:
        return json.loads((self.data / STATUS_FILE).read_text())["processes"]

    def templates(self) -> dict[int, int]:
        """kernel template pid -> its worker's pid."""
        found = {}
        for name, child in self.children().items():
            if name.startswith("worker") and child["pid"]:
                try:
                    for c in psutil.Process(child["pid"]).children():
                        if "scheduler.kernel_template" in " ".join(c.cmdline()):
                            found[c.pid] = child["pid"]
                except psutil.Error:
                    pass
        return found

    def kill(self, victim: str) -> None:
        if victim == "kernel template":
            templates = self.templates()
            if not templates:
                return
            pid = self.rng.choice(sorted(templates))
            worker = templates[pid]
        else:
            pid = self.children()[victim]["pid"]
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        deadline = killed_at + 120
        back = None
        while time.monotonic() < deadline:
            time.sleep(0.25)
            if victim == "kernel template":
                replaced = any(w == worker and p != pid for p, w in self.templates().items())
            else:
                child = self.children()[victim]
                replaced = child["state"] == "running" and child["pid"] != pid
            if replaced and self.ready():
                back = time.monotonic() - killed_at
                break
        self.kills.append({"victim": victim, "pid": pid, "recovered_s": back})
        took = f"{back:.1f} s" if back is not None else "NOT within 120 s"
        print(f"  killed {victim} (pid {pid}): recovered in {took}", flush=True)

    def ready(self) -> bool:
        try:
            return self.client.get("/readiness").status_code == 200
        except httpx.TransportError:
            return False

    def killer(self, every: float) -> None:
        started = time.monotonic()
        redis_at = [started + self.seconds / 3, started + 2 * self.seconds / 3]
        next_kill = started + every
        while not self.stop.wait(1):
            now = time.monotonic()
            if redis_at and now >= redis_at[0]:
                redis_at.pop(0)
                self.kill("redis")
            elif now >= next_kill:
                next_kill = now + every
                workers = [n for n in self.children() if n.startswith("worker")]
                self.kill(self.rng.choice([*workers, "scheduler", "kernel template"]))

    # -- the end ---------------------------------------------------------------------------

    def drain(self, seconds: float) -> tuple[list[dict], list[str]]:
        """Wait for every task to end; returns (tasks found, ids gone)."""
        deadline = time.monotonic() + seconds
        while True:
            found, gone = [], []
            for task_id in self.task_ids:
                response = self.client.get(f"/v1/tasks/{task_id}")
                if response.status_code == 404:
                    gone.append(task_id)
                else:
                    found.append(response.json())
            if all(t["status"] in ENDED for t in found) or time.monotonic() > deadline:
                return found, gone
            time.sleep(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--kill-every", type=float, default=120, help="seconds between kills")
    parser.add_argument("--report-every", type=float, default=6, help="seconds between reports")
    parser.add_argument("--snapshot-every", type=float, default=120)
    parser.add_argument("--drain", type=float, default=600, help="seconds for tasks to end")
    parser.add_argument("--keep-log", type=Path, help="copy the product's log here")
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        notebooks = Path(tmp) / "notebooks"
        shutil.copytree(ROOT / "notebooks", notebooks)
        shutil.copy(ROOT / "tests/notebooks/slow.ipynb", notebooks)
        data = Path(tmp) / "var"
        with running_product(
            data, REPORTBOOK_NOTEBOOKS_DIR=str(notebooks), HEARTBEAT_INTERVAL_SECONDS="1",
            HEARTBEAT_TIMEOUT_SECONDS="10", LOST_JOB_GRACE_SECONDS="5",
        ) as client:  # fmt: skip
            soak = Soak(client, data, seconds, random.Random(7))
            threads = [
                threading.Thread(target=soak.request_reports, args=(args.report_every,)),
                threading.Thread(target=soak.request_snapshots, args=(args.snapshot_every,)),
                threading.Thread(target=soak.killer, args=(args.kill_every,)),
            ]
            started = time.monotonic()
            print(f"soak: {args.minutes:g} min, {load()}", flush=True)
            for thread in threads:
                thread.start()
            soak.stop.wait(seconds)
            soak.stop.set()
            for thread in threads:
                thread.join()
            ran = time.monotonic() - started
            tasks, gone = soak.drain(args.drain)
            snapshots = [client.get(f"/v1/snapshots/{i}").json() for i in soak.snapshot_ids]
            log = (data / "run.log").read_text()
            if args.keep_log:
                shutil.copy(data / "run.log", args.keep_log)
    stuck = [t for t in tasks if t["status"] not in ENDED]
    ends = collections.Counter(
        t["status"] if t["status"] != "failed" else f"failed ({t['error']['reason']})"
        for t in tasks
    )
    snapshot_ends = collections.Counter(
        s["status"] if s["status"] != "failed" else f"failed ({s['error']['reason']})"
        for s in snapshots
    )
    no_reason = [t["id"] for t in tasks if t["status"] == "failed" and not t["error"]["reason"]]
    recovered = [k["recovered_s"] for k in soak.kills if k["recovered_s"] is not None]
    five = {c: n for c, n in soak.codes.items() if c >= 500}
    print(f"ran {ran / 60:.1f} min; {load()}")
    print(f"requests served: {sum(soak.codes.values())}; 5xx: {five or 0} "
          f"(503 = Redis down, documented); connection errors: {soak.transport_errors}")  # fmt: skip
    print(f"tasks: {len(soak.task_ids)} requested, {len(gone)} lost, {len(stuck)} stuck "
          f"(not ended {args.drain:g} s after the load stopped), {len(no_reason)} failed "
          f"without a reason; ended: {dict(ends)}")  # fmt: skip
    print(f"snapshots: {len(snapshots)} requested; {dict(snapshot_ends)}")
    print(f"kills: {len(soak.kills)} ({collections.Counter(k['victim'] for k in soak.kills)}); "
          f"max time to recover: {max(recovered, default=0):.1f} s; not recovered: "
          f"{len(soak.kills) - len(recovered)}")  # fmt: skip
    print(f"tracebacks in the product's log: {log.count('Traceback')}")


if __name__ == "__main__":
    main()
