"""Report export: a real papermill run of tests/notebooks/chart_table.ipynb, exported to HTML
and PDF, checked with pypdf (and poppler's pdftotext for word positions when installed)."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pypdf
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTTextContainer

from reporting.export import (
    ReportHTMLExporter,
    ReportPDFExporter,
    export_report,
    layout_table,
    report_title,
    table_classes,
)

FIXTURE = Path(__file__).parent / "notebooks" / "chart_table.ipynb"
TITLE = "Quarterly fixture report"
WIDE_TOTAL = re.compile(r"\b900\d{4}\b")  # the wide table's last column: 7 digits from 9000000
CODE_REMNANTS = ["SECRET_CODE_MARKER", "In [", "In\xa0[", "Out[", "import pandas", "plt.show"]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture notebook run by papermill with a real kernel and a title parameter."""
    out = tmp_path_factory.mktemp("export") / "chart_table.ipynb"
    papermill.execute_notebook(
        str(FIXTURE),
        str(out),
        parameters={"title": TITLE},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(out.parent),
    )
    return out


@pytest.fixture(scope="module")
def report(executed: Path) -> tuple[str, bytes]:
    return export_report(nbformat.read(executed, as_version=4))


@pytest.fixture(scope="module")
def pdf(report: tuple[str, bytes]) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(report[1]))


@pytest.fixture(scope="module")
def pdf_text(pdf: pypdf.PdfReader) -> str:
    return "\n".join(page.extract_text() for page in pdf.pages)


# ---- The fixture report -----------------------------------------------------------------------


def test_pdf_shows_title_headings_and_table_values(pdf_text: str):
    assert pdf_text.startswith(TITLE)
    for heading in ("Weekly mentions", "Share of voice", "Weekly detail"):
        assert heading in pdf_text
    assert "Prepared for ACME Corp" in pdf_text
    for brand in ("ACME", "Globex", "Initech", "Umbrella"):
        assert brand in pdf_text
    assert re.search(r"change vs\. first week %", pdf_text)


def test_pdf_has_no_code_prompts_or_stderr(pdf_text: str):
    for remnant in [*CODE_REMNANTS, "DEBUG_STDERR_NOISE", "injected-parameters"]:
        assert remnant not in pdf_text


def test_pdf_embeds_the_chart(pdf: pypdf.PdfReader):
    images = [image for page in pdf.pages for image in page.images]
    assert len(images) == 1
    width, height = images[0].image.size
    assert width >= 1000 and height >= 400  # the retina PNG, not a thumbnail


def test_pdf_metadata_and_page_numbers(pdf: pypdf.PdfReader, pdf_text: str):
    assert pdf.metadata.title == TITLE
    assert pdf.pages[0].mediabox.width == pytest.approx(595.28, abs=0.5)  # A4
    assert f"1 / {len(pdf.pages)}" in pdf_text


def test_wide_table_is_not_cut_off(report: tuple[str, bytes], pdf_text: str, tmp_path: Path):
    assert len(WIDE_TOTAL.findall(pdf_text)) == 4  # the rightmost column of each row
    html = BeautifulSoup(report[0], "html.parser")
    wide = [t for t in html.find_all("table") if "report-wide-1" in t.get("class", [])]
    assert len(wide) == 1 and "Total" in wide[0].get_text()
    # Where each rightmost value ends on its page, from the glyph boxes pdfminer lays out.
    right_edges = []
    for page in extract_pages(io.BytesIO(report[1])):
        for line in (ln for box in page if isinstance(box, LTTextContainer) for ln in box):
            if WIDE_TOTAL.search(line.get_text()):
                glyphs = [c for c in line if isinstance(c, LTChar)]
                right_edges.append((max(c.x1 for c in glyphs), page.width))
    assert len(right_edges) == 4
    for right, page_width in right_edges:
        assert right <= page_width - 18 / 25.4 * 72 + 1  # inside the right margin


def test_html_is_a_standalone_report(report: tuple[str, bytes]):
    html = report[0]
    assert f"<title>{TITLE}</title>" in html
    assert "<script" not in html
    assert "@page" in html and "table.dataframe" in html  # the report stylesheet, inlined
    assert "jp-Notebook" not in html  # not JupyterLab's CSS
    for remnant in [*CODE_REMNANTS, "DEBUG_STDERR_NOISE"]:
        assert remnant not in html
    assert 'src="data:image/png;base64,' in html


def test_export_leaves_the_notebook_alone(executed: Path):
    nb = nbformat.read(executed, as_version=4)
    before = nbformat.writes(nb)
    html, _ = export_report(nb)
    assert nbformat.writes(nb) == before  # stderr outputs etc. still there
    assert html == export_report(nbformat.read(executed, as_version=4))[0]  # deterministic


def test_cli_to_reportpdf(executed: Path, tmp_path: Path):
    jupyter = Path(sys.executable).parent / "jupyter"
    result = subprocess.run(
        [str(jupyter), "nbconvert", "--to", "reportpdf", str(executed), "--output-dir", tmp_path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    written = tmp_path / "chart_table.pdf"
    text = pypdf.PdfReader(written).pages[0].extract_text()
    assert text.startswith(TITLE)
    assert "SECRET_CODE_MARKER" not in text


# ---- Titles -----------------------------------------------------------------------------------


def test_title_from_metadata_first():
    nb = new_notebook(cells=[new_markdown_cell("# Heading")])
    nb.metadata["reportbook"] = {"title": "From metadata"}
    assert report_title(nb, "name") == "From metadata"


@pytest.mark.parametrize(
    ("source", "title"),
    [
        ("Intro\n\n# The *first* [H1](http://x)\n\n# Second", "The first H1"),
        ("```\n# not a heading\n```\n\nSetext title\n============", "Setext title"),
        ("## Only an H2", "name"),
        ('<h1 class="x">Raw &amp; HTML</h1>', "Raw & HTML"),
    ],
)
def test_title_from_first_markdown_h1(source: str, title: str):
    assert report_title(new_notebook(cells=[new_markdown_cell(source)]), "name") == title


def test_title_from_output_h1_in_document_order():
    out = new_output("display_data", data={"text/html": "<div><h1>From <b>output</b></h1></div>"})
    nb = new_notebook(cells=[new_code_cell("x", outputs=[out]), new_markdown_cell("# Later")])
    assert report_title(nb, "name") == "From output"
    assert report_title(new_notebook(), None) == "Report"


# ---- Tables and rendering details -------------------------------------------------------------


def test_table_classes_shrink_then_turn_landscape():
    assert table_classes([8, 6, 6, 6]) == []
    assert table_classes([8, *[3] * 14, 7]) == ["report-wide-1"]
    assert table_classes([2, *[6] * 16]) == ["report-wide-1", "report-landscape"]
    assert table_classes([2, *[7] * 18]) == ["report-wide-2", "report-landscape"]
    assert table_classes([2, *[9] * 40]) == ["report-wide-3", "report-landscape"]


def test_layout_table_left_aligns_text_columns():
    table = BeautifulSoup(
        "<table><thead><tr><th></th><th>name</th><th>share</th></tr></thead><tbody>"
        "<tr><th>0</th><td>r/python</td><td>1,204</td></tr>"
        "<tr><th>1</th><td>r/rust</td><td>NaN</td></tr></tbody></table>",
        "html.parser",
    ).table
    assert layout_table(table) == []  # fits as is
    text_cells = [c.get_text() for c in table.select(".report-text")]
    assert text_cells == ["name", "r/python", "r/rust"]


def test_title_is_escaped_in_the_page_header_css():
    nb = new_notebook(metadata={"reportbook": {"title": 'A "quoted" </style> title'}})
    html, _ = ReportHTMLExporter().from_notebook_node(nb)
    assert '<title>A "quoted" &lt;/style&gt; title</title>' in html
    assert 'content: "A \\22 quoted\\22  \\3C /style\\3E  title";' in html


def test_landscape_table_takes_its_heading_along():
    wide = "<table><tr>" + "<td>1234567</td>" * 30 + "</tr></table>"
    nb = new_notebook(
        cells=[
            new_markdown_cell("## Very wide"),
            new_code_cell("x", outputs=[new_output("display_data", data={"text/html": wide})]),
            new_markdown_cell("Afterwards"),
        ]
    )
    html, _ = ReportHTMLExporter().from_notebook_node(nb)
    cells = BeautifulSoup(html, "html.parser").select("main > div.cell")
    assert ["celltag_report-landscape" in c["class"] for c in cells] == [True, True, False]


def test_pdf_loads_only_files_under_the_notebook_dir(tmp_path: Path):
    folder = tmp_path / "notebook"
    folder.mkdir()
    (folder / "logo.png").write_bytes(TINY_PNG)
    (tmp_path / "outside.png").write_bytes(TINY_PNG)
    images = (
        f'<img src="logo.png" alt=""><img src="../outside.png" alt="">'
        f'<img src="{(tmp_path / "outside.png").as_uri()}" alt="">'
    )
    nb = new_notebook(cells=[new_markdown_cell(f"# T\n\n{images}")])
    metadata = {"name": "t", "path": str(folder)}
    pdf, _ = ReportPDFExporter().from_notebook_node(nb, {"metadata": metadata})
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images) == 1  # only logo.png


TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
