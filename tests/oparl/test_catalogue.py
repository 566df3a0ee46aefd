"""The type catalogue (oparl/catalogue.py) against the ORM mapping and the official OParl 1.1 schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, inspect

from models import Base, OParlObject
from oparl import catalogue
from oparl.catalogue import BODY_LISTS, TYPES, camel, derived, snake
from oparl.records import INTERNAL, Field, classify, properties
from oparl.registry import KINDS

SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "oparl" / "schema"
# Properties a record may carry that the OParl schema of its type does not name: the vendor extension
# `nonPublic`, the Body of types the spec leaves implicit in the Body's lists, and `keyword` on a System
# (a column every object has; the System's schema lacks it).
NOT_IN_SCHEMA = {"System": {"nonPublic", "keyword"}, "Body": {"nonPublic"}, "LegislativeTerm": {"nonPublic"},
                 "Organization": {"nonPublic"}, "Person": {"nonPublic"}, "Paper": {"nonPublic"}}  # fmt: skip


def schema(type_name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((SCHEMAS / f"{type_name}.json").read_text())["properties"]
    return found


def references(prop: dict[str, Any]) -> str | None:
    """The type a schema property references (`references: X`, on it or its items), `externalList`
    for the URL of a list, or the type it embeds (`schema: X.json`)."""
    items = prop.get("items", {})
    found = prop.get("references") or items.get("references") or prop.get("schema") or items.get("schema")
    return None if found is None else str(found).removesuffix(".json")


def embeds(prop: dict[str, Any]) -> bool:
    return prop.get("references") != "externalList" and "schema" in prop.get("items", prop)


def test_the_catalogue_has_every_mapped_type_and_every_schema() -> None:
    mapped = {m.class_ for m in Base.registry.mappers if issubclass(m.class_, OParlObject)}
    assert {t.model for t in TYPES.values()} == mapped
    assert {p.stem for p in SCHEMAS.glob("*.json")} == set(TYPES)
    assert all(t.model.__name__ == name for name, t in TYPES.items())
    assert len({t.segment for t in TYPES.values()}) == len(TYPES)


@pytest.mark.parametrize("type_name", list(TYPES))
def test_every_schema_property_is_written_or_derived(type_name: str) -> None:
    """Each property of the type's schema is an input the loader stores, or one the server derives."""
    model = TYPES[type_name].model
    accounted = {name: classify(model, name)[0] for name in schema(type_name)}
    unknown = [name for name, field in accounted.items() if field is Field.UNKNOWN]
    skipped = {name for name, field in accounted.items() if field is Field.SKIP}
    assert unknown == []
    assert skipped == {name for name in schema(type_name) if snake(name) in derived(type_name)}
    assert set(properties(type_name)) - set(schema(type_name)) == NOT_IN_SCHEMA.get(type_name, {"nonPublic", "body"})


@pytest.mark.parametrize("type_name", list(TYPES))
def test_every_column_and_relationship_is_accounted_for(type_name: str) -> None:
    """Each mapped attribute is internal, derived, or the storage of an input property."""
    mapper = inspect(TYPES[type_name].model)
    inputs = {classify(mapper.class_, name)[1] for name in properties(type_name)}
    for column in mapper.columns:
        attr = column.key.removesuffix("_id") if column.foreign_keys else column.key
        assert attr in INTERNAL | inputs | derived(type_name) | {"body", "system"}, column.key
    for rel in mapper.relationships:
        shown = rel.key in inputs | derived(type_name) or (rel.viewonly and f"{rel.key}_id" in mapper.columns)
        assert shown or rel.info.get("reverse") or _renders_only(rel), rel.key


def _renders_only(rel: Any) -> bool:
    """A read-only relationship the renderer uses to show a back-reference or an embedding parent."""
    return bool(rel.viewonly)


def test_embeddings_match_the_schemas_and_the_foreign_keys() -> None:
    """Where the schemas embed a type (`schema: X.json`), the catalogue says how it is stored, and back."""
    in_schemas = {
        (parent, name, references(prop)) for parent in TYPES for name, prop in schema(parent).items() if embeds(prop)
    }
    in_catalogue = set()
    for child, embedding in catalogue.embeddings():
        parent = TYPES[embedding.parent]
        if embedding.column is not None:
            assert catalogue.target(parent.model, embedding.column) is child
            attr = embedding.column.removesuffix("_id")
        elif embedding.link is not None:
            assert catalogue.link_ends(embedding.link) == (parent, child)
            (attr,) = [r.key for r in inspect(parent.model).relationships if r.secondary is embedding.link]
        else:
            assert catalogue.target(child.model, str(embedding.child_column)) is parent
            assert inspect(parent.model).relationships[str(embedding.array)].mapper.class_ is child.model
            attr = str(embedding.array)
        aliases = {stored: given for given, stored in parent.aliases.items()}
        in_catalogue.add((parent.name, camel(aliases.get(attr, attr)), child.name))
    assert in_catalogue == in_schemas


def test_back_references_are_schema_properties_of_the_shown_type() -> None:
    """A derived back-reference (File.paper, Location.bodies, Organization.membership) is a property of
    the type that shows it, referencing the type it comes from."""
    shown = {(child.name, str(e.shown_as), e.parent) for child, e in catalogue.embeddings() if e.shown_as}
    for t in TYPES.values():
        shown |= {(catalogue.target(t.model, b.column).name, b.shown_as, t.name) for b in t.backrefs}
    for type_name, attr, source_name in shown:
        assert references(schema(type_name)[camel(attr)]) == source_name, (type_name, attr)


def test_lists_match_the_schemas_external_lists() -> None:
    external = {(t, name) for t in TYPES for name, prop in schema(t).items() if references(prop) == "externalList"}
    listed = {("Body", name) for name in BODY_LISTS}
    listed |= {(entry.parent, entry.name) for t in TYPES.values() for entry in t.listed_in}
    assert listed == external
    for t in TYPES.values():
        for entry in t.listed_in:
            if entry.link is not None:  # an Organization lists what names it in its ordered link table
                assert catalogue.link_ends(entry.link) == (t, TYPES[entry.parent])


def test_positions_aliases_and_mutual_links_name_mapped_attributes() -> None:
    for t in TYPES.values():
        columns = inspect(t.model).columns
        assert t.position is None or (t.position in columns and t.parent is not None)
        assert all(stored in inspect(t.model).attrs or f"{stored}_id" in columns for stored in t.aliases.values())
        for table in t.mutual_links:
            assert isinstance(table, Table)
            assert catalogue.link_ends(table) == (t, t)
    assert {t.name for t in TYPES.values() if t.shared} == {"File", "Location"}
    assert {t.name for t in TYPES.values() if t.parent} == {
        "LegislativeTerm",
        "Membership",
        "AgendaItem",
        "Consultation",
    }


def test_every_link_table_is_written_by_its_owner() -> None:
    """Each ordered link table is the storage of an input property of its owner type."""
    for table in catalogue.link_tables():
        owner, _ = catalogue.link_ends(table)
        writes = [
            name
            for name in properties(owner.name)
            if (rel := inspect(owner.model).relationships.get(classify(owner.model, name)[1])) is not None
            and rel.secondary is table
        ]
        assert writes, table.name


def test_every_type_has_its_rendering() -> None:
    """The registry of renderings (oparl/registry.py) names exactly the catalogue's types."""
    assert list(KINDS) == list(TYPES)
    assert all(kind.model is TYPES[name].model for name, kind in KINDS.items())
