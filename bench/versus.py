"""Reportbook against the stock tools, side by side in one invocation (issue 7, target 2:
Reportbook ahead of both by >= 3x).

The same notebook (the sample report) with the same parameters, on the same seeded store,
RUNS times each, interleaved (Reportbook, stock, jupyter-scheduler, Reportbook, ...) so that
load changes on this shared machine hit all three alike:

- Reportbook: `reportbook run` (two workers, kernel pool) in a temporary data dir;
  POST /v1/tasks -> poll GET /v1/tasks/{id} -> GET .../pdf, timed to the task's finished_at
  plus the download (bench/product.py `request_to_pdf`).
- stock: `papermill NOTEBOOK out.ipynb -y PARAMS` then `jupyter nbconvert --to reportpdf
  out.ipynb`: the stock CLIs, each a fresh process. `reportpdf` is nbconvert's CLI running this
  project's HTML -> PDF exporter (WeasyPrint): `--to webpdf` needs Chromium (+ playwright), which
  this machine has not, and `--to pdf` needs ~900 MB of TeX; the exporter is the same one
  Reportbook uses, so the comparison is of the engines, not of PDF renderers.
- jupyter-scheduler (2.12.1, in its own virtualenv var/bench/jupyter-scheduler-venv, made on
  first use: it pins croniter~=1.4, which conflicts with this project's croniter>=2): `jupyter
  server` with its extension on a free port with a token; POST /scheduler/jobs {input_uri,
  runtime_environment_name, parameters, output_formats} -> poll GET /scheduler/jobs/{id} to
  COMPLETED, timed to the job's own end_time. Its output formats are ipynb and html only: NO PDF is made for it, which
  flatters it. Its kernel is this project's python3 (a kernelspec in its private data dir).

Usage: python bench/versus.py [--runs N] [--no-scheduler]   (default 5 runs)
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from product import BENCH, ROOT, load, request_to_pdf, running_product

from reporting.processes import free_port, stop, wait_for_port

NOTEBOOK = ROOT / "notebooks" / "reddit_report.ipynb"
PARAMETERS = {"product": "home-espresso", "start": "2026-07-01", "end": "2026-09-30"}
SCHEDULER_VERSION = "2.12.1"
SCHEDULER_VENV = BENCH.parent / "var" / "bench" / "jupyter-scheduler-venv"
BIN = Path(sys.executable).parent


def reportbook_once(client: httpx.Client) -> float:
    return request_to_pdf(client, {"notebook": "reddit_report", "parameters": PARAMETERS})[0]


def stock_once(env: dict[str, str], out: Path) -> dict[str, float]:
    """papermill CLI, then nbconvert CLI to PDF; seconds of each and in all."""
    out.mkdir(parents=True, exist_ok=True)
    executed = out / "report.ipynb"
    t0 = time.perf_counter()
    subprocess.run(
        [str(BIN / "papermill"), str(NOTEBOOK), str(executed), "-y", json.dumps(PARAMETERS),
         "-k", "python3", "--cwd", str(NOTEBOOK.parent), "--no-progress-bar"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    t1 = time.perf_counter()
    subprocess.run(
        [str(BIN / "jupyter-nbconvert"), "--to", "reportpdf", str(executed), "--output-dir",
         str(out)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    t2 = time.perf_counter()
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    (out / "report.pdf").unlink()
    return {"papermill": t1 - t0, "nbconvert": t2 - t1, "total": t2 - t0}


def ensure_scheduler_venv() -> Path:
    python = SCHEDULER_VENV / "bin" / "python"
    if not (SCHEDULER_VENV / "bin" / "jupyter-server").exists():
        print(f"installing jupyter-scheduler=={SCHEDULER_VERSION} into {SCHEDULER_VENV} ...")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(SCHEDULER_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r",
             str(BENCH / "requirements-jupyter-scheduler.txt")],
            check=True,
        )  # fmt: skip
    return SCHEDULER_VENV / "bin"


@contextmanager
def jupyter_scheduler(data_dir: Path, work: Path) -> Iterator[tuple[httpx.Client, str]]:
    """`jupyter server` + jupyter_scheduler with private Jupyter dirs; yields (client, the
    runtime environment name)."""
    bin_dir = ensure_scheduler_venv()
    root = work / "root"
    root.mkdir(parents=True)
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    jupyter_data = work / "jupyter-data"
    kernel = jupyter_data / "kernels" / "python3"
    kernel.mkdir(parents=True)
    # The same kernel Reportbook runs: this project's interpreter (pandas, reporting, ...).
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3", "language": "python",
            "env": {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}}  # fmt: skip
    (kernel / "kernel.json").write_text(json.dumps(spec))
    token, port = secrets.token_hex(16), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JUPYTER_PATH")}
    env.update(REPORTBOOK_DATA_DIR=str(data_dir), JUPYTER_DATA_DIR=str(jupyter_data),
               JUPYTER_CONFIG_DIR=str(work / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(work / "jupyter-runtime"), MONGODB_URI="")  # fmt: skip
    log = open(work / "jupyter-server.log", "w")
    process = subprocess.Popen(
        [str(bin_dir / "jupyter-server"), "--no-browser", "--allow-root", f"--port={port}",
         "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True,
    )  # fmt: skip
    try:
        try:
            wait_for_port(port, timeout=60, process=process)
        except (RuntimeError, TimeoutError):
            log.flush()
            print((work / "jupyter-server.log").read_text()[-3000:], file=sys.stderr)
            raise
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(
            base_url=base, headers={"Authorization": f"token {token}"}, timeout=60
        ) as client:
            deadline = time.monotonic() + 60
            while True:
                reply = client.get("/scheduler/runtime_environments")
                if reply.status_code == 200:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter_scheduler not loaded: {reply.status_code}")
                time.sleep(0.2)
            try:
                yield client, reply.json()[0]["name"]
            except Exception:
                log.flush()
                print((work / "jupyter-server.log").read_text()[-5000:], file=sys.stderr)
                raise
    finally:
        stop(process)
        log.close()


def scheduler_once(client: httpx.Client, environment: str, poll: float = 0.25) -> dict[str, float]:
    """One job to COMPLETED (ipynb + html written); jupyter-scheduler makes no PDF. Timed
    from the POST to the job's own end_time (ms), so polling granularity does not count;
    split at its start_time (written by the job process once it has started and imported)."""
    sent = time.time()
    reply = client.post("/scheduler/jobs", json={
        "name": "bench", "input_uri": NOTEBOOK.name, "runtime_environment_name": environment,
        "output_formats": ["ipynb", "html"],
        # Its parameters are source text: injected as `name = value` lines.
        "parameters": {k: repr(v) for k, v in PARAMETERS.items()},
    })  # fmt: skip
    reply.raise_for_status()
    job_id = reply.json()["job_id"]
    while True:
        job = client.get(f"/scheduler/jobs/{job_id}").json()
        if job["status"] == "COMPLETED":
            start, end = job["start_time"] / 1000, job["end_time"] / 1000
            return {"total": end - sent, "to_start": start - sent, "run": end - start}
        # A new job reads STOPPED (the column's default) until its process starts.
        if job["status"] == "FAILED" or (job["status"] == "STOPPED" and job["start_time"]):
            raise RuntimeError(f"jupyter-scheduler job failed: {job}")
        time.sleep(poll)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-scheduler", action="store_true", help="skip jupyter-scheduler")
    args = parser.parse_args()
    print(f"start: {load()}")
    rows: dict[str, list[float]] = {"reportbook": [], "stock": [], "jupyter-scheduler": []}
    stock_parts: list[dict[str, float]] = []
    js_parts: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="reportbook-versus-") as tmp:
        work, data_dir = Path(tmp), Path(tmp) / "var"
        env = {**os.environ, "REPORTBOOK_DATA_DIR": str(data_dir), "MONGODB_URI": ""}
        with running_product(data_dir) as client:
            reportbook_once(client)  # warm-up
            stock_once(env, work / "stock")  # warm-up (page cache, .pyc)
            scheduler = jupyter_scheduler(data_dir, work / "js") if not args.no_scheduler else None
            with scheduler if scheduler else _nothing() as js:
                if js:
                    scheduler_once(*js)  # warm-up
                for i in range(args.runs):
                    rows["reportbook"].append(reportbook_once(client))
                    stock_parts.append(stock_once(env, work / "stock"))
                    rows["stock"].append(stock_parts[-1]["total"])
                    if js:
                        js_parts.append(scheduler_once(*js))
                        rows["jupyter-scheduler"].append(js_parts[-1]["total"])
                    print(f"  run {i + 1}: " + "  ".join(f"{k} {v[-1]:.2f}" for k, v in rows.items()
                                                         if v) + f"  ({load()})")  # fmt: skip

    med = {k: statistics.median(v) for k, v in rows.items() if v}
    print(f"sample report, same parameters, median of {args.runs} interleaved runs (seconds)")
    print(f"  Reportbook: request -> PDF                      {med['reportbook']:6.2f}")
    print(f"  stock: papermill CLI + nbconvert --to reportpdf {med['stock']:6.2f}"
          f"  (papermill {statistics.median(p['papermill'] for p in stock_parts):.2f},"
          f" nbconvert {statistics.median(p['nbconvert'] for p in stock_parts):.2f})")  # fmt: skip
    if "jupyter-scheduler" in med:
        print(f"  jupyter-scheduler: POST -> COMPLETED (no PDF)  {med['jupyter-scheduler']:6.2f}"
              f"  (POST -> job process started {statistics.median(p['to_start'] for p in js_parts):.2f},"
              f" kernel + cells + ipynb/html {statistics.median(p['run'] for p in js_parts):.2f})")  # fmt: skip
    for other in ("stock", "jupyter-scheduler"):
        if other in med:
            ratio = med[other] / med["reportbook"]
            verdict = "met" if ratio >= 3 else "NOT met"
            print(f"  {other} / Reportbook = {ratio:.2f}x  (target >= 3x: {verdict})")
    print(f"end: {load()}")


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    main()
