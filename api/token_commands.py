"""`token` and `audit`: API tokens and the write audit, from the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import auth
from api.commands import Refused
from api.settings import Settings
from models import ApiToken, WriteAudit, utcnow
from models.db import check_schema, make_engine, make_sessionmaker
from oparl.errors import OParlError


def token(settings: Settings, args: argparse.Namespace) -> None:
    engine = make_engine(url=settings.database_url)
    try:
        check_schema(engine)
        with make_sessionmaker(engine)() as session, session.begin():
            if args.action == "create":
                row, secret = auth.create_token(session, args.name, args.scope or ["write"], _expiry(args))
                print(f"token {row.id} ({row.name}, {' '.join(row.scopes)}):\n{secret}")
                print("It is shown this once; the server keeps only a hash of it.", file=sys.stderr)
            elif args.action == "revoke":
                if auth.revoke_token(session, args.id) is None:
                    raise Refused(f"no token {args.id}")
                print(f"token {args.id} revoked")
            else:
                print("id\tname\tscopes\tstate\tcreated\tlast used\texpires")
                now = utcnow()
                for row in session.scalars(select(ApiToken).order_by(ApiToken.id)):
                    expired = row.expires is not None and row.expires <= now
                    state = f"revoked {row.revoked.isoformat()}" if row.revoked else "expired" if expired else "active"
                    times = [t.isoformat() if t else "-" for t in (row.created, row.last_used, row.expires)]
                    print("\t".join([str(row.id), row.name, " ".join(row.scopes), state, *times]))
    finally:
        engine.dispose()


def audit(settings: Settings, args: argparse.Namespace) -> None:
    engine = make_engine(url=settings.database_url)
    try:
        check_schema(engine)
        with make_sessionmaker(engine)() as session:
            if args.token is not None and session.get(ApiToken, args.token) is None:
                raise Refused(f"no token {args.token}")
            print("time\ttoken\tname\top\ttype\tkey\tid\tresult")
            for line in audit_lines(session, args.token, _since(args.since), args.limit):
                print(line)
    finally:
        engine.dispose()


def audit_lines(session: Session, token_id: int | None, since: dt.datetime | None, limit: int) -> list[str]:
    """The write audit newest first, one tab-separated line per written object."""
    query = (
        select(WriteAudit, ApiToken.name)
        .join(ApiToken, WriteAudit.token_id == ApiToken.id)
        .order_by(WriteAudit.at.desc(), WriteAudit.id.desc())
        .limit(limit)
    )
    if token_id is not None:
        query = query.where(WriteAudit.token_id == token_id)
    if since is not None:
        query = query.where(WriteAudit.at >= since)
    lines = []
    for row, name in session.execute(query):
        cells = (row.at.isoformat(), str(row.token_id), name, row.op, row.type, row.key or "-", str(row.object_id))
        lines.append("\t".join(_cell(cell) for cell in (*cells, row.result)))
    return lines


def _cell(text: str) -> str:
    """Keys are the writers' strings: a tab or line break in one must not forge a column or line."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _since(text: str | None) -> dt.datetime | None:
    """`--since 2026-12-01` or `2026-12-01T08:00:00` (UTC unless it names its offset)."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Refused(f"--since: expected a date or time yyyy-mm-dd[Thh:mm[:ss]][+hh:mm], got {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _expiry(args: argparse.Namespace) -> dt.datetime | None:
    """`--expires 2027-01-31` (the token works through that day, UTC) or `--days N` from now."""
    if args.expires is not None:
        try:
            day = dt.date.fromisoformat(args.expires)
        except ValueError:
            raise OParlError(f"--expires: expected a date yyyy-mm-dd, got {args.expires!r}") from None
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    if args.days is not None:
        if args.days < 1:
            raise OParlError(f"--days: expected at least 1, got {args.days}")
        return utcnow() + dt.timedelta(days=args.days)
    return None
