"""Configuration, read from OPARL_* environment variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import PositiveInt, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPARL_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8000
    # Where the default SQLite database and stored file contents live.
    data_dir: Path = Path("data")
    # Defaults to SQLite in data_dir; PostgreSQL: postgresql+psycopg://user@host:5432/dbname
    database_url: str = ""
    # Ids and links are built from this, never from the request's Host; defaults to http://HOST:PORT.
    public_base_url: str = ""
    # Time zone of date-times in responses, and of filter values sent without an offset.
    timezone: str = "Europe/Berlin"
    default_page_size: int = 100
    max_page_size: int = 1000
    # Largest request body the write API accepts.
    max_body_bytes: int = 16 * 1024 * 1024
    # Per worker: megabytes of list pages and compressed answers kept in memory.
    cache_mb: int = 48
    # Cache-Control max-age of public answers; 0 lets caches keep them but revalidate each time.
    cache_max_age: int = 0
    # Threads per worker that run requests (each with a pooled database connection): more only
    # wait for Python's GIL.
    threads: PositiveInt = 8
    # Threads per worker for the write API, apart from the readers' above, so writes never queue
    # behind reads. Writes take turns in the database anyway; with one, they do so here instead
    # of racing there (a lost race answers 409).
    write_threads: PositiveInt = 1
    # One log line per request from `oparl-server serve` (a proxy in front usually logs them already).
    access_log: bool = True
    # Worker processes of `oparl-server serve` (each with its own cache; all share the database).
    workers: int = 1
    # Benchmark only: GET /bench/ceiling answers this file's bytes, the ceiling of the app stack.
    bench_ceiling_file: Path | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{(self.data_dir / 'oparl.sqlite3').resolve()}")
        elif self.database_url.startswith(("postgresql://", "postgres://")):
            # Plain URLs would pick psycopg2; this project ships psycopg 3.
            scheme, rest = self.database_url.split("://", 1)
            object.__setattr__(self, "database_url", f"postgresql+psycopg://{rest}")
        if not self.public_base_url:
            object.__setattr__(self, "public_base_url", f"http://{self.host}:{self.port}")
        if not self.public_base_url.startswith(("http://", "https://")):
            raise ValueError("OPARL_PUBLIC_BASE_URL must be an absolute http(s) URL")
        object.__setattr__(self, "public_base_url", self.public_base_url.rstrip("/"))
        if not 1 <= self.default_page_size <= self.max_page_size:
            raise ValueError("OPARL_DEFAULT_PAGE_SIZE must be between 1 and OPARL_MAX_PAGE_SIZE")
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"
