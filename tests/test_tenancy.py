"""A run reads its own product's data and nothing else, whatever a client puts in the request.

Driven as an attacker would, over HTTP against `reportbook run` (real uvicorn, RQ workers,
kernels and PDFs): a `user` service key granted one folder asks for reports on its product
while naming another folder's product in every parameter it may set. Two products hold
hand-written Reddit data of their own (tests/data/*.jsonl); the sample product holds the
seeded sample data. Each report must show its own product's posts and none of the others'.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest

from reporting.notebooks import NotebookCatalog, NotebookSpec
from reporting.product_context import RESERVED_PARAMETER
from tests.live import live_product
from tests.pdf_checks import pdf_words

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
TIMEOUT = 180
# Words only the other folder's product's data contains (not its name, which an attacker may
# type into a parameter and see printed back as the text they typed).
OTHER_MARKERS = ("Zephyr", "temperature hold", "lid hinge", "oolong_owl", "matcha_mo")
# Titles of the sample product's data in the default period (reporting/sample_data.py).
SAMPLE_MARKERS = ("Brevio", "Caffora", "Vellaro", "r/espresso")


@pytest.fixture(scope="module")
def world(tmp_path_factory, notebooks_dir):
    with live_product(tmp_path_factory.mktemp("tenancy"), notebooks_dir) as live:
        client = live.client
        admin = {"Authorization": f"Bearer {live.admin_key()}"}
        ids = {}
        for folder, product, data in [
            ("Client A", "Acme Grinders", "acme_grinders.jsonl"),
            ("Client B", "Bolt Kettles", "bolt_kettles.jsonl"),
            ("Client A", "Empty Co", None),
        ]:
            folders = {f["name"]: f["id"] for f in client.get("/v1/folders", headers=admin).json()}
            if folder not in folders:
                created = client.post("/v1/folders", headers=admin, json={"name": folder})
                folders[folder] = created.json()["id"]
            made = client.post("/v1/products", headers=admin,
                               json={"name": product, "folder_id": folders[folder]})  # fmt: skip
            assert made.status_code == 201, made.text
            ids[product] = made.json()
            ids[folder] = folders[folder]
            if data:
                imported = client.post(
                    f"/v1/products/{made.json()['id']}/raw/reddit", headers={
                        **admin, "Content-Type": "application/x-ndjson"},
                    content=(DATA / data).read_bytes(),
                )  # fmt: skip
                assert imported.status_code == 201, imported.text
                assert imported.json()["counts"]["rejected"] == 0, imported.text
        user = client.post("/v1/api-keys", headers=admin, json={
            "name": "client-a", "role": "user", "service": True,
            "grants": [{"type": "folder", "resource_id": ids["Client A"]}]})  # fmt: skip
        assert user.status_code == 201, user.text
        yield {"client": client, "admin": admin, "ids": ids,
               "user": {"Authorization": f"Bearer {user.json()['key']}"}}  # fmt: skip


def run(world, notebook: str, product: str, parameters: dict, cache: bool = False) -> dict:
    """Ask for a report as the folder-A user and wait for it to end."""
    client = world["client"]
    body = {"notebook": notebook, "product_id": world["ids"][product]["id"],
            "parameters": parameters, "cache": cache}  # fmt: skip
    made = client.post("/v1/tasks", headers=world["user"], json=body)
    assert made.status_code == 201, made.text
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        task = client.get(f"/v1/tasks/{made.json()['id']}", headers=world["user"]).json()
        if task["status"] in ("success", "failed", "cancelled"):
            return task
        time.sleep(0.2)
    raise AssertionError(f"task {made.json()['id']} still {task['status']} after {TIMEOUT}s")


def what_it_shows(world, task: dict) -> str:
    """Everything the run produced that a reader gets: the executed notebook's outputs and,
    when it succeeded, the PDF's text."""
    client, user = world["client"], world["user"]
    shown = []
    notebook = client.get(f"/v1/tasks/{task['id']}/notebook", headers=user)
    if notebook.status_code == 200:
        nb = nbformat.reads(notebook.text, as_version=4)
        shown += [json.dumps(c.get("outputs", [])) for c in nb.cells if c.cell_type == "code"]
    if task["status"] == "success":
        pdf = client.get(f"/v1/tasks/{task['id']}/pdf", headers=user)
        assert pdf.status_code == 200
        shown.append(pdf_words(pdf.content))
    return "\n".join(shown)


def test_naming_another_folders_product_is_refused(world):
    """The reproduction: a user key of folder A names folder B's product in `product`."""
    other = world["ids"]["Bolt Kettles"]
    for value in (other["slug"], other["id"]):
        body = {"notebook": "reddit_report", "product_id": world["ids"]["Acme Grinders"]["id"],
                "parameters": {"product": value}}  # fmt: skip
        refused = world["client"].post("/v1/tasks", headers=world["user"], json=body)
        assert refused.status_code == 422, refused.text
        error = refused.json()["detail"][0]
        assert error["loc"] == ["body", "parameters", "product"] and error["type"] == "reserved"
        assert value not in refused.text  # the 422 does not echo what was tried
    listed = world["client"].get("/v1/tasks", headers=world["admin"]).json()
    assert listed["total"] == 0, "a refused request stored a task"


def test_a_products_report_shows_its_own_data_and_no_one_elses(world):
    task = run(world, "reddit_report", "Acme Grinders",
               {"brands": ["Grindwell", "Burrmaster"], "subreddits": []})  # fmt: skip
    assert task["status"] == "success", task.get("error")
    text = what_it_shows(world, task)
    assert "Reddit brand report: Acme Grinders" in text  # the product's name, not its slug
    assert "3 posts and 6 comments" in text  # exactly the imported rows
    assert "Burrmaster Pro burr alignment issue after three months" in text
    for marker in OTHER_MARKERS + SAMPLE_MARKERS:
        assert marker not in text, f"{marker!r} from another product's data"


def test_the_sample_product_still_reports_the_sample_data(world):
    client, admin = world["client"], world["admin"]
    sample = next(p for p in client.get("/v1/products", headers=admin).json()
                  if p["name"] == "Home espresso")  # fmt: skip
    made = client.post("/v1/tasks", headers=admin, json={
        "notebook": "reddit_report", "product_id": sample["id"], "cache": False})  # fmt: skip
    assert made.status_code == 201, made.text
    deadline = time.monotonic() + TIMEOUT
    while (task := client.get(f"/v1/tasks/{made.json()['id']}", headers=admin).json())[
        "status"
    ] not in ("success", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert task["status"] == "success", task.get("error")
    pdf = pdf_words(client.get(f"/v1/tasks/{task['id']}/pdf", headers=admin).content)
    assert "Reddit brand report: Home espresso" in pdf and "Caffora" in pdf
    assert not any(marker in pdf for marker in OTHER_MARKERS + ("Grindwell",))


def test_a_product_without_data_fails_with_no_data(world):
    task = run(world, "reddit_report", "Empty Co", {"subreddits": []})
    assert task["status"] == "failed"
    error = task["error"]
    assert error["reason"] == "no_data" and error["ename"] == "NoProductData"
    empty = world["ids"]["Empty Co"]
    assert "Empty Co" in error["evalue"]
    assert f"/v1/products/{empty['id']}/raw/reddit" in error["evalue"]
    assert task["artifacts"] == [] or all(a["kind"] == "notebook" for a in task["artifacts"])


def _hostile_values(kind: str, names: list[str]) -> list:
    """Values of a parameter's type that name another product in every way it is named."""
    if kind == "str":
        return names
    if kind.startswith("list"):
        return [names]
    return [{name: names for name in names}]  # dict: as keys and values


def _text_parameters(notebooks_dir: Path) -> list[tuple[str, str, str]]:
    out = []
    for spec in NotebookCatalog(notebooks_dir).list():
        if not isinstance(spec, NotebookSpec) or not spec.binds_product:
            continue  # fixtures that cannot run, or that read no product data
        for p in spec.parameters:
            if p.type in ("str", "dict") or p.type.startswith("list[str"):
                out.append((spec.name, p.name, p.type))
    return out


def test_every_text_parameter_of_every_notebook_stays_in_its_product(world, notebooks_dir):
    """For every notebook that reads product data and every parameter that carries text, a
    value naming the other folder's product (its slug, its id, its name) never reaches its
    data: the run either reports its own product or fails, and shows nothing of the other."""
    other = world["ids"]["Bolt Kettles"]
    names = [other["slug"], other["id"], other["name"]]
    cases = _text_parameters(notebooks_dir)
    assert {(n, p) for n, p, _ in cases} >= {
        ("reddit_report", "brands"), ("reddit_report", "subreddits"),
        ("snapshot_brand", "brand"), ("snapshot_brand", "brands"),
    }  # fmt: skip
    tried = 0
    for notebook, parameter, kind in cases:
        for value in _hostile_values(kind, names):
            task = run(world, notebook, "Acme Grinders", {parameter: value})
            tried += 1
            assert task["status"] in ("success", "failed"), task
            if task["status"] == "failed":
                assert task["error"]["reason"] in ("error", "no_data"), task["error"]
            shown = what_it_shows(world, task)
            for marker in OTHER_MARKERS:
                assert marker not in shown, f"{notebook}.{parameter}={value!r} read {marker!r}"
    assert tried >= len(cases)


def test_every_project_notebook_reads_data_through_its_product_only(notebooks_dir):
    """Each notebook in notebooks/ declares the reserved `product` parameter (the worker binds
    it to the task's product) and reads data only through ProductData, never the store."""
    catalog = NotebookCatalog(ROOT / "notebooks")
    specs = catalog.list()
    assert specs and all(isinstance(spec, NotebookSpec) for spec in specs)
    for spec in specs:
        assert isinstance(spec, NotebookSpec)
        assert spec.binds_product, f"{spec.name} does not declare `{RESERVED_PARAMETER}`"
        assert RESERVED_PARAMETER not in {p.name for p in spec.parameters}  # not offered
        source = "\n".join(c.source for c in nbformat.read(spec.path, as_version=4).cells)
        assert "ProductData(product)" in source, spec.name
        for direct in ("open_store", "RedditRepository", "MongoClient", "tinymongo"):
            assert direct not in source, f"{spec.name} reads the store directly ({direct})"


def test_client_text_is_printed_as_text(world):
    """A brand written as markup comes back as those characters, never as markup."""
    hostile = "<img src=x onerror=alert(2)>"
    task = run(world, "reddit_report", "Acme Grinders",
               {"brands": [hostile, "Grindwell"], "subreddits": []})  # fmt: skip
    assert task["status"] == "success", task.get("error")
    html = world["client"].get(f"/v1/tasks/{task['id']}/html", headers=world["user"]).text
    assert "onerror=alert" not in html.replace("&lt;img src=x onerror=alert(2)&gt;", "")
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    pdf = world["client"].get(f"/v1/tasks/{task['id']}/pdf", headers=world["user"]).content
    assert hostile in pdf_words(pdf)
