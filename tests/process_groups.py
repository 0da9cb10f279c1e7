"""The helper servers the tests start in their own process group (the Firebase emulator,
n8n): one running server per test process, shared by every fixture that asks for it; and
stopping them: SIGTERM the group, SIGKILL what is left after a grace period. The leader is
reaped only at the end, so the group id stays ours throughout."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

_running: dict[str, list[Any]] = {}  # fixture name -> servers started by shared_fixture


def shared_fixture(
    name: str,
    scope: str,
    start: Callable[[Path], AbstractContextManager[Any]],
    unavailable: Callable[[], str | None] = lambda: None,
):
    """A pytest fixture `name` for the scope. The first to run starts the server with
    `start(a temporary dir)`; a fixture of the same name registered elsewhere (conftest and a
    module) reuses it while it runs: one process, one server. Skips with the reason
    `unavailable()` gives, if any."""
    running = _running.setdefault(name, [])

    @pytest.fixture(scope=scope, name=name)
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
        reason = unavailable()
        if reason is not None:
            pytest.skip(reason)
        if running:
            yield running[-1]
            return
        with start(tmp_path_factory.mktemp(name)) as started:
            running.append(started)
            try:
                yield started
            finally:
                running.remove(started)

    return server


def exited(process: subprocess.Popen) -> bool:
    """Whether the process has exited, without reaping it."""
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def stop_group(process: subprocess.Popen, grace: float) -> None:
    if process.returncode is not None:  # already reaped (it died while starting)
        return
    os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not exited(process):
        time.sleep(0.05)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
