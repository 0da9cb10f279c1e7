"""The authorisation matrix: every endpoint x every kind of caller x (own folder, other
folder) -> the expected status, from one table. Callers are real Firebase users (signed up
on the real Auth emulator) and real API keys. A route missing from the table fails the test,
so no endpoint can be forgotten."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reporting.access import Grant, ResourceType, Role
from reporting.ingestion import IngestionSource
from reporting.lifecycle import Outcome, end_attempt
from reporting.research import Research
from reporting.snapshots import SnapshotStatus, new_snapshot
from reporting.tasks import TaskStatus, new_task
from service.main import create_app
from tests.conftest import MASTER_KEY, TEST_MONGODB_URI, fresh_database

CALLERS = ["admin", "user", "user_nogrant", "restricted", "key_admin", "key_user",
           "key_restricted", "anonymous"]  # fmt: skip
ADMINS = {"admin", "key_admin"}
GRANTED = {"user", "restricted", "key_user", "key_restricted"}  # granted folder A only
READ_ONLY = {"restricted", "key_restricted"}
MASTER = {"X-Master-Key": MASTER_KEY}
LATER = "2099-01-01T00:00:00Z"


def everyone(code: int) -> dict[str, tuple[int, int]]:
    return {c: (401, 401) if c == "anonymous" else (code, code) for c in CALLERS}


def admins(code: int) -> dict[str, tuple[int, int]]:
    return {c: (401, 401) if c == "anonymous" else (code, code) if c in ADMINS else (403, 403)
            for c in CALLERS}  # fmt: skip


def writers(code: int) -> dict[str, tuple[int, int]]:
    """Any admin or user, whatever it is granted; read-only callers get 403."""
    return {c: (403, 403) if c in READ_ONLY else v for c, v in everyone(code).items()}


def nobody_but_master() -> dict[str, tuple[int, int]]:
    return {c: (401, 401) for c in CALLERS}


def visible(code: int, hidden: int = 404) -> dict[str, tuple[int, int]]:
    """Readers: admins see both folders; granted callers only folder A."""
    table = {}
    for c in CALLERS:
        if c == "anonymous":
            table[c] = (401, 401)
        elif c in ADMINS:
            table[c] = (code, code)
        elif c in GRANTED:
            table[c] = (code, hidden)
        else:
            table[c] = (hidden, hidden)
    return table


def writable(code: int, hidden: int = 404) -> dict[str, tuple[int, int]]:
    """Writers: like visible, but read-only callers get 403 everywhere."""
    return {c: (403, 403) if c in READ_ONLY else v for c, v in visible(code, hidden).items()}


@dataclass
class World:
    client: TestClient
    context: Any
    headers: dict[str, dict[str, str]]
    uids: dict[str, str]
    folders: dict[str, str]  # "own" -> folder A, "other" -> folder B
    products: dict[str, str]
    done_tasks: dict[str, str]

    def product(self, where: str) -> str:
        """A fresh product in the folder."""
        return self.context.products.create("fresh", self.folders[where], "test")["_id"]

    def task(self, where: str, **fields) -> str:
        task = new_task("broken", {}, "test", dt.datetime(2999, 1, 1, tzinfo=dt.UTC),
                        product_id=self.products[where], folder_id=self.folders[where], **fields)  # fmt: skip
        return self.context.tasks.insert(task)["_id"]

    def key_of(self, uid: str) -> str:
        """A fresh API key owned by user `uid`."""
        return self.context.api_keys.create("victim", Role.user, uid).record["_id"]


# (method, path) -> (prepare(world, caller, where) -> (path params, json body), expectations)
Prepare = Callable[[World, str, str], tuple[dict[str, str], Any]]


def _none(world: World, caller: str, where: str):
    return {}, None


def _folder(world, caller, where):
    return {"folder_id": world.folders[where]}, None


def _empty_folder(world, caller, where):
    folder = world.context.folders.create("empty", "test")["_id"]
    if where == "own":
        for who in ("user", "restricted"):
            world.context.grants.add(world.uids[who], _grant("folder", folder), "test")
    return {"folder_id": folder}, None


def _grant(type_: str, id_: str) -> Grant:
    return Grant(ResourceType(type_), id_)


def _product(world, caller, where):
    return {"product_id": world.products[where]}, None


def _fresh_product(world, caller, where):
    return {"product_id": world.product(where)}, None


def _ingestion(world, caller, where):
    product = world.context.products.get(world.products[where])
    run = world.context.ingestions.start(product, IngestionSource.api, {"id": "test"}, None, "json")
    return {"product_id": product["_id"], "run_id": run["_id"]}, None


REDDIT_ROWS = [{"id": "1abc01", "subreddit": "espresso", "title": "t", "created_utc": 1785931200}]


RESEARCH = {"summary": "s", "brands": ["Brevio"]}


def _researched(world, caller, where):
    """The product, with research version 1 (saved once)."""
    product_id = world.products[where]
    if world.context.research.latest(product_id) is None:
        world.context.research.save(product_id, Research(**RESEARCH), "test")
    return {"product_id": product_id, "version": "1"}, None


def _task(world, caller, where):
    return {"task_id": world.task(where)}, None


def _snapshot(world, caller, where, status=SnapshotStatus.scheduled):
    """A fresh snapshot of the product, in `status` (a succeeded one has its PDF)."""
    product = world.context.products.get(world.products[where])
    snapshot = new_snapshot(product, dt.date(2026, 8, 3), dt.date(2026, 8, 9), "test",
                            run_at=dt.datetime(2999, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    snapshot["status"] = status.value
    world.context.snapshots.insert(snapshot)
    if status is SnapshotStatus.succeeded:
        world.context.artifacts.put(snapshot["_id"], "snapshot.pdf", b"%PDF-1.7 test")
    return {"snapshot_id": snapshot["_id"]}, None


def _snapshot_done(world, caller, where):
    return _snapshot(world, caller, where, SnapshotStatus.succeeded)


def _recurring(world, caller, where):
    return {"task_id": world.task(where, recurrence={"every": "1d", "anchor": "scheduled"})}, None


def _done(world, caller, where):
    return {"task_id": world.done_tasks[where], "number": "1"}, None


def _user(world, caller, where):
    """A user nobody in the matrix acts as, so changing it changes no caller's rights."""
    return {"uid": world.uids["target"]}, None


def _grant_of_user(world, caller, where):
    uid = world.uids["target"]
    grant = world.context.grants.add(uid, _grant("folder", world.folders[where]), "test")
    return {"uid": uid, "grant_id": grant["_id"]}, None


def _someones_key(world, caller, where):
    """own: a key of the caller's own user; other: a key of another user."""
    owner = {"user": "user", "key_user": "user", "user_nogrant": "user_nogrant",
             "restricted": "restricted"}.get(caller)  # fmt: skip
    if where == "own" and owner:
        return {"key_id": world.key_of(world.uids[owner])}, None
    return {"key_id": world.key_of(world.uids["admin"])}, None


def _key_revocation_expectations() -> dict[str, tuple[int, int]]:
    table = {c: (200, 404) for c in ("user", "key_user", "user_nogrant", "restricted")}
    table.update({c: (200, 200) for c in ADMINS})
    table["key_restricted"] = (404, 404)  # a service key owns no keys
    table["anonymous"] = (401, 401)
    return table


def _new_key_expectations() -> dict[str, tuple[int, int]]:
    # Body asks for a key with a grant on folder A (own) or B (other).
    return {"admin": (201, 201), "key_admin": (201, 201), "user": (201, 403),
            "key_user": (201, 403), "restricted": (201, 403), "user_nogrant": (403, 403),
            "key_restricted": (403, 403), "anonymous": (401, 401)}  # fmt: skip


TABLE: dict[tuple[str, str], tuple[Prepare, Any, dict[str, tuple[int, int]]]] = {
    ("get", "/healthcheck"): (_none, None, {c: (200, 200) for c in CALLERS}),
    # Open to all; 503 here because no worker or scheduler runs in this test.
    ("get", "/readiness"): (_none, None, {c: (503, 503) for c in CALLERS}),
    ("get", "/v1/admin/queues"): (_none, None, admins(200)),
    ("post", "/v1/admin/api-keys"): (_none, {"name": "k"}, nobody_but_master()),
    ("delete", "/v1/admin/api-keys/{key_id}"): (_someones_key, None, nobody_but_master()),
    ("put", "/v1/admin/users/{uid}/role"): (_user, {"role": "user"}, nobody_but_master()),
    ("get", "/v1/me"): (_none, None, everyone(200)),
    ("get", "/v1/users"): (_none, None, admins(200)),
    ("get", "/v1/users/{uid}"): (_user, None, admins(200)),
    ("put", "/v1/users/{uid}/role"): (_user, {"role": "user"}, admins(200)),
    ("get", "/v1/users/{uid}/grants"): (_user, None, admins(200)),
    ("post", "/v1/users/{uid}/grants"): (_user, "grant", admins(201)),
    ("delete", "/v1/users/{uid}/grants/{grant_id}"): (_grant_of_user, None, admins(200)),
    ("post", "/v1/api-keys"): (_none, "key", _new_key_expectations()),
    ("get", "/v1/api-keys"): (_none, None, everyone(200)),
    ("delete", "/v1/api-keys/{key_id}"): (_someones_key, None, _key_revocation_expectations()),
    ("get", "/v1/folders"): (_none, None, everyone(200)),
    ("post", "/v1/folders"): (_none, {"name": "new"}, admins(201)),
    ("get", "/v1/folders/{folder_id}"): (_folder, None, visible(200)),
    ("patch", "/v1/folders/{folder_id}"): (_folder, {"name": "renamed"}, admins(200)),
    ("delete", "/v1/folders/{folder_id}"): (_empty_folder, None, admins(200)),
    ("get", "/v1/products"): (_none, None, everyone(200)),
    ("post", "/v1/products"): (_none, "product", writable(201, hidden=422)),
    ("get", "/v1/products/{product_id}"): (_product, None, visible(200)),
    ("patch", "/v1/products/{product_id}"): (_fresh_product, {"name": "renamed"}, writable(200)),
    ("delete", "/v1/products/{product_id}"): (_fresh_product, None, writable(200)),
    ("get", "/v1/products/{product_id}/research"): (_researched, None, visible(200)),
    ("put", "/v1/products/{product_id}/research"): (_product, RESEARCH, writable(201)),
    ("get", "/v1/products/{product_id}/research/versions"): (_product, None, visible(200)),
    ("get", "/v1/products/{product_id}/research/versions/{version}"): (
        _researched,
        None,
        visible(200),
    ),
    ("post", "/v1/products/{product_id}/raw/reddit"): (_product, REDDIT_ROWS, writable(201)),
    ("get", "/v1/products/{product_id}/raw/reddit/ingestions"): (_product, None, visible(200)),
    ("get", "/v1/products/{product_id}/raw/reddit/ingestions/{run_id}"): (
        _ingestion,
        None,
        visible(200),
    ),
    ("get", "/v1/notebooks"): (_none, None, everyone(200)),
    ("get", "/v1/notebooks/{name}"): (
        lambda w, c, r: ({"name": "broken"}, None),
        None,
        everyone(200),
    ),
    ("post", "/v1/tasks"): (_none, "task", writable(201, hidden=422)),
    ("get", "/v1/tasks"): (_none, None, everyone(200)),
    ("get", "/v1/tasks/{task_id}"): (_task, None, visible(200)),
    ("patch", "/v1/tasks/{task_id}"): (_task, {"priority": "low"}, writable(200)),
    ("post", "/v1/tasks/{task_id}/cancel"): (_task, None, writable(200)),
    ("post", "/v1/tasks/{task_id}/retry"): (_task, None, writable(409)),
    ("post", "/v1/tasks/{task_id}/pause"): (_recurring, None, writable(200)),
    ("post", "/v1/tasks/{task_id}/resume"): (_recurring, None, writable(200)),
    ("get", "/v1/queue"): (_none, None, everyone(200)),
    ("get", "/v1/tasks/{task_id}/pdf"): (_done, None, visible(200)),
    ("get", "/v1/tasks/{task_id}/html"): (_done, None, visible(200)),
    ("get", "/v1/tasks/{task_id}/notebook"): (_done, None, visible(200)),
    ("get", "/v1/tasks/{task_id}/attempts/{number}/notebook"): (_done, None, visible(200)),
    ("get", "/v1/audit"): (_none, None, admins(200)),
    ("post", "/v1/pdf"): (_none, {"markdown": "# Memo\n\n## Point", "title": "Memo"}, writers(200)),
    ("post", "/v1/snapshots"): (_none, "snapshot", writable(201, hidden=422)),
    ("get", "/v1/snapshots"): (_none, None, everyone(200)),
    ("get", "/v1/snapshots/{snapshot_id}"): (_snapshot, None, visible(200)),
    ("post", "/v1/snapshots/{snapshot_id}/cancel"): (_snapshot, None, writable(200)),
    ("get", "/v1/snapshots/{snapshot_id}/pdf"): (_snapshot_done, None, visible(200)),
    # n8n's deliveries take the shared X-Reportbook-Secret, never a bearer: 401 for everyone.
    ("post", "/v1/inbound/n8n/sov"): (_none, {"rows": []}, {c: (401, 401) for c in CALLERS}),
    ("post", "/v1/inbound/n8n/reddit"): (_none, None, {c: (401, 401) for c in CALLERS}),
}


def _body(world: World, kind: Any, where: str) -> Any:
    if kind == "grant":
        return {"type": "folder", "resource_id": world.folders[where]}
    if kind == "key":
        return {"name": "mine", "grants": [{"type": "folder", "resource_id": world.folders[where]}]}
    if kind == "product":
        return {"name": "new", "folder_id": world.folders[where]}
    if kind == "task":
        return {"notebook": "broken", "product_id": world.products[where], "run_at": LATER}
    if kind == "snapshot":
        _researched(world, "", where)  # a snapshot needs the product's research
        return {"product_id": world.products[where], "run_at": LATER}
    return kind


@pytest.fixture(scope="module")
def world(firebase_emulator, tmp_path_factory, redis_server, notebooks_dir):
    from reporting.settings import load_settings

    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("authz"), redis_url=redis_server,
        notebooks_dir=notebooks_dir, master_key=MASTER_KEY,
        firebase_project_id=firebase_emulator.project_id,
        firebase_auth_emulator_host=firebase_emulator.host, mongodb_uri=TEST_MONGODB_URI,
        mongodb_database=fresh_database(),
    )  # fmt: skip
    with TestClient(create_app(settings)) as client:
        context = client.app.state.context
        folders = {w: context.folders.create(w, "test")["_id"] for w in ("own", "other")}
        products = {w: context.products.create(w, folders[w], "test")["_id"] for w in folders}
        uids, tokens = {}, {}
        for who, role in [("admin", "admin"), ("user", "user"), ("user_nogrant", "user"),
                          ("restricted", "restricted"), ("target", "user")]:  # fmt: skip
            uid, _ = firebase_emulator.sign_up(f"{who}@example.com", "password-123")
            uids[who] = uid
            assert client.put(f"/v1/admin/users/{uid}/role", headers=MASTER,
                              json={"role": role}).status_code == 200  # fmt: skip
            tokens[who] = firebase_emulator.sign_in(f"{who}@example.com", "password-123")
        own_folder = {"type": "folder", "resource_id": folders["own"]}
        for who in ("user", "restricted"):
            admin = {"Authorization": f"Bearer {tokens['admin']}"}
            assert client.post(f"/v1/users/{uids[who]}/grants", headers=admin,
                               json=own_folder).status_code == 201  # fmt: skip
        headers = {who: {"Authorization": f"Bearer {token}"} for who, token in tokens.items()}
        key_admin = client.post("/v1/admin/api-keys", headers=MASTER, json={"name": "svc"})
        headers["key_admin"] = {"X-API-Key": key_admin.json()["key"]}
        key_user = client.post("/v1/api-keys", headers=headers["user"], json={"name": "mine"})
        headers["key_user"] = {"Authorization": f"Bearer {key_user.json()['key']}"}
        key_restricted = client.post("/v1/api-keys", headers=headers["admin"], json={
            "name": "reader", "role": "restricted", "service": True, "grants": [own_folder]})  # fmt: skip
        headers["key_restricted"] = {"Authorization": f"Bearer {key_restricted.json()['key']}"}
        headers["anonymous"] = {}
        done = {}
        for where in folders:
            task = context.tasks.insert(new_task("broken", {}, "test", product_id=products[where],
                                                 folder_id=folders[where]))  # fmt: skip
            context.tasks.queue(task["_id"])
            running = context.tasks.start(task["_id"], "w")
            artifacts = []
            for kind, name in [("notebook", "attempt-1.ipynb"), ("html", "report.html"),
                               ("pdf", "report.pdf")]:  # fmt: skip
                context.artifacts.put(task["_id"], name, b"{}")
                artifacts.append({"kind": kind, "name": name, "size": 2})
            end_attempt(context.tasks, running, Outcome(TaskStatus.success, None, artifacts))
            done[where] = task["_id"]
        yield World(client, context, headers, uids, folders, products, done)


def test_every_route_is_in_the_table(world):
    routes = {(m, p) for p, ops in world.client.app.openapi()["paths"].items() for m in ops}
    assert routes == set(TABLE), {"missing": routes - set(TABLE), "stale": set(TABLE) - routes}


@pytest.mark.parametrize(("method", "path"), sorted(TABLE))
def test_matrix(world, method, path):
    prepare, body_kind, expected = TABLE[(method, path)]
    failures = []
    for caller in CALLERS:
        for i, where in enumerate(("own", "other")):
            params, _ = prepare(world, caller, where)
            url = path.format(**params)
            body = _body(world, body_kind, where)
            response = world.client.request(method, url, headers=world.headers[caller],
                                            json=body)  # fmt: skip
            want = expected[caller][i]
            if response.status_code != want:
                failures.append(f"{caller}/{where}: {response.status_code} != {want} "
                                f"{response.text[:160]}")  # fmt: skip
    assert not failures, "\n".join(failures)
