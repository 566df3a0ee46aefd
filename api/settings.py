"""Configuration, read from OPARL_* environment variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import limits
from pydantic import Field, PositiveInt, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from api import netaddr
from oparl.ingest.guard import Network, parse_networks
from oparl.publisher import Publisher
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder

# Addresses that mean "every interface": no client can reach an id built from them.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]", ""})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPARL_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8000
    # Where the default SQLite database lives.
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
    # Largest file content the upload (PUT /write/v1/file/{key}/content) accepts; it is streamed, not held.
    max_upload_bytes: int = 256 * 1024 * 1024
    # Per worker: megabytes of answers kept in memory, each in the one form it was sent in, all in
    # one budget: 24 hold more answers than 48 did in two halves with two forms of each, and keep a
    # worker under 200 MB through whole harvests (bench/RESULTS.md, issue 18).
    cache_mb: int = 24
    # Cache-Control max-age of public answers; 0 lets caches keep them but revalidate each time.
    cache_max_age: int = 0
    # Threads per worker that run requests (each with a pooled database connection): more only
    # wait for Python's GIL. Four measured best on 2 cores (bench/RESULTS.md, write latency): with
    # eight, cache-missing readers both answered fewer requests and kept writes waiting longer.
    threads: PositiveInt = 4
    # Threads per worker for the write API, apart from the readers' above, so writes never queue
    # behind reads. Writes take turns in the database anyway; with one, they do so here instead
    # of racing there (a lost race answers 409).
    write_threads: PositiveInt = 1
    # One log line per request from `oparl-server serve` (a proxy in front usually logs them already).
    access_log: bool = True
    # Worker processes of `oparl-server serve` (each with its own cache; all share the database).
    workers: int = 1
    # `oparl-server harvest` connects to public addresses only; these networks (comma-separated,
    # e.g. "127.0.0.0/8,::1/128" or "10.20.0.0/16") are allowed besides.
    harvest_allow_networks: str = ""
    # Largest file content and JSON page a harvest takes, and seconds one answer's body may take.
    harvest_max_file_bytes: int = 256 * 1024 * 1024
    harvest_max_page_bytes: int = 64 * 1024 * 1024
    harvest_max_seconds: float = 600.0
    # Retry-After (seconds) of the 503 answered while the database is unreachable.
    outage_retry_after: int = 10
    # Operations (README "Health, metrics, logs, limits"). Log lines: "text" or "json" (one JSON object a line).
    log_format: Literal["text", "json"] = "text"
    # Who may read /metrics (addresses or networks, after OPARL_TRUSTED_PROXIES); empty: nobody.
    metrics_allow: Annotated[list[str], NoDecode] = ["127.0.0.0/8", "::1/128"]
    # Proxies whose X-Forwarded-For is believed; anyone else's is ignored.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Requests per address (anonymous) and per token, in the `limits` notation; "" switches one off.
    rate_limit: str = "1200/minute"
    rate_limit_token: str = "6000/minute"
    # Requests with a token that turned out invalid, per address: guessing tokens is cut off early.
    rate_limit_auth_failures: str = "30/minute"
    # Addresses or networks never limited (a city's own harvesters, the monitoring). Loopback by
    # default: the demo, benchmarks, and a proxy on the same host until OPARL_TRUSTED_PROXIES names it.
    rate_limit_allow: Annotated[list[str], NoDecode] = ["127.0.0.0/8", "::1/128"]
    # Shared counters for every worker and host; without it, each worker counts for itself.
    redis_url: str = ""
    rate_limit_prefix: str = "oparl"
    # Seconds a client may take to send each part of a request body (408 beyond).
    body_read_timeout: float = 30.0
    # `harvest` writes its counts there for node_exporter's textfile collector (see README).
    harvest_metrics_file: Path | None = None
    # Webhooks (README "Webhooks"): receivers on public addresses only, unless in these networks
    # (comma-separated, like OPARL_HARVEST_ALLOW_NETWORKS).
    webhook_allow_networks: str = ""
    # Feed entries per delivery, seconds a receiver has to answer, failures in a row that disable a
    # subscription, seconds before the first retry (doubling up to the maximum).
    webhook_batch: PositiveInt = 100
    webhook_timeout: float = 10.0
    webhook_max_failures: PositiveInt = 10
    webhook_backoff_seconds: float = 30.0
    webhook_backoff_max_seconds: float = 6 * 3600.0
    # Deliver from a background thread of every worker (the lease holder delivers); otherwise run
    # `oparl-server deliver`. Seconds between idle rounds, and the lease's length.
    webhook_deliver_in_workers: bool = False
    webhook_interval: float = 2.0
    webhook_lease_seconds: float = 60.0
    # kommParl change feed: days its entries are kept (the draft's minimum, 30, is the least allowed);
    # a cursor older than that gets 410. Snapshots streamed at once (by every worker together with
    # OPARL_REDIS_URL, else per worker), beyond which 429 with Retry-After (seconds) is answered.
    feed_retention_days: Annotated[int, Field(ge=30)] = 30
    snapshot_concurrency: PositiveInt = 2
    snapshot_retry_after: PositiveInt = 30
    # Benchmark only: GET /bench/ceiling answers this file's bytes, the ceiling of the app stack.
    bench_ceiling_file: Path | None = None
    # Publisher and licence (README "Open data, calendars, feeds"): shown on the System and Bodies
    # where their records name none, and in the DCAT-AP.de catalogue, which lists no dataset
    # without a licence. A URI of http://dcat-ap.de/def/licenses/, e.g. .../dl-by-de/2.0.
    license: str = ""
    # Required by attribution licences (dl-by-de/2.0, cc-by/4.0): how the source is to be named.
    license_attribution: str = ""
    publisher_name: str = ""
    publisher_website: str = ""
    contact_name: str = ""
    contact_email: str = ""
    # Meetings the calendars hold: this many days back and ahead of today.
    calendar_past_days: PositiveInt = 365
    calendar_future_days: PositiveInt = 730
    # Entries of an Atom feed (the newest first).
    feed_entries: PositiveInt = 50

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("license", "publisher_website")
    @classmethod
    def _uri(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an absolute http(s) URI, got {value!r}")
        return value

    @field_validator("harvest_allow_networks", "webhook_allow_networks")
    @classmethod
    def _harvest_networks(cls, value: str) -> str:
        parse_networks(value)  # its ValueError names the item
        return value

    @field_validator("metrics_allow", "trusted_proxies", "rate_limit_allow", mode="before")
    @classmethod
    def _list(cls, value: object) -> object:
        return netaddr.split_list(value)

    @field_validator("metrics_allow", "trusted_proxies", "rate_limit_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        netaddr.parse_networks(value)
        return value

    @field_validator("rate_limit", "rate_limit_token", "rate_limit_auth_failures")
    @classmethod
    def _limits(cls, value: str) -> str:
        if value.strip():
            try:
                limits.parse_many(value)
            except ValueError as exc:
                raise ValueError(f"expected e.g. '600/minute' or '10/second;600/minute', got {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{(self.data_dir / 'oparl.sqlite3').resolve()}")
        elif self.database_url.startswith(("postgresql://", "postgres://")):
            # Plain URLs would pick psycopg2; this project ships psycopg 3.
            scheme, rest = self.database_url.split("://", 1)
            object.__setattr__(self, "database_url", f"postgresql+psycopg://{rest}")
        _check_database_url(self.database_url)
        if not self.public_base_url:
            if self.host in WILDCARD_HOSTS:
                # Ids are stored and copied by every harvester: they must name a reachable address.
                raise ValueError(
                    f"listening on {self.host or 'every interface'} needs OPARL_PUBLIC_BASE_URL "
                    f"(e.g. https://ratsinfo.example.org): ids would name http://{self.host}:{self.port}"
                )
            object.__setattr__(self, "public_base_url", f"http://{self.host}:{self.port}")
        if not self.public_base_url.startswith(("http://", "https://")):
            raise ValueError("OPARL_PUBLIC_BASE_URL must be an absolute http(s) URL")
        object.__setattr__(self, "public_base_url", self.public_base_url.rstrip("/"))
        if self.webhook_lease_seconds <= 2 * self.webhook_timeout + 1:
            raise ValueError("OPARL_WEBHOOK_LEASE_SECONDS must exceed twice OPARL_WEBHOOK_TIMEOUT plus one")
        if not 1 <= self.default_page_size <= self.max_page_size:
            raise ValueError("OPARL_DEFAULT_PAGE_SIZE must be between 1 and OPARL_MAX_PAGE_SIZE")
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def publisher(self) -> Publisher:
        return Publisher(
            license=self.license or None,
            attribution=self.license_attribution or None,
            name=self.publisher_name or None,
            website=self.publisher_website or None,
            contact_name=self.contact_name or None,
            contact_email=self.contact_email or None,
        )

    @cached_property
    def snapshots(self) -> Snapshots:
        """The stored renderings these settings serve (their key names base URL, zone and publisher)."""
        return Snapshots(UrlBuilder(self.public_base_url), self.zone, self.publisher)

    @cached_property
    def harvest_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.harvest_allow_networks)

    @cached_property
    def webhook_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.webhook_allow_networks)

    @property
    def files_dir(self) -> Path:
        """Where versions before 2026-12 kept file contents; `oparl-server migrate` imports them."""
        return self.data_dir / "files"


SUPPORTED_DATABASES = {"sqlite": ("pysqlite",), "postgresql": ("psycopg",)}


def _check_database_url(url: str) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Not echoed: a URL may carry a password.
        raise ValueError(
            "OPARL_DATABASE_URL is not a database URL; use sqlite:///PATH or postgresql://user@host:5432/dbname"
        ) from None
    drivers = SUPPORTED_DATABASES.get(parsed.get_backend_name())
    if drivers is None or parsed.get_driver_name() not in drivers:
        raise ValueError(
            f"OPARL_DATABASE_URL: {parsed.drivername} is not supported; "
            "use sqlite:///PATH or postgresql://user@host:5432/dbname"
        )


class SettingsError(ValueError):
    """An OPARL_* variable (or an option standing in for one) the server cannot run with."""


def load_settings(**overrides: object) -> Settings:
    """`Settings(**overrides)`, its validation errors as one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError("; ".join(_describe(error) for error in exc.errors())) from None


def _describe(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:  # a check of the whole: its message names the variables
        return message
    name = "OPARL_" + "_".join(str(part) for part in error["loc"]).upper()
    return f"{name}: {message}, got {error['input']!r}"
