"""Checks on the PDFs the product makes, read with pypdf (text) and pdfminer (where lines sit
on the page); shared by the export, Markdown, notebook, n8n and end-to-end tests."""

from __future__ import annotations

import base64
import io
import re
import unicodedata

import pypdf
from bs4 import BeautifulSoup
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTTextContainer, LTTextLine

MM = 72 / 25.4  # PDF points per millimetre


def pdf_words(pdf: bytes) -> str:
    """Every page's text, whitespace (line breaks included) collapsed to single spaces."""
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text().split()) for page in pages)


_TOC_LINE = re.compile(r"^(?P<title>.+?)\s*\.{3,}[\s.]*(?P<page>\d+)$")


def contents(pdf: pypdf.PdfReader) -> list[tuple[str, int]]:
    """The table of contents as printed: (section, page number) per dotted line."""
    return [
        (match.group("title").strip(), int(match.group("page")))
        for page in pdf.pages
        for line in page.extract_text().splitlines()
        if (match := _TOC_LINE.match(line.strip()))
    ]


def first_page_with_line(pdf: pypdf.PdfReader, text: str) -> int | None:
    """The number of the first page after the contents with a line reading ``text``."""
    for number, page in enumerate(pdf.pages, 1):
        lines = [" ".join(line.split()) for line in page.extract_text().splitlines()]
        if text in lines and not any(_TOC_LINE.match(line) for line in lines):
            return number
    return None


def headings_left_at_page_bottom(report: tuple[str, bytes]) -> list[str]:
    """The headings of the body that end up as the last line of text above a page's footer,
    found from where pdfminer lays out each line."""
    html, pdf = report
    body = BeautifulSoup(html, "html.parser").select("main h1, main h2, main h3, main h4")
    headings = {" ".join(h.get_text().split()) for h in body}
    stranded = []
    for number, page in enumerate(extract_pages(io.BytesIO(pdf)), 1):
        lines = [line for box in page if isinstance(box, LTTextContainer) for line in box
                 if isinstance(line, LTTextLine)]  # fmt: skip
        inside = [ln for ln in lines if ln.y0 > 20 * MM and ln.y1 < page.height - 22 * MM]
        if any("....." in ln.get_text() for ln in inside):
            continue  # the contents, not the body
        if inside:
            last = " ".join(min(inside, key=lambda ln: ln.y0).get_text().split())
            if last in headings:
                stranded.append(f"page {number}: {last}")
    return stranded


def embedded_images(pdf: pypdf.PdfReader) -> list:
    """Every image in the PDF once (WeasyPrint gives all pages one resource dictionary, so
    each page lists every image)."""
    return list({image.name: image for page in pdf.pages for image in page.images}.values())


def missing_cell_words(html: str, text: str) -> list[str]:
    """Words of the body's table cells that the PDF's text lacks (a clipped table)."""
    words = " ".join(_visible(text).split())
    cells = BeautifulSoup(html, "html.parser").select("main td, main th")
    return [w for cell in cells for w in _visible(cell.get_text(" ")).split() if w not in words]


def _visible(text: str) -> str:
    """``text`` without format characters (word joiners and the like draw nothing)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
