"""Stopping the helper servers the tests start in their own process group (the Firebase
emulator, n8n): SIGTERM the group, SIGKILL what is left after a grace period. The leader is
reaped only at the end, so the group id stays ours throughout."""

from __future__ import annotations

import os
import signal
import subprocess
import time


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
