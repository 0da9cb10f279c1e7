"""`reportbook run`: the whole product on one machine, in the foreground.

Starts what is not configured (a private redis-server; a mongod when one is on PATH, else the
embedded store), makes a master key when none is set, seeds the sample data, then runs the
API, the workers and the scheduler until Ctrl-C / SIGTERM, and stops everything it started.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from reporting.processes import start_mongod, start_redis, stop, wait_for_port
from reporting.sample_data import seed_sample_data, seed_sample_product
from reporting.settings import Settings, load_settings, read_or_create_secret
from reporting.store import open_store

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
        seed_sample_product(store.db)
        return seed_sample_data(store.db)
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


def run(host: str, port: int, workers: int) -> int:
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, REPORTBOOK_DATA_DIR=str(settings.data_dir))
    started: list[subprocess.Popen] = []
    stopping = threading.Event()

    def request_stop(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        if not os.environ.get("REDIS_URL"):
            process, env["REDIS_URL"] = start_redis(settings.data_dir / "redis")
            started.append(process)
            log.info("started redis-server at %s", env["REDIS_URL"])
        if not settings.mongodb_uri:
            mongod = start_mongod(settings.data_dir / "mongo")
            if mongod is not None:
                started.append(mongod[0])
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

        python = sys.executable
        commands = [
            [
                python,
                "-m",
                "uvicorn",
                "--factory",
                "service.main:create_app",
                "--host",
                host,
                "--port",
                str(port),
                "--no-access-log",
            ],
            [python, "-m", "scheduler"],
            *([python, "-m", "scheduler.worker"] for _ in range(workers)),
        ]
        children = [subprocess.Popen(c, env=env, start_new_session=True) for c in commands]
        started.extend(children)
        wait_for_port(port, timeout=60, process=children[0])
        print(_banner(host, port, key_file), flush=True)
        while not stopping.wait(0.5):
            dead = [c for c in children if c.poll() is not None]
            if dead:
                log.error("%s exited with %s; stopping", dead[0].args, dead[0].returncode)
                return 1
        return 0
    finally:
        for process in reversed(started):
            stop(process, timeout=15)
        log.info("stopped %d process(es)", len(started))
