"""The search index's rows: one per indexed object, holding its analysed terms (oparl.search).

The engines index these rows: on SQLite an FTS5 table over them (external content, kept in step by
triggers), on PostgreSQL generated tsvector columns with GIN indexes; both made by the migration
only, since neither is a portable table. A deleted object has no row.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, ObjectId

# Made by the migration alone, per engine (models/migrations/env.py leaves them out of comparisons):
# the FTS5 tables (and the shadow tables FTS5 makes beside them), the tsvector columns and GINs.
ENGINE_TABLES = ("search_fts", "search_title_fts", "search_prefix_fts")
ENGINE_OBJECTS = frozenset(
    {
        "doc",
        "title_doc",
        "facet",
        "ix_search_entry_doc",
        "ix_search_entry_facet",
        "ix_search_entry_title_doc",
        "ix_search_entry_title_prefixes",
        "ix_search_entry_text_rows",
    }
)


class SearchEntry(Base):
    __tablename__ = "search_entry"
    __table_args__ = (
        Index("ix_search_entry_type_name_object_id", "type_name", "object_id", unique=True),
        Index("ix_search_entry_body_id_ref_key", "body_id", "ref_key"),
    )

    # The FTS5 table's rowid on SQLite: an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(ObjectId, primary_key=True)
    type_name: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(ObjectId)
    body_id: Mapped[int] = mapped_column(ObjectId)
    public: Mapped[bool] = mapped_column(Boolean)  # shown to anonymous clients (it is never deleted)
    ref_key: Mapped[str | None] = mapped_column(String(200))  # oparl.search.analysis.reference_key
    date: Mapped[dt.date | None]  # what the date filters compare
    title: Mapped[str] = mapped_column(Text)  # terms of the name, reference and such
    body: Mapped[str] = mapped_column(Text)  # terms of the document text
    facets: Mapped[str] = mapped_column(Text)  # filter tokens (oparl.search.documents)
