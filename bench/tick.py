"""Scheduler tick time for N due tasks on the embedded store (tinymongo/sqlite).

For each size: a fresh store with N due pending tasks and an empty private Redis, then one
`tick` that claims every task (one indexed query per batch of 1,000, then one guarded update
per task) and enqueues it on RQ. Median of RUNS runs per size.

Usage: python bench/tick.py [RUNS] [SIZES...]   (default: 3 runs of 1000 and 10000)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from reporting.processes import start_redis, stop
from reporting.queue import TaskQueue
from reporting.settings import load_settings
from reporting.store import open_store
from reporting.tasks import TaskRepository, new_task
from scheduler.tick import tick


def one_tick(size: int, redis_url: str) -> float:
    with tempfile.TemporaryDirectory(prefix="reportbook-tick-") as tmp:
        settings = load_settings(data_dir=Path(tmp), redis_url=redis_url)
        tasks = TaskRepository(open_store(settings).db)
        tasks.ensure_indexes()
        tasks.collection.insert_many([new_task("report", {"n": i}, "bench") for i in range(size)])
        queue = TaskQueue(settings)
        queue.redis.flushall()
        started = time.perf_counter()
        enqueued = tick(tasks, queue)
        seconds = time.perf_counter() - started
        assert enqueued == size, enqueued
        return seconds


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    sizes = [int(s) for s in sys.argv[2:]] or [1000, 10000]
    with tempfile.TemporaryDirectory() as redis_dir:
        process, url = start_redis(Path(redis_dir))
        try:
            print(f"tick over N due tasks, embedded store, median of {runs}")
            for size in sizes:
                seconds = statistics.median(one_tick(size, url) for _ in range(runs))
                print(f"  {size:>6} tasks  {seconds:7.2f} s  ({seconds / size * 1000:.2f} ms/task)")
        finally:
            stop(process)
