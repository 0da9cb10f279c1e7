"""The report document every PDF shares: a title page, a table of contents, the body, and
WeasyPrint to lay it out on A4.

Notebook reports (``reporting.export``), combined snapshot reports and markdown documents
(``reporting.markdown_pdf``) all make a body of HTML and hand it to ``render_document``, which
wraps it in ``templates/report/document.html.j2`` with ``templates/report.css`` inlined;
``write_pdf`` then lays the page out. What the title page says is a ``ReportMeta``.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import logging
import re
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape, unescape
from importlib import resources as package_resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2
from markupsafe import Markup

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
DOCUMENT_TEMPLATE = "document.html.j2"

_CSS_UNSAFE = re.compile(r'["\\<>\n\r\f]')
_HEADING = re.compile(
    r"<h(?P<level>[1-6])(?P<attrs>(?:\s[^>]*)?)>(?P<inner>.*?)</h(?P=level)\s*>",
    re.IGNORECASE | re.DOTALL,
)
_HEADING_TAG = re.compile(r"<(?P<close>/?)h(?P<level>[1-6])(?=[\s/>])", re.IGNORECASE)
_ID_ATTR = re.compile(r"""\sid\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s>]+))""")
_TAG = re.compile(r"<[^>]+>")
_SLUG_UNSAFE = re.compile(r"[^\w-]+")


# ---- What the title page says ------------------------------------------------------------------


@dataclass(frozen=True)
class ReportMeta:
    """The title page of a report. Every field is optional; whoever renders fills the gaps
    (``complete``): the title from the document, the generation time with now, and a missing
    product or period is left off the page."""

    title: str | None = None
    product: str | None = None
    period: str | None = None
    generated_at: dt.datetime | None = None

    def complete(self, fallback: ReportMeta | None = None) -> ReportMeta:
        """These fields, each missing one taken from ``fallback``; the title defaults to
        "Report" and ``generated_at`` to now (UTC)."""
        fallback = fallback or ReportMeta()
        merged = {
            f.name: _present(getattr(self, f.name)) or _present(getattr(fallback, f.name))
            for f in dataclasses.fields(self)
        }
        merged["title"] = merged["title"] or "Report"
        merged["generated_at"] = merged["generated_at"] or dt.datetime.now(dt.UTC)
        return ReportMeta(**merged)

    @property
    def generated_label(self) -> str:
        """``generated_at`` as "1 Oct 2026 09:30 UTC" (a naive time is taken as UTC)."""
        at = self.generated_at or dt.datetime.now(dt.UTC)
        at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
        return f"{at.day} {at:%b %Y %H:%M} UTC"


def _present(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()) or None
    return value


def period_label(start: Any, end: Any) -> str | None:
    """A period for the title page from its first and last day (dates, datetimes or ISO
    strings; a string that is not a date is shown as it is): "1 Jul 2026 – 30 Sep 2026"."""
    first, last = _day(start), _day(end)
    if first and last:
        return first if first == last else f"{first} \u2013 {last}"
    if first:
        return f"From {first}"
    if last:
        return f"Until {last}"
    return None


def _day(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return _present(value)
    if isinstance(value, dt.date):
        return f"{value.day} {value:%b %Y}"
    return _present(str(value))


# ---- Headings and the table of contents ----------------------------------------------------------


@dataclass(frozen=True)
class TocEntry:
    level: int
    id: str
    text: str


def index_headings(body: str, levels: Iterable[int] = (2,)) -> tuple[str, list[TocEntry]]:
    """Give every heading of ``levels`` in ``body`` a unique id (keeping a unique existing
    one) and return the body with them and the table of contents, in document order."""
    wanted = set(levels)
    used = set(m.group("dq") or m.group("sq") or m.group("bare") for m in _ID_ATTR.finditer(body))
    seen: set[str] = set()
    entries: list[TocEntry] = []

    def visit(match: re.Match[str]) -> str:
        level = int(match.group("level"))
        text = " ".join(unescape(_TAG.sub("", match.group("inner"))).split())
        if level not in wanted or not text:
            return match.group()
        attrs = match.group("attrs")
        found = _ID_ATTR.search(attrs)
        current = (found.group("dq") or found.group("sq") or found.group("bare")) if found else None
        if current is None or current in seen:
            base = "s-" + (_SLUG_UNSAFE.sub("-", text.lower()).strip("-")[:60] or "section")
            current, n = base, 1
            while current in used or current in seen:
                n += 1
                current = f"{base}-{n}"
            new_id = f' id="{current}"'
            attrs = (
                attrs[: found.start()] + new_id + attrs[found.end() :] if found else new_id + attrs
            )
        seen.add(current)
        entries.append(TocEntry(level, current, text))
        return f"<h{level}{attrs}>{match.group('inner')}</h{level}>"

    return _HEADING.sub(visit, body), entries


def demote_headings(body: str, by: int = 1) -> str:
    """Every heading ``by`` levels lower (h1 -> h2 ...; h6 stays h6): a document's sections
    as subsections of a bigger one."""
    return _HEADING_TAG.sub(
        lambda m: f"<{m.group('close')}h{min(6, int(m.group('level')) + by)}", body
    )


# ---- The page ----------------------------------------------------------------------------------------


@functools.cache
def report_css() -> str:
    """The report stylesheet, read once from the package data."""
    return (package_resources.files("reporting") / "templates" / "report.css").read_text("utf-8")


def css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string, safe inside a ``<style>`` element."""
    return Markup('"' + _CSS_UNSAFE.sub(lambda m: f"\\{ord(m.group()):X} ", text) + '"')


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "report"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["css_string"] = css_string
    return env


def render_document(
    body: str, meta: ReportMeta, *, toc_levels: Iterable[int] = (2,), lang: str = "en"
) -> str:
    """The standalone report page: a title page from ``meta`` (completed), a table of contents
    of the ``toc_levels`` headings of ``body`` (an HTML fragment, trusted), then ``body``."""
    meta = meta.complete()
    body, toc = index_headings(body, toc_levels)
    running = " \u00b7 ".join(filter(None, (meta.product, meta.period)))
    return _environment().get_template(DOCUMENT_TEMPLATE).render(
        meta=meta, toc=toc, body=Markup(body), css=Markup(report_css()), running=running,
        lang=lang or "en", created=(meta.generated_at or dt.datetime.now(dt.UTC)).isoformat(),
    )  # fmt: skip


def plain_text(html: str) -> str:
    """The text of an HTML fragment, tags dropped and whitespace collapsed."""
    return " ".join(unescape(_TAG.sub(" ", html)).split())


def html_text(text: str) -> str:
    """``text`` escaped for an HTML text node."""
    return escape(text, quote=False)


# ---- Tables ------------------------------------------------------------------------------------------

# Text block widths and the table sizes of report.css (keep in step with it): per size,
# (CSS class or None, font size pt, average glyph width em, horizontal cell padding mm).
# Glyph widths are DejaVu Sans' (the widest likely font), measured with WeasyPrint.
PORTRAIT_MM, LANDSCAPE_MM = 210 - 36, 297 - 36
_SIZES = (
    (None, 8.5, 0.68, 4.4),
    ("report-wide-1", 7.5, 0.62, 3.2),
    ("report-wide-2", 6.5, 0.62, 2.2),
)
_FIT_CLASS = "report-wide-3"  # fixed layout, wraps anywhere: fits any width
LANDSCAPE_CLASS = "report-landscape"  # the table needs a landscape page
KEEP_CLASS = "report-keep"  # a small table: never split over two pages
SMALL_TABLE_ROWS = 16  # header rows included
_PT_MM = 25.4 / 72
_NUMBER = re.compile(
    r"^[-+\u2212(]?[$\u20ac\u00a3\u00a5]?\d[\d,._' \u00a0]*(?:[eE][-+]?\d+)?\s*[%\u2030kKMB]?\)?$"
)
_MISSING = {"", "nan", "none", "nat", "<na>", "inf", "-inf", "-", "\u2014", "\u2026", "..."}


def table_classes(word_lengths: list[int]) -> list[str]:
    """The classes that make a table fit the page: ``[]`` if it fits at the normal size,
    else the first smaller size at which it fits in portrait, then in landscape, else the
    fixed layout in landscape. Cells wrap between words, so the longest word of a column
    (``word_lengths``, in characters) sets its minimum width."""
    chars = sum(word_lengths)
    for width_mm, orientation in ((PORTRAIT_MM, []), (LANDSCAPE_MM, [LANDSCAPE_CLASS])):
        for css_class, size_pt, em, padding_mm in _SIZES[1 if orientation else 0 :]:
            needed = chars * em * size_pt * _PT_MM + len(word_lengths) * padding_mm
            if needed <= 0.95 * width_mm:
                return [c for c in (css_class,) if c] + orientation
    return [_FIT_CLASS, LANDSCAPE_CLASS]


def layout_table(table) -> list[str]:
    """Tag a table (a BeautifulSoup element) for the report stylesheet: ``report-text`` on
    the cells of columns that are not numbers (left-aligned), ``report-keep`` on a table of
    at most ``SMALL_TABLE_ROWS`` rows, and ``table_classes``, which are returned."""
    columns: dict[int, list] = {}  # column -> [longest word, any text?, header cells]
    occupied: set[tuple[int, int]] = set()
    rows = table.find_all("tr")
    for r, row in enumerate(rows):
        c = 0
        for cell in row.find_all(["th", "td"], recursive=False):
            while (r, c) in occupied:
                c += 1
            colspan, rowspan = _span(cell, "colspan"), _span(cell, "rowspan")
            occupied.update((r + dr, c + dc) for dr in range(rowspan) for dc in range(colspan))
            column = columns.setdefault(c, [0, False, []])
            if colspan == 1:
                text = cell.get_text(" ").strip()
                column[0] = max(column[0], max(map(len, text.split()), default=0))
                if cell.name == "td":
                    column[1] |= not (text.lower() in _MISSING or _NUMBER.match(text))
                column[2].append(cell)
            c += colspan
    for _, is_text, cells in columns.values():
        if is_text:
            for cell in cells:
                cell["class"] = [*cell.get("class", []), "report-text"]
    extra = table_classes([columns[c][0] for c in sorted(columns)])
    keep = [KEEP_CLASS] if len(rows) <= SMALL_TABLE_ROWS else []
    if extra or keep:
        table["class"] = [*table.get("class", []), *extra, *keep]
    return extra


def _span(cell, attribute: str) -> int:
    try:
        return max(1, int(cell.get(attribute, 1)))
    except ValueError:
        return 1


# ---- PDF --------------------------------------------------------------------------------------------


def write_pdf(html: str, *, title: str | None = None) -> bytes:
    """Lay ``html`` (from ``render_document``) out as an A4 PDF. WeasyPrint loads nothing but
    ``data:`` URLs and the template's own assets (``report_url_fetcher``): no file of the
    machine, no network, and no attached files (``<link rel=attachment>``, ``<a
    rel=attachment>``), whatever the document says. WeasyPrint's font configuration is made
    once per process."""
    import weasyprint

    with _pdf_lock:  # one layout at a time: the font configuration is shared
        document = weasyprint.HTML(
            string=without_missing_glyphs(html), base_url=None, url_fetcher=report_url_fetcher()
        ).render(font_config=_font_config())
        document.metadata.attachments = []  # even data: files are not embedded
        for page in document.pages:
            page.links = [link for link in page.links if link[0] != "attachment"]
        if title:
            document.metadata.title = title
        return document.write_pdf()


_pdf_lock = threading.Lock()


def without_missing_glyphs(text: str) -> str:
    """``text`` without the characters no installed font can draw (emoji, mostly, on a server
    with only text fonts). WeasyPrint would draw an empty box for each, and the PDF would then
    embed that font with a custom encoding most text extractors cannot read (pypdf and
    pdfminer lose every word set in it). Without fontconfig's fc-list nothing is removed."""
    covered = _covered_codepoints()
    if covered is None:
        return text
    missing = {ord(c): None for c in set(text) if ord(c) > 0x7E and not covered(ord(c))}
    return text.translate(missing) if missing else text


@functools.cache
def _covered_codepoints() -> Callable[[int], bool] | None:
    """Whether some installed font has a glyph for a code point (from ``fc-list``)."""
    try:
        listing = subprocess.run(["fc-list", "--format", "%{charset}\\n"], capture_output=True,
                                 text=True, timeout=30, check=True).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("fc-list unavailable (%s): characters without a font are kept", exc)
        return None
    starts: list[int] = []
    ends: list[int] = []
    for span in sorted({tuple(int(x, 16) for x in r.split("-")) for r in listing.split()}):
        lo, hi = span[0], span[-1]
        if starts and lo <= ends[-1] + 1:
            ends[-1] = max(ends[-1], hi)
        else:
            starts.append(lo)
            ends.append(hi)

    def covered(code: int) -> bool:
        i = bisect.bisect_right(starts, code) - 1
        return i >= 0 and code <= ends[i]

    return covered


@functools.cache
def _font_config() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


ASSET_SUFFIXES = frozenset({".css", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".woff", ".woff2",
                            ".ttf", ".otf"})  # fmt: skip


def allowed_url(url: str) -> bool:
    """Whether a report may load ``url``: a ``data:`` URL, or a ``file:`` URL of an asset
    (stylesheet, image, font) under ``TEMPLATES_DIR``. Nothing else: no other file, no
    network, no relative path."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "data":
        return True
    if scheme != "file" or parts.netloc not in ("", "localhost"):
        return False
    path = Path(unquote(parts.path)).resolve()
    return path.is_relative_to(TEMPLATES_DIR.resolve()) and path.suffix.lower() in ASSET_SUFFIXES


def report_url_fetcher() -> Any:
    """WeasyPrint's URL fetcher for every report PDF: ``allowed_url`` or a refusal (WeasyPrint
    logs it and leaves the resource out). Its class is made on first use, so that importing
    this module does not import WeasyPrint."""
    return _fetcher_class()()


@functools.cache
def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher

    class ReportURLFetcher(URLFetcher):
        def __init__(self) -> None:
            super().__init__(timeout=10, allowed_protocols={"data", "file"},
                             allow_redirects=False)  # fmt: skip

        def fetch(self, url, headers=None):
            if not allowed_url(url):
                raise ValueError(f"not loading {url[:100]}: reports load only data: URLs")
            return super().fetch(url, headers)

    return ReportURLFetcher
