"""Run one notebook with papermill and say precisely how it went.

Every cell of the notebook as the analyst wrote it is marked with its index in the file
(``metadata.reportbook.cell``) before papermill runs it, so an error record names the
analyst's own cell whatever papermill adds or removes (the injected parameters, error
banners left by an earlier run); a stale ``injected-parameters`` cell is dropped on every run,
also when a task passes no parameters (papermill injects a fresh one when it has any).
"""

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
from reporting.output_limits import OUTPUT_EXCEEDED_KEY

log = logging.getLogger(__name__)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
INJECTED_TAG = "injected-parameters"
SOURCE_CELL_KEY = "cell"  # metadata.reportbook.cell: the cell's index in the notebook file
_STDERR_ERROR = re.compile(r"^(?P<ename>[A-Za-z_][\w.]*(?:Error|Exception)): ?(?P<evalue>.*)$")


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


def _message_size(content: dict[str, Any]) -> int:
    """Characters an output message adds to the notebook (text, data, traceback)."""
    size = len(content.get("text") or "")
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(str(value))
    return size + sum(len(line) for line in content.get("traceback") or [])


class BoundedNotebookClient(PapermillNotebookClient):
    """Keeps at most `max_output_bytes` of output in the notebook while it runs: past that,
    outputs are dropped as they come (the run's memory stays bounded) and the notebook's
    metadata says how much came (OUTPUT_EXCEEDED_KEY), which fails the run `output_limit`."""

    max_output_bytes: int | None = None
    received = 0

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content") or {}
        size = _message_size(content)
        room = None if self.max_output_bytes is None else self.max_output_bytes - self.received
        self.received += size
        if room is not None and size > room:
            self.nb.metadata[OUTPUT_EXCEEDED_KEY] = self.received
            if msg.get("msg_type") != "stream" or room <= 0:
                return None
            msg = {**msg, "content": {**content, "text": content.get("text", "")[:room]}}
        return super().output(outs, msg, display_id, cell_index)


class ProgressEngine(NBClientEngine):
    """papermill's nbclient engine that reports each cell as it starts:
    `on_cell(index, of, kernel_pid)` (the pid lets a watchdog stop exactly this kernel),
    saves the partial notebook to `partial_path` when the kernel dies mid-run, and keeps at
    most `max_output_bytes` of output (BoundedNotebookClient)."""

    @classmethod
    def execute_managed_notebook(
        cls, nb_man, kernel_name, on_cell=None, partial_path=None, start_timeout=60,
        source_path=None, max_output_bytes=None, **kwargs,
    ):  # fmt: skip
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        if source_path is not None:  # the notebook came in memory: record where it was read
            nb_man.nb.metadata.papermill["input_path"] = source_path
        client = BoundedNotebookClient(
            nb_man,
            **merge_kwargs(kwargs, startup_timeout=start_timeout, kernel_name=kernel_name, log=log),
        )
        client.max_output_bytes = max_output_bytes
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


def source_cell_index(nb: nbformat.NotebookNode | None, index: int | None) -> int | None:
    """The analyst's number (its index in the notebook file) of cell `index` of an executed
    notebook; None for a cell papermill added or when it is not known."""
    if nb is None or index is None or not 0 <= index < len(nb.cells):
        return None
    value = nb.cells[index].get("metadata", {}).get("reportbook", {}).get(SOURCE_CELL_KEY)
    return value if isinstance(value, int) else None


def prepared(path: Path) -> nbformat.NotebookNode:
    """The notebook at `path` ready for papermill: each cell marked with its index in the
    file, stale injected-parameters cells dropped."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        own = cell.metadata.get("reportbook")
        cell.metadata["reportbook"] = {**(own if isinstance(own, dict) else {}),
                                       SOURCE_CELL_KEY: index}  # fmt: skip
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in c.metadata.get("tags", [])]
    return nb


def _failed_cell(nb: nbformat.NotebookNode) -> int | None:
    for index, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("papermill", {}).get("exception") is True:
            return index
    return None


def _stderr_error(cell: nbformat.NotebookNode | None) -> tuple[str, str] | None:
    """What a cell that failed without an error output (an unknown line magic: IPython's
    UsageError goes to stderr only) said on stderr: (ename, evalue)."""
    if cell is None:
        return None
    text = "".join(
        o.get("text", "")
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )
    lines = [ANSI.sub("", line).strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        match = _STDERR_ERROR.match(line)
        if match:
            return match["ename"], match["evalue"]
    return ("CellExecutionError", "\n".join(lines)[-4000:]) if lines else None


def _error(exc: PapermillExecutionError, nb: nbformat.NotebookNode) -> dict[str, Any]:
    # The saved notebook has papermill's error banners in it: find the cell by its mark.
    index = _failed_cell(nb)
    cell = nb.cells[index] if index is not None else None
    ename, evalue = exc.ename, exc.evalue
    traceback = [ANSI.sub("", line) for line in exc.traceback or []]
    if not evalue and not traceback:
        ename, evalue = _stderr_error(cell) or (ename, evalue)
    return {
        "cell_index": source_cell_index(nb, index),
        "execution_count": exc.exec_count,
        "ename": ename,
        "evalue": evalue,
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
    max_output_bytes: int | None = None,
) -> Execution:
    """Execute `spec` with `parameters` into `output_path`, calling
    `on_cell(index, of, kernel_pid)` as each cell starts; past `max_output_bytes` of output,
    later outputs are dropped and the notebook's metadata says so (OUTPUT_EXCEEDED_KEY).

    Raises NotebookFailed when a cell raises and NotebookInterrupted when the kernel dies or
    is stopped, each with the partial notebook (papermill saves it before raising).
    """
    started = time.perf_counter()
    try:
        nb = papermill.execute_notebook(
            prepared(spec.path),
            str(output_path),
            parameters=parameters,
            engine_name="reportbook",
            kernel_name=kernel_name,
            progress_bar=False,
            request_save_on_cell_execute=False,
            cwd=str(spec.path.parent),
            on_cell=on_cell,
            partial_path=str(output_path),
            source_path=str(spec.path),
            max_output_bytes=max_output_bytes,
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
