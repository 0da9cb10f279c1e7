"""The product as a user runs it: `reportbook run` (what `make run` calls) starts a private
redis-server, the API under uvicorn, two RQ workers and the scheduler on the embedded store;
the tests then drive it over HTTP only."""

from __future__ import annotations

import datetime as dt
import io
import signal
import stat
import time
from pathlib import Path

import httpx
import psutil
import pytest
from pypdf import PdfReader

from reporting.sample_data import SAMPLE_BRANDS, SAMPLE_PRODUCT_NAME
from tests.live import live_product
from tests.pdf_checks import pdf_words

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


@pytest.fixture(scope="module")
def product(tmp_path_factory, notebooks_dir):
    folder = tmp_path_factory.mktemp("product")
    with live_product(folder, notebooks_dir, timeout=30, SCHEDULER_INTERVAL_SECONDS="1") as live:
        yield {"client": live.client, "process": live.process, "data": live.data,
               "log": live.log, "live": live}  # fmt: skip


@pytest.fixture(scope="module")
def auth(product) -> dict[str, str]:
    return {"Authorization": f"Bearer {product['live'].admin_key('e2e')}"}


@pytest.fixture(scope="module")
def pid(product, auth) -> str:
    """The sample product `make run` seeds."""
    products = product["client"].get("/v1/products", headers=auth).json()
    return next(p["id"] for p in products if p["name"] == SAMPLE_PRODUCT_NAME)


def wait_for(client: httpx.Client, auth: dict, task_id: str, done=("success", "failed")) -> dict:
    seen = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        task = client.get(f"/v1/tasks/{task_id}", headers=auth).json()
        if not seen or seen[-1] != task["status"]:
            seen.append(task["status"])
        if task["status"] in done:
            task["seen"] = seen
            return task
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} still {seen[-1]} after {TIMEOUT}s (saw {seen})")


def test_master_key_is_generated_private_and_announced(product):
    key_file = product["data"] / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    log = product["log"].read_text()
    assert str(key_file) in log and "curl -s -X POST" in log and "/v1/admin/api-keys" in log
    assert key_file.read_text().strip() not in log  # the key itself is never printed


def test_report_from_request_to_pdf(product, auth, pid):
    client = product["client"]
    brands = SAMPLE_BRANDS[:3]
    response = client.post(
        "/v1/tasks",
        headers=auth,
        json={"product_id": pid, "notebook": "reddit_report", "parameters": {"brands": brands}},
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "queued"
    task = wait_for(client, auth, response.json()["id"])
    assert task["status"] == "success", task
    assert task["seen"][-1] == "success" and set(task["seen"]) <= {"queued", "running", "success"}
    assert task["queued_at"] <= task["started_at"] <= task["finished_at"]

    pdf = client.get(f"/v1/tasks/{task['id']}/pdf", headers=auth)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Reddit brand report" in text
    assert all(brand in text for brand in brands)
    for code in ("import ", "load_settings", "In [", "Out["):
        assert code not in text, code
    assert any(page.images for page in reader.pages)  # the charts

    html = client.get(f"/v1/tasks/{task['id']}/html", headers=auth)
    assert html.status_code == 200 and "<table" in html.text and "<script" not in html.text
    notebook = client.get(f"/v1/tasks/{task['id']}/notebook", headers=auth).json()
    injected = [
        c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    assert str(brands) in "".join(injected[0]["source"]).replace('"', "'")


def test_failing_notebook_ends_failed_with_its_error(product, auth, pid):
    client = product["client"]
    created = client.post(
        "/v1/tasks", headers=auth, json={"product_id": pid, "notebook": "broken"}
    ).json()
    task = wait_for(client, auth, created["id"])
    assert task["status"] == "failed"
    assert task["error"]["ename"] == "ZeroDivisionError" and task["error"]["cell_index"] == 3
    assert client.get(f"/v1/tasks/{task['id']}/pdf", headers=auth).status_code == 404
    partial = client.get(f"/v1/tasks/{task['id']}/notebook", headers=auth)
    assert partial.status_code == 200 and "ZeroDivisionError" in partial.text


def test_scheduled_task_is_run_by_the_scheduler_tick(product, auth, pid):
    client = product["client"]
    run_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    created = client.post(
        "/v1/tasks",
        headers=auth,
        json={
            "product_id": pid,
            "notebook": "broken",
            "parameters": {"divisor": 4},
            "run_at": run_at.isoformat(),
        },
    ).json()
    assert created["status"] == "pending"
    task = wait_for(client, auth, created["id"])
    assert task["status"] == "success", task
    assert dt.datetime.fromisoformat(task["queued_at"]) >= run_at - dt.timedelta(milliseconds=5)


def test_bad_inputs_are_rejected_and_nothing_is_queued(product, auth, pid):
    client = product["client"]
    before = client.get("/v1/tasks", headers=auth).json()["total"]
    bad = [
        {"notebook": "no_such_report"},
        {"notebook": "reddit_report", "parameters": {"brand": ["typo"]}},
        {"notebook": "reddit_report", "parameters": {"start": 20260101}},
    ]
    for body in bad:
        assert (
            client.post("/v1/tasks", headers=auth, json={"product_id": pid, **body}).status_code
            == 422
        )
    response = client.post(
        "/v1/tasks", headers={**auth, "Content-Type": "application/json"}, content=b"{not json"
    )
    assert response.status_code == 422
    assert client.get("/v1/tasks", headers=auth).json()["total"] == before
    assert (
        client.post("/v1/tasks", json={"product_id": pid, "notebook": "broken"}).status_code == 401
    )


def _snapshot(client: httpx.Client, auth: dict, body: dict) -> dict:
    created = client.post("/v1/snapshots", headers=auth, json=body)
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 2 * TIMEOUT
    while time.monotonic() < deadline:
        snapshot = client.get(f"/v1/snapshots/{created.json()['id']}", headers=auth).json()
        if snapshot["status"] in ("succeeded", "failed"):
            return snapshot
        time.sleep(0.25)
    raise AssertionError(f"snapshot still {snapshot['status']}: {snapshot['steps']}")


def _pdf_text(client: httpx.Client, auth: dict, url: str) -> tuple[str, int]:
    response = client.get(url, headers=auth)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    return pdf_words(response.content), len(PdfReader(io.BytesIO(response.content)).pages)


def test_weekly_snapshots_chain_compare_and_schedule_the_next(product, auth, pid):
    """Two weeks of the sample data through the API: chunk tasks per brand on the workers,
    one PDF each, the second comparing with the first (Caffora's recall week), and the next
    snapshot scheduled 7 days after each one ended."""
    client = product["client"]
    first = _snapshot(client, auth, {"product_id": pid, "start": "2026-08-03", "end": "2026-08-09"})
    assert first["status"] == "succeeded", first["error"]
    assert [s["status"] for s in first["steps"]] == ["succeeded"] * 4
    assert first["research_version"] == 1 and len(first["chunk_task_ids"]) == len(SAMPLE_BRANDS)
    for task_id in first["chunk_task_ids"]:
        task = client.get(f"/v1/tasks/{task_id}", headers=auth).json()
        assert task["status"] == "success" and task["snapshot_id"] == first["id"]
    text, pages = _pdf_text(client, auth, f"/v1/snapshots/{first['id']}/pdf")
    assert "Weekly snapshot" in text and "first snapshot" in text and pages >= len(SAMPLE_BRANDS)
    for brand in SAMPLE_BRANDS:
        assert f"{brand}: sentiment" in text and f"{brand}: journey stages" in text
    assert "In [" not in text and "Traceback" not in text

    second = _snapshot(
        client, auth, {"product_id": pid, "start": "2026-08-10", "end": "2026-08-16"}
    )
    assert second["status"] == "succeeded", second["error"]
    assert second["compared_with"] == first["id"]
    caffora = next(b for b in second["changes"]["brands"] if b["brand"] == "Caffora")
    assert caffora["share_change"] > 10 and caffora["sentiment_change"] < 0
    assert "recall" in [t["term"] for t in second["changes"]["new_themes"]]
    text, _ = _pdf_text(client, auth, f"/v1/snapshots/{second['id']}/pdf")
    assert "What changed since the previous snapshot" in text and "recall" in text

    nxt = client.get(f"/v1/snapshots/{first['next_snapshot_id']}", headers=auth).json()
    assert nxt["status"] == "scheduled" and (nxt["start"], nxt["end"]) == (
        "2026-08-10",
        "2026-08-16",
    )
    ended = dt.datetime.fromisoformat(first["finished_at"])
    assert dt.datetime.fromisoformat(nxt["run_at"]) == ended + dt.timedelta(days=7)
    assert client.post(f"/v1/snapshots/{nxt['id']}/cancel", headers=auth).json()["status"] == (
        "cancelled"
    )


def test_snapshot_requests_are_checked(product, auth, pid):
    client = product["client"]
    bad = [
        ({"product_id": "nope"}, "product_id"),
        ({"product_id": pid, "start": "2026-08-10", "end": "2026-08-01"}, "start"),
        ({"product_id": pid, "start": "2026-01-01", "end": "2026-08-01"}, "end"),
        ({"product_id": pid, "start": "someday"}, "start"),
        ({"product_id": pid, "extra": 1}, "extra"),
    ]
    for body, field in bad:
        response = client.post("/v1/snapshots", headers=auth, json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][-1] == field
    assert client.get("/v1/snapshots/nope", headers=auth).status_code == 404
    assert client.get("/v1/snapshots", headers=auth).status_code == 200


def test_sigterm_stops_every_process_it_started(product):
    process = product["process"]
    children = psutil.Process(process.pid).children(recursive=True)
    names = " ".join(" ".join(c.cmdline()) for c in children)
    assert "redis-server" in names and "uvicorn" in names
    assert "scheduler.worker" in names and "-m scheduler" in names
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
