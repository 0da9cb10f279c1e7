"""What `reportbook run` does while the product runs: keep each child process alive.

A child that exits is started again after a backoff (0.5 s, doubling up to 8 s). A child that
keeps dying soon after each start (MAX_QUICK_FAILURES exits, each within STABLE_SECONDS of its
start) is given up: the reason is logged and written to the status file that `/readiness`
reads (`<data dir>/supervision.json`), and the rest of the product keeps running. A child
marked `essential` (the API) is not restarted: its death stops the product.

RQ's own WorkerPool keeps N workers alive, but only workers, in its own process, with neither
backoff nor a give-up; here the scheduler, Redis and the workers (each with its kernel
template) are supervised alike, so one small loop serves them all.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("reportbook")

STABLE_SECONDS = 30.0  # a child that ran this long had a real run: its failures start over
MAX_QUICK_FAILURES = 5
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 8.0
STATUS_FILE = "supervision.json"


@dataclass
class Child:
    """One supervised process: how to start it, and what happened to it so far."""

    name: str
    start: Callable[[], subprocess.Popen]
    essential: bool = False
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    quick_failures: int = 0
    restart_at: float | None = None
    gave_up: str | None = None
    last_exit: int | None = None

    def launch(self) -> None:
        self.process = self.start()
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def state(self) -> str:
        if self.gave_up:
            return "gave up"
        if self.process is not None and self.process.poll() is None:
            return "running"
        return "restarting"

    def describe(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "pid": self.process.pid if self.process is not None else None,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "reason": self.gave_up,
        }


class Supervisor:
    """Starts children, restarts them with backoff, gives up on crash loops, and keeps
    `status_path` up to date for `/readiness`."""

    def __init__(self, status_path: Path) -> None:
        self.status_path = status_path
        self.children: list[Child] = []

    def add(
        self, name: str, start: Callable[[], subprocess.Popen], essential: bool = False
    ) -> Child:
        child = Child(name, start, essential)
        child.launch()
        self.children.append(child)
        self.write_status()
        return child

    def processes(
        self, only: str | None = None, exclude: str | None = None
    ) -> list[subprocess.Popen]:
        """The current process of each child (of the one named `only`, or all but `exclude`)."""
        return [
            c.process
            for c in self.children
            if c.process is not None and c.name != exclude and (only is None or c.name == only)
        ]

    def check(self) -> Child | None:
        """One round: note exits, restart what is due. Returns an essential child that
        exited (the product must stop), else None."""
        now = time.monotonic()
        changed = False
        for child in self.children:
            if child.gave_up or child.process is None:
                continue
            if child.restart_at is None:
                code = child.process.poll()
                if code is None:
                    continue
                child.last_exit = code
                if child.essential:
                    return child
                changed = True
                self._exited(child, code, now)
            if child.restart_at is not None and now >= child.restart_at:
                try:
                    child.launch()
                except Exception as exc:  # it could not even start: counts as a quick failure
                    log.error("%s could not be started: %s", child.name, exc)
                    self._exited(child, None, now)
                    continue
                child.restarts += 1
                log.warning("%s restarted (pid %d, restart %d)", child.name,
                            child.process.pid, child.restarts)  # fmt: skip
                changed = True
        if changed:
            self.write_status()
        return None

    def _exited(self, child: Child, code: int | None, now: float) -> None:
        quick = now - child.started_at < STABLE_SECONDS
        child.quick_failures = child.quick_failures + 1 if quick else 1
        if child.quick_failures >= MAX_QUICK_FAILURES:
            child.gave_up = (
                f"exited {child.quick_failures} times in a row within {STABLE_SECONDS:g} s of "
                f"starting (last exit code {code}); not restarted again: see its log lines above"
            )
            child.restart_at = None
            log.error("%s %s", child.name, child.gave_up)
            return
        delay = min(FIRST_BACKOFF * 2 ** (child.quick_failures - 1), MAX_BACKOFF)
        child.restart_at = now + delay
        log.warning("%s (pid %d) exited with %s; restarting in %.1f s", child.name,
                    child.process.pid if child.process else -1, code, delay)  # fmt: skip

    def write_status(self) -> None:
        """Atomically replace the status file read by `/readiness`."""
        status = {
            "launcher_pid": os.getpid(),
            "processes": {c.name: c.describe() for c in self.children},
        }
        tmp = self.status_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(status, indent=1))
        os.replace(tmp, self.status_path)

    def remove_status(self) -> None:
        self.status_path.unlink(missing_ok=True)


def read_status(data_dir: Path) -> dict[str, Any] | None:
    """The launcher's status file, when a launcher that is still alive wrote it."""
    try:
        status = json.loads((data_dir / STATUS_FILE).read_text())
        os.kill(int(status["launcher_pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return status
