"""Where a run's outputs live: GridFS on MongoDB, files under the data dir on the embedded store.

One interface, `ArtifactStore`: `put(task_id, name, data)` and `get(task_id, name)`.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from reporting.errors import NotFound
from reporting.settings import Settings, private_dir
from reporting.store import Backend, Store

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _check(task_id: str, name: str) -> None:
    if not (SAFE_NAME.match(task_id) and SAFE_NAME.match(name)) or ".." in name:
        raise ValueError(f"unsafe artifact path {task_id!r}/{name!r}")


class ArtifactStore(Protocol):
    def put(self, task_id: str, name: str, data: bytes) -> None: ...

    def get(self, task_id: str, name: str) -> bytes: ...


class FileArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, task_id: str, name: str, data: bytes) -> None:
        _check(task_id, name)
        private_dir(self.root)
        folder = private_dir(self.root / task_id)
        # Write then rename, so a reader never sees half a file; mkstemp makes it 0600.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, folder / name)

    def get(self, task_id: str, name: str) -> bytes:
        _check(task_id, name)
        try:
            return (self.root / task_id / name).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"artifact {name!r} of task {task_id!r} not found") from None


class GridFSArtifactStore:
    def __init__(self, db: Any) -> None:
        import gridfs

        self.fs = gridfs.GridFSBucket(db, bucket_name="artifacts")

    def put(self, task_id: str, name: str, data: bytes) -> None:
        _check(task_id, name)
        self.fs.upload_from_stream(f"{task_id}/{name}", data)

    def get(self, task_id: str, name: str) -> bytes:
        import gridfs

        _check(task_id, name)
        try:
            # The newest revision wins if a run was retried.
            return self.fs.open_download_stream_by_name(f"{task_id}/{name}").read()
        except gridfs.errors.NoFile:
            raise NotFound(f"artifact {name!r} of task {task_id!r} not found") from None


def open_artifacts(settings: Settings, store: Store) -> ArtifactStore:
    if store.backend is Backend.mongodb:
        return GridFSArtifactStore(store.db)
    private_dir(settings.data_dir)
    return FileArtifactStore(settings.artifacts_dir)
