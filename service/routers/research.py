"""A product's research, versioned: read the latest or any version, save a new one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel

from reporting.errors import NotFound
from reporting.research import Research
from service.deps import Context, CurrentScope, Reader, Writer
from service.routers.products import visible_product

router = APIRouter(prefix="/v1/products/{product_id}/research", tags=["research"])


class ResearchOut(Research):
    """One stored version of a product's research."""

    product_id: str
    version: int
    created_at: dt.datetime
    created_by: str


class ResearchVersionOut(BaseModel):
    version: int
    created_at: dt.datetime
    created_by: str
    brands: list[str]


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such product (or you cannot see it), or no such research"}
}


def _out(doc: dict[str, Any]) -> ResearchOut:
    return ResearchOut.model_validate({k: v for k, v in doc.items() if k != "_id"})


@router.get("", response_model=ResearchOut, responses=_NOT_FOUND)
def latest_research(
    product_id: str, context: Context, _: Reader, scope: CurrentScope
) -> ResearchOut:
    """The product's latest research (404 while it has none)."""
    visible_product(context, scope, product_id)
    doc = context.research.latest(product_id)
    if doc is None:
        raise NotFound(f"product {product_id!r} has no research yet")
    return _out(doc)


@router.put("", status_code=status.HTTP_201_CREATED, response_model=ResearchOut,
            responses=_NOT_FOUND)  # fmt: skip
def save_research(
    product_id: str, body: Research, context: Context, principal: Writer, scope: CurrentScope
) -> ResearchOut:
    """Store `body` as the product's next research version; earlier ones stay readable."""
    visible_product(context, scope, product_id)
    doc = context.research.save(product_id, body, principal.id)
    context.audit.record(principal, "research.saved", "product", product_id,
                         version=doc["version"])  # fmt: skip
    return _out(doc)


@router.get("/versions", response_model=list[ResearchVersionOut], responses=_NOT_FOUND)
def list_research_versions(
    product_id: str, context: Context, _: Reader, scope: CurrentScope
) -> list[ResearchVersionOut]:
    """Every version of the product's research, newest first (empty while it has none)."""
    visible_product(context, scope, product_id)
    return [ResearchVersionOut(**v) for v in context.research.versions(product_id)]


@router.get("/versions/{version}", response_model=ResearchOut, responses=_NOT_FOUND)
def get_research_version(
    product_id: str,
    version: Annotated[int, Path(ge=1)],
    context: Context,
    _: Reader,
    scope: CurrentScope,
) -> ResearchOut:
    visible_product(context, scope, product_id)
    doc = context.research.get(product_id, version)
    if doc is None:
        raise NotFound(f"product {product_id!r} has no research version {version}")
    return _out(doc)
