"""nbconvert exporters that turn an executed notebook into a client-ready report.

- ``ReportHTMLExporter`` (``--to reporthtml``): one self-contained HTML page, no code, no
  prompts, no JavaScript, no stderr noise, styled by ``templates/report.css``.
- ``ReportPDFExporter`` (``--to reportpdf``): the same HTML laid out by WeasyPrint on A4.
- ``export_report(nb)``: both at once for the worker, rendering the HTML only once.

Both exporters are registered as nbconvert entry points (see pyproject), so
``jupyter nbconvert --to reportpdf report.ipynb`` works and JupyterLab lists them under
"Save and Export Notebook As".
"""

from __future__ import annotations

import functools
import re
import threading
from html import unescape
from importlib import resources as package_resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import nbformat
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Int, default
from traitlets.config import Config

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "report"

# Output mimetypes that only mean something to a live browser/kernel: never in a report.
INTERACTIVE_MIMETYPES = ("application/javascript", "application/vnd.jupyter.widget-view+json")

_MD_H1 = re.compile(r"^ {0,3}#[ \t]+(?P<text>.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_MD_SETEXT_H1 = re.compile(r"^(?P<text>[^\n]*\S[^\n]*)\n {0,3}=+[ \t]*$", re.MULTILINE)
_HTML_H1 = re.compile(r"<h1\b[^>]*>(?P<text>.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"[*_`]+")
_CSS_UNSAFE = re.compile(r'["\\<>\n\r\f]')


@functools.cache
def report_css() -> str:
    """The report stylesheet, read once from the package data."""
    return (package_resources.files("reporting") / "templates" / "report.css").read_text("utf-8")


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string, safe inside a ``<style>`` element."""
    return '"' + _CSS_UNSAFE.sub(lambda m: f"\\{ord(m.group()):X} ", text) + '"'


# ---- Title -------------------------------------------------------------------------------


def report_title(nb: nbformat.NotebookNode, name: str | None = None) -> str:
    """The title of a report: ``metadata.reportbook.title``, else the first H1 of the
    notebook (markdown cells and markdown/HTML outputs, in document order), else ``name``."""
    title = nb.metadata.get("reportbook", {}).get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = _markdown_h1(cell.source)
        elif cell.cell_type == "code":
            found = next(filter(None, map(_output_h1, cell.get("outputs", []))), None)
        else:
            found = None
        if found:
            return found
    return name or "Report"


def _markdown_h1(source: str) -> str | None:
    source = re.sub(r"^(```|~~~).*?^\1", "", source, flags=re.MULTILINE | re.DOTALL)
    matches = [m for m in (_MD_H1.search(source), _MD_SETEXT_H1.search(source)) if m]
    html = _HTML_H1.search(source)
    if html:
        matches.append(html)
    if not matches:
        return None
    first = min(matches, key=lambda m: m.start())
    text = first.group("text")
    if first.re is _HTML_H1:
        return _plain(unescape(_TAG.sub("", text)))
    return _plain(_MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", _TAG.sub("", text))))


def _output_h1(output: nbformat.NotebookNode) -> str | None:
    data = output.get("data", {})
    if "text/markdown" in data:
        return _markdown_h1(_text(data["text/markdown"]))
    if "text/html" in data:
        match = _HTML_H1.search(_text(data["text/html"]))
        return _plain(unescape(_TAG.sub("", match.group("text")))) if match else None
    return None


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _plain(text: str) -> str | None:
    return " ".join(text.split()) or None


# ---- Preprocessing -------------------------------------------------------------------------


class ReportOutputsPreprocessor(Preprocessor):
    """Makes cell outputs fit for a printed report.

    Drops stderr streams (warnings, progress bars, logging) and interactive-only
    mimetypes, removes ``<script>`` from HTML outputs, gives images an alt text, and lays
    out HTML tables (see ``layout_table``): text columns left-aligned, and tables too wide
    for the page set smaller and, if need be, on a landscape page, so none is cut off.
    """

    drop_stderr = Bool(True, help="Leave stderr stream outputs out of the report.").tag(config=True)
    landscape_caption_chars = Int(
        400, help="A markdown cell this short goes on the landscape page of the table after it."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        # A landscape table takes a short markdown cell just before it (its heading) along.
        shown = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
        for previous, cell in zip(shown, shown[1:], strict=False):
            if (
                LANDSCAPE_TAG in cell.metadata.get("tags", [])
                and previous.cell_type == "markdown"
                and len(previous.source) <= self.landscape_caption_chars
            ):
                _add_tag(previous, LANDSCAPE_TAG)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        outputs = []
        for output in cell.get("outputs", []):
            if self.drop_stderr and output.output_type == "stream" and output.name == "stderr":
                continue
            if "data" in output:
                if self._clean_data(output):
                    _add_tag(cell, LANDSCAPE_TAG)
                if not output.data:
                    continue
            outputs.append(output)
        cell.outputs = outputs
        return cell, resources

    def _clean_data(self, output: nbformat.NotebookNode) -> bool:
        """Clean one output's data in place; True if it holds a table that needs landscape."""
        for mimetype in INTERACTIVE_MIMETYPES:
            output.data.pop(mimetype, None)
        for mimetype in ("image/png", "image/jpeg", "image/svg+xml"):
            if mimetype in output.data:
                output.setdefault("metadata", {}).setdefault(mimetype, {}).setdefault(
                    "alt", "Figure"
                )
        html = output.data.get("text/html")
        if html is not None:
            html = _text(html)
            if "<table" in html or "<script" in html:
                soup = BeautifulSoup(html, features="html.parser")
                for script in soup.find_all("script"):
                    script.decompose()
                landscape = False
                for table in soup.find_all("table"):
                    landscape |= _LANDSCAPE_CLASS in layout_table(table)
                output.data["text/html"] = str(soup)
                return landscape
        return False


# ---- Tables ---------------------------------------------------------------------------------

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
_LANDSCAPE_CLASS = "report-landscape"
LANDSCAPE_TAG = "report-landscape"  # a cell tag: the cell goes on a landscape page
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
    for width_mm, orientation in ((PORTRAIT_MM, []), (LANDSCAPE_MM, [_LANDSCAPE_CLASS])):
        for css_class, size_pt, em, padding_mm in _SIZES[1 if orientation else 0 :]:
            needed = chars * em * size_pt * _PT_MM + len(word_lengths) * padding_mm
            if needed <= 0.95 * width_mm:
                return [c for c in (css_class,) if c] + orientation
    return [_FIT_CLASS, _LANDSCAPE_CLASS]


def layout_table(table) -> list[str]:
    """Tag a table (a BeautifulSoup element) for the report stylesheet: ``report-text`` on
    the cells of columns that are not numbers (left-aligned), and ``table_classes``, which
    are returned."""
    columns: dict[int, list] = {}  # column -> [longest word, any text?, header cells]
    occupied: set[tuple[int, int]] = set()
    for r, row in enumerate(table.find_all("tr")):
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
    if extra:
        table["class"] = [*table.get("class", []), *extra]
    return extra


def _add_tag(cell: nbformat.NotebookNode, tag: str) -> None:
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def _span(cell, attribute: str) -> int:
    try:
        return max(1, int(cell.get(attribute, 1)))
    except ValueError:
        return 1


# ---- Exporters -------------------------------------------------------------------------------


class ReportHTMLExporter(HTMLExporter):
    """A notebook as a standalone, print-ready HTML report.

    Code inputs and In/Out prompts are excluded, stderr and JavaScript are dropped, images
    are embedded, and the report stylesheet is inlined: the page needs nothing but itself.
    The ``<title>`` is ``metadata.reportbook.title``, else the first H1, else the notebook name.
    """

    export_from_notebook = "Report (HTML)"

    @default("template_name")
    def _template_name_default(self):
        return TEMPLATE_NAME

    @default("extra_template_basedirs")
    def _default_extra_template_basedirs(self):
        return [str(TEMPLATES_DIR), *super()._default_extra_template_basedirs()]

    @default("exclude_input")
    def _exclude_input_default(self):
        return True

    @default("exclude_input_prompt")
    def _exclude_input_prompt_default(self):
        return True

    @default("exclude_output_prompt")
    def _exclude_output_prompt_default(self):
        return True

    @default("exclude_anchor_links")
    def _exclude_anchor_links_default(self):
        return True

    @default("embed_images")
    def _embed_images_default(self):
        return True

    @property
    def default_config(self):
        config = super().default_config
        config.merge(
            Config(
                {
                    # Static formats only; JavaScript and widgets cannot be printed.
                    "NbConvertBase": {
                        "display_data_priority": [
                            "text/html",
                            "text/markdown",
                            "image/svg+xml",
                            "image/png",
                            "image/jpeg",
                            "text/latex",
                            "text/plain",
                        ]
                    },
                    # Its pygments CSS is only used by templates that show code.
                    "CSSHTMLHeaderPreprocessor": {"enabled": False},
                }
            )
        )
        return config

    def _init_preprocessors(self):
        super()._init_preprocessors()
        self.register_preprocessor(ReportOutputsPreprocessor(parent=self), enabled=True)

    def default_filters(self):
        yield from super().default_filters()
        yield ("css_string", css_string)

    def from_notebook_node(  # type: ignore[override]  # nbconvert's stub says NotebookNode
        self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        resources = dict(resources or {})
        name = (resources.get("metadata") or {}).get("name")
        resources["reportbook"] = {"title": report_title(nb, name), "css": report_css()}
        html, resources = super().from_notebook_node(nb, resources, **kw)
        if "<script" in html:  # raw HTML in a markdown cell; outputs are cleaned earlier
            soup = BeautifulSoup(html, features="html.parser")
            for script in soup.find_all("script"):
                script.decompose()
            html = str(soup)
        return html, resources


class ReportPDFExporter(ReportHTMLExporter):
    """A notebook as an A4 PDF report: ``ReportHTMLExporter``'s page laid out by WeasyPrint.

    One instance can render many reports: WeasyPrint's font configuration is created once
    and reused. Only ``data:`` URLs and files under the notebook's folder are loaded (http(s)
    too with ``allow_remote_resources``), so report content can neither pull arbitrary files
    into the PDF (images, ``rel=attachment`` links) nor stall on the network.
    """

    export_from_notebook = "Report (PDF)"
    output_mimetype = "application/pdf"

    allow_remote_resources = Bool(
        False, help="Let the PDF renderer fetch http(s) URLs referenced by the report."
    ).tag(config=True)

    @default("file_extension")
    def _file_extension_default(self):
        return ".pdf"

    @default("template_extension")
    def _template_extension_default(self):
        return ".html.j2"

    def from_notebook_node(  # type: ignore[override]
        self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[bytes, dict[str, Any]]:
        html, resources = self.to_html(nb, resources, **kw)
        pdf = self.render_pdf(html, resources)
        resources["output_extension"] = ".pdf"
        return pdf, resources

    def to_html(
        self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        """The report's HTML, exactly as ``ReportHTMLExporter`` makes it."""
        return super().from_notebook_node(nb, resources, **kw)

    def render_pdf(self, html: str, resources: dict[str, Any] | None = None) -> bytes:
        """Lay ``html`` (from ``to_html``) out as a PDF. ``resources["metadata"]["path"]``,
        if given, is the folder relative links resolve against and the only one files may
        be loaded from; the PDF's title is ``resources["reportbook"]["title"]``."""
        import weasyprint

        resources = resources or {}
        path = (resources.get("metadata") or {}).get("path")
        folder = Path(path).resolve() if path else None
        document = weasyprint.HTML(
            string=html,
            base_url=folder.as_uri() + "/" if folder else None,
            url_fetcher=_report_url_fetcher()(folder, self.allow_remote_resources),
        ).render(font_config=self._font_config)
        title = (resources.get("reportbook") or {}).get("title")
        if title:
            document.metadata.title = title
        return document.write_pdf()

    @functools.cached_property
    def _font_config(self):
        from weasyprint.text.fonts import FontConfiguration

        return FontConfiguration()


@functools.cache
def _report_url_fetcher() -> type:
    """WeasyPrint's URL fetcher, restricted (a class made on first use, so that importing
    this module does not import WeasyPrint)."""
    from weasyprint.urls import URLFetcher

    class ReportURLFetcher(URLFetcher):
        """Loads ``data:`` URLs, files under ``folder`` and, if allowed, http(s) URLs."""

        def __init__(self, folder: Path | None, allow_remote: bool):
            super().__init__(timeout=10)
            self.folder, self.allow_remote = folder, allow_remote

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme == "file":
                path = Path(unquote(parts.path)).resolve()
                if self.folder is None or not path.is_relative_to(self.folder):
                    raise ValueError(f"not loading {url}: outside the notebook's folder")
            elif scheme != "data" and not (self.allow_remote and scheme in ("http", "https")):
                raise ValueError(f"not loading {url}: {scheme} URLs are not allowed")
            return super().fetch(url, headers)

    return ReportURLFetcher


# ---- The worker's entry point -----------------------------------------------------------------

_shared_lock = threading.Lock()


@functools.cache
def _shared_exporter() -> ReportPDFExporter:
    return ReportPDFExporter()


def export_report(
    nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None
) -> tuple[str, bytes]:
    """Render an executed notebook as a report: ``(html, pdf)``, the HTML rendered once.

    Uses one exporter per process, so a long-lived worker pays nbconvert's template
    loading and WeasyPrint's font setup once. ``resources`` may carry
    ``{"metadata": {"name": ..., "path": ...}}``: the name is the last-resort title, the
    path the folder relative links resolve against (without it, no files are loaded).
    """
    with _shared_lock:  # nbconvert exporters keep per-call state on the instance
        exporter = _shared_exporter()
        html, resources = exporter.to_html(nb, resources)
        return html, exporter.render_pdf(html, resources)
