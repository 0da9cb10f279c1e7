"""`reportbook run` for the tests that drive the product over HTTP, as a user runs it: on a
data dir of its own, with the suite's notebooks and store (embedded, or TEST_MONGODB_URI)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from reporting.processes import running_product
from tests.conftest import TEST_MONGODB_URI, fresh_database


@dataclass
class Live:
    base: str
    process: subprocess.Popen
    client: httpx.Client  # on `base`, without credentials
    data: Path  # the product's data dir (master.key lives there)
    log: Path

    def admin_key(self, name: str = "admin") -> str:
        """A new admin service key, made with the generated master key."""
        master = (self.data / "master.key").read_text().strip()
        made = self.client.post("/v1/admin/api-keys", headers={"X-Master-Key": master},
                                json={"name": name, "role": "admin"})  # fmt: skip
        assert made.status_code == 201, made.text
        return str(made.json()["key"])


@contextmanager
def live_product(
    folder: Path, notebooks_dir: Path, workers: int = 2, timeout: float = 60, **env: str
) -> Iterator[Live]:
    with (
        running_product(
            folder / "var",
            folder / "run.log",
            workers=workers,
            REPORTBOOK_NOTEBOOKS_DIR=str(notebooks_dir),
            MONGODB_URI=TEST_MONGODB_URI,
            MONGODB_DATABASE=fresh_database(),
            **env,
        ) as (base, process),
        httpx.Client(base_url=base, timeout=timeout) as client,
    ):
        yield Live(base, process, client, folder / "var", folder / "run.log")
