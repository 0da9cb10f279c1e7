"""Journey stages: keyword rules matched as whole words, counted per brand."""

from __future__ import annotations

import pandas as pd
import pytest

from reporting import analytics, journey
from reporting.sample_data import SAMPLE_ALIASES, SAMPLE_BRANDS
from tests.conftest import sample_frames


def docs_of(texts: dict[str, str | None]) -> pd.DataFrame:
    return pd.DataFrame({"text": list(texts.values())}, index=pd.Index(list(texts), name="doc"))


RULES = {
    "awareness": ["heard of"],
    "purchase": ["just got", "bought"],
    "retention": ["after a year", "still"],
}
DOCS = docs_of({
    "a": "Has anyone HEARD OF Brevio?",
    "b": "Just  got a Brevio, still unboxing. Bought a grinder too",
    "c": "I boughtx nothing; stillness; unheard offers",
    "d": None,
    "e": "After a\nyear it still works",
})  # fmt: skip


def test_tag_stages_by_hand():
    tags = journey.tag_stages(DOCS, RULES)
    assert tags.columns.tolist() == ["doc", "stage"]
    # b is at two stages; c only has look-alikes; d has no text.
    assert list(tags.itertuples(index=False, name=None)) == [
        ("a", "awareness"), ("b", "purchase"), ("b", "retention"), ("e", "retention"),
    ]  # fmt: skip


def test_phrases_are_literal_and_curly_apostrophes_match():
    docs = docs_of({"x": "I\u2019d go Brevio (v2.0)", "y": "v2x0", "z": "id go"})
    tags = journey.tag_stages(docs, {"advocacy": ["i'd go"], "model": ["(v2.0)", "  "]})
    # "." is a full stop, not "any character": y does not match.
    assert list(tags.itertuples(index=False, name=None)) == [("x", "advocacy"), ("x", "model")]


def test_no_rules_or_no_docs_give_an_empty_table():
    assert journey.tag_stages(DOCS, {}).empty
    empty = journey.tag_stages(DOCS.iloc[0:0], RULES)
    assert empty.empty and empty.columns.tolist() == ["doc", "stage"]


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("Has anyone tried the Steamly Go?", "awareness"),
        ("Never heard of Vellaro, what is it?", "awareness"),
        ("Brevio vs Caffora for a first machine", "consideration"),
        ("Is the Duo worth it?", "consideration"),
        ("Can you recommend a machine under $500?", "consideration"),
        ("Just got my Brevio today", "purchase"),
        ("Ordered a Steamly S3, it arrived this morning", "purchase"),
        ("After a year the pump is still fine", "retention"),
        ("How often should I descale?", "retention"),
        ("Second warranty repair this year", "retention"),
        ("Love my Vellaro", "advocacy"),
        ("Highly recommend the Flow", "advocacy"),
        ("Best purchase this year", "advocacy"),
    ],
)
def test_default_rules(text, stage):
    tags = journey.tag_stages(docs_of({"t": text}))
    assert stage in set(tags["stage"])


def test_default_rules_cover_the_five_stages_in_order():
    assert list(journey.DEFAULT_STAGE_RULES) == [s.value for s in journey.Stage]
    assert all(type(k) is str for k in journey.DEFAULT_STAGE_RULES)
    nothing = docs_of({"t": "Canvs art of the anyonetried kind"})
    assert journey.tag_stages(nothing).empty


def test_stage_counts_by_hand():
    tags = journey.tag_stages(DOCS, RULES)
    mentions = pd.DataFrame({"doc": ["a", "b", "b", "e", "c"],
                             "brand": ["Brevio", "Brevio", "Steamly", "Caffora", "Caffora"]})  # fmt: skip
    counts = journey.stage_counts(tags, mentions, ["Brevio", "Caffora", "Steamly", "Vellaro"])
    assert counts.index.name == "brand"
    assert counts.columns.tolist() == [s.value for s in journey.Stage]
    assert counts.loc["Brevio"].to_dict() == {"awareness": 1, "consideration": 0, "purchase": 1,
                                              "retention": 1, "advocacy": 0}  # fmt: skip
    assert counts.loc["Caffora"].tolist() == [0, 0, 0, 1, 0]
    assert counts.loc["Steamly"].tolist() == [0, 0, 1, 1, 0]
    assert counts.loc["Vellaro"].sum() == 0
    assert (counts.dtypes == "int64").all()
    custom = journey.stage_counts(tags.assign(stage="custom"), mentions)
    assert custom.columns.tolist()[-1] == "custom"
    assert custom.index.tolist() == ["Brevio", "Caffora", "Steamly"]  # most mentioned first


def test_sample_caffora_owners_talk_repairs_more_and_praise_less():
    posts, comments = sample_frames()
    docs = analytics.corpus(posts, comments)
    mentions = analytics.brand_mentions(docs, SAMPLE_BRANDS, SAMPLE_ALIASES)
    counts = journey.stage_counts(journey.tag_stages(docs), mentions, SAMPLE_BRANDS)
    per_mention = counts.div(mentions["brand"].value_counts(), axis=0)
    assert per_mention["retention"].idxmax() == "Caffora"
    assert per_mention["advocacy"].idxmin() == "Caffora"
    assert (counts > 0).all().all()
