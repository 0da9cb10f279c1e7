"""Identity through the API: Firebase users (real Auth emulator), API keys, roles, grants,
the audit log, and secrets kept out of logs and responses."""

from __future__ import annotations

import itertools
import logging
import time

import pytest
from fastapi.testclient import TestClient
from firebase_admin import auth

from reporting.settings import load_settings
from service.main import create_app
from tests.conftest import MASTER_KEY, make_product

MASTER = {"X-Master-Key": MASTER_KEY}
_emails = itertools.count()


@pytest.fixture
def app_settings(settings, firebase_emulator):
    return settings.model_copy(update={
        "firebase_project_id": firebase_emulator.project_id,
        "firebase_auth_emulator_host": firebase_emulator.host,
    })  # fmt: skip


@pytest.fixture
def client(app_settings):
    with TestClient(create_app(app_settings)) as client:
        yield client


@pytest.fixture
def person(firebase_emulator):
    """Sign a new Firebase user up; returns (uid, email, headers with its ID token)."""

    def make(prefix: str = "ana") -> tuple[str, str, dict[str, str]]:
        email = f"{prefix}{next(_emails)}-{time.monotonic_ns()}@example.com"
        uid, token = firebase_emulator.sign_up(email, "password-123")
        return uid, email, {"Authorization": f"Bearer {token}"}

    return make


def test_a_firebase_user_is_known_on_first_sight_with_no_rights(client, person):
    uid, email, headers = person()
    me = client.get("/v1/me", headers=headers).json()
    assert me == {"id": uid, "kind": "user", "name": email, "role": "user", "grants": []}
    assert client.get("/v1/tasks", headers=headers).json()["total"] == 0
    assert client.get("/v1/folders", headers=headers).json() == []


def test_role_change_is_mirrored_to_custom_claims(client, person, firebase_emulator, app_settings):
    uid, email, headers = person()
    response = client.put(f"/v1/admin/users/{uid}/role", headers=MASTER, json={"role": "admin"})
    assert response.status_code == 200 and response.json()["role"] == "admin"
    assert client.get("/v1/me", headers=headers).json()["role"] == "admin"  # the store decides
    fresh = firebase_emulator.sign_in(email, "password-123")
    claims = client.app.state.context.firebase.verify(fresh).claims
    assert claims["role"] == "admin"


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda emu, token: "not-a-jwt", "token_invalid"),
        (lambda emu, token: emu.expired(token), "token_expired"),
        (
            lambda emu, token: emu.forge(
                token, aud="another-project", iss="https://securetoken.google.com/another-project"
            ),
            "token_wrong_project",
        ),  # fmt: skip
    ],
)
def test_bad_tokens_are_401_with_a_reason(client, person, firebase_emulator, make_token, code):
    _, _, headers = person()
    token = headers["Authorization"].split()[1]
    response = client.get(
        "/v1/me", headers={"Authorization": f"Bearer {make_token(firebase_emulator, token)}"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == code and response.headers["WWW-Authenticate"] == "Bearer"


def test_revoked_tokens_are_refused(client, person):
    uid, _, headers = person()
    assert client.get("/v1/me", headers=headers).status_code == 200
    time.sleep(1.1)  # revocation has one-second granularity
    auth.revoke_refresh_tokens(uid, app=client.app.state.context.firebase.app)
    response = client.get("/v1/me", headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "token_revoked"


def test_firebase_off_refuses_tokens_but_keys_work(settings):
    with TestClient(create_app(settings)) as client:  # no FIREBASE_PROJECT_ID
        response = client.get("/v1/me", headers={"Authorization": "Bearer eyJhbGciOi.x.y"})
        assert response.status_code == 401 and response.json()["code"] == "firebase_not_configured"
        key = client.post("/v1/admin/api-keys", headers=MASTER, json={"name": "svc"}).json()["key"]
        assert client.get("/v1/me", headers={"X-API-Key": key}).status_code == 200


def test_keys_never_exceed_their_owner_and_follow_a_demotion(client, person, settings):
    uid, _, headers = person()
    product = make_product(settings)
    client.put(f"/v1/admin/users/{uid}/role", headers=MASTER, json={"role": "user"})
    admin_key = client.post("/v1/admin/api-keys", headers=MASTER, json={"name": "a"}).json()["key"]
    admin = {"X-API-Key": admin_key}
    client.post(f"/v1/users/{uid}/grants", headers=admin,
                json={"type": "product", "resource_id": product["_id"]})  # fmt: skip
    assert (
        client.post(
            "/v1/api-keys", headers=headers, json={"name": "x", "role": "admin"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/v1/api-keys", headers=headers, json={"name": "x", "service": True}
        ).status_code
        == 403
    )
    key = client.post("/v1/api-keys", headers=headers, json={"name": "mine"}).json()
    assert key["role"] == "user" and key["owner_id"] == uid and key["grants"] is None
    mine = {"Authorization": f"Bearer {key['key']}"}
    task = {"product_id": product["_id"], "notebook": "broken", "run_at": "2099-01-01T00:00:00Z"}
    assert client.post("/v1/tasks", headers=mine, json=task).status_code == 201
    # Demote the owner: the key is demoted with it at once.
    client.put(f"/v1/users/{uid}/role", headers=admin, json={"role": "restricted"})
    assert client.get("/v1/me", headers=mine).json()["role"] == "restricted"
    assert client.post("/v1/tasks", headers=mine, json=task).status_code == 403
    assert client.get("/v1/tasks", headers=mine).json()["total"] == 1  # still reads
    # Revoked: 401 at once.
    assert client.delete(f"/v1/api-keys/{key['id']}", headers=headers).status_code == 200
    response = client.get("/v1/me", headers=mine)
    assert response.status_code == 401 and response.json()["code"] == "invalid_api_key"


def test_audit_log_records_who_did_what(client, person, settings):
    uid, _, headers = person()
    product = make_product(settings)
    admin_key = client.post("/v1/admin/api-keys", headers=MASTER, json={"name": "ops"}).json()
    admin = {"X-API-Key": admin_key["key"]}
    client.put(f"/v1/users/{uid}/role", headers=admin, json={"role": "user"})
    grant = client.post(f"/v1/users/{uid}/grants", headers=admin,
                        json={"type": "folder", "resource_id": product["folder_id"]}).json()  # fmt: skip
    task = client.post("/v1/tasks", headers=headers, json={
        "product_id": product["_id"], "notebook": "broken", "run_at": "2099-01-01T00:00:00Z"}).json()  # fmt: skip
    client.post(f"/v1/tasks/{task['id']}/cancel", headers=headers)
    client.delete(f"/v1/users/{uid}/grants/{grant['id']}", headers=admin)
    key = client.post("/v1/api-keys", headers=headers, json={"name": "k"}).json()
    client.delete(f"/v1/api-keys/{key['id']}", headers=admin)
    entries = client.get("/v1/audit?limit=50", headers=admin).json()["items"]
    seen = [(e["action"], e["actor"]["id"]) for e in reversed(entries)]
    assert seen == [
        ("api_key.created", "master-key"),
        ("user.role_changed", admin_key["id"]),
        ("grant.added", admin_key["id"]),
        ("task.created", uid),
        ("task.cancelled", uid),
        ("grant.removed", admin_key["id"]),
        ("api_key.created", uid),
        ("api_key.revoked", admin_key["id"]),
    ]
    assert client.get("/v1/audit", headers=headers).status_code == 403


def test_secrets_never_reach_logs_or_responses(client, person, caplog):
    caplog.set_level(logging.DEBUG)
    uid, _, headers = person()
    token = headers["Authorization"].split()[1]
    created = client.post("/v1/admin/api-keys", headers=MASTER, json={"name": "svc"}).json()
    key = created["key"]
    for request in [
        lambda: client.get("/v1/me", headers={"X-API-Key": key}),
        lambda: client.get("/v1/me", headers=headers),
        lambda: client.get("/v1/me", headers={"Authorization": f"Bearer {key}x"}),
        lambda: client.get("/v1/me", headers={"Authorization": f"Bearer {MASTER_KEY}"}),
        lambda: client.post("/v1/admin/api-keys", headers={"X-Master-Key": MASTER_KEY + "x"}, json={"name": "x"}),
    ]:  # fmt: skip
        request()
    listed = client.get("/v1/api-keys", headers={"X-API-Key": key})
    secret = key.split("_")[2]
    for text in (caplog.text, listed.text):
        for value in (key, secret, token, MASTER_KEY):
            assert value not in text
    assert "hash" not in listed.json()[0]


def test_production_refuses_default_secrets(monkeypatch, tmp_path):
    monkeypatch.delenv("MASTER_KEY", raising=False)
    with pytest.raises(ValueError, match="MASTER_KEY and API_KEY_PEPPER"):
        load_settings(environment="production", data_dir=tmp_path)
