"""`python -m scheduler.worker`: an RQ worker on the report queue, configured from Settings."""

from __future__ import annotations

import gc
import logging
import sys
import time

import nbformat
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from redis import Redis
from redis.exceptions import RedisError
from rq import Worker

from reporting.export import export_report
from reporting.logs import configure_logging
from reporting.queue import TaskQueue
from reporting.settings import load_settings
from reporting.telemetry import init_sentry
from scheduler import jobs  # noqa: F401  imported before forking: job processes inherit it
from scheduler.kernel_pool import PooledWorker
from scheduler.report_worker import ReportWorker

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Render one tiny report before forking job processes: each job then inherits loaded
    templates, fonts and imports instead of paying for them again (~1 s per report). The
    job module (papermill, nbclient) is imported above for the same reason (~0.25 s).

    Then everything loaded so far is moved out of the garbage collector's reach
    (`gc.freeze`): without it, the first full collection in each job process walks the whole
    inherited heap, ~0.17 s per report, and copies the pages it touches (BENCHMARKS.md)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Warm-up\n\ntext")])
    export_report(nb)
    gc.collect()
    gc.freeze()


def kernel_installed(name: str) -> bool:
    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return False
    return True


def wait_for_redis(redis: Redis) -> None:
    """Block until Redis answers (it may be restarting): a worker started meanwhile waits
    instead of exiting at once and being counted as crashing."""
    delay = 0.2
    while True:
        try:
            redis.ping()
            return
        except RedisError as exc:
            log.warning("waiting for Redis: %s", exc)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def main() -> None:
    settings = load_settings()
    configure_logging(settings)
    if not kernel_installed(settings.kernel_name):
        # A worker could run nothing: it exits, and `reportbook run` reports it in /readiness.
        log.error("KERNEL_NAME %r is not an installed Jupyter kernel", settings.kernel_name)
        sys.exit(2)
    init_sentry(settings, "worker")  # before forking: every job process inherits it
    queue = TaskQueue(settings)
    wait_for_redis(queue.redis)
    warm_up()
    # Listens on high, normal, low: always takes from the highest non-empty queue first.
    worker: Worker
    if settings.kernel_pool and settings.kernel_name == "python3":
        worker = PooledWorker(
            queue.in_order, connection=queue.redis, settings=settings,
            kernel_cwd=settings.notebooks_dir,
        )  # fmt: skip
    else:
        worker = ReportWorker(queue.in_order, connection=queue.redis, settings=settings)
    worker.work(logging_level="INFO")


if __name__ == "__main__":
    main()
