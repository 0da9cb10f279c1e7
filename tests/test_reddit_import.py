"""Importing Reddit dumps: the hand-written messy fixtures in tests/data/reddit/ through the
importer, the API and the CLI, against the real store."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reporting.ingestion import (
    MAX_REJECTED_KEPT,
    IngestionReport,
    IngestionRepository,
    IngestionSource,
    cli_actor,
)
from reporting.reddit import RedditRepository
from reporting.reddit_dumps import DumpFormat, detect_format, read_dump
from reporting.reddit_import import BATCH_SIZE, MAX_TEXT_CHARS, import_rows, ingest
from reporting.sample_data import generate
from reporting.store import open_store
from tests.conftest import ROOT, make_product

DATA = ROOT / "tests/data/reddit"
AUGUST = ("2026-08-01", "2026-08-31")

# posts.jsonl, line by line: what happens to each row.
JSONL_POSTS = ["1abc01", "1abc02", "1abc03", "1abc04", "1abc08", "1abc09"]
JSONL_COMMENTS = ["k9x001", "k9x002"]
JSONL_REJECTED = [
    (7, "missing created_utc"),
    (8, "malformed JSON: Expecting ',' delimiter (column 97)"),
    (9, "missing id"),
    (10, "score: not a whole number: 'lots'"),
    (14, "missing link_id (the post the comment belongs to)"),
    (17, "not an object but str"),
    (18, "created_utc out of range (2005-2099; milliseconds?): 1786478400000"),
]
JSONL_COUNTS = {"read": 17, "posts_added": 6, "comments_added": 2, "duplicates": 2,
                "rejected": 7, "truncated": 1}  # fmt: skip
CSV_COUNTS = {"read": 9, "posts_added": 1, "comments_added": 3, "duplicates": 1, "rejected": 4,
              "truncated": 0}  # fmt: skip
CSV_REJECTED = [
    (8, "score: not a whole number: '1.5'"),
    (9, "8 fields where the header has 12"),
    (10, "missing id"),
    (12, "not UTF-8 text"),
]


def run_file(store, product: dict, path: Path, format: DumpFormat | None = None) -> dict:
    format = format or detect_format(path.name)
    assert format is not None
    with path.open("rb") as stream:
        return ingest(IngestionRepository(store.db), RedditRepository(store.db), product,
                      read_dump(stream, format), source=IngestionSource.cli,
                      started_by=cli_actor("tester"), filename=path.name, format=format)  # fmt: skip


def rejected(run: dict) -> list[tuple[int, str]]:
    return [(r["row"], r["reason"]) for r in run["rejected_rows"]]


# --- the importer ----------------------------------------------------------------------------
def test_json_lines_dump_counts_every_row(store, product):
    run = run_file(store, product, DATA / "posts.jsonl")
    assert run["status"] == "partial" and run["error"] is None
    assert run["counts"] == JSONL_COUNTS
    assert rejected(run) == JSONL_REJECTED
    assert run["rejected_rows"][0]["excerpt"].startswith('{"id": "1abc05"')
    assert run["source"] == "cli" and run["filename"] == "posts.jsonl"
    assert run["format"] == "ndjson" and run["product"] == "home-espresso"
    assert run["started_by"] == {"id": "cli:tester", "kind": "cli", "name": "tester"}
    assert run["finished_at"] >= run["started_at"]
    assert IngestionRepository(store.db).get(run["_id"]) == run


def test_imported_rows_are_normalised_and_loadable(store, product):
    run_file(store, product, DATA / "posts.jsonl")
    repo = RedditRepository(store.db)
    posts = repo.load_posts("home-espresso", *AUGUST).set_index("id")
    comments = repo.load_comments("home-espresso", *AUGUST).set_index("id")
    assert sorted(posts.index) == JSONL_POSTS and sorted(comments.index) == JSONL_COMMENTS
    first = posts.loc["1abc01"]
    assert first["title"] == "Finally upgraded to the Brevio Duo ☕🔥"  # emoji kept
    assert first["score"] == 42 and first["num_comments"] == 3  # the first of the duplicates
    italian = posts.loc["1abc02"]
    assert italian["name"] == "t3_1abc02" and italian["subreddit"] == "Cafe"
    assert italian["author"] == "[deleted]"  # was null
    assert (italian["score"], italian["num_comments"]) == (7, 2)  # were strings
    assert italian["created_utc"] == 1785938400.0
    assert italian["permalink"] == "/r/Cafe/comments/1abc02/"
    assert italian["url"] == "https://www.reddit.com/r/Cafe/comments/1abc02/"
    assert posts.loc["1abc03", "created_utc"] == 1786354200.0  # 2026-08-10T09:30:00Z
    assert posts.loc["1abc03", "author"] == "[deleted]"
    assert posts.loc["1abc03", "selftext"] == "[removed]"
    assert posts.loc["1abc08", "subreddit"] == "BuyItForLife"  # from a listing line
    assert posts.loc["1abc09", "title"] == "Half an emoji \ufffd survived the export"
    assert posts.loc["1abc09", "selftext"].startswith("日本語のレビュー")
    assert posts["score"].tolist() == [int(s) for s in posts["score"]]
    long = posts.loc["1abc04", "selftext"]
    assert len(long) == MAX_TEXT_CHARS and long.startswith("Week 1: the Moka Nova One")
    stored = store.db["reddit_posts"].find_one({"product": "home-espresso", "id": "1abc04"})
    assert stored["truncated"] == {"selftext": 60_000}
    reply = comments.loc["k9x002"]
    assert (reply["link_id"], reply["parent_id"]) == ("t3_1abc01", "t1_k9x001")
    assert reply["author"] == "[deleted]" and reply["score"] == -2
    assert comments.loc["k9x001", "body"] == "Can confirm, the Duo is great. 👌"


def test_reimport_adds_nothing_and_counts_duplicates(store, product):
    run_file(store, product, DATA / "posts.jsonl")
    again = run_file(store, product, DATA / "posts.jsonl")
    assert again["counts"] == JSONL_COUNTS | {"posts_added": 0, "comments_added": 0,
                                              "duplicates": 10}  # fmt: skip
    assert rejected(again) == JSONL_REJECTED
    repo = RedditRepository(store.db)
    assert repo.count_posts("home-espresso") == 6 and repo.count_comments("home-espresso") == 2


def test_json_array_and_listing_files(store, product):
    array = run_file(store, product, DATA / "posts.json")
    assert array["counts"] == {"read": 5, "posts_added": 2, "comments_added": 1,
                               "duplicates": 1, "rejected": 1, "truncated": 0}  # fmt: skip
    assert rejected(array) == [(4, "created_utc: not a Unix time or ISO date: 'yesterday'")]
    thread = run_file(store, product, DATA / "thread.json")  # a comments page: 2 listings
    assert thread["counts"] == {"read": 5, "posts_added": 1, "comments_added": 3,
                                "duplicates": 0, "rejected": 1, "truncated": 0}  # fmt: skip
    assert rejected(thread) == [(4, "kind 'more': neither a post (t3) nor a comment (t1)")]
    repo = RedditRepository(store.db)
    posts = repo.load_posts("home-espresso", *AUGUST).set_index("id")
    assert sorted(posts.index) == ["1qq201", "1xyz01", "1xyz02"]
    assert posts.loc["1xyz02", "created_utc"] == 1786597200.0  # 07:00+02:00 on 13 August
    assert posts.loc["1xyz01", "score"] == 120
    comments = repo.load_comments("home-espresso", *AUGUST).set_index("id")
    assert sorted(comments.index) == ["k1xyz1", "m3c001", "m3c002", "m3c003"]
    assert comments.loc["m3c002", "parent_id"] == "t1_m3c001"  # a nested reply
    assert comments.loc["m3c003", "link_id"] == "t3_1qq201"  # from its permalink
    assert comments.loc["k1xyz1", "parent_id"] == "t3_1xyz02"


def test_csv_with_quoted_newlines(store, product):
    run = run_file(store, product, DATA / "comments.csv")
    assert run["counts"] == CSV_COUNTS
    assert rejected(run) == CSV_REJECTED
    repo = RedditRepository(store.db)
    comments = repo.load_comments("home-espresso", *AUGUST).set_index("id")
    assert sorted(comments.index) == ["k7a001", "k7a002", "k7a006"]
    assert comments.loc["k7a001", "body"] == (
        'Multi-line comment with "quotes", commas,\r\nand a second line ☕\r\nand a third.'
    )
    assert comments.loc["k7a002", "author"] == "[deleted]"
    assert comments.loc["k7a002", "created_utc"] == 1785938400.0
    assert comments.loc["k7a006", "link_id"] == "t3_1csv01"
    post = repo.load_posts("home-espresso", *AUGUST).set_index("id").loc["1csv01"]
    assert post["subreddit"] == "Coffee" and post["num_comments"] == 6
    assert post["selftext"] == "Budget is tight,\r\nmostly for espresso."


@pytest.mark.parametrize(
    ("name", "content", "format", "error"),
    [
        ("notes.jsonl", None, DumpFormat.ndjson,
         "no record could be read; row 1: malformed JSON: Expecting value (column 1)"),
        ("empty.jsonl", None, DumpFormat.ndjson, "the file holds no records"),
        ("empty.json", b"[\n]\n", DumpFormat.json, "the file holds no records"),
        ("dump.jsonl.gz", gzip.compress(b'{"id": "x"}\n'), DumpFormat.ndjson,
         "the file is gzip-compressed: decompress it first"),
        ("no-id.csv", b"title,score\nhello,1\n", DumpFormat.csv,
         "the CSV header names no id column (found ['title', 'score'])"),
        ("broken.json", b'{"kind": "Listing", "data": {"children": [\n', DumpFormat.json,
         "no record could be read; row 1: malformed JSON: Expecting value (column 43)"),
    ],
)  # fmt: skip
def test_unreadable_input_fails_the_run(store, product, tmp_path, name, content, format, error):
    path = DATA / name
    if content is not None:
        path = tmp_path / name
        path.write_bytes(content)
    run = run_file(store, product, path, format)
    assert run["status"] == "failed" and run["error"] == error
    assert run["counts"]["posts_added"] == run["counts"]["comments_added"] == 0


def test_large_dump_streams_in_batches(store, product, tmp_path):
    """The sample data as one JSON array: read element by element across chunk boundaries,
    stored batch by batch, equal to what was written."""
    posts, comments = generate()
    posts, comments = posts[:1200], comments[:1300]
    path = tmp_path / "sample.json"
    rows = [{k: v for k, v in d.items() if k != "product"} for d in posts + comments]
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    report_counts: list[dict] = []
    repo = RedditRepository(store.db)
    report = IngestionReport()
    with path.open("rb") as stream:
        import_rows(read_dump(stream, DumpFormat.json), "home-espresso", repo, report,
                    on_batch=lambda r: report_counts.append(r.counts()))  # fmt: skip
    assert report.counts() == {"read": 2500, "posts_added": 1200, "comments_added": 1300,
                               "duplicates": 0, "rejected": 0, "truncated": 0}  # fmt: skip
    assert [c["read"] for c in report_counts] == [BATCH_SIZE, 2 * BATCH_SIZE, 2500]
    loaded = repo.load_posts("home-espresso", "2026-07-01", "2026-09-30")
    assert loaded.drop(columns="created").to_dict("records") == sorted(
        posts, key=lambda p: p["created_utc"]
    )


def test_rejected_rows_kept_are_capped(store, product, tmp_path):
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"id": "ok1", "title": "fine", "created_utc": 1785931200})
    path.write_text(good + "\n" + "{not json\n" * (MAX_REJECTED_KEPT + 200))
    run = run_file(store, product, path)
    assert run["status"] == "partial"
    assert run["counts"]["rejected"] == MAX_REJECTED_KEPT + 200
    assert len(run["rejected_rows"]) == MAX_REJECTED_KEPT
    assert run["rejected_rows"][-1]["row"] == MAX_REJECTED_KEPT + 1


def test_format_detection():
    assert detect_format("dump.JSONL") is DumpFormat.ndjson
    assert detect_format("x.ndjson") is DumpFormat.ndjson
    assert detect_format("x.json", "text/csv") is DumpFormat.json  # the name wins
    assert detect_format(None, "text/csv; charset=utf-8") is DumpFormat.csv
    assert detect_format("x.txt", "application/octet-stream") is None


# --- the API ---------------------------------------------------------------------------------
def url(pid: str, suffix: str = "") -> str:
    return f"/v1/products/{pid}/raw/reddit{suffix}"


def test_upload_files_through_the_api(client, auth, pid, settings):
    files = {
        "file": ("posts.jsonl", (DATA / "posts.jsonl").read_bytes(), "application/octet-stream")
    }
    response = client.post(url(pid), headers=auth, files=files)
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["status"] == "partial" and run["source"] == "upload"
    assert run["counts"] == JSONL_COUNTS and run["filename"] == "posts.jsonl"
    assert [(r["row"], r["reason"]) for r in run["rejected_rows"]] == JSONL_REJECTED
    assert run["product_id"] == pid and run["product"] == "home-espresso"
    assert run["started_by"]["kind"] == "api_key"

    csv_file = {"file": ("export.csv", (DATA / "comments.csv").read_bytes(), "text/csv")}
    response = client.post(url(pid), headers=auth, files=csv_file)
    assert response.status_code == 201 and response.json()["counts"] == CSV_COUNTS

    again = client.post(url(pid), headers=auth, files=files).json()
    assert again["counts"] == JSONL_COUNTS | {"posts_added": 0, "comments_added": 0,
                                              "duplicates": 10}  # fmt: skip

    page = client.get(url(pid, "/ingestions"), headers=auth).json()
    assert page["total"] == 3
    assert [r["id"] for r in page["items"]] == [again["id"], response.json()["id"], run["id"]]
    assert "rejected_rows" not in page["items"][0]
    one = client.get(url(pid, f"/ingestions/{run['id']}"), headers=auth).json()
    assert one == run

    store = open_store(settings)
    try:
        repo = RedditRepository(store.db)
        assert len(repo.load_posts("home-espresso", *AUGUST)) == 7  # 6 + 1 from the CSV
        assert len(repo.load_comments("home-espresso", *AUGUST)) == 5
    finally:
        store.close()


def test_records_as_the_request_body(client, auth, pid):
    ndjson = (DATA / "posts.jsonl").read_bytes()
    response = client.post(url(pid), headers=auth | {"Content-Type": "application/x-ndjson"},
                           content=ndjson)  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["source"] == "api" and response.json()["filename"] is None
    assert response.json()["counts"] == JSONL_COUNTS
    rows = [{"id": "9zz001", "subreddit": "r/espresso", "title": "Sent as JSON", "author": None,
             "created_utc": "2026-08-20T10:00:00Z"}]  # fmt: skip
    response = client.post(url(pid), headers=auth, json=rows)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "succeeded"
    assert response.json()["counts"]["posts_added"] == 1
    listing = (DATA / "thread.json").read_bytes()
    response = client.post(url(pid), headers=auth | {"Content-Type": "application/json"},
                           content=listing)  # fmt: skip
    assert response.json()["counts"]["comments_added"] == 3


@pytest.mark.parametrize(
    ("kwargs", "loc", "msg"),
    [
        ({"content": b"", "headers": {"Content-Type": "application/x-ndjson"}}, ["body"],
         "the body is empty"),
        ({"content": b"<html/>", "headers": {"Content-Type": "text/html"}},
         ["header", "content-type"], "unsupported content type 'text/html'"),
        ({"files": {"other": ("a.jsonl", b"{}", "application/x-ndjson")}}, ["body", "file"],
         "send the dump as the multipart field `file`"),
        ({"files": {"file": ("notes.txt", b"hello", "application/octet-stream")}},
         ["body", "file"], "unsupported format 'notes.txt'"),
        ({"files": {"file": ("empty.jsonl", b"", "application/x-ndjson")}}, ["body", "file"],
         "the file is empty"),
        ({"files": {"file": ("notes.jsonl", (DATA / "notes.jsonl").read_bytes(), "text/plain")}},
         ["body", "file"], "no record could be read; row 1: malformed JSON"),
        ({"content": b"\x89PNG\r\n\x1a\n\x00\x00", "headers": {"Content-Type": "application/json"}},
         ["body"], "the file is binary, not JSON or CSV text"),
    ],
)  # fmt: skip
def test_unusable_input_is_422_naming_the_field(client, auth, pid, kwargs, loc, msg):
    kwargs["headers"] = auth | kwargs.get("headers", {})
    response = client.post(url(pid), **kwargs)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == loc and error["msg"].startswith(msg), error


def test_unreadable_upload_keeps_its_failed_run(client, auth, pid):
    files = {"file": ("notes.jsonl", (DATA / "notes.jsonl").read_bytes(), "text/plain")}
    assert client.post(url(pid), headers=auth, files=files).status_code == 422
    [run] = client.get(url(pid, "/ingestions"), headers=auth).json()["items"]
    assert run["status"] == "failed" and run["counts"]["rejected"] == 2
    assert run["error"].startswith("no record could be read")


def test_runs_belong_to_their_product(client, auth, pid, settings):
    other = make_product(settings, "Grinders", "Other clients")["_id"]
    run = client.post(url(pid), headers=auth, json=[{"id": "a1", "title": "t",
                                                     "created_utc": 1785931200}]).json()  # fmt: skip
    assert client.get(url(other, f"/ingestions/{run['id']}"), headers=auth).status_code == 404
    assert client.get(url(pid, "/ingestions/nope"), headers=auth).status_code == 404
    assert client.get(url(other, "/ingestions"), headers=auth).json()["total"] == 0
    assert client.post(url("nope"), headers=auth, json=[]).status_code == 404


# --- the CLI ---------------------------------------------------------------------------------
def reportbook(*args: str) -> subprocess.CompletedProcess:
    """The installed command, with the settings fixture's environment."""
    command = [sys.executable, "-m", "reporting.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=os.environ.copy())  # fmt: skip


def test_cli_imports_files_and_prints_counts(settings, product):
    done = reportbook("import-reddit", "--product", "home-espresso",
                      str(DATA / "posts.jsonl"), str(DATA / "comments.csv"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("posts.jsonl: partial: read 17, posts added 6, comments added 2, "
                               "duplicates 2, rejected 7 (ingestion run ")  # fmt: skip
    assert lines[1:8] == [f"  row {row}: {reason}" for row, reason in JSONL_REJECTED]
    assert lines[8].startswith("comments.csv: partial: read 9, posts added 1, comments added 3")
    store = open_store(settings)
    try:
        runs, total = IngestionRepository(store.db).page(product["_id"], 10, 0)
        assert total == 2 and {r["source"] for r in runs} == {"cli"}
        assert len(RedditRepository(store.db).load_posts("home-espresso", *AUGUST)) == 7
    finally:
        store.close()


def test_cli_exit_code_1_when_a_file_cannot_be_read(settings, product, tmp_path):
    done = reportbook("import-reddit", "--product", "home-espresso", str(DATA / "notes.jsonl"),
                      str(tmp_path / "missing.jsonl"), str(DATA / "posts.json"))  # fmt: skip
    assert done.returncode == 1
    assert "notes.jsonl: failed: read 2" in done.stdout
    assert "missing.jsonl: No such file or directory" in done.stderr
    assert "posts.json: partial: read 5, posts added 2" in done.stdout  # the others still run


def test_cli_unknown_product(settings):
    done = reportbook("import-reddit", "--product", "nope", str(DATA / "posts.jsonl"))
    assert done.returncode == 2 and "no product with slug 'nope'" in done.stderr


def test_cli_format_option_overrides_the_extension(settings, product, tmp_path):
    path = tmp_path / "export.txt"
    path.write_bytes((DATA / "posts.jsonl").read_bytes())
    assert reportbook("import-reddit", "--product", "home-espresso", str(path)).returncode == 1
    done = reportbook("import-reddit", "--product", "home-espresso", "--format", "ndjson",
                      str(path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("export.txt: partial: read 17, posts added 6")
