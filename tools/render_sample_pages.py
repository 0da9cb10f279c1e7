"""Regenerate the pictures of docs/report/: what a report PDF looks like.

    python -m tools.render_sample_pages            # rewrites docs/report/*.png
    python -m tools.render_sample_pages --out DIR  # elsewhere, e.g. to compare

Needs poppler's `pdftoppm` (Debian/Ubuntu: poppler-utils) and a Jupyter `python3` kernel.
In a temporary data dir (the embedded store) it seeds the sample data, runs
notebooks/reddit_report.ipynb with papermill as a worker would and exports it with
`export_report` (product and period on the title page), renders docs/report/memo.md with
`render_markdown_pdf` (a chart appended as a `data:` URI, as an API caller would send it),
assembles the weekly snapshot of 10-16 Aug 2026 as the snapshot pipeline does, then turns chosen pages into 60 dpi PNGs. It also prints the export time of the sample report
(first call, then the median of five: the worker's exporter is warmed once).
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "report"
NOTEBOOK = ROOT / "notebooks" / "reddit_report.ipynb"
DPI = 60
# (source, page number, picture): page numbers as the PDF's footers count them.
PICTURES = [
    ("report", 1, "report-title-page.png"),
    ("report", 2, "report-chart-page.png"),
    ("report", 3, "report-table-page.png"),
    ("memo", 2, "memo-page.png"),
    ("snapshot", 2, "snapshot-changes-page.png"),
    ("snapshot", 4, "snapshot-brand-page.png"),
]
CHUNK = ROOT / "notebooks" / "snapshot_brand.ipynb"
WEEKS = [("2026-08-03", "2026-08-09"), ("2026-08-10", "2026-08-16")]  # before, and the recall


def sample_report(data_dir: Path) -> tuple[str, bytes, list[float]]:
    """The sample report's (html, pdf) and its export times (first, then five warm)."""
    os.environ.update(REPORTBOOK_DATA_DIR=str(data_dir), MONGODB_URI="")  # the kernel's too
    import nbformat
    import papermill

    from reporting.export import ReportMeta, export_report, period_label
    from reporting.sample_data import (
        SAMPLE_END,
        SAMPLE_PRODUCT_NAME,
        SAMPLE_START,
        seed_sample_data,
        seed_sample_product,
    )
    from reporting.settings import load_settings
    from reporting.store import open_store

    store = open_store(load_settings())
    try:
        seed_sample_product(store.db)  # the notebook's default `product` slug names it
        seed_sample_data(store.db)
    finally:
        store.close()
    executed = data_dir / "reddit_report.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(executed), kernel_name="python3",
                               progress_bar=False, cwd=str(NOTEBOOK.parent))  # fmt: skip
    meta = ReportMeta(product=SAMPLE_PRODUCT_NAME, period=period_label(SAMPLE_START, SAMPLE_END))
    resources = {"metadata": {"name": NOTEBOOK.stem, "path": str(NOTEBOOK.parent)}}
    times = []
    for _ in range(6):
        nb = nbformat.read(executed, as_version=4)
        started = time.perf_counter()
        html, pdf = export_report(nb, resources, meta=meta)
        times.append(time.perf_counter() - started)
    return html, pdf, times


def snapshot(data_dir: Path) -> bytes:
    """The weekly snapshot of the recall week as the pipeline assembles it (after
    sample_report seeded the data): one chunk notebook per brand, what changed since the
    week before, one PDF."""
    import nbformat
    import papermill

    from reporting.reddit import RedditRepository
    from reporting.sample_data import SAMPLE_PRODUCT, SAMPLE_PRODUCT_NAME, sample_research
    from reporting.settings import load_settings
    from reporting.snapshot_document import snapshot_pdf
    from reporting.snapshot_metrics import measure
    from reporting.store import open_store

    research = sample_research()
    store = open_store(load_settings())
    try:
        reddit = RedditRepository(store.db)
        before, now = (measure(reddit.load_posts(SAMPLE_PRODUCT, *week),
                               reddit.load_comments(SAMPLE_PRODUCT, *week), research.brands,
                               research.aliases) for week in WEEKS)  # fmt: skip
    finally:
        store.close()
    (start, end), (previous_start, previous_end) = WEEKS[1], WEEKS[0]
    chunks = []
    for brand in research.brands:
        executed = data_dir / f"chunk-{brand}.ipynb"
        papermill.execute_notebook(str(CHUNK), str(executed), kernel_name="python3",
                                   progress_bar=False, cwd=str(CHUNK.parent), parameters={
                                       "brand": brand, "start": start, "end": end,
                                       "aliases": research.aliases})  # fmt: skip
        chunks.append(nbformat.read(executed, as_version=4))
    this = {"product_name": SAMPLE_PRODUCT_NAME, "start": start, "end": end}
    previous = {"start": previous_start, "end": previous_end, "metrics": before}
    return snapshot_pdf(chunks, this, now, previous)[0]


def memo() -> bytes:
    """docs/report/memo.md with a small chart appended as a data: URI."""
    from matplotlib.figure import Figure

    from reporting.document import ReportMeta
    from reporting.markdown_pdf import render_markdown_pdf

    fig = Figure(figsize=(6.5, 2.2), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    brands, shares = ["Brevio", "Caffora", "Steamly", "Moka Nova", "Vellaro"], [29, 26, 20, 17, 8]
    ax.barh(brands[::-1], shares[::-1], color="#1f5f8b")
    ax.set_xlabel("Share of brand mentions (%)")
    ax.spines[["top", "right"]].set_visible(False)
    png = io.BytesIO()
    fig.savefig(png, format="png")
    chart = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    markdown = (DOCS / "memo.md").read_text("utf-8")
    markdown += f"\n![Share of voice, Q3 2026]({chart})\n"
    meta = ReportMeta(title="Q3 review: home espresso", product="Home espresso",
                      period="1 Jul 2026 \u2013 30 Sep 2026")  # fmt: skip
    return render_markdown_pdf(markdown, meta)


def page_png(pdf: bytes, page: int, target: Path, work: Path) -> None:
    source = work / "page.pdf"
    source.write_bytes(pdf)
    stem = work / "page"
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-singlefile", "-f", str(page),
                    "-l", str(page), str(source), str(stem)], check=True)  # fmt: skip
    shutil.move(stem.with_suffix(".png"), target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="where the PNGs go")
    args = parser.parse_args()
    if shutil.which("pdftoppm") is None:
        raise SystemExit("pdftoppm not found: install poppler-utils")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reportbook-pages-") as tmp:
        work = Path(tmp)
        _, report_pdf, times = sample_report(work / "data")
        pdfs = {"report": report_pdf, "memo": memo(), "snapshot": snapshot(work / "data")}
        for source, page, name in PICTURES:
            page_png(pdfs[source], page, args.out / name, work)
            size = (args.out / name).stat().st_size
            print(f"{args.out / name}: {source} page {page}, {size // 1024} KB")
    print(f"sample report export: first {times[0]:.2f} s, then median "
          f"{statistics.median(times[1:]):.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
