"""The floor for one report: the notebook's code as a plain script (displays rendered the way a
kernel renders them) plus the PDF render, in one fresh process. Prints JSON timings.

Usage: python bench/floor.py SOURCE.ipynb EXECUTED.ipynb
"""

from __future__ import annotations

import io
import json
import sys
import time

started = time.perf_counter()

import IPython.display  # noqa: E402
import nbformat  # noqa: E402
from IPython.core.formatters import DisplayFormatter  # noqa: E402


def _render(*objects, **_):
    """What the kernel does for display(): PNG for figures, every mimetype for the rest."""
    from matplotlib.figure import Figure

    for obj in objects:
        if isinstance(obj, Figure):
            obj.savefig(io.BytesIO(), format="png", bbox_inches="tight")
        else:
            _formatter.format(obj)


_formatter = DisplayFormatter()
IPython.display.display = _render


def main(source: str, executed: str) -> None:
    nb = nbformat.read(source, as_version=4)
    code = "\n".join(
        line
        for cell in nb.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if not line.lstrip().startswith("%")
    )
    namespace: dict = {"__name__": "__main__"}
    exec(compile(code, source, "exec"), namespace)
    script_done = time.perf_counter()

    from reporting.export import export_report

    export_report(nbformat.read(executed, as_version=4))
    done = time.perf_counter()
    print(
        json.dumps(
            {"script": script_done - started, "pdf": done - script_done, "floor": done - started}
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
