"""Folders and the products in them: the resources access is granted on."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING

from reporting.errors import InvalidInput
from reporting.tasks import utcnow

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(name: str) -> str:
    """`Home espresso` -> `home-espresso`: the key a product's raw data is stored under."""
    return "-".join(re.findall(r"[a-z0-9]+", name.lower())) or "product"


def _in(ids: Iterable[str] | None) -> dict[str, Any]:
    return {} if ids is None else {"_id": {"$in": sorted(ids)}}


class FolderRepository:
    def __init__(self, db: Any) -> None:
        self.collection = db["folders"]

    def create(self, name: str, created_by: str) -> dict[str, Any]:
        folder = {"_id": str(ObjectId()), "name": name, "created_by": created_by,
                  "created_at": utcnow()}  # fmt: skip
        self.collection.insert_many([folder])
        return folder

    def get(self, folder_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": folder_id})

    def list(self, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """All folders, or those with the given ids; by name."""
        return sorted(self.collection.find(_in(ids)), key=lambda f: (f["name"], f["_id"]))

    def rename(self, folder_id: str, name: str) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"_id": folder_id}, {"$set": {"name": name}}, return_document=True
        )

    def delete(self, folder_id: str) -> bool:
        return self.collection.delete_one({"_id": folder_id}).deleted_count == 1


class ProductRepository:
    def __init__(self, db: Any) -> None:
        self.collection = db["products"]

    def ensure_indexes(self) -> None:
        self.collection.create_index([("folder_id", ASCENDING)])
        self.collection.create_index([("slug", ASCENDING)])
        for product in self.collection.find({"slug": None}):  # products made before slugs
            self.update(product["_id"], {"slug": self._free_slug(slugify(product["name"]))})

    def create(
        self, name: str, folder_id: str, created_by: str, slug: str | None = None
    ) -> dict[str, Any]:
        """A new product; its `slug` (given, or made from the name) is unique and never changes."""
        slug = slug or self._free_slug(slugify(name))
        if self.by_slug(slug) is not None:
            raise InvalidInput([{"loc": ["body", "slug"], "msg": f"slug {slug!r} is taken",
                                 "type": "conflict"}])  # fmt: skip
        product = {"_id": str(ObjectId()), "name": name, "slug": slug, "folder_id": folder_id,
                   "created_by": created_by, "created_at": utcnow()}  # fmt: skip
        self.collection.insert_many([product])
        return product

    def _free_slug(self, base: str) -> str:
        slug, n = base, 1
        while self.by_slug(slug) is not None:
            n += 1
            slug = f"{base}-{n}"
        return slug

    def by_slug(self, slug: str) -> dict[str, Any] | None:
        return self.collection.find_one({"slug": slug})

    def get(self, product_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": product_id})

    def list(
        self, ids: Iterable[str] | None = None, folder_id: str | None = None
    ) -> list[dict[str, Any]]:
        query = _in(ids)
        if folder_id is not None:
            query["folder_id"] = folder_id
        return sorted(self.collection.find(query), key=lambda p: (p["name"], p["_id"]))

    def ids_in_folders(self, folder_ids: Iterable[str]) -> set[str]:
        folder_ids = sorted(folder_ids)
        if not folder_ids:
            return set()
        found = self.collection.find({"folder_id": {"$in": folder_ids}}, {"_id": 1})
        return {p["_id"] for p in found}

    def folders_of(self, product_ids: Iterable[str]) -> set[str]:
        product_ids = sorted(product_ids)
        if not product_ids:
            return set()
        found = self.collection.find({"_id": {"$in": product_ids}}, {"folder_id": 1})
        return {p["folder_id"] for p in found}

    def count_in_folder(self, folder_id: str) -> int:
        return self.collection.count_documents({"folder_id": folder_id})

    def update(self, product_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"_id": product_id}, {"$set": changes}, return_document=True
        )

    def delete(self, product_id: str) -> bool:
        return self.collection.delete_one({"_id": product_id}).deleted_count == 1
