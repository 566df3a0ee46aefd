"""The write API for city systems: create, replace, update and delete records, one or many at a time.

Bodies are OParl objects in their JSON shape (camelCase) with the caller's own stable `key`;
references are keys or OParl URLs of this server. Everything goes through oparl.load, the same path
the fixtures take, and every request is one transaction: all of it is stored, or none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from api.deps import WriteContext, WriteDep
from api.examples import batch_example, patch_example, put_example
from api.openapi import BODY_ERRORS, TOKEN, Answers, error, json_answer, write_answers
from api.responses import OParlJSONResponse
from api.threads import in_write_thread
from models import OParlObject, WriteAudit
from oparl import write
from oparl.catalogue import TYPES
from oparl.content import ContentStore
from oparl.errors import Forbidden, NotFound, OParlError, RecordError, Unprocessable, Where
from oparl.load.loader import Loader
from oparl.urls import UrlBuilder
from oparl.values import KEY, check_strings, shown
from oparl.visibility import FeedNote, shown_where

router = APIRouter(prefix="/write/v1", tags=["write"])
KeyPath = Annotated[str, Path(description="the caller's stable key of the record")]
RecordBody = Annotated[dict[str, Any], Body(description="the object in its OParl JSON shape")]
Reason = Literal["deleted", "withdrawn", "privacy"]  # oparl.visibility.DELETE_REASONS
ReasonQuery = Annotated[
    Reason,
    Query(description="why: `deleted` (gone), `withdrawn` (withdrawn by its originator) or `privacy` (erased "
          "for privacy: what the server keeps of it is emptied too, the change feed says `redact`)"),
]  # fmt: skip


class Conflict(OParlError):
    status_code = 409


class Operation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    op: Literal["put", "patch", "delete"]
    type: str
    key: str
    record: dict[str, Any] | None = None
    reason: Reason | None = None  # a delete's, `deleted` when not given


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operations: list[Operation]


BatchBody = Annotated[Batch, Body(openapi_examples=batch_example() or None)]


@dataclass
class Outcome:
    obj: OParlObject
    action: str


def _loader(ctx: WriteContext) -> Loader:
    # A writer without read-nonpublic learns nothing about non-public records (README: "Scopes").
    sees_nonpublic = "read-nonpublic" in ctx.token.scopes
    return Loader(ctx.session, urls=ctx.urls, store=ContentStore(), sees_nonpublic=sees_nonpublic)


def _apply(loader: Loader, op: Operation) -> OParlObject:
    type_name = op.type.removeprefix("https://schema.oparl.org/1.1/")
    if type_name not in TYPES:
        raise RecordError(Where(path="type"), f"not an OParl type: {op.type!r}")
    if len(op.key) > KEY:
        raise RecordError(Where(path=f"{type_name}.key"), f"at most {KEY} characters, got {len(op.key)}")
    where = Where(type_name, op.key)
    check_strings(op.key, where.at(".key"))  # before a query sees it
    if op.reason is not None and op.op != "delete":
        raise RecordError(where.at(".reason"), "only a delete has a reason")
    if op.op == "delete":
        return loader.delete(type_name, op.key, FeedNote(op.reason or "deleted"))
    record = dict(op.record or {})
    if record.get("key", op.key) != op.key:
        raise RecordError(where.at(".key"), "differs from the key in the address")
    if record.get("type", type_name).removeprefix("https://schema.oparl.org/1.1/") != type_name:
        raise RecordError(where.at(".type"), "differs from the type in the address")
    model = TYPES[type_name].model
    live = select(model.id).where(model.key == op.key, *shown_where(model, entitled=loader.refs.sees_nonpublic))
    if op.op == "patch" and not loader.session.scalar(live):
        raise NotFound.by_key(type_name, op.key)
    loader.load([{**record, "type": type_name, "key": op.key}], replace=op.op == "put")
    obj = loader.session.scalar(select(model).where(model.key == op.key))
    assert obj is not None
    return obj


# Errors that mean "another write got there first": sent again, the write succeeds. PostgreSQL:
# serialization failure, deadlock, a unique key inserted by a racing transaction.
CONFLICT_SQLSTATES = frozenset({"40001", "40P01", "23505"})
# SQLite: the write lock stayed taken for the whole busy timeout, or a racing insert of the same key.
CONFLICT_SQLITE = frozenset(
    {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
)
CONFLICT_SQLITE_MESSAGES = ("database is locked", "database table is locked", "UNIQUE constraint failed")


def is_conflict(exc: DBAPIError) -> bool:
    """Whether a database error is a write conflict (409, send again), not a fault of the server:
    a full disk, a lost connection or a broken schema must not be answered "send again"."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in CONFLICT_SQLSTATES:
        return True
    if getattr(orig, "sqlite_errorname", None) in CONFLICT_SQLITE:
        return True
    return isinstance(orig, sqlite3.Error) and str(orig).startswith(CONFLICT_SQLITE_MESSAGES)


@contextmanager
def _atomic(session: Session) -> Iterator[None]:
    """Nothing of a refused write stays; a write that lost a race with another is a 409, not a 500.
    Every other database error propagates to the app's handler, which logs it."""
    try:
        yield
    except (IntegrityError, OperationalError) as exc:
        session.rollback()
        if not is_conflict(exc):
            raise
        raise Conflict("Ein gleichzeitiger Schreibvorgang kam zuvor; bitte erneut senden.", type(exc).__name__) from exc
    except Exception:
        session.rollback()
        raise


def _commit(ctx: WriteContext, loader: Loader, done: list[tuple[str, OParlObject]]) -> list[Outcome]:
    """Commits the write with one audit row per operation (`done`: its op and object), in its transaction."""
    outcomes: list[Outcome] = []

    def audit() -> None:
        # Known once the loader has finished: what it created, changed, or stamped through something embedded.
        at = ctx.clock()
        for op, obj in done:
            action = "deleted" if obj.deleted else "created" if obj in loader.log.created else "unchanged"
            if action == "unchanged" and (obj in loader.log.changed or loader.log.changes.stamped(obj)):
                action = "changed"  # itself, or something embedded in it
            outcomes.append(Outcome(obj, action))
            ctx.session.add(
                WriteAudit(
                    token_id=ctx.token.id, at=at, op=op, type=type(obj).__name__, key=obj.key, object_id=obj.id,
                    result=action,
                )
            )  # fmt: skip

    with _atomic(ctx.session):
        write.commit(ctx.session, loader, ctx.clock, ctx.snapshots, finished=audit)
    return outcomes


def _result(urls: UrlBuilder, outcome: Outcome) -> dict[str, Any]:
    obj = outcome.obj
    return {"id": urls.object(type(obj).__name__, obj.id), "key": obj.key, "result": outcome.action}


def _one(ctx: WriteContext, op: Operation) -> Response:
    loader = _loader(ctx)
    with _atomic(ctx.session):
        obj = _apply(loader, op)
    (outcome,) = _commit(ctx, loader, [(op.op, obj)])
    result = _result(ctx.urls, outcome)
    status = 201 if outcome.action == "created" else 200
    return OParlJSONResponse(result, status_code=status, headers={"Location": result["id"]})


def _writes(type_name: str) -> dict[str, Callable[..., Awaitable[Response]]]:
    async def put(key: KeyPath, record: RecordBody, ctx: WriteDep) -> Response:
        op = Operation(op="put", type=type_name, key=key, record=record)
        return await in_write_thread(ctx.request, _one, ctx, op)

    async def patch(key: KeyPath, record: RecordBody, ctx: WriteDep) -> Response:
        op = Operation(op="patch", type=type_name, key=key, record=record)
        return await in_write_thread(ctx.request, _one, ctx, op)

    async def delete(key: KeyPath, ctx: WriteDep, reason: ReasonQuery = "deleted") -> Response:
        op = Operation(op="delete", type=type_name, key=key, reason=reason)
        return await in_write_thread(ctx.request, _one, ctx, op)

    return {"PUT": put, "PATCH": patch, "DELETE": delete}


WHAT = {
    "PUT": "Create or replace a {}: what the record leaves out is cleared. Sending it again changes nothing.",
    "PATCH": "Change the given properties of an existing {}.",
    "DELETE": "Delete a {}: it and what is embedded only in it become tombstones (and are erased with reason privacy).",
}
NO_KEY: Answers = {404: error("no live record of this type with this key")}
ANSWERS = {
    "PUT": write_answers(extra=BODY_ERRORS),
    "PATCH": write_answers(extra={**BODY_ERRORS, **NO_KEY}, created=False),
    "DELETE": write_answers(
        extra={400: error("`reason` is not deleted, withdrawn or privacy"), **NO_KEY, 422: BODY_ERRORS[422]},
        created=False,
    ),
}


def _register() -> None:
    """Three operations per type (`putPaper`, `patchPaper`, `deletePaper`), with Lübeck examples."""
    for t in TYPES.values():
        examples = {"PUT": put_example(t.name), "PATCH": patch_example(t.name)}
        for method, endpoint in _writes(t.name).items():
            extra: dict[str, Any] = {**TOKEN}
            if examples.get(method):
                extra["requestBody"] = {"content": {"application/json": {"examples": examples[method]}}}
            router.add_api_route(
                f"/{t.segment}/{{key:path}}",
                endpoint,
                methods=[method],
                operation_id=f"{method.lower()}{t.name}",
                summary=WHAT[method].format(t.name),
                responses=ANSWERS[method],
                openapi_extra=extra,
            )


_register()


REFUSED_BATCH = json_answer("BatchError", "OParl Error object: nothing was stored; one entry per failed operation")


@router.post(
    "/batch",
    operation_id="writeBatch",
    responses=write_answers(extra={**BODY_ERRORS, 422: REFUSED_BATCH}, created=False, ok="BatchResult"),
    openapi_extra=TOKEN,
)
async def batch(body: BatchBody, ctx: WriteDep) -> Response:
    """Many operations in one transaction: all are stored, or none, with an error per failed operation."""
    return await in_write_thread(ctx.request, _batch, ctx, body)


def _batch(ctx: WriteContext, body: Batch) -> Response:
    loader, session = _loader(ctx), ctx.session
    done: list[tuple[str, OParlObject]] = []
    errors: list[dict[str, Any]] = []
    with _atomic(session):
        for index, op in enumerate(body.operations):
            savepoint = session.begin_nested()
            try:
                done.append((op.op, _apply(loader, op)))
                savepoint.commit()
            except (Unprocessable, NotFound, Forbidden) as exc:
                savepoint.rollback()
                errors.append({"index": index, "key": shown(op.key), "status": exc.status_code, "message": exc.message})
        if errors:
            raise BatchError(errors)
    outcomes = _commit(ctx, loader, done)
    return OParlJSONResponse({"results": [_result(ctx.urls, o) for o in outcomes]})


class BatchError(Unprocessable):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} Operation(en) fehlerhaft; nichts wurde gespeichert.")
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {**super().body(), "oparl-server:errors": self.errors}
