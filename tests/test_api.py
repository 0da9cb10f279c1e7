"""The API in-process (FastAPI's TestClient) on a real Redis and the embedded store."""

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from tests.conftest import MASTER_KEY, queued_job_ids

OPEN_PATHS = {"/healthcheck", "/readiness"}


def test_master_key_creates_an_api_key_shown_once(client):
    response = client.post(
        "/v1/admin/api-keys",
        headers={"X-Master-Key": MASTER_KEY},
        json={"name": "ops", "role": "admin"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith(f"rb_{body['prefix']}_") and body["role"] == "admin"
    assert {"id", "name", "role", "prefix", "created_at", "key"} <= set(body)
    assert "hash" not in body and body["owner_id"] is None  # a service key


@pytest.mark.parametrize("header", [{}, {"X-Master-Key": "wrong"}, {"X-Master-Key": ""}])
def test_api_key_creation_needs_the_master_key(client, header):
    response = client.post("/v1/admin/api-keys", headers=header, json={"name": "x"})
    assert response.status_code == 401


def test_master_key_is_not_a_bearer_token(client):
    response = client.get("/v1/tasks", headers={"Authorization": f"Bearer {MASTER_KEY}"})
    assert response.status_code == 401


def test_every_v1_route_answers_401_without_a_valid_key(app, client):
    paths = app.openapi()["paths"]
    assert {p for p in paths if not p.startswith("/v1")} == OPEN_PATHS
    checked = 0
    for template, operations in paths.items():
        if not template.startswith("/v1"):
            continue
        path = template.replace("{task_id}", "abc").replace("{name}", "reddit_report")
        path = path.replace("{number}", "1")
        for method in operations:
            for headers in ({}, {"Authorization": "Bearer rb_nope_nope"}):
                response = client.request(method, path, headers=headers, json={})
                assert response.status_code == 401, (method, path, headers)
                checked += 1
    assert checked >= 16


def test_openapi_and_docs_are_open(client):
    assert client.get("/openapi.json").status_code == 200
    assert "swagger" in client.get("/docs").text.lower()
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/tasks", "/v1/tasks/{task_id}/pdf", "/v1/notebooks", "/healthcheck"} <= set(paths)


def test_notebooks_lists_parameters_from_the_notebooks(client, auth):
    response = client.get("/v1/notebooks", headers=auth)
    assert response.status_code == 200
    notebooks = {n["name"]: n for n in response.json()}
    params = {p["name"]: p for p in notebooks["reddit_report"]["parameters"]}
    assert params["brands"]["type"] == "list[str]" and params["brands"]["default"]
    assert all(p["description"] for p in params.values())
    assert client.get("/v1/notebooks/broken", headers=auth).json()["title"] == "Broken fixture"
    assert client.get("/v1/notebooks/../etc", headers=auth).status_code == 404


def test_task_created_is_queued_at_once(client, auth, settings, pid):
    response = client.post(
        "/v1/tasks",
        headers=auth,
        json={"product_id": pid, "notebook": "broken", "parameters": {"divisor": 2}},
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["status"] == "queued" and task["parameters"] == {"divisor": 2}
    assert queued_job_ids(settings) == [f"task-{task['id']}-1"]
    assert client.get(f"/v1/tasks/{task['id']}", headers=auth).json()["id"] == task["id"]


def test_future_task_waits_for_the_scheduler(client, auth, settings, pid):
    response = client.post(
        "/v1/tasks",
        headers=auth,
        json={"product_id": pid, "notebook": "broken", "run_at": "2099-01-01T00:00:00Z"},
    )
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert queued_job_ids(settings) == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"notebook": "nope"}, ["body", "notebook"]),
        ({"notebook": "../notebooks/reddit_report"}, ["body", "notebook"]),
        ({"parameters": {}}, ["body", "notebook"]),
        (
            {"notebook": "reddit_report", "parameters": {"colour": "red"}},
            ["body", "parameters", "colour"],
        ),
        (
            {"notebook": "reddit_report", "parameters": {"brands": "Brevio"}},
            ["body", "parameters", "brands"],
        ),
        ({"notebook": "broken", "parameters": {"divisor": "1"}}, ["body", "parameters", "divisor"]),
        ({"notebook": "broken", "parameters": []}, ["body", "parameters"]),
        ({"notebook": "broken", "run_at": "tomorrow"}, ["body", "run_at"]),
        ({"notebook": "broken", "run_at": "2030-01-01T00:00:00"}, ["body", "run_at"]),
        ({"notebook": "broken", "product_id": "no-such-product"}, ["body", "product_id"]),
        ({"notebook": "broken", "product_id": None}, ["body", "product_id"]),
    ],
)
def test_bad_task_requests_are_422_naming_the_field_and_store_nothing(
    client, auth, settings, body, loc, pid
):
    response = client.post("/v1/tasks", headers=auth, json={"product_id": pid, **body})
    assert response.status_code == 422, response.text
    assert any(error["loc"][: len(loc)] == loc for error in response.json()["detail"]), (
        response.text
    )
    assert client.get("/v1/tasks", headers=auth).json()["total"] == 0
    assert queued_job_ids(settings) == []


def test_malformed_json_is_422(client, auth, settings):
    response = client.post(
        "/v1/tasks", headers={**auth, "Content-Type": "application/json"}, content=b'{"notebook": '
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert client.get("/v1/tasks", headers=auth).json()["total"] == 0


def test_list_tasks_filters_and_paginates(client, auth, pid):
    for divisor in (1, 2, 3):
        client.post(
            "/v1/tasks",
            headers=auth,
            json={"product_id": pid, "notebook": "broken", "parameters": {"divisor": divisor}},
        )
    client.post("/v1/tasks", headers=auth, json={"product_id": pid, "notebook": "reddit_report"})
    page = client.get("/v1/tasks?notebook=broken&limit=2&offset=0", headers=auth).json()
    assert page["total"] == 3 and [t["parameters"]["divisor"] for t in page["items"]] == [3, 2]
    page = client.get("/v1/tasks?notebook=broken&limit=2&offset=2", headers=auth).json()
    assert [t["parameters"]["divisor"] for t in page["items"]] == [1]
    assert client.get("/v1/tasks?status=queued", headers=auth).json()["total"] == 4
    assert client.get("/v1/tasks?status=success", headers=auth).json()["total"] == 0
    assert client.get("/v1/tasks?status=bogus", headers=auth).status_code == 422
    assert client.get("/v1/tasks?limit=0", headers=auth).status_code == 422


def test_downloads_are_404_until_the_run_succeeded(client, auth, pid):
    task = client.post(
        "/v1/tasks", headers=auth, json={"product_id": pid, "notebook": "broken"}
    ).json()
    for kind in ("pdf", "html", "notebook"):
        response = client.get(f"/v1/tasks/{task['id']}/{kind}", headers=auth)
        assert response.status_code == 404 and "queued" in response.json()["detail"]
    assert client.get("/v1/tasks/doesnotexist/pdf", headers=auth).status_code == 404
    assert client.get("/v1/tasks/doesnotexist", headers=auth).status_code == 404


def test_healthcheck_ok(client):
    response = client.get("/healthcheck")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"store": "ok", "queue": "ok"}}


def test_healthcheck_names_the_failing_queue(settings):
    dead = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(dead)) as client:
        response = client.get("/healthcheck")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["store"] == "ok"
    assert body["checks"]["queue"].startswith("error")


def test_task_is_kept_pending_when_redis_is_down(settings, pid):
    dead = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(dead)) as client:
        key = client.post(
            "/v1/admin/api-keys", headers={"X-Master-Key": MASTER_KEY}, json={"name": "t"}
        ).json()["key"]
        response = client.post(
            "/v1/tasks",
            headers={"Authorization": f"Bearer {key}"},
            json={"product_id": pid, "notebook": "broken"},
        )
    assert response.status_code == 201
    assert response.json()["status"] == "pending"  # the scheduler's next tick enqueues it
