"""Sentiment: VADER scores on clear texts, aggregation on hand-set scores, and the sample's
story (Caffora's recall week reads worse than the weeks before it)."""

from __future__ import annotations

import pandas as pd
import pytest

from reporting import analytics, sentiment
from reporting.sample_data import RECALL_WEEK, SAMPLE_ALIASES, SAMPLE_BRANDS
from tests.conftest import sample_frames


def docs_frame(rows: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """A corpus from {doc: (text, ISO time)}."""
    return pd.DataFrame({
        "kind": "comment", "post_id": "p", "subreddit": "espresso", "author": "a", "score": 1,
        "created": pd.to_datetime([t for _, t in rows.values()], utc=True),
        "text": [text for text, _ in rows.values()],
    }, index=pd.Index(list(rows), name="doc"))  # fmt: skip


def mentions_of(docs: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Mentions as brand_mentions returns them, from (doc, brand) pairs."""
    m = pd.DataFrame(pairs, columns=["doc", "brand"]).assign(hits=1)
    return m.join(docs[["kind", "post_id", "subreddit", "score", "created"]], on="doc")


# --- scoring -------------------------------------------------------------------------------
def test_score_texts_signs_and_shape():
    texts = pd.Series({
        "love": "I love this machine, the shots are great!",
        "hate": "Terrible pump, it broke twice. Awful support.",
        "flat": "The drip tray is on the left side.",
        "good": "good",
    })  # fmt: skip
    scores = sentiment.score_texts(texts)
    assert scores.index.tolist() == texts.index.tolist()
    assert scores.name == "sentiment" and scores.dtype == "float64"
    assert scores["love"] >= 0.05 and scores["hate"] <= -0.05 and scores["flat"] == 0.0
    assert scores["good"] == pytest.approx(0.4404)  # VADER's own documented value
    assert scores.between(-1, 1).all()


def test_repeated_texts_score_the_same_and_empty_ones_zero():
    texts = pd.Series(["Great!", None, "[deleted]", "[removed]", "  ", "Great!", "great!"])
    scores = sentiment.score_texts(texts)
    assert scores.iloc[0] == scores.iloc[5] > 0
    assert scores.iloc[1:5].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert sentiment.score_texts(pd.Series([], dtype=str)).empty


def test_tone_uses_the_005_cut_offs():
    scores = pd.Series([0.05, 0.0499, -0.0499, -0.05, 0.9, -0.9])
    assert sentiment.tone(scores).tolist() == [
        "positive", "neutral", "neutral", "negative", "positive", "negative",
    ]  # fmt: skip


# --- aggregation on hand-set scores --------------------------------------------------------
DOCS = docs_frame({
    "d1": ("x", "2026-07-06T10:00"), "d2": ("x", "2026-07-07T10:00"),
    "d3": ("x", "2026-07-08T10:00"), "d4": ("x", "2026-07-14T10:00"),
    "d5": ("x", "2026-07-15T10:00"),
})  # fmt: skip
SCORES = pd.Series({"d1": 0.8, "d2": -0.5, "d3": 0.0, "d4": 0.4, "d5": -0.2}, name="sentiment")
# A: d1 (+), d2 (-), d3 (0), d4 (+); B: d2 (-), d5 (-).
MENTIONS = mentions_of(DOCS, [("d1", "A"), ("d2", "A"), ("d2", "B"), ("d3", "A"), ("d4", "A"),
                              ("d5", "B")])  # fmt: skip


def test_brand_sentiment_by_hand():
    table = sentiment.brand_sentiment(DOCS, MENTIONS, ["A", "B", "C"], scores=SCORES)
    assert table.columns.tolist() == [
        "brand", "mentions", "positive", "neutral", "negative", "net", "mean",
    ]  # fmt: skip
    a, b, c = (table.set_index("brand").loc[x] for x in "ABC")
    assert a["mentions"] == 4
    assert (a["positive"], a["neutral"], a["negative"]) == pytest.approx((50.0, 25.0, 25.0))
    assert a["net"] == pytest.approx(25.0)
    assert a["mean"] == pytest.approx((0.8 - 0.5 + 0.0 + 0.4) / 4)
    assert b["mentions"] == 2 and b["negative"] == pytest.approx(100.0)
    assert b["net"] == pytest.approx(-100.0) and b["mean"] == pytest.approx(-0.35)
    assert c["mentions"] == 0 and pd.isna(c["net"])
    assert table["mentions"].dtype == "int64"


def test_brand_sentiment_scores_the_texts_when_not_given():
    docs = docs_frame({"p": ("I love it, wonderful!", "2026-07-06"),
                       "n": ("Horrible, it broke.", "2026-07-06")})  # fmt: skip
    table = sentiment.brand_sentiment(docs, mentions_of(docs, [("p", "A"), ("n", "B")]))
    assert table.set_index("brand")["net"].to_dict() == {"A": 100.0, "B": -100.0}


def test_sentiment_by_period_by_hand():
    weekly = sentiment.sentiment_by_period(DOCS, MENTIONS, "W", ["A", "B"], scores=SCORES)
    rows = [(p.date().isoformat(), b, m, n) for p, b, m, n in
            weekly[["period", "brand", "mentions", "net"]].itertuples(index=False)]  # fmt: skip
    # Week of 6 Jul: A d1 d2 d3 (+ - 0), B d2 (-). Week of 13 Jul: A d4 (+), B d5 (-).
    assert rows == [
        ("2026-07-06", "A", 3, pytest.approx(0.0)),
        ("2026-07-06", "B", 1, pytest.approx(-100.0)),
        ("2026-07-13", "A", 1, pytest.approx(100.0)),
        ("2026-07-13", "B", 1, pytest.approx(-100.0)),
    ]
    assert sentiment.sentiment_by_period(DOCS, MENTIONS.iloc[0:0], "W", ["A"], SCORES).empty


# --- notable posts -------------------------------------------------------------------------
def test_notable_posts_rank_by_score_plus_comments_with_brands_and_tone():
    posts = pd.DataFrame({
        "id": ["a", "b", "c", "d"],
        "title": ["I love my Brevio, wonderful", "Quiet morning", "Steamly broke, awful",
                  "Old post"],
        "selftext": ["", "", "Brevio was no better", ""],
        "subreddit": "espresso",
        "author": "someone",
        "score": [10, 100, 40, 5],
        "num_comments": [50, 0, 20, 55],
        "permalink": ["/a", "/b", "/c", "/d"],
        "created": pd.to_datetime(["2026-07-02", "2026-07-03", "2026-07-04", "2026-07-01"],
                                  utc=True),
    })  # fmt: skip
    docs = analytics.corpus(posts, pd.DataFrame())
    mentions = analytics.brand_mentions(docs, ["Brevio", "Steamly"])
    top = sentiment.notable_posts(posts, mentions, 3)
    # Engagement: a 60, b 100, c 60, d 60 -> b, then the 60s oldest first: d, a, (c).
    assert top["doc"].tolist() == ["t3_b", "t3_d", "t3_a"]
    assert top["engagement"].tolist() == [100, 60, 60]
    assert top["brands"].tolist() == ["", "", "Brevio"]
    assert top["tone"].tolist() == ["neutral", "neutral", "positive"]
    everything = sentiment.notable_posts(posts, mentions, 10)
    c = everything.set_index("doc").loc["t3_c"]
    assert c["brands"] == "Brevio, Steamly" and c["tone"] == "negative"
    assert sentiment.notable_posts(posts.iloc[0:0], mentions, 5).empty


# --- the sample's story --------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample():
    posts, comments = sample_frames()
    docs = analytics.corpus(posts, comments)
    mentions = analytics.brand_mentions(docs, SAMPLE_BRANDS, SAMPLE_ALIASES)
    scores = sentiment.score_texts(docs["text"])
    return posts, docs, mentions, scores


def test_every_document_of_the_sample_is_scored(sample):
    _, docs, _, scores = sample
    assert len(scores) == len(docs) == 10_000
    assert scores.between(-1, 1).all() and scores.notna().all()


def test_caffora_is_the_least_liked_brand(sample):
    _, docs, mentions, scores = sample
    table = sentiment.brand_sentiment(docs, mentions, SAMPLE_BRANDS, scores).set_index("brand")
    assert table["net"].idxmin() == "Caffora"
    assert table["negative"].idxmax() == "Caffora"
    assert (table["net"] > 0).all()  # everyone is mostly positive about their machine


def test_caffora_recall_week_reads_worse_than_every_week_before(sample):
    _, docs, mentions, scores = sample
    weekly = sentiment.sentiment_by_period(docs, mentions, "W", ["Caffora"], scores)
    weekly = weekly.set_index("period")["net"]
    recall = pd.Timestamp(RECALL_WEEK)
    assert weekly[recall] < weekly[weekly.index < recall].min() - 10


def test_the_most_engaged_post_is_about_the_recall(sample):
    posts, _, mentions, scores = sample
    top = sentiment.notable_posts(posts, mentions, 5, scores)
    assert "recall" in top["title"].iloc[0].lower()
    assert top["brands"].iloc[0] == "Caffora"
    assert top["engagement"].is_monotonic_decreasing
