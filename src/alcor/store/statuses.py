"""Status rows: what the southbound processes report of their hosts, outside the change log.

Observed state, not intent (migration 0011): writing it bumps no resource revision and logs
nothing, so a client's ``If-Match`` keeps working. Every write bumps ``status_revision``, one
counter of its own, and stamps the rows it writes with the new value: a reader holding counter
``r`` reads the rows stamped after ``r``. The counter is read before the rows, so a row written
meanwhile is read now or next time (rows are whole values: reading one twice is harmless).

Rows are keyed by what they describe (a port on a host; a host), never by who wrote them: the
process serving a host now overwrites what the one before wrote. ``writer`` names the process
that wrote a row, so that a process can leave its own rows out of what it reads back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from alcor.store import schema
from alcor.store.statements import Prepared

NOT_PROGRAMMED = 0  # a port row's revision once the port left the host


class PortRow(msgspec.Struct, frozen=True, kw_only=True):
    """The goal-state entry of ``revision`` programs the port on the host (0: no longer), and
    what the host reported of it (JSON: ``binding:vif_details`` observed, ``{}`` none)."""

    port_id: str
    host: str
    revision: int
    vif_details: str = "{}"


class HostRow(msgspec.Struct, frozen=True, kw_only=True):
    """The host's report (JSON, ``services.status.Reported``), as ``writer`` last wrote it."""

    host: str
    writer: str
    report: str


class StatusRows(msgspec.Struct, frozen=True, kw_only=True):
    """What was written after some counter value, up to ``revision`` at least."""

    revision: int
    ports: list[PortRow]
    hosts: list[HostRow]


def _upsert(dialect: sa.Dialect, table: sa.Table, keys: Sequence[str]) -> Any:
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: statement.excluded[c.name] for c in table.c if c.name not in keys},
    )


def _bump() -> Any:
    counter = schema.status_revision
    bumped = counter.c.revision + sa.literal_column("1")
    return sa.update(counter).values(revision=bumped).returning(counter.c.revision)


_BUILDS = {
    "bump": lambda dialect: _bump(),
    "ports": lambda dialect: _upsert(dialect, schema.status_ports, ("port_id", "host")),
    "hosts": lambda dialect: _upsert(dialect, schema.status_hosts, ("host",)),
}
# compiled once per dialect and run on the DB-API cursor, as the writer's hot statements are
# (``store/statements.py``): SQLAlchemy's own execution cost more than SQLite's work here
_PREPARED: dict[tuple[str, str], Prepared] = {}


def _prepared(dialect: sa.Dialect, name: str) -> Prepared:
    prepared = _PREPARED.get((dialect.name, name))
    if prepared is None:
        prepared = _PREPARED[dialect.name, name] = Prepared(_BUILDS[name](dialect), dialect)
    return prepared


def write(
    connection: sa.Connection,
    *,
    writer: str,
    ports: Sequence[PortRow] = (),
    hosts: Sequence[HostRow] = (),
) -> int:
    """Write the rows (one statement per table, each row replacing the one of its key) under a
    new counter value; returns it."""
    dialect = connection.dialect
    cursor = connection.connection.cursor()
    try:
        bump = _prepared(dialect, "bump")
        cursor.execute(bump.sql, bump.bind({}))
        bumped = cursor.fetchone()
        assert bumped is not None, "the status_revision row is made by migration 0011"
        revision = int(bumped[0])
        if ports:
            upsert = _prepared(dialect, "ports")
            cursor.executemany(
                upsert.sql,
                upsert.bind_all(
                    [
                        {
                            "port_id": row.port_id,
                            "host": row.host,
                            "writer": writer,
                            "revision": row.revision,
                            "vif_details": row.vif_details,
                            "status_revision": revision,
                        }
                        for row in ports
                    ]
                ),
            )
        if hosts:
            upsert = _prepared(dialect, "hosts")
            cursor.executemany(
                upsert.sql,
                upsert.bind_all(
                    [
                        {
                            "host": row.host,
                            "writer": row.writer,
                            "report": row.report,
                            "status_revision": revision,
                        }
                        for row in hosts
                    ]
                ),
            )
    finally:
        cursor.close()
    return revision


def forget_unprogrammed(connection: sa.Connection) -> int:
    """Drop the rows of ports no longer programmed where they were (a reader that starts
    reads every row, and one that follows has long read these); returns how many went."""
    table = schema.status_ports
    return int(
        connection.execute(sa.delete(table).where(table.c.revision == NOT_PROGRAMMED)).rowcount
    )


def counter(connection: sa.Connection) -> int:
    return int(connection.execute(sa.select(schema.status_revision.c.revision)).scalar_one())


def since(connection: sa.Connection, revision: int, *, excluding: str = "") -> StatusRows:
    """The rows written after counter value ``revision``, but those ``excluding`` wrote."""
    counter_now = counter(connection)
    if counter_now <= revision:
        return StatusRows(revision=counter_now, ports=[], hosts=[])
    ports, hosts = schema.status_ports, schema.status_hosts
    port_rows = connection.execute(
        sa.select(ports.c.port_id, ports.c.host, ports.c.revision, ports.c.vif_details).where(
            ports.c.status_revision > revision, ports.c.writer != excluding
        )
    )
    host_rows = connection.execute(
        sa.select(hosts.c.host, hosts.c.writer, hosts.c.report).where(
            hosts.c.status_revision > revision, hosts.c.writer != excluding
        )
    )
    return StatusRows(
        revision=counter_now,
        ports=[
            PortRow(port_id=p, host=h, revision=int(r), vif_details=d) for p, h, r, d in port_rows
        ],
        hosts=[HostRow(host=h, writer=w, report=r) for h, w, r in host_rows],
    )
