"""The product's processes, seen with psutil, for the throughput and memory benches."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import psutil


def kind(process: psutil.Process) -> str:
    """api, scheduler, worker (an RQ worker parent), job (its forked job process), template
    (a worker's kernel template), kernel (forked from it, or started as ipykernel_launcher),
    redis, launcher (`reportbook run`) or other."""
    try:
        cmdline = " ".join(process.cmdline())
        if "ipykernel_launcher" in cmdline:
            return "kernel"
        if "scheduler.kernel_template" in cmdline:  # its kernels are forks: the same cmdline
            parent = process.parent()
            if parent is not None and "scheduler.kernel_template" in " ".join(parent.cmdline()):
                return "kernel"
            return "template"
        if "scheduler.worker" in cmdline:
            parent = process.parent()
            if parent is not None and "scheduler.worker" in " ".join(parent.cmdline()):
                return "job"
            return "worker"
        if "uvicorn" in cmdline:
            return "api"
        if "-m scheduler" in cmdline:
            return "scheduler"
        if "redis-server" in cmdline:
            return "redis"
        if "reporting.cli" in cmdline:
            return "launcher"
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass
    return "other"


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by the tree under `pid`: each live process's own time plus
    that of its children it has reaped (the workers reap their job processes and kernels),
    so processes that came and went in between are counted too. Take a difference of two."""
    total = 0.0
    for process in tree(pid):
        try:
            t = process.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def settle(pid: int, quiet_cpu_seconds: float = 0.05, window: float = 0.5,
           timeout: float = 30) -> None:  # fmt: skip
    """Wait until the tree under `pid` uses less than `quiet_cpu_seconds` in `window`
    (e.g. the workers' next kernels have finished warming up)."""
    deadline = time.monotonic() + timeout
    before = tree_cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = tree_cpu_seconds(pid)
        if now - before < quiet_cpu_seconds:
            return
        before = now


class CpuByKind:
    """Samples the tree every `interval` s and keeps each process's last seen CPU time by kind:
    a breakdown (a slight undercount: the last interval of a short-lived process is missed)."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval = pid, interval
        self.seen: dict[int, tuple[str, float, float]] = {}  # pid -> (kind, first, last)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for process in tree(self.pid):
                try:
                    t = process.cpu_times()
                    cpu = t.user + t.system
                    pid = process.pid
                    if pid in self.seen:
                        k, first, _ = self.seen[pid]
                        self.seen[pid] = (k, first, cpu)
                    else:
                        # A process alive at the start counts from there; a new one from 0.
                        first = cpu if not self._thread_started_seen else 0.0
                        self.seen[pid] = (kind(process), first, cpu)
                except psutil.NoSuchProcess:
                    pass
            self._thread_started_seen = True
            self._stop.wait(self.interval)

    def __enter__(self) -> CpuByKind:
        self._thread_started_seen = False
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for k, first, last in self.seen.values():
            out[k] += last - first
        return dict(out)


def rss_mb(process: psutil.Process) -> float:
    try:
        return process.memory_info().rss / 2**20
    except psutil.NoSuchProcess:
        return 0.0
