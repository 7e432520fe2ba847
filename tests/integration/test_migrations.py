"""The migrations and the schema the code is written against are one schema."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from alcor.store import migrations, schema


def differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, schema.metadata))


def test_a_store_migrated_to_head_has_exactly_the_schema_the_code_uses(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'alcor.db'}")
    migrations.upgrade(engine)
    assert differences(engine) == []


def test_every_migration_goes_down_and_up_again(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'alcor.db'}")
    migrations.upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(migrations.config(connection), "base")
        assert sa.inspect(connection).get_table_names() == ["alembic_version"]
        command.upgrade(migrations.config(connection), "head")
    assert differences(engine) == []
