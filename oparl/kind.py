"""What the shared object and list machinery needs to know about one OParl type."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import QueryableAttribute, RelationshipProperty, selectinload

from models import OParlObject
from oparl.base import SCHEMA_BASE, OParlModel, Render, TombstoneOut, dump
from oparl.catalogue import TYPES


@dataclass(frozen=True)
class Kind:
    """A type's rendering (oparl/<type>.py); what the type is comes from the catalogue."""

    type_name: str
    render: Callable[[Any, Render], OParlModel]
    load_options: Sequence[Any]

    @property
    def model(self) -> type[OParlObject]:
        return TYPES[self.type_name].model

    def to_json(self, row: Any, render: Render) -> dict[str, Any]:
        """The object as served at its URL and in lists: a tombstone unless shown to this client (oparl.visibility)."""
        if not render.shows(row):
            return dump(tombstone(row, render, self.type_name), render)
        return dump(self.render(row, render), render)


def tombstone(row: OParlObject, render: Render, type_name: str) -> TombstoneOut:
    return TombstoneOut(
        id=render.urls.object(type_name, row.id),
        type=SCHEMA_BASE + type_name,
        created=row.created,
        modified=row.modified,
    )


def refs(render: Render, type_name: str, rows: Sequence[OParlObject]) -> list[str]:
    """URLs of the rows this client may see: references to tombstones and hidden objects are dropped."""
    return [render.urls.object(type_name, row.id) for row in rows if render.shows(row)]


def ids_only(relationship: QueryableAttribute[Any], path: Any = None) -> Any:
    """Eager load of the rows `relationship` references (below `path`, if given), just what a
    reference needs: the id and whether to show it."""
    prop = relationship.property
    assert isinstance(prop, RelationshipProperty), relationship
    target: type[OParlObject] = prop.mapper.class_
    return under(path, relationship).load_only(target.id, target.deleted, target.nonpublic)


def under(path: Any, relationship: Any) -> Any:
    """An eager load of `relationship`, on its own (path None) or nested below `path`."""
    return selectinload(relationship) if path is None else path.selectinload(relationship)
