"""What the API refuses, and how: strict types, dates in 2000..2100, 422s that name the field
and never echo a large input, invalid UTF-8 as a 422, and API key lists scoped to their
caller. Through the real app (FastAPI's TestClient) on a real Redis and the embedded store."""

from __future__ import annotations

import datetime as dt

import pytest

from reporting.access import Role
from tests.conftest import MASTER_KEY

RANGE = "2000-01-01 to 2100-12-31"


def _error(response, *loc: object) -> dict:
    assert response.status_code == 422, response.text
    found = [e for e in response.json()["detail"] if e["loc"] == list(loc)]
    assert found, response.json()
    return found[0]


def _task(client, auth, pid, **body):
    return client.post("/v1/tasks", headers=auth,
                       json={"product_id": pid, "notebook": "broken", **body})  # fmt: skip


# ---- Strict types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"retry": {"max_attempts": "3"}}, ("retry", "max_attempts")),
        ({"retry": {"max_attempts": 2.0}}, ("retry", "max_attempts")),
        ({"retry": {"backoff_seconds": "60"}}, ("retry", "backoff_seconds")),
        ({"cache": "false"}, ("cache",)),
    ],
)
def test_strings_are_not_numbers_or_booleans(client, auth, pid, body, loc):
    _error(_task(client, auth, pid, **body), "body", *loc)


def test_strict_values_of_the_right_type_pass(client, auth, pid):
    response = _task(client, auth, pid, retry={"max_attempts": 3, "backoff_seconds": 5},
                     cache=False)  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["retry"] == {"max_attempts": 3, "backoff_seconds": 5}


# ---- Dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"run_at": "0001-01-01T00:00:00+14:00"},
        {"run_at": "9999-12-31T23:59:59-12:00"},
        {"run_at": "9999-12-31T00:00:00Z", "recurrence": {"every": "7d"}},
        {"run_at": "9999-12-31T00:00:00Z", "recurrence": {"cron": "0 6 * * MON"}},
        {"run_at": "1999-12-31T23:59:59Z"},
        {"run_at": 1893456000},  # seconds since 1970 are not a date-time here
    ],
)
def test_run_at_outside_2000_to_2100_is_a_422_naming_it(client, auth, pid, extra):
    error = _error(_task(client, auth, pid, **extra), "body", "run_at")
    assert RANGE in error["msg"] or "ISO 8601" in error["msg"]


@pytest.mark.parametrize("every", ["999999999999d", "9999999w", "367d", "1" + "0" * 5000 + "s"])
def test_a_recurrence_longer_than_a_year_is_a_422(client, auth, pid, every):
    response = _task(client, auth, pid, recurrence={"every": every})
    _error(response, "body", "recurrence", "every")
    assert len(response.content) < 5_000


def test_run_at_at_the_edges_of_the_range(client, auth, pid):
    for run_at in ("2100-12-31T23:00:00+00:00", "2099-06-01T00:00:00-12:00"):
        assert _task(client, auth, pid, run_at=run_at).status_code == 201
    # 2100-12-31 23:00 at -12:00 is 2101 in UTC
    _error(_task(client, auth, pid, run_at="2100-12-31T23:00:00-12:00"), "body", "run_at")


def test_rescheduling_is_bounded_too(client, auth, pid):
    task = _task(client, auth, pid, run_at="2099-01-01T00:00:00Z").json()
    for run_at in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"):
        response = client.patch(f"/v1/tasks/{task['id']}", headers=auth, json={"run_at": run_at})
        assert RANGE in _error(response, "body", "run_at")["msg"]
    response = client.patch(f"/v1/tasks/{task['id']}", headers=auth,
                            json={"run_at": "2098-01-01T00:00:00Z"})  # fmt: skip
    assert response.status_code == 200 and response.json()["run_at"].startswith("2098-01-01")


@pytest.mark.parametrize(
    ("period", "field"),
    [
        ({"start": "0001-01-01", "end": "0001-01-07"}, "start"),
        ({"start": "2026-08-03", "end": "9999-12-31"}, "end"),
        ({"end": "9999-12-31"}, "end"),
        ({"start": 20260803, "end": "2026-08-09"}, "start"),
    ],
)
def test_snapshot_period_outside_the_range_is_a_422(client, auth, pid, period, field):
    response = client.post("/v1/snapshots", headers=auth, json={"product_id": pid, **period})
    _error(response, "body", field)


def test_notebook_date_parameters_are_bounded(client, auth, pid):
    for day in ("0001-01-01", "9999-12-31"):
        response = client.post("/v1/tasks", headers=auth, json={
            "product_id": pid, "notebook": "injection", "parameters": {"day": day}})  # fmt: skip
        assert RANGE in _error(response, "body", "parameters", "day")["msg"]
    response = client.post("/v1/tasks", headers=auth, json={
        "product_id": pid, "notebook": "injection", "parameters": {"day": "2026-07-02"},
        "run_at": "2099-01-01T00:00:00Z"})  # fmt: skip
    assert response.status_code == 201 and response.json()["parameters"] == {"day": "2026-07-02"}


@pytest.mark.parametrize(
    "expires_at",
    [5, "2001-01-01T00:00:00Z", "9999-01-01T00:00:00Z", True],
)
def test_key_expiry_must_be_a_future_date_time(client, auth, expires_at):
    response = client.post("/v1/api-keys", headers=auth,
                           json={"name": "k", "service": True, "expires_at": expires_at})  # fmt: skip
    _error(response, "body", "expires_at")


def test_key_expiry_in_the_future_is_kept(client, auth):
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)
    response = client.post("/v1/api-keys", headers=auth,
                           json={"name": "k", "service": True, "expires_at": later.isoformat()})  # fmt: skip
    assert response.status_code == 201, response.text
    assert dt.datetime.fromisoformat(response.json()["expires_at"]).replace(
        tzinfo=dt.UTC) == later  # fmt: skip


# ---- What a 422 says ---------------------------------------------------------------------------


def test_a_422_never_echoes_a_large_input(client, auth):
    markdown = "x" * 2_000_001  # one over the limit
    response = client.post("/v1/pdf", headers=auth, json={"markdown": markdown, "title": "T"})
    error = _error(response, "body", "markdown")
    assert len(response.content) < 5_000
    assert error["type"] == "string_too_long" and "2000000" in str(error.get("ctx", error["msg"]))
    assert error["input"].startswith("xxx") and "2,000,001 characters" in error["input"]


def test_a_422_summarises_large_objects_and_keys(client, auth, pid):
    parameters = {f"p{i}": "v" * 1000 for i in range(500)}
    parameters["k" * 10_000] = 1
    response = client.post("/v1/tasks", headers=auth,
                           json={"product_id": pid, "notebook": "broken", "parameters": parameters,
                                 "surprise": {"deep": ["y" * 100_000] * 50}})  # fmt: skip
    assert response.status_code == 422
    assert len(response.content) < 5_000
    _error(response, "body", "surprise")


def test_invalid_utf8_is_a_422_naming_the_body(client, auth):
    response = client.post(
        "/v1/tasks",
        headers={**auth, "Content-Type": "application/json"},
        content=b'{"notebook": "\xff\xfe", "product_id": "x"}',
    )
    error = _error(response, "body")
    assert "UTF-8" in error["msg"]


def test_other_http_errors_keep_their_status(client, auth):
    assert client.get("/v1/tasks/nope", headers=auth).status_code == 404
    assert client.get("/v1/no-such-route", headers=auth).status_code == 404


# ---- Who sees which API keys -------------------------------------------------------------------


def test_api_key_lists_are_scoped_to_their_caller(client):
    context = client.app.state.context
    master = {"X-Master-Key": MASTER_KEY}
    admin_key = client.post("/v1/admin/api-keys", headers=master, json={"name": "admin-svc"})
    admin = {"Authorization": f"Bearer {admin_key.json()['key']}"}
    services = {}
    for role in ("restricted", "user", "admin"):
        made = client.post("/v1/api-keys", headers=admin,
                           json={"name": f"svc-{role}", "role": role, "service": True})  # fmt: skip
        assert made.status_code == 201, made.text
        services[role] = {"Authorization": f"Bearer {made.json()['key']}"}
    owned = {}
    for uid in ("alice", "bob"):
        context.users.get_or_create(uid, f"{uid}@example.com")
        context.users.set_role(uid, Role.user)
        owned[uid] = {"X-API-Key": context.api_keys.create(f"{uid}-1", Role.user, uid).key}
    second = client.post("/v1/api-keys", headers=owned["alice"], json={"name": "alice-2"})
    assert second.status_code == 201, second.text

    def names(headers: dict) -> set[str]:
        response = client.get("/v1/api-keys", headers=headers)
        assert response.status_code == 200, response.text
        return {k["name"] for k in response.json()}

    assert names(owned["alice"]) == {"alice-1", "alice-2"}
    assert names(owned["bob"]) == {"bob-1"}
    assert names(services["restricted"]) == {"svc-restricted"}  # no other service key
    assert names(services["user"]) == {"svc-user"}
    everything = {"admin-svc", "svc-restricted", "svc-user", "svc-admin", "alice-1", "alice-2",
                  "bob-1"}  # fmt: skip
    assert names(admin) == everything and names(services["admin"]) == everything


@pytest.mark.parametrize("captured_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_n8n_rows_are_bounded_too(settings, monkeypatch, captured_at):
    from fastapi.testclient import TestClient

    from reporting.settings import load_settings
    from service.main import create_app
    from tests.conftest import make_product

    monkeypatch.setenv("N8N_INBOUND_SECRET", "inbound-secret-0123456789")
    with TestClient(create_app(load_settings())) as inbound:
        product = make_product(settings)
        row = {"brand": "Brevio", "source": "reddit", "mentions": 4, "captured_at": captured_at}
        response = inbound.post("/v1/inbound/n8n/sov",
                                headers={"X-Reportbook-Secret": "inbound-secret-0123456789"},
                                json={"product_id": product["_id"], "rows": [row]})  # fmt: skip
        assert RANGE in _error(response, "body", "rows", 0, "captured_at")["msg"]
