"""Run one notebook with papermill and say precisely how it went."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.exceptions import PapermillExecutionError
from papermill.utils import merge_kwargs, remove_args

from reporting.errors import ReportbookError
from reporting.notebooks import NotebookSpec

log = logging.getLogger(__name__)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
INJECTED_TAG = "injected-parameters"
ERROR_TAG = "papermill-error-cell-tag"


class NotebookFailed(ReportbookError):
    """A cell raised. `notebook` is the partial executed notebook, outputs up to the error."""

    def __init__(self, error: dict[str, Any], notebook: nbformat.NotebookNode) -> None:
        super().__init__(f"{error['ename']}: {error['evalue']} (cell {error['cell_index']})")
        self.error = error
        self.notebook = notebook


class NotebookInterrupted(ReportbookError):
    """The run stopped without a cell error: the kernel died or was stopped (cancel, timeout).
    `notebook` is the partial executed notebook when papermill could save one."""

    def __init__(self, cause: BaseException, notebook: nbformat.NotebookNode | None) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause
        self.notebook = notebook


class ProgressEngine(NBClientEngine):
    """papermill's nbclient engine that reports each cell as it starts:
    `on_cell(index, of, kernel_pid)` (the pid lets a watchdog stop exactly this kernel), and
    saves the partial notebook to `partial_path` when the kernel dies mid-run."""

    @classmethod
    def execute_managed_notebook(
        cls, nb_man, kernel_name, on_cell=None, partial_path=None, start_timeout=60, **kwargs
    ):
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        client = PapermillNotebookClient(
            nb_man,
            **merge_kwargs(kwargs, startup_timeout=start_timeout, kernel_name=kernel_name, log=log),
        )
        if on_cell is not None:
            cell_start = nb_man.cell_start

            def reporting_cell_start(cell, cell_index=None, **kw):
                provisioner = getattr(client.km, "provisioner", None)
                on_cell(cell_index, len(nb_man.nb.cells), getattr(provisioner, "pid", None))
                return cell_start(cell, cell_index, **kw)

            nb_man.cell_start = reporting_cell_start
        try:
            return client.execute()
        except Exception:
            if partial_path is not None:  # keep what ran before the kernel died or was stopped
                nbformat.write(nb_man.nb, partial_path)
            raise


papermill_engines.register("reportbook", ProgressEngine)


@dataclass
class Execution:
    notebook: nbformat.NotebookNode
    seconds: float
    cell_seconds: float


def _source_cell_index(nb: nbformat.NotebookNode, executed_index: int) -> int:
    """Index of the failing cell in the notebook as the analyst wrote it (without the cells
    papermill adds: injected parameters, error banners)."""
    added = sum(
        1
        for cell in nb.cells[:executed_index]
        if {INJECTED_TAG, ERROR_TAG} & set(cell.get("metadata", {}).get("tags", []))
    )
    return executed_index - added


def _error(exc: PapermillExecutionError, nb: nbformat.NotebookNode) -> dict[str, Any]:
    # The saved notebook has papermill's error banner on top and an anchor before the cell.
    index = next(
        (
            i
            for i, c in enumerate(nb.cells)
            if any(o.get("output_type") == "error" for o in c.get("outputs", []))
        ),
        exc.cell_index,
    )
    traceback = [ANSI.sub("", line) for line in exc.traceback or []]
    return {
        "cell_index": _source_cell_index(nb, index),
        "execution_count": exc.exec_count,
        "ename": exc.ename,
        "evalue": exc.evalue,
        "source": exc.source,
        "traceback": "\n".join(traceback)[-4000:],
    }


def execute(
    spec: NotebookSpec,
    parameters: dict[str, Any],
    output_path: Path,
    kernel_name: str,
    on_cell: Callable[[int, int, int | None], None] | None = None,
    km: Any = None,
) -> Execution:
    """Execute `spec` with `parameters` into `output_path`, calling
    `on_cell(index, of, kernel_pid)` as each cell starts.

    Raises NotebookFailed when a cell raises and NotebookInterrupted when the kernel dies or
    is stopped, each with the partial notebook (papermill saves it before raising).
    """
    started = time.perf_counter()
    try:
        nb = papermill.execute_notebook(
            str(spec.path),
            str(output_path),
            parameters=parameters,
            engine_name="reportbook",
            kernel_name=kernel_name,
            progress_bar=False,
            request_save_on_cell_execute=False,
            cwd=str(spec.path.parent),
            on_cell=on_cell,
            partial_path=str(output_path),
            km=km,  # a pre-started kernel, or None: papermill starts one
        )
    except PapermillExecutionError as exc:
        partial = nbformat.read(output_path, as_version=4)
        raise NotebookFailed(_error(exc, partial), partial) from None
    except Exception as exc:  # the kernel died or was killed mid-cell
        partial = nbformat.read(output_path, as_version=4) if output_path.exists() else None
        raise NotebookInterrupted(exc, partial) from exc
    seconds = time.perf_counter() - started
    cell_seconds = sum((c.metadata.get("papermill", {}).get("duration") or 0.0) for c in nb.cells)
    return Execution(nb, seconds, cell_seconds)
