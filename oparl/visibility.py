"""Who sees what: whether an object is shown, a tombstone or absent, for one client, decided here only.

An object carries three flags (models/base.py): `deleted`, `nonpublic` (what readers obey) and
`ever_public` (anonymous clients were once shown it). A client is entitled (a token with the scope
read-nonpublic) or not. The decision:

    SHOWN      not deleted, and public or the client entitled
    TOMBSTONE  otherwise, if the client knew it: entitled, or it was once public (deleted or depublished)
    ABSENT     otherwise: never published, so for anonymous clients it never existed

and what each place makes of it:

    object at its URL        SHOWN: the object, TOMBSTONE: a tombstone (200, spec 6), ABSENT: 404
    list entry               SHOWN; with modified_since (what changed, spec 5.4) TOMBSTONE too
    embedded or referenced   SHOWN, else left out
    a file's content         SHOWN: the bytes, TOMBSTONE: 410, ABSENT: 404
    a list's parent          judged as if not deleted: a deleted Body still lists its objects'
                             tombstones, a hidden one has no lists (404)
    a change feed entry      SHOWN: upsert; TOMBSTONE, if the write deleted, hid (or created) it:
                             delete with the deletion's reason (deleted, withdrawn; privacy is
                             a redact), or nonPublic while it is not deleted; else none
                             (kommParl 0.1: objects never public give no entries)

Each rule is written twice, side by side: in Python over a loaded row's flags and as the SQL that
selects the same rows; tests/oparl/test_visibility.py proves the two agree on every combination.
"""

from __future__ import annotations

import enum
from typing import Protocol

from sqlalchemy import ColumnElement, and_, or_

from models import OParlObject


class Flags(Protocol):
    """A row as far as visibility goes: an ORM object, or a selected row with these columns."""

    @property
    def deleted(self) -> bool: ...
    @property
    def nonpublic(self) -> bool: ...


class Known(Flags, Protocol):
    @property
    def ever_public(self) -> bool: ...


class FeedNote(enum.StrEnum):
    """What a change feed says of an object a write stamped (stored in models.FeedEntry): an
    upsert, or the reason of a delete (kommParl 0.1's names; `privacy` is the reason of a redact)."""

    UPSERT = "upsert"
    DELETED = "deleted"
    WITHDRAWN = "withdrawn"
    NONPUBLIC = "nonPublic"
    PRIVACY = "privacy"


# Why a writer deletes: gone (the default), withdrawn by its originator, or erased for privacy.
DELETE_REASONS = (FeedNote.DELETED, FeedNote.WITHDRAWN, FeedNote.PRIVACY)


class Seen(enum.Enum):
    SHOWN = "shown"
    TOMBSTONE = "tombstone"
    ABSENT = "absent"


def public(row: Flags, *, entitled: bool) -> bool:
    """Not hidden from this client (deletion aside): the test for a list's parent."""
    return entitled or not row.nonpublic


def public_where(model: type[OParlObject], *, entitled: bool) -> list[ColumnElement[bool]]:
    return [] if entitled else [model.nonpublic.is_(False)]


def shown(row: Flags, *, entitled: bool) -> bool:
    return not row.deleted and public(row, entitled=entitled)


def shown_where(model: type[OParlObject], *, entitled: bool) -> list[ColumnElement[bool]]:
    return [model.deleted.is_(False), *public_where(model, entitled=entitled)]


def seen(row: Known, *, entitled: bool) -> Seen:
    if shown(row, entitled=entitled):
        return Seen.SHOWN
    return Seen.TOMBSTONE if entitled or row.ever_public else Seen.ABSENT


def known_where(model: type[OParlObject], *, entitled: bool) -> list[ColumnElement[bool]]:
    """The rows `seen` does not call ABSENT. (A public row is always ever_public once written,
    models/base.py; the `or` keeps the two forms equal without relying on it.)"""
    return [] if entitled else [or_(model.ever_public.is_(True), and_(*shown_where(model, entitled=entitled)))]


def listed(row: Known, *, entitled: bool, tombstones: bool) -> bool:
    """Whether a list shows the row: `tombstones` for a list of what changed (modified_since)."""
    found = seen(row, entitled=entitled)
    return found is not Seen.ABSENT if tombstones else found is Seen.SHOWN


def listed_where(model: type[OParlObject], *, entitled: bool, tombstones: bool) -> list[ColumnElement[bool]]:
    return known_where(model, entitled=entitled) if tombstones else shown_where(model, entitled=entitled)


def feed_note(row: Known, *, entitled: bool, transition: bool, reason: FeedNote = FeedNote.DELETED) -> FeedNote | None:
    """The entry of this client's change feed for a row a write stamped. `transition`: the write
    created the row, changed whether it is deleted or non-public, or erased it; without it, a
    tombstone's new stamp (a hidden object edited) tells a client nothing it may know. `reason`: why
    the write deleted it. (Decided when the entry is written, for both feeds; the reader selects on
    the stored result, so there is no SQL form.)"""
    if shown(row, entitled=entitled):
        return FeedNote.UPSERT
    if not transition or seen(row, entitled=entitled) is Seen.ABSENT:
        return None
    return reason if row.deleted else FeedNote.NONPUBLIC
