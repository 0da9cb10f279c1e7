"""A Reddit file whose every row is rejected imports nothing and says why: the run ends
`failed` (kept and listed), the API answers 422 with the first reasons, the CLI exits 1.
Real store, the real app (TestClient) and the installed CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# Readable JSON, but no row can be stored.
ALL_BAD = [
    {"id": "a1", "title": "no time"},
    {"title": "no id", "created_utc": 1785931200},
    {"id": "a3", "title": "bad score", "score": "lots", "created_utc": 1785931200},
    {"id": "a4", "body": "a comment of no post", "created_utc": 1785931200},
]
REASONS = ["missing created_utc", "missing id", "score: not a whole number: 'lots'"]


def url(pid: str, tail: str = "") -> str:
    return f"/v1/products/{pid}/raw/reddit{tail}"


def test_a_body_of_rejected_rows_is_a_422_with_the_first_reasons(client, auth, pid):
    response = client.post(url(pid), headers=auth, json=ALL_BAD)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body"] and error["type"] == "rows_rejected"
    assert error["msg"].startswith("every row was rejected, nothing was imported; row 1: "
                                   "missing created_utc; row 2: missing id")  # fmt: skip
    assert [r["reason"] for r in error["rejected_rows"]][:3] == REASONS
    [run] = client.get(url(pid, "/ingestions"), headers=auth).json()["items"]
    assert run["id"] == error["ingestion_run"] and run["status"] == "failed"
    assert run["counts"]["read"] == 4 and run["counts"]["rejected"] == 4
    assert (
        client.get(url(pid, f"/ingestions/{run['id']}"), headers=auth).json()["error"]
        == (run["error"])
    )


def test_one_good_row_is_still_partial(client, auth, pid):
    good = {"id": "ok1", "title": "fine", "created_utc": 1785931200}
    response = client.post(url(pid), headers=auth, json=[*ALL_BAD, good])
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "partial" and response.json()["counts"]["posts_added"] == 1


def test_cli_exits_1_for_a_file_of_rejected_rows(settings, product, tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ALL_BAD))
    done = subprocess.run(
        [sys.executable, "-m", "reporting.cli", "import-reddit", "--product", "home-espresso",
         str(path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=os.environ.copy(),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "bad.jsonl: failed: read 4, posts added 0" in done.stdout
    assert "every row was rejected" in done.stdout and "row 1: missing created_utc" in done.stdout
