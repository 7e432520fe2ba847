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


def _upsert(connection: sa.Connection, table: sa.Table, keys: Sequence[str]) -> Any:
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: statement.excluded[c.name] for c in table.c if c.name not in keys},
    )


def write(
    connection: sa.Connection,
    *,
    writer: str,
    ports: Sequence[PortRow] = (),
    hosts: Sequence[HostRow] = (),
) -> int:
    """Write the rows (one statement per table, each row replacing the one of its key) under a
    new counter value; returns it."""
    counter = schema.status_revision
    connection.execute(sa.update(counter).values(revision=counter.c.revision + 1))
    revision = int(connection.execute(sa.select(counter.c.revision)).scalar_one())
    if ports:
        connection.execute(
            _upsert(connection, schema.status_ports, ("port_id", "host")),
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
            ],
        )
    if hosts:
        connection.execute(
            _upsert(connection, schema.status_hosts, ("host",)),
            [
                {
                    "host": row.host,
                    "writer": row.writer,
                    "report": row.report,
                    "status_revision": revision,
                }
                for row in hosts
            ],
        )
    return revision


def forget_unprogrammed(connection: sa.Connection) -> int:
    """Drop the rows of ports no longer programmed where they were (a reader that starts
    reads every row, and one that follows has long read these); returns how many went."""
    table = schema.status_ports
    return int(
        connection.execute(sa.delete(table).where(table.c.revision == NOT_PROGRAMMED)).rowcount
    )


def since(connection: sa.Connection, revision: int, *, excluding: str = "") -> StatusRows:
    """The rows written after counter value ``revision``, but those ``excluding`` wrote."""
    counter = int(connection.execute(sa.select(schema.status_revision.c.revision)).scalar_one())
    if counter <= revision:
        return StatusRows(revision=counter, ports=[], hosts=[])
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
        revision=counter,
        ports=[
            PortRow(port_id=p, host=h, revision=int(r), vif_details=d) for p, h, r, d in port_rows
        ],
        hosts=[HostRow(host=h, writer=w, report=r) for h, w, r in host_rows],
    )
