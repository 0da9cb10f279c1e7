"""Every notebook an analyst finds in notebooks/ runs top to bottom with its default
parameters against a local store holding the sample data, as in `make lab`, and is stored
without outputs so that its diffs stay readable."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill
import pytest

from reporting.export import export_report
from reporting.notebooks import NotebookCatalog
from reporting.sample_data import seed_sample_data, seed_sample_product
from reporting.store import open_store
from tests.pdf_checks import pdf_words

ROOT = Path(__file__).resolve().parent.parent
PROJECT = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIXTURES = sorted((ROOT / "tests" / "notebooks").glob("*.ipynb"))


def test_there_are_project_notebooks():
    assert {p.stem for p in PROJECT} >= {"reddit_report", "snapshot_brand"}


@pytest.mark.parametrize("path", PROJECT + FIXTURES, ids=lambda p: p.name)
def test_stored_without_outputs(path: Path):
    """Outputs and execution counts never reach a commit (see `make lab`: nbstripout)."""
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a notebook without code"
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "widgets" not in nb["metadata"]


@pytest.mark.parametrize("path", PROJECT, ids=lambda p: p.name)
def test_runs_top_to_bottom_with_its_defaults(path: Path, settings, tmp_path):
    db = open_store(settings).db
    seed_sample_product(db)  # the default `product` slug names it, as in `make lab`
    seed_sample_data(db)
    spec = NotebookCatalog(ROOT / "notebooks").get(path.stem)
    assert all(not p.required for p in spec.parameters), "every parameter needs a default"
    out = tmp_path / path.name
    papermill.execute_notebook(str(path), str(out), kernel_name="python3", progress_bar=False,
                               cwd=str(ROOT / "notebooks"))  # fmt: skip
    nb = nbformat.read(out, as_version=4)
    _, pdf = export_report(nb)
    text = pdf_words(pdf)
    headings = [line[2:].strip() for cell in nb.cells for output in cell.get("outputs", [])
                for line in output.get("data", {}).get("text/markdown", "").splitlines()
                if line.startswith("# ")]  # fmt: skip
    assert headings and all(" ".join(h.split()) in text for h in headings)
    assert "Traceback" not in text and "Error" not in text
