"""Brand analytics on Reddit data: pure DataFrame -> DataFrame (or value) functions, no I/O.

The usual chain, as the report runs it:

    docs = corpus(posts, comments)                    # one row per post or comment, with `text`
    mentions = brand_mentions(docs, brands)           # one row per (doc, brand)
    mention_volume(mentions), share_of_voice(mentions), share_change(mentions, split_date)
    insights(mentions, posts, split_date)             # a few sentences built from the numbers
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

Aliases = Mapping[str, Sequence[str]]

MENTION_COLUMNS = ["doc", "brand", "hits"]
CORPUS_COLUMNS = ["kind", "post_id", "subreddit", "author", "score", "created", "text"]
STABLE_POINTS = 0.5  # share movements smaller than this are "stable"


# --- finding mentions ----------------------------------------------------------------------
def _name_regex(name: str) -> str:
    # "Moka Nova" also matches "MokaNova" and "Moka-Nova".
    parts = [re.escape(p) for p in re.split(r"[\s\-]+", name.strip()) if p]
    return r"[\s\-]*".join(parts)


def brand_pattern(brand: str, aliases: Sequence[str] = ()) -> re.Pattern[str]:
    """A case-insensitive regex matching `brand` or an alias as whole words."""
    names = sorted({_name_regex(n) for n in (brand, *aliases) if n.strip()}, key=lambda n: -len(n))
    return re.compile(r"(?<!\w)(?:" + "|".join(names) + r")(?!\w)", re.IGNORECASE)


def find_mentions(
    texts: pd.Series, brands: Sequence[str], aliases: Aliases | None = None
) -> pd.DataFrame:
    """One row per (text, brand) where the brand occurs: `doc` (the text's index label),
    `brand` and `hits` (how many times)."""
    aliases = aliases or {}
    values = texts.fillna("").astype(str).tolist()
    rows = []
    for brand in brands:
        pattern = brand_pattern(brand, aliases.get(brand, ()))
        for label, text in zip(texts.index, values, strict=True):
            hits = len(pattern.findall(text))
            if hits:
                rows.append((label, brand, hits))
    return pd.DataFrame(rows, columns=MENTION_COLUMNS).astype({"hits": "int64"})


def _text(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str)


def corpus(posts: pd.DataFrame, comments: pd.DataFrame) -> pd.DataFrame:
    """Posts and comments as one table indexed by Reddit fullname (`t3_...`, `t1_...`).

    A post's text is its title and body; a comment's is its body.
    """
    frames = []
    if len(posts):
        frames.append(
            pd.DataFrame({
                "kind": "post",
                "post_id": posts["id"],
                "subreddit": posts["subreddit"],
                "author": posts["author"],
                "score": posts["score"],
                "created": posts["created"],
                "text": _text(posts["title"]) + "\n" + _text(posts["selftext"]),
            }).set_axis("t3_" + posts["id"])
        )  # fmt: skip
    if len(comments):
        frames.append(
            pd.DataFrame({
                "kind": "comment",
                "post_id": comments["link_id"].str.removeprefix("t3_"),
                "subreddit": comments["subreddit"],
                "author": comments["author"],
                "score": comments["score"],
                "created": comments["created"],
                "text": _text(comments["body"]),
            }).set_axis("t1_" + comments["id"])
        )  # fmt: skip
    if not frames:
        empty = pd.DataFrame(columns=CORPUS_COLUMNS)
        empty["created"] = pd.to_datetime(empty["created"], utc=True)
        return empty.rename_axis("doc")
    return pd.concat(frames).rename_axis("doc")


def brand_mentions(
    docs: pd.DataFrame, brands: Sequence[str], aliases: Aliases | None = None
) -> pd.DataFrame:
    """find_mentions on a corpus, with each mention's kind, post, subreddit, score and time."""
    mentions = find_mentions(docs["text"], brands, aliases)
    context = docs[["kind", "post_id", "subreddit", "score", "created"]]
    return mentions.join(context, on="doc")


# --- volume and share ----------------------------------------------------------------------
def brand_order(mentions: pd.DataFrame, brands: Sequence[str] | None) -> list[str]:
    """`brands` in their order without repeats, or (None) the mentioned brands, most first."""
    if brands is not None:
        return list(dict.fromkeys(brands))
    return mentions["brand"].value_counts(sort=True).index.tolist()


def _utc_midnight(day: date | str) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(None).normalize().tz_localize("UTC")


def mention_volume(
    mentions: pd.DataFrame, freq: str = "W", brands: Sequence[str] | None = None
) -> pd.DataFrame:
    """Mentions per period (rows: period start; columns: brands), periods without any as 0.

    `freq` is a pandas period alias: "W" (weeks starting Monday), "D", "M".
    """
    columns = brand_order(mentions, brands)
    if mentions.empty:
        empty = pd.DataFrame(0, index=pd.DatetimeIndex([], name="period"), columns=columns)
        return empty.astype("int64")
    periods = mentions["created"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period(freq)
    counts = pd.crosstab(periods, mentions["brand"])
    every = pd.period_range(periods.min(), periods.max(), freq=periods.dt.freq)
    counts = counts.reindex(index=every, columns=columns, fill_value=0).astype("int64")
    counts.index = counts.index.start_time.rename("period")
    counts.columns.name = None
    return counts


def share_of_voice(mentions: pd.DataFrame, brands: Sequence[str] | None = None) -> pd.DataFrame:
    """brand, mentions, share (% of all mentions), largest first."""
    counts = mentions["brand"].value_counts().reindex(brand_order(mentions, brands), fill_value=0)
    total = int(counts.sum())
    sov = pd.DataFrame({
        "brand": counts.index.astype(str),
        "mentions": counts.to_numpy().astype("int64"),
        "share": (counts.to_numpy() * 100 / total) if total else 0.0,
    })  # fmt: skip
    return sov.sort_values(["mentions", "brand"], ascending=[False, True], ignore_index=True)


def share_by_subreddit(
    mentions: pd.DataFrame, docs: pd.DataFrame, brands: Sequence[str] | None = None
) -> pd.DataFrame:
    """Share of voice inside each subreddit: subreddit, docs (its posts and comments in
    `docs`), brand, mentions, share (% of that subreddit's brand mentions; 0.0 when it has
    none). One row per subreddit (of `docs` or `mentions`) x brand; subreddits with the most
    brand mentions first (ties by name), brands in `brands` order (default most mentioned
    first)."""
    order = brand_order(mentions, brands)
    mentions = mentions[mentions["brand"].isin(order)]
    subs = docs["subreddit"].value_counts()
    every = sorted(set(subs.index) | set(mentions["subreddit"]))
    counts = pd.crosstab(mentions["subreddit"], mentions["brand"])
    counts = counts.reindex(index=every, columns=order, fill_value=0).astype("int64")
    totals = counts.sum(axis=1)
    shares = counts.div(totals.where(totals > 0), axis=0).fillna(0.0) * 100
    ranked = sorted(every, key=lambda s: (-int(totals[s]), s))
    counts, shares = counts.loc[ranked], shares.loc[ranked]
    return pd.DataFrame({
        "subreddit": np.repeat(ranked, len(order)),
        "docs": np.repeat(subs.reindex(ranked, fill_value=0).to_numpy(dtype="int64"), len(order)),
        "brand": np.tile(order, len(ranked)),
        "mentions": counts.to_numpy(dtype="int64").ravel(),
        "share": shares.to_numpy(dtype="float64").ravel(),
    })  # fmt: skip


def share_by_period(
    mentions: pd.DataFrame,
    docs: pd.DataFrame,
    freq: str = "W",
    brands: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Share of voice per period: period (start, tz-naive UTC as in mention_volume), brand,
    mentions, share (% of the period's brand mentions; 0.0 when it has none), change (points
    against the previous period; NaN for the first period and next to a period without
    mentions). Every period from the first to the last document of `docs` (or mention) is
    listed, oldest first, brands in `brands` order (default most mentioned first)."""
    order = brand_order(mentions, brands)
    counts = mention_volume(mentions[mentions["brand"].isin(order)], freq, order)
    if len(docs):
        created = docs["created"].dt.tz_convert("UTC").dt.tz_localize(None)
        every = pd.period_range(created.min(), created.max(), freq=freq).start_time
        counts = counts.reindex(counts.index.union(every), fill_value=0)
    totals = counts.sum(axis=1)
    shares = counts.div(totals.where(totals > 0), axis=0) * 100
    change = shares - shares.shift(1)
    return pd.DataFrame({
        "period": np.repeat(counts.index.to_numpy(), len(order)),
        "brand": np.tile(order, len(counts)),
        "mentions": counts.to_numpy(dtype="int64").ravel(),
        "share": shares.fillna(0.0).to_numpy(dtype="float64").ravel(),
        "change": change.to_numpy(dtype="float64").ravel(),
    })  # fmt: skip


def split_point(start: date | str, end: date | str) -> date:
    """The first day of the second half of the period start..end (inclusive)."""
    first, last = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    return first + timedelta(days=((last - first).days + 1) // 2)


def share_change(
    mentions: pd.DataFrame, split_date: date | str, brands: Sequence[str] | None = None
) -> pd.DataFrame:
    """Share of voice before and after `split_date` (UTC midnight): brand, share_before,
    share_after, change (percentage points), biggest gain first."""
    order = brand_order(mentions, brands)
    before = mentions["created"] < _utc_midnight(split_date)
    first = share_of_voice(mentions[before], order).set_index("brand")["share"]
    second = share_of_voice(mentions[~before], order).set_index("brand")["share"]
    change = pd.DataFrame({
        "brand": order,
        "share_before": first.reindex(order).to_numpy(dtype=float),
        "share_after": second.reindex(order).to_numpy(dtype=float),
    })  # fmt: skip
    change["change"] = change["share_after"] - change["share_before"]
    return change.sort_values(["change", "brand"], ascending=[False, True], ignore_index=True)


# --- posts and communities -----------------------------------------------------------------
def top_posts(
    posts: pd.DataFrame,
    n: int = 10,
    brands: Sequence[str] = (),
    aliases: Aliases | None = None,
) -> pd.DataFrame:
    """The `n` highest-scoring posts: title, subreddit, score, num_comments, created, brands
    (the brands each one mentions, comma separated), permalink."""
    columns = ["title", "subreddit", "score", "num_comments", "created", "permalink"]
    top = posts.nlargest(n, "score")[columns] if len(posts) else posts.reindex(columns=columns)
    text = _text(top["title"]) + "\n" + _text(posts.loc[top.index, "selftext"])
    found = find_mentions(text, brands, aliases)
    named = found.groupby("doc", sort=False)["brand"].agg(", ".join)
    top.insert(5, "brands", named.reindex(top.index).fillna("").astype(str))
    return top.reset_index(drop=True)


def subreddit_engagement(posts: pd.DataFrame) -> pd.DataFrame:
    """Per subreddit: posts, comments, score, comments_per_post, score_per_post (most
    comments per post first)."""
    stats = posts.groupby("subreddit").agg(
        posts=("id", "size"), comments=("num_comments", "sum"), score=("score", "sum")
    )
    stats["comments_per_post"] = stats["comments"] / stats["posts"]
    stats["score_per_post"] = stats["score"] / stats["posts"]
    return stats.sort_values("comments_per_post", ascending=False).reset_index()


# --- insights ------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{x:.1f}%"


def _leader(sov: pd.DataFrame) -> str:
    total = int(sov["mentions"].sum())
    rows = list(sov[sov["mentions"] > 0].itertuples(index=False))
    lead = rows[0]
    if len(rows) == 1:
        return f"{lead.brand} accounts for all {total:,} brand mentions."
    second = rows[1]
    if second.mentions == lead.mentions:
        return (
            f"{lead.brand} and {second.brand} share the lead in share of voice with "
            f"{_pct(lead.share)} each of {total:,} brand mentions."
        )
    return (
        f"{lead.brand} leads share of voice with {_pct(lead.share)} of {total:,} brand "
        f"mentions, {lead.share - second.share:.1f} points ahead of {second.brand} "
        f"({_pct(second.share)})."
    )


def _movement(change: pd.DataFrame) -> list[str]:
    rows = list(change.itertuples(index=False))
    gain, loss = rows[0], rows[-1]
    out = []
    if gain.change >= STABLE_POINTS:
        out.append(
            f"{gain.brand} gained the most share between the two halves of the period: "
            f"from {_pct(gain.share_before)} to {_pct(gain.share_after)} "
            f"(+{gain.change:.1f} points)."
        )
    if loss.change <= -STABLE_POINTS:
        out.append(
            f"{loss.brand} lost the most share: from {_pct(loss.share_before)} to "
            f"{_pct(loss.share_after)} ({loss.change:.1f} points)."
        )
    if not out:
        out.append(
            "Shares of voice were stable between the two halves of the period "
            f"(no brand moved by {STABLE_POINTS} points or more)."
        )
    return out


def _peak(weekly: pd.DataFrame) -> str | None:
    totals = weekly.sum(axis=1)
    if len(totals) < 2 or totals.max() == 0:
        return None
    week = totals.idxmax()
    # The driver is the brand furthest above its own weekly norm that week.
    excess = weekly.loc[week] - weekly.mean()
    driver = excess.idxmax()
    return (
        f"Mentions peaked in the week of {week.day} {week:%b %Y} at {int(totals[week]):,} "
        f"({totals[week] / totals.mean():.1f}× the weekly average), driven by {driver} "
        f"with {int(weekly.loc[week, driver]):,}, "
        f"{weekly.loc[week, driver] / weekly[driver].mean():.1f}× its own weekly average."
    )


def _communities(mentions: pd.DataFrame, posts: pd.DataFrame) -> list[str]:
    if posts.empty or posts["subreddit"].nunique() < 2:
        return []  # nothing to compare
    stats = subreddit_engagement(posts)
    # Ignore tiny communities whose average rests on a handful of posts.
    enough = stats[stats["posts"] >= max(5, 0.05 * len(posts))]
    top = next((enough if len(enough) else stats).itertuples(index=False))
    out = [
        f"r/{top.subreddit} is the most engaged community: {top.comments_per_post:.1f} "
        f"comments and {top.score_per_post:.0f} upvotes per post on average "
        f"across {top.posts:,} posts."
    ]
    if len(mentions) and mentions["subreddit"].nunique() > 1:
        by_sub = mentions["subreddit"].value_counts()
        out.append(
            f"r/{by_sub.index[0]} produces the most brand talk: "
            f"{by_sub.iloc[0] * 100 / by_sub.sum():.0f}% of all mentions."
        )
    return out


def insights(
    mentions: pd.DataFrame,
    posts: pd.DataFrame,
    split_date: date | str | None = None,
    brands: Sequence[str] | None = None,
) -> list[str]:
    """Three to six short sentences on the data, every number computed from it.

    `mentions` is brand_mentions' output; `posts` a load_posts DataFrame; `split_date` starts
    the second half of the period (default: the midpoint of the mentions' time span).
    """
    if brands is not None and len(mentions):
        mentions = mentions[mentions["brand"].isin(brands)]
    if mentions.empty:
        if posts.empty:
            return ["No posts or comments were found for this period and these subreddits."]
        return [
            f"None of the {len(posts):,} posts and their comments mention the selected brands.",
            *_communities(mentions, posts),
        ]
    sov = share_of_voice(mentions, brands)
    out = [_leader(sov)]
    if split_date is None:
        split_date = split_point(mentions["created"].min(), mentions["created"].max())
    halves = mentions["created"] < _utc_midnight(split_date)
    if halves.any() and not halves.all():
        out += _movement(share_change(mentions, split_date, brands))
    peak = _peak(mention_volume(mentions, "W", brands))
    if peak:
        out.append(peak)
    return out + _communities(mentions, posts)
