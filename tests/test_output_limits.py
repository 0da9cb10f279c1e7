"""What a report may hold (reporting/output_limits.py), on notebooks as the kernel leaves them."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from reporting.export import export_report
from reporting.output_limits import OutputLimitExceeded, OutputLimits, bound_outputs
from tests.pdf_checks import pdf_words


def _stream(text: str, name: str = "stdout") -> nbformat.NotebookNode:
    return new_output("stream", name=name, text=text)


def _cell(*outputs: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = new_code_cell("...")
    cell.outputs = list(outputs)
    return cell


def _notes(cell: nbformat.NotebookNode) -> list[str]:
    return [o["data"]["text/plain"] for o in cell.outputs if "data" in o
            and o["data"].get("text/plain", "").startswith("Output truncated")]  # fmt: skip


def test_a_long_stream_is_cut_at_a_line_with_a_note():
    lines = "".join(f"line {i}\n" for i in range(1000))
    nb = new_notebook(cells=[_cell(_stream(lines[:3000]), _stream(lines[3000:]))])
    assert bound_outputs(nb, OutputLimits(cell_lines=100, cell_chars=50_000)) == 1
    text = nb.cells[0].outputs[0]["text"]
    assert text.endswith("line 99\n") and "line 100" not in text  # the streams were merged
    (note,) = _notes(nb.cells[0])
    assert "at most 100 lines" in note


def test_a_rich_output_that_does_not_fit_is_left_out_whole():
    table = "<table>" + "<tr><td>x</td></tr>" * 1000 + "</table>"
    html = new_output("display_data", data={"text/html": table, "text/plain": "a table"})
    nb = new_notebook(cells=[_cell(_stream("before\n"), html)])
    bound_outputs(nb, OutputLimits(cell_chars=1000))
    assert [o.get("output_type") for o in nb.cells[0].outputs] == ["stream", "display_data"]
    assert "<table>" not in str(nb.cells[0].outputs) and _notes(nb.cells[0])


def test_stderr_does_not_count_and_clean_exits_are_dropped():
    exit_box = new_output("error", ename="SystemExit", evalue="0", traceback=["SystemExit: 0"])
    failed_exit = new_output("error", ename="SystemExit", evalue="3", traceback=["SystemExit: 3"])
    nb = new_notebook(cells=[
        _cell(_stream("warning\n" * 5000, "stderr"), _stream("result\n"), exit_box),
        _cell(failed_exit),
    ])  # fmt: skip
    assert bound_outputs(nb, OutputLimits(cell_lines=10)) == 0
    assert [o.get("name") for o in nb.cells[0].outputs] == ["stderr", "stdout"]
    assert nb.cells[1].outputs[0]["evalue"] == "3"  # a failing exit is not hidden


def test_past_the_report_limit_later_outputs_are_left_out_and_markdown_stays():
    nb = new_notebook(cells=[
        _cell(_stream("a" * 60 + "\n")),
        new_markdown_cell("## Still here"),
        _cell(_stream("b" * 60 + "\n")),
        _cell(_stream("c" * 60 + "\n")),
    ])  # fmt: skip
    bound_outputs(nb, OutputLimits(report_bytes=100))
    assert "a" * 60 in nb.cells[0].outputs[0]["text"]
    assert "reached its limit of 100 bytes" in _notes(nb.cells[2])[0]
    assert nb.cells[3].outputs == []
    words = pdf_words(export_report(nb)[1])
    assert "Still here" in words and "Output truncated" in words and "c" * 60 not in words


def test_beyond_the_hard_limit_nothing_is_exported():
    nb = new_notebook(cells=[_cell(_stream("x" * 2000))])
    with pytest.raises(OutputLimitExceeded, match="2,000 bytes"):
        bound_outputs(nb, OutputLimits(hard_bytes=1000))
