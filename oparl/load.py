"""OParl-shaped records into the tables: the one way data gets in (fixtures, write API, batches).

A record is an OParl object in its JSON shape with a stable `key` instead of an `id`. References
are keys of other records or OParl URLs of this server; embedded objects are nested records.
Writing is an upsert by key, in one of two modes: `replace` (the record is the whole object: what
it leaves out is cleared) or merge (only the given properties change). Nothing is stamped while
records are applied; `finish` compares every touched row with its state before and gives every
object whose output changed, and every object embedding or showing it, one `modified`.
The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, overload

from sqlalchemy import Table, delete, insert, inspect, select, update
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.types import Boolean

import models
from models import BodyScoped, OParlObject, utcnow
from oparl.base import SCHEMA_BASE
from oparl.cascade import (
    BACKREF_COLUMNS,
    BACKREF_LINKS,
    SHARED,
    Changes,
    chunks,
    embedded_children,
    embedding_parents,
    link_ends,
)
from oparl.content import ContentStore, Stored
from oparl.errors import Forbidden, NotFound
from oparl.records import (
    ADDITIVE,
    CHILDREN,
    FROM_BYTES,
    MODELS,
    POSITION,
    Field,
    RecordError,
    classify,
    fk_target,
    parent_of,
    properties,
)
from oparl.urls import SEGMENTS, UrlBuilder
from oparl.values import ITEMS, REFERENCE, check_length, check_strings, convert

DIGITS = re.compile(r"[1-9][0-9]{0,17}")
# Every foreign key of a new row points at an earlier type here, except `Body.location` (a Body is
# written before what it embeds, then points at it) and references set in pass 2 (after all inserts).
INSERT_ORDER = ("System", "Body", "Location", "File", "LegislativeTerm", "Organization", "Person", "Membership",
                "Meeting", "AgendaItem", "Paper", "Consultation")  # fmt: skip


@dataclass
class LoadReport:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    stamped: int = 0


class Loader:
    def __init__(
        self,
        session: Session,
        *,
        urls: UrlBuilder,
        store: ContentStore,
        base_dir: Path | None = None,
        stable_ids: bool = False,
        on_missing: Callable[[str, str], None] | None = None,
        sees_nonpublic: bool = True,
    ) -> None:
        """`stable_ids`: new rows get an id derived from their key (harvested objects keep their URL
        whatever order they arrive in). `on_missing(path, reference)`: a reference to an object that
        is not there is dropped and reported instead of refusing the record. `sees_nonpublic=False`:
        the writer may not learn anything about non-public records (a write token without
        read-nonpublic): they do not exist for its references, PATCH and DELETE, a record of its
        own naming one is refused, and replacing a public record keeps what it embeds or links
        non-publicly, so no answer differs from what the public state alone would give."""
        self.session, self.urls, self.store, self.base_dir = session, urls, store, base_dir
        self.stable_ids, self.on_missing, self.sees_nonpublic = stable_ids, on_missing, sees_nonpublic
        self.created: set[OParlObject] = set()  # rows this write inserts
        self.seen: dict[OParlObject, None] = {}
        self.before: dict[OParlObject, dict[str, Any]] = {}
        self.relinked: set[OParlObject] = set()
        self.changes = Changes()
        self.deleted = 0
        self.changed: set[OParlObject] = set()
        # Rows this write touched, by key: references to them resolve without a query.
        self.by_key: dict[tuple[type[OParlObject], str], OParlObject] = {}
        # What the batch's prefetch found missing, and (id, deleted) of referenced rows by key.
        self.absent: set[tuple[type[OParlObject], str]] = set()
        self.refs: dict[tuple[type[OParlObject], str], tuple[int, bool, bool] | None] = {}
        self.unsaved: dict[str, list[OParlObject]] = defaultdict(list)  # new rows to add at the next flush
        # Link rows of this write, inserted together at the end of `load`.
        self.link_rows: dict[tuple[Table, str, int], list[dict[str, int]]] = {}

    # -- entry points ---------------------------------------------------------------------------

    def load(self, records: list[Any], *, replace: bool = True) -> None:
        """Applies records (pass 1: rows and fields; pass 2: references, so records may name later ones)."""
        pending: list[tuple[OParlObject, dict[str, Any], str, frozenset[str]]] = []
        for index, record in enumerate(records):  # before any query sees a string of them
            check_strings(record, f"{self._type_of(record, f'[{index}]').__name__} {_shown_key(record)}")
        self._prefetch(records)
        with self.session.no_autoflush:  # rows are written at explicit flushes, once complete
            for index, record in enumerate(records):
                model = self._type_of(record, f"[{index}]")
                path = f"{model.__name__} {_shown_key(record)}"
                self._upsert(model, record, path, {}, replace=replace, pending=pending)
            self._flush()
            for obj, record, path, owned in pending:
                self._relations(obj, record, path, owned, replace=replace)
            self._insert_links()
        self.session.flush()

    def _flush(self) -> None:
        """Writes pending rows, new ones type by type in INSERT_ORDER: the unit of work's own order
        follows the relationships and does not see every foreign key (`body_id`, or models in a cycle),
        so new rows join the session only at their turn."""
        for type_name in INSERT_ORDER:
            if self.unsaved.get(type_name):
                self.session.add_all(self.unsaved.pop(type_name))
                self.session.flush()
        self.session.flush()

    def _prefetch(self, records: list[Any]) -> None:
        """A few queries per type for the rows a batch writes (embedded ones too) and the rows it
        references, instead of several per record."""
        wanted: dict[type[OParlObject], set[str]] = defaultdict(set)
        referenced: dict[type[OParlObject], set[str]] = defaultdict(set)
        for record in records:
            if isinstance(record, dict):
                type_name = str(record.get("type", "")).removeprefix(SCHEMA_BASE)
                if type_name in MODELS:
                    _named(MODELS[type_name], record, wanted, referenced, f"{self.urls.api}/")
        for model, keys in wanted.items():
            for chunk in chunks(sorted(keys)):
                for obj in self.session.scalars(select(model).where(model.key.in_(chunk))):
                    self.by_key[(model, str(obj.key))] = obj
            self.absent.update((model, key) for key in keys if (model, key) not in self.by_key)
        for model, keys in referenced.items():
            for chunk in chunks(sorted(keys - wanted.get(model, set()))):
                found = {row.key: (int(row.id), bool(row.deleted), bool(row.nonpublic))
                         for row in self.session.execute(select(model.id, model.key, model.deleted, model.nonpublic)
                                                         .where(model.key.in_(chunk)))}  # fmt: skip
                for ref in chunk:
                    self.refs[(model, ref)] = found.get(ref)

    def delete(self, type_name: str, key: str) -> OParlObject:
        """Soft delete, with a tombstone for each object embedded only in this one."""
        model = MODELS[type_name]
        check_strings(key, f"{type_name} {key!r}.key")
        obj = self.session.scalar(select(model).where(model.key == key))
        if obj is None or self._hidden(obj):
            raise NotFound(f"Kein Objekt vom Typ {type_name} mit dem Schlüssel {key!r}.")
        doomed: list[OParlObject] = [obj]
        for (parent_type, attr), fk in CHILDREN.items():
            if parent_type == type_name:
                child = _mapper(model).relationships[attr].mapper.class_
                doomed += self.session.scalars(select(child).where(getattr(child, fk) == obj.id))
        doomed += self._embedded_only_in(doomed)
        self.refs.clear()  # some of them may have been found alive before
        for gone in doomed:
            self.seen.setdefault(gone)
            if not gone.deleted:
                self._set(gone, "deleted", True)
                self.deleted += 1
        self.session.flush()
        return obj

    def finish(self, moment: dt.datetime) -> LoadReport:
        """Stamps what changed with `moment` (see oparl.write for how it is chosen)."""
        self._propagate_visibility()
        created = self.created
        changed = {o for o, before in self.before.items() if o not in created and _differs(o, before)}
        changed |= self.relinked - created
        self.changed = changed
        for obj in changed:
            obj.ever_public = obj.ever_public or not obj.nonpublic
        self.session.flush()
        fresh = self._stamp_created(moment)
        for obj in created | changed:
            model, before = type(obj), self.before.get(obj, {})
            self.changes.add(model, obj.id)
            if obj not in created and ("deleted" in before or "nonpublic" in before):
                self.changes.add_visibility(model, obj.id)
            for type_name, column in BACKREF_COLUMNS:
                if type_name == model.__name__ and (obj in created or column in before):
                    target = fk_target(model, column.removesuffix("_id"))
                    self.changes.add(target, getattr(obj, column), before.get(column))
        self.session.flush()
        stamped = self.changes.stamp(self.session, moment, done=fresh)
        unique = set(self.seen)
        return LoadReport(
            created=len(created),
            changed=len(changed),
            unchanged=len(unique - changed - created),
            deleted=self.deleted,
            stamped=stamped,
        )

    def _stamp_created(self, moment: dt.datetime) -> dict[type[OParlObject], set[int]]:
        """New rows get `moment` (they were inserted with placeholders), a few statements per type
        instead of an UPDATE per row, and all the stamp gives; returns their ids, for `Changes.stamp`
        to leave out. `oparl.write.commit` expires the loaded objects before it renders them."""
        ids: dict[type[OParlObject], set[int]] = defaultdict(set)
        for obj in self.created:
            ids[type(obj)].add(obj.id)
        for model, found in ids.items():
            for chunk in chunks(sorted(found)):
                self.session.execute(
                    update(model)
                    .where(model.id.in_(chunk))
                    .values(created=moment, modified=moment, ever_public=~model.nonpublic,
                            revision=model.revision + 1, rendered_key=None),
                    execution_options={"synchronize_session": False},
                )  # fmt: skip
        return ids

    def _children(self, parents: list[OParlObject]) -> set[OParlObject]:
        """The embedded-only children of `parents` in the database (a new parent has only written ones)."""
        parent_ids: dict[str, list[int]] = defaultdict(list)
        for parent in parents:
            if parent not in self.created:  # a new row's children were all written here
                parent_ids[type(parent).__name__].append(parent.id)
        children: set[OParlObject] = set()
        for (parent_type, attr), fk in CHILDREN.items():
            child_model = _mapper(MODELS[parent_type]).relationships[attr].mapper.class_
            for chunk in chunks(sorted(parent_ids.get(parent_type, []))):
                children.update(self.session.scalars(select(child_model).where(getattr(child_model, fk).in_(chunk))))
        return children

    def _propagate_visibility(self) -> None:
        """What readers obey (`nonpublic`), from what writers said (`restricted`).

        An embedded-only child is hidden with its parent. A File or Location is hidden when every live
        object embedding it is hidden (a file only in a non-public paper is as secret as the paper).
        """
        touched = [*self.created, *self.before]
        tops = [o for o in touched if not _child_of(o) and not isinstance(o, SHARED)]
        for obj in tops:
            self._set(obj, "nonpublic", obj.restricted)
        children = {o for o in touched if _child_of(o)} | self._children(tops)
        for child in children:
            parent_type, fk = _child_of(child) or ("", "")
            parent_model = MODELS[parent_type]
            owner = self.session.get(parent_model, getattr(child, fk))
            self._set(child, "nonpublic", child.restricted or bool(owner is not None and owner.nonpublic))
        self.session.flush()
        shared: dict[type[OParlObject], set[int]] = embedded_children(self.session, [*tops, *children])
        for obj in touched:
            if isinstance(obj, SHARED):
                shared.setdefault(type(obj), set()).add(obj.id)
        for model, ids in shared.items():
            parents = embedding_parents(self.session, model, ids)
            flags = _flags(self.session, {p for found in parents.values() for p in found})
            # Flags only (all is flushed): an object is loaded just where its visibility changes.
            for row in self.session.execute(select(model.id, model.restricted, model.nonpublic)
                                            .where(model.id.in_(ids))):  # fmt: skip
                live = [flags[p] for p in parents.get(row.id, ()) if not flags[p][0]]
                hidden = bool(row.restricted) or (bool(live) and all(nonpublic for _, nonpublic in live))
                if hidden != bool(row.nonpublic):
                    self._set(self.session.get_one(model, row.id), "nonpublic", hidden)

    # -- pass 1: rows and their own fields --------------------------------------------------------

    def _type_of(self, record: Any, path: str) -> type[OParlObject]:
        type_name = str(record.get("type", "")).removeprefix(SCHEMA_BASE) if isinstance(record, dict) else ""
        if type_name not in MODELS:
            raise RecordError(f"{path}.type: not an OParl type: {str(record)[:80]!r}")
        return MODELS[type_name]

    def _upsert(
        self,
        model: type[OParlObject],
        record: dict[str, Any],
        path: str,
        fixed: dict[str, Any],
        *,
        replace: bool,
        pending: list[tuple[OParlObject, dict[str, Any], str, frozenset[str]]],
    ) -> OParlObject:
        obj = self._row(model, record, path)
        owned = frozenset(fixed) | {a.removesuffix("_id") for a in fixed}
        fields = {name: classify(model, name) for name in record}
        if replace:
            self._clear_absent(obj, record, owned, path)
        nested = [
            (field, attr, record[name], f"{path}.{name}")
            for name, (field, attr) in fields.items()
            if attr not in owned and self._field(obj, field, attr, record[name], f"{path}.{name}", record)
        ]
        for attr, value in fixed.items():
            self._set(obj, attr, value)
        self._check_complete(obj, path)
        if obj.id is None or isinstance(obj, models.Body):  # its embedded objects need it to exist
            self._flush()
        for field, attr, value, field_path in nested:
            self._nested(obj, field, attr, value, field_path, replace=replace, pending=pending)
        pending.append((obj, record, path, owned))
        return obj

    def _row(self, model: type[OParlObject], record: Any, path: str) -> OParlObject:
        if not isinstance(record, dict):
            raise RecordError(f"{path}: expected an object, got {type(record).__name__}")
        key = record.get("key")
        if not isinstance(key, str) or not 0 < len(key) <= 255 or not key.isprintable():
            raise RecordError(f"{path}.key: every record needs a key of 1 to 255 printable characters")
        obj = self.by_key.get((model, key))
        if obj is None and (model, key) not in self.absent:
            obj = self.session.scalar(select(model).where(model.key == key))
        if obj is None:
            obj = model()
            if self.stable_ids:
                obj.id = stable_id(key)
            obj.key, obj.deleted, obj.ever_public = key, False, False
            obj.restricted = obj.nonpublic = False
            obj.created = obj.modified = utcnow()  # placeholders; finish() stamps the real moment
            self.unsaved[model.__name__].append(obj)
            self.created.add(obj)
        elif self._hidden(obj):
            raise Forbidden(f"{path}.key: writing a non-public record needs the scope read-nonpublic")
        # A File or Location may sit in several objects of one write (one meeting room, many meetings).
        if obj in self.seen and not isinstance(obj, SHARED):
            raise RecordError(f"{path}.key: the key {key!r} appears twice in one write")
        self.seen.setdefault(obj)
        self.by_key[(model, key)] = obj
        self._set(obj, "deleted", False)
        return obj

    def _clear_absent(self, obj: OParlObject, record: dict[str, Any], owned: frozenset[str], path: str) -> None:
        """Replace mode: a property the record leaves out is empty afterwards."""
        if obj in self.created:
            return  # a new row starts empty
        model = type(obj)
        for name in properties(model.__name__):
            field, attr = classify(model, name)
            if name in record or attr in owned or attr in ADDITIVE:
                continue
            if field is Field.NONPUBLIC:
                self._set(obj, "restricted", False)
            elif field is Field.SCALAR and not (isinstance(obj, models.File) and obj.stored and attr in FROM_BYTES):
                if _mapper(model).columns[attr].nullable:
                    self._set(obj, attr, None)
            elif field is Field.ONE and _mapper(model).columns[f"{attr}_id"].nullable and not self._keeps(obj, attr):
                self._set(obj, f"{attr}_id", None)
            elif field is Field.CHILDREN:
                self._drop_children(obj, attr, kept=set())
            elif field is Field.MANY:
                rel = _mapper(model).relationships[attr]
                self._links(obj, rel.secondary, [], reverse=bool(rel.info.get("reverse")))

    def _field(self, obj: OParlObject, field: Field, attr: str, value: Any, path: str, record: dict[str, Any]) -> bool:
        """Stores a plain field now; True when the field holds embedded objects to store next."""
        model = type(obj)
        if field is Field.UNKNOWN:
            raise RecordError(f"{path[:1000]}: {model.__name__} has no such property")
        if field in (Field.CONTENT, Field.NONPUBLIC, Field.SCALAR):
            self._plain(obj, field, attr, value, path, record)
        elif field in (Field.CHILDREN, Field.MANY) and not isinstance(value, list):
            raise RecordError(f"{path}: expected an array")
        elif field in (Field.CHILDREN, Field.MANY) and len(value) > ITEMS:
            raise RecordError(f"{path}: at most {ITEMS} entries, got {len(value)}")
        elif field is Field.CHILDREN:
            return True
        elif field is Field.MANY or (field is Field.ONE and isinstance(value, dict)):
            return self._embeds(model, attr, value if isinstance(value, list) else [value], path)
        elif field is Field.ONE and not _mapper(model).columns[f"{attr}_id"].nullable:
            # A required reference (the Body, an item's Meeting) must exist before the row is written.
            self._set(obj, f"{attr}_id", self._resolve(value, fk_target(model, attr), path))
        return False

    def _embeds(self, model: type[OParlObject], attr: str, values: list[Any], path: str) -> bool:
        """Whether `values` hold embedded records; only Files and Locations are written inside others."""
        if not any(isinstance(v, dict) for v in values):
            return False
        rel = _mapper(model).relationships.get(attr)
        target = rel.mapper.class_ if rel is not None and rel.secondary is not None else fk_target(model, attr)
        if not issubclass(target, SHARED):
            raise RecordError(f"{path}: a {target.__name__} is referenced by key or OParl URL, not written inside")
        return True

    def _plain(self, obj: OParlObject, field: Field, attr: str, value: Any, path: str, record: dict[str, Any]) -> None:
        if field is Field.CONTENT:
            self._content(obj, value, path)
        elif field is Field.NONPUBLIC:
            if isinstance(obj, (models.System, models.Body)) and value:
                raise RecordError(f"{path}: a {type(obj).__name__} is always public")
            self._set(obj, "restricted", bool(convert(Boolean(), value, path, attr)))
        elif not (attr in FROM_BYTES and ("content" in record or getattr(obj, "stored", False))):
            self._set(obj, attr, convert(_mapper(type(obj)).columns[attr].type, value, path, attr))

    def _nested(
        self,
        obj: OParlObject,
        field: Field,
        attr: str,
        value: Any,
        path: str,
        *,
        replace: bool,
        pending: list[tuple[OParlObject, dict[str, Any], str, frozenset[str]]],
    ) -> None:
        model = type(obj)
        body_id = obj.body_id if isinstance(obj, BodyScoped) else obj.id
        fixed: dict[str, Any] = {"body_id": body_id}
        if field is Field.CHILDREN:
            fk = CHILDREN[(model.__name__, attr)]
            target = _mapper(model).relationships[attr].mapper.class_
            kept: set[int] = set()
            slots = self._free_slots(obj, target, fk)
            for index, item in enumerate(value):
                child_fixed = {**fixed, fk: obj.id}
                if target.__name__ in POSITION:
                    child_fixed[POSITION[target.__name__]] = next(slots) if slots else index
                child = self._upsert(target, item, f"{path}[{index}]", child_fixed, replace=replace,
                                     pending=pending)  # fmt: skip
                kept.add(child.id)
            self._drop_children(obj, attr, kept)
        elif field is Field.MANY:
            target = _mapper(model).relationships[attr].mapper.class_
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    self._upsert(target, item, f"{path}[{index}]", fixed, replace=replace, pending=pending)  # fmt: skip
        else:
            target = fk_target(model, attr)
            child = self._upsert(target, value, path, fixed, replace=replace, pending=pending)  # fmt: skip
            self._set(obj, f"{attr}_id", child.id)

    def _drop_children(self, parent: OParlObject, attr: str, kept: set[int]) -> None:
        if parent in self.created:
            return  # no row points at a parent that did not exist
        fk = CHILDREN[(type(parent).__name__, attr)]
        target: type[OParlObject] = _mapper(type(parent)).relationships[attr].mapper.class_
        for gone in self.session.scalars(select(target).where(getattr(target, fk) == parent.id)):
            if gone.id not in kept and not gone.deleted and not self._hidden(gone):
                self.seen.setdefault(gone)
                self._set(gone, "deleted", True)
                self.deleted += 1

    def _content(self, file: OParlObject, value: Any, path: str) -> None:
        """`value`: a path in the fixture folder, or (the upload) bytes already in the store."""
        assert isinstance(file, models.File)
        source: Path | None = None
        if isinstance(value, Stored):
            stored = value
        else:
            if not isinstance(value, str) or self.base_dir is None:
                raise RecordError(f"{path}: expected a path relative to the fixture folder")
            source = (self.base_dir / value).resolve()
            if not source.is_relative_to(self.base_dir.resolve()) or not source.is_file():
                raise RecordError(f"{path}: no file {value!r} in the fixture folder")
            with source.open("rb") as handle:
                stored = self.store.put(self.session, handle, file.file_name or source.name)
        for attr, val in (("stored", True), ("size", stored.size), ("sha512_checksum", stored.sha512),
                          ("sha1_checksum", stored.sha1), ("mime_type", stored.mime_type)):  # fmt: skip
            self._set(file, attr, val)
        if file.file_name is None and source is not None:
            self._set(file, "file_name", source.name)

    def _check_complete(self, obj: OParlObject, path: str) -> None:
        """Refuses what could not be served: what the OParl schema requires and the server cannot
        derive, and a second System (clients reach only the one at /system)."""
        if isinstance(obj, models.System):
            self._check_system(obj, path)
        if isinstance(obj, BodyScoped) and obj.body_id is None:
            raise RecordError(f"{path}.body: the record names no Body")
        if isinstance(obj, models.Body) and not obj.name:
            raise RecordError(f"{path}.name: a Body needs a name")
        if isinstance(obj, models.Body) and obj.system_id is None:
            raise RecordError(f"{path}.system: the record names no System")
        if isinstance(obj, models.AgendaItem) and obj.meeting_id is None:
            raise RecordError(f"{path}.meeting: an AgendaItem needs its Meeting")
        if isinstance(obj, models.Membership) and obj.person_id is None:
            raise RecordError(f"{path}.person: a Membership needs its Person")
        if isinstance(obj, models.File) and not obj.stored and not obj.access_url:
            raise RecordError(f"{path}.accessUrl: a File needs content or an accessUrl")

    def _check_system(self, system: models.System, path: str) -> None:
        # No name required: the OParl schema does not, and harvested Systems may lack one.
        if system in self.created:
            other = self.session.scalar(select(models.System.key).where(models.System.key != system.key).limit(1))
            if other is not None:
                raise RecordError(
                    f"{path}.key: this server has the System {other!r} already; a second one would be unreachable"
                )

    def _embedded_only_in(self, doomed: list[OParlObject]) -> list[OParlObject]:
        """Files and Locations embedded in the doomed objects and in no other live object."""
        doomed_keys = {(type(o), o.id) for o in doomed}
        orphans: list[OParlObject] = []
        for child_model, ids in embedded_children(self.session, doomed).items():
            parents = embedding_parents(self.session, child_model, ids)
            flags = _flags(self.session, {p for found in parents.values() for p in found})
            for child in self.session.scalars(select(child_model).where(child_model.id.in_(ids))):
                live = {p for p in parents.get(child.id, ()) if not flags[p][0]}
                if live <= doomed_keys:
                    orphans.append(child)
        return orphans

    # -- pass 2: references and ordered links ----------------------------------------------------

    def _relations(
        self, obj: OParlObject, record: dict[str, Any], path: str, owned: frozenset[str], *, replace: bool
    ) -> None:
        model = type(obj)
        for name, value in record.items():
            field, attr = classify(model, name)
            if attr in owned:
                continue
            if field is Field.MANY:
                rel = _mapper(model).relationships[attr]
                ids = self._resolve_all(value, rel.mapper.class_, f"{path}.{name}")
                self._links(obj, rel.secondary, ids, reverse=bool(rel.info.get("reverse")))
            elif field is Field.ONE and not isinstance(value, dict) and _mapper(model).columns[f"{attr}_id"].nullable:
                target = fk_target(model, attr)
                if value is None and self._keeps(obj, attr):
                    continue
                self._set(
                    obj,
                    f"{attr}_id",
                    None if value is None else self._resolve(value, target, f"{path}.{name}", lenient=True),
                )

    def _resolve_all(self, values: list[Any], target: type[OParlObject], path: str) -> list[int]:
        found = [self._resolve(v, target, f"{path}[{i}]", lenient=True) for i, v in enumerate(values)]
        return [i for i in found if i is not None]

    @overload
    def _resolve(self, value: Any, target: type[OParlObject], path: str) -> int: ...
    @overload
    def _resolve(self, value: Any, target: type[OParlObject], path: str, *, lenient: bool) -> int | None: ...

    def _resolve(self, value: Any, target: type[OParlObject], path: str, *, lenient: bool = False) -> int | None:
        if isinstance(value, dict):  # an embedded object, stored in pass 1
            value = value.get("key")
        if not isinstance(value, str) or not value:
            raise RecordError(f"{path}: expected a key or an OParl URL, got {value!r}")
        check_length(value, path, REFERENCE)
        known = self.by_key.get((target, value))
        if known is not None and not known.deleted and known.id is not None and not self._hidden(known):
            return known.id
        if (target, value) in self.refs:
            found = self.refs[(target, value)]
        else:
            prefix = f"{self.urls.api}/{SEGMENTS[target.__name__]}/"
            columns = (target.id, target.deleted, target.nonpublic)
            if value.startswith(prefix) and DIGITS.fullmatch(value[len(prefix) :]):
                query = select(*columns).where(target.id == int(value[len(prefix) :]))
            else:
                query = select(*columns).where(target.key == value)
            row = self.session.execute(query).first()
            found = self.refs[(target, value)] = (
                None if row is None else (int(row.id), bool(row.deleted), bool(row.nonpublic))
            )
        if found is not None and found[2] and not self.sees_nonpublic:
            found = None  # for this writer, a non-public object does not exist
        if found is None or found[1]:
            if lenient and self.on_missing is not None:
                self.on_missing(path, value)
                return None
            if found is None:
                raise RecordError(f"{path}: no {target.__name__} with key or URL {value!r}")
            raise RecordError(f"{path}: the {target.__name__} {value!r} is deleted")
        return found[0]

    def _links(self, obj: OParlObject, table: Any, ids: list[int], *, reverse: bool) -> None:
        assert isinstance(table, Table)
        mine, theirs = (table.c.target_id, table.c.owner_id) if reverse else (table.c.owner_id, table.c.target_id)
        slot = (table, mine.key, obj.id)
        # Rows of a table written from both ends (superordinatedPaper / subordinatedPaper) are read
        # and written at once; the others are collected and inserted together at the end of `load`.
        two_sided = table.name in _two_sided_links()
        if slot in self.link_rows:  # set before in this write (a File in two records of one batch)
            current = [row[theirs.key] for row in self.link_rows[slot]]
        elif obj in self.created and not two_sided:
            current = []
        else:
            current = list(self.session.scalars(select(theirs).where(mine == obj.id).order_by(table.c.position)))
        wanted = list(dict.fromkeys(ids))
        if not self.sees_nonpublic and current:
            # Links to what this writer cannot see stay, and only the visible ones are compared.
            hidden = self._hidden_ids(link_ends(table)[0 if reverse else 1], current)
            if [i for i in current if i not in hidden] == wanted:
                return
            wanted += [i for i in current if i in hidden]
        if current == wanted:
            return
        if slot not in self.link_rows and (obj not in self.created or two_sided):
            self.session.execute(delete(table).where(mine == obj.id))
        rows = [{mine.key: obj.id, theirs.key: to, "position": pos} for pos, to in enumerate(wanted)]
        if two_sided:
            if rows:
                self.session.execute(insert(table), rows)
        else:
            self.link_rows[slot] = rows
        self.relinked.add(obj)
        if table.name in BACKREF_LINKS:
            owner, target = link_ends(table)
            self.changes.add(owner if reverse else target, *current, *wanted)

    def _insert_links(self) -> None:
        by_table: dict[Table, list[dict[str, int]]] = defaultdict(list)
        for (table, _, _), rows in self.link_rows.items():
            by_table[table] += rows
        for table, rows in by_table.items():
            if rows:
                self.session.execute(insert(table), rows)
        self.link_rows.clear()

    # -- what a writer without read-nonpublic may not see ----------------------------------------

    def _hidden(self, obj: OParlObject) -> bool:
        return not self.sees_nonpublic and obj not in self.created and bool(obj.nonpublic)

    def _hidden_ids(self, model: type[OParlObject], ids: list[int]) -> set[int]:
        return set(self.session.scalars(select(model.id).where(model.id.in_(ids), model.nonpublic)))

    def _keeps(self, obj: OParlObject, attr: str) -> bool:
        """Whether a reference that a record leaves out or clears stays: it names an object the writer cannot see."""
        current = getattr(obj, f"{attr}_id")
        if self.sees_nonpublic or current is None or obj in self.created:
            return False
        return bool(self._hidden_ids(fk_target(type(obj), attr), [current]))

    def _free_slots(self, parent: OParlObject, child: type[OParlObject], fk: str) -> Iterator[int] | None:
        """Positions for the visible children of an array: those of its non-public children stay
        where they are, so the visible ones keep theirs. None: positions are the array's indexes."""
        if self.sees_nonpublic or parent in self.created or child.__name__ not in POSITION:
            return None
        position = getattr(child, POSITION[child.__name__])
        query = select(position).where(getattr(child, fk) == parent.id, child.nonpublic, ~child.deleted)
        taken = set(self.session.scalars(query))
        return (slot for slot in itertools.count() if slot not in taken) if taken else None

    # -- bookkeeping ----------------------------------------------------------------------------

    def _set(self, obj: OParlObject, attr: str, value: Any) -> None:
        if obj in self.created:  # nothing to compare a new row with
            setattr(obj, attr, value)
        elif getattr(obj, attr) != value:
            self.before.setdefault(obj, {}).setdefault(attr, getattr(obj, attr))
            setattr(obj, attr, value)


def stable_id(key: str) -> int:
    """A positive 52-bit id from a key: the same key gets the same id in any database."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:13], 16) or 1


def _shown_key(record: dict[str, Any]) -> str:
    """The record's key as error paths show it (repr: a lone surrogate in it is shown escaped)."""
    return repr(record.get("key"))[:300]


def _named(
    model: type[OParlObject],
    record: dict[str, Any],
    wanted: dict[type[OParlObject], set[str]],
    referenced: dict[type[OParlObject], set[str]],
    local: str,
) -> None:
    """Collects the keys `record` writes (itself and what it embeds) and the keys it references
    (not this server's URLs, starting with `local`)."""
    if isinstance(record.get("key"), str):
        wanted[model].add(record["key"])
    for name, value in record.items():
        field, attr = classify(model, name)
        if field is Field.CHILDREN or field is Field.MANY:
            target = _mapper(model).relationships[attr].mapper.class_
        elif field is Field.ONE:
            target = fk_target(model, attr)
        else:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                _named(target, item, wanted, referenced, local)
            elif isinstance(item, str) and not item.startswith(local):
                referenced[target].add(item)


def _flags(
    session: Session, objects: set[tuple[type[OParlObject], int]]
) -> dict[tuple[type[OParlObject], int], tuple[bool, bool]]:
    """(deleted, nonpublic) of each object."""
    by_model: dict[type[OParlObject], set[int]] = {}
    for model, object_id in objects:
        by_model.setdefault(model, set()).add(object_id)
    flags = {}
    for model, ids in by_model.items():
        for row in session.execute(select(model.id, model.deleted, model.nonpublic).where(model.id.in_(ids))):
            flags[(model, row.id)] = (bool(row.deleted), bool(row.nonpublic))
    return flags


def _child_of(obj: OParlObject) -> tuple[str, str] | None:
    """(parent type, column to the parent) for embedded-only children, else None."""
    return parent_of(type(obj).__name__)


@cache
def _two_sided_links() -> frozenset[str]:
    """Link tables that records write from both ends (one end as a reversed relationship)."""
    return frozenset(
        str(getattr(rel.secondary, "name", ""))
        for type_name, model in MODELS.items()
        for name in properties(type_name)
        if (rel := _mapper(model).relationships.get(classify(model, name)[1])) is not None
        and rel.secondary is not None
        and rel.info.get("reverse")
    )


_MAPPERS: dict[type[OParlObject], Mapper[Any]] = {}


def _mapper(model: type[OParlObject]) -> Mapper[Any]:
    """`inspect(model)`, which costs more than a dict lookup and is asked for every field."""
    found = _MAPPERS.get(model)
    if found is None:
        found = _MAPPERS[model] = inspect(model)
    return found


def _differs(obj: OParlObject, before: dict[str, Any]) -> bool:
    return any(getattr(obj, attr) != value for attr, value in before.items())


def read_directory(folder: Path) -> list[dict[str, Any]]:
    """The records of every `*.json` file in `folder`, files in name order, records in file order."""
    records: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RecordError(f"{path.name}: not valid JSON: {exc}") from exc
        if not isinstance(data, list):
            raise RecordError(f"{path.name}: expected a JSON array of records")
        records.extend(data)
    if not records:
        raise RecordError(f"{folder}: no records (*.json) found")
    return records
