"""The web console in headless Chromium (Debian's, driven by Playwright) against
`reportbook run`:

- first load, empty cache: bytes transferred (encoded, as on the wire: Chrome DevTools'
  encodedDataLength) and time to interactive (navigation start -> the sign-in form, or the
  signed-in product list, rendered and usable), median of --loads;
- task finished -> shown: the server's `finished_at` of a task to the moment the open
  product page shows its `success` badge (pushed over GET /v1/events), median of --runs.

Needs `make web` and /usr/bin/chromium (`make chromium`).

    .venv/bin/python bench/web_first_load.py [--loads 5] [--runs 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from product import ROOT, load, running_product

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def first_load(page: Page, url: str, ready: str) -> tuple[int, float]:
    """(bytes on the wire, ms from navigation start to `ready` being visible)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    sizes: list[float] = []
    cdp.on("Network.loadingFinished", lambda e: sizes.append(e["encodedDataLength"]))
    page.goto(url)
    page.wait_for_selector(ready, state="visible")
    interactive = page.evaluate("performance.now()")
    page.wait_for_timeout(1500)  # late requests; not networkidle: the event stream stays open
    return int(sum(sizes)), interactive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    assert (ROOT / "web" / "dist" / "index.html").is_file(), "build the app first: make web"
    work = Path(tempfile.mkdtemp(prefix="web-bench-"))
    notebooks = work / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    shutil.copy(ROOT / "tests" / "notebooks" / "slow.ipynb", notebooks)
    try:
        with (
            running_product(
                work / "var",
                workers=2,
                REPORTBOOK_NOTEBOOKS_DIR=str(notebooks),
                SCHEDULER_INTERVAL_SECONDS="1",
            ) as client,  # fmt: skip
            sync_playwright() as playwright,
        ):
            base = str(client.base_url).rstrip("/")
            key = client.headers["Authorization"].removeprefix("Bearer ")
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            print(load())
            for label, signed_in, ready in (
                ("sign-in page", False, "#api-key"),
                ("signed in: folders and products", True, "main[data-ready] .card li a"),
            ):
                loads = []
                for _ in range(args.loads):
                    context = browser.new_context()
                    if signed_in:
                        context.add_init_script(
                            f"sessionStorage.setItem('reportbook.token', {key!r})"
                        )
                    loads.append(first_load(context.new_page(), base + "/", ready))
                    context.close()
                size = statistics.median(b for b, _ in loads)
                tti = statistics.median(t for _, t in loads)
                print(f"first load, {label}: {size / 1024:.1f} KiB transferred, "
                      f"time to interactive {tti:.0f} ms (median of {args.loads})")  # fmt: skip

            context = browser.new_context()
            context.add_init_script(f"sessionStorage.setItem('reportbook.token', {key!r})")
            page = context.new_page()
            page.goto(f"{base}/products/{client.product_id}")  # type: ignore[attr-defined]
            page.wait_for_selector("main[data-ready] h2")
            page.evaluate("""() => {
                window.__shown = {};
                new MutationObserver(() => {
                    for (const row of document.querySelectorAll('tr[data-task]')) {
                        const id = row.dataset.task;
                        if (!window.__shown[id] && row.querySelector('[data-status=success]'))
                            window.__shown[id] = Date.now();
                    }
                }).observe(document.body, {subtree: true, childList: true, characterData: true,
                                           attributes: true});
            }""")
            delays = []
            for _ in range(args.runs):
                task = client.post("/v1/tasks", json={
                    "notebook": "slow", "product_id": client.product_id,  # type: ignore[attr-defined]
                    "parameters": {"seconds": 0.5}, "cache": False}).json()  # fmt: skip
                page.wait_for_function(f"() => window.__shown[{task['id']!r}]", timeout=120_000)
                shown = page.evaluate(f"window.__shown[{task['id']!r}]") / 1000
                done = client.get(f"/v1/tasks/{task['id']}").json()
                assert done["status"] == "success", done
                finished = dt.datetime.fromisoformat(done["finished_at"].replace("Z", "+00:00"))
                delays.append(shown - finished.timestamp())
            print(f"task finished -> shown on the product page: median {statistics.median(delays) * 1000:.0f} ms, "
                  f"min {min(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms "
                  f"({args.runs} runs; the server polls the store every 0.5 s)")  # fmt: skip
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
