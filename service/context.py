"""The long-lived objects the API works with, built once at start-up from the Settings."""

from __future__ import annotations

from dataclasses import dataclass

from reporting.api_keys import ApiKeyRepository
from reporting.artifacts import ArtifactStore, open_artifacts
from reporting.audit import AuditLog
from reporting.firebase import FirebaseVerifier
from reporting.notebooks import NotebookCatalog
from reporting.products import FolderRepository, ProductRepository
from reporting.queue import TaskQueue
from reporting.settings import Settings
from reporting.store import Store, open_store
from reporting.tasks import TaskRepository
from reporting.users import GrantRepository, UserRepository


@dataclass
class AppContext:
    settings: Settings
    store: Store
    tasks: TaskRepository
    api_keys: ApiKeyRepository
    users: UserRepository
    grants: GrantRepository
    folders: FolderRepository
    products: ProductRepository
    audit: AuditLog
    artifacts: ArtifactStore
    catalog: NotebookCatalog
    queue: TaskQueue
    firebase: FirebaseVerifier

    @classmethod
    def open(cls, settings: Settings) -> AppContext:
        store = open_store(settings)
        context = cls(
            settings=settings,
            store=store,
            tasks=TaskRepository(store.db),
            api_keys=ApiKeyRepository(store.db, settings.pepper()),
            users=UserRepository(store.db),
            grants=GrantRepository(store.db),
            folders=FolderRepository(store.db),
            products=ProductRepository(store.db),
            audit=AuditLog(store.db),
            artifacts=open_artifacts(settings, store),
            catalog=NotebookCatalog(settings.notebooks_dir),
            queue=TaskQueue(settings),
            firebase=FirebaseVerifier(
                settings.firebase_project_id, settings.firebase_auth_emulator_host
            ),
        )
        for repository in (context.tasks, context.api_keys, context.grants, context.products,
                           context.audit):  # fmt: skip
            repository.ensure_indexes()
        return context

    def close(self) -> None:
        self.queue.redis.close()
        self.store.close()
