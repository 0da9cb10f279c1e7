"""Report export: real papermill runs of tests/notebooks/chart_table.ipynb and of the sample
report (notebooks/reddit_report.ipynb on the seeded sample data), exported to HTML and PDF
by WeasyPrint, checked with pypdf (text) and pdfminer (where lines sit on the page)."""

from __future__ import annotations

import datetime as dt
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
from pdfminer.layout import LTChar, LTFigure, LTTextContainer

from reporting.export import (
    ReportHTMLExporter,
    ReportMeta,
    ReportPDFExporter,
    export_combined,
    export_report,
    layout_table,
    notebook_meta,
    period_label,
    report_title,
    table_classes,
)
from reporting.sample_data import SAMPLE_PRODUCT_NAME, seed_sample_data, seed_sample_product
from reporting.settings import load_settings
from reporting.store import open_store
from tests.conftest import ROOT, TEST_MONGODB_URI, fresh_database
from tests.pdf_checks import (
    MM,
    TINY_PNG,
    contents,
    embedded_images,
    first_page_with_line,
    headings_left_at_page_bottom,
    missing_cell_words,
)

FIXTURE = Path(__file__).parent / "notebooks" / "chart_table.ipynb"
TITLE = "Quarterly fixture report"
GENERATED = dt.datetime(2026, 10, 1, 9, 30, tzinfo=dt.UTC)
META = ReportMeta(
    product="ACME Corp", period="1 Jul 2026 \u2013 30 Sep 2026", generated_at=GENERATED
)
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
    return export_report(nbformat.read(executed, as_version=4), meta=META)


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
    images = embedded_images(pdf)
    assert len(images) == 1
    width, height = images[0].image.size
    assert width >= 1000 and height >= 400  # the retina PNG, not a thumbnail


def test_pdf_metadata_and_page_numbers(pdf: pypdf.PdfReader):
    assert pdf.metadata.title == TITLE
    assert pdf.pages[0].mediabox.width == pytest.approx(595.28, abs=0.5)  # A4
    assert 2 <= len(pdf.pages) <= 4  # title page, then the body
    texts = [page.extract_text() for page in pdf.pages]
    assert "Page 1 of" not in texts[0]  # the title page carries no footer
    for number, text in enumerate(texts[1:], 2):
        assert f"Page {number} of {len(pdf.pages)}" in text


def test_title_page(pdf: pypdf.PdfReader):
    lines = pdf.pages[0].extract_text().splitlines()
    assert lines[0] == TITLE
    assert "PRODUCT ACME Corp" in lines  # labels are set in capitals
    assert "PERIOD 1 Jul 2026 \u2013 30 Sep 2026" in lines
    assert "GENERATED 1 Oct 2026 09:30 UTC" in lines
    assert "CONTENTS" in lines


def test_contents_give_the_page_each_section_starts_on(pdf: pypdf.PdfReader):
    toc = contents(pdf)
    assert [title for title, _ in toc] == ["Weekly mentions", "Share of voice", "Weekly detail"]
    for title, page in toc:
        assert page == first_page_with_line(pdf, title), title


def test_headings_are_never_the_last_line_of_a_page(report: tuple[str, bytes]):
    assert not headings_left_at_page_bottom(report)


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
    html, _ = export_report(nb, meta=META)
    assert nbformat.writes(nb) == before  # stderr outputs etc. still there
    again = export_report(nbformat.read(executed, as_version=4), meta=META)[0]
    assert html == again  # deterministic, given the generation time


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
    pdf = pypdf.PdfReader(written)
    text = pdf.pages[0].extract_text()
    assert text.startswith(TITLE)
    assert "GENERATED " in text and "PERIOD" not in text  # no start/end parameters given
    assert [title for title, _ in contents(pdf)] == ["Weekly mentions", "Share of voice",
                                                     "Weekly detail"]  # fmt: skip
    assert all("SECRET_CODE_MARKER" not in page.extract_text() for page in pdf.pages)


# ---- The sample report -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes]:
    """The sample report as a worker makes it: notebooks/reddit_report.ipynb run by papermill
    on the seeded sample data, exported with the product's name and the task's period."""
    folder = tmp_path_factory.mktemp("sample")
    env = {"REPORTBOOK_DATA_DIR": str(folder / "data"), "MONGODB_URI": TEST_MONGODB_URI,
           "MONGODB_DATABASE": fresh_database()}  # fmt: skip
    out = folder / "reddit_report.ipynb"
    with pytest.MonkeyPatch.context() as patch:  # the kernel reads its settings from here
        for name, value in env.items():
            patch.setenv(name, value)
        store = open_store(load_settings())
        try:
            seed_sample_product(store.db)  # the notebook's default `product` slug names it
            seed_sample_data(store.db)
        finally:
            store.close()
        papermill.execute_notebook(
            str(SAMPLE_NOTEBOOK), str(out), kernel_name="python3", progress_bar=False,
            cwd=str(SAMPLE_NOTEBOOK.parent),
        )  # fmt: skip
    meta = ReportMeta(product=SAMPLE_PRODUCT_NAME, period=period_label("2026-07-01", "2026-09-30"),
                      generated_at=GENERATED)  # fmt: skip
    resources = {"metadata": {"name": "reddit_report", "path": str(SAMPLE_NOTEBOOK.parent)}}
    return export_report(nbformat.read(out, as_version=4), resources, meta=meta)


SAMPLE_NOTEBOOK = ROOT / "notebooks" / "reddit_report.ipynb"
SAMPLE_SECTIONS = ["Summary", "Key insights", "Mention volume over time", "Share of voice",
                   "Top posts"]  # fmt: skip


def test_sample_report_title_page_and_contents(sample_report: tuple[str, bytes]):
    pdf = pypdf.PdfReader(io.BytesIO(sample_report[1]))
    first = pdf.pages[0].extract_text().splitlines()
    assert first[0] == "Reddit brand report"
    assert "PRODUCT Home espresso" in first
    assert "PERIOD 1 Jul 2026 \u2013 30 Sep 2026" in first
    assert "GENERATED 1 Oct 2026 09:30 UTC" in first
    toc = contents(pdf)
    assert [title for title, _ in toc] == SAMPLE_SECTIONS
    for title, page in toc:
        assert page == first_page_with_line(pdf, title), title
    assert 3 <= len(pdf.pages) <= 6
    for number, page in enumerate(pdf.pages[1:], 2):
        text = page.extract_text()
        assert f"Page {number} of {len(pdf.pages)}" in text
        assert "Home espresso \u00b7 1 Jul 2026 \u2013 30 Sep 2026" in text  # running header


def test_sample_report_has_no_code_and_all_table_cells(sample_report: tuple[str, bytes]):
    html, pdf = sample_report
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for remnant in ["In [", "In\xa0[", "Out[", "import ", "display(", "load_settings", "pd."]:
        assert remnant not in text
    assert not missing_cell_words(html, text)


def test_sample_report_charts_fit_the_text_block(sample_report: tuple[str, bytes]):
    figures = [(item, page) for page in extract_pages(io.BytesIO(sample_report[1]))
               for item in page if isinstance(item, LTFigure)]  # fmt: skip
    assert len(figures) == 2  # mention volume, share of voice
    for figure, page in figures:
        assert figure.x0 >= 18 * MM - 1 and figure.x1 <= page.width - 18 * MM + 1
        assert figure.y0 >= 20 * MM - 1 and figure.y1 <= page.height - 22 * MM + 1


def test_sample_report_headings_are_never_the_last_line_of_a_page(sample_report):
    assert not headings_left_at_page_bottom(sample_report)


# ---- Title page -------------------------------------------------------------------------------


def test_notebook_meta_from_metadata_and_papermill_parameters():
    nb = new_notebook(cells=[new_markdown_cell("# Title")])
    nb.metadata["papermill"] = {"parameters": {"start": "2026-07-01", "end": "2026-09-30"}}
    assert notebook_meta(nb) == ReportMeta(title="Title", period="1 Jul 2026 \u2013 30 Sep 2026")
    nb.metadata["reportbook"] = {"product": "Home espresso", "period": "Q3 2026"}
    assert notebook_meta(nb) == ReportMeta(title="Title", product="Home espresso", period="Q3 2026")


def test_notebook_meta_period_from_the_parameters_cell_defaults():
    defaults = new_code_cell('start = "2026-08-03"  # first day\nend = "2026-08-09"\nn = f(1)')
    defaults.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[defaults, new_markdown_cell("# Title")])
    assert notebook_meta(nb).period == "3 Aug 2026 \u2013 9 Aug 2026"
    nb.metadata["papermill"] = {"parameters": {"end": "2026-08-31"}}  # injected values win
    assert notebook_meta(nb).period == "3 Aug 2026 \u2013 31 Aug 2026"


def test_given_meta_wins_and_gaps_are_filled():
    found = ReportMeta(title="From notebook", product="P", period="Q3")
    meta = ReportMeta(title=" Given  title ", period="  ").complete(found)
    assert (meta.title, meta.product, meta.period) == ("Given title", "P", "Q3")
    assert meta.generated_at is not None and meta.generated_at.tzinfo is not None
    assert ReportMeta().complete().title == "Report"
    naive = ReportMeta(generated_at=dt.datetime(2026, 10, 1, 9, 30))  # taken as UTC
    assert naive.generated_label == "1 Oct 2026 09:30 UTC"
    paris = dt.timezone(dt.timedelta(hours=2))
    assert ReportMeta(generated_at=dt.datetime(2026, 10, 1, 11, 30, tzinfo=paris)
                      ).generated_label == "1 Oct 2026 09:30 UTC"  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        ("2026-07-01", "2026-09-30", "1 Jul 2026 \u2013 30 Sep 2026"),
        (dt.date(2026, 8, 3), dt.datetime(2026, 8, 9, 23, 0), "3 Aug 2026 \u2013 9 Aug 2026"),
        ("2026-08-03", "2026-08-03", "3 Aug 2026"),
        ("2026-08-03", None, "From 3 Aug 2026"),
        (None, "2026-08-09", "Until 9 Aug 2026"),
        ("last week", "", "From last week"),
        (None, None, None),
    ],
)
def test_period_label(start, end, label):
    assert period_label(start, end) == label


# ---- Several notebooks as one report ---------------------------------------------------------


def test_export_combined(executed: Path):
    chunk = nbformat.read(executed, as_version=4)  # H1 "Quarterly fixture report" + 3 H2
    appendix = new_notebook(cells=[new_markdown_cell("## Notes\n\nNo H1 of its own.")],
                            metadata={"reportbook": {"title": "Appendix"}})  # fmt: skip
    intro = "## The week at a glance\n\n- **1,234** mentions\n\n<script>alert(1)</script>\n"
    meta = ReportMeta(title="Weekly snapshot", product="ACME Corp", period="3 \u2013 9 Aug 2026",
                      generated_at=GENERATED)  # fmt: skip
    html, data = export_combined([chunk, appendix], meta, intro)
    pdf = pypdf.PdfReader(io.BytesIO(data))
    assert pdf.metadata.title == "Weekly snapshot"
    assert pdf.pages[0].extract_text().splitlines()[0] == "Weekly snapshot"
    page = BeautifulSoup(html, "html.parser")
    assert [h.get_text() for h in page.find_all("h1")] == ["Weekly snapshot"]  # one title
    assert [h.get_text() for h in page.select("main h2")] == [
        "The week at a glance", TITLE, "Appendix"]  # fmt: skip
    toc = contents(pdf)
    assert [title for title, _ in toc] == [
        "The week at a glance", TITLE, "Weekly mentions", "Share of voice", "Weekly detail",
        "Appendix", "Notes",
    ]  # fmt: skip
    for title, number in toc:
        assert number == first_page_with_line(pdf, title), title
    pages = dict(toc)
    assert pages["The week at a glance"] < pages[TITLE] < pages["Appendix"]  # each on a new page
    assert "<script" not in html and "&lt;script&gt;" in html
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "SECRET_CODE_MARKER" not in text and "Out[" not in text
    assert len(WIDE_TOTAL.findall(text)) == 4
    assert export_combined([], ReportMeta(title="Empty"))[1].startswith(b"%PDF")


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
    title = 'A "quoted" </style> title'
    nb = new_notebook(metadata={"reportbook": {"title": title}})
    html, _ = ReportHTMLExporter().from_notebook_node(nb)
    assert "<title>A &#34;quoted&#34; &lt;/style&gt; title</title>" in html
    assert 'content: "A \\22 quoted\\22  \\3C /style\\3E  title";' in html
    page = BeautifulSoup(html, "html.parser")
    assert page.title.string == title and page.select_one("h1.report-title").string == title


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
    assert len(embedded_images(pypdf.PdfReader(io.BytesIO(pdf)))) == 1  # only logo.png
