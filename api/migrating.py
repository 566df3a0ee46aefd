"""Moving a database's schema to a revision, and what to say of one this version cannot serve.

Here, not in models/db.py: that file is part of the stored renderings' key (oparl/snapshot.py), and
editing it would make every deployment render every object again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import NullPool, create_engine, make_url

from models.db import (
    DatabaseMissing,
    SchemaNotMigrated,
    alembic_config,
    current_revision,
    head_revision,
    migration_lock,
)

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory


def migrate_to(url: str, to: str = "head") -> str:
    """Moves the schema to `to` (an earlier revision: back, for running an earlier version) under
    the migration lock, and returns the revision it is at. A database that a newer version
    migrated is refused, with what to do."""
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config(url)
    script = _scripts()
    try:
        target = script.get_revision(to)
    except CommandError as exc:
        raise SchemaNotMigrated(f"{exc} (this version's newest is {script.get_current_head()})") from exc
    if target is None:  # Alembic's "base", the empty database
        raise SchemaNotMigrated("`--to base` would drop every table: drop the database instead.")
    with migration_lock(url):
        current = _revision_of(url)
        if _unknown(script, current):
            raise SchemaNotMigrated(_ahead(url, current, script))
        earlier = current is not None and target.revision in {
            r.revision for r in script.iterate_revisions(current, "base")
        }
        if earlier and target.revision != current:
            command.downgrade(config, target.revision)
        else:
            command.upgrade(config, target.revision)
    return target.revision


def is_head(revision: str) -> bool:
    return revision == head_revision()


def explained(url: str, refused: SchemaNotMigrated) -> str:
    """What to say of a database a command refused (models.db.check_schema): one that a newer
    version migrated gets what to do, which "run migrate" is not (it would fail)."""
    if isinstance(refused, DatabaseMissing):  # opening it would create it
        return str(refused)
    try:
        current = _revision_of(url)
    except Exception:  # the refusal says why already (the database cannot be opened)
        return str(refused)
    script = _scripts()
    return _ahead(url, current, script) if _unknown(script, current) else str(refused)


def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def _revision_of(url: str) -> str | None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def _unknown(script: ScriptDirectory, current: str | None) -> bool:
    """Whether the database is at a revision this version's migrations do not hold (several rows
    of alembic_version come as one string, "a,b")."""
    known = {r.revision for r in script.walk_revisions()}
    return current is not None and not set(current.split(",")) <= known


def _ahead(url: str, current: str | None, script: ScriptDirectory) -> str:
    where = make_url(url).render_as_string(hide_password=True)
    return (f"The database {where} is at revision {current}, which this version of oparl-server does not know: "
            "a newer version migrated it. Serve it with that version, or move it back with that version first: "
            f"`oparl-server migrate --to {script.get_current_head()}`.")  # fmt: skip
