"""The web console in a real browser (Debian's Chromium driven by Playwright) against
`reportbook run`: the app and the offline API docs served by the API, an admin setting up a
folder, a product and a key through the UI, a user requesting a report through the generated
form and watching it over Server-Sent Events, a restricted key, a revoked key.

Firebase sign-up and sign-in run against the real Auth emulator (tests/firebase_emulator.py).
Needs the built app (`make web`) and /usr/bin/chromium (`make chromium`); `make test` does both.
Screenshots of the main pages go to docs/web/ with WEB_SCREENSHOTS=docs/web.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.live import live_product
from tests.pdf_checks import pdf_words

ROOT = Path(__file__).resolve().parent.parent
# Screenshots of the main pages: into docs/web/ (committed, shown in the README) when
# WEB_SCREENSHOTS=docs/web is set, else into a temporary folder (a run leaves the tree alone).
SHOTS = Path(os.environ.get("WEB_SCREENSHOTS") or Path(tempfile.gettempdir()) / "reportbook-web")
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
RUN_TIMEOUT = 120_000  # ms: a report run, in the browser's waits
expect.set_options(timeout=30_000)  # a loaded 2-core machine: pages may take seconds


@pytest.fixture(scope="module")
def live(tmp_path_factory, notebooks_dir, firebase_emulator):
    assert (ROOT / "web" / "dist" / "index.html").is_file(), "build the app first: make web"
    with live_product(
        tmp_path_factory.mktemp("web"),
        notebooks_dir,
        SCHEDULER_INTERVAL_SECONDS="1",
        FIREBASE_PROJECT_ID=firebase_emulator.project_id,  # and the exported emulator host
    ) as live:
        yield {"base": live.base, "client": live.client, "admin": live.admin_key("web-admin"),
               "state": {}}  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Browser:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser, live):
    contexts = []

    def make() -> Page:
        context = browser.new_context(
            viewport={"width": 1100, "height": 760}, accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sign_in(page: Page, base: str, key: str) -> None:
    page.goto(base + "/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").first.click()
    expect(page.locator("main[data-ready]")).to_be_visible()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_app_and_offline_docs_are_served_by_the_api(page: Page, live):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(live["base"] + "/")
    expect(page.get_by_label("API key")).to_be_visible()
    shot(page, "sign-in")
    page.goto(live["base"] + "/products/not-a-route-the-server-knows")  # SPA fallback
    expect(page.get_by_label("API key")).to_be_visible()
    page.goto(live["base"] + "/docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(page.locator(".swagger-ui")).to_contain_text("/v1/tasks")
    page.goto(live["base"] + "/redoc")
    expect(page.locator("redoc, [data-role='redoc-menu'], .menu-content").first).to_be_attached()
    expect(page.get_by_text("Run parameterised notebooks into reports").first).to_be_visible()
    hosts = {urlparse(url).netloc for url in requests if url.startswith("http")}
    assert hosts == {urlparse(live["base"]).netloc}, requests
    assert live["client"].get("/v1/nothing-here").status_code == 404  # the API is not the app


def test_admin_creates_a_folder_a_product_and_a_granted_key(page: Page, live):
    sign_in(page, live["base"], live["admin"])
    page.get_by_label("New folder").fill("Acme")
    page.get_by_role("button", name="Create folder").click()
    expect(page.get_by_role("heading", name="Acme")).to_be_visible()
    page.get_by_label("New product").fill("Widget")
    page.get_by_label("in folder").select_option(label="Acme")
    page.get_by_role("button", name="Create product").click()
    expect(page.locator("[data-folder='Acme']").get_by_role("link", name="Widget")).to_be_visible()
    shot(page, "folders")

    page.get_by_role("link", name="API keys").click()
    for name, role in (("analyst", "user"), ("viewer", "restricted")):
        page.get_by_label("Name").fill(name)
        page.get_by_label("Role").select_option(role)
        page.get_by_label("Grant the new key").select_option(label="Folder: Acme")
        page.get_by_role("button", name="Grant").click()
        page.get_by_role("button", name="Create key").click()
        expect(page.locator(f"[data-key='{name}']")).to_contain_text(role)
        secret = page.locator("[data-secret]")
        expect(secret).to_have_text(re.compile(r"^rb_"))
        live["state"][name] = secret.inner_text()
    shot(page, "api-keys")

    client, admin = live["client"], bearer(live["admin"])
    folders = {f["name"]: f["id"] for f in client.get("/v1/folders", headers=admin).json()}
    products = client.get("/v1/products", headers=admin).json()
    widget = next(p for p in products if p["name"] == "Widget")
    assert widget["folder_id"] == folders["Acme"]
    live["state"]["widget"] = widget["id"]
    keys = {k["name"]: k for k in client.get("/v1/api-keys", headers=admin).json()}
    assert keys["analyst"]["grants"] == [{"type": "folder", "resource_id": folders["Acme"]}]
    assert keys["viewer"]["role"] == "restricted"
    mine = client.get("/v1/products", headers=bearer(live["state"]["analyst"])).json()
    assert [p["name"] for p in mine] == ["Widget"]


def test_user_requests_a_report_watches_it_and_downloads_the_pdf(page: Page, live):
    state = live["state"]
    assert "analyst" in state, "needs the admin test's key"
    events: list[str] = []
    page.on("request", lambda request: events.append(request.url))
    sign_in(page, live["base"], state["analyst"])
    expect(page.get_by_role("link", name="Users")).to_have_count(0)  # no admin pages offered
    page.get_by_role("link", name="Widget").click()
    page.get_by_label("Report").select_option("slow")
    expect(page.locator("#param-seconds")).to_have_value("60")  # the notebook's default, 60.0

    page.locator("#param-seconds").fill("a few")  # not a number: the server's 422, by the field
    page.get_by_role("button", name="Request report").click()
    expect(page.locator("[data-param='seconds'] .field-error")).to_contain_text("valid number")
    shot(page, "request-form")

    page.locator("#param-seconds").fill("3")
    page.get_by_role("button", name="Request report").click()
    page.wait_for_url(re.compile(r"/tasks/"))
    task_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("[data-progress]")).to_be_visible(timeout=RUN_TIMEOUT)  # running, pushed
    expect(page.locator("h1 .badge")).to_have_text("success", timeout=RUN_TIMEOUT)
    task_gets = [u for u in events if urlparse(u).path == f"/v1/tasks/{task_id}"]
    assert [urlparse(u).path for u in events].count("/v1/events") == 1, events  # one stream
    assert len(task_gets) <= 4, f"the page polled: {task_gets}"  # events, not a polling loop

    expect(page.locator("iframe[title='Report PDF']")).to_have_attribute(
        "src", re.compile(r"^blob:"), timeout=30_000
    )
    shot(page, "task")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF").click()
    served = live["client"].get(f"/v1/tasks/{task_id}/pdf", headers=bearer(state["analyst"]))
    assert served.status_code == 200
    downloaded = Path(download.value.path()).read_bytes()
    assert downloaded == served.content
    assert re.search(r"Slept 3(\.0)? s", pdf_words(downloaded)), pdf_words(downloaded)

    page.get_by_role("link", name="← Product").click()
    expect(page.locator(f"[data-task='{task_id}'] .badge")).to_have_text("success")
    shot(page, "product")


def test_a_failed_run_shows_the_failing_cell_and_error(page: Page, live):
    state = live["state"]
    made = live["client"].post("/v1/tasks", headers=bearer(state["analyst"]), json={
        "notebook": "broken", "product_id": state["widget"], "parameters": {"label": "web"},
        "retry": {"max_attempts": 1}})  # fmt: skip
    assert made.status_code == 201, made.text
    sign_in(page, live["base"], state["analyst"])
    page.goto(f"{live['base']}/tasks/{made.json()['id']}")
    expect(page.locator("h1 .badge")).to_have_text("failed", timeout=RUN_TIMEOUT)
    error = page.locator("section", has=page.get_by_role("heading", name="Error"))
    expect(error).to_contain_text("ZeroDivisionError")
    expect(error).to_contain_text("ratio = 1 / divisor")  # the failing cell's source
    expect(page.get_by_role("button", name="Download NOTEBOOK")).to_be_visible()
    expect(page.locator("iframe")).to_have_count(0)
    attempts = page.locator("section", has=page.get_by_role("heading", name="Attempts"))
    expect(attempts.locator("tbody tr")).to_have_count(1)
    expect(attempts).to_contain_text("ZeroDivisionError")


def test_markdown_to_pdf_with_a_live_preview(page: Page, live):
    sign_in(page, live["base"], live["state"]["analyst"])
    page.get_by_role("link", name="Markdown to PDF").click()
    page.get_by_label("Title").fill("Weekly note")
    page.get_by_label("Markdown").fill("# Espresso findings\n\nShare **up** <b>raw</b>")
    preview = page.get_by_label("preview")
    expect(preview.get_by_role("heading", name="Espresso findings")).to_be_visible()
    expect(preview).to_contain_text("<b>raw</b>")  # raw HTML shown as text, as in the PDF
    page.get_by_label("Markdown").fill("")
    page.get_by_role("button", name="Make PDF").click()
    expect(page.get_by_role("alert")).to_contain_text("markdown")  # the server's 422
    page.get_by_label("Markdown").fill("# Espresso findings\n\nShare **up**")
    page.get_by_role("button", name="Make PDF").click()
    expect(page.locator("iframe[title='PDF']")).to_have_attribute("src", re.compile(r"^blob:"))
    shot(page, "markdown-pdf")


def test_restricted_key_sees_no_write_controls_nor_other_folders(page: Page, live):
    state = live["state"]
    assert "viewer" in state, "needs the admin test's key"
    client, admin = live["client"], bearer(live["admin"])
    assert client.post("/v1/folders", headers=admin, json={"name": "Secret"}).status_code == 201
    sign_in(page, live["base"], state["viewer"])
    expect(page.get_by_role("heading", name="Acme")).to_be_visible()
    expect(page.get_by_role("heading", name="Secret")).to_have_count(0)
    for name in ("Users", "API keys", "Audit", "Queue", "Markdown to PDF"):
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    expect(page.get_by_role("button", name="Create folder")).to_have_count(0)
    page.get_by_role("link", name="Widget").click()
    expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    expect(page.get_by_role("button", name="Request report")).to_have_count(0)
    expect(page.locator("form")).to_have_count(0)


def test_a_revoked_key_is_signed_out(page: Page, live):
    client, admin = live["client"], bearer(live["admin"])
    made = client.post("/v1/api-keys", headers=admin,
                       json={"name": "short-lived", "role": "user", "service": True})  # fmt: skip
    assert made.status_code == 201, made.text
    sign_in(page, live["base"], made.json()["key"])
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert client.delete(f"/v1/api-keys/{made.json()['id']}", headers=admin).status_code == 200
    # The open event stream re-checks the key and ends; the app then signs out by itself.
    expect(page.get_by_role("alert")).to_contain_text("no longer valid", timeout=30_000)
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('reportbook.token')") is None


def test_firebase_sign_up_a_grant_from_the_admin_then_sign_in(page: Page, new_page, live):
    email, password = "reader@example.com", "a-long-password-1"
    page.goto(live["base"] + "/")
    email_form = page.locator("form", has=page.get_by_label("Email"))
    email_form.get_by_label("Email").fill(email)
    email_form.get_by_label("Password").fill(password)
    email_form.get_by_role("button", name="Create account").click()
    expect(page.locator(".who")).to_have_text(f"{email} · user")
    expect(page.get_by_text("Nothing is shared with you yet.")).to_be_visible()

    admin = new_page()
    sign_in(admin, live["base"], live["admin"])
    admin.get_by_role("link", name="Users").click()
    row = admin.locator("tr", has_text=email)
    row.get_by_role("button", name="show").click()
    row.get_by_label("Add grant").select_option(label="Folder: Acme")
    row.get_by_role("button", name="Grant").click()
    expect(row.get_by_role("status")).to_have_text("Granted.")
    expect(row.locator("li")).to_have_count(1)
    shot(admin, "users")

    page.get_by_role("button", name="Sign out").click()
    email_form.get_by_label("Email").fill(email)
    email_form.get_by_label("Password").fill("not-the-password")
    email_form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile("password|credential"))
    email_form.get_by_label("Password").fill(password)
    email_form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Acme")).to_be_visible()
    expect(page.get_by_role("link", name="Widget")).to_be_visible()


def test_cors_allows_only_the_configured_origins(settings, monkeypatch):
    from fastapi.testclient import TestClient

    from service.main import create_app

    monkeypatch.setenv("CORS_ORIGINS", "https://console.example.com, http://localhost:5173/")
    with TestClient(create_app(settings)) as client:
        asked = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
        allowed = client.options(
            "/v1/tasks", headers={"Origin": "https://console.example.com", **asked}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://console.example.com"
        refused = client.options("/v1/tasks", headers={"Origin": "https://evil.example", **asked})
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        read = client.get("/healthcheck", headers={"Origin": "http://localhost:5173"})
        assert read.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_events_need_credentials_and_a_visible_product(client, auth):
    assert client.get("/v1/events").status_code == 401
    missing = client.get("/v1/events", params={"product_id": "nope"}, headers=auth)
    assert missing.status_code == 404
    assert "nope" in missing.json()["detail"]
    assert "/v1/events" not in client.get("/openapi.json").json()["paths"]
    assert client.get("/v1/not-an-endpoint", headers=auth).status_code == 404
    assert client.get("/config.json").json() == {"firebase": None}
