"""Who may do what: roles, grants, principals and what a principal can see.

- `admin`: everything.
- `user`: reads and writes inside the folders and products granted to it.
- `restricted`: reads inside its grants (tasks, reports); creates, changes and cancels nothing.

A grant on a folder covers every product in it. A principal is a Firebase user or an API key;
a key owned by a user never has more than its owner has now (role and grants are intersected
at each request), so demoting a user demotes its keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    admin = "admin"
    user = "user"
    restricted = "restricted"


RANK = {Role.restricted: 0, Role.user: 1, Role.admin: 2}


def lowest(a: Role, b: Role) -> Role:
    return a if RANK[a] <= RANK[b] else b


class ResourceType(StrEnum):
    folder = "folder"
    product = "product"


@dataclass(frozen=True)
class Grant:
    type: ResourceType
    id: str

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Grant:
        return cls(ResourceType(doc["type"]), doc["resource_id"])

    def doc(self) -> dict[str, str]:
        return {"type": self.type.value, "resource_id": self.id}


@dataclass(frozen=True)
class Principal:
    id: str
    kind: str  # "user" (Firebase) or "api_key"
    name: str
    role: Role
    grants: frozenset[Grant] = field(default_factory=frozenset)
    owner: Principal | None = None  # for an API key: the user it acts for (None: service key)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def may_write(self) -> bool:
        return self.role is not Role.restricted

    def granted_folders(self) -> set[str]:
        return {g.id for g in self.grants if g.type is ResourceType.folder}

    def granted_products(self) -> set[str]:
        return {g.id for g in self.grants if g.type is ResourceType.product}


@dataclass(frozen=True)
class Scope:
    """What a principal can see: None means everything (admins)."""

    product_ids: frozenset[str] | None
    folder_ids: frozenset[str] | None

    def sees_product(self, product_id: str | None) -> bool:
        return self.product_ids is None or product_id in self.product_ids

    def sees_folder(self, folder_id: str) -> bool:
        return self.folder_ids is None or folder_id in self.folder_ids

    def intersect(self, other: Scope) -> Scope:
        def both(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
            return b if a is None else a if b is None else a & b

        return Scope(
            both(self.product_ids, other.product_ids), both(self.folder_ids, other.folder_ids)
        )
