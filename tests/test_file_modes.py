"""The data dir is private: 0700 folders, 0600 files (the embedded store holds key hashes,
the artifacts are clients' reports, master.key is the master key). Real store, real files."""

from __future__ import annotations

import stat
from pathlib import Path

from reporting.access import Role
from reporting.api_keys import ApiKeyRepository
from reporting.artifacts import open_artifacts
from reporting.settings import load_settings, read_or_create_secret
from reporting.store import open_store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _everything_private(root: Path) -> list[str]:
    wrong = [] if _mode(root) == 0o700 else [f"{root} {_mode(root):o}"]
    for path in root.rglob("*"):
        want = 0o700 if path.is_dir() else 0o600
        if _mode(path) & ~want:
            wrong.append(f"{path} {_mode(path):o}")
    return wrong


def test_store_artifacts_and_secrets_are_private(tmp_path: Path, redis_server: str):
    settings = load_settings(data_dir=tmp_path / "var", mongodb_uri="", redis_url=redis_server)
    read_or_create_secret(settings.master_key_file)
    store = open_store(settings)
    try:
        ApiKeyRepository(store.db, settings.pepper()).create("k", Role.admin, owner_id=None)
        open_artifacts(settings, store).put("task-1", "report.pdf", b"%PDF-1.7")
    finally:
        store.close()
    data = settings.data_dir
    files = [p for p in data.rglob("*") if p.is_file()]
    assert settings.master_key_file in files and data / "artifacts/task-1/report.pdf" in files
    assert any(p.is_relative_to(settings.embedded_db_dir) for p in files)  # the store's own
    assert not _everything_private(data)


def test_an_older_store_is_narrowed_when_opened(tmp_path: Path, redis_server: str):
    settings = load_settings(data_dir=tmp_path / "var", mongodb_uri="", redis_url=redis_server)
    old = settings.embedded_db_dir / "shard"
    old.mkdir(parents=True)
    settings.data_dir.chmod(0o755)
    settings.embedded_db_dir.chmod(0o755)
    old.chmod(0o755)
    (old / "data.sqlite").write_bytes(b"")
    (old / "data.sqlite").chmod(0o644)
    open_store(settings).close()
    assert _mode(settings.data_dir) == 0o700
    assert not _everything_private(settings.embedded_db_dir)
