"""`python -m scheduler.worker`: an RQ worker on the report queue, configured from Settings."""

from __future__ import annotations

import gc
import logging

import nbformat
from rq import Worker

from reporting.export import export_report
from reporting.logs import configure_logging
from reporting.queue import TaskQueue
from reporting.settings import load_settings
from reporting.telemetry import init_sentry
from scheduler import jobs  # noqa: F401  imported before forking: job processes inherit it
from scheduler.kernel_pool import PooledWorker

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


def main() -> None:
    settings = load_settings()
    configure_logging(settings)
    init_sentry(settings, "worker")  # before forking: every job process inherits it
    warm_up()
    queue = TaskQueue(settings)
    # Listens on high, normal, low: always takes from the highest non-empty queue first.
    if settings.kernel_pool and settings.kernel_name == "python3":
        worker: Worker = PooledWorker(
            queue.in_order, connection=queue.redis, kernel_cwd=settings.notebooks_dir
        )
    else:
        worker = Worker(queue.in_order, connection=queue.redis)
    worker.work(logging_level="INFO")


if __name__ == "__main__":
    main()
