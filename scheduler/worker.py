"""`python -m scheduler.worker`: an RQ worker on the report queue, configured from Settings."""

from __future__ import annotations

from rq import Worker

from reporting.logs import configure_logging
from reporting.queue import connect_redis, report_queue
from reporting.settings import load_settings


def main() -> None:
    configure_logging()
    settings = load_settings()
    redis = connect_redis(settings)
    worker = Worker([report_queue(settings, redis)], connection=redis)
    worker.work(logging_level="INFO")


if __name__ == "__main__":
    main()
