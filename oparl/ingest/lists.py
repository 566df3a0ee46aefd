"""Reading one of a source's lists page by page, by `links.next` only: what vendors need for it
to be read at all, and where a list that never ends is stopped."""

from __future__ import annotations

from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from oparl.ingest.client import Refused, SourceClient, SourceError
from oparl.ingest.quirks import Normaliser, is_error_body, list_page, next_link
from oparl.ingest.summary import Summary

MAX_PAGES = 100_000


@dataclass(frozen=True)
class Page:
    """A page of a list: the URL it was asked at, its objects (normalised, each id once in the
    walk) and the next page's URL. `items` is None for a page that failed: the list resumes there."""

    url: str
    items: list[dict[str, Any]] | None
    next: str | None = None


@dataclass
class _Walk:
    visited: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    unproductive: int = 0  # pages in a row that brought no new id


class ListReader:
    def __init__(self, client: SourceClient, normalise: Normaliser, hosts: frozenset[str], summary: Summary) -> None:
        self.client, self.normalise, self.hosts, self.summary = client, normalise, hosts, summary
        # A list page the policy refused: the walk saw less than the source has.
        self.refused = False

    def pages(self, url: str, type_name: str, carried: dict[str, str]) -> Generator[Page, None, None]:
        """The pages from `url` on (none for an empty `url`: a list a resumed run finished).

        The next page is fetched while the caller stores this one (one request at a time all the
        same). The fetching thread counts only quirks of fetching and parsing, this one the rest: no
        counter is written from both."""
        if not url:
            return
        walk = _Walk()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="harvest-fetch") as fetcher:
            ahead = fetcher.submit(self._page, url, carried)
            while True:
                walk.visited.add(url)
                page = ahead.result()
                if page is None:  # failed: what came before is kept, and the list resumes here
                    yield Page(url, None)
                    return
                items = self._items(page, type_name, walk)
                next_url = self._next(page, url, carried, walk)
                if next_url:
                    ahead = fetcher.submit(self._page, next_url, carried)
                yield Page(url, items, next_url)
                if not next_url:
                    return
                url = next_url

    def _items(self, page: dict[str, Any], type_name: str, walk: _Walk) -> list[dict[str, Any]]:
        items = [self.normalise.obj(i, type_name) for i in page["data"] if isinstance(i, dict)]
        before = len(walk.keys)
        items = self._dedupe(items, walk.keys)
        walk.unproductive = 0 if len(walk.keys) > before else walk.unproductive + 1
        return items

    def _next(self, page: dict[str, Any], url: str, carried: dict[str, str], walk: _Walk) -> str | None:
        next_url = next_link(page["links"].get("next"), url, walk.visited, carried, self.client.quirks)
        if next_url and (walk.unproductive >= 3 or len(walk.visited) >= MAX_PAGES):
            # The same page for every ?page=n (a shared SessionNet host), or no end in sight.
            self.client.quirks["list_without_end"] += 1
            return None
        return next_url

    def _page(self, url: str, carried: dict[str, str]) -> dict[str, Any] | None:
        """The page at `url` as a list page, or None (reported) when there is none: runs in the
        fetching thread."""
        try:
            data = self.client.json(url, hosts=self.hosts)
        except Refused as exc:
            self.summary.refused.append(str(exc))
            self.refused = True
            return None
        except SourceError as exc:
            if exc.status != 404 or not carried:
                self.summary.failures.append(str(exc))
                return None
            # SessionNet answers 404 to a percent-encoded timestamp and only takes it unencoded;
            # SD.NET answers 404 for a filtered list that is empty.
            try:
                data = self.client.json(unencoded(url, carried), hosts=self.hosts)
                self.client.quirks["filters_only_unencoded"] += 1
            except SourceError:
                self.client.quirks["not_found_for_empty_filtered_list"] += 1
                return None
        if is_error_body(data):
            self.client.quirks["vendor_error_for_empty_list"] += 1
            return None
        try:
            page = list_page(data, self.client.quirks)
        except ValueError:
            self.summary.failures.append(f"{url}: not an OParl list page")
            return None
        if not isinstance(page.get("links"), dict):
            page["links"] = {}
        return page

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


def unencoded(url: str, params: dict[str, str]) -> str:
    """`url` with `params` written raw (":" and "+" as they are), for servers that want them so."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    raw = "&".join([urlencode(query), *(f"{k}={v}" for k, v in params.items())]).strip("&")
    return urlunsplit(parts._replace(query=raw))


def with_query(url: str, params: dict[str, str]) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) | params
    return urlunsplit(parts._replace(query=urlencode(query)))
