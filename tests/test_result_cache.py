"""The result cache through the API, with runs made by the real worker job in-process: an
identical request is answered at once from the earlier report; any change misses."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from reporting.tasks import TaskStatus
from scheduler.jobs import TaskRun
from service.main import create_app
from tests.conftest import MASTER_KEY, make_product, queued_job_ids


@pytest.fixture
def world(settings, notebooks_dir, tmp_path, monkeypatch):
    """The API and a worker over a private copy of the fixture notebook (so it can change)."""
    own = tmp_path / "notebooks"
    own.mkdir()
    shutil.copy(notebooks_dir / "broken.ipynb", own / "broken.ipynb")
    monkeypatch.setenv("REPORTBOOK_NOTEBOOKS_DIR", str(own))
    settings = settings.model_copy(update={"notebooks_dir": own})
    product = make_product(settings)
    with TestClient(create_app(settings)) as client:
        key = client.post("/v1/admin/api-keys", headers={"X-Master-Key": MASTER_KEY},
                          json={"name": "t", "role": "admin"}).json()["key"]  # fmt: skip
        client.headers["Authorization"] = f"Bearer {key}"
        yield {"client": client, "run": TaskRun(settings), "product": product, "dir": own,
               "settings": settings}  # fmt: skip


def _ask(world, **parameters) -> dict:
    body = {"notebook": "broken", "product_id": world["product"]["_id"], "parameters": parameters}
    body |= {"cache": parameters.pop("cache")} if "cache" in parameters else {}
    body["parameters"] = parameters
    response = world["client"].post("/v1/tasks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _made(world, **parameters) -> dict:
    """A request that runs (a miss), run to its end by the worker job."""
    task = _ask(world, **parameters)
    assert task["status"] == "queued" and not task["cache_hit"]
    world["run"].run(task["id"])
    return world["client"].get(f"/v1/tasks/{task['id']}").json()


def test_an_identical_request_is_answered_from_the_cache(world):
    client = world["client"]
    first = _made(world, divisor=2)
    assert first["status"] == "success"
    jobs_before = queued_job_ids(world["settings"])
    again = _ask(world, divisor=2)
    assert again["status"] == "success" and again["cache_hit"] is True
    assert again["cached_from"] == first["id"] and again["id"] != first["id"]
    assert queued_job_ids(world["settings"]) == jobs_before  # nothing was queued
    for kind in ("pdf", "html"):
        served = client.get(f"/v1/tasks/{again['id']}/{kind}")
        assert served.status_code == 200
        assert served.content == client.get(f"/v1/tasks/{first['id']}/{kind}").content
    # A hit of a hit still points at the run that made the files.
    assert _ask(world, divisor=2)["cached_from"] == first["id"]


def test_other_parameters_an_opt_out_or_a_failed_run_miss(world):
    _made(world, divisor=2)
    assert _ask(world, divisor=4)["status"] == "queued"
    assert _ask(world, divisor=2, cache=False)["status"] == "queued"
    failed = _made(world, divisor=0)
    assert failed["status"] == TaskStatus.failed
    assert _ask(world, divisor=0)["status"] == "queued"  # failures are never served


def test_changed_data_misses(world):
    _made(world, divisor=2)
    product = world["product"]
    rows = [{"id": "c1", "subreddit": "espresso", "title": "new post", "created_utc": 1786000000}]
    imported = world["client"].post(f"/v1/products/{product['_id']}/raw/reddit", json=rows)
    assert imported.status_code == 201, imported.text
    assert _ask(world, divisor=2)["status"] == "queued"


def test_a_changed_notebook_misses(world):
    _made(world, divisor=2)
    path = world["dir"] / "broken.ipynb"
    path.write_text(path.read_text().replace("A report that fails", "A report that changed"))
    assert _ask(world, divisor=2)["status"] == "queued"


def test_data_versions_count_every_bump_of_writers_racing_on_a_new_key(settings):
    """Writers that store a product's first data at the same time each bump its version once."""
    import threading

    from reporting.data_versions import DataVersions
    from reporting.store import open_store

    versions = [DataVersions(open_store(settings).db) for _ in range(8)]
    barrier = threading.Barrier(len(versions))

    def writer(mine: DataVersions) -> None:
        barrier.wait()
        for _ in range(5):
            mine.bump("racing")

    threads = [threading.Thread(target=writer, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert versions[0].of(["racing", "untouched"]) == {"racing": 40, "untouched": 0}
