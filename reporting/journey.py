"""Customer-journey stages: which step of buying and owning a product a text speaks from.
No I/O.

A stage is matched when one of its keywords or phrases occurs in the text as whole words,
in any case ("vs" matches "Brevio vs Steamly", not "canvs"; "just got" matches "Just  got").
A text can be at several stages ("Just got my Brevio, love my new machine": purchase and
advocacy) or at none. The rules are data: a product's research can replace them.

    tags = tag_stages(docs, research.journey_stages)      # one row per (doc, stage)
    stage_counts(tags, mentions)                          # brands x stages
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum

import pandas as pd

Rules = Mapping[str, Sequence[str]]
TAG_COLUMNS = ["doc", "stage"]


class Stage(StrEnum):
    awareness = "awareness"
    consideration = "consideration"
    purchase = "purchase"
    retention = "retention"
    advocacy = "advocacy"


DEFAULT_STAGE_RULES: dict[str, list[str]] = {
    Stage.awareness.value: [
        "heard of", "heard about", "anyone tried", "has anyone tried", "anyone try",
        "what is", "what's the", "never heard", "just discovered", "new to", "thinking about",
        "looking into", "what should i know",
    ],
    Stage.consideration.value: [
        "vs", "versus", "compare", "compared to", "comparison", "worth it", "worth the",
        "recommend", "recommendations", "should i", "which one", "help me decide",
        "torn between", "narrowed it down", "budget", "pros and cons", "on sale",
    ],
    Stage.purchase.value: [
        "bought", "ordered", "just got", "arrived", "purchased", "pulled the trigger",
        "finally got", "finally upgraded", "upgraded to", "picked up", "unboxing", "paid",
        "went with", "my new",
    ],
    Stage.retention.value: [
        "after a year", "after a few months", "months with", "years with", "months in",
        "still", "descale", "descaling", "repair", "warranty", "replaced", "replacement",
        "gasket", "maintenance", "broke", "leaking", "for years", "for ages",
    ],
    Stage.advocacy.value: [
        "love my", "highly recommend", "best purchase", "best upgrade", "never going back",
        "never looking back", "would buy again", "can confirm", "shoutout", "rock solid",
        "worth every", "i'd go", "go with",
    ],
}  # fmt: skip

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})


def stage_pattern(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """A case-insensitive regex matching any of `phrases` as whole words (None: no phrases).
    Spaces inside a phrase match any run of whitespace."""
    parts = {r"\s+".join(re.escape(w) for w in p.split()) for p in phrases if p.strip()}
    if not parts:
        return None
    alternatives = sorted(parts, key=lambda p: (-len(p), p))
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def tag_stages(docs: pd.DataFrame, rules: Rules = DEFAULT_STAGE_RULES) -> pd.DataFrame:
    """One row per (document, stage) the document's `text` matches: doc (the docs index label),
    stage (the rules' key, as a plain str). In the order of `docs`, then of `rules`."""
    texts = docs["text"].fillna("").astype(str).str.translate(_APOSTROPHES)
    position = pd.Series(range(len(texts)), index=texts.index)
    frames = []
    for order, (stage, phrases) in enumerate(rules.items()):
        pattern = stage_pattern(phrases)
        if pattern is None or texts.empty:
            continue
        matched = texts.index[texts.str.contains(pattern).to_numpy(dtype=bool)]
        frames.append(pd.DataFrame({"doc": matched, "stage": str(stage),
                                    "_pos": position[matched].to_numpy(), "_order": order}))  # fmt: skip
    if not frames:
        return pd.DataFrame({"doc": pd.Series(dtype=object), "stage": pd.Series(dtype=object)})
    tags = pd.concat(frames, ignore_index=True).sort_values(["_pos", "_order"], kind="stable")
    return tags[TAG_COLUMNS].reset_index(drop=True)


def stage_counts(
    tags: pd.DataFrame,
    mentions: pd.DataFrame,
    brands: Sequence[str] | None = None,
    stages: Sequence[str] | None = None,
) -> pd.DataFrame:
    """How many of each brand's mentions (documents naming it) are at each stage.

    Rows: brands (index `brand`; `brands` order, default most mentioned first); columns:
    `stages` (default the five Stage values, then any other stage in `tags`), int counts,
    0 where none. A document at two stages counts in both.
    """
    if brands is None:
        brands = mentions["brand"].value_counts(sort=True).index.tolist()
    if stages is None:
        extra = [s for s in dict.fromkeys(tags["stage"]) if s not in set(Stage)]
        stages = [*(s.value for s in Stage), *extra]
    joined = mentions[["doc", "brand"]].merge(tags, on="doc")
    counts = pd.crosstab(joined["brand"], joined["stage"]) if len(joined) else pd.DataFrame()
    counts = counts.reindex(index=list(brands), columns=list(stages), fill_value=0)
    counts = counts.fillna(0).astype("int64")
    counts.index.name, counts.columns.name = "brand", None
    return counts
