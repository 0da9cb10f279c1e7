"""Markdown documents as report PDFs: Markdown -> HTML (mistune, nbconvert's own Markdown
parser) -> the report document of ``reporting.document`` -> PDF, on the same template and
stylesheet as notebook reports.

Markdown from an API caller is untrusted, so:
- raw HTML is escaped (shown as text, never interpreted: no ``<script>``, no ``<link>``);
- images are embedded only from ``data:image/...`` URIs; a remote image is left out with a
  visible note (nothing is fetched), a local path likewise (no file is read);
- links keep safe schemes only (mistune turns ``javascript:`` and the like into ``#``);
- ``render_markdown_pdf_within`` renders in a child process killed at a deadline, since a
  thread cannot be stopped.

In a Markdown document code is content: fenced code is shown as a text block.
"""

from __future__ import annotations

import functools
import multiprocessing
import re
import threading
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

import mistune
from bs4 import BeautifulSoup
from mistune.util import striptags

from reporting.document import (
    LANDSCAPE_CLASS,
    ReportMeta,
    layout_table,
    plain_text,
    render_document,
    write_pdf,
)
from reporting.errors import InvalidInput, ReportbookError

PLUGINS = ("table", "strikethrough", "url", "footnotes")
IMAGE_DATA = re.compile(r"^data:image/(?:png|jpeg|jpg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)
REMOTE_SCHEMES = ("http", "https", "ftp", "ftps")
RENDER_SECONDS = 60.0  # the longest a document may take to lay out
MAX_RENDERS = 2  # documents laid out at once by one process (each uses a CPU core)
RENDER_QUEUE_SECONDS = 15.0  # the longest a request waits for a free slot

_LONE_IMAGE = re.compile(r'^\s*(<img\b[^>]*\balt="(?P<alt>[^"]*)"[^>]*>)\s*$')
_SLUG_UNSAFE = re.compile(r"[^\w\- ]+")
_HEADING_NAME = re.compile(r"^h[1-6]$")
_H1 = re.compile(r"<h1\b[^>]*>(?P<inner>.*?)</h1>", re.IGNORECASE | re.DOTALL)


class _ReportRenderer(mistune.HTMLRenderer):
    """mistune's HTML renderer with raw HTML escaped, images restricted to ``data:`` URIs,
    heading ids (``#slug`` links work) and a lone image with alt text as a figure."""

    def __init__(self) -> None:
        super().__init__(escape=True)
        self._ids: set[str] = set()

    def heading(self, text: str, level: int, **attrs: Any) -> str:
        base = "-".join(_SLUG_UNSAFE.sub("", plain_text(text).lower()).split()) or "section"
        slug, n = base, 1
        while slug in self._ids:
            n += 1
            slug = f"{base}-{n}"
        self._ids.add(slug)
        return f'<h{level} id="{self.escape_attribute(slug)}">{text}</h{level}>\n'

    def image(self, text: str, url: str, title: str | None = None) -> str:
        alt = striptags(text)
        target = url.strip()
        if IMAGE_DATA.match(target):
            attrs: dict[str, object] = {"src": target, "alt": alt}
            if title:
                attrs["title"] = title
            return "<img" + self.render_attrs(attrs) + " />"
        parts = urlsplit(target)
        remote = parts.scheme.lower() in REMOTE_SCHEMES or target.startswith("//")
        why = "remote images are not fetched" if remote else "only data: URI images are embedded"
        label = f"\u201c{alt}\u201d" if alt else "an image"
        return f'<span class="report-missing-image">[Not included: {label} ({why})]</span>'

    def paragraph(self, text: str) -> str:
        lone = _LONE_IMAGE.match(text)
        if lone and lone.group("alt"):
            return (
                f'<figure class="report-figure">{lone.group(1)}'
                f"<figcaption>{lone.group('alt')}</figcaption></figure>\n"
            )
        return super().paragraph(text)

    def block_code(self, code: str, info: str | None = None) -> str:
        return '<pre class="report-code">' + mistune.escape(code) + "</pre>\n"


def markdown_body(markdown: str) -> str:
    """``markdown`` as a report body fragment: HTML escaped, images restricted, tables laid
    out to fit the page like notebook tables (smaller type, then a landscape page)."""
    parse = mistune.create_markdown(renderer=_ReportRenderer(), plugins=list(PLUGINS))
    body = str(parse(markdown))
    if "<table" not in body:
        return body
    soup = BeautifulSoup(body, features="html.parser")
    for table in soup.find_all("table"):
        if LANDSCAPE_CLASS in layout_table(table):
            page = table.wrap(soup.new_tag("div", attrs={"class": "report-landscape-page"}))
            for lead in reversed(_lead_in(page)):  # its heading goes on the landscape page too
                page.insert(0, lead.extract())
    return str(soup)


def _lead_in(block: Any) -> list[Any]:
    """The heading just before ``block``, with a short paragraph between them if any."""
    before = block.find_previous_sibling()
    if before is not None and before.name == "p" and len(before.get_text()) <= 400:
        heading = before.find_previous_sibling()
        if heading is not None and _HEADING_NAME.match(heading.name):
            return [heading, before]
    return [before] if before is not None and _HEADING_NAME.match(before.name) else []


def render_markdown_html(markdown: str, meta: ReportMeta) -> str:
    """A Markdown document as a standalone report page: title page (``meta``; a missing title
    is the document's first H1), contents of its H2 headings, then the document."""
    body = markdown_body(markdown)
    return render_document(body, _completed(body, meta))


def render_markdown_pdf(markdown: str, meta: ReportMeta) -> bytes:
    """A Markdown document as an A4 report PDF (``render_markdown_html`` laid out), titled
    as its title page is. Loads nothing but ``data:`` URIs."""
    body = markdown_body(markdown)
    meta = _completed(body, meta)
    return write_pdf(render_document(body, meta), title=meta.title)


def _completed(body: str, meta: ReportMeta) -> ReportMeta:
    """`meta` with its gaps filled; the title defaults to the first H1, else "Document"."""
    first = _H1.search(body)
    return meta.complete(
        ReportMeta(title=plain_text(first.group("inner")) if first else "Document")
    )


# ---- Bounded rendering ----------------------------------------------------------------------------


class RendererBusy(ReportbookError):
    """Every render slot stayed taken for ``RENDER_QUEUE_SECONDS``."""

    status_code = 503


_slots = threading.BoundedSemaphore(MAX_RENDERS)


def render_markdown_pdf_within(
    markdown: str, meta: ReportMeta, seconds: float = RENDER_SECONDS
) -> bytes:
    """``render_markdown_pdf`` in a child process that is killed after ``seconds``, at most
    ``MAX_RENDERS`` at a time. Raises ``InvalidInput`` (on ``markdown``) when the document
    takes longer, ``RendererBusy`` when no slot frees up in time. Children fork from a
    server that has this module and WeasyPrint loaded, so each starts in milliseconds."""
    if not _slots.acquire(timeout=RENDER_QUEUE_SECONDS):
        raise RendererBusy("every PDF renderer is busy; try again shortly")
    try:
        return _render_in_child(markdown, meta, seconds)
    finally:
        _slots.release()


def _render_in_child(markdown: str, meta: ReportMeta, seconds: float) -> bytes:
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(sender, markdown, meta), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise InvalidInput([{
                "loc": ["body", "markdown"], "type": "too_complex",
                "msg": f"the document took longer than {seconds:g} s to lay out; split it",
            }])  # fmt: skip
        try:
            ok, value = receiver.recv()
        except EOFError:
            raise RuntimeError(f"the PDF renderer exited with code {child.exitcode}") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join(timeout=5)
        receiver.close()
    if not ok:
        raise RuntimeError(f"the PDF renderer failed: {value}")
    return value


def _child_main(sender: Connection, markdown: str, meta: ReportMeta) -> None:
    try:
        result: tuple[bool, Any] = (True, render_markdown_pdf(markdown, meta))
    except Exception as exc:  # sent to the parent, which raises it
        result = (False, f"{type(exc).__name__}: {exc}")
    sender.send(result)
    sender.close()


@functools.cache
def _context() -> Any:
    """The forkserver context, its server preloading this module and WeasyPrint."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["reporting.markdown_pdf", "weasyprint"])
    return context
