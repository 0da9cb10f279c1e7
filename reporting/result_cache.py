"""The result cache: an identical request is answered with the report already made.

A report is identified by what produced it: the notebook's content (a hash of the file), the
validated parameters and the version of every input it reads (reporting/data_versions.py:
the task's product, by id and by slug: the only product a run reads). The
worker records this key on a task when its run starts and succeeds; a later request whose
key matches a successful task becomes a new task that is `success` at once, marked
`cache_hit` and `cached_from`, sharing the earlier task's files. Any change to the notebook,
the parameters or the data gives another key: a miss, and a real run.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from reporting.data_versions import DataVersions

FORMAT = 1  # bump when what a run produces changes for the same inputs (e.g. the template)


@lru_cache(maxsize=256)
def _file_digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def notebook_digest(path: Path) -> str:
    stat = path.stat()
    return _file_digest(path, stat.st_mtime_ns, stat.st_size)


def data_keys(product: dict[str, Any]) -> list[str]:
    """What a run for `product` may read: its data, keyed by its id and its slug (a run reads
    only its own product's data: reporting/product_context.py)."""
    return sorted(k for k in (product["_id"], product.get("slug", "")) if k)


def cache_key(
    notebook_path: Path,
    parameters: dict[str, Any],
    product: dict[str, Any],
    versions: DataVersions,
) -> str:
    identity = {
        "format": FORMAT,
        "notebook": notebook_digest(notebook_path),
        "parameters": parameters,
        "data": versions.of(data_keys(product)),
    }
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
