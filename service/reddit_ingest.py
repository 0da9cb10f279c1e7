"""Reddit rows arriving over HTTP (an analyst's upload or import, an n8n delivery): the body
spooled to a file, the import run off the event loop, audited, and a run that could read
nothing, or rejected every row, answered as a 422 with the first reasons (the failed run is
kept and listed)."""

from __future__ import annotations

from typing import IO, Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from reporting.access import Principal
from reporting.errors import InvalidInput
from reporting.ingestion import IngestionSource, IngestionStatus
from reporting.reddit_dumps import DumpFormat, read_dump
from reporting.reddit_import import ingest
from service.context import AppContext

SPOOL_BYTES = 4 * 2**20  # a request body larger than this is spooled to a temporary file


def unprocessable(loc: list[str], msg: str, type_: str) -> InvalidInput:
    return InvalidInput([{"loc": loc, "msg": msg, "type": type_}])


async def spool_body(request: Request, spool: IO[bytes]) -> int:
    """Copy the request body to `spool` (a file: uploads may be large); returns its size."""
    size = 0
    async for chunk in request.stream():
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    return size


async def import_stream(
    context: AppContext,
    who: Principal,
    product: dict[str, Any],
    stream: IO[bytes],
    fmt: DumpFormat,
    *,
    loc: list[str],
    source: IngestionSource,
    started_by: dict[str, str],
    filename: str | None = None,
    **audited: Any,
) -> dict[str, Any]:
    """Import `stream` for `product`; the ingestion run, or InvalidInput at `loc` when nothing
    could be read from it. `audited` goes into the audit entry besides the counts."""
    run = await run_in_threadpool(  # the store's calls block: off the event loop
        ingest, context.ingestions, context.reddit, product, read_dump(stream, fmt),
        source=source, started_by=started_by, filename=filename, format=fmt.value,
    )  # fmt: skip
    context.audit.record(who, "reddit.imported", "product", product["_id"], run_id=run["_id"],
                         status=run["status"], **audited, **run["counts"])  # fmt: skip
    if run["status"] == IngestionStatus.failed:
        rejected_all = run["counts"]["read"] and run["counts"]["rejected"] == run["counts"]["read"]
        error = {"loc": loc, "msg": f"{run['error']} (ingestion run {run['_id']})",
                 "type": "rows_rejected" if rejected_all else "unreadable",
                 "ingestion_run": run["_id"],
                 "rejected_rows": [{"row": r["row"], "reason": r["reason"]}
                                   for r in run["rejected_rows"][:5]]}  # fmt: skip
        raise InvalidInput([error])
    return run
