"""Themes on tiny corpora counted by hand, and on the sample (the recall shows up as new)."""

from __future__ import annotations

import pandas as pd
import pytest

from reporting import analytics, themes
from reporting.sample_data import RECALL_WEEK, SAMPLE_ALIASES, SAMPLE_BRANDS
from tests.conftest import sample_frames


def docs_of(*texts: str) -> pd.DataFrame:
    return pd.DataFrame({"text": list(texts)}, index=[f"d{i}" for i in range(len(texts))])


# d0: steam wand, great, works, wand works   d1: steam wand, leaks, support, slow (+ Brevio)
# d2: support, replied, fast                 d3: grams, coffee (numbers, r/ and short cut)
DOCS = docs_of(
    "The steam wand is great. Steam wand works!",
    "steam wand leaks, Brevio support slow",
    "Support replied fast https://example.com/support-page",
    "42 grams of coffee, r/espresso says hi",
)


def test_terms_of_one_text():
    found = themes.terms(DOCS["text"].iloc[0], themes.STOPWORDS)
    # "is" is a stopword and the full stop ends a phrase: no "wand great", no "great steam".
    assert found == {"steam", "wand", "great", "works", "steam wand", "wand works"}
    assert themes.terms("Brevio's pump isn\u2019t loud", themes.STOPWORDS) == {
        "brevio", "pump", "loud", "brevio pump",
    }  # fmt: skip


def test_themes_by_hand():
    table = themes.themes(DOCS, brands=["Brevio"])
    assert table.columns.tolist() == ["term", "words", "docs", "share", "lift"]
    # steam 2, wand 2, steam wand 2, support 2: "steam wand" covers both words' documents.
    assert table["term"].tolist() == ["steam wand", "support"]
    assert table["words"].tolist() == [2, 1]
    assert table["docs"].tolist() == [2, 2]
    assert table["share"].tolist() == pytest.approx([50.0, 50.0])
    assert table["lift"].tolist() == [1.0, 1.0]


def test_brands_urls_numbers_and_subreddits_are_not_themes():
    kept = set(themes.themes(DOCS, n=None, brands=["Brevio"], min_docs=1)["term"])
    assert not any(w in t for t in kept for w in ("brevio", "http", "example", "espresso", "42"))
    assert "grams" in kept and "coffee" in kept
    without_brand_list = set(themes.themes(DOCS, n=None, min_docs=1)["term"])
    assert "brevio support" in without_brand_list


def test_brand_aliases_are_cut_out_but_not_look_alikes():
    docs = docs_of("MokaNova grinder", "moka-nova grinder", "moka pot grinder")
    table = themes.themes(docs, n=None, brands=["Moka Nova"], aliases=SAMPLE_ALIASES, min_docs=1)
    assert "moka pot" in set(table["term"])
    assert table.set_index("term").loc["grinder", "docs"] == 3
    assert "nova" not in set(table["term"]) and "mokanova" not in set(table["term"])


def test_lift_against_a_background():
    subset = DOCS.loc[["d0", "d1"]]
    table = themes.themes(subset, background=DOCS)
    # "steam wand": 2 of 2 here (100%), 2 of 4 in the background (50%).
    assert table["term"].tolist() == ["steam wand"]
    assert table["share"].iloc[0] == pytest.approx(100.0)
    assert table["lift"].iloc[0] == pytest.approx(2.0)


def test_rank_is_docs_times_lift_then_docs_then_term():
    background = docs_of("alpha. bravo", "alpha. bravo", "alpha", "alpha", "alpha", "alpha")
    subset = background.iloc[[0, 1, 2]]
    table = themes.themes(subset, background=background)
    # alpha: 3 docs, lift 1 (3); bravo: 2 docs, 66.7% vs 33.3%, lift 2 (4): bravo first.
    assert table["term"].tolist() == ["bravo", "alpha"]
    assert table["lift"].tolist() == pytest.approx([2.0, 1.0])
    tied = themes.themes(docs_of("zulu yankee", "yankee. zulu", "zulu. yankee"))
    assert tied["term"].tolist() == ["yankee", "zulu"]  # same docs and lift: alphabetical


def test_n_and_min_docs_and_empty_input():
    assert len(themes.themes(DOCS, n=1)) == 1
    assert len(themes.themes(DOCS, n=None, min_docs=1)) > 2
    empty = themes.themes(DOCS.iloc[0:0])
    assert empty.empty and empty.columns.tolist() == themes.THEME_COLUMNS


def test_new_themes_by_hand():
    current = pd.DataFrame({"term": ["recall", "repair", "grinder"], "words": 1,
                            "docs": [10, 6, 5], "share": [10.0, 6.0, 5.0], "lift": 1.0})  # fmt: skip
    previous = pd.DataFrame({"term": ["repair", "grinder", "gone"], "words": 1,
                             "docs": [2, 5, 9], "share": [2.5, 5.0, 9.0], "lift": 1.0})  # fmt: skip
    new = themes.new_themes(current, previous)
    assert new.columns.tolist() == themes.NEW_THEME_COLUMNS
    assert new["term"].tolist() == ["recall", "repair"]
    assert new["status"].tolist() == ["new", "growing"]
    assert new["previous_docs"].tolist() == [0, 2]
    assert new["change"].tolist() == pytest.approx([10.0, 3.5])
    assert themes.new_themes(current, previous, min_ratio=3)["term"].tolist() == ["recall"]


# --- the sample ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_docs() -> pd.DataFrame:
    posts, comments = sample_frames()
    return analytics.corpus(posts, comments)


def _week(docs: pd.DataFrame, monday: pd.Timestamp) -> pd.DataFrame:
    return docs[(docs["created"] >= monday) & (docs["created"] < monday + pd.Timedelta(days=7))]


def test_the_recall_is_the_new_theme_of_the_recall_week(sample_docs):
    recall = pd.Timestamp(RECALL_WEEK, tz="UTC")
    options = {"brands": SAMPLE_BRANDS, "aliases": SAMPLE_ALIASES, "background": sample_docs}
    current = themes.themes(_week(sample_docs, recall), 15, **options)
    previous = themes.themes(_week(sample_docs, recall - pd.Timedelta(days=7)), None, **options)
    assert current["term"].iloc[0] == "recall"
    new = themes.new_themes(current, previous).set_index("term")
    assert new.loc["recall", "status"] == "new"
    assert "pressure valve" in new.index


def test_corpus_themes_name_no_brand_and_find_the_moka_pot(sample_docs):
    table = themes.themes(sample_docs, 30, brands=SAMPLE_BRANDS, aliases=SAMPLE_ALIASES)
    terms = set(table["term"])
    assert "moka pot" in terms  # a brewing method, not the Moka Nova brand
    assert not any(b.lower() in t for t in terms for b in ("brevio", "caffora", "steamly"))
    assert table["docs"].is_monotonic_decreasing  # lift is 1 without a background
