"""The watchdog beside a running notebook, in the worker's job process.

Every `interval` it writes the task's heartbeat and progress; it stops the kernel when the
task is cancelled through the API or runs past its deadline (SIGKILL to the kernel process
and anything it started); papermill then raises, and the job records why.
"""

from __future__ import annotations

import logging
import threading
import time
from enum import StrEnum
from typing import Any

import psutil

from reporting.tasks import TaskRepository

log = logging.getLogger(__name__)


class StopReason(StrEnum):
    cancelled = "cancelled"
    timeout = "timeout"


def kill_tree(pid: int) -> int:
    """SIGKILL a process and its descendants; returns how many were killed."""
    try:
        root = psutil.Process(pid)
        processes = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return 0
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=5)
    return len(processes)


class RunMonitor(threading.Thread):
    def __init__(
        self, tasks: TaskRepository, task: dict[str, Any], interval: float, timeout: float
    ) -> None:
        super().__init__(name=f"monitor-{task['_id']}", daemon=True)
        self.tasks = tasks
        self.task_id = task["_id"]
        self.attempt = task["attempt"]
        self.interval = interval
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.progress: dict[str, int] | None = None
        self.kernel_pid: int | None = None
        self.reason: StopReason | None = None
        self._killed = False
        self._done = threading.Event()

    def on_cell(self, index: int, of: int, kernel_pid: int | None) -> None:
        self.progress = {"cell": index, "of": of}
        self.kernel_pid = kernel_pid or self.kernel_pid

    def __enter__(self) -> RunMonitor:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self.join()

    def _stop_kernel(self) -> None:
        """Kill the kernel once its pid is known (a cancel can come before the first cell)."""
        if self.kernel_pid and not self._killed:
            self._killed = True
            log.info("task %s: %s, stopping kernel %s (%d processes)", self.task_id,
                     self.reason, self.kernel_pid, kill_tree(self.kernel_pid))  # fmt: skip

    def _next_wait(self) -> float:
        if self.reason is not None:
            return self.interval
        return max(min(self.interval, self.deadline - time.monotonic()), 0.01)

    def run(self) -> None:
        while not self._done.wait(self._next_wait()):
            if self.reason is None and time.monotonic() >= self.deadline:
                self.reason = StopReason.timeout
            try:
                task = self.tasks.heartbeat(self.task_id, self.attempt, self.progress)
            except Exception as exc:  # the store is down: keep running, try again next beat
                log.warning("task %s: heartbeat not recorded: %s", self.task_id, exc)
                task = None
            if self.reason is None and task is not None and task.get("cancel_requested"):
                self.reason = StopReason.cancelled
            if self.reason is not None:
                self._stop_kernel()
