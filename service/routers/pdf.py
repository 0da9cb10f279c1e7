"""Markdown documents as report PDFs: `POST /v1/pdf`, on the same template as notebook reports.

Writers only (`admin` or `user`; a `restricted` caller gets 403): a render spends seconds of
CPU on the API's machine, which a read-only role should not be able to do at will. The
render runs in a child process killed after `RENDER_SECONDS` (a thread cannot be stopped),
at most `MAX_RENDERS` at once; the endpoint is a plain `def`, so the wait happens in
FastAPI's thread pool, not on the event loop.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from fastapi import APIRouter, Response

from reporting.document import ReportMeta
from reporting.markdown_pdf import render_markdown_pdf_within
from service.deps import Writer
from service.schemas import ErrorOut, PdfIn

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/pdf", tags=["pdf"])

_UNSAFE = re.compile(r"[^A-Za-z0-9]+")
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The PDF, as an attachment"},
    422: {"description": "Bad input, or a document too complex to lay out in time (`markdown`)"},
    503: {"model": ErrorOut, "description": "Every renderer is busy; try again shortly"},
}


def pdf_filename(title: str) -> str:
    """A safe attachment name from a title: ASCII letters, digits and dashes, at most 80."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    stem = _UNSAFE.sub("-", ascii_title).strip("-").lower()[:80].rstrip("-")
    return f"{stem or 'document'}.pdf"


@router.post("", response_class=Response, responses=_RESPONSES)
def render_pdf(body: PdfIn, principal: Writer) -> Response:
    """Render a Markdown document as a PDF report: a title page (`title`, `product`,
    `period`, the generation time), a table of contents of its `##` headings, page numbers.
    Tables, lists, fenced code (shown as text) and images as `data:` URIs only: a remote or
    local image is left out with a note. Raw HTML is shown as text."""
    meta = ReportMeta(title=body.title, product=body.product, period=body.period)
    pdf = render_markdown_pdf_within(body.markdown, meta)
    log.info("pdf rendered for %s: %d bytes of markdown, %d of PDF", principal.id,
             len(body.markdown), len(pdf))  # fmt: skip
    disposition = f'attachment; filename="{pdf_filename(body.title)}"'
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": disposition})  # fmt: skip
