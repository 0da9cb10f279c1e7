"""What a snapshot measures, and what changed since the previous one. Pure functions, no I/O.

    m = measure(posts, comments, brands, aliases, scraped)  # stored on the snapshot (JSON)
    d = changes(m, previous["metrics"])             # share-of-voice and sentiment movement,
                                                    # new and growing themes, scraped share
    changes_markdown(snapshot, m, previous, d)      # the section that opens the snapshot PDF

Metrics are lists of records, not dicts keyed by brand: a brand name may hold a dot, which a
MongoDB key may not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from reporting import analytics, sentiment, themes
from reporting.sov_scrapes import share_per_brand

KEPT_TERMS = 1000  # terms stored per snapshot, to tell next week's new themes from old ones
TOP_THEMES = 15
NEW_THEMES = 8


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else \
        round(float(value), 2)  # fmt: skip


def measure(
    posts: pd.DataFrame,
    comments: pd.DataFrame,
    brands: Sequence[str],
    aliases: Mapping[str, Sequence[str]] | None = None,
    scraped: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Share of voice, sentiment per brand and the period's themes; with `scraped` (the
    snapshot's share-of-voice scrape rows, `reporting.sov_scrapes` columns) also the share of
    voice the scrape counted, per brand over its sources and queries."""
    docs = analytics.corpus(posts, comments)
    mentions = analytics.brand_mentions(docs, brands, aliases)
    sov = analytics.share_of_voice(mentions, brands).set_index("brand")
    tone = sentiment.brand_sentiment(docs, mentions, brands).set_index("brand")
    terms = themes.themes(docs, n=KEPT_TERMS, brands=brands, aliases=aliases)
    measured = {
        "posts": len(posts),
        "comments": len(comments),
        "mentions": len(mentions),
        "brands": [
            {
                "brand": b,
                "mentions": int(sov.at[b, "mentions"]),
                "share": _number(sov.at[b, "share"]),
                "net_sentiment": _number(tone.at[b, "net"]),
            }
            for b in brands
        ],  # fmt: skip
        "themes": [
            {"term": r.term, "docs": int(r.docs), "share": _number(r.share)}
            for r in terms.itertuples()
        ],
    }
    if scraped is not None and len(scraped):
        measured["scraped"] = {
            "sources": sorted(scraped["source"].dropna().astype(str).unique()),
            "brands": [
                {"brand": r.brand, "mentions": int(r.mentions), "share": _number(r.share)}
                for r in share_per_brand(scraped).itertuples()
            ],
        }
    return measured


def _themes_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=["term", "docs", "share"])
    frame["words"] = frame["term"].str.count(" ") + 1
    return frame.astype({"docs": "int64", "share": "float64", "words": "int64"})


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else round(now - before, 2)


def changes(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Per brand: share and net sentiment now, before and the change (points), biggest share
    gain first; then the themes that are new or at least doubled (among this period's top);
    then, when this period has a scrape, its share per brand against the previous scrape's
    (None without a scrape now; `previous_share` None where the previous one had none)."""
    before = {b["brand"]: b for b in previous["brands"]}
    brands = []
    for b in current["brands"]:
        old = before.get(b["brand"], {})
        brands.append({
            "brand": b["brand"], "share": b["share"], "previous_share": old.get("share"),
            "share_change": _change(b["share"], old.get("share")),
            "net_sentiment": b["net_sentiment"],
            "previous_net_sentiment": old.get("net_sentiment"),
            "sentiment_change": _change(b["net_sentiment"], old.get("net_sentiment")),
        })  # fmt: skip
    brands.sort(key=lambda b: (-(b["share_change"] or 0), b["brand"]))
    scraped = None
    if "scraped" in current:
        earlier = (previous.get("scraped") or {}).get("brands", [])
        shares = {b["brand"]: b["share"] for b in earlier}
        scraped = [
            {"brand": b["brand"], "share": b["share"], "previous_share": shares.get(b["brand"]),
             "share_change": _change(b["share"], shares.get(b["brand"]))}
            for b in current["scraped"]["brands"]
        ]  # fmt: skip
    top = _themes_frame(current["themes"]).head(TOP_THEMES * 2)
    fresh = themes.new_themes(top, _themes_frame(previous["themes"])).head(NEW_THEMES)
    return {
        "mentions": current["mentions"],
        "previous_mentions": previous["mentions"],
        "brands": brands,
        "new_themes": [
            {
                "term": r.term,
                "share": _number(r.share),
                "previous_share": _number(r.previous_share),
                "status": r.status,
            }
            for r in fresh.itertuples()
        ],  # fmt: skip
        "scraped": scraped,
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _points(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def changes_markdown(
    snapshot: dict[str, Any],
    metrics: dict[str, Any],
    previous: dict[str, Any] | None,
    delta: dict[str, Any] | None,
) -> str:
    """The snapshot's opening: the week at a glance and what changed since the last one."""
    leader = max(metrics["brands"], key=lambda b: (b["mentions"], b["brand"]), default=None)
    lines = [
        "## The week at a glance",
        "",
        f"- **{metrics['posts']:,}** posts and **{metrics['comments']:,}** comments, "
        f"**{metrics['mentions']:,}** brand mentions.",
    ]
    if leader is not None and leader["mentions"]:
        lines.append(f"- **{leader['brand']}** leads with {_pct(leader['share'])} "
                     "of brand mentions.")  # fmt: skip
    lines += _scraped_markdown(metrics, delta)
    lines += ["", "## What changed since the previous snapshot", ""]
    if previous is None or delta is None:
        lines.append(f"This is the first snapshot of {snapshot['product_name']}; the next one "
                     "will be compared with it.")  # fmt: skip
        return "\n".join(lines) + "\n"
    lines += [
        f"Compared with {previous['start']} – {previous['end']} "
        f"({delta['previous_mentions']:,} brand mentions then, {delta['mentions']:,} now).",
        "",
        "| Brand | Share | Before | Change (pts) | Net sentiment | Before |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for b in delta["brands"]:
        lines.append(
            f"| {_cell(b['brand'])} | {_pct(b['share'])} | {_pct(b['previous_share'])} | "
            f"{_points(b['share_change'])} | {_points(b['net_sentiment'])} | "
            f"{_points(b['previous_net_sentiment'])} |"
        )
    lines.append("")
    if delta["new_themes"]:
        named = ", ".join(
            f"**{t['term']}** ({'new' if t['status'] == 'new' else 'growing'}, "
            f"{_pct(t['share'])} of posts and comments)"
            for t in delta["new_themes"]
        )
        lines.append(f"New or growing themes: {named}.")
    else:
        lines.append("No new themes this week.")
    return "\n".join(lines) + "\n"


def _scraped_markdown(metrics: dict[str, Any], delta: dict[str, Any] | None) -> list[str]:
    """The share of voice the snapshot's scrape counted (none without a scrape), against the
    previous snapshot's scrape where it had one."""
    scraped = metrics.get("scraped")
    if not scraped:
        return []
    before = {b["brand"]: b for b in (delta or {}).get("scraped") or []}
    total = sum(b["mentions"] for b in scraped["brands"])
    lines = [
        "",
        "## Share of voice in the scrape",
        "",
        f"The share-of-voice scrape counted **{total:,}** brand mentions in "
        f"{', '.join(scraped['sources']) or 'its sources'}.",
        "",
        "| Brand | Mentions | Share | Before | Change (pts) |",
        "|---|---:|---:|---:|---:|",
    ]
    for b in scraped["brands"]:
        old = before.get(b["brand"], {})
        lines.append(
            f"| {_cell(b['brand'])} | {b['mentions']:,} | {_pct(b['share'])} | "
            f"{_pct(old.get('previous_share'))} | {_points(old.get('share_change'))} |"
        )
    return lines
