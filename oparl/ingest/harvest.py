"""Harvesting another OParl server into this one: System → Bodies → every list, page by page.

Each batch of pages is one transaction (its records, its tombstones and the cursor of its list), so
a run that is killed leaves a consistent store and the next run resumes at the first page not stored. Objects keep
their source URL as key (and an id derived from it); references are rewritten to this server's
URLs by the write path. A reference to an object not there yet is dropped for the moment and the
record stored again at the end of the run, after the referenced objects that appear in no list
have been fetched; what cannot be fetched is reported, never invented.

The walk is here; reading a list is `lists.py`, storing a batch `store.py`, the source's bookkeeping
across runs `source.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import closing
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from oparl import write
from oparl.catalogue import BODY_LISTS
from oparl.content import ContentStore
from oparl.ingest.client import Refused, SourceClient, SourceError
from oparl.ingest.convert import Converter
from oparl.ingest.kommparl import FeedSync, offers
from oparl.ingest.lists import ListReader, with_query
from oparl.ingest.quirks import Normaliser
from oparl.ingest.source import Source
from oparl.ingest.store import Batch, BatchStore
from oparl.ingest.summary import Options, Summary
from oparl.publisher import NO_PUBLISHER, Publisher
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder

__all__ = ["Harvester", "Options", "Summary"]


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
        publisher: Publisher = NO_PUBLISHER,
        options: Options | None = None,
        progress: Callable[[Summary], None] | None = None,
        render: Callable[[Summary], object] | None = None,
    ) -> None:
        self.sessions, self.client, self.urls, self.store = sessions, client, urls, store
        self.clock, self.options, self.progress = clock, options or Options(), progress
        self.summary = Summary(quirks=client.quirks)
        self.convert = Converter(client.quirks, tz)
        self.snapshots = Snapshots(urls, tz, publisher)
        # Renders every stale object at the end, told what the run wrote (the CLI's may use every core).
        self.render = render or self._render

    def run(self, system_url: str) -> Summary:
        normalise = Normaliser(system_url, self.client.quirks)
        hosts = frozenset({(urlsplit(system_url).hostname or "").lower()}) | self.options.allow_hosts
        self.lists = ListReader(self.client, normalise, hosts, self.summary)
        try:
            answer = self.client.json(system_url, hosts=hosts)
        except SourceError as exc:
            return self._unusable(f"System: {exc}")
        if not isinstance(answer, dict):
            return self._unusable(f"System {system_url}: not an object")
        system = normalise.obj(answer, "System")
        if not isinstance(system.get("body"), str):
            return self._unusable(f"System {system_url} names no body list")
        self.source = Source(self.sessions, self.summary)
        since = self.source.begin(system_url, self.options, self.clock)
        self.batches = BatchStore(self.sessions, self.source.id, urls=self.urls, store=self.store, clock=self.clock,
                                  convert=self.convert, summary=self.summary, progress=self.progress)  # fmt: skip
        self.batches.store_records([self.convert.record(system)], [], cursor=None)
        # kommParl profiles: snapshot and feed instead of the lists (oparl/ingest/kommparl.py).
        feeds = FeedSync(self) if self.options.kommparl and offers(system) else None
        saved = self.source.feeds()
        for body in self._walk(system["body"], "Body", since=None, body_key=None):
            if feeds is not None and feeds.body(body, saved.get(body["id"])):
                continue
            for name, listed in BODY_LISTS.items():
                if isinstance(body.get(name), str):
                    self._walk(body[name], listed.name, since, body_key=body["id"])
        if feeds is not None and feeds.feed_only:
            self.summary.mode = "incremental (kommParl feed)"  # saw what changed only: deletes nothing unseen
        self._fix_up(normalise, hosts)
        if self.options.files:
            self.batches.download_files(self.client)
        self.source.end(self.batches, complete=not (self.summary.failures or self.lists.refused))
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

    def _walk(
        self, list_url: str, type_name: str, since: dt.datetime | None, *, body_key: str | None
    ) -> list[dict[str, Any]]:
        """Walks a list, storing its pages in batches; returns the Bodies it met."""
        carried = {"modified_since": since.isoformat()} if since else {}
        start = with_query(list_url, carried)
        # The Body list is walked whole every time (its items say which lists there are): no cursor.
        keeps_cursor = type_name != "Body"
        if keeps_cursor:
            start = self.source.cursors().get(list_url, start)
        bodies: list[dict[str, Any]] = []
        batch = Batch()
        # Closed when the walk stops early, so the page fetched ahead is not left behind.
        with closing(self.lists.pages(start, type_name, carried)) as pages:
            for page in pages:
                if page.items is None:  # what came before is kept, and the list resumes at this page
                    if batch.pages:
                        self.batches.store_batch(batch, (list_url, page.url) if keeps_cursor else None)
                    break
                if type_name == "Body":
                    bodies += page.items
                self.batches.collect(batch, type_name, page.items, body_key)
                if page.next is None or batch.due(self.options):
                    self.batches.store_batch(batch, (list_url, page.next or "") if keeps_cursor else None)
                    batch = Batch()
        return bodies

    def _fix_up(self, normalise: Normaliser, hosts: frozenset[str]) -> None:
        """Fetch what records referenced but no list held, then store those records again. References
        off the source's hosts are refused when fetched, and so reported."""
        records, missing = self.source.pending()
        for reference, body in missing:
            try:
                answer = self.client.json(reference, hosts=hosts)
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
            record = self.convert.record(normalise.obj(answer), body=body)
            self.batches.store_records([record], [], cursor=None, pending=False)
        self.batches.store_records(records, [], cursor=None, pending=False)
        self.source.clear_pending()
