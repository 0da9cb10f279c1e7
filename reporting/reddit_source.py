"""Reddit live: posts from Reddit's public JSON listings, fed to the same importer as dumps.

`{base}/r/{sub}/new.json` (newest posts) or `{base}/r/{sub}/search.json?q=...&restrict_sr=1`
(a search inside the subreddit), 100 per page, paged with `after` until the listing ends or
`limit` posts were read. 429 and 5xx answers (and connection errors) are retried with
exponential backoff (a 429's Retry-After is honoured, capped at `max_backoff_seconds`), at most
`retries` times per page; then SourceUnavailable. Other errors (private, banned or unknown
subreddit) raise SourceError at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx

from reporting.errors import ReportbookError
from reporting.ingestion import IngestionRepository, IngestionSource
from reporting.reddit import RedditRepository, subreddit_name
from reporting.reddit_dumps import Row
from reporting.reddit_import import ingest

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # Reddit's largest page


def _user_agent() -> str:
    try:
        release = version("reportbook")
    except PackageNotFoundError:
        release = "dev"
    # Reddit asks for <platform>:<app id>:<version> (by /u/<user>); generic agents get 429s.
    return f"python:reportbook:{release} (Reddit data import for reports)"


class SourceError(ReportbookError):
    """Reddit answered, but not with a listing (private, banned or unknown subreddit...)."""

    status_code = 502


class SourceUnavailable(SourceError):
    """Reddit kept failing (429, 5xx, network) after every retry."""

    status_code = 503


class RedditSource:
    """Pages through a subreddit's public listings with httpx."""

    def __init__(
        self,
        base_url: str,
        *,
        retries: int = 4,
        backoff_seconds: float = 2.0,
        max_backoff_seconds: float = 60.0,
        timeout_seconds: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"User-Agent": _user_agent(), "Accept": "application/json"},
            timeout=timeout_seconds,
        )
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.sleep = sleep

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> RedditSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def posts(self, subreddit: str, query: str | None = None, limit: int = 1000) -> Iterator[Row]:
        """Up to `limit` posts of r/`subreddit` (newest first, or matching `query`) as rows."""
        subreddit = subreddit_name(subreddit)
        path = f"/r/{subreddit}/search.json" if query else f"/r/{subreddit}/new.json"
        params: dict[str, Any] = {"limit": PAGE_SIZE, "raw_json": 1}
        if query:
            params |= {"q": query, "restrict_sr": 1, "sort": "new"}
        read, after = 0, None
        while read < limit:
            page = self._get(path, params | ({"after": after} if after else {}))
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, dict) or page.get("kind") != "Listing":
                raise SourceError(f"{path}: not a Reddit listing")
            children = data.get("children") or []
            for child in children[: limit - read]:
                read += 1
                if isinstance(child, dict) and isinstance(child.get("data"), dict):
                    yield Row(read, child["data"], kind=str(child.get("kind")))
                else:
                    yield Row(read, error="not a Reddit thing", text=str(child)[:200])
            after = data.get("after")
            if not children or not after:
                return

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        for attempt in range(self.retries + 1):
            wait = min(self.backoff_seconds * 2**attempt, self.max_backoff_seconds)
            try:
                response = self.client.get(path, params=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise SourceError(f"{path}: the answer is not JSON") from exc
                if response.status_code != 429 and response.status_code < 500:
                    raise SourceError(f"{path}: Reddit answered {response.status_code}"
                                      f"{_why(response)}")  # fmt: skip
                problem = f"HTTP {response.status_code}"
                wait = min(_retry_after(response) or wait, self.max_backoff_seconds)
            if attempt == self.retries:
                raise SourceUnavailable(f"{path}: {problem} after {self.retries + 1} attempts")
            log.warning("reddit %s: %s; retrying in %.1fs", path, problem, wait)
            self.sleep(wait)
        raise AssertionError("unreachable")


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _why(response: httpx.Response) -> str:
    if response.is_redirect:  # Reddit sends unknown subreddits to its search page
        return " (a redirect: no such subreddit?)"
    if response.status_code == 403:
        return " (private or quarantined subreddit)"
    if response.status_code == 404:
        return " (banned or unknown subreddit)"
    return ""


def fetch(
    source: RedditSource,
    runs: IngestionRepository,
    reddit: RedditRepository,
    product: dict[str, Any],
    subreddit: str,
    *,
    started_by: dict[str, str],
    query: str | None = None,
    limit: int = 1000,
) -> dict[str, Any]:
    """Import up to `limit` posts of a subreddit for `product` as one ingestion run."""
    what = f"r/{subreddit_name(subreddit)} " + (f"search {query!r}" if query else "new")
    return ingest(runs, reddit, product, source.posts(subreddit, query, limit),
                  source=IngestionSource.reddit_api, started_by=started_by, filename=what,
                  format="listing")  # fmt: skip
