"""Raw Reddit data: the repository for posts and comments (the only place their queries live).

Documents keep Reddit's own field names (`id`, `name`, `subreddit`, `created_utc`, ...) plus
`product`, the slug of the product the data was collected for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from pymongo import ASCENDING as ASC
from pymongo.errors import BulkWriteError

from reporting.data_versions import DataVersions
from reporting.store import is_embedded

DUPLICATE_KEY = 11000  # MongoDB's (and the embedded store's) duplicate-key error code
POSTS = "reddit_posts"
COMMENTS = "reddit_comments"
SPANS = "reddit_spans"  # per collection and product: the oldest and newest created_utc stored
# On the embedded store, a period covering at least this share of a product's time span is
# read whole and filtered in pandas (see RedditRepository._reads_whole_product).
WHOLE_READ_SHARE = 0.5

POST_FIELDS = [
    "id", "name", "subreddit", "title", "selftext", "author", "score", "num_comments",
    "created_utc", "permalink", "url", "product",
]  # fmt: skip
COMMENT_FIELDS = [
    "id", "name", "link_id", "parent_id", "subreddit", "body", "author", "score",
    "created_utc", "product",
]  # fmt: skip


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def period_filter(
    product: str,
    start: date | str,
    end: date | str,
    subreddits: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The query for one product's documents from `start` to `end` (whole UTC days, inclusive).

    Subreddit names match case-insensitively, as on Reddit (`coffee` finds r/Coffee).
    """
    lo, hi = _bounds(start, end)
    query: dict[str, Any] = {"product": product, "created_utc": {"$gte": lo, "$lt": hi}}
    if subreddits:
        names = [re.escape(s) for s in _names(subreddits)]
        query["subreddit"] = {"$in": [re.compile(f"^{n}$", re.IGNORECASE) for n in names]}
    return query


def _bounds(start: date | str, end: date | str) -> tuple[float, float]:
    """Epoch seconds from the start of `start` to the end of `end` (UTC), end exclusive."""
    lo = datetime.combine(_as_date(start), time(), UTC).timestamp()
    hi = datetime.combine(_as_date(end) + timedelta(days=1), time(), UTC).timestamp()
    return lo, hi


def subreddit_name(text: str) -> str:
    """A subreddit's name as Reddit writes it in URLs: `r/Coffee`, `/r/Coffee` -> `Coffee`."""
    return text.strip().removeprefix("/").removeprefix("r/")


def _names(subreddits: Sequence[str]) -> list[str]:
    return [subreddit_name(s) for s in subreddits]


def _in_period(
    df: pd.DataFrame, start: date | str, end: date | str, subreddits: Sequence[str] | None
) -> pd.DataFrame:
    """The rows of `df` that period_filter would select, filtered in pandas."""
    lo, hi = _bounds(start, end)
    keep = df["created_utc"].between(lo, hi, inclusive="left")
    if subreddits:
        names = {n.casefold() for n in _names(subreddits)}
        keep &= df["subreddit"].astype("string").str.casefold().isin(names).fillna(False)
    return df[keep]


def _frame(docs: Iterable[dict], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(list(docs), columns=columns)
    df["created_utc"] = df["created_utc"].astype("float64")
    df["created"] = pd.to_datetime(df["created_utc"], unit="s", utc=True)
    return df


class RedditRepository:
    """Reddit posts and comments stored per product, read back as DataFrames."""

    def __init__(self, db: Any) -> None:
        self.posts = db[POSTS]
        self.comments = db[COMMENTS]
        self.spans = db[SPANS]
        self.versions = DataVersions(db)
        self._embedded = is_embedded(db)

    def ensure_indexes(self) -> None:
        for collection in (self.posts, self.comments):
            collection.create_index([("product", ASC), ("created_utc", ASC)])
            collection.create_index([("product", ASC), ("id", ASC)], unique=True)
        self.comments.create_index([("product", ASC), ("link_id", ASC)])
        if not self._embedded:  # spans only serve the embedded store's reads
            return
        for collection in (self.posts, self.comments):  # data stored before spans were kept
            if self.spans.find_one({"_id": {"$regex": f"^{collection.name}/"}}) is None:
                fields = {"product": 1, "created_utc": 1, "_id": 0}
                self._widen_spans(collection, collection.find({}, fields))

    def insert_posts(self, docs: Sequence[dict]) -> int:
        return self._insert(self.posts, docs)

    def insert_comments(self, docs: Sequence[dict]) -> int:
        return self._insert(self.comments, docs)

    def _insert(self, collection: Any, docs: Sequence[dict]) -> int:
        if not docs:
            return 0
        # Copies: insert_many adds `_id` to the dicts it is given.
        added = len(collection.insert_many([dict(d) for d in docs], ordered=True).inserted_ids)
        self._changed(collection, docs)
        return added

    def _changed(self, collection: Any, docs: Iterable[dict]) -> None:
        """`docs` were stored in `collection`: their products have new data (see
        reporting/data_versions.py), and their time spans may be wider."""
        products = sorted({doc["product"] for doc in docs})
        if self._embedded:
            self._widen_spans(collection, docs)
        for product in products:
            self.versions.bump(product)

    def _widen_spans(self, collection: Any, docs: Iterable[dict]) -> None:
        """Widen the time spans of the products of `docs` (stored in `collection`) to take
        them in."""
        spans: dict[str, tuple[float, float]] = {}
        for doc in docs:
            at = float(doc["created_utc"])
            lo, hi = spans.get(doc["product"], (at, at))
            spans[doc["product"]] = (min(lo, at), max(hi, at))
        for product, (lo, hi) in sorted(spans.items()):
            self.spans.update_one(
                {"_id": f"{collection.name}/{product}"},
                {"$min": {"lo": lo}, "$max": {"hi": hi}},
                upsert=True,
            )

    def insert_new_posts(self, docs: Sequence[dict]) -> int:
        """Insert the posts whose (product, id) is not stored yet; return how many were added.
        The first of several with one id wins; the others are skipped, like stored ones
        (by the unique index ensure_indexes makes)."""
        return self._insert_new(self.posts, docs)

    def insert_new_comments(self, docs: Sequence[dict]) -> int:
        """Like insert_new_posts, for comments."""
        return self._insert_new(self.comments, docs)

    def _insert_new(self, collection: Any, docs: Sequence[dict]) -> int:
        first: dict[tuple[str, str], dict] = {}
        for doc in docs:
            first.setdefault((doc["product"], doc["id"]), doc)
        if not first:
            return 0
        # Unordered: every new one is stored, the unique (product, id) index refuses the rest.
        # (Asking for the stored ids first is slower: the embedded store scans for `$in`.)
        try:
            inserted = collection.insert_many([dict(d) for d in first.values()], ordered=False)
            added = len(inserted.inserted_ids)
        except BulkWriteError as exc:
            if any(e["code"] != DUPLICATE_KEY for e in exc.details["writeErrors"]):
                raise
            added = int(exc.details["nInserted"])
        if added:  # the duplicates skipped are stored already: within the span
            self._changed(collection, first.values())
        return added

    def delete_product(self, product: str) -> tuple[int, int]:
        """Remove every post and comment of `product`; returns (posts, comments) removed."""
        posts = self.posts.delete_many({"product": product}).deleted_count
        comments = self.comments.delete_many({"product": product}).deleted_count
        self.spans.delete_many({"_id": {"$in": [f"{POSTS}/{product}", f"{COMMENTS}/{product}"]}})
        return posts, comments

    def count_posts(self, product: str) -> int:
        return self.posts.count_documents({"product": product})

    def count_comments(self, product: str) -> int:
        return self.comments.count_documents({"product": product})

    def count_posts_between(self, product: str, start: date | str, end: date | str) -> int:
        """Posts created from `start` to `end` (whole UTC days, inclusive)."""
        return self.posts.count_documents(period_filter(product, start, end))

    def count_comments_between(self, product: str, start: date | str, end: date | str) -> int:
        return self.comments.count_documents(period_filter(product, start, end))

    def load_posts(
        self,
        product: str,
        start: date | str,
        end: date | str,
        subreddits: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Posts created from `start` to `end` (inclusive), oldest first (ties by id), with a UTC
        `created`."""
        return self._load(self.posts, POST_FIELDS, product, start, end, subreddits)

    def load_comments(
        self,
        product: str,
        start: date | str,
        end: date | str,
        subreddits: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Comments created from `start` to `end` (inclusive), oldest first, like load_posts."""
        return self._load(self.comments, COMMENT_FIELDS, product, start, end, subreddits)

    def _load(self, collection, fields, product, start, end, subreddits) -> pd.DataFrame:
        projection = {f: 1 for f in fields} | {"_id": 0}
        if not self._embedded:  # MongoDB: the indexed query does it all
            docs = collection.find(period_filter(product, start, end, subreddits), projection)
            return _sorted(_frame(docs, fields))
        # The embedded store matches every document in Python: ~25 us each for the date range
        # (on the candidates its index picks), more for the subreddit regexes. So subreddits
        # are filtered in pandas, and a period covering most of the product's data is read
        # whole, without the range (bench/store_load.py).
        if self._reads_whole_product(collection, product, start, end):
            query: dict[str, Any] = {"product": product}
        else:
            query = period_filter(product, start, end)
        frame = _frame(collection.find(query, projection), fields)
        return _sorted(_in_period(frame, start, end, subreddits))

    def _reads_whole_product(self, collection: Any, product: str, start, end) -> bool:
        """Whether the period covers at least WHOLE_READ_SHARE of the product's time span in
        `collection` (taken as evenly filled). Without a span (nothing stored) the range
        query, which is never much slower."""
        span = self.spans.find_one({"_id": f"{collection.name}/{product}"})
        if span is None:
            return False
        lo, hi = _bounds(start, end)
        whole = span["hi"] - span["lo"]
        covered = min(hi, span["hi"]) - max(lo, span["lo"])
        return covered >= WHOLE_READ_SHARE * whole


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Oldest first, ties by id: the order does not depend on how the store returned them
    (the embedded store sorts in Python, slower than pandas)."""
    return frame.sort_values(["created_utc", "id"], ignore_index=True)
