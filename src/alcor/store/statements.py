"""The writer's hot statements, compiled once per dialect and run on the raw DB-API cursor.

SQLAlchemy builds, caches and processes every execution; for the few statements every request
runs (insert rows, delete by key, read one row by key) that work costs more than SQLite itself.
Compiling them once with the connection's dialect keeps one code path for SQLite and PostgreSQL
(placeholders, quoting) and leaves only the driver's own work per execution. Values must already
be what the driver takes: the row codecs produce plain str/int/bool/None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from alcor.store import schema

Params = Sequence[Any] | Mapping[str, Any]


class Prepared:
    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self._order = list(compiled.positiontup or []) if compiled.positional else None
        self._pick = itemgetter(*self._order) if self._order and len(self._order) > 1 else None

    def bind(self, params: Mapping[str, Any]) -> Params:
        if self._order is None:
            return params
        return tuple(params[name] for name in self._order)

    def bind_all(
        self, rows: Sequence[Mapping[str, Any]]
    ) -> Sequence[Sequence[Any]] | Sequence[Mapping[str, Any]]:
        if self._order is None:
            return rows
        if self._pick is None:  # a single placeholder: itemgetter would not make a tuple
            name = self._order[0] if self._order else ""
            return [(row[name],) for row in rows]
        pick = self._pick
        return [pick(row) for row in rows]


class Statements:
    """The prepared statements of one dialect, made on first use."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self.dialect = dialect
        self._prepared: dict[tuple[str, str, str], Prepared] = {}

    def insert(self, table: sa.Table) -> Prepared:
        return self._get(("insert", table.name, ""), lambda: sa.insert(table))

    def lock_revision(self) -> Prepared:
        """Read the store's revision and hold its row until the transaction ends."""
        revision = schema.store_revision.c.revision
        return self._get(
            ("lock", "store_revision", ""), lambda: sa.select(revision).with_for_update()
        )

    def set_revision(self) -> Prepared:
        value: sa.BindParameter[Any] = sa.bindparam("value")
        return self._get(
            ("set", "store_revision", ""),
            lambda: sa.update(schema.store_revision).values(revision=value),
        )

    def update_by_id(self, table: sa.Table) -> Prepared:
        """Every column set from the row, for the row whose id is ``key``."""
        key: sa.BindParameter[Any] = sa.bindparam("key")
        return self._get(
            ("update", table.name, "id"), lambda: sa.update(table).where(table.c.id == key)
        )

    def delete_where(self, table: sa.Table, column: str) -> Prepared:
        key: sa.BindParameter[Any] = sa.bindparam("key")
        return self._get(
            ("delete", table.name, column), lambda: sa.delete(table).where(table.c[column] == key)
        )

    def select_where(self, table: sa.Table, column: str) -> Prepared:
        key: sa.BindParameter[Any] = sa.bindparam("key")
        return self._get(
            ("select", table.name, column), lambda: sa.select(table).where(table.c[column] == key)
        )

    def _get(self, key: tuple[str, str, str], build: Any) -> Prepared:
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = Prepared(build(), self.dialect)
        return prepared
