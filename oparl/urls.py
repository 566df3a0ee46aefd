"""Every public URL, built from the configured public base URL (never from the request's Host)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

from oparl.catalogue import TYPES

API_PATH = "/oparl/v1.1"


class UrlBuilder:
    def __init__(self, public_base_url: str) -> None:
        self.site = public_base_url.rstrip("/")
        self.api = self.site + API_PATH

    def system(self) -> str:
        return f"{self.api}/system"

    def bodies(self) -> str:
        return f"{self.api}/body"

    def object(self, type_name: str, object_id: int) -> str:
        return f"{self.api}/{TYPES[type_name].segment}/{object_id}"

    def ref(self, type_name: str, object_id: int | None) -> str | None:
        return None if object_id is None else self.object(type_name, object_id)

    def body_list(self, body_id: int, type_name: str) -> str:
        return f"{self.object('Body', body_id)}/{TYPES[type_name].segment}"

    def organization_list(self, organization_id: int, type_name: str) -> str:
        return f"{self.object('Organization', organization_id)}/{TYPES[type_name].segment}"

    def feed(self, body_id: int) -> str:
        """A Body's change feed (kommParl 0.1, `kommparl:changes`)."""
        return f"{self.object('Body', body_id)}/changes"

    def snapshot(self, body_id: int) -> str:
        """A Body's snapshot (kommParl 0.1, `kommparl:snapshot`)."""
        return f"{self.object('Body', body_id)}/snapshot"

    def search(self, body_id: int) -> str:
        """A Body's full-text search (`oparl-server:search`, oparl/search)."""
        return f"{self.object('Body', body_id)}/search"

    # Calendars, feeds and catalogues (oparl/distribution): beside the objects they are built from.
    def calendar(self, type_name: str, object_id: int) -> str:
        """The ICS calendar of a Body's, an Organization's, a Person's meetings, or of one Meeting."""
        return f"{self.object(type_name, object_id)}/calendar.ics"

    def papers_feed(self, type_name: str, object_id: int) -> str:
        """The Atom feed of a Body's papers, or of the papers consulted in an Organization."""
        return f"{self.object(type_name, object_id)}/papers.atom"

    def agenda_feed(self, organization_id: int) -> str:
        """The Atom feed of the agenda items of an Organization's upcoming meetings."""
        return f"{self.object('Organization', organization_id)}/agenda.atom"

    def catalogue(self, body_id: int | None = None, extension: str = "ttl") -> str:
        """The DCAT-AP.de catalogue of the System (`body_id` None) or of one Body."""
        base = self.api if body_id is None else self.object("Body", body_id)
        return f"{base}/catalog.{extension}"

    # The HTML pages (api/pages), beside the API: `/` lists the Bodies, each type with a page
    # (the catalogue's `page`) has one per object, which is the object's `web`.
    def page(self, type_name: str, object_id: int) -> str | None:
        """The page of an object, None for a type without pages."""
        t = TYPES[type_name]
        return f"{self.site}/{t.segment}/{object_id}" if t.page else None

    def start_page(self) -> str:
        return f"{self.site}/"

    def page_list(self, parent: str, parent_id: int, type_name: str) -> str:
        """A paged HTML list of a Body's (or an Organization's) objects of a type with pages."""
        return f"{self.site}/{TYPES[parent].segment}/{parent_id}/{TYPES[type_name].segment}"

    def page_search(self, body_id: int) -> str:
        """A Body's search page: the HTML face of `search` (api/pages)."""
        return f"{self.site}/{TYPES['Body'].segment}/{body_id}/search"

    def file_access(self, file_id: int) -> str:
        return f"{self.object('File', file_id)}/access"

    def file_download(self, file_id: int) -> str:
        return f"{self.object('File', file_id)}/download"


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` in one canonical spelling: sorted, fully percent-encoded (a `+` as %2B)."""
    if not params:
        return url
    return f"{url}?{urlencode(sorted(params.items()), quote_via=quote, safe='')}"
