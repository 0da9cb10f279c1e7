"""Brand analytics on small hand-built DataFrames."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from reporting import analytics


def mentions_frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Mentions as brand_mentions returns them, from (brand, ISO time, subreddit) rows."""
    return pd.DataFrame({
        "doc": [f"t1_{i}" for i in range(len(rows))],
        "brand": [r[0] for r in rows],
        "hits": 1,
        "kind": "comment",
        "post_id": "p",
        "subreddit": [r[2] for r in rows],
        "score": 1,
        "created": pd.to_datetime([r[1] for r in rows], utc=True),
    })  # fmt: skip


def posts_frame(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """Posts as load_posts returns them, from (title, subreddit, score, num_comments) rows."""
    return pd.DataFrame({
        "id": [f"p{i}" for i in range(len(rows))],
        "title": [r[0] for r in rows],
        "selftext": "",
        "subreddit": [r[1] for r in rows],
        "score": [r[2] for r in rows],
        "num_comments": [r[3] for r in rows],
        "author": "someone",
        "permalink": [f"/r/{r[1]}/comments/p{i}/x/" for i, r in enumerate(rows)],
        "created": pd.Timestamp("2026-07-01", tz="UTC"),
    })  # fmt: skip


EMPTY_MENTIONS = mentions_frame([])
EMPTY_POSTS = posts_frame([])


# --- find_mentions -------------------------------------------------------------------------
def test_find_mentions_respects_word_boundaries():
    texts = pd.Series({
        "a": "I love my Brevio.",
        "b": "Breviola is a pasta, abrevio is not a word",
        "c": "(Brevio) vs brevio's steam wand",
        "d": "Brevio_2 is a username",
    })  # fmt: skip
    found = analytics.find_mentions(texts, ["Brevio"])
    assert found.set_index("doc")["hits"].to_dict() == {"a": 1, "c": 2}


def test_find_mentions_ignores_case():
    texts = pd.Series(["BREVIO rocks", "brevio rocks", "BrEvIo rocks", "no brand"])
    found = analytics.find_mentions(texts, ["Brevio"])
    assert found["doc"].tolist() == [0, 1, 2]


def test_multi_word_brand_matches_joined_and_hyphenated_spellings_not_parts():
    texts = pd.Series([
        "New Moka Nova One", "my MokaNova", "moka-nova gang", "MOKA  NOVA",
        "a moka pot", "bossa nova playlist",
    ])  # fmt: skip
    found = analytics.find_mentions(texts, ["Moka Nova"])
    assert found["doc"].tolist() == [0, 1, 2, 3]


def test_aliases_count_for_their_brand():
    texts = pd.Series(["Cafora is a typo", "Caffora and Cafora", "nothing"])
    without = analytics.find_mentions(texts, ["Caffora"])
    with_alias = analytics.find_mentions(texts, ["Caffora"], {"Caffora": ["Cafora"]})
    assert without["doc"].tolist() == [1]
    assert with_alias.set_index("doc")["hits"].to_dict() == {0: 1, 1: 2}
    assert set(with_alias["brand"]) == {"Caffora"}


def test_one_row_per_doc_and_brand_and_regex_characters_are_literal():
    texts = pd.Series(["Brevio vs Steamly, Brevio wins", "Dr. Brew", "Drx Brew", None])
    found = analytics.find_mentions(texts, ["Brevio", "Steamly", "Dr. Brew"])
    assert sorted(zip(found["doc"], found["brand"], found["hits"], strict=True)) == [
        (0, "Brevio", 2),
        (0, "Steamly", 1),
        (1, "Dr. Brew", 1),
    ]


def test_find_mentions_on_nothing():
    assert analytics.find_mentions(pd.Series([], dtype=str), ["Brevio"]).empty
    assert analytics.find_mentions(pd.Series(["Brevio"]), []).columns.tolist() == [
        "doc", "brand", "hits",
    ]  # fmt: skip


def test_corpus_and_brand_mentions_keep_context():
    posts = posts_frame([("Steamly S3 review", "espresso", 10, 1)])
    posts.loc[0, "selftext"] = "Better than my old Brevio"
    comments = pd.DataFrame({
        "id": ["c1"], "link_id": ["t3_p0"], "subreddit": ["espresso"], "body": ["steamly ftw"],
        "author": ["x"], "score": [3], "created": [pd.Timestamp("2026-07-02", tz="UTC")],
    })  # fmt: skip
    docs = analytics.corpus(posts, comments)
    assert docs.index.tolist() == ["t3_p0", "t1_c1"]
    assert docs.loc["t1_c1", "post_id"] == "p0"
    mentions = analytics.brand_mentions(docs, ["Brevio", "Steamly"])
    assert sorted(zip(mentions["doc"], mentions["brand"], strict=True)) == [
        ("t1_c1", "Steamly"), ("t3_p0", "Brevio"), ("t3_p0", "Steamly"),
    ]  # fmt: skip
    assert set(mentions["subreddit"]) == {"espresso"}
    assert analytics.corpus(EMPTY_POSTS.iloc[0:0], comments.iloc[0:0]).empty


# --- volume and share ----------------------------------------------------------------------
def test_mention_volume_counts_per_monday_week_and_fills_gaps():
    m = mentions_frame([
        ("A", "2026-07-06T10:00", "x"),  # Monday
        ("A", "2026-07-12T23:59", "x"),  # Sunday, same week
        ("B", "2026-07-13T00:00", "x"),  # next Monday
        ("A", "2026-07-29T12:00", "x"),  # two weeks later; the week of 20 Jul is empty
    ])  # fmt: skip
    vol = analytics.mention_volume(m, "W", ["A", "B", "C"])
    assert vol.columns.tolist() == ["A", "B", "C"]
    assert [d.date() for d in vol.index] == [
        date(2026, 7, 6), date(2026, 7, 13), date(2026, 7, 20), date(2026, 7, 27),
    ]  # fmt: skip
    assert vol["A"].tolist() == [2, 0, 0, 1]
    assert vol["B"].tolist() == [0, 1, 0, 0]
    assert vol["C"].sum() == 0


def test_share_of_voice_sums_to_100_and_is_sorted():
    m = mentions_frame([("A", "2026-07-01", "x")] * 3 + [("B", "2026-07-01", "x")] * 6
                       + [("C", "2026-07-01", "x")])  # fmt: skip
    sov = analytics.share_of_voice(m, ["A", "B", "C", "D"])
    assert sov["brand"].tolist() == ["B", "A", "C", "D"]
    assert sov["mentions"].tolist() == [6, 3, 1, 0]
    assert sov["share"].tolist() == pytest.approx([60.0, 30.0, 10.0, 0.0])
    assert sov["share"].sum() == pytest.approx(100.0)


def test_share_change_sign_follows_the_movement():
    m = mentions_frame(
        [("A", "2026-07-05", "x")] * 3 + [("B", "2026-07-06", "x")] * 1  # first half: A 75%
        + [("A", "2026-08-20", "x")] * 1 + [("B", "2026-08-21", "x")] * 3  # second: A 25%
    )  # fmt: skip
    change = analytics.share_change(m, date(2026, 8, 16), ["A", "B"]).set_index("brand")
    assert change.loc["A", "share_before"] == pytest.approx(75.0)
    assert change.loc["A", "share_after"] == pytest.approx(25.0)
    assert change.loc["A", "change"] == pytest.approx(-50.0)
    assert change.loc["B", "change"] == pytest.approx(50.0)


def docs_frame(rows: list[tuple[str, str]]) -> pd.DataFrame:
    """A corpus's subreddit and created columns, from (subreddit, ISO time) rows."""
    return pd.DataFrame({
        "subreddit": [r[0] for r in rows],
        "created": pd.to_datetime([r[1] for r in rows], utc=True),
    })  # fmt: skip


def test_share_by_subreddit_by_hand():
    m = mentions_frame([("A", "2026-07-01", "x")] * 3 + [("B", "2026-07-01", "x")]
                       + [("B", "2026-07-01", "y")] * 2)  # fmt: skip
    docs = docs_frame([("x", "2026-07-01")] * 4 + [("y", "2026-07-01")] * 3
                      + [("quiet", "2026-07-01")] * 5)  # fmt: skip
    table = analytics.share_by_subreddit(m, docs, ["A", "B"])
    assert table.columns.tolist() == ["subreddit", "docs", "brand", "mentions", "share"]
    # x: 4 mentions (A 3, B 1); y: 2 (B 2); quiet: none, listed last with 0 shares.
    assert list(table[["subreddit", "docs", "brand", "mentions"]].itertuples(index=False,
                                                                              name=None)) == [
        ("x", 4, "A", 3), ("x", 4, "B", 1), ("y", 3, "A", 0), ("y", 3, "B", 2),
        ("quiet", 5, "A", 0), ("quiet", 5, "B", 0),
    ]  # fmt: skip
    assert table["share"].tolist() == pytest.approx([75.0, 25.0, 0.0, 100.0, 0.0, 0.0])
    assert analytics.share_by_subreddit(EMPTY_MENTIONS, docs.iloc[0:0], ["A"]).empty


def test_share_by_period_by_hand():
    m = mentions_frame(
        [("A", "2026-07-06", "x")] * 3 + [("B", "2026-07-07", "x")]  # week 1: A 75%
        + [("A", "2026-07-14", "x")] + [("B", "2026-07-15", "x")]  # week 2: A 50%
        # week 3 (20 Jul): no mentions; week 4: B only
        + [("B", "2026-07-28", "x")] * 2
    )  # fmt: skip
    docs = docs_frame([("x", "2026-07-06"), ("x", "2026-07-22"), ("x", "2026-08-04")])
    table = analytics.share_by_period(m, docs, "W", ["A", "B"])
    assert table.columns.tolist() == ["period", "brand", "mentions", "share", "change"]
    a = table[table["brand"] == "A"]
    # Weeks of 6, 13, 20, 27 Jul and 3 Aug (the last one only has a document).
    assert [p.date().isoformat() for p in a["period"]] == [
        "2026-07-06", "2026-07-13", "2026-07-20", "2026-07-27", "2026-08-03",
    ]  # fmt: skip
    assert a["mentions"].tolist() == [3, 1, 0, 0, 0]
    assert a["share"].tolist() == pytest.approx([75.0, 50.0, 0.0, 0.0, 0.0])
    change = a["change"].tolist()
    assert change[1] == pytest.approx(-25.0)
    assert all(pd.isna(change[i]) for i in (0, 2, 3, 4))  # first, or next to an empty week
    b = table[table["brand"] == "B"]
    assert b["share"].tolist() == pytest.approx([25.0, 50.0, 0.0, 100.0, 0.0])
    monthly = analytics.share_by_period(m, docs, "M", ["A", "B"]).set_index("brand")
    assert monthly.loc["A", "share"].tolist() == pytest.approx([4 * 100 / 8, 0.0])
    assert monthly.loc["B", "mentions"].tolist() == [4, 0]


def test_split_point_halves_the_period():
    assert analytics.split_point(date(2026, 7, 1), date(2026, 9, 30)) == date(2026, 8, 16)
    assert analytics.split_point("2026-07-01", "2026-07-04") == date(2026, 7, 3)


# --- posts ---------------------------------------------------------------------------------
def test_top_posts_by_score_with_brands_named():
    posts = posts_frame([
        ("Brevio vs Steamly", "espresso", 50, 10),
        ("Quiet morning", "Coffee", 500, 2),
        ("steamly rocks", "espresso", 5, 0),
        ("Old Brevio", "Coffee", 70, 4),
    ])  # fmt: skip
    top = analytics.top_posts(posts, 3, ["Brevio", "Steamly"])
    assert top["title"].tolist() == ["Quiet morning", "Old Brevio", "Brevio vs Steamly"]
    assert top["brands"].tolist() == ["", "Brevio", "Brevio, Steamly"]
    assert top[["score", "num_comments"]].values.tolist() == [[500, 2], [70, 4], [50, 10]]
    assert analytics.top_posts(EMPTY_POSTS, 10, ["Brevio"]).empty


# --- insights ------------------------------------------------------------------------------
def story() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A leads overall (60 of 100); B grows from 10 to 30 mentions; week of 3 Aug peaks on C."""
    rows = (
        [("A", "2026-07-06", "espresso")] * 35 + [("B", "2026-07-07", "espresso")] * 10
        + [("C", "2026-08-04", "Coffee")] * 5
        + [("A", "2026-08-20", "espresso")] * 25 + [("B", "2026-08-21", "Coffee")] * 20
        + [("B", "2026-09-20", "espresso")] * 5
    )  # fmt: skip
    posts = posts_frame(
        [("p", "espresso", 10, 2)] * 20 + [("p", "Coffee", 40, 9)] * 10 + [("p", "Cafe", 900, 90)]
    )
    return mentions_frame(rows), posts


def test_insights_name_the_leader_with_its_share():
    mentions, posts = story()
    lines = analytics.insights(mentions, posts, date(2026, 8, 16), ["A", "B", "C"])
    assert 3 <= len(lines) <= 6
    assert lines[0] == (
        "A leads share of voice with 60.0% of 100 brand mentions, 25.0 points ahead of B (35.0%)."
    )


def test_insights_report_gainer_loser_peak_and_community():
    mentions, posts = story()
    text = "\n".join(analytics.insights(mentions, posts, date(2026, 8, 16), ["A", "B", "C"]))
    # First half: A 35, B 10, C 5 of 50. Second half: A 25, B 25 of 50.
    assert "B gained the most share between the two halves of the period: " in text
    assert "from 20.0% to 50.0% (+30.0 points)" in text
    assert "A lost the most share: from 70.0% to 50.0% (-20.0 points)" in text
    assert "Mentions peaked in the week of 6 Jul 2026 at 45" in text
    # Coffee has 9 comments per post; Cafe's single post is too few to count.
    assert "r/Coffee is the most engaged community: 9.0 comments" in text
    assert "r/espresso produces the most brand talk: 75% of all mentions." in text


def test_peak_driver_is_the_brand_furthest_above_its_norm():
    rows = (
        [("A", f"2026-07-{d:02d}", "x") for d in (6, 13, 20, 27)] * 10  # A: 10 every week
        + [("B", "2026-07-14", "x")] * 8 + [("B", "2026-07-21", "x")]  # B spikes on 13 Jul
    )  # fmt: skip
    lines = analytics.insights(mentions_frame(rows), EMPTY_POSTS, date(2026, 7, 17), ["A", "B"])
    peak = next(line for line in lines if line.startswith("Mentions peaked"))
    assert "week of 13 Jul 2026 at 18" in peak
    assert "driven by B with 8" in peak


def test_insights_stable_shares_say_so():
    rows = [("A", "2026-07-02", "x"), ("B", "2026-07-03", "x")] * 2 + [
        ("A", "2026-08-20", "x"), ("B", "2026-08-21", "x")
    ] * 2  # fmt: skip
    lines = analytics.insights(mentions_frame(rows), EMPTY_POSTS, date(2026, 8, 16), ["A", "B"])
    assert any(line.startswith("Shares of voice were stable") for line in lines)
    assert lines[0].startswith("A and B share the lead")


def test_empty_input_gives_no_data_insight_and_no_crash():
    assert analytics.insights(EMPTY_MENTIONS, EMPTY_POSTS, date(2026, 8, 16), ["A"]) == [
        "No posts or comments were found for this period and these subreddits."
    ]
    posts = posts_frame([("quiet", "espresso", 1, 0), ("calm", "Coffee", 2, 1)])
    lines = analytics.insights(EMPTY_MENTIONS, posts, None, ["A"])
    assert lines[0] == "None of the 2 posts and their comments mention the selected brands."
    assert analytics.mention_volume(EMPTY_MENTIONS, "W", ["A"]).empty
    sov = analytics.share_of_voice(EMPTY_MENTIONS, ["A", "B"])
    assert sov["mentions"].tolist() == [0, 0] and sov["share"].sum() == 0
    change = analytics.share_change(EMPTY_MENTIONS, date(2026, 8, 16), ["A"])
    assert change["change"].tolist() == [0.0]


def test_mentions_of_unlisted_brands_are_ignored():
    m = mentions_frame([("A", "2026-07-02", "x"), ("Z", "2026-07-03", "x")])
    lines = analytics.insights(m, EMPTY_POSTS, None, ["A"])
    assert lines[0] == "A accounts for all 1 brand mentions."
