"""The long-lived objects the API works with, built once at start-up from the Settings."""

from __future__ import annotations

from dataclasses import dataclass

from reporting.api_keys import ApiKeyRepository
from reporting.artifacts import ArtifactStore, open_artifacts
from reporting.notebooks import NotebookCatalog
from reporting.queue import TaskQueue
from reporting.settings import Settings
from reporting.store import Store, open_store
from reporting.tasks import TaskRepository


@dataclass
class AppContext:
    settings: Settings
    store: Store
    tasks: TaskRepository
    api_keys: ApiKeyRepository
    artifacts: ArtifactStore
    catalog: NotebookCatalog
    queue: TaskQueue

    @classmethod
    def open(cls, settings: Settings) -> AppContext:
        store = open_store(settings)
        tasks = TaskRepository(store.db)
        api_keys = ApiKeyRepository(store.db)
        tasks.ensure_indexes()
        api_keys.ensure_indexes()
        return cls(
            settings=settings,
            store=store,
            tasks=tasks,
            api_keys=api_keys,
            artifacts=open_artifacts(settings, store),
            catalog=NotebookCatalog(settings.notebooks_dir),
            queue=TaskQueue(settings),
        )

    def close(self) -> None:
        self.queue.redis.close()
        self.store.close()
