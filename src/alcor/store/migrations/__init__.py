"""Schema migrations (alembic), applied on start-up: ``upgrade(engine)`` brings a store to head.

Before it migrates anything it checks that the database is a store at all: an empty database
becomes one; a database with tables of another application, or an alcor store at a migration
this code does not have (made by a newer alcor), is refused with ``SchemaMismatch`` and left as it
was.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

HERE = Path(__file__).parent
# Tables every store has had since its first migration, whatever its version.
STORE_TABLES = frozenset({"alembic_version", "store_revision", "change_log"})


class SchemaMismatch(Exception):
    """The database is not a store this code may migrate: said in words for an operator."""


def config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    with engine.connect() as connection:
        check(connection)
    with engine.connect() as connection:
        command.upgrade(config(connection), revision)


def check(connection: sa.Connection) -> None:
    """Refuse (``SchemaMismatch``) a database that holds something other than a store this code
    knows: another application's tables, or a store at a migration this code does not have."""
    tables = set(sa.inspect(connection).get_table_names())
    if not tables:
        return
    if not tables >= STORE_TABLES:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise SchemaMismatch(f"not an alcor store: it holds other tables ({shown})")
    script = ScriptDirectory.from_config(config())
    known = {revision.revision for revision in script.walk_revisions()}
    versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
    for version in versions:
        if version not in known:
            raise SchemaMismatch(
                f"the store is at migration {version}, which this alcor does not have (it knows "
                f"migrations up to {script.get_current_head()}): run an alcor with migration "
                f"{version} or later"
            )
