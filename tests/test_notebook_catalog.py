"""The catalog with notebooks an analyst brings: broken files beside good ones, names, kernels
and the parameter types read from the parameters cell; through the catalog and the real API."""

import shutil
from pathlib import Path

import pytest

from reporting.errors import InvalidInput, NotFound
from reporting.notebooks import NotebookCatalog, NotebookSpec, UnavailableNotebook
from tests.conftest import MASTER_KEY

FIXTURES = Path(__file__).resolve().parent / "notebooks"
UNREADABLE = {
    "empty": "the file is empty",
    "truncated": "not notebook JSON",
    "unknown_type": "unknown type 'datetime'",
    "metadata_string": "metadata.reportbook must be an object",
    "dotted.name": "not a notebook name",
    "spaced name": "not a notebook name",
}


@pytest.fixture
def mixed_dir(tmp_path: Path, notebooks_dir: Path) -> Path:
    """The usual notebooks and, beside them, every kind of unreadable file."""
    folder = tmp_path / "notebooks"
    shutil.copytree(notebooks_dir, folder)
    for path in (FIXTURES / "unreadable").glob("*.ipynb"):
        shutil.copy(path, folder / path.name)
    return folder


def test_unreadable_files_are_listed_as_unavailable_and_the_rest_stay_usable(mixed_dir):
    catalog = NotebookCatalog(mixed_dir)
    entries = {e.name: e for e in catalog.list()}
    for name, reason in UNREADABLE.items():
        assert isinstance(entries[name], UnavailableNotebook), name
        assert reason in entries[name].reason, (name, entries[name].reason)
    assert isinstance(entries["broken"], NotebookSpec)
    assert catalog.get("broken").title == "Broken fixture"
    for name, reason in UNREADABLE.items():
        with pytest.raises(InvalidInput) as raised:
            catalog.get(name)
        error = raised.value.errors[0]
        assert error["loc"] == ["body", "notebook"] and error["type"] == "notebook_unavailable"
        assert reason in error["msg"]
        with pytest.raises(InvalidInput):  # GET /v1/notebooks/{name}: 422, not 404
            catalog.find(name)
    with pytest.raises(NotFound):
        catalog.find("no_such_notebook")


def test_a_notebook_that_becomes_unreadable_is_reread(tmp_path, notebooks_dir):
    path = tmp_path / "broken.ipynb"
    shutil.copy(notebooks_dir / "broken.ipynb", path)
    catalog = NotebookCatalog(tmp_path)
    assert isinstance(catalog.list()[0], NotebookSpec)
    path.write_text(path.read_text()[:100])
    assert isinstance(catalog.list()[0], UnavailableNotebook)


def test_the_catalog_reads_the_parameters_cell_not_a_stale_injected_one(notebooks_dir):
    (msg,) = NotebookCatalog(notebooks_dir).get("stale_injected").parameters
    assert (msg.name, msg.default, msg.nullable, msg.help) == ("msg", None, True, "a message")


def test_a_kernel_that_is_not_installed_makes_the_notebook_unavailable(notebooks_dir):
    catalog = NotebookCatalog(notebooks_dir)
    with pytest.raises(InvalidInput) as raised:
        catalog.get("unknown_kernel")
    assert "'reportbook-no-such-kernel' is not installed" in raised.value.errors[0]["msg"]
    assert catalog.get("broken").kernel == "python3"


def test_parameter_types_are_inferred_from_the_cell(notebooks_dir):
    spec = NotebookCatalog(notebooks_dir).get("parameter_types")
    params = {p.name: p for p in spec.parameters}
    assert {n: (p.type, p.nullable) for n, p in params.items()} == {
        "ids": ("list[int]", False),
        "pair": ("list[int]", False),
        "ratio": ("float", False),
        "seconds": ("any", True),
        "label": ("str", False),
        "limit": ("int", True),
        "anything": ("any", True),
        "flags": ("list[bool]", False),
        "mixed": ("list", False),
        "options": ("dict", False),
        "weights": ("list[float]", False),
        "count": ("int", False),
    }
    assert params["ids"].default == [1, 2, 3] and params["ids"].help == "ids to include"
    assert params["pair"].default == [1, 2]  # a tuple is a JSON list
    assert params["seconds"].default is None  # an expression: the notebook computes it
    # Every default passes its own type.
    defaults = {p.name: p.default for p in spec.parameters}
    assert spec.validate(defaults) == defaults


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        ({"ids": [4, 5]}, True),
        ({"ids": ["4"]}, False),
        ({"ratio": 3}, True),  # an int is a float
        ({"ratio": True}, False),
        ({"ratio": "3.5"}, False),
        ({"weights": [1, 2.5]}, True),
        ({"weights": [True]}, False),
        ({"limit": None}, True),
        ({"limit": 5}, True),
        ({"limit": "5"}, False),
        ({"label": None}, False),
        ({"seconds": 7200}, True),
        ({"seconds": {"any": ["json", 1]}}, True),
        ({"anything": [1, "a", None]}, True),
        ({"mixed": [1, "b", 2.5]}, True),
        ({"mixed": "no"}, False),
        ({"pair": [3, 4]}, True),
        ({"flags": [1]}, False),
    ],
)
def test_inferred_types_are_checked_strictly(notebooks_dir, values, ok):
    spec = NotebookCatalog(notebooks_dir).get("parameter_types")
    if ok:
        assert spec.validate(values) == values
    else:
        with pytest.raises(InvalidInput) as raised:
            spec.validate(values)
        assert raised.value.errors[0]["loc"][:3] == ["body", "parameters", next(iter(values))]


# ---- Through the API ------------------------------------------------------------------------


@pytest.fixture
def api(mixed_dir, settings, monkeypatch):
    """The API over the mixed directory, with an admin and a user key."""
    from fastapi.testclient import TestClient

    from service.main import create_app

    monkeypatch.setenv("REPORTBOOK_NOTEBOOKS_DIR", str(mixed_dir))
    app = create_app(settings.model_copy(update={"notebooks_dir": mixed_dir}))
    with TestClient(app) as client:
        headers = {}
        for role in ("admin", "user"):
            response = client.post("/v1/admin/api-keys", headers={"X-Master-Key": MASTER_KEY},
                                   json={"name": role, "role": role})  # fmt: skip
            assert response.status_code == 201, response.text
            headers[role] = {"Authorization": f"Bearer {response.json()['key']}"}
        yield client, headers


def test_the_list_answers_with_broken_files_present(api):
    client, headers = api
    admin = {n["name"]: n for n in client.get("/v1/notebooks", headers=headers["admin"]).json()}
    for name, reason in UNREADABLE.items():
        assert admin[name]["available"] is False and reason in admin[name]["reason"]
    assert admin["unknown_kernel"]["available"] is False
    assert admin["broken"]["available"] is True and admin["broken"]["kernel"] == "python3"
    response = client.get("/v1/notebooks", headers=headers["user"])
    assert response.status_code == 200
    user = {n["name"] for n in response.json()}
    assert "broken" in user and not (set(UNREADABLE) | {"unknown_kernel"}) & user


@pytest.mark.parametrize("name", [*UNREADABLE, "unknown_kernel"])
def test_requests_for_a_broken_notebook_are_422_naming_it(api, settings, name):
    from tests.conftest import make_product

    client, headers = api
    response = client.get(f"/v1/notebooks/{name}", headers=headers["admin"])
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["path", "name"] and detail["type"] == "notebook_unavailable"
    product = make_product(settings)
    response = client.post("/v1/tasks", headers=headers["admin"],
                           json={"product_id": product["_id"], "notebook": name})  # fmt: skip
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "notebook"] and name in detail["msg"]
    if name == "unknown_kernel":
        assert "reportbook-no-such-kernel" in detail["msg"]


def test_parameter_types_in_the_api(api):
    client, headers = api
    response = client.get("/v1/notebooks/parameter_types", headers=headers["user"])
    params = {p["name"]: p for p in response.json()["parameters"]}
    assert params["ids"]["type"] == "list[int]" and params["ids"]["default"] == [1, 2, 3]
    assert params["limit"]["nullable"] is True and params["limit"]["type"] == "int"
    assert params["seconds"]["type"] == "any"
