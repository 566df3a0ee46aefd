"""Feed cursors: opaque, bound to one Body's feed in one database, never a timestamp (kommParl 0.1).

A cursor names a position: the client has every entry up to it. Its text holds the Body, the
position and a check digest over both and the database's epoch (`FeedState.epoch`), so a cursor of
another Body's feed, of another database (a restored or rebuilt one) or mistyped is refused (400)
instead of silently reading the wrong entries. At most 41 characters of [0-9a-f.].
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from oparl.errors import BadRequest

VERSION = "1"
_FORM = re.compile(r"1\.([0-9a-f]{1,16})\.([0-9a-f]{1,16})\.([0-9a-f]{12})")


class Position(NamedTuple):
    body_id: int
    position: int


def _check(epoch: str, body_id: int, position: int) -> str:
    return hashlib.blake2b(f"{epoch}.{body_id}.{position}".encode(), digest_size=6).hexdigest()


def encode(epoch: str, body_id: int, position: int) -> str:
    return f"{VERSION}.{body_id:x}.{position:x}.{_check(epoch, body_id, position)}"


def decode(epoch: str, body_id: int, text: str) -> int:
    """The position `text` names in `body_id`'s feed; BadRequest if it is no cursor of that feed."""
    found = _FORM.fullmatch(text)
    if found is None:
        raise BadRequest("Ungültiger Cursor (after).", "not a cursor of this server's change feed")
    body, position = int(found[1], 16), int(found[2], 16)
    if found[3] != _check(epoch, body, position):
        raise BadRequest("Ungültiger Cursor (after).", "not a cursor of this database's change feed")
    if body != body_id:
        raise BadRequest("Dieser Cursor gehört zum Änderungsfeed einer anderen Körperschaft.", f"body {body}")
    return position
