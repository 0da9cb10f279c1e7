"""RedditRepository and seeding against the real embedded store."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from pymongo.errors import BulkWriteError

from reporting.reddit import COMMENT_FIELDS, POST_FIELDS, RedditRepository
from reporting.sample_data import SAMPLE_PRODUCT, generate, seed_sample_data
from reporting.settings import load_settings
from reporting.store import Backend, open_store


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    """One embedded store for the module, seeded once (by `seeded`)."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("data"), mongodb_uri=None)
    store = open_store(settings)
    assert store.backend is Backend.embedded
    yield store
    store.close()


@pytest.fixture(scope="module")
def seeded(sample_store):
    inserted = seed_sample_data(sample_store.db)
    return inserted, RedditRepository(sample_store.db)


@pytest.fixture(scope="module")
def sample():
    return generate()


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def post(id_: str, created: str, subreddit: str = "espresso", product: str = "edge") -> dict:
    return {
        "id": id_, "name": f"t3_{id_}", "subreddit": subreddit, "title": f"post {id_}",
        "selftext": "", "author": "someone", "score": 1, "num_comments": 0,
        "created_utc": ts(created), "permalink": f"/r/{subreddit}/comments/{id_}/x/",
        "url": "https://www.reddit.com/", "product": product,
    }  # fmt: skip


def test_seeding_inserts_everything_once(sample_store, seeded, sample):
    inserted, repo = seeded
    posts, comments = sample
    assert inserted == len(posts)
    assert repo.count_posts(SAMPLE_PRODUCT) == len(posts)
    assert repo.count_comments(SAMPLE_PRODUCT) == len(comments)
    assert seed_sample_data(sample_store.db) == 0
    assert repo.count_posts(SAMPLE_PRODUCT) == len(posts)
    assert repo.count_comments(SAMPLE_PRODUCT) == len(comments)


def test_load_whole_period_as_dataframes(seeded, sample):
    _, repo = seeded
    posts = repo.load_posts(SAMPLE_PRODUCT, date(2026, 7, 1), date(2026, 9, 30))
    comments = repo.load_comments(SAMPLE_PRODUCT, "2026-07-01", "2026-09-30")
    assert len(posts) == len(sample[0]) and len(comments) == len(sample[1])
    assert posts.columns.tolist() == [*POST_FIELDS, "created"]
    assert comments.columns.tolist() == [*COMMENT_FIELDS, "created"]
    assert str(posts["created"].dt.tz) == "UTC"
    assert posts["created_utc"].is_monotonic_increasing
    first = sample[0][0]
    assert posts.iloc[0]["id"] == first["id"]
    assert posts.iloc[0]["created"] == datetime.fromtimestamp(first["created_utc"], UTC)
    assert "_id" not in posts.columns


def test_period_filter_is_inclusive_whole_days(seeded, sample):
    _, repo = seeded
    day = date(2026, 8, 12)
    expected = [p["id"] for p in sample[0]
                if datetime.fromtimestamp(p["created_utc"], UTC).date() == day]  # fmt: skip
    loaded = repo.load_posts(SAMPLE_PRODUCT, day, day)
    assert expected and loaded["id"].tolist() == expected


def test_subreddit_filter_is_case_insensitive(seeded, sample):
    _, repo = seeded
    posts = repo.load_posts(SAMPLE_PRODUCT, "2026-07-01", "2026-07-31", ["coffee", "r/Cafe"])
    in_july = [p for p in sample[0] if p["created_utc"] < ts("2026-08-01T00:00:00")]
    expected = Counter(p["subreddit"] for p in in_july if p["subreddit"] in ("Coffee", "Cafe"))
    assert Counter(posts["subreddit"]) == expected
    spelled = repo.load_posts(SAMPLE_PRODUCT, "2026-07-01", "2026-07-31", [" /r/COFFEE", "/r/cafe"])
    assert spelled["id"].tolist() == posts["id"].tolist()  # as a URL writes them
    comments = repo.load_comments(SAMPLE_PRODUCT, "2026-07-01", "2026-09-30", ["homebarista"])
    assert set(comments["subreddit"]) == {"homebarista"}
    assert len(comments) == sum(c["subreddit"] == "homebarista" for c in sample[1])


def test_period_edges_and_products_are_separate(seeded):
    _, repo = seeded
    repo.insert_posts([
        post("a", "2026-06-30T23:59:59"),
        post("b", "2026-07-01T00:00:00"),
        post("c", "2026-07-31T23:59:59", subreddit="Coffee"),
        post("d", "2026-08-01T00:00:00"),
    ])  # fmt: skip
    assert repo.load_posts("edge", "2026-07-01", "2026-07-31")["id"].tolist() == ["b", "c"]
    assert repo.load_posts("edge", "2026-07-01", "2026-07-31", ["Coffee"])["id"].tolist() == ["c"]
    assert repo.count_posts("edge") == 4
    assert len(repo.load_posts(SAMPLE_PRODUCT, "2026-07-01", "2026-07-31")) > 0  # untouched
    with pytest.raises(BulkWriteError):  # (product, id) is unique
        repo.insert_posts([post("a", "2026-07-02T00:00:00")])
    repo.insert_posts([post("a", "2026-07-02T00:00:00", product="other")])
    assert repo.count_posts("other") == 1


def test_nothing_matches_gives_empty_frames_with_columns(seeded):
    _, repo = seeded
    posts = repo.load_posts("no-such-product", "2026-07-01", "2026-09-30")
    comments = repo.load_comments(SAMPLE_PRODUCT, "2030-01-01", "2030-01-31")
    assert posts.empty and posts.columns.tolist() == [*POST_FIELDS, "created"]
    assert comments.empty and comments.columns.tolist() == [*COMMENT_FIELDS, "created"]
    assert str(comments["created"].dt.tz) == "UTC"
    assert repo.insert_posts([]) == 0


@pytest.mark.parametrize(
    ("start", "end", "subreddits", "whole"),
    [
        ("2026-07-01", "2026-09-30", None, True),
        ("2026-08-12", "2026-08-12", None, False),
        ("2026-07-01", "2026-07-31", ["coffee", "r/Cafe"], False),
        ("2026-08-01", "2026-09-30", ["ESPRESSO", "homebarista", "no-such-sub"], True),
        ("2030-01-01", "2030-01-31", ["Coffee"], False),
    ],
)
def test_the_embedded_reads_select_what_the_store_query_selects(
    seeded, start, end, subreddits, whole
):
    """On the embedded store the repository filters subreddits in pandas, and reads a period
    covering most of the product's data whole; the store's own evaluation of period_filter
    (the query MongoDB runs, indexed) must select the same rows in the same order."""
    _, repo = seeded
    assert repo._reads_whole_product(repo.posts, SAMPLE_PRODUCT, start, end) is whole
    for load in (repo.load_posts, repo.load_comments):
        embedded = load(SAMPLE_PRODUCT, start, end, subreddits)
        repo._embedded = False
        try:
            by_store = load(SAMPLE_PRODUCT, start, end, subreddits)
        finally:
            repo._embedded = True
        assert len(by_store) == len(embedded)
        if by_store.empty:  # the store's empty frame has object columns
            assert embedded.empty and embedded.columns.equals(by_store.columns)
        else:
            pd.testing.assert_frame_equal(embedded, by_store)


def test_spans_follow_what_is_stored(store):
    repo = RedditRepository(store.db)
    repo.ensure_indexes()
    span = lambda: repo.spans.find_one({"_id": "reddit_posts/spans"})  # noqa: E731
    assert repo.insert_posts([post("s1", "2026-07-10T00:00:00", product="spans")]) == 1
    assert (span()["lo"], span()["hi"]) == (ts("2026-07-10T00:00:00"),) * 2
    repo.insert_new_posts([post("s2", "2026-07-20T00:00:00", product="spans"),
                           post("s1", "2026-07-10T00:00:00", product="spans")])  # fmt: skip
    repo.insert_new_posts([post("s0", "2026-07-01T00:00:00", product="spans")])
    assert (span()["lo"], span()["hi"]) == (ts("2026-07-01T00:00:00"), ts("2026-07-20T00:00:00"))
    assert repo.spans.find_one({"_id": "reddit_comments/spans"}) is None
    assert repo._reads_whole_product(repo.posts, "spans", "2026-07-01", "2026-07-10")
    assert not repo._reads_whole_product(repo.posts, "spans", "2026-07-15", "2026-07-16")
    assert repo.delete_product("spans") == (3, 0)
    assert span() is None
    assert not repo._reads_whole_product(repo.posts, "spans", "2026-07-01", "2026-07-31")


def test_spans_of_data_stored_before_them_are_made_at_startup(seeded):
    _, repo = seeded
    repo.posts.insert_many([post("o1", "2026-05-02T00:00:00", product="old"),
                            post("o2", "2026-05-09T12:00:00", product="old")])  # fmt: skip
    repo.spans.delete_many({})  # as a store from before spans were kept
    repo.ensure_indexes()
    span = repo.spans.find_one({"_id": "reddit_posts/old"})
    assert (span["lo"], span["hi"]) == (ts("2026-05-02T00:00:00"), ts("2026-05-09T12:00:00"))
    for name in ("reddit_posts", "reddit_comments"):  # every product, in both collections
        assert repo.spans.find_one({"_id": f"{name}/{SAMPLE_PRODUCT}"}) is not None
    assert repo._reads_whole_product(repo.posts, "old", "2026-05-01", "2026-05-31")
