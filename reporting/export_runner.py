"""The worker's export of a report, in a child process with its own timeout.

Rendering is CPU-bound library code (nbconvert, WeasyPrint) that cannot be interrupted from
another thread, so it runs in a forked child (which inherits the worker's warm exporter and
the notebook, nothing to pickle) and writes ``report.html`` and ``report.pdf`` to a folder.
The parent waits, polling ``should_stop`` (a cancel), and kills the child at the deadline:
``ExportFailed`` (``ExportTimeout``), or ``ExportFailed`` with what the child raised.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

from reporting.errors import ReportbookError
from reporting.export import ReportMeta, export_report

POLL_SECONDS = 0.2


class ExportFailed(ReportbookError):
    def __init__(self, ename: str, evalue: str) -> None:
        super().__init__(f"{ename}: {evalue}")
        self.ename = ename
        self.evalue = evalue


class ExportStopped(ReportbookError):
    """`should_stop` said so (the task was cancelled); the child was killed."""


def _child(
    nb: nbformat.NotebookNode, resources: dict[str, Any], meta: ReportMeta, folder: Path
) -> None:
    code = 1
    try:
        html, pdf = export_report(nb, resources, meta=meta)
        (folder / "report.html").write_text(html, encoding="utf-8")
        (folder / "report.pdf").write_bytes(pdf)
        code = 0
    except BaseException as exc:  # reported to the parent, which records it
        error = {"ename": type(exc).__name__, "evalue": str(exc)[-2000:]}
        (folder / "error.json").write_text(json.dumps(error), encoding="utf-8")
    finally:
        os._exit(code)  # no atexit handlers of the worker (store clients, Sentry) in a child


def export_in_child(
    nb: nbformat.NotebookNode,
    resources: dict[str, Any],
    meta: ReportMeta,
    folder: Path,
    timeout: float,
    should_stop: Callable[[], bool] = lambda: False,
) -> tuple[str, bytes]:
    """``export_report(nb, resources, meta=meta)`` in a child process: ``(html, pdf)``.
    Raises ExportFailed (an error, or longer than `timeout` seconds) or ExportStopped."""
    folder.mkdir(parents=True, exist_ok=True)
    process = multiprocessing.get_context("fork").Process(
        target=_child, args=(nb, resources, meta, folder), name="report-export"
    )
    process.start()
    deadline = time.monotonic() + timeout
    try:
        while process.is_alive():
            process.join(POLL_SECONDS)
            if not process.is_alive():
                break
            if should_stop():
                raise ExportStopped("the export was stopped")
            if time.monotonic() > deadline:
                raise ExportFailed(
                    "ExportTimeout",
                    f"the export took longer than {timeout:g} s (EXPORT_TIMEOUT_SECONDS)",
                )
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        process.close()
    error = folder / "error.json"
    if error.exists():
        raised = json.loads(error.read_text(encoding="utf-8"))
        raise ExportFailed(raised["ename"], raised["evalue"])
    try:
        return (folder / "report.html").read_text(encoding="utf-8"), (
            folder / "report.pdf"
        ).read_bytes()
    except FileNotFoundError:
        raise ExportFailed("ExportDied", "the export process ended without a report") from None
