"""`reportbook run`: the whole product on one machine, in the foreground.

Starts what is not configured (a private redis-server; a mongod when one is on PATH, else the
embedded store), makes a master key when none is set, seeds the sample data, then runs the
API, the workers and the scheduler until Ctrl-C / SIGTERM / SIGHUP, and stops everything it
started, in parallel, within 10 s. Meanwhile it supervises them (reporting/supervision.py):
a dead worker, scheduler or Redis is started again; only the API's death stops the product.
Every child dies with the launcher, even when the launcher is SIGKILLed.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from reporting.processes import (
    bound_to_parent,
    die_with_parent,
    free_port,
    start_mongod,
    start_redis,
    stop_all,
    wait_for_port,
)
from reporting.sample_data import seed_sample_data, seed_sample_product
from reporting.settings import Settings, load_settings, read_or_create_secret
from reporting.store import open_store
from reporting.supervision import STATUS_FILE, Supervisor

log = logging.getLogger("reportbook")


def ensure_master_key(settings: Settings) -> Path | None:
    """Write a new master key to `<data dir>/master.key` (mode 0600) when none is configured."""
    path = settings.master_key_file
    if settings.master_key is not None and not path.is_file():
        return None  # MASTER_KEY is configured
    read_or_create_secret(path)
    return path


def seed(settings: Settings) -> int:
    """Load the sample Reddit data and its sample folder and product (once each)."""
    store = open_store(settings)
    try:
        product = seed_sample_product(store.db)
        return seed_sample_data(store.db, product["slug"]) if product is not None else 0
    finally:
        store.close()


def _banner(host: str, port: int, key_file: Path | None) -> str:
    base = f"http://{host}:{port}"
    master = f"$(cat {key_file})" if key_file else "$MASTER_KEY"
    lines = [
        "",
        f"Reportbook is running: {base}  (API docs: {base}/docs)",
        f"Master key: {key_file} (mode 0600)" if key_file else "Master key: from MASTER_KEY",
        "Create your first API key:",
        f'  curl -s -X POST {base}/v1/admin/api-keys -H "X-Master-Key: {master}" \\',
        '       -H \'Content-Type: application/json\' -d \'{"name": "me", "role": "admin"}\'',
        "Press Ctrl-C to stop.",
        "",
    ]
    return "\n".join(lines)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# Children get this long to stop (in parallel), Redis and mongod 2 s more: the whole stop fits
# the 10 s grace a container runtime gives before its SIGKILL.
STOP_GRACE = 7.0


class ParentWatch:
    """`reportbook run --exit-with-parent`, what `make run` uses. The product stops when its
    parent dies (PR_SET_PDEATHSIG: SIGTERM to us), and also when the parent is merely asked
    to stop: make, sent SIGINT or SIGHUP to its own pid, waits for its child forever. Such a
    signal resets make's handler for it to the default, which /proc shows (SigCgt), so the
    launcher sees it within a poll."""

    FATAL = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)

    def __init__(self) -> None:
        self.pid = os.getppid()
        die_with_parent(signal.SIGTERM)
        mask = sum(1 << (sig - 1) for sig in self.FATAL)
        self.watched = self._caught() & mask

    def _caught(self) -> int:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16)
        return 0

    def signalled(self) -> bool:
        """Whether the parent is gone or has received a signal that stops it."""
        return os.getppid() != self.pid or self._caught() & self.watched != self.watched


def run(host: str, port: int, workers: int, exit_with_parent: bool = False) -> int:
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, REPORTBOOK_DATA_DIR=str(settings.data_dir))
    stopping = threading.Event()
    received: list[int] = []

    def request_stop(signum: int, _frame: object) -> None:
        received.append(signum)
        stopping.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, request_stop)
    parent = ParentWatch() if exit_with_parent else None
    supervisor = Supervisor(settings.data_dir / STATUS_FILE)
    servers: list[subprocess.Popen] = []  # mongod; stopped last with Redis
    # Every child dies with the launcher, even when it is SIGKILLed; Redis gets SIGTERM so
    # that it saves first.
    bound = bound_to_parent()
    try:
        if not os.environ.get("REDIS_URL"):
            redis_dir, redis_port = settings.data_dir / "redis", free_port()

            def private_redis() -> subprocess.Popen:
                # Same port, password and directory on every restart: clients reconnect.
                process, env["REDIS_URL"] = start_redis(
                    redis_dir, redis_port, bound_to_parent(signal.SIGTERM)
                )
                return process

            supervisor.add("redis", private_redis)
            log.info("started redis-server on 127.0.0.1:%d (password in %s)", redis_port,
                     redis_dir / "redis.password")  # fmt: skip
        if not settings.mongodb_uri:
            mongod = start_mongod(settings.data_dir / "mongo", bound)
            if mongod is not None:
                servers.append(mongod[0])
                env["MONGODB_URI"] = mongod[1]
                log.info("started mongod at %s", mongod[1])
            else:
                log.info(
                    "no MONGODB_URI and no mongod on PATH: embedded store in %s",
                    settings.embedded_db_dir,
                )
        key_file = ensure_master_key(settings)
        settings = load_settings(redis_url=env["REDIS_URL"], mongodb_uri=env.get("MONGODB_URI"))
        log.info("sample data: %d posts added", seed(settings))

        def spawn(*command: str) -> Callable[[], subprocess.Popen]:
            return lambda: subprocess.Popen(
                [sys.executable, *command], env=env, start_new_session=True, preexec_fn=bound
            )

        api = supervisor.add(
            "api",
            spawn("-m", "uvicorn", "--factory", "service.main:create_app", "--host", host,
                  "--port", str(port), "--no-access-log"),
            essential=True,
        )  # fmt: skip
        supervisor.add("scheduler", spawn("-m", "scheduler"))
        for n in range(1, workers + 1):
            supervisor.add(f"worker-{n}", spawn("-m", "scheduler.worker"))
        wait_for_port(port, timeout=60, process=api.process)
        print(_banner(host, port, key_file), flush=True)
        while not stopping.wait(0.5):
            if parent is not None and parent.signalled():
                log.info("the parent process (pid %d) was asked to stop; stopping", parent.pid)
                return 0
            ended = supervisor.check()
            if ended is not None:
                log.error("the API exited with %s; stopping", ended.last_exit)
                return 1
        log.info("%s received; stopping", signal.Signals(received[0]).name)
        return 0
    finally:
        started = time.monotonic()
        # Redis last: the others may still write to it as they stop.
        children = supervisor.processes(exclude="redis")
        stop_all(reversed(children), timeout=STOP_GRACE)
        servers += supervisor.processes(only="redis")
        stop_all(servers, timeout=2)
        supervisor.remove_status()
        log.info("stopped %d process(es) in %.1f s", len(children) + len(servers),
                 time.monotonic() - started)  # fmt: skip
