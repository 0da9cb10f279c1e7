from pathlib import Path

import pytest

from reporting.errors import InvalidInput, NotFound
from reporting.notebooks import NotebookCatalog


@pytest.fixture
def catalog(notebooks_dir: Path) -> NotebookCatalog:
    return NotebookCatalog(notebooks_dir)


def test_lists_every_notebook_with_declared_parameters(catalog):
    names = [spec.name for spec in catalog.list()]
    assert "reddit_report" in names and "broken" in names
    broken = catalog.get("broken")
    assert broken.title == "Broken fixture"
    params = {p.name: p for p in broken.parameters}
    assert params["divisor"].type == "int"
    assert params["divisor"].default == 0
    assert params["divisor"].help == "zero makes the run fail"  # metadata wins over the comment
    assert params["label"].type == "str" and params["label"].help == "a label"


def test_reddit_report_parameters_all_have_defaults(catalog):
    spec = catalog.get("reddit_report")
    params = {p.name: p for p in spec.parameters}
    assert set(params) >= {"brands", "subreddits", "start", "end"}
    assert "product" not in params and spec.binds_product  # reserved: set by the worker
    assert all(not p.required for p in params.values())
    assert params["brands"].type == "list[str]" and params["start"].type == "date"


def test_validate_accepts_good_values_and_normalises_dates(catalog):
    spec = catalog.get("reddit_report")
    clean = spec.validate({"brands": ["Brevio"], "start": "2026-08-01"})
    assert clean == {"brands": ["Brevio"], "start": "2026-08-01"}


@pytest.mark.parametrize(
    ("values", "field", "kind"),
    [
        ({"nope": 1}, "nope", "extra_forbidden"),
        ({"brands": "Brevio"}, "brands", "list_type"),
        ({"brands": [1, 2]}, "brands", "string_type"),
        ({"start": "last tuesday"}, "start", "date_from_datetime_parsing"),
        ({"start": None}, "start", "date_type"),
    ],
)
def test_validate_names_the_offending_field(catalog, values, field, kind):
    with pytest.raises(InvalidInput) as raised:
        catalog.get("reddit_report").validate(values)
    error = raised.value.errors[0]
    assert error["loc"][:3] == ["body", "parameters", field]
    assert error["type"] == kind


@pytest.mark.parametrize("value", ["other-product", {"id": "x", "slug": "other-product"}])
def test_the_product_parameter_is_reserved(catalog, value):
    with pytest.raises(InvalidInput) as raised:
        catalog.get("reddit_report").validate({"product": value})
    error = raised.value.errors[0]
    assert error["loc"] == ["body", "parameters", "product"] and error["type"] == "reserved"


def test_mistyped_int_is_rejected_not_coerced(catalog):
    with pytest.raises(InvalidInput) as raised:
        catalog.get("broken").validate({"divisor": "3"})
    assert raised.value.errors[0]["loc"] == ["body", "parameters", "divisor"]


def test_enum_restricts_values(tmp_path, notebooks_dir):
    import nbformat

    nb = nbformat.read(notebooks_dir / "broken.ipynb", as_version=4)
    nb.metadata["reportbook"]["parameters"]["label"] = {"type": "str", "enum": ["a", "b"]}
    nbformat.write(nb, tmp_path / "choice.ipynb")
    spec = NotebookCatalog(tmp_path).get("choice")
    assert spec.validate({"label": "a"}) == {"label": "a"}
    with pytest.raises(InvalidInput):
        spec.validate({"label": "c"})


@pytest.mark.parametrize(
    "name", ["../notebooks/reddit_report", "/etc/passwd", "missing", "", "a/b"]
)
def test_unknown_or_unsafe_names_are_invalid(catalog, name):
    with pytest.raises(InvalidInput) as raised:
        catalog.get(name)
    assert raised.value.errors[0]["loc"] == ["body", "notebook"]
    with pytest.raises(NotFound):
        catalog.find(name)


def test_catalog_rereads_a_changed_notebook(tmp_path, notebooks_dir):
    import os
    import shutil

    import nbformat

    path = tmp_path / "broken.ipynb"
    shutil.copy(notebooks_dir / "broken.ipynb", path)
    catalog = NotebookCatalog(tmp_path)
    assert catalog.get("broken").title == "Broken fixture"
    nb = nbformat.read(path, as_version=4)
    nb.metadata["reportbook"]["title"] = "Renamed"
    nbformat.write(nb, path)
    os.utime(path, (1, 1))
    assert catalog.get("broken").title == "Renamed"
