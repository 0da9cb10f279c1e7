"""A product's research: the brands, communities and vocabulary its reports are built on.

Research is versioned: every save stores a new version (1, 2, ...) and none is ever
overwritten, so a report can say which version it used and an old one stays readable.
"""

from __future__ import annotations

import re
from typing import Any

from bson import ObjectId
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from reporting.data_versions import DataVersions
from reporting.errors import ReportbookError
from reporting.journey import DEFAULT_STAGE_RULES, Stage
from reporting.reddit import subreddit_name
from reporting.tasks import utcnow

SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
SAVE_ATTEMPTS = 5  # concurrent saves of one product race for the next version number


def _default_stages() -> dict[Stage, list[str]]:
    return {Stage(stage): list(phrases) for stage, phrases in DEFAULT_STAGE_RULES.items()}


def _clean(values: list[str], what: str) -> list[str]:
    cleaned = [v.strip() for v in values]
    if any(not v for v in cleaned):
        raise ValueError(f"{what} must not be blank")
    seen: set[str] = set()
    for v in cleaned:
        if v.lower() in seen:
            raise ValueError(f"{what} {v!r} is listed twice")
        seen.add(v.lower())
    return cleaned


class Research(BaseModel):
    """What a product's reports look for; `journey_stages` feeds journey.tag_stages."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(description="The research itself, in Markdown")
    brands: list[str] = Field(min_length=1, description="The brands to track, as written")
    aliases: dict[str, list[str]] = Field(
        default_factory=dict, description="Other spellings, per brand (a key of `brands`)"
    )
    subreddits: list[str] = Field(default_factory=list, description="Without `r/`")
    queries: list[str] = Field(
        default_factory=list, description="Search queries and prompts the scrapers use"
    )
    journey_stages: dict[Stage, list[str]] = Field(
        default_factory=_default_stages, description="Keywords and phrases per journey stage"
    )
    competitors_note: str = ""

    @field_validator("brands")
    @classmethod
    def _brands(cls, brands: list[str]) -> list[str]:
        return _clean(brands, "brand")

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, aliases: dict[str, list[str]], info: ValidationInfo) -> dict[str, list[str]]:
        if "brands" not in info.data:
            return aliases  # `brands` itself is invalid: reported there
        known = set(info.data["brands"])
        unknown = sorted(set(aliases) - known)
        if unknown:
            raise ValueError(f"aliases for brands not in `brands`: {', '.join(unknown)}")
        return {brand: _clean(names, "alias") for brand, names in aliases.items()}

    @field_validator("subreddits")
    @classmethod
    def _subreddits(cls, subreddits: list[str]) -> list[str]:
        names = [subreddit_name(s) for s in subreddits]
        bad = [s for s in names if not SUBREDDIT.match(s)]
        if bad:
            raise ValueError(f"not a subreddit name: {', '.join(bad)}")
        return _clean(names, "subreddit")

    @field_validator("queries")
    @classmethod
    def _queries(cls, queries: list[str]) -> list[str]:
        return _clean(queries, "query")

    @field_validator("journey_stages")
    @classmethod
    def _stages(cls, stages: dict[Stage, list[str]]) -> dict[Stage, list[str]]:
        return {
            stage: _clean(phrases, f"{stage.value} keyword") for stage, phrases in stages.items()
        }

    def stage_rules(self) -> dict[str, list[str]]:
        """journey_stages with plain string keys, as journey.tag_stages takes them."""
        return {stage.value: list(phrases) for stage, phrases in self.journey_stages.items()}


FIELDS = list(Research.model_fields)
VERSION_FIELDS = {"_id": 0, "version": 1, "created_at": 1, "created_by": 1, "brands": 1}


class ResearchConflict(ReportbookError):
    """Too many saves of one product's research at the same moment; try again."""

    status_code = 409


def _is_duplicate(exc: Exception) -> bool:
    if isinstance(exc, DuplicateKeyError):
        return True
    errors = exc.details.get("writeErrors", []) if isinstance(exc, BulkWriteError) else []
    return any(e.get("code") == 11000 for e in errors)


class ResearchRepository:
    """Versions of each product's research, in `product_research`."""

    def __init__(self, db: Any) -> None:
        self.collection = db["product_research"]
        self.data_versions = DataVersions(db)

    def ensure_indexes(self) -> None:
        self.collection.create_index(
            [("product_id", ASCENDING), ("version", ASCENDING)], unique=True
        )

    def save(self, product_id: str, research: Research, author: str) -> dict[str, Any]:
        """Store `research` as the product's next version (1 for the first) and return it:
        _id, product_id, version, created_at, created_by and the Research fields."""
        for _ in range(SAVE_ATTEMPTS):
            latest = self.latest(product_id)
            doc = {"_id": str(ObjectId()), "product_id": product_id,
                   "version": (latest["version"] if latest else 0) + 1,
                   "created_at": utcnow(), "created_by": author,
                   **research.model_dump(mode="json")}  # fmt: skip
            try:
                self.collection.insert_many([doc])
            except (DuplicateKeyError, BulkWriteError) as exc:
                if not _is_duplicate(exc):
                    raise
                continue  # another save took this version number: take the next one
            self.data_versions.bump(product_id)
            return doc
        raise ResearchConflict(f"research of {product_id!r} is being saved by others; try again")

    def delete_for_product(self, product_id: str) -> int:
        return self.collection.delete_many({"product_id": product_id}).deleted_count

    def latest(self, product_id: str) -> dict[str, Any] | None:
        found = self.collection.find({"product_id": product_id})
        return next(iter(found.sort([("version", DESCENDING)]).limit(1)), None)

    def get(self, product_id: str, version: int) -> dict[str, Any] | None:
        return self.collection.find_one({"product_id": product_id, "version": version})

    def versions(self, product_id: str) -> list[dict[str, Any]]:
        """version, created_at, created_by and brands of each version, newest first."""
        found = self.collection.find({"product_id": product_id}, VERSION_FIELDS)
        return list(found.sort([("version", DESCENDING)]))

    @staticmethod
    def research_of(doc: dict[str, Any]) -> Research:
        """The Research a stored version holds."""
        return Research.model_validate({k: doc[k] for k in FIELDS if k in doc})
