"""One Settings object, read from the environment (and `.env`) once and passed in."""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reporting.output_limits import OutputLimits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MASTER_KEY_FILE = "master.key"
PEPPER_FILE = "api-key-pepper"


def private_dir(path: Path) -> Path:
    """`path`, made if missing, with mode 0700 (only its owner may list or enter it): the data
    dir and the folders under it hold key hashes, secrets and reports. A folder of another
    user keeps its mode."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_mode & 0o077 and info.st_uid == os.getuid():
        path.chmod(0o700)
    return path


def read_or_create_secret(path: Path) -> str:
    """The secret kept in `path`, made (random, mode 0600) if the file does not exist, in a
    0700 folder."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def _secret_from_file(path: Path) -> SecretStr | None:
    return SecretStr(path.read_text().strip()) if path.is_file() else None


def _clear(secret: SecretStr | None) -> str | None:
    return (secret.get_secret_value() or None) if secret is not None else None


class Environment(StrEnum):
    development = "development"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    environment: Environment = Environment.development
    data_dir: Path = Field(default=Path("var"), validation_alias="REPORTBOOK_DATA_DIR")
    notebooks_dir: Path = Field(
        default=PROJECT_ROOT / "notebooks", validation_alias="REPORTBOOK_NOTEBOOKS_DIR"
    )
    mongodb_uri: str | None = None
    mongodb_database: str = "reportbook"
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "reports"
    master_key: SecretStr | None = None
    api_key_pepper: SecretStr | None = None
    firebase_project_id: str | None = None
    firebase_auth_emulator_host: str | None = None
    scheduler_interval_seconds: float = Field(default=3600, gt=0)
    task_timeout_seconds: int = Field(default=1800, gt=0)
    heartbeat_interval_seconds: float = Field(default=5, gt=0)
    heartbeat_timeout_seconds: float = Field(default=60, gt=0)
    lost_job_grace_seconds: float = Field(default=30, ge=0)
    kernel_name: str = "python3"
    kernel_pool: bool = True  # workers keep a pre-started python3 kernel (scheduler.kernel_pool)
    # What a report may hold (reporting/output_limits.py) and how long its export may take.
    report_cell_output_max_lines: int = Field(default=500, gt=0)
    report_cell_output_max_chars: int = Field(default=50_000, gt=0)
    report_output_max_bytes: int = Field(default=20_000_000, gt=0)
    output_hard_limit_bytes: int = Field(default=200_000_000, gt=0)
    export_timeout_seconds: float = Field(default=300, gt=0)
    log_format: Literal["json", "text"] | None = None  # default: json in production
    sentry_dsn: str | None = None  # unset or empty: Sentry off
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)  # 0: no tracing
    release: str | None = None  # default: reportbook@<installed package version>
    slack_webhook_url: str | None = None  # unset or empty: no Slack alerts
    slack_min_interval_seconds: float = Field(default=600, ge=0)  # per notebook + error
    slack_timeout_seconds: float = Field(default=3, gt=0)
    public_base_url: str = "http://127.0.0.1:8000"  # for links to tasks in alerts
    reddit_base_url: str = "https://www.reddit.com"  # public JSON listings (fetch-reddit)
    # n8n (reporting.n8n): steps that run an n8n workflow; unset: those steps fail clearly.
    n8n_base_url: str | None = None  # e.g. http://127.0.0.1:5678 (webhooks + public API)
    n8n_api_key: SecretStr | None = None  # X-N8N-API-KEY, to poll executions
    n8n_inbound_secret: SecretStr | None = None  # X-Reportbook-Secret on /v1/inbound/n8n/*
    n8n_poll_timeout_seconds: float = Field(default=600, gt=0)  # one execution, at most
    n8n_sov_webhook_path: str | None = None  # the share-of-voice workflow's webhook path

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        self.notebooks_dir = self.notebooks_dir.expanduser().resolve()
        if self.mongodb_uri == "":
            self.mongodb_uri = None
        self.n8n_base_url = (self.n8n_base_url or "").rstrip("/") or None
        self.n8n_sov_webhook_path = (self.n8n_sov_webhook_path or "").strip("/") or None
        self.master_key = self.master_key or _secret_from_file(self.master_key_file)
        self.api_key_pepper = self.api_key_pepper or _secret_from_file(self.pepper_file)
        if self.environment is Environment.production:
            missing = [name for name, value in [("MASTER_KEY", self.master_key),
                       ("API_KEY_PEPPER", self.api_key_pepper)] if value is None]  # fmt: skip
            if missing:
                raise ValueError(f"{' and '.join(missing)} must be set when ENVIRONMENT=production")
        return self

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def embedded_db_dir(self) -> Path:
        return self.data_dir / "db"

    @property
    def job_timeout_seconds(self) -> int:
        """RQ's hard limit for one job: the run's own limit plus time to record the result."""
        return self.task_timeout_seconds + 600

    @property
    def maintenance_interval_seconds(self) -> float:
        """How often the scheduler looks for dead workers' tasks and jobs Redis lost."""
        return min(self.scheduler_interval_seconds, self.heartbeat_timeout_seconds / 2)

    @property
    def output_limits(self) -> OutputLimits:
        return OutputLimits(
            cell_lines=self.report_cell_output_max_lines,
            cell_chars=self.report_cell_output_max_chars,
            report_bytes=self.report_output_max_bytes,
            hard_bytes=self.output_hard_limit_bytes,
        )

    @property
    def master_key_file(self) -> Path:
        return self.data_dir / MASTER_KEY_FILE

    @property
    def pepper_file(self) -> Path:
        return self.data_dir / PEPPER_FILE

    def n8n_api_key_value(self) -> str | None:
        """N8N_API_KEY in clear (None when unset or empty)."""
        return _clear(self.n8n_api_key)

    def n8n_inbound_secret_value(self) -> str | None:
        """N8N_INBOUND_SECRET in clear (None when unset or empty)."""
        return _clear(self.n8n_inbound_secret)

    def pepper(self) -> str:
        """The API-key pepper: API_KEY_PEPPER, else one kept under the data dir (made once;
        production refuses to start without API_KEY_PEPPER, so replicas share it)."""
        if self.api_key_pepper is not None:
            return self.api_key_pepper.get_secret_value()
        return read_or_create_secret(self.pepper_file)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment; keyword overrides win (used by tests)."""
    return Settings(**overrides)
