"""The product as `make run` starts it, for benchmarks: a context manager yielding an
authenticated HTTP client; plus small helpers the benches share (load average, the product's
processes)."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

import reporting
from reporting.processes import running_product as running

# The tree whose code runs: the checkout's, or the one PYTHONPATH points to (to bench a
# consistent snapshot, e.g. `git archive HEAD`, while the working tree is being edited).
ROOT = Path(reporting.__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


def load() -> str:
    """The 1/5/15-minute load averages, for every bench's output (the machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


@contextmanager
def running_product(
    data_dir: Path, workers: int = 2, **env_overrides: str
) -> Iterator[httpx.Client]:
    """`reportbook run` on a temporary data dir; yields a client holding an admin API key,
    with `client.product_id` the sample product tasks are created for and `client.pid` the
    pid of the `reportbook run` process (the parent of the API, scheduler and workers)."""
    with running(data_dir, data_dir / "run.log", workers=workers, **env_overrides) as (
        base,
        process,
    ):
        master = (data_dir / "master.key").read_text().strip()
        key = httpx.post(f"{base}/v1/admin/api-keys", headers={"X-Master-Key": master},
                         json={"name": "bench", "role": "admin"}).json()["key"]  # fmt: skip
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:
            client.product_id = client.get("/v1/products").json()[0]["id"]  # type: ignore[attr-defined]
            client.pid = process.pid  # type: ignore[attr-defined]
            yield client


def run_to_success(client: httpx.Client, body: dict, poll: float = 0.01) -> tuple[float, dict]:
    """POST a task, poll every `poll` s until it ends; returns (seconds, the ended task).
    The task is a real run: `cache: false` unless `body` says otherwise (an identical earlier
    report would otherwise be answered from the result cache in a few milliseconds)."""
    started = time.perf_counter()
    body = {"product_id": client.product_id, "cache": False, **body}  # type: ignore[attr-defined]
    task = client.post("/v1/tasks", json=body).json()
    while task["status"] not in ("success", "failed", "cancelled"):
        time.sleep(poll)
        task = client.get(f"/v1/tasks/{task['id']}").json()
    if task["status"] != "success":
        raise SystemExit(f"run failed: {task['error']}")
    return time.perf_counter() - started, task


def request_to_pdf(client: httpx.Client, body: dict, poll: float = 0.25) -> tuple[float, dict]:
    """POST a task -> its PDF downloaded; returns (seconds, the ended task).

    The moment the PDF became available is the task's own `finished_at` (written with the
    artifacts), so the client polls only every `poll` s: polling every 10 ms costs the API
    ~1 CPU-second per report, which on two cores slows the report it is waiting for. The
    seconds are: POST sent -> finished_at, plus the PDF download."""
    sent = time.time()
    _, task = run_to_success(client, body, poll)
    finished = dt.datetime.fromisoformat(task["finished_at"].replace("Z", "+00:00")).timestamp()
    started = time.perf_counter()
    pdf = client.get(f"/v1/tasks/{task['id']}/pdf")
    assert pdf.content.startswith(b"%PDF")
    return finished - sent + time.perf_counter() - started, task
