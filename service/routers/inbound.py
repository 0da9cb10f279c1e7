"""Data n8n workflows deliver: share-of-voice scrape rows and Reddit rows for a product.

Callers authenticate with the shared secret N8N_INBOUND_SECRET in the `X-Reportbook-Secret`
header (in n8n: a Header Auth credential on the HTTP Request node), not with a bearer: these
routes are for n8n only. No header (or a bearer alone) is a 401; a header while no secret is
configured is a 503 saying so; a wrong secret is a 401.
"""

from __future__ import annotations

import datetime as dt
import hmac
from tempfile import SpooledTemporaryFile
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from reporting.access import Principal, Role
from reporting.date_bounds import BoundedDatetime
from reporting.errors import InvalidInput, NotFound, ReportbookError, Unauthenticated
from reporting.ingestion import IngestionSource, IngestionStatus, actor
from reporting.reddit_import import CONTENT_TYPES, DumpFormat
from reporting.sov_scrapes import as_utc
from service.deps import Context
from service.reddit_ingest import SPOOL_BYTES, import_stream, spool_body
from service.schemas import ErrorOut

router = APIRouter(prefix="/v1/inbound/n8n", tags=["inbound (n8n)"])

MAX_ROWS = 10_000  # rows in one share-of-voice delivery
SECRET_HEADER = "X-Reportbook-Secret"


class InboundNotConfigured(ReportbookError):
    status_code = 503


def require_inbound_secret(
    context: Context,
    x_reportbook_secret: Annotated[
        str | None, Header(description="The shared secret N8N_INBOUND_SECRET")
    ] = None,
) -> Principal:
    """The n8n caller, once its `X-Reportbook-Secret` matches N8N_INBOUND_SECRET."""
    if not x_reportbook_secret:
        raise Unauthenticated("missing_secret", f"send the shared secret as {SECRET_HEADER}")
    expected = context.settings.n8n_inbound_secret_value()
    if expected is None:
        raise InboundNotConfigured("N8N_INBOUND_SECRET is not configured: inbound n8n "
                                   "deliveries are off")  # fmt: skip
    if not hmac.compare_digest(x_reportbook_secret.encode(), expected.encode()):
        raise Unauthenticated("invalid_secret", f"wrong {SECRET_HEADER}")
    return Principal(id="n8n", kind="n8n", name="n8n (inbound secret)", role=Role.restricted)


N8nCaller = Annotated[Principal, Depends(require_inbound_secret)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": f"Missing or wrong {SECRET_HEADER}"},
    404: {"model": ErrorOut, "description": "No such product"},
    503: {"model": ErrorOut, "description": "N8N_INBOUND_SECRET is not configured"},
}


class SovRowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brand: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=100, description="reddit, news, forums...")
    query: str | None = Field(default=None, max_length=500)
    mentions: int = Field(ge=0, strict=True, description="Mentions counted (an integer >= 0)")
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    captured_at: BoundedDatetime = Field(
        description="When it was counted, with a time zone (years 2000-2100)"
    )


class SovDeliveryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str | None = Field(default=None, min_length=1, description="Or `product`")
    product: str | None = Field(default=None, min_length=1, description="The product's slug")
    run_id: str | None = Field(default=None, max_length=100,
                               description="The snapshot or task this scrape is for")  # fmt: skip
    execution_id: str | None = Field(default=None, max_length=100,
                                     description="The n8n execution delivering it")  # fmt: skip
    rows: list[SovRowIn] = Field(max_length=MAX_ROWS)

    @model_validator(mode="after")
    def _one_product(self) -> SovDeliveryIn:
        if (self.product_id is None) == (self.product is None):
            raise ValueError("give exactly one of product_id and product (its slug)")
        return self


class SovDeliveryOut(BaseModel):
    scrape_id: str
    product_id: str
    run_id: str | None
    execution_id: str | None
    rows: int = Field(description="Rows stored")
    replaced: int = Field(description="Rows of an earlier delivery of the same execution")
    received_at: dt.datetime


class RedditDeliveryOut(BaseModel):
    id: str = Field(description="The ingestion run (GET /v1/products/{id}/raw/reddit/...)")
    product_id: str
    status: IngestionStatus
    counts: dict[str, int]
    error: str | None


def _product(context: Context, product_id: str | None, slug: str | None, loc: str) -> dict:
    if (product_id is None) == (slug is None):
        raise InvalidInput([{"loc": [loc, "product_id"], "type": "value_error",
                             "msg": "give exactly one of product_id and product"}])  # fmt: skip
    if product_id is not None:
        product = context.products.get(product_id)
    else:
        product = context.products.by_slug(slug or "")
    if product is None:
        raise NotFound(f"product {product_id or slug!r} not found")
    return product


@router.post("/sov", status_code=status.HTTP_201_CREATED, response_model=SovDeliveryOut,
             responses=_ERRORS)  # fmt: skip
def deliver_sov(body: SovDeliveryIn, context: Context, caller: N8nCaller) -> SovDeliveryOut:
    """Share-of-voice rows scraped by n8n for a product (and the run they were made for).
    A repeated delivery of the same `execution_id` replaces the earlier one."""
    product = _product(context, body.product_id, body.product, "body")
    rows = [{**row.model_dump(), "captured_at": as_utc(row.captured_at)} for row in body.rows]
    scrape = context.sov_scrapes.insert(product, rows, body.run_id, body.execution_id)
    context.audit.record(caller, "sov.delivered", "product", product["_id"],
                         scrape_id=scrape["scrape_id"], run_id=body.run_id,
                         execution_id=body.execution_id, rows=scrape["rows"])  # fmt: skip
    return SovDeliveryOut(**scrape)


_NDJSON = {
    "required": True,
    "description": "Reddit posts and comments in Reddit's field names: JSON lines "
    "(application/x-ndjson) or a JSON array (application/json).",
    "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
}  # fmt: skip


@router.post("/reddit", status_code=status.HTTP_201_CREATED, response_model=RedditDeliveryOut,
             responses=_ERRORS, openapi_extra={"requestBody": _NDJSON})  # fmt: skip
async def deliver_reddit(
    request: Request,
    context: Context,
    caller: N8nCaller,
    product_id: Annotated[str | None, Query(description="The product (or `product`)")] = None,
    product: Annotated[str | None, Query(description="The product's slug")] = None,
    execution_id: Annotated[str | None, Query(max_length=100)] = None,
) -> RedditDeliveryOut:
    """Reddit rows n8n collected for a product, imported like `POST /v1/products/{id}/raw/
    reddit` (duplicates skipped, bad rows rejected one by one, recorded as an ingestion run)."""
    target = _product(context, product_id, product, "query")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = CONTENT_TYPES.get(media)
    if fmt not in (DumpFormat.ndjson, DumpFormat.json):
        raise InvalidInput([{"loc": ["header", "content-type"], "type": "unsupported_format",
                             "msg": f"unsupported content type {media or None!r}: send "
                             "application/x-ndjson or application/json"}])  # fmt: skip
    assert fmt is not None
    started_by = {**actor(caller), "name": f"n8n execution {execution_id}" if execution_id
                  else caller.name}  # fmt: skip
    with SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        size = await spool_body(request, spool)
        if not size:
            raise InvalidInput([{"loc": ["body"], "msg": "the body is empty", "type": "empty"}])
        run = await import_stream(context, caller, target, spool, fmt, loc=["body"],
                                  source=IngestionSource.api, started_by=started_by,
                                  execution_id=execution_id)  # fmt: skip
    return RedditDeliveryOut(id=run["_id"], product_id=target["_id"], status=run["status"],
                             counts=run["counts"], error=run.get("error"))  # fmt: skip
