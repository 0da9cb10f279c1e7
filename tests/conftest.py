"""Shared fixtures: a real redis-server, a real embedded store in a temporary data dir, and the
project's notebooks plus the test fixtures in one notebooks directory."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from redis import Redis

from reporting.processes import start_redis, stop
from reporting.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
MASTER_KEY = "test-master-key-0123456789"
# Where the tests keep documents: the embedded store by default; a real MongoDB when
# TEST_MONGODB_URI is set (GitHub Actions runs the suite against a mongo service container).
TEST_MONGODB_URI = os.environ.get("TEST_MONGODB_URI", "")


def fresh_database() -> str:
    """A database name of its own for one test (or one module) on a shared MongoDB."""
    return f"test_{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory):
    process, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    stop(process)


@pytest.fixture
def redis_url(redis_server: str):
    client = Redis.from_url(redis_server)
    client.flushall()
    yield redis_server
    client.flushall()
    client.close()


@pytest.fixture(scope="session")
def notebooks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The product's notebooks and the test fixture notebooks, side by side."""
    folder = tmp_path_factory.mktemp("notebooks")
    for source in [
        *(ROOT / "notebooks").glob("*.ipynb"),
        *(ROOT / "tests/notebooks").glob("*.ipynb"),
    ]:
        shutil.copy(source, folder / source.name)
    return folder


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, notebooks_dir: Path, monkeypatch) -> Settings:
    """Settings for one test, also exported to the environment so that the kernels a test
    starts (which read their settings from the environment) use the same store."""
    env = {
        "REPORTBOOK_DATA_DIR": str(tmp_path / "data"),
        "REPORTBOOK_NOTEBOOKS_DIR": str(notebooks_dir),
        "REDIS_URL": redis_url,
        "MASTER_KEY": MASTER_KEY,
        "MONGODB_URI": TEST_MONGODB_URI,
        "MONGODB_DATABASE": fresh_database(),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def queued_job_ids(settings: Settings) -> list[str]:
    """Every job waiting in Redis, in the order workers would take them."""
    from reporting.queue import TaskQueue

    return [job for queue in TaskQueue(settings).in_order for job in queue.job_ids]


def sample_frames():
    """The sample data's posts and comments as the repository loads them (with `created`)."""
    import pandas as pd

    from reporting.sample_data import generate

    posts, comments = (pd.DataFrame(d) for d in generate())
    for df in (posts, comments):
        df["created"] = pd.to_datetime(df["created_utc"], unit="s", utc=True)
    return posts, comments


def make_product(settings: Settings, name: str = "Home espresso", folder: str = "Clients") -> dict:
    """A folder and a product in it, straight in the store: the resources tasks belong to."""
    from reporting.products import FolderRepository, ProductRepository
    from reporting.store import open_store

    db = open_store(settings).db
    folder_doc = FolderRepository(db).create(folder, "test")
    return ProductRepository(db).create(name, folder_doc["_id"], "test")


@pytest.fixture
def pid(settings: Settings) -> str:
    """The id of a product the tests' tasks belong to."""
    return make_product(settings)["_id"]


@pytest.fixture
def store(settings: Settings):
    """The test settings' store, with the indexes raw Reddit data and its imports need."""
    from reporting.ingestion import IngestionRepository
    from reporting.reddit import RedditRepository
    from reporting.store import open_store

    store = open_store(settings)
    RedditRepository(store.db).ensure_indexes()
    IngestionRepository(store.db).ensure_indexes()
    yield store
    store.close()


@pytest.fixture
def product(settings: Settings, store) -> dict:
    """A product in `store`, slug "home-espresso"."""
    return make_product(settings)


@pytest.fixture
def app(settings):
    from service.main import create_app

    return create_app(settings)


@pytest.fixture
def client(app):
    """The API in-process (FastAPI's TestClient), started and stopped like the real server."""
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        yield client


@pytest.fixture
def auth(client) -> dict[str, str]:
    """Headers carrying an admin service API key (made with the master key)."""
    response = client.post(
        "/v1/admin/api-keys",
        headers={"X-Master-Key": MASTER_KEY},
        json={"name": "t", "role": "admin"},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


@pytest.fixture(scope="session")
def firebase_emulator(tmp_path_factory: pytest.TempPathFactory):
    """The real Firebase Auth emulator, once per session."""
    from tests.firebase_emulator import running_emulator

    with running_emulator(tmp_path_factory.mktemp("firebase")) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def n8n_server(tmp_path_factory: pytest.TempPathFactory):
    """A real n8n with the workflow fixtures active, once per session (an error naming the
    reason when it is not installed)."""
    from tests.n8n_server import running_n8n

    with running_n8n(tmp_path_factory.mktemp("n8n")) as server:
        yield server
