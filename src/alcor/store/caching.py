"""The writer's cache of the small, hot tables: networks, and subnets by network.

Every port create needs its network and that network's subnets. Every write passes through the
one writer, so the writer can keep these coherent itself: it patches the cache on each insert,
update and delete, and registers the inverse patch as an undo, so a rolled-back piece of work (or
a failed commit) leaves the cache as the database is. Loaded lazily from the database. What other
processes write to the same store it forgets (``follow_others``) before the next write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from alcor.model.records import Network, Record, Subnet
from alcor.store.interface import Change

R = TypeVar("R", bound=Record)
Undo = Callable[[Callable[[], None]], None]


class TopologyCache:
    def __init__(self) -> None:
        self.networks: dict[str, Network] = {}
        self.subnets: dict[str, Subnet] = {}
        self.subnets_by_network: dict[str, list[Subnet]] = {}

    def clear(self) -> None:
        """Forget everything: it is read again from the database when next needed."""
        self.networks.clear()
        self.subnets.clear()
        self.subnets_by_network.clear()

    def follow_others(self, changes: Sequence[Change] | None) -> None:
        """Forget what other processes changed (None: everything)."""
        if changes is None:
            self.clear()
            return
        for change in changes:
            record = change.record
            if isinstance(record, Network):
                self.networks.pop(record.id, None)
                self.subnets_by_network.pop(record.id, None)
            elif isinstance(record, Subnet):
                self.subnets.pop(record.id, None)
                self.subnets_by_network.pop(record.network_id, None)

    @staticmethod
    def holds(kind: type[Record]) -> bool:
        return kind is Network or kind is Subnet

    def lookup(self, kind: type[R], resource_id: str) -> R | None:
        record = (self.networks if kind is Network else self.subnets).get(resource_id)
        return record if isinstance(record, kind) else None

    def load(self, record: Record | None, *, undo: Undo) -> None:
        """A record read from the database within a write (forgotten again if it rolls back)."""
        if isinstance(record, Network):
            self._put(self.networks, record.id, record, undo)
        elif isinstance(record, Subnet):
            self._put(self.subnets, record.id, record, undo)

    def load_subnets(self, network_id: str, subnets: list[Subnet], *, undo: Undo) -> None:
        self._put(self.subnets_by_network, network_id, subnets, undo)

    def remember(self, records: Sequence[Record], *, undo: Undo) -> None:
        """Records as written by an insert or update."""
        for record in records:
            if isinstance(record, Network):
                self._put(self.networks, record.id, record, undo)
            elif isinstance(record, Subnet):
                self._put(self.subnets, record.id, record, undo)
                self._replace_in_network(record.network_id, record.id, record, undo)

    def forget(self, records: Sequence[Record], *, undo: Undo) -> None:
        """Records removed by a delete."""
        for record in records:
            if isinstance(record, Network):
                self._put(self.networks, record.id, None, undo)
                self._put(self.subnets_by_network, record.id, None, undo)
            elif isinstance(record, Subnet):
                self._put(self.subnets, record.id, None, undo)
                self._replace_in_network(record.network_id, record.id, None, undo)

    def _replace_in_network(
        self, network_id: str, subnet_id: str, subnet: Subnet | None, undo: Undo
    ) -> None:
        old = self.subnets_by_network.get(network_id)
        if old is None:  # not loaded: it will be read from the database when first needed
            return
        new = [s for s in old if s.id != subnet_id]
        if subnet is not None:
            position = next((i for i, s in enumerate(old) if s.id == subnet_id), len(new))
            new.insert(position, subnet)
        self._put(self.subnets_by_network, network_id, new, undo)

    @staticmethod
    def _put(table: dict[str, Any], key: str, value: object | None, undo: Undo) -> None:
        missing = object()
        before = table.get(key, missing)

        def restore() -> None:
            if before is missing:
                table.pop(key, None)
            else:
                table[key] = before

        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
        undo(restore)
