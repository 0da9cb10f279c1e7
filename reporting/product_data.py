"""What is stored for a product besides the product itself, removed together when the product
is deleted: its research versions, imported Reddit data (and its time spans), import runs and
share-of-voice rows. Tasks and snapshots are history and are never removed here."""

from __future__ import annotations

from typing import Any

from reporting.data_versions import DataVersions
from reporting.ingestion import IngestionRepository
from reporting.reddit import RedditRepository
from reporting.research import ResearchRepository
from reporting.sov_scrapes import SovScrapeRepository


def delete_product_data(db: Any, product: dict[str, Any]) -> dict[str, int]:
    """Remove `product`'s data; returns how many of each kind went. Its data versions go up
    (never back to 0), so no cached report made from the data is served again."""
    posts, comments = RedditRepository(db).delete_product(product["slug"])
    removed = {
        "research_versions": ResearchRepository(db).delete_for_product(product["_id"]),
        "reddit_posts": posts,
        "reddit_comments": comments,
        "ingestions": IngestionRepository(db).delete_for_product(product["_id"]),
        "sov_rows": SovScrapeRepository(db).delete_for_product(product["_id"]),
    }
    versions = DataVersions(db)
    for key in (product["slug"], product["_id"]):  # Reddit data is keyed by slug, the rest by id
        versions.bump(key)
    return removed
