"""Raw Reddit data in: import dumps for a product, and read back its ingestion runs."""

from __future__ import annotations

import datetime as dt
from contextlib import AsyncExitStack
from tempfile import SpooledTemporaryFile
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from reporting.errors import NotFound
from reporting.ingestion import (
    MAX_REJECTED_KEPT,
    IngestionSource,
    IngestionStatus,
    actor,
)
from reporting.reddit_dumps import CONTENT_TYPES, DumpFormat, detect_format
from reporting.reddit_import import MAX_TEXT_CHARS
from service.deps import Context, CurrentScope, Reader, Writer
from service.reddit_ingest import SPOOL_BYTES, import_stream, spool_body, unprocessable
from service.routers.products import visible_product

router = APIRouter(prefix="/v1/products/{product_id}/raw/reddit", tags=["raw data"])

FORMATS = "use .jsonl/.ndjson (JSON lines), .json (array or Reddit listing) or .csv"


class RejectedRow(BaseModel):
    row: int = Field(description="Line (JSON lines, CSV) or position (JSON array, listing)")
    reason: str
    excerpt: str


class IngestionCounts(BaseModel):
    read: int = Field(description="Rows read: posts_added + comments_added + duplicates + rejected")
    posts_added: int
    comments_added: int
    duplicates: int = Field(description="Rows whose Reddit id was stored already (or came earlier)")
    rejected: int
    truncated: int = Field(description=f"Rows whose text was cut to {MAX_TEXT_CHARS:,} characters")


class IngestionSummary(BaseModel):
    id: str
    product_id: str
    product: str = Field(description="The product's slug: the key the data is stored under")
    source: IngestionSource
    filename: str | None
    format: str | None
    status: IngestionStatus
    started_by: dict[str, str]
    started_at: dt.datetime
    finished_at: dt.datetime | None
    counts: IngestionCounts
    error: str | None = Field(description="Why a failed run failed")


class IngestionOut(IngestionSummary):
    rejected_rows: list[RejectedRow] = Field(
        description=f"The first {MAX_REJECTED_KEPT:,} rejected rows (counts.rejected has all)"
    )


class IngestionPage(BaseModel):
    items: list[IngestionSummary]
    total: int
    limit: int
    offset: int


_EXAMPLE = [{"id": "1abc01", "subreddit": "espresso", "title": "Finally upgraded to the Brevio Duo",
             "selftext": "", "author": "happy_crema12", "score": 42, "num_comments": 3,
             "created_utc": 1785931200}]  # fmt: skip
_BODY = {
    "required": True,
    "description": "Posts and comments in Reddit's field names, as the body (JSON lines, a "
    "JSON array or listing, or CSV: say which with Content-Type) or as the multipart field "
    "`file` (format from its name).",
    "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"},
                                        "example": _EXAMPLE}},
        "application/x-ndjson": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string",
                                                                   "format": "binary"}}}},
    },
}  # fmt: skip


def _out(run: dict[str, Any], model: type[IngestionSummary] = IngestionOut) -> Any:
    return model(id=run["_id"], **{k: v for k, v in run.items() if k != "_id"})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IngestionOut,
             openapi_extra={"requestBody": _BODY})  # fmt: skip
async def import_reddit(
    product_id: str, request: Request, context: Context, principal: Writer, scope: CurrentScope
) -> IngestionOut:
    """Import Reddit posts and comments for a product you may write to. Rows already stored
    (same Reddit id) count as duplicates; bad rows are rejected one by one, with their row
    number and reason, and never stop the import (status `partial`). Input nothing can be
    read from is a 422 (its failed run is kept)."""
    product = visible_product(context, scope, product_id)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    async with AsyncExitStack() as resources:  # closes the spooled body and uploaded files
        spool = resources.enter_context(SpooledTemporaryFile(max_size=SPOOL_BYTES))
        stream: IO[bytes] = spool
        if media == "multipart/form-data":
            loc = ["body", "file"]
            form = await resources.enter_async_context(request.form())
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise unprocessable(loc, "send the dump as the multipart field `file`", "missing")
            fmt = detect_format(upload.filename, upload.content_type)
            if fmt is None:
                raise unprocessable(loc, f"unsupported format {upload.filename!r}: {FORMATS}",
                                     "unsupported_format")  # fmt: skip
            if not upload.size:
                raise unprocessable(loc, "the file is empty", "empty")
            stream, filename, source = upload.file, upload.filename, IngestionSource.upload
        else:
            loc = ["body"]
            fmt = CONTENT_TYPES.get(media) or (DumpFormat.ndjson if media == "text/plain" else None)
            if fmt is None:
                raise unprocessable(["header", "content-type"], f"unsupported content type "
                                     f"{media or None!r}: send application/x-ndjson, "
                                     "application/json, text/csv or a multipart `file`",
                                     "unsupported_format")  # fmt: skip
            if not await spool_body(request, spool):
                raise unprocessable(loc, "the body is empty", "empty")
            filename, source = None, IngestionSource.api
        run = await import_stream(context, principal, product, stream, fmt, loc=loc,
                                  source=source, started_by=actor(principal), filename=filename)  # fmt: skip
    return _out(run)


@router.get("/ingestions", response_model=IngestionPage)
def list_ingestions(
    product_id: str,
    context: Context,
    _: Reader,
    scope: CurrentScope,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> IngestionPage:
    """The product's imports, newest first (without their rejected rows)."""
    visible_product(context, scope, product_id)
    runs, total = context.ingestions.page(product_id, limit, offset)
    items = [_out(r, IngestionSummary) for r in runs]
    return IngestionPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/ingestions/{run_id}", response_model=IngestionOut)
def get_ingestion(
    product_id: str, run_id: str, context: Context, _: Reader, scope: CurrentScope
) -> IngestionOut:
    """One import with its counts and the first rejected rows."""
    visible_product(context, scope, product_id)
    run = context.ingestions.get(run_id)
    if run is None or run["product_id"] != product_id:
        raise NotFound(f"ingestion run {run_id!r} not found")
    return _out(run)
