"""Ordered link tables (models/links.py) as records write them: a reference array replaced whole.

Rows of a table written from both ends (superordinatedPaper / subordinatedPaper) are read and
written at once; the others are collected and inserted together at the end of a load, one
statement per table.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from models import OParlObject
from oparl.catalogue import BACKREF_LINKS, link_ends
from oparl.load.changelog import ChangeLog
from oparl.load.references import References
from oparl.records import two_sided_links

Slot = tuple[Table, str, int]


class Links:
    def __init__(self, session: Session, log: ChangeLog, refs: References) -> None:
        self.session, self.log, self.refs = session, log, refs
        self.rows: dict[Slot, list[dict[str, int]]] = {}  # link rows of this write, not inserted yet

    def write(self, obj: OParlObject, table: Table, ids: list[int], *, reverse: bool) -> None:
        """`obj`'s links in `table` become `ids`, in this order (`reverse`: `obj` is the target end)."""
        mine, theirs = (table.c.target_id, table.c.owner_id) if reverse else (table.c.owner_id, table.c.target_id)
        slot, two_sided = (table, mine.key, obj.id), table.name in two_sided_links()
        current = self._current(obj, slot, theirs.key, two_sided)
        wanted = list(dict.fromkeys(ids))
        if not self.refs.sees_nonpublic and current:
            # Links to what this writer cannot see stay, and only the visible ones are compared.
            hidden = self.refs.hidden_ids(link_ends(table)[0 if reverse else 1].model, current)
            if [i for i in current if i not in hidden] == wanted:
                return
            wanted += [i for i in current if i in hidden]
        if current == wanted:
            return
        if slot not in self.rows and (obj not in self.log.created or two_sided):
            self.session.execute(delete(table).where(mine == obj.id))
        rows = [{mine.key: obj.id, theirs.key: to, "position": pos} for pos, to in enumerate(wanted)]
        if not two_sided:
            self.rows[slot] = rows
        elif rows:
            self.session.execute(insert(table), rows)
        self.log.relinked.add(obj)
        if table.name in BACKREF_LINKS:
            owner, target = link_ends(table)
            self.log.changes.add((owner if reverse else target).model, *current, *wanted)

    def _current(self, obj: OParlObject, slot: Slot, theirs: str, two_sided: bool) -> list[int]:
        if slot in self.rows:  # set before in this write (a File in two records of one batch)
            return [row[theirs] for row in self.rows[slot]]
        if obj in self.log.created and not two_sided:
            return []
        table, mine, _ = slot
        query = select(table.c[theirs]).where(table.c[mine] == obj.id).order_by(table.c.position)
        return list(self.session.scalars(query))

    def insert(self) -> None:
        by_table: dict[Table, list[dict[str, int]]] = defaultdict(list)
        for (table, _, _), rows in self.rows.items():
            by_table[table] += rows
        for table, rows in by_table.items():
            if rows:
                self.session.execute(insert(table), rows)
        self.rows.clear()
