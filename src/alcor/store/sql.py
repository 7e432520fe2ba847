"""Reading and writing resources with SQLAlchemy Core, for SQLite and PostgreSQL alike.

``SqlReader`` turns a ``Query`` into one SELECT; ``SqlWriter`` adds inserts, updates and deletes
that keep the derived index tables (``ip_allocations``, ``port_security_groups``, ``tags``) and
the change log in step with
the resource rows. Both work on a connection they are handed; transactions belong to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import islice
from typing import Any, TypeVar

import msgspec
import sqlalchemy as sa

from alcor.model import errors
from alcor.model.queries import Query
from alcor.model.quotas import Overrides
from alcor.model.records import (
    ACCESS_AS_SHARED,
    EVERY_PROJECT,
    RBAC_SEEING,
    RECORD_TYPES,
    FirewallGroup,
    Port,
    Record,
    Subnet,
    Trunk,
)
from alcor.store import checkpoints, schema, statuses
from alcor.store.caching import TopologyCache
from alcor.store.counting import ProjectCounts
from alcor.store.interface import LOGGED_TYPES, Change, Logged, Replica
from alcor.store.rows import RowCodec, document
from alcor.store.statements import Prepared, Statements

R = TypeVar("R", bound=Record)
log = logging.getLogger(__name__)
T = TypeVar("T")

_CHANGE_COLUMNS = ("revision", "resource_type", "resource_id", "operation", "project_id")


def _chunks(items: Iterable[T], size: int) -> Iterable[tuple[T, ...]]:
    """``itertools.batched`` for Python 3.11: keeps IN lists within every driver's limits."""
    iterator = iter(items)
    while chunk := tuple(islice(iterator, size)):
        yield chunk


def _table(kind: type[Record]) -> sa.Table:
    return schema.RESOURCE_TABLES[kind.kind]


_CODECS: dict[type[Record], RowCodec[Any]] = {
    kind: RowCodec(kind, schema.RESOURCE_TABLES[kind.kind]) for kind in RECORD_TYPES.values()
}


def _codec(kind: type[R]) -> RowCodec[R]:
    return _CODECS[kind]


def _to_record(kind: type[R], row: sa.Row[Any]) -> R:
    return _codec(kind).from_row(row)


class SqlReader:
    def __init__(self, connection: sa.Connection, statements: Statements) -> None:
        self.connection = connection
        self.statements = statements

    def get(self, kind: type[R], resource_id: str) -> R | None:
        row = self._fetch_one(self.statements.select_where(_table(kind), "id"), key=resource_id)
        return None if row is None else _codec(kind).from_row(row)

    def _fetch_one(self, prepared: Prepared, **params: Any) -> Sequence[Any] | None:
        cursor = self.connection.connection.cursor()
        try:
            row: Sequence[Any] | None = cursor.execute(
                prepared.sql, prepared.bind(params)
            ).fetchone()
        finally:
            cursor.close()
        return row

    def get_many(self, kind: type[R], resource_ids: Iterable[str]) -> dict[str, R]:
        table = _table(kind)
        found: dict[str, R] = {}
        for chunk in _chunks(resource_ids, 500):
            statement = sa.select(table).where(table.c.id.in_(chunk))
            for row in self.connection.execute(statement):
                found[row.id] = _to_record(kind, row)
        return found

    def select(self, kind: type[R], query: Query) -> list[R]:
        table = _table(kind)
        statement = _paged(table, query, self._marker_row(table, query))
        rows = [_to_record(kind, row) for row in self.connection.execute(statement)]
        if query.page_reverse:
            rows.reverse()
        return rows

    def count(self, kind: type[R], query: Query) -> int:
        table = _table(kind)
        statement = sa.select(sa.func.count()).select_from(table).where(*_conditions(table, query))
        return int(self.connection.execute(statement).scalar_one())

    def tags_of(self, resource_ids: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        t = schema.tags
        for chunk in _chunks(resource_ids, 500):
            statement = sa.select(t.c.resource_id, t.c.tag).where(t.c.resource_id.in_(chunk))
            for resource_id, tag in self.connection.execute(statement.order_by(t.c.tag)):
                found.setdefault(resource_id, []).append(tag)
        return found

    def subnets_of(self, network_id: str) -> list[Subnet]:
        s = schema.subnets
        statement = (
            sa.select(s).where(s.c.network_id == network_id).order_by(s.c.created_at, s.c.id)
        )
        return [_to_record(Subnet, row) for row in self.connection.execute(statement)]

    def allocated_ips(self, subnet_id: str) -> list[str]:
        a = schema.ip_allocations
        statement = sa.select(a.c.ip_address).where(a.c.subnet_id == subnet_id)
        return list(self.connection.execute(statement).scalars())

    def security_group_ports(self, security_group_id: str) -> list[str]:
        m = schema.port_security_groups
        statement = sa.select(m.c.port_id).where(m.c.security_group_id == security_group_id)
        return list(self.connection.execute(statement.order_by(m.c.port_id)).scalars())

    def subport_trunks(self, port_ids: Iterable[str]) -> dict[str, str]:
        t = schema.trunk_subports
        found: dict[str, str] = {}
        for chunk in _chunks(port_ids, 500):
            statement = sa.select(t.c.port_id, t.c.trunk_id).where(t.c.port_id.in_(chunk))
            for port_id, trunk_id in self.connection.execute(statement):
                found[port_id] = trunk_id
        return found

    def firewall_group_ports(self, port_ids: Iterable[str]) -> dict[str, str]:
        t = schema.firewall_group_ports
        found: dict[str, str] = {}
        for chunk in _chunks(port_ids, 500):
            statement = sa.select(t.c.port_id, t.c.firewall_group_id).where(t.c.port_id.in_(chunk))
            for port_id, group_id in self.connection.execute(statement):
                found[port_id] = group_id
        return found

    def macs_in_network(self, network_id: str) -> list[str]:
        p = schema.ports
        statement = sa.select(p.c.mac_address).where(p.c.network_id == network_id)
        return list(self.connection.execute(statement).scalars())

    def used_segments(self, network_type: str) -> list[int]:
        n = schema.networks
        statement = sa.select(n.c.segmentation_id).where(
            n.c.network_type == network_type, n.c.segmentation_id.is_not(None)
        )
        return list(self.connection.execute(statement).scalars())

    def quota_limits(self, project_id: str) -> dict[str, int]:
        q = schema.quotas
        statement = sa.select(q.c.resource, q.c["limit"]).where(q.c.project_id == project_id)
        return {resource: int(limit) for resource, limit in self.connection.execute(statement)}

    def all_quota_limits(self) -> dict[str, dict[str, int]]:
        q = schema.quotas
        found: dict[str, dict[str, int]] = {}
        statement = sa.select(q.c.project_id, q.c.resource, q.c["limit"]).order_by(q.c.project_id)
        for project_id, resource, limit in self.connection.execute(statement):
            found.setdefault(project_id, {})[resource] = int(limit)
        return found

    def resource_counts(self, project_id: str | None = None) -> dict[str, int]:
        counts = [
            sa.select(sa.literal(kind), sa.func.count())
            .select_from(table)
            .where(table.c.project_id == project_id if project_id is not None else sa.true())
            for kind, table in schema.RESOURCE_TABLES.items()
        ]
        return {kind: int(n) for kind, n in self.connection.execute(sa.union_all(*counts))}

    def revision(self) -> int:
        statement = sa.select(schema.store_revision.c.revision)
        return int(self.connection.execute(statement).scalar_one())

    def store_id(self) -> str:
        statement = sa.select(schema.store_identity.c.store_id)
        return str(self.connection.execute(statement).scalar_one())

    def changes_since(self, revision: int, limit: int) -> list[Change]:
        log = schema.change_log
        statement = (
            sa.select(log).where(log.c.revision > revision).order_by(log.c.revision).limit(limit)
        )
        return [_read_change(row._mapping) for row in self.connection.execute(statement)]

    def history(self, resource_type: str, resource_id: str) -> list[Change]:
        log = schema.change_log
        statement = (
            sa.select(log)
            .where(log.c.resource_type == resource_type, log.c.resource_id == resource_id)
            .order_by(log.c.revision)
        )
        return [_read_change(row._mapping) for row in self.connection.execute(statement)]

    def compacted_through(self) -> int:
        statement = sa.select(schema.store_revision.c.compacted_through)
        return int(self.connection.execute(statement).scalar_one())

    def replicas(self) -> list[Replica]:
        table = schema.southbound_replicas
        rows = self.connection.execute(sa.select(table).order_by(table.c.replica_id))
        return [
            Replica(
                replica_id=row.replica_id,
                address=row.address,
                lease_ms=int(row.lease_ms),
                renewals=int(row.renewals),
                expires_ms=int(row.expires_ms),
            )
            for row in rows
        ]

    def status_revision(self) -> int:
        return statuses.counter(self.connection)

    def status_since(self, revision: int, *, excluding: str = "") -> statuses.StatusRows:
        return statuses.since(self.connection, revision, excluding=excluding)

    def newest_checkpoint(self) -> checkpoints.Checkpoint | None:
        return checkpoints.newest(self.connection)

    def checkpoint_pieces(self, revision: int, first: int, limit: int) -> list[bytes]:
        return checkpoints.pieces(self.connection, revision, first, limit)

    def _marker_row(self, table: sa.Table, query: Query) -> sa.Row[Any] | None:
        if query.marker is None:
            return None
        where = [table.c.id == query.marker]
        if query.project_id is not None:  # a marker the caller cannot see is not found either
            where.append(_scope(table, query.project_id, shared=query.shared_visible))
        row = self.connection.execute(sa.select(table).where(*where)).first()
        if row is None:
            raise errors.InvalidInput(f"Marker {query.marker} could not be found.")
        return row


# One typed decoder per kind of change-log document: the stored JSON becomes its struct in
# one pass, with no generic dict in between.
_LOGGED_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    kind: msgspec.json.Decoder(logged) for kind, logged in LOGGED_TYPES.items()
}


def _change(row: Mapping[Any, Any], record: Logged) -> Change:
    """A change-log row (as read, or as the writer is about to write it) as a ``Change``."""
    return Change(
        revision=row["revision"],
        resource_type=row["resource_type"],
        resource_id=row["resource_id"],
        operation=row["operation"],
        project_id=row["project_id"],
        record=record,
        committed_at=row["committed_at"],
    )


def _read_change(row: Mapping[Any, Any]) -> Change:
    """A change-log row as read: its document decoded into the struct of its resource type."""
    decoder = _LOGGED_DECODERS.get(row["resource_type"])
    if decoder is None:
        raise ValueError(f"a change-log row of unknown resource type {row['resource_type']!r}")
    data = row["data"]
    record: Logged = (
        decoder.decode(data)
        if isinstance(data, str | bytes)
        else msgspec.convert(data, decoder.type)  # a driver that parsed JSON itself
    )
    return _change(row, record)


def _conditions(table: sa.Table, query: Query) -> list[sa.ColumnElement[bool]]:
    c = table.c
    where: list[sa.ColumnElement[bool]] = []
    if query.project_id is not None:
        where.append(_scope(table, query.project_id, shared=query.shared_visible))
    for field, values in query.filters.items():
        if table is schema.ports and field == "security_groups":  # ports in any of the groups
            m = schema.port_security_groups
            in_groups = sa.select(m.c.port_id).where(m.c.security_group_id.in_(values))
            where.append(c.id.in_(in_groups))
        elif field == "shared" and table in _RBAC_OBJECTS:
            where.append(_shared(table, values, query.viewer))
        else:
            where.append(_matching(c[field], values))
    if query.network_filters:
        n = schema.networks
        matching = [_matching(n.c[f], values) for f, values in query.network_filters.items()]
        where.append(c.network_id.in_(sa.select(n.c.id).where(*matching)))
    if query.fixed_ips:
        a = schema.ip_allocations
        match = [
            sa.or_(*(a.c.ip_address.contains(v, autoescape=True) for v in values))
            if field == "ip_address_substr"
            else a.c[field].in_(values)
            for field, values in query.fixed_ips.items()
        ]
        # uncorrelated, so the database reads the matching allocations by their key once
        # (a correlated EXISTS probed them once per port of the whole store)
        where.append(c.id.in_(sa.select(a.c.port_id).where(*match)))
    where.extend(_tag_conditions(c.id, query))
    return where


INT32 = 2**31


def _matching(column: sa.Column[Any], values: tuple[Any, ...]) -> sa.ColumnElement[bool]:
    """``column`` is one of ``values``. An integer that a 32-bit column cannot hold matches
    nothing (PostgreSQL refuses to compare with it; SQLite would find no row either)."""
    if isinstance(column.type, sa.Integer) and not isinstance(column.type, sa.BigInteger):
        values = tuple(v for v in values if not isinstance(v, int) or -INT32 <= v < INT32)
    match: sa.ColumnElement[bool] = (
        column == values[0] if len(values) == 1 else column.in_(values)  # none: empty IN, false
    )
    return match


# The tables whose rows RBAC policies let other projects use: the policies' object type and
# the column holding the object's id (a subnet is used through its network's policies).
_RBAC_OBJECTS: dict[sa.Table, tuple[str, str]] = {
    schema.networks: ("network", "id"),
    schema.subnets: ("network", "network_id"),
    schema.security_groups: ("security_group", "id"),
    schema.address_scopes: ("address_scope", "id"),
    schema.subnetpools: ("subnetpool", "id"),
    schema.address_groups: ("address_group", "id"),
    schema.qos_policies: ("qos_policy", "id"),
}


# Tables whose ``shared`` column (not an RBAC policy) lets every project see a row (``fwaas_v2``)
_SHARED_COLUMN = frozenset(
    {schema.firewall_rules, schema.firewall_policies, schema.firewall_groups}
)


def _scope(table: sa.Table, project_id: str, *, shared: bool) -> sa.ColumnElement[bool]:
    """The project's own rows, and with ``shared`` those an RBAC policy (of any action) lets
    it or every project use (the ports on its own networks, for ports): one uncorrelated
    subquery, read by the index on the target (on the project)."""
    own = table.c.project_id == project_id
    if not shared:
        return own
    if table is schema.ports:  # a network's owner sees every port on it
        n = schema.networks
        owned = sa.select(n.c.id).where(n.c.project_id == project_id)
        return sa.or_(own, table.c.network_id.in_(owned))
    if table in _SHARED_COLUMN:  # shared with every project by a column of its own
        return sa.or_(own, table.c.shared.is_(sa.true()))
    if table not in _RBAC_OBJECTS:
        return own
    object_type, column = _RBAC_OBJECTS[table]
    usable = _rbac_objects(object_type, (project_id, EVERY_PROJECT), RBAC_SEEING[object_type])
    return sa.or_(own, table.c[column].in_(usable))


def _rbac_objects(
    object_type: str, targets: tuple[str, ...], actions: tuple[str, ...]
) -> sa.Select[Any]:
    r = schema.rbac_policies
    return sa.select(r.c.object_id).where(
        r.c.target_project.in_(targets), r.c.object_type == object_type, r.c.action.in_(actions)
    )


def _shared(table: sa.Table, values: tuple[Any, ...], viewer: str | None) -> sa.ColumnElement[bool]:
    """Neutron's ``shared`` filter: whether an ``access_as_shared`` policy shares the object
    with the viewer or with every project (the first value decides, as in Neutron)."""
    object_type, column = _RBAC_OBJECTS[table]
    targets = (EVERY_PROJECT,) if viewer is None else (viewer, EVERY_PROJECT)
    shared = table.c[column].in_(_rbac_objects(object_type, targets, (ACCESS_AS_SHARED,)))
    return shared if values and values[0] else sa.not_(shared)


def _tag_conditions(
    resource_id: sa.ColumnElement[Any], query: Query
) -> list[sa.ColumnElement[bool]]:
    t = schema.tags

    def tagged(*names: str) -> sa.Exists:
        return sa.exists().where(t.c.resource_id == resource_id, t.c.tag.in_(names))

    where: list[sa.ColumnElement[bool]] = [tagged(tag) for tag in query.tags]
    if query.tags_any:
        where.append(tagged(*query.tags_any))
    if query.not_tags:
        where.append(sa.not_(sa.and_(*(tagged(tag) for tag in query.not_tags))))
    if query.not_tags_any:
        where.append(sa.not_(tagged(*query.not_tags_any)))
    return where


def _paged(table: sa.Table, query: Query, marker: sa.Row[Any] | None) -> sa.Select[Any]:
    """Keyset paging: the sort keys with ``id`` as the tie-breaker, after (or before) the marker."""
    keys = [(field, ascending) for field, ascending in query.sort if field != "id"]
    keys.append(("id", query.sort[-1][1] if query.sort and query.sort[-1][0] == "id" else True))
    if query.page_reverse:
        keys = [(field, not ascending) for field, ascending in keys]
    statement = sa.select(table).where(*_conditions(table, query))
    if marker is not None:
        statement = statement.where(_after(table, keys, marker))
    # NULLs sort first ascending and last descending, on every dialect, so that a reversed
    # page is exactly the reverse order and the keyset below can say where NULLs stand.
    order = [
        table.c[f].asc().nulls_first() if asc else table.c[f].desc().nulls_last() for f, asc in keys
    ]
    statement = statement.order_by(*order)
    return statement if query.limit is None else statement.limit(query.limit)


def _after(
    table: sa.Table, keys: list[tuple[str, bool]], marker: sa.Row[Any]
) -> sa.ColumnElement[bool]:
    """Rows strictly after the marker in ``keys`` order: (k1 > m1) or (k1 = m1 and k2 > m2) ..."""
    alternatives: list[sa.ColumnElement[bool]] = []
    for index, (field, ascending) in enumerate(keys):
        equal_before = [_same(table.c[f], getattr(marker, f)) for f, _ in keys[:index]]
        beyond = _beyond(table.c[field], getattr(marker, field), ascending=ascending)
        alternatives.append(sa.and_(*equal_before, beyond))
    return sa.or_(*alternatives)


def _same(column: sa.ColumnElement[Any], value: object) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _beyond(
    column: sa.ColumnElement[Any], value: object, *, ascending: bool
) -> sa.ColumnElement[bool]:
    """Strictly after ``value``: ascending puts NULLs first, descending puts them last."""
    if ascending:
        return column.is_not(None) if value is None else column > value
    return sa.false() if value is None else sa.or_(column < value, column.is_(None))


class SqlWriter(SqlReader):
    """Writes within the caller's transaction and records each change for the change log."""

    def __init__(
        self,
        connection: sa.Connection,
        *,
        revision: int,
        now: Callable[[], str],
        cache: TopologyCache,
        counts: ProjectCounts,
        statements: Statements,
    ) -> None:
        super().__init__(connection, statements)
        self._cache = cache
        self._counts = counts
        self._revision = revision
        self.start = (revision, 0, 0)  # the mark to rewind to when the commit itself fails
        self._now = now
        self.pending_changes: list[dict[str, Any]] = []  # the change-log rows to write
        self.pending_records: list[Logged] = []  # what each of them holds, as written
        self.undo_log: list[Callable[[], None]] = []
        self.status_written = False  # whether to tell the status readers (NOTIFY)

    def get(self, kind: type[R], resource_id: str) -> R | None:
        if not self._cache.holds(kind):
            return super().get(kind, resource_id)
        record = self._cache.lookup(kind, resource_id)
        if record is None:
            record = super().get(kind, resource_id)
            self._cache.load(record, undo=self.on_rollback)
        return record

    def subnets_of(self, network_id: str) -> list[Subnet]:
        subnets = self._cache.subnets_by_network.get(network_id)
        if subnets is None:
            subnets = super().subnets_of(network_id)
            self._cache.load_subnets(network_id, subnets, undo=self.on_rollback)
        return subnets

    def revision(self) -> int:
        return self._revision

    def insert(self, records: Sequence[Record]) -> None:
        if not records:
            return
        kind = type(records[0])
        rows = [_codec(kind).to_row(record) for record in records]
        self._run(self.statements.insert(_table(kind)), rows)
        if isinstance(records[0], Port):
            self._index_addresses(records)
            self._index_memberships(records)
        if isinstance(records[0], Trunk):
            self._index_subports(records)
        if isinstance(records[0], FirewallGroup):
            self._index_firewall_ports(records)
        self._cache.remember(records, undo=self.on_rollback)
        self._counts.follow(records, 1, undo=self.on_rollback)
        self._log("create", records)

    def update(self, records: Sequence[Record]) -> None:
        if not records:
            return
        kind = type(records[0])
        rows = [_codec(kind).to_row(record) for record in records]
        self._run(self.statements.update_by_id(_table(kind)), [{**r, "key": r["id"]} for r in rows])
        if isinstance(records[0], Port):
            self._unindex_addresses(records)
            self._index_addresses(records)
            self._unindex_memberships(records)
            self._index_memberships(records)
        if isinstance(records[0], Trunk):
            self._unindex_subports(records)
            self._index_subports(records)
        if isinstance(records[0], FirewallGroup):
            self._unindex_firewall_ports(records)
            self._index_firewall_ports(records)
        self._cache.remember(records, undo=self.on_rollback)
        self._log("update", records)

    def delete(self, records: Sequence[Record]) -> None:
        if not records:
            return
        keys = [{"key": record.id} for record in records]
        if isinstance(records[0], Port):
            self._unindex_addresses(records)
            self._unindex_memberships(records)
        if isinstance(records[0], Trunk):
            self._unindex_subports(records)
        if isinstance(records[0], FirewallGroup):
            self._unindex_firewall_ports(records)
        self._run(self.statements.delete_where(schema.tags, "resource_id"), keys)
        self._run(self.statements.delete_where(_table(type(records[0])), "id"), keys)
        self._cache.forget(records, undo=self.on_rollback)
        self._counts.follow(records, -1, undo=self.on_rollback)
        self._log("delete", records)

    def set_tags(self, resource_id: str, tags: Iterable[str]) -> None:
        self._run(self.statements.delete_where(schema.tags, "resource_id"), [{"key": resource_id}])
        rows = [{"resource_id": resource_id, "tag": tag} for tag in sorted(set(tags))]
        self._run(self.statements.insert(schema.tags), rows)

    def usage(self, project_id: str, kind: str) -> int:
        return self._counts.of(
            project_id,
            kind,
            load=lambda: self.resource_counts(project_id),
            undo=self.on_rollback,
        )

    def set_quota_limits(self, project_id: str, limits: Mapping[str, int]) -> None:
        before = self.quota_limits(project_id)
        self._run(self.statements.delete_where(schema.quotas, "project_id"), [{"key": project_id}])
        rows = [{"project_id": project_id, "resource": r, "limit": n} for r, n in limits.items()]
        self._run(self.statements.insert(schema.quotas), rows)
        operation = "delete" if not limits else "update" if before else "create"
        shown = Overrides(project_id=project_id, limits=dict(limits) if limits else before)
        self._append_change(
            kind="quota",
            resource_id=project_id,
            operation=operation,
            project_id=project_id,
            data=shown,
            committed_at=self._now(),
        )

    def write_status(
        self,
        *,
        writer: str,
        ports: Sequence[statuses.PortRow] = (),
        hosts: Sequence[statuses.HostRow] = (),
    ) -> int:
        self.status_written = True
        return statuses.write(self.connection, writer=writer, ports=ports, hosts=hosts)

    def forget_unprogrammed_status(self) -> int:
        return statuses.forget_unprogrammed(self.connection)

    def on_rollback(self, undo: Callable[[], None]) -> None:
        self.undo_log.append(undo)

    def mark(self) -> tuple[int, int, int]:
        """Where the writer stands, to ``rewind`` to when one piece of work fails."""
        return self._revision, len(self.pending_changes), len(self.undo_log)

    def rewind(self, mark: tuple[int, int, int]) -> None:
        """Forget the changes since ``mark`` and run their undo callbacks, newest first. Each
        callback runs once: they are taken off the log before they run, and one that fails is
        logged without stopping the others (the database's constraints still guard it)."""
        self._revision, changes, undo = mark
        callbacks = self.undo_log[undo:]
        del self.pending_changes[changes:], self.pending_records[changes:], self.undo_log[undo:]
        for callback in reversed(callbacks):
            try:
                callback()
            except Exception:
                log.exception("an undo callback failed: in-memory allocation state may be stale")

    def _index_addresses(self, ports: Sequence[Record]) -> None:
        rows = [
            {
                "subnet_id": ip.subnet_id,
                "ip_address": ip.ip_address,
                "port_id": port.id,
                "network_id": port.network_id,
            }
            for port in ports
            if isinstance(port, Port)
            for ip in port.fixed_ips
        ]
        self._run(self.statements.insert(schema.ip_allocations), rows)

    def _unindex_addresses(self, ports: Sequence[Record]) -> None:
        keys = [{"key": port.id} for port in ports]
        self._run(self.statements.delete_where(schema.ip_allocations, "port_id"), keys)

    def _index_memberships(self, ports: Sequence[Record]) -> None:
        rows = [
            {"port_id": port.id, "security_group_id": group_id}
            for port in ports
            if isinstance(port, Port)
            for group_id in port.security_groups
        ]
        self._run(self.statements.insert(schema.port_security_groups), rows)

    def _unindex_memberships(self, ports: Sequence[Record]) -> None:
        keys = [{"key": port.id} for port in ports]
        self._run(self.statements.delete_where(schema.port_security_groups, "port_id"), keys)

    def _index_subports(self, trunks: Sequence[Record]) -> None:
        rows = [
            {
                "port_id": subport.port_id,
                "trunk_id": trunk.id,
                "segmentation_type": subport.segmentation_type,
                "segmentation_id": subport.segmentation_id,
            }
            for trunk in trunks
            if isinstance(trunk, Trunk)
            for subport in trunk.sub_ports
        ]
        self._run(self.statements.insert(schema.trunk_subports), rows)

    def _unindex_subports(self, trunks: Sequence[Record]) -> None:
        keys = [{"key": trunk.id} for trunk in trunks]
        self._run(self.statements.delete_where(schema.trunk_subports, "trunk_id"), keys)

    def _index_firewall_ports(self, groups: Sequence[Record]) -> None:
        rows = [
            {"port_id": port_id, "firewall_group_id": group.id}
            for group in groups
            if isinstance(group, FirewallGroup)
            for port_id in group.ports
        ]
        self._run(self.statements.insert(schema.firewall_group_ports), rows)

    def _unindex_firewall_ports(self, groups: Sequence[Record]) -> None:
        keys = [{"key": group.id} for group in groups]
        self._run(
            self.statements.delete_where(schema.firewall_group_ports, "firewall_group_id"), keys
        )

    def _log(self, operation: str, records: Sequence[Record]) -> None:
        committed_at = self._now()
        for record in records:
            self._append_change(
                kind=record.kind,
                resource_id=record.id,
                operation=operation,
                project_id=record.project_id,
                data=record,
                committed_at=committed_at,
            )

    def _append_change(
        self,
        *,
        kind: str,
        resource_id: str,
        operation: str,
        project_id: str,
        data: Logged,
        committed_at: str,
    ) -> None:
        self._revision += 1
        self.pending_records.append(data)
        self.pending_changes.append(
            {
                "revision": self._revision,
                "resource_type": kind,
                "resource_id": resource_id,
                "operation": operation,
                "project_id": project_id,
                "data": document(data),
                "committed_at": committed_at,
            }
        )

    @classmethod
    def begin(
        cls,
        connection: sa.Connection,
        *,
        now: Callable[[], str],
        cache: TopologyCache,
        counts: ProjectCounts,
        statements: Statements,
    ) -> SqlWriter:
        """The writer of a transaction just begun. It locks the store's revision row first, so
        writers (of any process) take turns and revisions are handed out in commit order."""
        reader = SqlReader(connection, statements)
        locked = reader._fetch_one(statements.lock_revision())
        assert locked is not None, "the store_revision row is made by the first migration"
        return cls(
            connection,
            revision=int(locked[0]),
            now=now,
            cache=cache,
            counts=counts,
            statements=statements,
        )

    def compact_changes(self, through: int) -> int:
        """Fold the change log up to ``through``. Only the rows after the last floor are read:
        the resources they name lose their older rows (by the resource index), and the rows of
        deletes go; everything before the last floor is folded already."""
        log = schema.change_log
        floor = self.compacted_through()
        through = min(through, self._revision)
        if through <= floor:
            return 0
        window = sa.and_(log.c.revision > floor, log.c.revision <= through)
        last = (
            sa.select(log.c.resource_type, log.c.resource_id, sa.func.max(log.c.revision))
            .where(window)
            .group_by(log.c.resource_type, log.c.resource_id)
        )
        superseded = sa.delete(log).where(
            log.c.resource_type == sa.bindparam("kind"),
            log.c.resource_id == sa.bindparam("rid"),
            log.c.revision < sa.bindparam("last"),
        )
        rows = [
            {"kind": kind, "rid": rid, "last": last_revision}
            for kind, rid, last_revision in self.connection.execute(last)
        ]
        gone = self.connection.execute(superseded, rows).rowcount if rows else 0
        gone += self.connection.execute(
            sa.delete(log).where(window, log.c.operation == "delete")
        ).rowcount
        self.connection.execute(sa.update(schema.store_revision).values(compacted_through=through))
        return gone

    def renew_replica(self, replica: Replica) -> None:
        table = schema.southbound_replicas
        values = {
            "address": replica.address,
            "lease_ms": replica.lease_ms,
            "expires_ms": replica.expires_ms,
        }
        renewed = self.connection.execute(
            sa.update(table)
            .where(table.c.replica_id == replica.replica_id)
            .values(renewals=table.c.renewals + 1, **values)
        )
        if renewed.rowcount == 0:
            self.connection.execute(
                sa.insert(table).values(replica_id=replica.replica_id, renewals=1, **values)
            )

    def drop_replicas(self, replica_ids: Iterable[str]) -> None:
        table = schema.southbound_replicas
        gone = list(replica_ids)
        if gone:
            self.connection.execute(sa.delete(table).where(table.c.replica_id.in_(gone)))

    def put_checkpoint_pieces(self, revision: int, first: int, data: Sequence[bytes]) -> None:
        checkpoints.put_pieces(self.connection, revision, first, data)

    def complete_checkpoint(self, checkpoint: checkpoints.Checkpoint) -> None:
        checkpoints.complete(self.connection, checkpoint)

    def drop_checkpoint_pieces(self, keep: int, limit: int) -> int:
        return checkpoints.drop_pieces(self.connection, keep, limit)

    def logged_changes(self) -> list[Change]:
        """The change-log rows this transaction wrote, for the commit feed: each carries the
        very record written (no JSON round trip)."""
        return [
            _change(row, record)
            for row, record in zip(self.pending_changes, self.pending_records, strict=True)
        ]

    def flush_changes(self) -> None:
        """Write the change-log rows and the new revision (once, before the commit)."""
        if self.pending_changes:
            self._run(self.statements.insert(schema.change_log), self.pending_changes)
            self._run(self.statements.set_revision(), [{"value": self._revision}])

    def _run(self, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        cursor = self.connection.connection.cursor()
        try:
            cursor.executemany(prepared.sql, prepared.bind_all(rows))
        except self.connection.dialect.loaded_dbapi.IntegrityError as error:
            raise _conflict(error) from error
        finally:
            cursor.close()


def _conflict(error: Exception) -> errors.Conflict:
    """The database's unique constraints are the last line against duplicates."""
    text = str(error)
    if "ip_allocations" in text:
        return errors.IpAddressAlreadyAllocated("The IP address is already allocated.")
    if "mac_address" in text or "uq_port_mac" in text:
        return errors.MacAddressInUse("The MAC address is in use on this network.")
    if "segmentation_id" in text or "uq_segment" in text:
        return errors.Conflict("The segmentation id is in use.", type="SegmentationIdInUse")
    if "rbac_policies" in text or "uq_rbac" in text:
        return errors.Conflict(
            "An RBAC policy already exists with those values.", type="DuplicateRbacPolicy"
        )
    if "nodes.name" in text or "uq_node_name" in text:
        return errors.Conflict("A node with this name exists.", type="NodeNameInUse")
    return errors.Conflict("The resource conflicts with one that exists.")
