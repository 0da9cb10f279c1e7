"""The sample dataset: deterministic, the right size and shape, realistically messy."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from reporting import analytics
from reporting.sample_data import (
    SAMPLE_BRANDS,
    SAMPLE_END,
    SAMPLE_PRODUCT,
    SAMPLE_START,
    SAMPLE_SUBREDDITS,
    generate,
)

BASE36 = re.compile(r"^[0-9a-z]{7}$")
EMOJI = re.compile("[\U0001f300-\U0001faff\u2615]")


@pytest.fixture(scope="module")
def sample():
    return generate()


@pytest.fixture(scope="module")
def frames(sample):
    posts, comments = (pd.DataFrame(docs) for docs in sample)
    for df in (posts, comments):
        df["created"] = pd.to_datetime(df["created_utc"], unit="s", utc=True)
    return posts, comments


def test_same_seed_same_data_other_seed_other_data(sample):
    assert generate(7) == sample
    other_posts, _ = generate(8)
    assert [p["title"] for p in other_posts[:50]] != [p["title"] for p in sample[0][:50]]


def test_sizes_and_period(sample):
    posts, comments = sample
    assert 2300 <= len(posts) <= 2700
    assert 7000 <= len(comments) <= 8000
    lo = datetime(SAMPLE_START.year, SAMPLE_START.month, SAMPLE_START.day, tzinfo=UTC)
    hi = lo.replace(month=SAMPLE_END.month, day=SAMPLE_END.day) + timedelta(days=1)
    for doc in posts + comments:
        assert lo.timestamp() <= doc["created_utc"] < hi.timestamp()
        assert doc["product"] == SAMPLE_PRODUCT
    assert {p["subreddit"] for p in posts} == set(SAMPLE_SUBREDDITS)


def test_reddit_shapes_and_references(sample):
    posts, comments = sample
    post_names = {p["name"] for p in posts}
    assert len(post_names) == len(posts)
    for p in posts:
        assert BASE36.match(p["id"]) and p["name"] == f"t3_{p['id']}"
        assert p["permalink"].startswith(f"/r/{p['subreddit']}/comments/{p['id']}/")
        assert p["url"].startswith("https://")
        assert isinstance(p["created_utc"], float)
    by_name = {c["name"]: c for c in comments}
    assert len(by_name) == len(comments)
    per_post = Counter(c["link_id"] for c in comments)
    for c in comments:
        assert BASE36.match(c["id"]) and c["name"] == f"t1_{c['id']}"
        assert c["link_id"] in post_names
        if c["parent_id"] != c["link_id"]:  # a reply: to an earlier comment of the same post
            parent = by_name[c["parent_id"]]
            assert parent["link_id"] == c["link_id"]
            assert parent["created_utc"] <= c["created_utc"]
    # num_comments counts every fetched comment (Reddit's count may be higher).
    assert all(p["num_comments"] >= per_post[p["name"]] for p in posts)
    assert any(c["parent_id"] != c["link_id"] for c in comments)


def test_realistic_mess(sample):
    posts, comments = sample
    texts = [p["title"] + " " + p["selftext"] for p in posts] + [c["body"] for c in comments]
    assert 0.01 < sum(p["author"] == "[deleted]" for p in posts) / len(posts) < 0.1
    assert sum(c["body"] in ("[deleted]", "[removed]") for c in comments) > 100
    assert sum(bool(EMOJI.search(t)) for t in texts) > 100
    non_english = ("¿", "Qualcuno", "Meine", "Comprei", "Merci", "Funziona")
    assert sum(any(w in t for w in non_english) for t in texts) > 50
    assert any("MokaNova" in t for t in texts) and any("brevio" in t for t in texts)
    assert any("moka pot" in t.lower() for t in texts)  # not a brand mention
    assert sum(p["selftext"] == "" for p in posts) > 100  # image posts
    scores = sorted(p["score"] for p in posts)
    assert scores[-1] > 50 * max(scores[len(scores) // 2], 1)  # heavy tail
    assert min(c["score"] for c in comments) < 0


def test_posts_mention_zero_one_or_two_brands(frames):
    posts, _ = frames
    text = posts["title"] + "\n" + posts["selftext"]
    found = analytics.find_mentions(text, SAMPLE_BRANDS)
    per_post = found.groupby("doc").size().reindex(posts.index, fill_value=0).value_counts()
    assert per_post[0] > 0.1 * len(posts)
    assert per_post[1] > 0.4 * len(posts)
    assert per_post[2] > 0.05 * len(posts)


def test_the_story_is_in_the_data(frames):
    """Brevio leads; Steamly gains, Caffora loses; the recall week peaks on Caffora."""
    posts, comments = frames
    mentions = analytics.brand_mentions(analytics.corpus(posts, comments), SAMPLE_BRANDS)
    sov = analytics.share_of_voice(mentions, SAMPLE_BRANDS)
    assert sov["brand"].iloc[0] == "Brevio"
    split = analytics.split_point(SAMPLE_START, SAMPLE_END)
    change = analytics.share_change(mentions, split, SAMPLE_BRANDS)
    assert change["brand"].iloc[0] == "Steamly" and change["change"].iloc[0] > 3
    assert change["brand"].iloc[-1] == "Caffora" and change["change"].iloc[-1] < -3
    weekly = analytics.mention_volume(mentions, "W", SAMPLE_BRANDS)
    peak = weekly.sum(axis=1).idxmax()
    assert peak.date().isoformat() == "2026-08-10"
    assert (weekly.loc[peak] - weekly.mean()).idxmax() == "Caffora"
