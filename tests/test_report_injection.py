"""Nothing a client sends becomes markup in a report, nor makes the PDF renderer read a file or
the network. tests/notebooks/injection.ipynb shows its parameters as live Markdown and HTML
(as a careless notebook would); it is run by papermill with a real kernel and exported by the
real exporter, and once through the whole product (`reportbook run`) to check what the API
serves. A real local HTTP server records any request the renderer makes."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import httpx
import nbformat
import papermill
import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from reporting.document import allowed_url, render_document, report_url_fetcher, write_pdf
from reporting.export import ReportMeta, export_report
from reporting.processes import running_product
from reporting.sample_data import SAMPLE_PRODUCT_NAME
from tests.conftest import TEST_MONGODB_URI, fresh_database
from tests.http_recorder import HttpRecorder
from tests.pdf_checks import TINY_PNG, embedded_images

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "notebooks" / "injection.ipynb"
PASSWD = Path("/etc/passwd")
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def hostile_parameters(server: str) -> dict:
    notebook = (ROOT / "notebooks" / "reddit_report.ipynb").as_uri()
    return {
        "brands": [
            "<img src=x onerror=alert(2)>",
            f'<link rel="attachment" href="{notebook}">',
            '<link rel="attachment" href="reddit_report.ipynb">',
            f'<a rel="attachment" href="{PASSWD.as_uri()}">passwd</a>',
            "<script>alert(1)</script>",
            f"<iframe src={PASSWD.as_uri()}></iframe>",
            "![notebook](reddit_report.ipynb)",
            f'<img src="{server}/img.png" alt="remote">',
            "Safe & sound",
        ],
        "note": (
            f'<span style="background-image: url({PASSWD.as_uri()})">css</span>'
            f"<style>.note {{ background: url('{server}/style.png') }} @import '{server}/x.css';"
            f'</style><a href="javascript:alert(3)">js</a>'
            f'<a href="https://www.reddit.com/r/espresso/">a reddit post</a>'
        ),
    }


def check_html(html: str) -> None:
    page = BeautifulSoup(html, "html5lib")
    for name in ("script", "link", "iframe", "object", "embed", "base", "form"):
        assert not page.find_all(name), name
    for element in page.find_all(True):
        assert not [a for a in element.attrs if a.lower().startswith("on")], element
        assert "attachment" not in element.get("rel", [])
    for needle in ("onerror", "javascript:", "file:", "/etc/passwd", "x-ipynb", "127.0.0.1"):
        assert needle not in html.lower(), needle
    assert "alert(1)" not in page.get_text()  # the script is gone with its content
    links = [a["href"] for a in page.find_all("a", href=True)]
    assert "https://www.reddit.com/r/espresso/" in links  # links to posts keep working
    assert "Safe &amp; sound" in html


def check_pdf(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    assert reader.attachments == {}
    assert b"/EmbeddedFile" not in data and b"/FileAttachment" not in data
    text = "\n".join(page.extract_text() for page in reader.pages)
    first_line = PASSWD.read_text().splitlines()[0]
    assert first_line not in text and first_line.encode() not in data
    assert "Safe & sound" in text
    return text


@pytest.fixture
def recorder():
    with HttpRecorder() as server:
        yield server


def test_hostile_parameters_through_papermill_and_the_exporter(tmp_path: Path, recorder):
    out = tmp_path / "injection.ipynb"
    papermill.execute_notebook(
        str(FIXTURE), str(out), parameters=hostile_parameters(recorder.url),
        kernel_name="python3", progress_bar=False, cwd=str(tmp_path),
    )  # fmt: skip
    executed = nbformat.read(out, as_version=4)
    shown = nbformat.writes(executed)
    assert "onerror=alert(2)" in shown and 'rel=\\"attachment\\"' in shown  # it was displayed
    html, pdf = export_report(
        executed,
        {"metadata": {"name": "injection", "path": str(ROOT / "notebooks")}},  # as the worker
        meta=ReportMeta(product="Acme", generated_at=None),
    )
    check_html(html)
    check_pdf(pdf)
    assert recorder.requests == []


def test_the_pdf_renderer_loads_only_data_urls_whatever_the_html(tmp_path: Path, recorder):
    """The renderer alone, without the sanitiser in front: defence in depth."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(TINY_PNG)
    body = (
        f'<link rel="attachment" href="{PASSWD.as_uri()}">'
        f'<link rel="attachment" href="data:text/plain,embedded">'
        f'<a rel="attachment" href="{PASSWD.as_uri()}">a</a>'
        f'<img src="{secret.as_uri()}" alt="file"><img src="{recorder.url}/i.png" alt="net">'
        f'<img src="secret.png" alt="relative">'
        f'<div style="background: url({recorder.url}/bg.png)">bg</div>'
        f"<style>@import url({recorder.url}/import.css);</style>"
        f'<p>Kept</p><img src="data:image/png;base64,{base64.b64encode(TINY_PNG).decode()}">'
    )
    data = write_pdf(render_document(body, ReportMeta(title="Renderer")))
    reader = PdfReader(io.BytesIO(data))
    assert reader.attachments == {}
    assert len(embedded_images(reader)) == 1  # the data: image only
    assert recorder.requests == []


def test_the_fetcher_refuses_files_and_the_network(recorder):
    fetcher = report_url_fetcher()
    for url in (PASSWD.as_uri(), f"{recorder.url}/x", "https://example.com/x", "ftp://x/y",
                (ROOT / "notebooks" / "reddit_report.ipynb").as_uri(), "report.css"):  # fmt: skip
        with pytest.raises(ValueError, match="not loading"):
            fetcher.fetch(url)
    assert recorder.requests == []
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"
    assert allowed_url((ROOT / "reporting" / "templates" / "report.css").as_uri())
    assert not allowed_url((ROOT / "reporting" / "templates" / "report" / "conf.json").as_uri())
    assert not allowed_url((ROOT / "reporting" / "templates" / ".." / "document.py").as_uri())


# ---- What the API serves ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def product(tmp_path_factory, notebooks_dir):
    data_dir = tmp_path_factory.mktemp("injection")
    with (
        running_product(
            data_dir / "var", data_dir / "run.log", workers=1,
            REPORTBOOK_NOTEBOOKS_DIR=str(notebooks_dir), SCHEDULER_INTERVAL_SECONDS="1",
            MONGODB_URI=TEST_MONGODB_URI, MONGODB_DATABASE=fresh_database(),
        ) as (base, _),
        httpx.Client(base_url=base, timeout=30) as client,
    ):  # fmt: skip
        master = (data_dir / "var" / "master.key").read_text().strip()
        key = client.post("/v1/admin/api-keys", headers={"X-Master-Key": master},
                          json={"name": "injection", "role": "admin"}).json()["key"]  # fmt: skip
        yield client, {"Authorization": f"Bearer {key}"}


def test_report_html_is_served_sanitised_with_a_content_security_policy(product, recorder):
    client, auth = product
    products = client.get("/v1/products", headers=auth).json()
    pid = next(p["id"] for p in products if p["name"] == SAMPLE_PRODUCT_NAME)
    created = client.post("/v1/tasks", headers=auth, json={
        "product_id": pid, "notebook": "injection",
        "parameters": hostile_parameters(recorder.url)})  # fmt: skip
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 120
    while (task := client.get(f"/v1/tasks/{created.json()['id']}", headers=auth).json())[
        "status"
    ] not in ("success", "failed"):
        assert time.monotonic() < deadline, task
        time.sleep(0.2)
    assert task["status"] == "success", task
    html = client.get(f"/v1/tasks/{task['id']}/html", headers=auth)
    assert html.status_code == 200
    assert html.headers["content-security-policy"] == CSP
    assert html.headers["x-content-type-options"] == "nosniff"
    check_html(html.text)
    pdf = client.get(f"/v1/tasks/{task['id']}/pdf", headers=auth)
    assert pdf.headers["x-content-type-options"] == "nosniff"
    check_pdf(pdf.content)
    assert recorder.requests == []
