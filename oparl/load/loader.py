"""OParl-shaped records into the tables: the one way data gets in (fixtures, write API, harvests).

A record is an OParl object in its JSON shape with a stable `key` instead of an `id`. References
are keys of other records or OParl URLs of this server; embedded objects are nested records.
Writing is an upsert by key, in one of two modes: `replace` (the record is the whole object: what
it leaves out is cleared) or merge (only the given properties change). Nothing is stamped while
records are applied; `finish` compares every touched row with its state before and gives every
object whose output changed, and every object embedding or showing it, one `modified`.
The caller owns the transaction.

The loader keeps upserts, links and deletes; its parts keep their own state: the change log
(`log`: what this write did), the references (`refs`: keys and URLs to rows) and the links
(`links`: ordered link rows); the propagation of visibility runs once, in `finish`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.types import Boolean

import models
from models import BodyScoped, OParlObject
from oparl.catalogue import INSERT_ORDER, SCHEMA_BASE, SHARED, TYPES, child_in, children_of, of, target
from oparl.content import ContentStore
from oparl.errors import NotFound, RecordError, Where
from oparl.load.changelog import ChangeLog, LoadReport
from oparl.load.checks import check_complete, stored_content
from oparl.load.erasure import erase
from oparl.load.links import Links
from oparl.load.propagation import Propagation
from oparl.load.references import References
from oparl.records import (
    ADDITIVE,
    FROM_BYTES,
    KEPT_IF_ABSENT,
    Field,
    classify,
    mapper,
    nullable,
    properties,
    relationship,
)
from oparl.text.extract import Extracted
from oparl.text.files import texts_of
from oparl.urls import UrlBuilder
from oparl.values import ITEMS, check_strings, convert
from oparl.visibility import FeedNote


@dataclass(frozen=True)
class _Pending:
    """A row whose references are set in pass 2, after every row of the write exists."""

    obj: OParlObject
    record: dict[str, Any]
    where: Where
    owned: frozenset[str]  # attributes its parent sets (an embedded child's parent and Body)


class Loader:
    def __init__(
        self,
        session: Session,
        *,
        urls: UrlBuilder,
        store: ContentStore,
        base_dir: Path | None = None,
        stable_ids: bool = False,
        on_missing: Callable[[Where, str], None] | None = None,
        sees_nonpublic: bool = True,
    ) -> None:
        """`stable_ids`: new rows get an id derived from their key (harvested objects keep their URL
        whatever order they arrive in). `on_missing(where, reference)`: a reference to an object that
        is not there is dropped and reported instead of refusing the record. `sees_nonpublic=False`:
        the writer may not learn anything about non-public records (a write token without
        read-nonpublic): they do not exist for its references, PATCH and DELETE, a record of its
        own naming one is refused, and replacing a public record keeps what it embeds or links
        non-publicly, so no answer differs from what the public state alone would give."""
        self.session, self.store, self.base_dir = session, store, base_dir
        self.log = ChangeLog()
        self.refs = References(
            session, urls, self.log, stable_ids=stable_ids, sees_nonpublic=sees_nonpublic, on_missing=on_missing
        )
        self.links = Links(session, self.log, self.refs)
        self.unsaved: dict[str, list[OParlObject]] = defaultdict(list)  # new rows to add at the next flush
        # The text of the bytes of each `content` (a path, or the upload's Stored), extracted before the write.
        self.texts: dict[Any, Extracted] = {}

    # -- entry points ---------------------------------------------------------------------------

    def load(self, records: list[Any], *, replace: bool = True) -> None:
        """Applies records (pass 1: rows and fields; pass 2: references, so records may name later ones)."""
        places = []
        for index, record in enumerate(records):  # before any query sees a string of them
            places.append(self._where(record, index))
            check_strings(record, places[-1])
        self.texts.update(texts_of(records, self.base_dir))
        self.refs.prefetch(records)
        pending: list[_Pending] = []
        with self.session.no_autoflush:  # rows are written at explicit flushes, once complete
            for record, where in zip(records, places, strict=True):
                self._upsert(TYPES[str(where.type_name)].model, record, where, {}, replace, pending)
            self._flush()
            for row in pending:
                self._relations(row)
            self.links.insert()
        self.session.flush()

    def delete(self, type_name: str, key: str, reason: FeedNote = FeedNote.DELETED) -> OParlObject:
        """Soft delete, with a tombstone for each object embedded only in this one; `reason`
        privacy erases them too (oparl/load/erasure.py), also when they were deleted before."""
        model = TYPES[type_name].model
        check_strings(key, Where(type_name, key, ".key"))
        obj = self.session.scalar(select(model).where(model.key == key))
        if obj is None or self.refs.hidden(obj):
            raise NotFound.by_key(type_name, key)
        doomed: list[OParlObject] = [obj]
        for child, embedding in children_of(type_name):
            column = getattr(child.model, str(embedding.child_column))
            doomed += self.session.scalars(select(child.model).where(column == obj.id))
        doomed += Propagation(self.session, self.log).embedded_only_in(doomed)
        self.refs.forget()  # some of them may have been found alive before
        for gone in doomed:
            self.log.delete(gone, reason)
            if reason is FeedNote.PRIVACY:
                erase(self.session, self.log, gone)
        self.session.flush()
        return obj

    def finish(self, moment: dt.datetime) -> LoadReport:
        """Stamps what changed with `moment` (see oparl.write for how it is chosen)."""
        Propagation(self.session, self.log).visibility()
        return self.log.finish(self.session, moment)

    def _where(self, record: Any, index: int) -> Where:
        type_name = str(record.get("type", "")).removeprefix(SCHEMA_BASE) if isinstance(record, dict) else ""
        if type_name not in TYPES:
            raise RecordError(Where(path=f"[{index}].type"), f"not an OParl type: {str(record)[:80]!r}")
        return Where(type_name, record.get("key"))

    def _flush(self) -> None:
        """Writes pending rows, new ones type by type in INSERT_ORDER: the unit of work's own order
        follows the relationships and does not see every foreign key (`body_id`, or models in a cycle),
        so new rows join the session only at their turn."""
        for type_name in INSERT_ORDER:
            if self.unsaved.get(type_name):
                self.session.add_all(self.unsaved.pop(type_name))
                self.session.flush()
        self.session.flush()

    # -- pass 1: rows and their own fields --------------------------------------------------------

    def _upsert(
        self, model: type[OParlObject], record: Any, where: Where, fixed: dict[str, Any], replace: bool,
        pending: list[_Pending],
    ) -> OParlObject:  # fmt: skip
        obj, new = self.refs.row_for(model, record, where)
        if new:
            self.unsaved[model.__name__].append(obj)
        owned = frozenset(fixed) | {a.removesuffix("_id") for a in fixed}
        fields = {name: classify(model, name) for name in record}
        if replace:
            self._clear_absent(obj, record, owned)
        nested = [
            (field, attr, record[name], where.at(f".{name}"))
            for name, (field, attr) in fields.items()
            if attr not in owned and self._field(obj, field, attr, record[name], where.at(f".{name}"), record)
        ]
        for attr, value in fixed.items():
            self.log.set(obj, attr, value)
        check_complete(self.session, self.log, obj, where)
        if obj.id is None or isinstance(obj, models.Body):  # its embedded objects need it to exist
            self._flush()
        for field, attr, value, field_where in nested:
            self._nested(obj, field, attr, value, field_where, replace, pending)
        pending.append(_Pending(obj, record, where, owned))
        return obj

    def _clear_absent(self, obj: OParlObject, record: dict[str, Any], owned: frozenset[str]) -> None:
        """Replace mode: a property the record leaves out is empty afterwards."""
        if obj in self.log.created:
            return  # a new row starts empty
        model = type(obj)
        for name in properties(model.__name__):
            field, attr = classify(model, name)
            if name in record or attr in owned or attr in ADDITIVE or attr in KEPT_IF_ABSENT:
                continue
            if field is Field.NONPUBLIC:
                self.log.set(obj, "restricted", False)
            elif field is Field.SCALAR and not (isinstance(obj, models.File) and obj.stored and attr in FROM_BYTES):
                if nullable(model, attr):
                    self.log.set(obj, attr, None)
            elif field is Field.ONE and nullable(model, f"{attr}_id") and not self._keeps(obj, attr):
                self.log.set(obj, f"{attr}_id", None)
            elif field is Field.CHILDREN:
                self._drop_children(obj, attr, kept=set())
            elif field is Field.MANY:
                rel = relationship(model, attr)
                self.links.write(obj, rel.secondary, [], reverse=bool(rel.info.get("reverse")))

    def _field(
        self, obj: OParlObject, field: Field, attr: str, value: Any, where: Where, record: dict[str, Any]
    ) -> bool:
        """Stores a plain field now; True when the field holds embedded objects to store next."""
        if field is Field.UNKNOWN:
            raise RecordError(where, f"{type(obj).__name__} has no such property")
        if field in (Field.CHILDREN, Field.MANY) and not isinstance(value, list):
            raise RecordError(where, "expected an array")
        if field in (Field.CHILDREN, Field.MANY) and len(value) > ITEMS:
            raise RecordError(where, f"at most {ITEMS} entries, got {len(value)}")
        if field is Field.CHILDREN:
            return True
        if field is Field.MANY or (field is Field.ONE and isinstance(value, dict)):
            return self._embeds(type(obj), attr, value if isinstance(value, list) else [value], where)
        for name, stored in self._stored(obj, field, attr, value, where, record):
            self.log.set(obj, name, stored)
        return False

    def _embeds(self, model: type[OParlObject], attr: str, values: list[Any], where: Where) -> bool:
        """Whether `values` hold embedded records; only Files and Locations are written inside others."""
        if not any(isinstance(v, dict) for v in values):
            return False
        rel = mapper(model).relationships.get(attr)
        to = rel.mapper.class_ if rel is not None and rel.secondary is not None else target(model, f"{attr}_id").model
        if not issubclass(to, SHARED):
            raise RecordError(where, f"a {to.__name__} is referenced by key or OParl URL, not written inside")
        return True

    def _stored(
        self, obj: OParlObject, field: Field, attr: str, value: Any, where: Where, record: dict[str, Any]
    ) -> list[tuple[str, Any]]:
        """The attributes a plain field (or a required reference) sets, with their values as stored."""
        model = type(obj)
        if field is Field.NONPUBLIC:
            if isinstance(obj, (models.System, models.Body)) and value:
                raise RecordError(where, f"a {model.__name__} is always public")
            return [("restricted", bool(convert(Boolean(), value, where, attr)))]
        if field is Field.SCALAR:
            from_bytes = attr in FROM_BYTES and ("content" in record or getattr(obj, "stored", False))
            return [] if from_bytes else [(attr, convert(mapper(model).columns[attr].type, value, where, attr))]
        if field is Field.CONTENT:
            found = stored_content(self.session, self.store, self.base_dir, obj, value, where)
            extracted = self.texts.get(value)
            if extracted is not None and "text" not in record:  # a text the record gives wins
                found += [("text", extracted.text), ("text_state", extracted.state)]
            return found
        if field is Field.ONE and not nullable(model, f"{attr}_id"):
            # A required reference (the Body, an item's Meeting) must exist before the row is written.
            return [(f"{attr}_id", self.refs.resolve(value, target(model, f"{attr}_id").model, where))]
        return []

    def _nested(
        self, obj: OParlObject, field: Field, attr: str, value: Any, where: Where, replace: bool,
        pending: list[_Pending],
    ) -> None:  # fmt: skip
        model = type(obj)
        fixed: dict[str, Any] = {"body_id": obj.body_id if isinstance(obj, BodyScoped) else obj.id}
        if field is Field.CHILDREN:
            child, embedding = child_in(model.__name__, attr)
            fk, position = str(embedding.child_column), child.position
            kept: set[int] = set()
            slots = self._free_slots(obj, child.model, fk)
            for index, item in enumerate(value):
                child_fixed = {**fixed, fk: obj.id}
                if position is not None:
                    child_fixed[position] = next(slots) if slots else index
                kept.add(self._upsert(child.model, item, where.at(f"[{index}]"), child_fixed, replace, pending).id)
            self._drop_children(obj, attr, kept)
        elif field is Field.MANY:
            to = relationship(model, attr).mapper.class_
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    self._upsert(to, item, where.at(f"[{index}]"), fixed, replace, pending)
        else:
            embedded = self._upsert(target(model, f"{attr}_id").model, value, where, fixed, replace, pending)
            self.log.set(obj, f"{attr}_id", embedded.id)

    def _drop_children(self, parent: OParlObject, attr: str, kept: set[int]) -> None:
        if parent in self.log.created:
            return  # no row points at a parent that did not exist
        child, embedding = child_in(type(parent).__name__, attr)
        column = getattr(child.model, str(embedding.child_column))
        for gone in self.session.scalars(select(child.model).where(column == parent.id)):
            if gone.id not in kept and not gone.deleted and not self.refs.hidden(gone):
                self.log.delete(gone)

    def _free_slots(self, parent: OParlObject, child: type[OParlObject], fk: str) -> Iterator[int] | None:
        """Positions for the visible children of an array: those of its non-public children stay
        where they are, so the visible ones keep theirs. None: positions are the array's indexes."""
        position_column = of(child).position
        if self.refs.sees_nonpublic or parent in self.log.created or position_column is None:
            return None
        position = getattr(child, position_column)
        query = select(position).where(getattr(child, fk) == parent.id, child.nonpublic, ~child.deleted)
        taken = set(self.session.scalars(query))
        return (slot for slot in itertools.count() if slot not in taken) if taken else None

    # -- pass 2: references and ordered links ----------------------------------------------------

    def _relations(self, row: _Pending) -> None:
        obj, model = row.obj, type(row.obj)
        for name, value in row.record.items():
            field, attr = classify(model, name)
            if attr in row.owned:
                continue
            where = row.where.at(f".{name}")
            if field is Field.MANY:
                rel = relationship(model, attr)
                ids = self.refs.resolve_all(value, rel.mapper.class_, where)
                self.links.write(obj, rel.secondary, ids, reverse=bool(rel.info.get("reverse")))
            elif field is Field.ONE and not isinstance(value, dict) and nullable(model, f"{attr}_id"):
                if value is None and self._keeps(obj, attr):
                    continue
                to = target(model, f"{attr}_id").model
                resolved = None if value is None else self.refs.resolve(value, to, where, lenient=True)
                self.log.set(obj, f"{attr}_id", resolved)

    def _keeps(self, obj: OParlObject, attr: str) -> bool:
        """Whether a reference that a record leaves out or clears stays: it names an object the writer cannot see."""
        current = getattr(obj, f"{attr}_id")
        if self.refs.sees_nonpublic or current is None or obj in self.log.created:
            return False
        return bool(self.refs.hidden_ids(target(type(obj), f"{attr}_id").model, [current]))
