"""n8n steps against a real n8n (tests/n8n_server.py) and Reportbook under a real uvicorn
(n8n's HTTP Request node posts back to it), plus the inbound endpoints in-process."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from pydantic import SecretStr

from reporting.n8n import TRANSIENT_ATTEMPTS, Execution, FailureReason, N8nClient, StepFailed
from reporting.processes import free_port
from reporting.research import Research
from reporting.settings import Settings, load_settings
from reporting.sov_scrapes import SovScrapeRepository
from reporting.store import open_store
from service.main import create_app
from tests.conftest import make_product
from tests.http_recorder import HttpRecorder
from tests.n8n_server import N8nServer
from tests.pdf_checks import pdf_words

SECRET = "inbound-secret-for-tests"
BRANDS = ["Brevio", "Lumo"]
QUERIES = ["espresso machine", "grinder"]
SOURCES = ["reddit", "news", "forums"]  # what the share-of-voice fixture counts in


def stable_hash(text: str) -> int:
    """The share-of-voice fixture's hash (djb2 over code points, unsigned 32-bit)."""
    value = 5381
    for char in text:
        value = ((value * 33) ^ ord(char)) & 0xFFFFFFFF
    return value


# -- Reportbook under uvicorn, where n8n's workflows deliver --------------------------------


@pytest.fixture
def reportbook(settings: Settings, n8n_server: N8nServer, monkeypatch) -> Iterator[Settings]:
    """The API on the port n8n's workflows post back to, with their inbound secret."""
    monkeypatch.setenv("N8N_INBOUND_SECRET", n8n_server.inbound_secret)
    settings = load_settings()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1",
                            port=n8n_server.reportbook_port, log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="reportbook-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield settings
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture
def n8n(n8n_server: N8nServer) -> N8nClient:
    return N8nClient(n8n_server.base_url, n8n_server.api_key)


def test_sov_workflow_delivers_its_rows_to_reportbook(reportbook, n8n, n8n_server):
    product = make_product(reportbook)
    payload = {"product_id": product["_id"], "run_id": "snapshot-1", "brands": BRANDS,
               "queries": QUERIES, "start": "2026-01-01", "end": "2026-01-07"}  # fmt: skip
    execution_id = n8n.trigger(n8n_server.webhooks["sov_scrape"], payload)
    execution = n8n.wait(execution_id, 120)

    assert isinstance(execution, Execution) and execution.id == execution_id
    assert execution.status == "success"
    assert execution.started_at <= execution.stopped_at
    [delivered] = execution.output("Send rows to Reportbook")  # the inbound endpoint's answer
    assert delivered["rows"] == len(BRANDS) * len(QUERIES) * len(SOURCES) == 12
    assert delivered["run_id"] == "snapshot-1" and delivered["execution_id"] == execution_id

    scrapes = SovScrapeRepository(open_store(reportbook).db)
    assert scrapes.count(product["_id"], "snapshot-1") == 12
    assert scrapes.count(product["_id"], "another-run") == 0
    rows = scrapes.list(product["_id"], "snapshot-1")
    assert {r["scrape_id"] for r in rows} == {delivered["scrape_id"]}
    assert {r["execution_id"] for r in rows} == {execution_id}
    assert all(r["product"] == product["slug"] for r in rows)
    expected = {(b, q, s): stable_hash(f"{b}|{q}|{s}") % 50
                for b in BRANDS for q in QUERIES for s in SOURCES}  # fmt: skip
    assert {(r["brand"], r["query"], r["source"]): r["mentions"] for r in rows} == expected
    assert {r["captured_at"] for r in rows} == {dt.datetime(2026, 1, 7, tzinfo=dt.UTC)}

    per_brand = scrapes.per_brand(product["_id"], "snapshot-1")
    totals = {b: sum(v for (brand, _, _), v in expected.items() if brand == b) for b in BRANDS}
    assert dict(zip(per_brand["brand"], per_brand["mentions"], strict=True)) == totals
    assert per_brand["share"].sum() == pytest.approx(100)
    assert list(per_brand["mentions"]) == sorted(totals.values(), reverse=True)


def test_a_failing_node_is_an_execution_error_naming_it(n8n, n8n_server):
    execution_id = n8n.trigger(n8n_server.webhooks["failing_scrape"], {"brands": BRANDS})
    with pytest.raises(StepFailed) as failed:
        n8n.wait(execution_id, 60)
    error = failed.value
    assert error.reason is FailureReason.execution_error
    assert error.node == "Parse search results" and error.execution_id == execution_id
    assert "the search source returned no results for Brevio, Lumo" in error.message
    assert "Parse search results" in str(error)
    assert error.as_dict()["reason"] == "execution_error"


def test_a_workflow_outlasting_the_timeout_fails_by_the_deadline(n8n, n8n_server):
    execution_id = n8n.trigger(n8n_server.webhooks["slow_scrape"], {"brands": BRANDS})
    started = time.monotonic()
    with pytest.raises(StepFailed) as failed:
        n8n.wait(execution_id, 3)
    elapsed = time.monotonic() - started
    assert failed.value.reason is FailureReason.timeout
    assert "still waiting after 3 s" in failed.value.message
    assert elapsed >= 3  # it waited for the deadline, not less


def test_a_wrong_api_key_is_unauthorized(n8n_server):
    client = N8nClient(n8n_server.base_url, "not-the-key")
    execution_id = client.trigger(n8n_server.webhooks["failing_scrape"], {})  # webhooks are open
    with pytest.raises(StepFailed) as failed:
        client.wait(execution_id, 30)
    assert failed.value.reason is FailureReason.unauthorized
    assert "N8N_API_KEY" in failed.value.message


def test_an_unknown_webhook_is_a_failed_trigger(n8n):
    with pytest.raises(StepFailed) as failed:
        n8n.trigger("no-such-workflow", {})
    assert failed.value.reason is FailureReason.trigger_failed
    assert "404" in failed.value.message and "not registered" in failed.value.message


def test_a_stopped_n8n_is_unreachable_and_nothing_hangs():
    pauses: list[float] = []
    stopped = N8nClient(f"http://127.0.0.1:{free_port()}", "key", timeout=2, first_delay=0.05,
                        sleep=lambda seconds: (pauses.append(seconds), time.sleep(seconds)))  # fmt: skip
    for step in (lambda: stopped.trigger("reportbook-sov-scrape", {}),
                 lambda: stopped.wait("1", 60)):  # fmt: skip
        with pytest.raises(StepFailed) as failed:
            step()
        assert failed.value.reason is FailureReason.unreachable
    assert len(pauses) < TRANSIENT_ATTEMPTS and sum(pauses) < 1  # gave up, not waited out 60 s


def test_without_settings_a_step_fails_clearly():
    with pytest.raises(StepFailed) as failed:
        N8nClient(None, "key").trigger("reportbook-sov-scrape", {})
    assert failed.value.reason is FailureReason.not_configured
    assert "N8N_BASE_URL" in failed.value.message
    with pytest.raises(StepFailed) as failed:
        N8nClient("http://127.0.0.1:1", None).wait("1", 5)
    assert failed.value.reason is FailureReason.not_configured
    assert "N8N_API_KEY" in failed.value.message


def _json(status: int, body: object) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body).encode()


def test_polling_backs_off_exponentially_and_gives_up_on_5xx():
    """The poll schedule, against a local server answering as n8n's executions API does; the
    client's clock is a fake one, so that the schedule can be checked to the millisecond."""
    now, pauses, statuses = [0.0], [], iter(["new"] + ["running"] * 7 + ["success"])

    def sleep(seconds: float) -> None:
        pauses.append(round(seconds, 3))
        now[0] += seconds

    with HttpRecorder() as n8n:
        n8n.answer = lambda request: _json(200, {"id": "7", "status": next(statuses), "data": {}})
        client = N8nClient(n8n.url, "key", clock=lambda: now[0], sleep=sleep)
        assert client.wait("7", 600).status == "success"
        assert pauses == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]
        polled = n8n.requests[0]
        assert polled.method == "GET" and polled.path == "/api/v1/executions/7?includeData=true"
        assert polled.headers["x-n8n-api-key"] == "key"

        n8n.answer = lambda request: (503, "text/plain", b"restarting")
        with pytest.raises(StepFailed) as failed:
            client.wait("7", 600)
        assert failed.value.reason is FailureReason.unreachable and "503" in failed.value.message


def test_payloads_dates_urls_and_foreign_answers():
    def webhook(request) -> tuple[int, str, bytes]:
        if request.path.startswith("/webhook/"):
            return _json(202, {"execution_id": "5"})
        return 200, "text/html", b"<html>a login page</html>"

    with HttpRecorder() as n8n:
        n8n.answer = webhook
        client = N8nClient(n8n.url + "/", "key", sleep=lambda s: None)
        assert client.trigger("/sov/", {"start": dt.date(2026, 1, 1)}) == "5"
        assert [(r.path, r.json()) for r in n8n.requests] == [
            ("/webhook/sov", {"start": "2026-01-01"})
        ]
        with pytest.raises(StepFailed) as failed:
            client.trigger("sov", {"start": object()})
        assert failed.value.reason is FailureReason.trigger_failed
        with pytest.raises(StepFailed) as failed:
            client.wait("5", 10)
        assert failed.value.reason is FailureReason.unreachable
        assert "N8N_BASE_URL" in str(failed.value)
    for url in ("localhost:5678", "ftp://n8n", "http://[::1"):
        with pytest.raises(StepFailed) as failed:
            N8nClient(url, "key").trigger("sov", {})
        assert failed.value.reason is FailureReason.not_configured, url


# -- the inbound endpoints, in-process -------------------------------------------------------


def _row(**changes) -> dict:
    return {"brand": "Brevio", "source": "reddit", "query": "espresso machine", "mentions": 4,
            "url": "https://www.reddit.com/r/espresso/", "captured_at": "2026-01-07T10:00:00Z",
            **changes}  # fmt: skip


@pytest.fixture
def inbound(settings, monkeypatch):
    """The API with N8N_INBOUND_SECRET set, and a product to deliver to."""
    from fastapi.testclient import TestClient

    monkeypatch.setenv("N8N_INBOUND_SECRET", SECRET)
    settings = load_settings()
    with TestClient(create_app(settings)) as client:
        client.product = make_product(settings)  # type: ignore[attr-defined]
        yield client


def test_inbound_sov_stores_rows_for_the_product_and_run(inbound):
    product = inbound.product
    body = {"product": product["slug"], "run_id": "run-1", "execution_id": "41",
            "rows": [_row(), _row(brand="Lumo", mentions=6, query=None, url=None,
                              captured_at="2026-01-07T12:00:00+02:00")]}  # fmt: skip
    response = inbound.post("/v1/inbound/n8n/sov", json=body,
                            headers={"X-Reportbook-Secret": SECRET})  # fmt: skip
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["rows"] == 2 and out["replaced"] == 0 and out["product_id"] == product["_id"]
    scrapes = inbound.app.state.context.sov_scrapes
    rows = scrapes.list(product["_id"], "run-1")
    assert [(r["brand"], r["mentions"], r["query"]) for r in rows] == [
        ("Brevio", 4, "espresso machine"), ("Lumo", 6, None)]  # fmt: skip
    assert rows[1]["captured_at"] == dt.datetime(2026, 1, 7, 10, tzinfo=dt.UTC)

    again = inbound.post("/v1/inbound/n8n/sov", json={**body, "rows": [_row()]},
                         headers={"X-Reportbook-Secret": SECRET})  # fmt: skip
    assert again.json()["replaced"] == 2  # n8n retried the delivery: no double counting
    assert scrapes.count(product["_id"], "run-1") == 1
    audit = inbound.app.state.context.audit.collection.find_one({"action": "sov.delivered"})
    assert audit["actor"]["kind"] == "n8n" and audit["details"]["rows"] == 2


@pytest.mark.parametrize("headers", [{}, {"X-Reportbook-Secret": "wrong"},
                                     {"Authorization": f"Bearer {SECRET}"}])  # fmt: skip
def test_inbound_needs_the_secret_header(inbound, headers):
    body = {"product_id": inbound.product["_id"], "rows": [_row()]}
    for path in ("/v1/inbound/n8n/sov", "/v1/inbound/n8n/reddit"):
        response = inbound.post(path, json=body, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert response.json()["code"] in {"missing_secret", "invalid_secret"}


def test_inbound_without_a_configured_secret_is_unavailable(client, pid):
    response = client.post("/v1/inbound/n8n/sov", headers={"X-Reportbook-Secret": "anything"},
                           json={"product_id": pid, "rows": [_row()]})  # fmt: skip
    assert response.status_code == 503
    assert "N8N_INBOUND_SECRET" in response.json()["detail"]


@pytest.mark.parametrize(("rows", "where"), [
    ([_row(mentions=-1)], ["body", "rows", 0, "mentions"]),
    ([_row(), _row(mentions="12")], ["body", "rows", 1, "mentions"]),
    ([_row(mentions=1.5)], ["body", "rows", 0, "mentions"]),
    ([_row(brand="")], ["body", "rows", 0, "brand"]),
    ([_row(captured_at="2026-01-07T10:00:00")], ["body", "rows", 0, "captured_at"]),
    ([_row(captured_at="yesterday")], ["body", "rows", 0, "captured_at"]),
    ([_row(url="javascript:alert(1)")], ["body", "rows", 0, "url"]),
    ([_row(colour="red")], ["body", "rows", 0, "colour"]),
    ([{k: v for k, v in _row().items() if k != "source"}], ["body", "rows", 0, "source"]),
    ("not a list", ["body", "rows"]),
])  # fmt: skip
def test_inbound_sov_rejects_bad_rows_naming_the_field(inbound, rows, where):
    response = inbound.post("/v1/inbound/n8n/sov", headers={"X-Reportbook-Secret": SECRET},
                            json={"product_id": inbound.product["_id"], "rows": rows})  # fmt: skip
    assert response.status_code == 422, response.text
    assert where in [e["loc"] for e in response.json()["detail"]]
    assert inbound.app.state.context.sov_scrapes.count(inbound.product["_id"]) == 0


def test_inbound_sov_needs_exactly_one_known_product(inbound):
    headers = {"X-Reportbook-Secret": SECRET}
    unknown = inbound.post("/v1/inbound/n8n/sov", headers=headers,
                           json={"product_id": "nope", "rows": [_row()]})  # fmt: skip
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    neither = inbound.post("/v1/inbound/n8n/sov", headers=headers, json={"rows": [_row()]})
    assert neither.status_code == 422 and "exactly one" in neither.text


def test_inbound_reddit_imports_ndjson_rows(inbound):
    product = inbound.product
    lines = [{"id": "1abc01", "subreddit": "espresso", "title": "Brevio Duo, a month in",
              "selftext": "", "author": "crema", "score": 12, "num_comments": 1,
              "created_utc": 1767700800},
             {"id": "c0ff01", "link_id": "t3_1abc01", "subreddit": "espresso",
              "body": "Lumo is quieter", "author": "bean", "score": 3, "created_utc": 1767704400}]  # fmt: skip
    body = "\n".join(json.dumps(line) for line in lines) + "\n{not json\n"
    response = inbound.post(
        f"/v1/inbound/n8n/reddit?product={product['slug']}&execution_id=9", content=body,
        headers={"X-Reportbook-Secret": SECRET, "Content-Type": "application/x-ndjson"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["status"] == "partial" and run["product_id"] == product["_id"]
    assert run["counts"]["posts_added"] == 1 and run["counts"]["comments_added"] == 1
    assert run["counts"]["rejected"] == 1
    context = inbound.app.state.context
    assert context.reddit.count_posts(product["slug"]) == 1
    assert context.ingestions.get(run["id"])["started_by"]["name"] == "n8n execution 9"

    csv = inbound.post(f"/v1/inbound/n8n/reddit?product_id={product['_id']}", content="id\n1",
                       headers={"X-Reportbook-Secret": SECRET, "Content-Type": "text/csv"})  # fmt: skip
    assert csv.status_code == 422 and csv.json()["detail"][0]["loc"] == ["header", "content-type"]


# -- the snapshot pipeline's scrape step, through n8n ---------------------------------------


def _snapshot_run(
    reportbook: Settings, n8n_server: N8nServer, workflow: str, research: Research | None = None
):
    from reporting.research import ResearchRepository
    from reporting.sample_data import seed_sample_data
    from reporting.snapshots import launch, new_snapshot
    from scheduler.snapshot_jobs import SnapshotRun

    settings = reportbook.model_copy(update={
        "n8n_base_url": n8n_server.base_url, "n8n_api_key": SecretStr(n8n_server.api_key),
        "n8n_sov_webhook_path": n8n_server.webhooks[workflow], "n8n_poll_timeout_seconds": 60,
    })  # fmt: skip
    run = SnapshotRun(settings)
    seed_sample_data(run.store.db)
    product = run.products.update(make_product(settings)["_id"], {"slug": "home-espresso"})
    research = research or Research(summary="s", brands=BRANDS, queries=QUERIES)
    ResearchRepository(run.store.db).save(product["_id"], research, "test")
    snapshot = run.snapshots.insert(new_snapshot(
        product, dt.date(2026, 8, 10), dt.date(2026, 8, 16), "test"))  # fmt: skip
    assert launch(run.snapshots, run.queue, snapshot["_id"])
    return run, snapshot["_id"]


def test_a_snapshot_scrapes_through_the_sov_workflow(reportbook, n8n_server):
    run, snapshot_id = _snapshot_run(reportbook, n8n_server, "sov_scrape")
    assert run.start(snapshot_id) == "running"
    scrape = next(s for s in run.snapshots.get(snapshot_id)["steps"] if s["name"] == "scrape")
    assert scrape["status"] == "succeeded" and scrape["detail"]["source"] == "n8n"
    assert scrape["detail"]["sov_rows"] == len(BRANDS) * len(QUERIES) * len(SOURCES)
    assert scrape["detail"]["n8n_status"] == "success" and scrape["detail"]["execution_id"]
    stored = SovScrapeRepository(run.store.db).count(
        run.snapshots.get(snapshot_id)["product_id"], snapshot_id
    )
    assert stored == scrape["detail"]["sov_rows"]


def test_a_failing_workflow_fails_the_snapshot_at_its_scrape_step(reportbook, n8n_server):
    run, snapshot_id = _snapshot_run(reportbook, n8n_server, "failing_scrape")
    assert run.start(snapshot_id) == "failed"
    snapshot = run.snapshots.get(snapshot_id)
    scrape = next(s for s in snapshot["steps"] if s["name"] == "scrape")
    assert scrape["status"] == "failed" and scrape["error"]["reason"] == "execution_error"
    assert "Parse search results" in scrape["error"]["message"]
    assert snapshot["error"]["step"] == "scrape" and snapshot["chunk_task_ids"] == []


def test_a_snapshot_pdf_shows_the_share_of_voice_its_scrape_counted(reportbook, n8n_server):
    """The whole pipeline with the real workflow: research without queries sends the prompts
    step's fallback (the brands) to n8n; the chunk tasks and the aggregate run on a real RQ
    worker; the scrape's rows become the snapshot's `metrics.scraped` and a PDF section."""
    from rq import Worker

    brands = ["Brevio", "Caffora"]
    research = Research(summary="s", brands=brands, queries=[])
    run, snapshot_id = _snapshot_run(reportbook, n8n_server, "sov_scrape", research)
    assert run.start(snapshot_id) == "running"
    scrape = next(s for s in run.snapshots.get(snapshot_id)["steps"] if s["name"] == "scrape")
    execution = N8nClient(n8n_server.base_url, n8n_server.api_key).wait(
        scrape["detail"]["execution_id"], 30
    )
    assert execution.output("Webhook")[0]["body"]["queries"] == brands
    Worker(run.queue.in_order, connection=run.queue.redis).work(burst=True)

    snapshot = run.snapshots.get(snapshot_id)
    assert snapshot["status"] == "succeeded", snapshot["error"]
    expected = {b: sum(stable_hash(f"{b}|{q}|{s}") % 50 for q in brands for s in SOURCES)
                for b in brands}  # fmt: skip
    scraped = snapshot["metrics"]["scraped"]
    assert scraped["sources"] == sorted(SOURCES)
    assert {b["brand"]: b["mentions"] for b in scraped["brands"]} == expected
    assert sum(b["share"] for b in scraped["brands"]) == pytest.approx(100, abs=0.02)
    text = pdf_words(run.artifacts.get(snapshot_id, "snapshot.pdf"))
    assert "Share of voice in the scrape" in text
    assert f"counted {sum(expected.values()):,} brand mentions in forums, news, reddit" in text
    for brand in brands:
        assert f"{brand} {expected[brand]:,} " in text
