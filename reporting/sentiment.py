"""Sentiment of brand talk: VADER compound scores per text, aggregated per brand. No I/O.

VADER (Hutto & Gilbert, 2014) is a lexicon and rule model tuned on social media text: it
reads capitals, "!!!", negations ("not great"), boosters ("really good") and emoji. Its
compound score runs from -1 (most negative) to +1; the usual cut-offs are used:

    positive: compound >= 0.05    negative: compound <= -0.05    neutral: in between

It knows English only: other languages mostly score neutral. A document that names several
brands counts, with its one score, for each of them.

    scores = score_texts(docs["text"])                  # once per report: the slow part
    brand_sentiment(docs, mentions, scores=scores)      # one row per brand
    sentiment_by_period(docs, mentions, "W", scores=scores)
    notable_posts(posts, mentions, 10, scores=scores)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from reporting.analytics import brand_order

POSITIVE = 0.05  # compound >= POSITIVE is positive
NEGATIVE = -0.05  # compound <= NEGATIVE is negative
SENTIMENT_COLUMNS = ["brand", "mentions", "positive", "neutral", "negative", "net", "mean"]
NOTABLE_COLUMNS = ["doc", "title", "subreddit", "score", "num_comments", "engagement", "created",
                   "brands", "sentiment", "tone", "permalink"]  # fmt: skip
_EMPTY = {"", "[deleted]", "[removed]"}  # nothing to read: neutral without asking VADER


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()  # reads its lexicon files once per process


def score_texts(texts: pd.Series) -> pd.Series:
    """VADER's compound score (-1..1, float64) for each text, same index, named `sentiment`.

    Each distinct text is scored once (Reddit repeats itself: "This.", "Thanks!", removed
    bodies); missing, empty, `[deleted]` and `[removed]` texts score 0.0.
    """
    values = texts.fillna("").astype(str).str.strip()
    codes, uniques = pd.factorize(values)
    analyzer = _analyzer()
    unique_scores = np.array(
        [0.0 if t in _EMPTY else analyzer.polarity_scores(t)["compound"] for t in uniques],
        dtype="float64",
    )
    scores = unique_scores[codes] if len(codes) else np.array([], dtype="float64")
    return pd.Series(scores, index=texts.index, name="sentiment", dtype="float64")


def tone(scores: pd.Series) -> pd.Series:
    """The tone of each compound score: positive, neutral or negative (±0.05 cut-offs)."""
    labels = np.where(
        scores >= POSITIVE, "positive", np.where(scores <= NEGATIVE, "negative", "neutral")
    )
    return pd.Series(labels, index=scores.index, name="tone", dtype=object)


def _scored_mentions(
    docs: pd.DataFrame, mentions: pd.DataFrame, scores: pd.Series | None
) -> pd.DataFrame:
    """mentions with each one's document `sentiment`; scores only the documents named."""
    if scores is None:
        named = docs.loc[docs.index.isin(mentions["doc"].unique())]
        scores = score_texts(named["text"])
    out = mentions.assign(sentiment=mentions["doc"].map(scores).astype("float64"))
    return out.dropna(subset=["sentiment"])


def _summarise(scored: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of `keys`: mentions, positive/neutral/negative (% of the group's mentions),
    net (positive - negative, points) and mean (mean compound)."""
    s = scored["sentiment"]
    flags = pd.DataFrame({
        **{k: scored[k] for k in keys},
        "mentions": 1,
        "positive": (s >= POSITIVE).astype("float64"),
        "negative": (s <= NEGATIVE).astype("float64"),
        "mean": s,
    })  # fmt: skip
    grouped = flags.groupby(keys, sort=False, observed=True)
    out = grouped.agg(mentions=("mentions", "sum"), positive=("positive", "mean"),
                      negative=("negative", "mean"), mean=("mean", "mean"))  # fmt: skip
    out["positive"] *= 100
    out["negative"] *= 100
    out["neutral"] = 100 - out["positive"] - out["negative"]
    out["net"] = out["positive"] - out["negative"]
    return out


def brand_sentiment(
    docs: pd.DataFrame,
    mentions: pd.DataFrame,
    brands: Sequence[str] | None = None,
    scores: pd.Series | None = None,
) -> pd.DataFrame:
    """Per brand: mentions (documents naming it), positive, neutral, negative (% of those),
    net (positive - negative, points, -100..100), mean (mean compound, -1..1).

    `docs` is corpus()'s output, `mentions` brand_mentions'; `scores` score_texts(docs["text"])
    when already computed. Rows follow `brands` (default: most mentioned first); a brand
    without mentions has mentions 0 and NaN elsewhere.
    """
    order = brand_order(mentions, brands)
    scored = _scored_mentions(docs, mentions[mentions["brand"].isin(order)], scores)
    table = _summarise(scored, ["brand"]).reindex(order)
    table["mentions"] = table["mentions"].fillna(0).astype("int64")
    return table.rename_axis("brand").reset_index()[SENTIMENT_COLUMNS]


def sentiment_by_period(
    docs: pd.DataFrame,
    mentions: pd.DataFrame,
    freq: str = "W",
    brands: Sequence[str] | None = None,
    scores: pd.Series | None = None,
) -> pd.DataFrame:
    """brand_sentiment per period and brand: `period` (start, UTC, tz-naive like
    analytics.mention_volume; "W" weeks start on Monday), then brand_sentiment's columns.
    Only (period, brand) pairs with mentions; periods oldest first, brands in `brands` order."""
    order = brand_order(mentions, brands)
    scored = _scored_mentions(docs, mentions[mentions["brand"].isin(order)], scores)
    columns = ["period", *SENTIMENT_COLUMNS]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    utc = scored["created"].dt.tz_convert("UTC").dt.tz_localize(None)
    scored["period"] = utc.dt.to_period(freq).dt.start_time
    table = _summarise(scored, ["period", "brand"]).reset_index()
    rank = table["brand"].map({b: i for i, b in enumerate(order)})
    table = table.assign(_rank=rank).sort_values(["period", "_rank"], ignore_index=True)
    return table[columns]


def notable_posts(
    posts: pd.DataFrame,
    mentions: pd.DataFrame,
    n: int = 10,
    scores: pd.Series | None = None,
) -> pd.DataFrame:
    """The `n` posts with the most engagement (score + num_comments), most first (ties: oldest
    first): doc (`t3_<id>`), title, subreddit, score, num_comments, engagement, created,
    brands (the brands the post itself names, comma separated, as in `mentions`), sentiment
    (compound of title + body), tone (positive/neutral/negative), permalink.

    `posts` is a load_posts frame, `mentions` brand_mentions' output over the corpus;
    `scores` (score_texts over the corpus, indexed by doc) avoids scoring the posts again.
    """
    if posts.empty or n <= 0:
        return pd.DataFrame(columns=NOTABLE_COLUMNS)
    ranked = posts.assign(
        engagement=posts["score"].astype("int64") + posts["num_comments"].astype("int64"),
        doc="t3_" + posts["id"].astype(str),
    ).sort_values(["engagement", "created", "doc"], ascending=[False, True, True], kind="stable")
    top = ranked.head(n).set_index("doc", drop=False)
    text = top["title"].fillna("").astype(str) + "\n" + top["selftext"].fillna("").astype(str)
    sentiment = score_texts(text) if scores is None else scores.reindex(top.index)
    own = mentions[mentions["doc"].isin(top.index)]
    named = own.groupby("doc", sort=False)["brand"].agg(", ".join)
    top = top.assign(
        brands=named.reindex(top.index).fillna("").astype(str),
        sentiment=sentiment.astype("float64"),
        tone=tone(sentiment.fillna(0.0)),
    )
    return top[NOTABLE_COLUMNS].reset_index(drop=True)
