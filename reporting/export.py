"""nbconvert exporters that turn an executed notebook into a client-ready report.

- ``ReportHTMLExporter`` (``--to reporthtml``): one self-contained HTML page, no code, no
  prompts, no JavaScript, no stderr noise: a title page and table of contents, then the
  notebook's markdown and outputs (``reporting.document``, styled by ``templates/report.css``).
- ``ReportPDFExporter`` (``--to reportpdf``): the same HTML laid out by WeasyPrint on A4.
- ``export_report(nb, meta=...)``: both at once for the worker, rendering the HTML only once.
- ``export_combined(notebooks, meta, intro_markdown)``: several notebooks as one report.

What the title page says is a ``ReportMeta``: fields the caller gives win, the rest come from
the notebook (``metadata.reportbook`` title/product/period, else the first H1 and papermill's
``start``/``end`` parameters). Both exporters are registered as nbconvert entry points (see
pyproject), so ``jupyter nbconvert --to reportpdf report.ipynb`` works and JupyterLab lists
them under "Save and Export Notebook As".
"""

from __future__ import annotations

import ast
import functools
import re
import threading
from html import unescape
from typing import Any

import nbformat
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Int, default
from traitlets.config import Config

from reporting.document import (
    LANDSCAPE_CLASS,
    TEMPLATES_DIR,
    ReportMeta,
    demote_headings,
    html_text,
    layout_table,
    period_label,
    render_document,
    table_classes,
    write_pdf,
)
from reporting.markdown_pdf import markdown_body
from reporting.sanitize import sanitize_body

__all__ = ["ReportHTMLExporter", "ReportMeta", "ReportPDFExporter", "export_combined",
           "export_report", "layout_table", "notebook_meta", "period_label", "report_title",
           "table_classes"]  # fmt: skip

TEMPLATE_NAME = "report"
LANDSCAPE_TAG = "report-landscape"  # a cell tag: the cell goes on a landscape page

# Output mimetypes that only mean something to a live browser/kernel: never in a report.
INTERACTIVE_MIMETYPES = ("application/javascript", "application/vnd.jupyter.widget-view+json")

_MD_H1 = re.compile(r"^ {0,3}#[ \t]+(?P<text>.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_MD_SETEXT_H1 = re.compile(r"^(?P<text>[^\n]*\S[^\n]*)\n {0,3}=+[ \t]*$", re.MULTILINE)
_HTML_H1 = re.compile(r"<h1\b[^>]*>(?P<text>.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"[*_`]+")


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


def notebook_meta(nb: nbformat.NotebookNode, name: str | None = None) -> ReportMeta:
    """What the notebook itself says for its title page: ``report_title``; product and
    period from ``metadata.reportbook.product``/``period``, else the period from its
    ``start``/``end`` parameters (injected by papermill, else the defaults of the cell tagged
    ``parameters``). No generation time (the caller's now)."""
    own = nb.metadata.get("reportbook", {})
    parameters = {
        **_default_parameters(nb),
        **(nb.metadata.get("papermill", {}).get("parameters") or {}),
    }
    product, period = own.get("product"), own.get("period")
    if not isinstance(period, str):
        period = period_label(parameters.get("start"), parameters.get("end"))
    return ReportMeta(
        title=report_title(nb, name),
        product=product if isinstance(product, str) else None,
        period=period,
    )


def _default_parameters(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """The literal values the cell tagged ``parameters`` assigns (``start = "2026-07-01"``)."""
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    try:
        tree = ast.parse(cell.source) if cell is not None and cell.cell_type == "code" else None
    except SyntaxError:
        return {}
    values = {}
    for node in tree.body if tree else []:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            try:
                if isinstance(target, ast.Name):
                    values[target.id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return values


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
                    landscape |= LANDSCAPE_CLASS in layout_table(table)
                output.data["text/html"] = str(soup)
                return landscape
        return False


def _add_tag(cell: nbformat.NotebookNode, tag: str) -> None:
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


# ---- Exporters -------------------------------------------------------------------------------


class ReportHTMLExporter(HTMLExporter):
    """A notebook as a standalone, print-ready HTML report.

    Code inputs and In/Out prompts are excluded, stderr and JavaScript are dropped, images
    are embedded, and the report stylesheet is inlined: the page needs nothing but itself.
    It opens with a title page and a table of contents (``reporting.document``); what the
    title page says is ``resources["reportbook"]["meta"]`` (a ``ReportMeta``) if given, with
    its gaps filled by ``notebook_meta``.
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

    def from_notebook_node(  # type: ignore[override]  # nbconvert's stub says NotebookNode
        self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        body, resources = self.to_body(nb, resources, **kw)
        meta = resources["reportbook"]["meta"]
        return render_document(body, meta, lang=resources.get("language_code") or "en"), resources

    def to_body(
        self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        """The notebook's markdown and outputs as an HTML fragment, without the page around
        them, and the resources, holding the completed ``ReportMeta`` in
        ``resources["reportbook"]["meta"]``."""
        resources = dict(resources or {})
        name = (resources.get("metadata") or {}).get("name")
        given = (resources.get("reportbook") or {}).get("meta") or ReportMeta()
        resources["reportbook"] = {"meta": given.complete(notebook_meta(nb, name))}
        body, resources = super().from_notebook_node(nb, resources, **kw)
        # Nothing a cell displayed may load, run or attach anything (reporting/sanitize.py).
        return sanitize_body(body), resources


class ReportPDFExporter(ReportHTMLExporter):
    """A notebook as an A4 PDF report: ``ReportHTMLExporter``'s page laid out by WeasyPrint.

    One instance can render many reports: WeasyPrint's font configuration is created once
    and reused. Only ``data:`` URLs and the template's own assets are loaded
    (``reporting.document.write_pdf``), so report content can neither pull a file of the
    machine into the PDF (images, stylesheets, ``rel=attachment`` links) nor reach the
    network. Images of the notebook's markdown cells are embedded as ``data:`` URLs by
    nbconvert (``embed_images``) when the HTML is made.
    """

    export_from_notebook = "Report (PDF)"
    output_mimetype = "application/pdf"

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
        """Lay ``html`` (from ``to_html``) out as a PDF, titled as the title page is."""
        meta = ((resources or {}).get("reportbook") or {}).get("meta")
        return write_pdf(html, title=meta.title if meta else None)


# ---- The worker's entry points ------------------------------------------------------------------

_shared_lock = threading.Lock()


@functools.cache
def _shared_exporter() -> ReportPDFExporter:
    return ReportPDFExporter()


def export_report(
    nb: nbformat.NotebookNode,
    resources: dict[str, Any] | None = None,
    *,
    meta: ReportMeta | None = None,
) -> tuple[str, bytes]:
    """Render an executed notebook as a report: ``(html, pdf)``, the HTML rendered once.

    ``meta`` says what the title page shows; its missing fields come from the notebook
    (``notebook_meta``) and ``generated_at`` defaults to now. Uses one exporter per process,
    so a long-lived worker pays nbconvert's template loading and WeasyPrint's font setup
    once. ``resources`` may carry ``{"metadata": {"name": ..., "path": ...}}``: the name is
    the last-resort title, the path the folder relative links resolve against (without it,
    no files are loaded).
    """
    resources = dict(resources or {})
    if meta is not None:
        resources["reportbook"] = {"meta": meta}
    with _shared_lock:  # nbconvert exporters keep per-call state on the instance
        exporter = _shared_exporter()
        html, resources = exporter.to_html(nb, resources)
    return html, exporter.render_pdf(html, resources)


def export_combined(
    notebooks: list[nbformat.NotebookNode],
    meta: ReportMeta,
    intro_markdown: str | None = None,
    subsections_in_contents: bool = True,
) -> tuple[str, bytes]:
    """Several executed notebooks as one report: ``(html, pdf)`` with one title page and one
    table of contents.

    ``intro_markdown`` (rendered like ``reporting.markdown_pdf``: raw HTML escaped, images
    by ``data:`` URI only) opens the body. Then each notebook is a part starting on a new
    page, its headings one level down: its H1 becomes a section of the contents and its H2s
    the subsections under it (a notebook without an H1 gets its title as the section
    heading). The contents list H2 and H3 (H2 only without ``subsections_in_contents``, for
    many parts with the same subsections). Only ``data:`` URLs are loaded. The title is
    ``meta.title``, else the first notebook's.
    """
    parts = []
    if intro_markdown and intro_markdown.strip():
        parts.append(f'<section class="report-intro">\n{markdown_body(intro_markdown)}</section>')
    titles = []
    with _shared_lock:
        exporter = _shared_exporter()
        for number, nb in enumerate(notebooks, 1):
            body, resources = exporter.to_body(nb, {"metadata": {"name": f"Part {number}"}})
            title = resources["reportbook"]["meta"].title
            titles.append(title)
            if not _H1_TAG.search(body):
                body = f"<h1>{html_text(title)}</h1>\n{body}"
            parts.append(f'<section class="report-part">\n{demote_headings(body)}</section>')
    meta = meta.complete(ReportMeta(title=titles[0] if titles else None))
    levels = (2, 3) if subsections_in_contents else (2,)
    html = render_document("\n".join(parts), meta, toc_levels=levels)
    return html, write_pdf(html, title=meta.title)


_H1_TAG = re.compile(r"<h1[\s>]", re.IGNORECASE)
