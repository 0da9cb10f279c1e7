"""The product as `make run` starts it, for benchmarks: a context manager yielding an
authenticated HTTP client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from reporting.processes import running_product as running

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def running_product(data_dir: Path, **env_overrides: str) -> Iterator[httpx.Client]:
    """`reportbook run` on a temporary data dir; yields a client holding an admin API key,
    with `client.product_id` the sample product tasks are created for."""
    with running(data_dir, data_dir / "run.log", **env_overrides) as (base, _):
        master = (data_dir / "master.key").read_text().strip()
        key = httpx.post(f"{base}/v1/admin/api-keys", headers={"X-Master-Key": master},
                         json={"name": "bench", "role": "admin"}).json()["key"]  # fmt: skip
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:
            client.product_id = client.get("/v1/products").json()[0]["id"]  # type: ignore[attr-defined]
            yield client


def run_to_success(client: httpx.Client, body: dict) -> tuple[float, dict]:
    """POST a task, poll every 10 ms until it ends; returns (seconds, the ended task)."""
    started = time.perf_counter()
    task = client.post("/v1/tasks", json={"product_id": client.product_id, **body}).json()  # type: ignore[attr-defined]
    while task["status"] not in ("success", "failed", "cancelled"):
        time.sleep(0.01)
        task = client.get(f"/v1/tasks/{task['id']}").json()
    if task["status"] != "success":
        raise SystemExit(f"run failed: {task['error']}")
    return time.perf_counter() - started, task
