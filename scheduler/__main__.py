"""`python -m scheduler`: the scheduler process (ticks until SIGINT/SIGTERM/SIGHUP)."""

from __future__ import annotations

import signal
import threading

from reporting.logs import configure_logging
from reporting.settings import load_settings
from reporting.telemetry import init_sentry
from scheduler.tick import run_scheduler


def main() -> None:
    settings = load_settings()
    configure_logging(settings)
    init_sentry(settings, "scheduler")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    run_scheduler(settings, stop)


if __name__ == "__main__":
    main()
