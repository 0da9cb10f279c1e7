"""What changed between two snapshots' metrics, and the section that says so: the share of
voice a snapshot's scrape counted, against the previous scrape's."""

from __future__ import annotations

from reporting.snapshot_metrics import changes, changes_markdown

SNAPSHOT = {"product_name": "Home espresso", "start": "2026-08-10", "end": "2026-08-16"}
PREVIOUS_PERIOD = {"start": "2026-08-03", "end": "2026-08-09"}


def _metrics(scraped: dict[str, float] | None) -> dict:
    metrics = {
        "posts": 10, "comments": 20, "mentions": 4,
        "brands": [{"brand": b, "mentions": 2, "share": 50.0, "net_sentiment": 0.1}
                   for b in ("Brevio", "Caffora")],
        "themes": [{"term": "grinder", "docs": 3, "share": 10.0}],
    }  # fmt: skip
    if scraped is not None:
        metrics["scraped"] = {
            "sources": ["news", "reddit"],
            "brands": [{"brand": b, "mentions": int(share * 4), "share": share}
                       for b, share in scraped.items()],
        }  # fmt: skip
    return metrics


def test_the_scrape_share_is_compared_with_the_previous_scrape():
    now = _metrics({"Caffora": 75.0, "Brevio": 25.0})
    delta = changes(now, _metrics({"Brevio": 60.0, "Caffora": 40.0}))
    assert delta["scraped"] == [
        {"brand": "Caffora", "share": 75.0, "previous_share": 40.0, "share_change": 35.0},
        {"brand": "Brevio", "share": 25.0, "previous_share": 60.0, "share_change": -35.0},
    ]
    text = changes_markdown(SNAPSHOT, now, {**PREVIOUS_PERIOD, "metrics": {}}, delta)
    assert "## Share of voice in the scrape" in text
    assert "counted **400** brand mentions in news, reddit" in text
    assert "| Caffora | 300 | 75.0% | 40.0% | +35.0 |" in text
    assert "| Brevio | 100 | 25.0% | 60.0% | -35.0 |" in text


def test_a_first_scrape_has_nothing_before_it_and_no_scrape_has_no_section():
    now = _metrics({"Brevio": 100.0})
    delta = changes(now, _metrics(None))
    assert delta["scraped"] == [
        {"brand": "Brevio", "share": 100.0, "previous_share": None, "share_change": None}
    ]
    assert "| Brevio | 400 | 100.0% | – | – |" in changes_markdown(SNAPSHOT, now, None, None)

    unscraped = _metrics(None)
    assert changes(unscraped, now)["scraped"] is None
    text = changes_markdown(SNAPSHOT, unscraped, None, None)
    assert "scrape" not in text and "What changed since the previous snapshot" in text
