"""A run's product: the context the worker gives a notebook, and the one way a notebook reads
that product's data.

A notebook that reads product data declares a `product` parameter. No client sets it: it is
reserved (a request naming it is a 422), and the worker injects the task's own product,
`{"id", "slug", "name", "folder_id", "research_version"}`, so the task's `product_id` (which
the API checked against the caller's grants) is the only thing that decides whose data a run
reads. In JupyterLab the parameter's default (a slug) stands in for it.

`ProductData` is the accessor: it reads the product's Reddit posts and comments and nothing
else, and raises `NoProductData` when there are none for the period, which ends the run
`failed` with reason `no_data` instead of a report of zeros.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import pandas as pd

from reporting.products import ProductRepository
from reporting.reddit import RedditRepository
from reporting.research import ResearchRepository
from reporting.settings import Settings, load_settings
from reporting.store import open_store

RESERVED_PARAMETER = "product"


class NoProductData(Exception):  # noqa: N818 - the name a failed run's error record shows
    """The product has no data for what the run asked: the run ends with reason `no_data`."""


@dataclass(frozen=True)
class ProductContext:
    id: str
    slug: str
    name: str
    folder_id: str
    research_version: int | None = None

    @classmethod
    def of(cls, product: dict[str, Any], research_version: int | None) -> ProductContext:
        return cls(
            id=product["_id"],
            slug=product["slug"],
            name=product["name"],
            folder_id=product["folder_id"],
            research_version=research_version,
        )

    def as_parameter(self) -> dict[str, Any]:
        return asdict(self)


def context_for(db: Any, product: dict[str, Any]) -> ProductContext:
    """The context the worker injects for `product` (with its latest research version)."""
    research = ResearchRepository(db).latest(product["_id"])
    return ProductContext.of(product, research["version"] if research else None)


def _resolve(db: Any, product: dict[str, Any] | str) -> ProductContext:
    if isinstance(product, dict):  # injected by the worker
        fields = ProductContext.__dataclass_fields__
        return ProductContext(**{k: v for k, v in product.items() if k in fields})
    found = ProductRepository(db).by_slug(product)  # a preview in JupyterLab: the default slug
    if found is None:
        raise NoProductData(
            f"no product with slug {product!r}: create it (POST /v1/products) or run "
            "`reportbook seed` for the sample product"
        )
    return context_for(db, found)


class ProductData:
    """One product's stored data, read-only."""

    def __init__(self, product: dict[str, Any] | str, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        store = open_store(self.settings)
        try:
            self.context = _resolve(store.db, product)
        finally:
            store.close()

    @property
    def name(self) -> str:
        return self.context.name

    def reddit(
        self, start: date | str, end: date | str, subreddits: list[str] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The product's posts and comments from `start` to `end` (whole UTC days, inclusive),
        in the given subreddits (None or empty: all). NoProductData when there are none."""
        store = open_store(self.settings)
        try:
            repo = RedditRepository(store.db)
            posts = repo.load_posts(self.context.slug, start, end, subreddits or None)
            comments = repo.load_comments(self.context.slug, start, end, subreddits or None)
        finally:
            store.close()
        if posts.empty and comments.empty:
            where = f" in r/{', r/'.join(subreddits)}" if subreddits else ""
            raise NoProductData(
                f"no Reddit data for product {self.context.name!r} ({self.context.slug}) from "
                f"{start} to {end}{where}: import some with POST /v1/products/"
                f"{self.context.id}/raw/reddit or `reportbook import-reddit --product "
                f"{self.context.slug} FILE`"
            )
        return posts, comments
