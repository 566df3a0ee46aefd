"""Storing what a harvest fetched: one transaction per batch of pages (its records, its tombstones,
the references it could not resolve yet, its list's cursor), counted from the loader's change log.

A record that fails is dropped by where the error says it failed and the batch stored without it.
Records this run stored already, as they were written then, are not written again."""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from models import File, HarvestPending, HarvestSeen, HarvestSource
from oparl import write
from oparl.base import SCHEMA_BASE
from oparl.cascade import chunks
from oparl.catalogue import TYPES, camel
from oparl.content import ContentStore
from oparl.errors import NotFound, RecordError, Where
from oparl.ingest.client import Refused, SourceClient, SourceError
from oparl.ingest.convert import Converter
from oparl.ingest.summary import Options, Summary
from oparl.load.loader import Loader
from oparl.urls import UrlBuilder
from oparl.visibility import FeedNote

# The property naming the parent of an embedded-only child, e.g. Consultation -> "paper".
PARENT_FIELDS = {t.name: camel(str(t.parent.child_column).removesuffix("_id")) for t in TYPES.values() if t.parent}
Cursor = tuple[str, str]  # a list's URL, and the URL of its first page not stored ("" when done)


@dataclass
class Batch:
    """Pages fetched and not stored yet. Records are stored before tombstones, so a record met after
    a tombstone of its key replaces the tombstone, and a later record an earlier one."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    tombstones: dict[str, tuple[str, FeedNote]] = field(default_factory=dict)  # key: type, reason
    pages: int = 0
    items: int = 0
    started: float = field(default_factory=time.monotonic)

    def due(self, options: Options) -> bool:
        full = len(self.records) + len(self.tombstones) >= options.batch
        return full or time.monotonic() - self.started >= options.batch_seconds


class BatchStore:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        source_id: int,
        *,
        urls: UrlBuilder,
        store: ContentStore,
        clock: write.Clock,
        convert: Converter,
        summary: Summary,
        progress: Callable[[Summary], None] | None,
    ) -> None:
        self.sessions, self.source_id, self.urls, self.store, self.clock = sessions, source_id, urls, store, clock
        self.convert, self.summary, self.progress = convert, summary, progress
        # Every `modified` the lists held: whether the source's can drive incremental runs.
        self.stamps: list[str] = []
        # Fingerprints of every record (embedded ones too) this run stored, to skip writing it again.
        self.written: set[int] = set()
        self.tombstoned: set[str] = set()

    def collect(
        self,
        batch: Batch,
        type_name: str,
        items: list[dict[str, Any]],
        body_key: str | None,
        reason: FeedNote = FeedNote.DELETED,
    ) -> None:
        """A page's objects into `batch`, as records and tombstones (deleted for `reason`: a
        change feed's entry tells why, a list's tombstone does not)."""
        for item in items:
            if isinstance(item.get("modified"), str):
                self.stamps.append(item["modified"])
            key = item["id"]
            if item.get("deleted"):
                # Kept with its record: stored first, then deleted, as two pages would do it.
                batch.tombstones[key] = (type_name, reason)
                self.tombstoned.add(key)
            elif (record := self.convert.record(item, body=body_key)) is not None:
                batch.tombstones.pop(key, None)
                if key not in self.tombstoned and fingerprint(record) in self.written:
                    # Stored in this run already, as written here, embedded in another object (1.1
                    # sources list each Consultation, File, AgendaItem … again on their own).
                    batch.records.pop(key, None)
                else:
                    batch.records[key] = record
        batch.pages += 1
        batch.items += len(items)

    def store_batch(self, batch: Batch, cursor: Cursor | None, feed: Cursor | None = None) -> None:
        """`feed`: a Body's URL and its kommParl feed cursor, saved in the batch's transaction."""
        tombstones = [(type_name, key, reason) for key, (type_name, reason) in batch.tombstones.items()]
        stored = self.store_records(list(batch.records.values()), tombstones, cursor=cursor, feed=feed)
        self.written.update(fingerprint(r) for r in records(stored) if r.get("type"))
        self.summary.pages += batch.pages
        self.summary.objects += batch.items
        if self.progress is not None:
            self.progress(self.summary)

    def store_records(
        self,
        todo: Sequence[dict[str, Any] | None],
        tombstones: list[tuple[str, str, FeedNote]],
        *,
        cursor: Cursor | None,
        pending: bool = True,
        feed: Cursor | None = None,
    ) -> list[dict[str, Any]]:
        """One transaction: the records, the tombstones, the pending references, the cursor.
        Returns the records stored (those that failed are left out and reported)."""
        kept = [r for r in todo if r is not None]
        while True:
            missing: dict[str, set[str]] = {}
            with self.sessions() as session:
                loader = self._loader(session, missing)
                try:
                    loader.load(kept)
                    for type_name, key, reason in tombstones:
                        try:
                            loader.delete(type_name, key, reason)
                        except NotFound:
                            pass  # a tombstone for an object this server never had
                except RecordError as exc:
                    session.rollback()
                    kept = self._drop_failed(kept, exc)
                    continue
                self._bookkeep(session, kept, missing, cursor, pending)
                if feed is not None:
                    source = session.get_one(HarvestSource, self.source_id)
                    source.feeds = {**source.feeds, feed[0]: feed[1]}
                write.commit(session, loader, self.clock)
                self.count(loader)
                return kept

    def _loader(self, session: Session, missing: dict[str, set[str]]) -> Loader:
        def report(where: Where, reference: str) -> None:
            if isinstance(where.key, str):
                missing.setdefault(where.key, set()).add(reference)

        return Loader(session, urls=self.urls, store=self.store, stable_ids=True, on_missing=report)

    def _drop_failed(self, todo: list[dict[str, Any]], exc: RecordError) -> list[dict[str, Any]]:
        key = exc.where.key if isinstance(exc.where.key, str) else None
        self.summary.failures.append(exc.message)
        kept = [r for r in todo if r.get("key") != key]
        if len(kept) == len(todo):  # the error names no record of this batch: give up on the batch
            return []
        return kept

    def _bookkeep(
        self,
        session: Session,
        stored: list[dict[str, Any]],
        missing: dict[str, set[str]],
        cursor: Cursor | None,
        pending: bool,
    ) -> None:
        """Marks every stored key seen, keeps the records with unresolved references for the fix-up,
        moves the list's cursor."""
        by_key = {r["key"]: r for r in stored}
        keys = {r["key"] for r in records(stored)}
        known: set[str] = set()
        for chunk in chunks(sorted(keys)):
            query = select(HarvestSeen.key).where(HarvestSeen.source_id == self.source_id, HarvestSeen.key.in_(chunk))
            known.update(session.scalars(query))
        if keys - known:
            rows = [{"source_id": self.source_id, "key": key} for key in sorted(keys - known)]
            session.execute(insert(HarvestSeen), rows)
        if pending:
            for key in missing:
                if key in by_key:
                    session.add(HarvestPending(source_id=self.source_id, key=key, record=by_key[key]))
        if cursor is not None:
            source = session.get_one(HarvestSource, self.source_id)
            source.cursors = {**source.cursors, cursor[0]: cursor[1]}

    def count(self, loader: Loader) -> None:
        for obj in loader.log.created:
            self.summary.created[type(obj).__name__] += 1
        for obj in loader.log.changed:
            if obj.deleted:
                self.summary.deleted[type(obj).__name__] += 1
            else:
                self.summary.changed[type(obj).__name__] += 1

    def delete_unseen(self, session: Session, prefix: str, seen: set[str]) -> None:
        """Deletes the objects under `prefix` a full run did not see: the source deleted them."""
        loader = Loader(session, urls=self.urls, store=self.store)
        for type_name, oparl_type in TYPES.items():
            if type_name in ("System", "Body"):
                continue
            model = oparl_type.model
            for key in session.scalars(select(model.key).where(model.key.startswith(prefix), ~model.deleted)):
                if key is not None and key not in seen:
                    loader.delete(type_name, key)
        write.commit(session, loader, self.clock)
        self.count(loader)

    def download_files(self, client: SourceClient, batch: int = 200) -> None:
        """Fetch the bytes of files this server does not hold yet; `batch` files per transaction."""
        with self.sessions() as session:
            query = select(File.key, File.access_url).where(~File.stored, ~File.deleted, File.access_url.isnot(None))
            files = [(k, u) for k, u in session.execute(query) if k is not None and u is not None]
        for start in range(0, len(files), batch):
            with tempfile.TemporaryDirectory() as folder:
                contents = self._download(client, files[start : start + batch], Path(folder))
                with self.sessions() as session:
                    loader = Loader(session, urls=self.urls, store=self.store, base_dir=Path(folder))
                    loader.load(contents, replace=False)
                    write.commit(session, loader, self.clock)
                    self.count(loader)

    def _download(self, client: SourceClient, files: list[tuple[str, str]], folder: Path) -> list[dict[str, Any]]:
        """Each file's bytes into `folder`, and the File records naming them (those fetched)."""
        contents = []
        for index, (key, access_url) in enumerate(files):
            name = f"{index}/{_file_name(access_url)}"
            (folder / name).parent.mkdir()
            try:
                client.download(access_url, folder / name)
            except Refused as exc:
                self.summary.refused.append(f"file {key}: {exc}")
                continue
            except SourceError as exc:
                self.summary.failures.append(f"file {key}: {exc}")
                continue
            contents.append({"type": "File", "key": key, "content": name})
        return contents


def fingerprint(record: dict[str, Any]) -> int:
    """A record's content with its place left out: the Body, and the parent an embedded-only child
    names on its own (a Consultation's `paper`), which are given when it is written embedded."""
    type_name = str(record.get("type", "")).removeprefix(SCHEMA_BASE)
    left_out = {"body", PARENT_FIELDS.get(type_name, "")}
    content = orjson.dumps({k: v for k, v in record.items() if k not in left_out}, option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.blake2b(content, digest_size=8).digest(), "big")


def records(value: Any) -> Iterator[dict[str, Any]]:
    """A record (or a list of them) and every record embedded in it: each object with a key."""
    if isinstance(value, dict):
        if isinstance(value.get("key"), str):
            yield value
        for v in value.values():
            if isinstance(v, (dict, list)):
                yield from records(v)
    elif isinstance(value, list):
        for v in value:
            yield from records(v)


def _file_name(url: str) -> str:
    try:
        return Path(urlsplit(url).path).name or "file"
    except ValueError:  # not a URL: refused when it is fetched
        return "file"
