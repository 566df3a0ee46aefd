"""Which row a record's key or reference means: keys, this server's URLs, and a batch's prefetch.

A reference is a key of another record or an OParl URL of this server. `References` remembers every
row a write touched by key, prefetches in a few queries per type what a batch writes and references,
and answers the rest one query each. A writer without read-nonpublic is told that a non-public
object does not exist.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any, overload

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OParlObject, utcnow
from oparl.cascade import chunks
from oparl.catalogue import SCHEMA_BASE, SHARED, TYPES, of, target
from oparl.errors import Forbidden, RecordError, Where
from oparl.load.changelog import ChangeLog
from oparl.records import Field, classify, relationship
from oparl.urls import UrlBuilder
from oparl.values import REFERENCE, check_length
from oparl.visibility import public

DIGITS = re.compile(r"[1-9][0-9]{0,17}")
Key = tuple[type[OParlObject], str]
# (id, deleted, nonpublic) of a referenced row, None when there is none.
Found = tuple[int, bool, bool] | None


def stable_id(key: str) -> int:
    """A positive 52-bit id from a key: the same key gets the same id in any database."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:13], 16) or 1


class References:
    def __init__(
        self,
        session: Session,
        urls: UrlBuilder,
        log: ChangeLog,
        *,
        stable_ids: bool,
        sees_nonpublic: bool,
        on_missing: Callable[[Where, str], None] | None,
    ) -> None:
        """`log`: where new rows are noted (a row this write inserts is always visible to it).
        `stable_ids`: new rows get an id derived from their key (harvested objects keep their URL
        whatever order they arrive in). `on_missing(where, reference)`: a reference to an object
        that is not there is dropped and reported instead of refusing the record."""
        self.session, self.urls, self.log, self.stable_ids = session, urls, log, stable_ids
        self.sees_nonpublic, self.on_missing = sees_nonpublic, on_missing
        self.by_key: dict[Key, OParlObject] = {}  # rows this write touched: resolved without a query
        self.absent: set[Key] = set()  # keys the prefetch found no row for
        self.found: dict[Key, Found] = {}

    def prefetch(self, records: list[Any]) -> None:
        """A few queries per type for the rows a batch writes (embedded ones too) and the rows it
        references, instead of several per record."""
        wanted: dict[type[OParlObject], set[str]] = defaultdict(set)
        referenced: dict[type[OParlObject], set[str]] = defaultdict(set)
        for record in records:
            if isinstance(record, dict):
                type_name = str(record.get("type", "")).removeprefix(SCHEMA_BASE)
                if type_name in TYPES:
                    _named(TYPES[type_name].model, record, wanted, referenced, f"{self.urls.api}/")
        for model, keys in wanted.items():
            for chunk in chunks(sorted(keys)):
                for obj in self.session.scalars(select(model).where(model.key.in_(chunk))):
                    self.by_key[(model, str(obj.key))] = obj
            self.absent.update((model, key) for key in keys if (model, key) not in self.by_key)
        for model, keys in referenced.items():
            for chunk in chunks(sorted(keys - wanted.get(model, set()))):
                rows = self.session.execute(
                    select(model.id, model.key, model.deleted, model.nonpublic).where(model.key.in_(chunk))
                )
                found = {row.key: (int(row.id), bool(row.deleted), bool(row.nonpublic)) for row in rows}
                for ref in chunk:
                    self.found[(model, ref)] = found.get(ref)

    def row_for(self, model: type[OParlObject], record: Any, where: Where) -> tuple[OParlObject, bool]:
        """The row a record writes: the one stored under its key, or a new one (then True)."""
        if not isinstance(record, dict):
            raise RecordError(where, f"expected an object, got {type(record).__name__}")
        key = record.get("key")
        if not isinstance(key, str) or not 0 < len(key) <= 255 or not key.isprintable():
            raise RecordError(where.at(".key"), "every record needs a key of 1 to 255 printable characters")
        obj = self.by_key.get((model, key))
        if obj is None and (model, key) not in self.absent:
            obj = self.session.scalar(select(model).where(model.key == key))
        new = obj is None
        if obj is None:
            obj = self._new_row(model, key)
        elif self.hidden(obj):
            raise Forbidden(f"{where.at('.key')}: writing a non-public record needs the scope read-nonpublic")
        # A File or Location may sit in several objects of one write (one meeting room, many meetings).
        if self.log.saw(obj) and not isinstance(obj, SHARED):
            raise RecordError(where.at(".key"), f"the key {key!r} appears twice in one write")
        self.by_key[(model, key)] = obj
        self.log.set(obj, "deleted", False)
        return obj, new

    def _new_row(self, model: type[OParlObject], key: str) -> OParlObject:
        obj = model()
        if self.stable_ids:
            obj.id = stable_id(key)
        obj.key, obj.deleted, obj.ever_public = key, False, False
        obj.restricted = obj.nonpublic = False
        obj.created = obj.modified = utcnow()  # placeholders; ChangeLog.finish stamps the real moment
        self.log.created_row(obj)
        return obj

    def forget(self) -> None:
        """Referenced rows may have changed (a delete): look them up again."""
        self.found.clear()

    def resolve_all(self, values: list[Any], to: type[OParlObject], where: Where) -> list[int]:
        found = [self.resolve(v, to, where.at(f"[{i}]"), lenient=True) for i, v in enumerate(values)]
        return [i for i in found if i is not None]

    @overload
    def resolve(self, value: Any, to: type[OParlObject], where: Where) -> int: ...
    @overload
    def resolve(self, value: Any, to: type[OParlObject], where: Where, *, lenient: bool) -> int | None: ...

    def resolve(self, value: Any, to: type[OParlObject], where: Where, *, lenient: bool = False) -> int | None:
        if isinstance(value, dict):  # an embedded object, stored in pass 1
            value = value.get("key")
        if not isinstance(value, str) or not value:
            raise RecordError(where, f"expected a key or an OParl URL, got {value!r}")
        check_length(value, where, REFERENCE)
        known = self.by_key.get((to, value))
        if known is not None and not known.deleted and known.id is not None and not self.hidden(known):
            return known.id
        found = self._lookup(to, value)
        if found is not None and found[2] and not self.sees_nonpublic:
            found = None  # for this writer, a non-public object does not exist
        if found is None or found[1]:
            if lenient and self.on_missing is not None:
                self.on_missing(where, value)
                return None
            if found is None:
                raise RecordError(where, f"no {to.__name__} with key or URL {value!r}")
            raise RecordError(where, f"the {to.__name__} {value!r} is deleted")
        return found[0]

    def _lookup(self, to: type[OParlObject], value: str) -> Found:
        if (to, value) not in self.found:
            prefix = f"{self.urls.api}/{of(to).segment}/"
            columns = (to.id, to.deleted, to.nonpublic)
            if value.startswith(prefix) and DIGITS.fullmatch(value[len(prefix) :]):
                query = select(*columns).where(to.id == int(value[len(prefix) :]))
            else:
                query = select(*columns).where(to.key == value)
            row = self.session.execute(query).first()
            self.found[(to, value)] = None if row is None else (int(row.id), bool(row.deleted), bool(row.nonpublic))
        return self.found[(to, value)]

    # -- what a writer without read-nonpublic may not see ----------------------------------------

    def hidden(self, obj: OParlObject) -> bool:
        return obj not in self.log.created and not public(obj, entitled=self.sees_nonpublic)

    def hidden_ids(self, model: type[OParlObject], ids: list[int]) -> set[int]:
        return set(self.session.scalars(select(model.id).where(model.id.in_(ids), model.nonpublic)))


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
            to = relationship(model, attr).mapper.class_
        elif field is Field.ONE:
            to = target(model, f"{attr}_id").model
        else:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                _named(to, item, wanted, referenced, local)
            elif isinstance(item, str) and not item.startswith(local):
                referenced[to].add(item)
