"""The long-lived objects the API works with, built once at start-up from the Settings."""

from __future__ import annotations

from dataclasses import dataclass

from reporting.api_keys import ApiKeyRepository
from reporting.artifacts import ArtifactStore, open_artifacts
from reporting.audit import AuditLog
from reporting.data_versions import DataVersions
from reporting.firebase import FirebaseVerifier
from reporting.ingestion import IngestionRepository
from reporting.notebooks import NotebookCatalog
from reporting.products import FolderRepository, ProductRepository
from reporting.queue import TaskQueue
from reporting.reddit import RedditRepository
from reporting.research import ResearchRepository
from reporting.settings import Settings
from reporting.snapshots import SnapshotRepository
from reporting.sov_scrapes import SovScrapeRepository
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
    research: ResearchRepository
    audit: AuditLog
    reddit: RedditRepository
    ingestions: IngestionRepository
    artifacts: ArtifactStore
    catalog: NotebookCatalog
    queue: TaskQueue
    firebase: FirebaseVerifier
    snapshots: SnapshotRepository
    data_versions: DataVersions
    sov_scrapes: SovScrapeRepository

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
            research=ResearchRepository(store.db),
            audit=AuditLog(store.db),
            reddit=RedditRepository(store.db),
            ingestions=IngestionRepository(store.db),
            artifacts=open_artifacts(settings, store),
            catalog=NotebookCatalog(settings.notebooks_dir),
            queue=TaskQueue(settings),
            firebase=FirebaseVerifier(
                settings.firebase_project_id, settings.firebase_auth_emulator_host
            ),
            snapshots=SnapshotRepository(store.db),
            data_versions=DataVersions(store.db),
            sov_scrapes=SovScrapeRepository(store.db),
        )
        for repository in (context.tasks, context.api_keys, context.grants, context.products,
                           context.research, context.audit, context.snapshots, context.reddit,
                           context.ingestions, context.sov_scrapes):  # fmt: skip
            repository.ensure_indexes()
        return context

    def close(self) -> None:
        self.queue.redis.close()
        self.store.close()
