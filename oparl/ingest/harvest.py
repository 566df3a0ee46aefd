"""Harvesting another OParl server into this one: System → Bodies → every list, page by page.

Each batch of pages is one transaction (its records, its tombstones and the cursor of its list), so
a run that is killed leaves a consistent store and the next run resumes at the first page not stored. Objects keep
their source URL as key (and an id derived from it); references are rewritten to this server's
URLs by the write path. A reference to an object not there yet is dropped for the moment and the
record stored again at the end of the run, after the referenced objects that appear in no list
have been fetched; what cannot be fetched is reported, never invented.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from models import File, HarvestPending, HarvestSeen, HarvestSource
from oparl import write
from oparl.base import SCHEMA_BASE
from oparl.cascade import chunks
from oparl.catalogue import BODY_LISTS, TYPES, camel
from oparl.content import ContentStore
from oparl.errors import NotFound, RecordError, Where
from oparl.ingest.client import Refused, SourceClient, SourceError
from oparl.ingest.convert import Converter
from oparl.ingest.quirks import Normaliser, is_error_body, list_page, next_link
from oparl.load.loader import Loader
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder

PLACEHOLDER_YEARS = ("1970", "2000")
# The property naming the parent of an embedded-only child, e.g. Consultation -> "paper".
PARENT_FIELDS = {t.name: camel(str(t.parent.child_column).removesuffix("_id")) for t in TYPES.values() if t.parent}
MAX_PAGES = 100_000


@dataclass
class Summary:
    mode: str = "full"
    pages: int = 0
    objects: int = 0
    created: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    quirks: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # URLs the fetch policy did not allow (oparl/ingest/guard.py): never fetched, or not kept.
    refused: list[str] = field(default_factory=list)
    usable: bool = True

    def lines(self) -> list[str]:
        lines = [f"mode: {self.mode}; {self.pages} pages, {self.objects} objects"]
        for type_name in sorted(set(self.created) | set(self.changed) | set(self.deleted)):
            lines.append(
                f"  {type_name}: {self.created[type_name]} created, {self.changed[type_name]} changed, "
                f"{self.deleted[type_name]} deleted"
            )
        lines += [f"  quirk {name}: {count}" for name, count in sorted(self.quirks.items())]
        lines += [f"  missing (reported, not invented): {url}" for url in self.missing[:50]]
        lines += [f"  refused: {url}" for url in self.refused[:50]]
        if len(self.refused) > 50:
            lines.append(f"  … and {len(self.refused) - 50} more refused")
        lines += [f"  failed: {failure}" for failure in self.failures[:50]]
        if len(self.failures) > 50:
            lines.append(f"  … and {len(self.failures) - 50} more failures")
        return lines


@dataclass
class Options:
    files: bool = False  # download file contents
    full: bool = False  # ignore modified_since and compare everything
    overlap: dt.timedelta = dt.timedelta(hours=1)
    # Pages are stored together, in one transaction, until they hold `batch` objects or the first of
    # them waited `batch_seconds`: a fast source fills batches (fewer, larger writes), a slow one has
    # every page stored as it arrives, so an interruption loses little.
    batch: int = 1000
    batch_seconds: float = 5.0
    # Hosts besides the System URL's whose lists and objects may be walked (files may come from any
    # public host).
    allow_hosts: frozenset[str] = frozenset()


@dataclass
class _Batch:
    """Pages fetched and not stored yet. Records are stored before tombstones, so a record met after
    a tombstone of its key replaces the tombstone, and a later record an earlier one."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    tombstones: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    items: int = 0
    started: float = field(default_factory=time.monotonic)


class Harvester:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: SourceClient,
        *,
        urls: UrlBuilder,
        store: ContentStore,
        clock: write.Clock,
        tz: ZoneInfo,
        options: Options | None = None,
        progress: Callable[[Summary], None] = lambda _summary: None,
        render: Callable[[Summary], object] | None = None,
    ) -> None:
        self.sessions, self.client, self.urls, self.store = sessions, client, urls, store
        self.clock, self.options, self.progress = clock, options or Options(), progress
        self.summary = Summary(quirks=client.quirks)
        self.convert = Converter(client.quirks, tz)
        self.snapshots = Snapshots(urls, tz)
        # Renders every stale object at the end, told what the run wrote (the CLI's may use every core).
        self.render = render or self._render
        self.stamps: list[str] = []
        # Fingerprints of every record (embedded ones too) this run stored, to skip writing it again.
        self.written: set[int] = set()
        self.tombstoned: set[str] = set()
        # A list page or object the policy refused: the walk saw less than the source has.
        self.refused_in_walk = False

    # -- the run ----------------------------------------------------------------------------------

    def run(self, system_url: str) -> Summary:
        self.normalise = Normaliser(system_url, self.client.quirks)
        self.hosts = frozenset({(urlsplit(system_url).hostname or "").lower()}) | self.options.allow_hosts
        try:
            answer = self.client.json(system_url, hosts=self.hosts)
        except SourceError as exc:
            return self._unusable(f"System: {exc}")
        if not isinstance(answer, dict):
            return self._unusable(f"System {system_url}: not an object")
        system = self.normalise.obj(answer, "System")
        if not isinstance(system.get("body"), str):
            return self._unusable(f"System {system_url} names no body list")
        source_id, since = self._begin(system_url)
        self._store(source_id, [self.convert.record(system)], [], cursor=None)
        for body in self._walk(source_id, system["body"], "Body", since=None, body_key=None):
            for name, listed in BODY_LISTS.items():
                if isinstance(body.get(name), str):
                    self._walk(source_id, body[name], listed.name, since, body_key=body["id"])
        self._fix_up(source_id)
        if self.options.files:
            self._download_files()
        self._end(source_id)
        # Rendered once at the end, not per page: a file or agenda item stamps everything it is embedded
        # in, and meetings would be rendered again for every page that touches them. Until then the
        # changed objects are rendered on read.
        self.render(self.summary)
        return self.summary

    def _render(self, _summary: Summary) -> None:
        with self.sessions() as session:
            self.snapshots.refresh_stale(session)

    def _unusable(self, reason: str) -> Summary:
        self.summary.failures.append(reason)
        self.summary.usable = False
        return self.summary

    def _begin(self, system_url: str) -> tuple[int, dt.datetime | None]:
        """The source's bookkeeping: a new run, or the one an interruption left, to resume."""
        with self.sessions() as session:
            source = session.scalar(select(HarvestSource).where(HarvestSource.system_url == system_url))
            if source is None:
                source = HarvestSource(system_url=system_url, cursors={})
                session.add(source)
            if source.run_started is None:
                incremental = source.trusted and source.last_complete is not None and not self.options.full
                source.run_started, source.cursors = self.clock(), {}
                start = source.last_complete
                source.run_since = start - self.options.overlap if incremental and start is not None else None
                session.execute(delete(HarvestSeen).where(HarvestSeen.source_id == source.id))
            # A resumed run goes on in the mode it started in.
            since = source.run_since
            self.summary.mode = "incremental (modified_since)" if since else "full (content comparison)"
            session.commit()
            return source.id, since

    def _end(self, source_id: int) -> None:
        with self.sessions() as session:
            source = session.get_one(HarvestSource, source_id)
            if self.summary.failures or self.refused_in_walk:
                # Something was not seen because it failed, not because the source dropped it: delete
                # nothing, and let the next run ask again from the same point.
                source.run_started, source.cursors = None, {}
                session.commit()
                return
            if self.summary.mode.startswith("full"):
                self._delete_unseen(session, source)
                placeholders = sum(1 for s in self.stamps if s[:4] in PLACEHOLDER_YEARS)
                # `modified` that is mostly a placeholder cannot drive incremental runs.
                source.trusted = bool(self.stamps) and placeholders * 2 < len(self.stamps)
            source.last_complete, source.run_started, source.cursors = source.run_started, None, {}
            session.commit()
        if self.summary.mode.startswith("full") and not self.stamps:
            self.summary.quirks["no_modified_dates"] += 1

    # -- lists --------------------------------------------------------------------------------------

    def _walk(
        self, source_id: int, list_url: str, type_name: str, since: dt.datetime | None, *, body_key: str | None
    ) -> list[dict[str, Any]]:
        """Walks a list by `links.next` only, storing its pages in batches; returns the Bodies it met.

        The next page is fetched while this one is stored (one request at a time all the same). The
        fetching thread counts only quirks of fetching and parsing, this one the rest: no counter is
        written from both."""
        carried = {"modified_since": since.isoformat()} if since else {}
        # The Body list is walked whole every time: its items say which lists there are.
        cursors = {} if type_name == "Body" else self._cursors(source_id)
        url: str | None = cursors.get(list_url, _with(list_url, carried))
        bodies: list[dict[str, Any]] = []
        visited: set[str] = set()
        keys_in_walk: set[str] = set()
        unproductive = 0
        batch = _Batch()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="harvest-fetch") as fetcher:
            ahead = fetcher.submit(self._page, url, carried) if url else None
            while url and ahead is not None:
                visited.add(url)
                page = ahead.result()
                if page is None:  # failed: what came before is kept, and the list resumes here
                    if batch.pages:
                        self._store_batch(source_id, batch, None if type_name == "Body" else (list_url, url))
                    break
                items = [self.normalise.obj(i, type_name) for i in page["data"] if isinstance(i, dict)]
                before = len(keys_in_walk)
                items = self._dedupe(items, keys_in_walk)
                unproductive = 0 if len(keys_in_walk) > before else unproductive + 1
                if type_name == "Body":
                    bodies += items
                next_url = next_link(page["links"].get("next"), url, visited, carried, self.client.quirks)
                if next_url and (unproductive >= 3 or len(visited) >= MAX_PAGES):
                    # The same page for every ?page=n (a shared SessionNet host), or no end in sight.
                    self.client.quirks["list_without_end"] += 1
                    next_url = None
                ahead = fetcher.submit(self._page, next_url, carried) if next_url else None
                self._add_page(batch, type_name, items, body_key)
                url = next_url
                full = len(batch.records) + len(batch.tombstones) >= self.options.batch
                if url is None or full or time.monotonic() - batch.started >= self.options.batch_seconds:
                    self._store_batch(source_id, batch, None if type_name == "Body" else (list_url, url or ""))
                    batch = _Batch()
        return bodies

    def _page(self, url: str, carried: dict[str, str]) -> dict[str, Any] | None:
        try:
            data = self.client.json(url, hosts=self.hosts)
        except Refused as exc:
            self.summary.refused.append(str(exc))
            self.refused_in_walk = True
            return None
        except SourceError as exc:
            if exc.status != 404 or not carried:
                self.summary.failures.append(str(exc))
                return None
            # SessionNet answers 404 to a percent-encoded timestamp and only takes it unencoded;
            # SD.NET answers 404 for a filtered list that is empty.
            try:
                data = self.client.json(_unencoded(url, carried), hosts=self.hosts)
                self.client.quirks["filters_only_unencoded"] += 1
            except SourceError:
                self.client.quirks["not_found_for_empty_filtered_list"] += 1
                return None
        if is_error_body(data):
            self.client.quirks["vendor_error_for_empty_list"] += 1
            return None
        try:
            page = list_page(data, self.client.quirks)
            if not isinstance(page.get("links"), dict):
                page["links"] = {}
            return page
        except ValueError:
            self.summary.failures.append(f"{url}: not an OParl list page")
            return None

    def _dedupe(self, items: list[dict[str, Any]], keys: set[str]) -> list[dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for item in items:
            key = item.get("id")
            if not isinstance(key, str) or not key.startswith(("http://", "https://")) or len(key) > 255:
                self.summary.failures.append(f"object without a usable id: {str(item)[:100]}")
                continue
            if key in latest or key in keys:
                self.client.quirks["duplicate_id"] += 1
            latest[key] = item
            keys.add(key)
        return list(latest.values())

    def _add_page(self, batch: _Batch, type_name: str, items: list[dict[str, Any]], body_key: str | None) -> None:
        for item in items:
            if isinstance(item.get("modified"), str):
                self.stamps.append(item["modified"])
            key = item["id"]
            if item.get("deleted"):
                # Kept with its record: stored first, then deleted, as two pages would do it.
                batch.tombstones[key] = type_name
                self.tombstoned.add(key)
            elif (record := self.convert.record(item, body=body_key)) is not None:
                batch.tombstones.pop(key, None)
                if key not in self.tombstoned and _fingerprint(record) in self.written:
                    # Stored in this run already, as written here, embedded in another object (1.1
                    # sources list each Consultation, File, AgendaItem … again on their own).
                    batch.records.pop(key, None)
                else:
                    batch.records[key] = record
        batch.pages += 1
        batch.items += len(items)

    def _store_batch(self, source_id: int, batch: _Batch, cursor: tuple[str, str] | None) -> None:
        tombstones = [(type_name, key) for key, type_name in batch.tombstones.items()]
        stored = self._store(source_id, list(batch.records.values()), tombstones, cursor=cursor)
        self.written.update(_fingerprint(r) for r in _records(stored) if r.get("type"))
        self.summary.pages += batch.pages
        self.summary.objects += batch.items
        self.progress(self.summary)

    # -- storing --------------------------------------------------------------------------------------

    def _store(
        self,
        source_id: int,
        records: Sequence[dict[str, Any] | None],
        tombstones: list[tuple[str, str]],
        *,
        cursor: tuple[str, str] | None,
        pending: bool = True,
    ) -> list[dict[str, Any]]:
        """One transaction: the records, the tombstones, the pending references, the cursor.
        Returns the records stored (those that failed are left out and reported)."""
        todo = [r for r in records if r is not None]
        while True:
            missing: dict[str, set[str]] = {}
            with self.sessions() as session:
                loader = self._loader(session, missing)
                try:
                    loader.load(todo)
                    for type_name, key in tombstones:
                        try:
                            loader.delete(type_name, key)
                        except NotFound:
                            pass  # a tombstone for an object this server never had
                except RecordError as exc:
                    session.rollback()
                    todo = self._drop_failed(todo, exc)
                    continue
                self._bookkeep(session, source_id, todo, missing, cursor, pending)
                write.commit(session, loader, self.clock)
                self._count(loader)
                return todo

    def _loader(self, session: Session, missing: dict[str, set[str]]) -> Loader:
        def report(where: Where, reference: str) -> None:
            if isinstance(where.key, str):
                missing.setdefault(where.key, set()).add(reference)

        return Loader(session, urls=self.urls, store=self.store, stable_ids=True, on_missing=report)

    def _drop_failed(self, records: list[dict[str, Any]], exc: RecordError) -> list[dict[str, Any]]:
        key = exc.where.key if isinstance(exc.where.key, str) else None
        self.summary.failures.append(exc.message)
        kept = [r for r in records if r.get("key") != key]
        if len(kept) == len(records):  # the error names no record of this batch: give up on the batch
            return []
        return kept

    def _bookkeep(
        self,
        session: Session,
        source_id: int,
        records: list[dict[str, Any]],
        missing: dict[str, set[str]],
        cursor: tuple[str, str] | None,
        pending: bool,
    ) -> None:
        by_key = {r["key"]: r for r in records}
        keys = {r["key"] for r in _records(records)}
        known: set[str] = set()
        for chunk in chunks(sorted(keys)):
            query = select(HarvestSeen.key).where(HarvestSeen.source_id == source_id, HarvestSeen.key.in_(chunk))
            known.update(session.scalars(query))
        if keys - known:
            rows = [{"source_id": source_id, "key": key} for key in sorted(keys - known)]
            session.execute(insert(HarvestSeen), rows)
        if pending:
            for key in missing:
                if key in by_key:
                    session.add(HarvestPending(source_id=source_id, key=key, record=by_key[key]))
        if cursor is not None:
            source = session.get_one(HarvestSource, source_id)
            source.cursors = {**source.cursors, cursor[0]: cursor[1]}

    def _count(self, loader: Loader) -> None:
        for obj in loader.log.created:
            self.summary.created[type(obj).__name__] += 1
        for obj in loader.log.changed:
            if obj.deleted:
                self.summary.deleted[type(obj).__name__] += 1
            else:
                self.summary.changed[type(obj).__name__] += 1

    def _cursors(self, source_id: int) -> dict[str, str]:
        with self.sessions() as session:
            return dict(session.get_one(HarvestSource, source_id).cursors)

    # -- after the lists ------------------------------------------------------------------------------

    def _fix_up(self, source_id: int) -> None:
        """Fetch what records referenced but no list held, then store those records again."""
        with self.sessions() as session:
            pending = list(session.scalars(select(HarvestPending).where(HarvestPending.source_id == source_id)))
            records = [p.record for p in pending]
        bodies = {url: r.get("body") for r in records for url in _collect_urls(r, set())}
        for reference in self._unseen_references(source_id, records):
            try:
                answer = self.client.json(reference, hosts=self.hosts)
            except Refused as exc:
                self.summary.refused.append(str(exc))
                continue
            except SourceError as exc:
                self.summary.missing.append(f"{reference} ({exc.reason})")
                continue
            if not isinstance(answer, dict) or answer.get("deleted"):
                self.summary.missing.append(f"{reference} (no object there)")
                continue
            self.summary.quirks["fetched_object_in_no_list"] += 1
            record = self.convert.record(self.normalise.obj(answer), body=bodies.get(reference))
            self._store(source_id, [record], [], cursor=None, pending=False)
        self._store(source_id, records, [], cursor=None, pending=False)
        with self.sessions() as session:
            session.execute(delete(HarvestPending).where(HarvestPending.source_id == source_id))
            session.commit()

    def _unseen_references(self, source_id: int, records: list[dict[str, Any]]) -> list[str]:
        """References to objects this run has not stored (again); those off the source's hosts are
        refused when fetched, and so reported."""
        references: set[str] = set()
        for record in records:
            _collect_urls(record, references)
        with self.sessions() as session:
            query = select(HarvestSeen.key).where(HarvestSeen.source_id == source_id, HarvestSeen.key.in_(references))
            seen = set(session.scalars(query))
        return sorted(references - seen)

    def _delete_unseen(self, session: Session, source: HarvestSource) -> None:
        """A full run saw every object the source still has: the rest were deleted there."""
        prefix = source.system_url.rsplit("/", 1)[0] + "/"
        seen = set(session.scalars(select(HarvestSeen.key).where(HarvestSeen.source_id == source.id)))
        loader = Loader(session, urls=self.urls, store=self.store)
        for type_name, oparl_type in TYPES.items():
            if type_name in ("System", "Body"):
                continue
            model = oparl_type.model
            for key in session.scalars(select(model.key).where(model.key.startswith(prefix), ~model.deleted)):
                if key is not None and key not in seen:
                    loader.delete(type_name, key)
        write.commit(session, loader, self.clock)
        self._count(loader)

    def _download_files(self, batch: int = 200) -> None:
        """Fetch the bytes of files this server does not hold yet; `batch` files per transaction."""
        with self.sessions() as session:
            query = select(File.key, File.access_url).where(~File.stored, ~File.deleted, File.access_url.isnot(None))
            files = [(k, u) for k, u in session.execute(query) if k is not None and u is not None]
        for start in range(0, len(files), batch):
            with tempfile.TemporaryDirectory() as folder:
                records = []
                for index, (key, access_url) in enumerate(files[start : start + batch]):
                    name = f"{index}/{_file_name(access_url)}"
                    (Path(folder) / name).parent.mkdir()
                    try:
                        self.client.download(access_url, Path(folder) / name)
                    except Refused as exc:
                        self.summary.refused.append(f"file {key}: {exc}")
                        continue
                    except SourceError as exc:
                        self.summary.failures.append(f"file {key}: {exc}")
                        continue
                    records.append({"type": "File", "key": key, "content": name})
                with self.sessions() as session:
                    loader = Loader(session, urls=self.urls, store=self.store, base_dir=Path(folder))
                    loader.load(records, replace=False)
                    write.commit(session, loader, self.clock)
                    self._count(loader)


def _fingerprint(record: dict[str, Any]) -> int:
    """A record's content with its place left out: the Body, and the parent an embedded-only child
    names on its own (a Consultation's `paper`), which are given when it is written embedded."""
    type_name = str(record.get("type", "")).removeprefix(SCHEMA_BASE)
    left_out = {"body", PARENT_FIELDS.get(type_name, "")}
    content = orjson.dumps({k: v for k, v in record.items() if k not in left_out}, option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.blake2b(content, digest_size=8).digest(), "big")


def _records(value: Any) -> Iterator[dict[str, Any]]:
    """A record (or a list of them) and every record embedded in it: each object with a key."""
    if isinstance(value, dict):
        if isinstance(value.get("key"), str):
            yield value
        for v in value.values():
            if isinstance(v, (dict, list)):
                yield from _records(v)
    elif isinstance(value, list):
        for v in value:
            yield from _records(v)


def _collect_urls(value: Any, found: set[str]) -> set[str]:
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        found.add(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in ("key", "accessUrl", "downloadUrl", "externalServiceUrl", "web", "website", "license"):
                _collect_urls(v, found)
    elif isinstance(value, list):
        for v in value:
            _collect_urls(v, found)
    return found


def _file_name(url: str) -> str:
    try:
        return Path(urlsplit(url).path).name or "file"
    except ValueError:  # not a URL: refused when it is fetched
        return "file"


def _unencoded(url: str, params: dict[str, str]) -> str:
    """`url` with `params` written raw (":" and "+" as they are), for servers that want them so."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    raw = "&".join([urlencode(query), *(f"{k}={v}" for k, v in params.items())]).strip("&")
    return urlunsplit(parts._replace(query=raw))


def _with(url: str, params: dict[str, str]) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) | params
    return urlunsplit(parts._replace(query=urlencode(query)))
