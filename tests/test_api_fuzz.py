"""Schemathesis against the live OpenAPI document of `reportbook run`: generated requests
(valid and invalid) for every operation, as an admin and as a `user` key granted one folder,
never get a 5xx and every documented response matches its schema.

Bounded for `make test` (FUZZ_EXAMPLES per operation, a fixed seed); README ("Fuzzing the
API") gives the command for a longer run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import live_product

EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "3")
SEED = os.environ.get("FUZZ_SEED", "20261202")
INBOUND_SECRET = "fuzz-inbound-secret-0123456789"
ST = Path(sys.executable).with_name("st")


@pytest.fixture(scope="module")
def live(tmp_path_factory, notebooks_dir):
    with live_product(
        tmp_path_factory.mktemp("fuzz"),
        notebooks_dir,
        workers=1,
        N8N_INBOUND_SECRET=INBOUND_SECRET,  # the inbound endpoints are fuzzed too
    ) as live:
        client, admin = live.client, live.admin_key("fuzz-admin")
        folder = client.get("/v1/folders", headers={"Authorization": f"Bearer {admin}"}).json()
        user = client.post("/v1/api-keys", headers={"Authorization": f"Bearer {admin}"}, json={
            "name": "fuzz-user", "role": "user", "service": True,
            "grants": [{"type": "folder", "resource_id": folder[0]["id"]}]})  # fmt: skip
        assert user.status_code == 201, user.text
        yield {"base": live.base, "keys": {"admin": admin, "user": user.json()["key"]},
               "log": live.log}  # fmt: skip


@pytest.mark.parametrize("who", ["user", "admin"])
def test_generated_requests_get_no_server_error_and_match_the_schema(live, who, tmp_path):
    command = [
        str(ST), "run", f"{live['base']}/openapi.json",
        "--header", f"Authorization: Bearer {live['keys'][who]}",
        "--header", f"X-Reportbook-Secret: {INBOUND_SECRET}",
        "--checks", "not_a_server_error,response_schema_conformance",
        "--phases", "examples,fuzzing",
        "--max-examples", EXAMPLES, "--seed", SEED,
        "--request-timeout", "60", "--workers", "2",
        "--generation-database", "none", "--no-color", "--warnings", "off",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    report = done.stdout[-20000:] + done.stderr[-4000:]
    assert done.returncode == 0, f"{report}\n--- server log ---\n{live['log'].read_text()[-8000:]}"
    assert " passed" in done.stdout or "generated" in done.stdout, report
