"""Run one notebook with papermill and say precisely how it went."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from reporting.errors import ReportbookError
from reporting.notebooks import NotebookSpec

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
INJECTED_TAG = "injected-parameters"
ERROR_TAG = "papermill-error-cell-tag"


class NotebookFailed(ReportbookError):
    """A cell raised. `notebook` is the partial executed notebook, outputs up to the error."""

    def __init__(self, error: dict[str, Any], notebook: nbformat.NotebookNode) -> None:
        super().__init__(f"{error['ename']}: {error['evalue']} (cell {error['cell_index']})")
        self.error = error
        self.notebook = notebook


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
    cell_timeout: int | None = None,
) -> Execution:
    """Execute `spec` with `parameters` into `output_path`.

    Raises NotebookFailed (with the partial notebook, which papermill saved first) when a cell
    raises.
    """
    started = time.perf_counter()
    try:
        nb = papermill.execute_notebook(
            str(spec.path),
            str(output_path),
            parameters=parameters,
            kernel_name=kernel_name,
            progress_bar=False,
            request_save_on_cell_execute=False,
            cwd=str(spec.path.parent),
            execution_timeout=cell_timeout,
        )
    except PapermillExecutionError as exc:
        partial = nbformat.read(output_path, as_version=4)
        raise NotebookFailed(_error(exc, partial), partial) from None
    seconds = time.perf_counter() - started
    cell_seconds = sum((c.metadata.get("papermill", {}).get("duration") or 0.0) for c in nb.cells)
    return Execution(nb, seconds, cell_seconds)
