"""The one base wire model and the rendering context: null, empty and date rules live here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, SerializationInfo, model_serializer
from pydantic.alias_generators import to_camel

from oparl import visibility
from oparl.publisher import NO_PUBLISHER, Publisher
from oparl.urls import UrlBuilder

SCHEMA_BASE = "https://schema.oparl.org/1.1/"


@dataclass(frozen=True)
class Render:
    """What every mapping function needs besides the row: URLs, output time zone, list options."""

    urls: UrlBuilder
    tz: ZoneInfo
    omit_internal: bool = False
    # True for clients whose token has the read-nonpublic scope.
    nonpublic: bool = False
    # Licence and contacts the System and Bodies show where their records name none.
    publisher: Publisher = NO_PUBLISHER

    def context(self) -> dict[str, Any]:
        return {"tz": self.tz}

    def shows(self, obj: Any) -> bool:
        """Whether `obj` may appear, embedded or referenced (oparl.visibility)."""
        return obj is not None and visibility.shown(obj, entitled=self.nonpublic)

    def visible(self, objects: list[Any]) -> list[Any]:
        return [o for o in objects if self.shows(o)]

    def ref(self, type_name: str, obj: Any) -> str | None:
        return self.urls.object(type_name, obj.id) if self.shows(obj) else None


def _format_datetime(value: dt.datetime, info: SerializationInfo) -> str:
    # OParl date-time: seconds precision and a numeric offset, never "Z" or fractions.
    tz = (info.context or {}).get("tz", dt.UTC)
    return value.astimezone(tz).replace(microsecond=0).isoformat()


DateTime = Annotated[dt.datetime, PlainSerializer(_format_datetime, return_type=str)]


class OParlModel(BaseModel):
    """Base of every wire model: camelCase on the wire, and no null, no "" and no [] emitted.

    Arrays the spec makes mandatory (e.g. Body.legislativeTerm) are named in KEEP_EMPTY.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)
    KEEP_EMPTY: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        keep = self.KEEP_EMPTY
        return {k: v for k, v in data.items() if not (v is None or ((v == "" or v == []) and k not in keep))}


class ObjectOut(OParlModel):
    """Fields every OParl object has (spec chapter 7)."""

    id: str
    type: str
    license: str | None = None
    keyword: list[str] | None = None
    created: DateTime
    modified: DateTime
    web: str | None = None
    deleted: bool | None = None
    # Vendor extension (spec: "Herstellerspezifische Erweiterungen"); only entitled clients see such objects.
    nonpublic: bool | None = Field(default=None, alias="oparl-server:nonPublic")


# Links to a calendar and feeds of the object (oparl/distribution), under this server's prefix.
Calendar = Annotated[str | None, Field(default=None, alias="oparl-server:calendar")]
PapersFeed = Annotated[str | None, Field(default=None, alias="oparl-server:papersFeed")]
AgendaFeed = Annotated[str | None, Field(default=None, alias="oparl-server:agendaFeed")]
Catalog = Annotated[str | None, Field(default=None, alias="oparl-server:catalog")]


class TombstoneOut(OParlModel):
    """A deleted object: id, type, created, modified and deleted=true, nothing else (spec 6)."""

    id: str
    type: str
    created: DateTime
    modified: DateTime
    deleted: bool = True


def dump(model: OParlModel, render: Render) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, context=render.context())


def common(obj: Any, type_name: str, urls: UrlBuilder, url: str | None = None) -> dict[str, Any]:
    """The shared fields of a live object, as keyword arguments for its wire model. `web` is this
    server's page where the type has one (a mirror's stored `web` names the source's), else stored."""
    return {
        "id": url or urls.object(type_name, obj.id),
        "type": SCHEMA_BASE + type_name,
        "license": obj.license,
        "keyword": obj.keyword,
        "created": obj.created,
        "modified": obj.modified,
        "web": urls.page(type_name, obj.id) or obj.web,
        "nonpublic": True if obj.nonpublic else None,
    }
