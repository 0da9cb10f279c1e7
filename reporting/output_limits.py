"""How much of an executed notebook's output a report may hold.

A notebook that prints 100,000 lines must not become a 1,500-page PDF (nor take the worker's
memory and minutes to lay one out). Before export, the worker bounds the executed notebook's
outputs in place (the stored notebook keeps all of them):

- per cell: at most ``cell_lines`` lines and ``cell_chars`` characters of text (streams,
  text outputs, tracebacks); a stream is cut at a line boundary, a rich output (HTML,
  Markdown) that does not fit is left out whole; images do not count here;
- per report: at most ``report_bytes`` of outputs in all (text and images); once reached,
  the outputs of later cells are left out (markdown cells stay);
- each cut leaves a visible note in the report: "Output truncated: ...";
- stderr does not count (reports leave it out).

Beyond ``hard_bytes`` of output the run is not exported at all: it ends ``failed`` with
reason ``output_limit`` (``OutputLimitExceeded``) and its notebook is kept. The execution
already stops keeping outputs past that much (reporting/execution.py), so a runaway notebook
cannot fill the worker's memory either.

A successful ``sys.exit(0)`` (papermill treats it as success) leaves no "SystemExit" box.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import nbformat

from reporting.errors import ReportbookError

OUTPUT_EXCEEDED_KEY = "reportbook_output_exceeded"  # set by reporting.execution while running
_TEXT_MIMETYPES = ("text/plain", "text/html", "text/markdown", "text/latex")


@dataclass(frozen=True)
class OutputLimits:
    cell_lines: int = 500
    cell_chars: int = 50_000
    report_bytes: int = 20_000_000
    hard_bytes: int = 200_000_000


class OutputLimitExceeded(ReportbookError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"the notebook's outputs are {size:,} bytes, more than the {limit:,} a run may "
            "produce (OUTPUT_HARD_LIMIT_BYTES); the executed notebook is kept"
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "".join(value)


def _size(output: nbformat.NotebookNode) -> int:
    """Bytes an output adds to the report (approximately: characters)."""
    kind = output.get("output_type")
    if kind == "stream":
        return len(_text(output.get("text", "")))
    if kind == "error":
        return sum(map(len, output.get("traceback") or [])) + len(str(output.get("evalue", "")))
    return sum(
        len(_text(v)) if isinstance(v, str | list) else 0 for v in output.get("data", {}).values()
    )


def _text_size(output: nbformat.NotebookNode) -> tuple[int, int]:
    """(characters, lines) of text an output shows; images count 0."""
    kind = output.get("output_type")
    if kind == "stream":
        text = _text(output.get("text", ""))
    elif kind == "error":
        text = "\n".join(output.get("traceback") or [])
    else:
        texts = [_text(output["data"][m]) for m in _TEXT_MIMETYPES if m in output.get("data", {})]
        text = max(texts, key=len, default="")
    return len(text), len(text.splitlines())


def output_size(nb: nbformat.NotebookNode) -> int:
    return sum(_size(o) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def is_clean_exit(output: nbformat.NotebookNode) -> bool:
    return (
        output.get("output_type") == "error"
        and output.get("ename") == "SystemExit"
        and str(output.get("evalue", "")) in ("", "0", "None")
    )


def _note(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output(
        "display_data",
        data={
            "text/markdown": f"**Output truncated:** {text}",
            "text/plain": f"Output truncated: {text}",
        },
        metadata={"reportbook": {"truncated": True}},
    )


def _coalesced(outputs: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """Consecutive stream outputs of the same stream as one (the kernel sends many)."""
    merged: list[nbformat.NotebookNode] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and output.get("output_type") == "stream"
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] = _text(previous["text"]) + _text(output.get("text", ""))
        else:
            merged.append(output)
    return merged


def _cut(text: str, lines: int, chars: int) -> str:
    kept = "".join(text.splitlines(keepends=True)[:lines])[:chars]
    if len(kept) < len(text) and "\n" in kept and not kept.endswith("\n"):
        kept = kept[: kept.rindex("\n") + 1]  # whole lines only
    return kept


def bound_outputs(nb: nbformat.NotebookNode, limits: OutputLimits) -> int:
    """Bound `nb`'s outputs for a report, in place (see the module). Returns how many cells
    were cut. Raises OutputLimitExceeded beyond the hard limit."""
    total = max(output_size(nb), nb.metadata.get(OUTPUT_EXCEEDED_KEY) or 0)
    if total > limits.hard_bytes:
        raise OutputLimitExceeded(total, limits.hard_bytes)
    cut_cells, used, report_full = 0, 0, False
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.get("outputs"):
            continue
        if report_full:
            cell.outputs = []
            continue
        kept, chars, lines, cut = [], 0, 0, False
        outputs = [o for o in _coalesced(cell.outputs) if not is_clean_exit(o)]
        shown = sum(_text_size(o)[0] for o in outputs if o.get("name") != "stderr")
        for output in outputs:
            if cut:
                break
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                kept.append(output)  # not in the report (the exporter leaves stderr out)
                continue
            size, (n_chars, n_lines) = _size(output), _text_size(output)
            if used + size > limits.report_bytes:
                report_full = True
                break
            if chars + n_chars <= limits.cell_chars and lines + n_lines <= limits.cell_lines:
                kept.append(output)
            elif output.get("output_type") == "stream":
                output["text"] = _cut(
                    _text(output["text"]), limits.cell_lines - lines, limits.cell_chars - chars
                )
                kept.append(output)
                cut = True
            else:
                cut = True
                break
            chars, lines = chars + _text_size(kept[-1])[0], lines + _text_size(kept[-1])[1]
            used += _size(kept[-1])
        if cut:
            cut_cells += 1
            kept.append(
                _note(
                    f"this cell's output is {shown:,} characters; the report shows at most "
                    f"{limits.cell_lines:,} lines and {limits.cell_chars:,} characters of it. "
                    "The executed notebook has all of it."
                )
            )
        if report_full:
            cut_cells += 1
            kept.append(
                _note(
                    f"the report reached its limit of {limits.report_bytes:,} bytes of output; "
                    "the outputs after this point are left out. The executed notebook has "
                    "all of them."
                )
            )
        cell.outputs = kept
    return cut_cells
