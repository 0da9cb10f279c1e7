"""Reddit data in: normalise rows read from dumps (or Reddit) and store the new ones.

A row is a post if it has a `title` (or is a `t3` thing, or its `name` starts `t3_`), a
comment if it has a `body` (`t1`). Only the fields of reddit.POST_FIELDS / COMMENT_FIELDS are
kept, in Reddit's names; `name`, `permalink`, `url`, `parent_id` are filled in when missing,
`r/` is dropped from subreddits, a missing author becomes `[deleted]`, `created_utc` may be
Unix seconds or an ISO date. `title`, `selftext` and `body` longer than MAX_TEXT_CHARS are cut
to it and the document records `truncated: {field: original length}`.

A rejected row (undecodable, no `id` or `created_utc`, a bad number, a comment without its
post...) is recorded with its number and reason; it never stops the import. Rows whose Reddit
id is already stored for the product (or came earlier in the same input) are `duplicates`:
the first one stays. Rows are stored in batches of BATCH_SIZE, so memory stays bounded.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from reporting.ingestion import (
    IngestionReport,
    IngestionRepository,
    IngestionSource,
)
from reporting.reddit import RedditRepository, subreddit_name
from reporting.reddit_dumps import (  # reading dumps; re-exported: this is the entry point
    CONTENT_TYPES,
    DumpFormat,
    Row,
    UnreadableDump,
    detect_format,
    read_dump,
)

__all__ = ["BATCH_SIZE", "CONTENT_TYPES", "MAX_TEXT_CHARS", "DumpFormat", "Rejected", "Row",
           "UnreadableDump", "detect_format", "every_row_rejected", "import_rows", "ingest", "normalise",
           "read_dump"]  # fmt: skip

MAX_TEXT_CHARS = 40_000  # longest title / selftext / body stored
BATCH_SIZE = 1000  # documents per insert
SHOWN = 3  # rejected rows named in the error of an import that rejected every row
FIRST_TIME = datetime(2005, 6, 1, tzinfo=UTC).timestamp()  # Reddit opened in June 2005
LAST_TIME = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
REDDIT_ID = re.compile(r"^[0-9A-Za-z]{1,20}$")
PERMALINK = re.compile(r"^/r/([^/]+)/comments/([0-9A-Za-z]+)/")
SURROGATE = re.compile(r"[\ud800-\udfff]")


class Rejected(Exception):
    """One row cannot be imported; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- normalising -----------------------------------------------------------------------------
def _clean(text: str) -> str:
    """Lone surrogates (half an emoji, cut by the dump) cannot be stored: replace them."""
    if SURROGATE.search(text):
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _text(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Rejected(f"{field}: not text but {type(value).__name__}")
    return _clean(str(value))


def _whole(data: dict[str, Any], field: str, minimum: int | None = None) -> int:
    value = data.get(field)
    if value is None:
        return 0
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or not float(number).is_integer():
        raise Rejected(f"{field}: not a whole number: {value!r}")
    if minimum is not None and number < minimum:
        raise Rejected(f"{field}: below {minimum}: {value!r}")
    return int(number)


def _timestamp(value: Any) -> float:
    if value is None or value == "":
        raise Rejected("missing created_utc")
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                seconds = None
            else:
                seconds = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    if seconds is None or not math.isfinite(seconds):
        raise Rejected(f"created_utc: not a Unix time or ISO date: {value!r}")
    if not FIRST_TIME <= seconds < LAST_TIME:
        raise Rejected(f"created_utc out of range (2005-2099; milliseconds?): {value!r}")
    return seconds


def _kind(data: dict[str, Any], hint: str | None) -> str:
    if hint is not None:
        if hint not in ("t3", "t1"):
            raise Rejected(f"kind {hint!r}: neither a post (t3) nor a comment (t1)")
        return hint
    name = data.get("name")
    if isinstance(name, str) and name[:3] in ("t3_", "t1_"):
        return name[:2]
    if data.get("title") is not None:
        return "t3"
    if data.get("body") is not None:
        return "t1"
    raise Rejected("neither a post (no title) nor a comment (no body)")


def _reddit_id(data: dict[str, Any], kind: str) -> str:
    value = data.get("id")
    if value is None or value == "":
        name = data.get("name")
        value = name.split("_", 1)[1] if isinstance(name, str) and "_" in name else None
    if value is None:
        raise Rejected("missing id")
    reddit_id = str(value).strip().removeprefix(f"{kind}_")
    if not REDDIT_ID.match(reddit_id):
        raise Rejected(f"id: not a Reddit id: {value!r}")
    return reddit_id


def _permalink(data: dict[str, Any]) -> str:
    link = _text(data, "permalink")
    return urlparse(link).path if link.startswith(("http://", "https://")) else link


def _fullname(value: str, default_kind: str) -> str:
    return value if value[:3] in ("t1_", "t3_") else f"{default_kind}_{value}"


def normalise(
    data: dict[str, Any], kind_hint: str | None, product: str
) -> tuple[str, dict[str, Any]]:
    """("t3", post) or ("t1", comment) with exactly the stored fields; raises Rejected."""
    kind = _kind(data, kind_hint)
    reddit_id = _reddit_id(data, kind)
    permalink = _permalink(data)
    from_link = PERMALINK.match(permalink)
    subreddit = _text(data, "subreddit") or _text(data, "subreddit_name_prefixed")
    subreddit = subreddit_name(subreddit)
    if not subreddit and from_link:
        subreddit = from_link.group(1)
    author = data.get("author")
    doc: dict[str, Any] = {
        "id": reddit_id,
        "name": f"{kind}_{reddit_id}",
        "subreddit": subreddit,
        "author": "[deleted]" if author is None or author == "" else _text(data, "author"),
        "score": _whole(data, "score"),
        "created_utc": _timestamp(data.get("created_utc")),
        "product": product,
    }
    if kind == "t3":
        permalink = permalink or (
            f"/r/{subreddit}/comments/{reddit_id}/" if subreddit else f"/comments/{reddit_id}/"
        )
        doc |= {"title": _text(data, "title"), "selftext": _text(data, "selftext"),
                "num_comments": _whole(data, "num_comments", minimum=0),
                "permalink": permalink,
                "url": _text(data, "url") or f"https://www.reddit.com{permalink}"}  # fmt: skip
    else:
        link_id = _text(data, "link_id").strip() or (from_link.group(2) if from_link else "")
        if not link_id:
            raise Rejected("missing link_id (the post the comment belongs to)")
        link_id = _fullname(link_id, "t3")
        parent = _text(data, "parent_id").strip()
        parent_id = (
            _fullname(parent, "t3" if parent == link_id[3:] else "t1") if parent else link_id
        )
        doc |= {"link_id": link_id, "parent_id": parent_id, "body": _text(data, "body")}
    truncated = {f: len(doc[f]) for f in ("title", "selftext", "body")
                 if len(doc.get(f, "")) > MAX_TEXT_CHARS}  # fmt: skip
    if truncated:
        doc |= {f: doc[f][:MAX_TEXT_CHARS] for f in truncated} | {"truncated": truncated}
    return kind, doc


# --- storing ---------------------------------------------------------------------------------
def _excerpt(row: Row) -> str:
    if row.data is None:
        return row.text
    return json.dumps(row.data, ensure_ascii=False, default=str)[:300]


def import_rows(
    rows: Iterable[Row],
    product: str,
    reddit: RedditRepository,
    report: IngestionReport,
    on_batch: Callable[[IngestionReport], None] | None = None,
) -> None:
    """Normalise `rows` and store the new ones for `product` (a slug), counting into `report`."""
    posts: list[dict[str, Any]] = []
    comments: list[dict[str, Any]] = []

    def store() -> None:
        added = reddit.insert_new_posts(posts)
        report.posts_added += added
        report.duplicates += len(posts) - added
        added = reddit.insert_new_comments(comments)
        report.comments_added += added
        report.duplicates += len(comments) - added
        posts.clear()
        comments.clear()
        if on_batch is not None:
            on_batch(report)

    iterator = iter(rows)
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            break
        except Exception:  # the input failed (unreadable, a source gave up): keep what was read
            store()
            raise
        report.read += 1
        if row.data is None:
            report.reject(row.number, row.error or "unreadable", row.text)
            continue
        try:
            kind, doc = normalise(row.data, row.kind, product)
        except Rejected as exc:
            report.reject(row.number, exc.reason, _excerpt(row))
            continue
        report.truncated += "truncated" in doc
        (posts if kind == "t3" else comments).append(doc)
        if len(posts) + len(comments) >= BATCH_SIZE:
            store()
    store()


def ingest(
    runs: IngestionRepository,
    reddit: RedditRepository,
    product: dict[str, Any],
    rows: Iterable[Row],
    *,
    source: IngestionSource,
    started_by: dict[str, str],
    filename: str | None = None,
    format: str | None = None,
) -> dict[str, Any]:
    """Import `rows` for `product` as one recorded ingestion run; return the finished run.

    An unreadable input, or one whose every row was rejected, ends the run `failed` (returned);
    any other error ends it `failed` with the counts so far and is raised."""
    run = runs.start(product, source, started_by, filename, format)
    report = IngestionReport()
    try:
        import_rows(rows, product["slug"], reddit, report, lambda r: runs.progress(run["_id"], r))
    except UnreadableDump as exc:
        report.error = exc.message
    except Exception as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        runs.finish(run["_id"], report)
        raise
    if report.error is None and report.read and report.rejected == report.read:
        report.error = every_row_rejected(report)
    return runs.finish(run["_id"], report)


def every_row_rejected(report: IngestionReport) -> str:
    """Why an import whose every row was rejected failed: the first reasons."""
    first = "; ".join(f"row {r['row']}: {r['reason']}" for r in report.rejected_rows[:SHOWN])
    more = f" (and {report.rejected - SHOWN} more)" if report.rejected > SHOWN else ""
    return f"every row was rejected, nothing was imported; {first}{more}"
