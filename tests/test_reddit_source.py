"""Reddit's public listings through a real local HTTP server that speaks their JSON format:
paging with `after`, search, a 429, 5xx, private and unknown subreddits."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from reporting.ingestion import IngestionRepository, cli_actor
from reporting.reddit import RedditRepository
from reporting.reddit_source import RedditSource, SourceError, SourceUnavailable, fetch
from tests.conftest import ROOT

T0 = 1786478400  # 2026-08-11T20:00:00Z: the newest post; each older one 10 minutes before
TITLES = ["Brevio Duo after a year", "Help: Steamly S3 leaking", "¿Qué molino recomiendan? ☕",
          "Caffora recall megathread", "Morning routine with the Vellaro Leva"]  # fmt: skip


def _base36(n: int) -> str:
    digits, out = "0123456789abcdefghijklmnopqrstuvwxyz", ""
    while n:
        n, rem = divmod(n, 36)
        out = digits[rem] + out
    return out


def reddit_post(subreddit: str, n: int) -> dict[str, Any]:
    """One post as Reddit's listing returns it (a realistic subset of its ~100 fields)."""
    post_id = _base36(int("1r00000", 36) + n)
    title = TITLES[n % len(TITLES)]
    permalink = f"/r/{subreddit}/comments/{post_id}/{title.lower().replace(' ', '_')[:30]}/"
    return {"kind": "t3", "data": {
        "approved_at_utc": None, "subreddit": subreddit, "selftext": f"Post number {n}.",
        "author_fullname": f"t2_{_base36(9000 + n)}", "saved": False, "gilded": 0,
        "title": title, "subreddit_name_prefixed": f"r/{subreddit}", "hidden": False,
        "upvote_ratio": 0.94, "ups": n % 50, "downs": 0, "score": n % 50,
        "author_flair_text": None, "thumbnail": "self", "edited": False, "is_self": True,
        "created": float(T0 - 600 * n), "link_flair_text": "Question", "over_18": False,
        "id": post_id, "name": f"t3_{post_id}", "subreddit_id": "t5_2qh5p",
        "author": "[deleted]" if n % 17 == 0 else f"barista_{n}", "num_comments": n % 7,
        "permalink": permalink, "url": f"https://www.reddit.com{permalink}",
        "created_utc": float(T0 - 600 * n), "num_crossposts": 0, "media": None,
    }}  # fmt: skip


@dataclass
class FakeReddit:
    """What the server holds and what it was asked."""

    subreddits: dict[str, list[dict[str, Any]]]
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    throttle_once: set[str] = field(default_factory=set)  # paths answered 429 the first time

    def listing(self, posts: list[dict], query: dict[str, str]) -> dict[str, Any]:
        limit = min(int(query.get("limit", "25")), 100)
        start = 0
        if "after" in query:
            start = next(i for i, p in enumerate(posts) if p["data"]["name"] == query["after"]) + 1
        page = posts[start : start + limit]
        after = page[-1]["data"]["name"] if page and start + limit < len(posts) else None
        return {"kind": "Listing", "data": {"after": after, "dist": len(page), "modhash": "",
                                            "geo_filter": "", "children": page, "before": None}}  # fmt: skip


def serve(reddit: FakeReddit) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            reddit.requests.append((url.path, query, dict(self.headers)))
            if "reportbook" not in self.headers.get("User-Agent", ""):
                return self.send(429, {"message": "Too Many Requests", "error": 429})
            parts = url.path.strip("/").split("/")  # r, <sub>, new.json | search.json
            if len(parts) != 3 or parts[0] != "r":
                return self.send(404, {"message": "Not Found", "error": 404})
            sub, endpoint = parts[1], parts[2]
            if sub == "private":
                return self.send(403, {"reason": "private", "message": "Forbidden", "error": 403})
            if sub == "flaky":
                return self.send(503, {"message": "Service Unavailable", "error": 503})
            if sub not in reddit.subreddits:  # what Reddit does for unknown subreddits
                self.send_response(302)
                self.send_header("Location", f"/subreddits/search.json?q={sub}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            key = f"{url.path}?after={query.get('after')}"
            if key in reddit.throttle_once:
                reddit.throttle_once.discard(key)
                return self.send(429, {"message": "Too Many Requests", "error": 429},
                                 {"Retry-After": "1", "x-ratelimit-remaining": "0"})  # fmt: skip
            posts = reddit.subreddits[sub]
            if endpoint == "search.json":
                if query.get("restrict_sr") != "1":
                    return self.send(400, {"message": "search all of Reddit?", "error": 400})
                words = query["q"].lower()
                posts = [p for p in posts if words in p["data"]["title"].lower()]
            return self.send(200, reddit.listing(posts, query))

    return Handler


@pytest.fixture
def fake_reddit() -> Iterator[tuple[FakeReddit, str]]:
    reddit = FakeReddit({
        "espresso": [reddit_post("espresso", n) for n in range(250)],
        "Coffee": [reddit_post("Coffee", n) for n in range(1000, 1030)],
    })  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), serve(reddit))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield reddit, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def quick(base_url: str) -> RedditSource:
    return RedditSource(base_url, retries=2, backoff_seconds=0.01, max_backoff_seconds=0.05)


def run_fetch(store, product, base_url, subreddit, **kwargs) -> dict:
    with quick(base_url) as source:
        return fetch(source, IngestionRepository(store.db), RedditRepository(store.db), product,
                     subreddit, started_by=cli_actor("tester"), **kwargs)  # fmt: skip


def test_pages_through_new_posts_with_after(fake_reddit, store, product):
    reddit, base = fake_reddit
    reddit.throttle_once.add("/r/espresso/new.json?after=t3_1r0002r")  # the second page: 429
    run = run_fetch(store, product, base, "r/espresso")
    assert run["status"] == "succeeded" and run["source"] == "reddit_api"
    assert run["counts"] == {"read": 250, "posts_added": 250, "comments_added": 0,
                             "duplicates": 0, "rejected": 0, "truncated": 0}  # fmt: skip
    assert run["filename"] == "r/espresso new" and run["format"] == "listing"
    asked = [(path, q.get("after")) for path, q, _ in reddit.requests]
    assert asked == [("/r/espresso/new.json", None), ("/r/espresso/new.json", "t3_1r0002r"),
                     ("/r/espresso/new.json", "t3_1r0002r"), ("/r/espresso/new.json", "t3_1r0005j")]  # fmt: skip
    assert {q["limit"] for _, q, _ in reddit.requests} == {"100"}
    assert all(h["User-Agent"].startswith("python:reportbook:") for _, _, h in reddit.requests)
    posts = RedditRepository(store.db).load_posts("home-espresso", "2026-08-01", "2026-08-31")
    assert len(posts) == 250 and posts["subreddit"].unique().tolist() == ["espresso"]
    newest = posts.iloc[-1]
    assert (newest["id"], newest["created_utc"], newest["author"]) == ("1r00000", T0, "[deleted]")
    assert newest["title"] == "Brevio Duo after a year"


def test_limit_bounds_what_is_read(fake_reddit, store, product):
    reddit, base = fake_reddit
    run = run_fetch(store, product, base, "espresso", limit=120)
    assert run["counts"]["read"] == run["counts"]["posts_added"] == 120
    assert len(reddit.requests) == 2


def test_search_inside_the_subreddit_and_refetch(fake_reddit, store, product):
    reddit, base = fake_reddit
    run = run_fetch(store, product, base, "espresso", query="recall")
    assert run["counts"]["posts_added"] == 50 and run["filename"] == "r/espresso search 'recall'"
    path, query, _ = reddit.requests[0]
    assert path == "/r/espresso/search.json"
    assert (query["q"], query["restrict_sr"], query["sort"]) == ("recall", "1", "new")
    again = run_fetch(store, product, base, "espresso", limit=100)
    assert again["counts"] | {"read": 0} == {"read": 0, "posts_added": 80, "comments_added": 0,
                                             "duplicates": 20, "rejected": 0, "truncated": 0}  # fmt: skip


def test_gives_up_after_bounded_retries(fake_reddit, store, product):
    reddit, base = fake_reddit
    with pytest.raises(SourceUnavailable, match=r"HTTP 503 after 3 attempts"):
        run_fetch(store, product, base, "flaky")
    assert len(reddit.requests) == 3
    [run], _ = IngestionRepository(store.db).page(product["_id"], 10, 0)
    assert run["status"] == "failed" and "HTTP 503 after 3 attempts" in run["error"]


@pytest.mark.parametrize(
    ("subreddit", "reason"),
    [("private", "403 (private or quarantined subreddit)"),
     ("nosuchsub", "302 (a redirect: no such subreddit?)")],
)  # fmt: skip
def test_refusals_fail_at_once(fake_reddit, store, product, subreddit, reason):
    reddit, base = fake_reddit
    with pytest.raises(SourceError, match=re.escape(f"Reddit answered {reason}")):
        run_fetch(store, product, base, subreddit)
    assert len(reddit.requests) == 1


def test_cli_fetch_reddit(fake_reddit, store, product):
    reddit, base = fake_reddit
    env = os.environ | {"REDDIT_BASE_URL": base}
    done = subprocess.run(
        [sys.executable, "-m", "reporting.cli", "fetch-reddit", "--product", "home-espresso",
         "--subreddit", "Coffee", "--limit", "25"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("r/Coffee new: succeeded: read 25, posts added 25, ")
    assert RedditRepository(store.db).count_posts("home-espresso") == 25
    failed = subprocess.run(
        [sys.executable, "-m", "reporting.cli", "fetch-reddit", "--product", "home-espresso",
         "--subreddit", "private"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )  # fmt: skip
    assert failed.returncode == 1 and "Reddit answered 403" in failed.stderr
