"""Share-of-voice scrapes: the raw rows an n8n workflow delivers (the only place their queries
live).

One document per row: `brand`, `source` (where the mentions were counted: reddit, news...),
`query`, `mentions`, `url`, `captured_at`, plus who it belongs to: `product_id`, `product`
(the product's slug), `run_id` (the snapshot or task the scrape was made for, if any),
`execution_id` (the n8n execution that delivered it) and `scrape_id` (one delivery).
A delivery that repeats an execution (n8n retrying its HTTP Request) replaces that
execution's rows, so a retry never counts mentions twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from bson import ObjectId
from pymongo import ASCENDING

from reporting.data_versions import DataVersions
from reporting.tasks import utcnow

SCRAPES = "sov_scrapes"
ROW_FIELDS = ["brand", "source", "query", "mentions", "url", "captured_at"]
COLUMNS = ["scrape_id", "run_id", "execution_id", *ROW_FIELDS]


class SovScrapeRepository:
    def __init__(self, db: Any) -> None:
        self.collection = db[SCRAPES]
        self.versions = DataVersions(db)

    def ensure_indexes(self) -> None:
        self.collection.create_index([("product_id", ASCENDING), ("run_id", ASCENDING)])
        self.collection.create_index([("product_id", ASCENDING), ("execution_id", ASCENDING)])

    def insert(
        self,
        product: dict[str, Any],
        rows: Sequence[dict[str, Any]],
        run_id: str | None = None,
        execution_id: str | None = None,
    ) -> dict[str, Any]:
        """Store one delivery of rows for `product`; returns its summary (`scrape_id`,
        `rows`, `replaced`: rows of an earlier delivery of the same execution)."""
        scrape_id, received_at = str(ObjectId()), utcnow()
        docs = [{"_id": str(ObjectId()), "scrape_id": scrape_id, "product_id": product["_id"],
                 "product": product["slug"], "run_id": run_id, "execution_id": execution_id,
                 "received_at": received_at, **{k: row.get(k) for k in ROW_FIELDS}}
                for row in rows]  # fmt: skip
        if docs:
            self.collection.insert_many(docs)
        replaced = 0
        if execution_id is not None:  # after the insert: a failed one loses nothing, and of
            # two deliveries racing the later one wins, whole
            replaced = self.collection.delete_many(
                {"product_id": product["_id"], "execution_id": execution_id,
                 "received_at": {"$lt": received_at}}
            ).deleted_count  # fmt: skip
        if docs or replaced:
            self.versions.bump(product["_id"])
        return {"scrape_id": scrape_id, "product_id": product["_id"], "run_id": run_id,
                "execution_id": execution_id, "rows": len(docs), "replaced": replaced,
                "received_at": received_at}  # fmt: skip

    def _query(self, product_id: str, run_id: str | None) -> dict[str, Any]:
        query: dict[str, Any] = {"product_id": product_id}
        if run_id is not None:
            query["run_id"] = run_id
        return query

    def delete_for_product(self, product_id: str) -> int:
        return self.collection.delete_many({"product_id": product_id}).deleted_count

    def list(self, product_id: str, run_id: str | None = None) -> list[dict[str, Any]]:
        """The product's rows (of one run when `run_id` is given), in delivery order."""
        docs = self.collection.find(self._query(product_id, run_id))
        return sorted(docs, key=lambda d: (d["received_at"], d["_id"]))

    def count(self, product_id: str, run_id: str | None = None) -> int:
        return self.collection.count_documents(self._query(product_id, run_id))

    def load(self, product_id: str, run_id: str | None = None) -> pd.DataFrame:
        """The rows as a DataFrame (COLUMNS; `captured_at` as UTC timestamps)."""
        df = pd.DataFrame(self.list(product_id, run_id), columns=COLUMNS)
        df["mentions"] = df["mentions"].astype("int64")
        df["captured_at"] = pd.to_datetime(df["captured_at"], utc=True)
        return df

    def per_brand(self, product_id: str, run_id: str | None = None) -> pd.DataFrame:
        """brand, mentions (summed over sources and queries), share (% of all), largest
        first (ties by brand)."""
        return share_per_brand(self.load(product_id, run_id))


def share_per_brand(rows: pd.DataFrame) -> pd.DataFrame:
    """brand, mentions, share (%) from scrape rows; largest first, ties by brand."""
    sums = rows.groupby("brand", sort=True)["mentions"].sum().astype("int64")
    total = int(sums.sum())
    sov = pd.DataFrame({"brand": sums.index.astype(str), "mentions": sums.to_numpy(),
                        "share": sums.to_numpy() * 100 / total if total else 0.0})  # fmt: skip
    return sov.sort_values(["mentions", "brand"], ascending=[False, True], ignore_index=True)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A timestamp in UTC (naive ones are taken as UTC), at the store's millisecond precision."""
    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)
