"""Markdown documents as report PDFs: reporting.markdown_pdf laid out by WeasyPrint for real,
checked with pypdf (text) and pdfminer (positions); and POST /v1/pdf through the API."""

from __future__ import annotations

import base64
import datetime as dt
import io
from pathlib import Path

import pypdf
import pytest
from bs4 import BeautifulSoup
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTTextContainer

from reporting import document
from reporting.document import ReportMeta
from reporting.errors import InvalidInput
from reporting.markdown_pdf import (
    markdown_body,
    render_markdown_html,
    render_markdown_pdf,
    render_markdown_pdf_within,
)
from service.routers.pdf import pdf_filename
from tests.conftest import MASTER_KEY
from tests.pdf_checks import (
    MM,
    TINY_PNG,
    contents,
    embedded_images,
    first_page_with_line,
    headings_left_at_page_bottom,
    missing_cell_words,
)

GENERATED = dt.datetime(2026, 10, 1, 9, 30, tzinfo=dt.UTC)
META = ReportMeta(title="Quarterly review", product="Home espresso", period="Q3 2026",
                  generated_at=GENERATED)  # fmt: skip
LONG_ROWS = [(f"Row {i:03d}", f"{1000 + i * 17:,}", f"r/sub{i % 7}") for i in range(90)]
WIDE_HEADER = [f"col{i:02d}" for i in range(22)]
WIDE_ROW = [f"v{i:02d}x{i * 37 % 100:02d}" for i in range(22)]
DOC = "\n".join([
    "# Quarterly review",
    "",
    "Opening paragraph with **bold**, a [link](https://example.com/page) and `inline code`.",
    "",
    "## Summary",
    "",
    "| Brand | Mentions | Share |",
    "|---|---:|---:|",
    "| Brevio | 1,878 | 28.7% |",
    "| Caffora | 1,675 | 25.6% |",
    "",
    "## Method",
    "",
    "```python",
    "def share(mentions):",
    "    return mentions / total",
    "```",
    "",
    "## Every week",
    "",
    "| Week | Mentions | Subreddit |",
    "|---|---:|---|",
    *[f"| {a} | {b} | {c} |" for a, b, c in LONG_ROWS],
    "",
    "## Wide",
    "",
    "| " + " | ".join(WIDE_HEADER) + " |",
    "|" + "---|" * len(WIDE_HEADER),
    "| " + " | ".join(WIDE_ROW) + " |",
    "",
    "## Closing",
    "",
    "Back on a portrait page.",
])  # fmt: skip


@pytest.fixture(scope="module")
def rendered() -> tuple[str, bytes]:
    return render_markdown_html(DOC, META), render_markdown_pdf(DOC, META)


@pytest.fixture(scope="module")
def pdf(rendered: tuple[str, bytes]) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(rendered[1]))


@pytest.fixture(scope="module")
def text(pdf: pypdf.PdfReader) -> str:
    return "\n".join(page.extract_text() for page in pdf.pages)


# ---- The document ---------------------------------------------------------------------------


def test_title_page(pdf: pypdf.PdfReader):
    assert pdf.metadata.title == "Quarterly review"
    lines = pdf.pages[0].extract_text().splitlines()
    assert lines[0] == "Quarterly review"
    for line in ("PRODUCT Home espresso", "PERIOD Q3 2026", "GENERATED 1 Oct 2026 09:30 UTC"):
        assert line in lines


def test_contents_give_the_page_each_section_starts_on(pdf: pypdf.PdfReader):
    toc = contents(pdf)
    assert [title for title, _ in toc] == ["Summary", "Method", "Every week", "Wide", "Closing"]
    for title, page in toc:
        assert page == first_page_with_line(pdf, title), title


def test_page_numbers_in_the_footer(pdf: pypdf.PdfReader):
    assert 4 <= len(pdf.pages) <= 8
    assert "Page 1 of" not in pdf.pages[0].extract_text()
    for number, page in enumerate(pdf.pages[1:], 2):
        assert f"Page {number} of {len(pdf.pages)}" in page.extract_text()


def test_tables_keep_every_cell(rendered: tuple[str, bytes], text: str):
    assert not missing_cell_words(rendered[0], text)
    for week, mentions, _ in LONG_ROWS:
        assert f"{week} {mentions}" in text  # a long table goes on over several pages
    assert text.count("Week Mentions Subreddit") >= 2  # with its header row on each


def test_a_wide_table_gets_a_landscape_page_inside_the_margins(
    pdf: pypdf.PdfReader, rendered: tuple[str, bytes]
):
    wide = [p for p in pdf.pages if p.mediabox.width > p.mediabox.height]
    assert len(wide) == 1 and "Wide" in wide[0].extract_text().splitlines()  # heading came too
    assert all(value in wide[0].extract_text() for value in WIDE_ROW)
    assert "Back on a portrait page." in pdf.pages[-1].extract_text()
    assert pdf.pages[-1].mediabox.width < pdf.pages[-1].mediabox.height
    for page in extract_pages(io.BytesIO(rendered[1])):
        glyphs = [c for box in page if isinstance(box, LTTextContainer) for line in box
                  for c in line if isinstance(c, LTChar)]  # fmt: skip
        assert max(c.x1 for c in glyphs) <= page.width - 18 * MM + 1


def test_fenced_code_is_shown_as_text(text: str):
    assert "def share(mentions):" in text and "return mentions / total" in text


def test_headings_are_never_the_last_line_of_a_page(rendered: tuple[str, bytes]):
    assert not headings_left_at_page_bottom(rendered)


def test_the_heading_check_finds_a_stranded_heading(monkeypatch: pytest.MonkeyPatch):
    """The check above is not vacuous: without the stylesheet's `break-after: avoid` on
    headings, this document leaves some of its headings at the bottom of a page."""
    sentence = "Share of voice moved as the recall news spread through the communities. "
    parts = ["# Stress test"]
    for i in range(1, 41):
        parts.append(f"## Section {i}")
        parts += [sentence * (1 + (i * 5 + j * 3) % 9) for j in range(1 + (i * 7) % 4)]
    markdown = "\n\n".join(parts)
    meta = ReportMeta(title="Stress test")
    html = render_markdown_html(markdown, meta)
    assert not headings_left_at_page_bottom((html, document.write_pdf(html)))
    css = document.report_css()
    monkeypatch.setattr(document, "report_css", lambda: css + "h2 { break-after: auto; }")
    html = render_markdown_html(markdown, meta)
    assert headings_left_at_page_bottom((html, document.write_pdf(html)))


# ---- Untrusted input ----------------------------------------------------------------------------


def test_raw_html_is_shown_as_text_never_run():
    markdown = (
        '# T\n\n<script>alert("x")</script>\n\nInline <img src=x onerror=alert(1)> and '
        '<a href="javascript:alert(1)">html link</a>.\n\n[md link](javascript:alert(1))\n\n'
        '<link rel="attachment" href="file:///etc/passwd">\n'
    )
    html = render_markdown_html(markdown, ReportMeta(title="T"))
    body = BeautifulSoup(html, "html.parser").main
    assert body.find("script") is None and body.find("link") is None
    assert body.find("img") is None
    assert [a["href"] for a in body.find_all("a")] == ["#harmful-link"]
    text = "\n".join(
        p.extract_text()
        for p in pypdf.PdfReader(
            io.BytesIO(render_markdown_pdf(markdown, ReportMeta(title="T")))
        ).pages
    )
    assert '<script>alert("x")</script>' in text  # visible, as text


def test_remote_and_local_images_are_left_out_with_a_note(tmp_path: Path):
    local = tmp_path / "logo.png"
    local.write_bytes(TINY_PNG)
    data = "data:image/png;base64," + base64.b64encode(TINY_PNG).decode()
    markdown = (
        f"# Images\n\n![Remote chart](https://example.com/chart.png)\n\n"
        f"![Local logo]({local})\n\n![Local uri]({local.as_uri()})\n\n![Inline dot]({data})\n"
    )
    html = render_markdown_html(markdown, ReportMeta(title="Images"))
    assert "example.com" not in html and str(local) not in html
    pdf = pypdf.PdfReader(io.BytesIO(render_markdown_pdf(markdown, ReportMeta(title="Images"))))
    text = " ".join(" ".join(p.extract_text() for p in pdf.pages).split())
    assert "[Not included: \u201cRemote chart\u201d (remote images are not fetched)]" in text
    assert "[Not included: \u201cLocal logo\u201d (only data: URI images are embedded)]" in text
    assert "\u201cLocal uri\u201d" in text
    assert len(embedded_images(pdf)) == 1  # the data: URI only
    assert "Inline dot" in text  # a lone image with alt text is a figure with its caption


def test_without_a_title_the_first_h1_titles_the_page_and_the_pdf():
    pdf = pypdf.PdfReader(
        io.BytesIO(render_markdown_pdf("# Quarterly memo\n\nText.", ReportMeta()))
    )
    assert pdf.metadata.title == "Quarterly memo"
    assert pdf.pages[0].extract_text().splitlines()[0] == "Quarterly memo"
    untitled = pypdf.PdfReader(io.BytesIO(render_markdown_pdf("Just text.", ReportMeta())))
    assert untitled.metadata.title == "Document"


def test_headings_get_unique_ids_that_links_can_use():
    body = markdown_body("## Same\n\n## Same\n\n[back](#same)\n")
    page = BeautifulSoup(body, "html.parser")
    assert [h["id"] for h in page.find_all("h2")] == ["same", "same-2"]
    assert page.a["href"] == "#same"


def test_render_is_stopped_at_its_deadline():
    assert render_markdown_pdf_within("# Fine\n\ntext", ReportMeta(title="Fine")).startswith(
        b"%PDF"
    )
    with pytest.raises(InvalidInput) as raised:
        render_markdown_pdf_within("# Slow\n\n" + "text\n\n" * 5000, ReportMeta(title="S"), 0.01)
    assert raised.value.errors[0]["loc"] == ["body", "markdown"]


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Quarterly review: Q3/2026", "quarterly-review-q3-2026.pdf"),
        ('Caf\u00e9 "r\u00e9sum\u00e9" \r\n../../etc', "cafe-resume-etc.pdf"),
        ("\u65e5\u672c\u8a9e", "document.pdf"),
        ("x" * 300, "x" * 80 + ".pdf"),
    ],
)
def test_pdf_filename_is_safe(title: str, name: str):
    assert pdf_filename(title) == name


# ---- POST /v1/pdf -------------------------------------------------------------------------------


def test_api_renders_a_pdf(client, auth):
    body = {"markdown": DOC, "title": "Quarterly review: Q3", "product": "Home espresso",
            "period": "Q3 2026"}  # fmt: skip
    response = client.post("/v1/pdf", headers=auth, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="quarterly-review-q3.pdf"'
    pdf = pypdf.PdfReader(io.BytesIO(response.content))
    first = pdf.pages[0].extract_text().splitlines()
    assert first[0] == "Quarterly review: Q3" and "PRODUCT Home espresso" in first


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "T"}, "markdown"),
        ({"markdown": "", "title": "T"}, "markdown"),
        ({"markdown": "  \n ", "title": "T"}, "markdown"),
        ({"markdown": "x" * 2_000_001, "title": "T"}, "markdown"),
        ({"markdown": "# Hi"}, "title"),
        ({"markdown": "# Hi", "title": "   "}, "title"),
        ({"markdown": "# Hi", "title": "T" * 201}, "title"),
        ({"markdown": "# Hi", "title": "T", "period": 7}, "period"),
        ({"markdown": "# Hi", "title": "T", "extra": 1}, "extra"),
    ],
)
def test_api_bad_input_is_422_naming_the_field(client, auth, body: dict, field: str):
    response = client.post("/v1/pdf", headers=auth, json=body)
    assert response.status_code == 422, response.text
    assert [e["loc"][-1] for e in response.json()["detail"]] == [field]


def test_api_is_for_writers_only(client):
    key = client.post("/v1/admin/api-keys", headers={"X-Master-Key": MASTER_KEY},
                      json={"name": "reader", "role": "restricted"})  # fmt: skip
    headers = {"Authorization": f"Bearer {key.json()['key']}"}
    body = {"markdown": "# Hi", "title": "T"}
    assert client.post("/v1/pdf", headers=headers, json=body).status_code == 403
    assert client.post("/v1/pdf", json=body).status_code == 401


def test_characters_no_font_can_draw_are_left_out_and_the_text_stays_readable():
    """Reddit text is full of emoji; this machine has text fonts only. Left in, each would be
    an empty box and its font would be embedded in a way pypdf and pdfminer cannot read."""
    assert document.without_missing_glyphs("Love it 👌🏻 café ✓") == "Love it  café ✓"
    markdown = "# Emoji\n\n" + "\n\n".join(f"Great machine 👌 number {n}, café" for n in range(30))
    pdf = pypdf.PdfReader(io.BytesIO(render_markdown_pdf(markdown, ReportMeta(title="Emoji"))))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "\x00" not in text
    assert all(f"Great machine number {n}, café" in " ".join(text.split()) for n in range(30))
