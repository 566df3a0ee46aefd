"""The typed OpenAPI document: component schemas from the OParl wire models, answers per status.

Routes answer with stored bytes, never through a response model, so the schemas here are
documentation only (nothing is validated twice). A route declares every status it answers with
`responses=` built from the helpers below (`object_answers("Paper")`, `error("...")`, `COMMON`),
its token with `openapi_extra=OPTIONAL_TOKEN` or `TOKEN`, and an `operation_id`; `install` puts
the components into the document (ARCHITECTURE.md, "The OpenAPI document").
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from functools import cache
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from oparl.base import SCHEMA_BASE, TombstoneOut
from oparl.catalogue import TYPES
from oparl.registry import KINDS
from oparl.search.documents import SOURCES

REF = "#/components/schemas/"
Answers = dict[int | str, dict[str, Any]]
# Reads work without a token; one with read-nonpublic also shows non-public records.
OPTIONAL_TOKEN: dict[str, Any] = {"security": [{}, {"bearer": []}]}
TOKEN: dict[str, Any] = {"security": [{"bearer": []}]}
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`oparl-server token create`): scope `write` for the write API, "
        "`read-nonpublic` to read non-public records.",
    }
}


class ListPagination(BaseModel):
    total_elements: int = Field(alias="totalElements")
    elements_per_page: int = Field(alias="elementsPerPage")


class SearchPagination(BaseModel):
    """A search page has no count (oparl/search/page.py): counting every hit costs what ranking them does."""

    elements_per_page: int = Field(alias="elementsPerPage")


class ListLinks(BaseModel):
    first: str
    self: str
    next: str | None = Field(default=None, description="the next page; absent on the last")


class Error(BaseModel):
    """An OParl Error object (spec chapter "Fehlerbehandlung")."""

    type: Literal["https://schema.oparl.org/1.1/Error"]
    message: str
    debug: str | None = None


class OperationError(BaseModel):
    index: int = Field(description="the operation's place in `operations`")
    key: str
    status: int = Field(description="what the operation alone would have answered")
    message: str


class BatchError(Error):
    """A refused batch: nothing was stored; one entry per failed operation."""

    errors: list[OperationError] = Field(alias="oparl-server:errors")


class WriteResult(BaseModel):
    id: str = Field(description="the object's OParl URL")
    key: str
    result: Literal["created", "changed", "unchanged", "deleted"]


class BatchResult(BaseModel):
    results: list[WriteResult]


# Answers that are no OParl objects, as components named by class (a new JSON route adds its models here).
ANSWER_MODELS: tuple[type[BaseModel], ...] = (
    ListPagination,
    SearchPagination,
    ListLinks,
    Error,
    BatchError,
    WriteResult,
    BatchResult,
)


def wire_model(type_name: str) -> type[BaseModel]:
    """The wire model a type's rendering returns (oparl/<type>.py), read from its annotation."""
    model: type[BaseModel] = typing.get_type_hints(KINDS[type_name].render)["return"]
    return model


def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(by_alias=True, mode="validation", ref_template=REF + "{model}")


@cache
def components() -> dict[str, Any]:
    """Every schema the routes name: the OParl types, Tombstone, a list page per type, the rest."""
    found: dict[str, Any] = {}
    for type_name in TYPES:
        schema = _schema_of(wire_model(type_name))
        found.update(schema.pop("$defs", {}))
        found[wire_model(type_name).__name__] = schema
    found = {_name(key): value for key, value in found.items()}
    for key, value in found.items():
        _tidy(value, key)
    for model in ANSWER_MODELS:
        schema = _schema_of(model)
        for key, value in {**schema.pop("$defs", {}), model.__name__: schema}.items():
            found[key] = _plain(value)
    found["Tombstone"] = _tombstone()
    for t in TYPES.values():
        if t.listed_in or t.body_list:
            found[f"{t.name}List"] = _list_page(t.name)
    found["SearchResultList"] = _search_page()
    return found


def _name(model_name: str) -> str:
    """Components are named by OParl type (`Paper`), not by wire model role (`PaperOut`)."""
    return model_name.removesuffix("Out")


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """Optional fields are left out, never null (oparl.base.OParlModel); titles would only name
    the generated classes worse."""
    for node in _walk(schema):
        node.pop("title", None)
        for name, prop in list(node.get("properties", {}).items()):
            branches = prop.get("anyOf", [])
            if {"type": "null"} in branches and name not in node.get("required", ()):
                rest = [b for b in branches if b != {"type": "null"}]
                prop.pop("anyOf")
                prop.pop("default", None)
                prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        if isinstance(node.get("$ref"), str):
            node["$ref"] = REF + _name(node["$ref"].removeprefix(REF))
    return schema


def _tidy(schema: dict[str, Any], type_name: str) -> None:
    """An OParl object: its exact `type`, what is always there required, any prefixed extra key
    allowed (other features add `web`, `kommparl:changes`, ...; spec: vendor extensions)."""
    _plain(schema)
    schema.pop("additionalProperties", None)
    schema["properties"]["type"] = {"type": "string", "const": SCHEMA_BASE + type_name}
    if type_name == "System":  # the one common property OParl 1.1 leaves out of a System (System.json)
        del schema["properties"]["keyword"]
    # Body.legislativeTerm is left out on request (omit_internal), however mandatory otherwise.
    schema["required"] = [name for name in schema["required"] if name != "legislativeTerm"]


def _tombstone() -> dict[str, Any]:
    """A deleted object (spec 6): answered at its URL, and in lists asked with modified_since."""
    schema = _plain(_schema_of(TombstoneOut))
    schema.pop("additionalProperties", None)
    schema["properties"]["type"] = {"type": "string", "pattern": "^https://schema\\.oparl\\.org/1\\.1/[A-Za-z]+$"}
    schema["properties"]["deleted"] = {"type": "boolean", "const": True}
    schema["required"] = ["id", "type", "created", "modified", "deleted"]
    schema["description"] = "A deleted object: only id, type, created, modified and deleted (spec 6)."
    return schema


def maybe_deleted(type_name: str) -> dict[str, Any]:
    # Tombstone first: a generated client tries the branches in order, and a tombstone would
    # also pass as the type (all but id, type, created and modified are optional there).
    return {"anyOf": [{"$ref": REF + "Tombstone"}, {"$ref": REF + type_name}]}


def _list_page(type_name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"One page of a list of {type_name} objects (spec 5); tombstones only with modified_since.",
        "properties": {
            "data": {"type": "array", "items": maybe_deleted(type_name)},
            "pagination": {"$ref": REF + "ListPagination"},
            "links": {"$ref": REF + "ListLinks"},
        },
        "required": ["data", "pagination", "links"],
    }


SEARCHED_TYPES = tuple(SOURCES)


def _search_page() -> dict[str, Any]:
    hit = {
        "oparl-server:score": {
            "type": "number",
            "description": "3 and more: the exact reference, 2: a title hit, 1: a text hit; the fraction: how "
            "densely the snippet's field holds the words",
        },
        "oparl-server:match": {"type": "string", "enum": ["reference", "title", "text"]},
        "oparl-server:snippet": {"type": "string", "description": "HTML: the text escaped, hits in <mark>"},
    }
    items = [{"allOf": [{"$ref": REF + name}, {"type": "object", "properties": hit}]} for name in SEARCHED_TYPES]
    return {
        "type": "object",
        "description": "One page of search hits, best first: each the object as served at its id, with its score, "
        "why it matched and a snippet (prefixed keys).",
        "properties": {
            "data": {"type": "array", "items": {"anyOf": items}},
            "pagination": {"$ref": REF + "SearchPagination"},
            "links": {"$ref": REF + "ListLinks"},
        },
        "required": ["data", "pagination", "links"],
    }


def json_answer(schema_name: str | dict[str, Any], description: str) -> dict[str, Any]:
    schema = {"$ref": REF + schema_name} if isinstance(schema_name, str) else schema_name
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    return json_answer("Error", f"OParl Error object: {description}")


# What any route may answer besides its own: a client over its limit, the database away.
COMMON: Answers = {
    429: {
        **error("too many requests from this address or token (OPARL_RATE_LIMIT)"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
    },
    503: {
        **error("the database cannot be reached for now"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
    },
}
# Public answers carry validators for If-None-Match / If-Modified-Since; non-public ones `private`.
VALIDATORS = {
    "ETag": {"schema": {"type": "string"}, "description": "for If-None-Match (absent on non-public answers)"},
    "Cache-Control": {"schema": {"type": "string"}, "description": "`private` on answers with non-public data"},
}
BAD_TOKEN: Answers = {401: error("an invalid, expired or revoked token")}
NOT_MODIFIED: Answers = {304: {"description": "Not Modified: the ETag of If-None-Match still holds"}}


def object_answers(type_name: str) -> Answers:
    ok = {
        **json_answer(maybe_deleted(type_name), f"The {type_name}; a deleted one as a tombstone"),
        "headers": VALIDATORS,
    }
    return {200: ok, **NOT_MODIFIED, **BAD_TOKEN, 404: error(f"no such {type_name}"), **COMMON}


def list_answers(type_name: str, parent: str | None) -> Answers:
    missing = error(f"no such {parent}") if parent else None
    return {
        200: {**json_answer(f"{type_name}List", f"A page of {type_name} objects"), "headers": VALIDATORS},
        **NOT_MODIFIED,
        400: error("a bad list parameter"),
        **BAD_TOKEN,
        **({404: missing} if missing else {}),
        **COMMON,
    }


def write_answers(*, extra: Answers, created: bool = True, ok: str = "WriteResult") -> Answers:
    """A write's own statuses (`extra`: 404 and the like) and what every write may answer."""
    done: Answers = {200: json_answer(ok, "Stored (or deleted); `result` says what changed")}
    if created:
        done[201] = {
            **json_answer("WriteResult", "Created"),
            "headers": {"Location": {"schema": {"type": "string"}, "description": "the object's OParl URL"}},
        }
    return {
        **done,
        **extra,
        401: error("no token, or an invalid, expired or revoked one"),
        403: error("the token lacks the scope write (or read-nonpublic, for a non-public record)"),
        409: error("a concurrent write got there first: send it again"),
        **COMMON,
    }


BODY_ERRORS: Answers = {
    400: error("the body is no JSON object, or names unknown operations"),
    408: error("the body did not arrive within OPARL_BODY_READ_TIMEOUT"),
    413: error("the body is larger than OPARL_MAX_BODY_BYTES"),
    422: error("a record that cannot be stored; the message names the record and the field"),
}


def install(app: FastAPI) -> None:
    """The app's /openapi.json: FastAPI's document with these components and the bearer scheme,
    and without the 422 FastAPI adds to every route with parameters (api/errors.py answers a bad
    parameter 400 and a bad path 404; only writes answer 422, and say so themselves)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = finish(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def finish(document: dict[str, Any]) -> dict[str, Any]:
    for operation in _operations(document):
        answers = operation.get("responses", {})
        if "HTTPValidationError" in str(answers.get("422", "")):
            del answers["422"]
        for parameter in operation.get("parameters", []):
            # An optional parameter is left out, not sent as null (`?limit=` is the empty string).
            branches = parameter["schema"].pop("anyOf", None)
            if branches is not None:
                parameter["schema"].update(next(b for b in branches if b != {"type": "null"}))
            parameter["schema"].pop("title", None)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(components())
    document["components"]["securitySchemes"] = SECURITY_SCHEMES
    return document


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in document.get("paths", {}).values():
        yield from (op for method, op in path.items() if method in ("get", "put", "patch", "post", "delete"))
