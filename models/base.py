"""Declarative base, portable column types and the fields every OParl object shares."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every engine, truncated to whole seconds.

    SQLite has no time zones, so values are stored naive in UTC and made aware again on the
    way out. OParl compares and prints at second precision, so sub-seconds are never stored:
    a stored value always equals what a client saw and can send back as a filter bound.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        value = value.astimezone(dt.UTC).replace(microsecond=0)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# Every OParl object id, and every column holding one, is 64-bit: harvested ids are 52-bit hashes
# of the source URL (oparl.load.stable_id). SQLite's INTEGER is 64-bit already, and only a column
# declared INTEGER PRIMARY KEY is the rowid, so SQLite keeps that name.
ObjectId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), list[str]: JSON(), dict[str, Any]: JSON()}


class OParlObject:
    """Common OParl fields (spec chapter "Übergreifende Aspekte") plus internal bookkeeping.

    `id` is the internal key that public URLs are built from; `key` is the stable key of the
    system that delivered the record (fixture key, a city system's record id), unique per table,
    so re-loading the same data updates rows in place and ids never change.
    """

    # Every column has a Python default, so an INSERT need not read anything back: without this,
    # SQLAlchemy asks for RETURNING, which on SQLite turns a batch insert into one statement per row.
    __mapper_args__ = {"eager_defaults": False}

    id: Mapped[int] = mapped_column(ObjectId, primary_key=True)
    key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)
    modified: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Non-public objects are served only to tokens with the read-nonpublic scope. `restricted` is
    # what the writer said; `nonpublic`, what readers obey, adds the parent's for embedded-only
    # children (a Consultation of a non-public Paper). `ever_public` tells a depublished object
    # (anonymous clients get a tombstone) from one never published (404).
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    nonpublic: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    ever_public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    keyword: Mapped[list[str] | None]
    web: Mapped[str | None] = mapped_column(Text)
    license: Mapped[str | None] = mapped_column(Text)
    # Moves with every stamp, even two in one second (`modified` has whole seconds): ETags use it.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The object as anonymous clients get it (JSON bytes), written by `oparl.snapshot` in the
    # transaction that stamps the object; `rendered_key` names the code and settings it was
    # rendered with. A stamp clears the key, so a stale rendering is never served.
    rendered: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    rendered_key: Mapped[str | None] = mapped_column(String(32), deferred=True)


class BodyScoped(OParlObject):
    """Objects listed in one Body's lists; OParl leaves the Body implicit for most of them."""

    @declared_attr
    def body_id(cls) -> Mapped[int]:
        return mapped_column(ObjectId, ForeignKey("body.id"))

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, Index]:
        name = cls.__tablename__  # type: ignore[attr-defined]
        # Body lists seek by (body_id, id): keyset pagination walks this index. The second covers
        # what a list's count reads (visibility, filters), so a count never reads the wide rows
        # (their stored renderings): 5 times faster on SQLite (bench/RESULTS.md, issue 18).
        listed = ("body_id", "deleted", "nonpublic", "id", "created", "modified", "ever_public")
        return Index(f"ix_{name}_body_id_id", "body_id", "id"), Index(f"ix_{name}_listed", *listed)
