"""API tokens: creation, revocation and checking. Secrets are never stored, logged or echoed.

A token reads `oparl_<lookup>_<secret>`: the lookup part finds the row, the secret is compared with
the stored SHA-256 in constant time. The secret has 256 random bits, so a fast hash is enough: the
table holds nothing that lets anyone act as a client.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from models import ApiToken, utcnow
from oparl.errors import Forbidden, OParlError

SCOPES = ("write", "read-nonpublic", "webhooks")
__all__ = ["SCOPES", "Forbidden", "Unauthorized", "check_token", "create_token", "revoke_token"]
# last_used is moved at most this often: one UPDATE a minute per token, not one per request.
LAST_USED_STEP = dt.timedelta(minutes=1)
TOKEN = re.compile(r"oparl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


class Unauthorized(OParlError):
    status_code = 401


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, name: str, scopes: Sequence[str], expires: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token row and the token itself, which is shown once and never again."""
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(sorted(unknown)) or 'none'}")
    lookup, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = ApiToken(lookup=lookup, secret_sha256=_digest(secret), name=name, scopes=sorted(set(scopes)), expires=expires)
    session.add(row)
    session.flush()
    return row, f"oparl_{lookup}_{secret}"


def revoke_token(session: Session, token_id: int) -> ApiToken | None:
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked is None:
        row.revoked = utcnow()
    return row


def check_token(session: Session, header: str | None) -> ApiToken | None:
    """The token an `Authorization: Bearer …` header names; None without one; 401 for a bad one."""
    if header is None:
        return None
    scheme, _, presented = header.partition(" ")
    match = TOKEN.fullmatch(presented.strip())
    if scheme.lower() != "bearer" or match is None:
        raise Unauthorized("Ungültiger Zugangsschlüssel.", "expected Authorization: Bearer oparl_…")
    row = session.scalar(select(ApiToken).where(ApiToken.lookup == match.group(1)))
    # Compared even without a row, so timing does not tell a known lookup part from an unknown one.
    expected = row.secret_sha256 if row is not None else _digest("")
    valid = hmac.compare_digest(_digest(match.group(2)), expected)
    if row is None or not valid or row.revoked is not None:
        raise Unauthorized("Ungültiger oder widerrufener Zugangsschlüssel.")
    now = utcnow()
    if row.expires is not None and row.expires <= now:
        raise Unauthorized("Dieser Zugangsschlüssel ist abgelaufen.", f"expired {row.expires.isoformat()}")
    if row.last_used is None or row.last_used <= now - LAST_USED_STEP:
        _touch(session, row, now)
    return row


def _touch(session: Session, row: ApiToken, now: dt.datetime) -> None:
    """Records the use, at most once per LAST_USED_STEP, committed at once: the token check runs
    before the request's own work. A failure to record it never refuses the request."""
    try:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used=now))
        session.commit()
    except DBAPIError:
        session.rollback()
        return
    row.last_used = now
