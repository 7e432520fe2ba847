"""The store as the services see it: a reader, a writer, and how to run work with each.

Work is a plain function of a ``Reader`` or ``Writer``. ``Store.write`` runs it inside the
single writer's transaction (possibly grouped with other requests' work into one commit) and
returns only after that commit: an acknowledged write is durable. If the function raises, none
of its writes happen, and the callbacks it registered with ``Writer.on_rollback`` run, so
in-memory state (address pools, MAC sets) is given back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

import msgspec

from alcor.model.queries import Query
from alcor.model.quotas import Overrides
from alcor.model.records import RECORD_TYPES, Record, Subnet
from alcor.store import statuses
from alcor.store.checkpoints import Checkpoint

T = TypeVar("T")
R = TypeVar("R", bound=Record)

# What a change-log row holds: a resource's record, or a project's quota limits.
Logged = Record | Overrides
LOGGED_TYPES: dict[str, type[Logged]] = {**RECORD_TYPES, Overrides.kind: Overrides}


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """One change-log row: the resource after a create/update, before a delete. ``record`` is
    the row's document decoded once, typed by ``resource_type`` (``LOGGED_TYPES``): the very
    object written, in the writer's own commit feed; decoded straight from the stored JSON into
    its struct, when read back."""

    revision: int
    resource_type: str
    resource_id: str
    operation: str  # 'create' | 'update' | 'delete'
    project_id: str
    record: Logged
    committed_at: str


class Replica(msgspec.Struct, frozen=True, kw_only=True):
    """A southbound process's lease (``southbound/leases.py``): where its agents reach it, how
    long its lease lasts, how many times it renewed it, and when it expires by its own wall
    clock (milliseconds since the epoch)."""

    replica_id: str
    address: str
    lease_ms: int
    renewals: int = 0
    expires_ms: int = 0


class Reader(Protocol):
    def get(self, kind: type[R], resource_id: str) -> R | None: ...

    def get_many(self, kind: type[R], resource_ids: Iterable[str]) -> dict[str, R]: ...

    def select(self, kind: type[R], query: Query) -> list[R]: ...

    def count(self, kind: type[R], query: Query) -> int: ...

    def tags_of(self, resource_ids: Sequence[str]) -> dict[str, list[str]]: ...

    def subnets_of(self, network_id: str) -> list[Subnet]:
        """The network's subnets, oldest first."""
        ...

    def allocated_ips(self, subnet_id: str) -> list[str]: ...

    def macs_in_network(self, network_id: str) -> list[str]: ...

    def subport_trunks(self, port_ids: Iterable[str]) -> dict[str, str]:
        """Of these ports, the subports of trunks: port id -> trunk id (an indexed query)."""
        ...

    def firewall_group_ports(self, port_ids: Iterable[str]) -> dict[str, str]:
        """Of these ports, those in a firewall group: port id -> group id (an indexed query)."""
        ...

    def security_group_ports(self, security_group_id: str) -> list[str]:
        """The ports that are members of the group (an indexed query)."""
        ...

    def used_segments(self, network_type: str) -> list[int]: ...

    def quota_limits(self, project_id: str) -> dict[str, int]:
        """The project's quota overrides: resource -> limit (none: the defaults apply)."""
        ...

    def all_quota_limits(self) -> dict[str, dict[str, int]]:
        """The overrides of every project that has some, by project."""
        ...

    def resource_counts(self, project_id: str | None = None) -> dict[str, int]:
        """How many resources of each kind the project has (None: every project has), counted
        in the database."""
        ...

    def revision(self) -> int: ...

    def store_id(self) -> str:
        """This store's identity, made once with its schema: revisions count in one store."""
        ...

    def changes_since(self, revision: int, limit: int) -> list[Change]: ...

    def history(self, resource_type: str, resource_id: str) -> list[Change]:
        """The change-log rows of one resource, oldest first (one indexed read; below the
        compaction floor only its last change is left)."""
        ...

    def compacted_through(self) -> int:
        """The change log holds, up to this revision, only each live resource's last change."""
        ...

    def replicas(self) -> list[Replica]:
        """Every southbound replica's lease row, live or not."""
        ...

    def status_revision(self) -> int:
        """The status counter: bumped by every write of status rows."""
        ...

    def status_since(self, revision: int, *, excluding: str = "") -> statuses.StatusRows:
        """The status rows written after counter value ``revision`` (``store/statuses.py``),
        but those the process ``excluding`` wrote."""
        ...

    def newest_checkpoint(self) -> Checkpoint | None:
        """The complete engine checkpoint of the highest revision (any store id or format)."""
        ...

    def checkpoint_pieces(self, revision: int, first: int, limit: int) -> list[bytes]:
        """Up to ``limit`` pieces of the checkpoint at ``revision``, from piece ``first``."""
        ...


class Writer(Reader, Protocol):
    def insert(self, records: Sequence[Record]) -> None: ...

    def update(self, records: Sequence[Record]) -> None: ...

    def delete(self, records: Sequence[Record]) -> None: ...

    def set_tags(self, resource_id: str, tags: Iterable[str]) -> None: ...

    def usage(self, project_id: str, kind: str) -> int:
        """How many resources of the kind the project has, this write included: counted once
        per project, then followed in memory on every insert and delete."""
        ...

    def set_quota_limits(self, project_id: str, limits: Mapping[str, int]) -> None:
        """Replace the project's quota overrides (empty: back to the defaults), logged as a
        change of resource type ``quota`` keyed by the project."""
        ...

    def on_rollback(self, undo: Callable[[], None]) -> None: ...

    def write_status(
        self,
        *,
        writer: str,
        ports: Sequence[statuses.PortRow] = (),
        hosts: Sequence[statuses.HostRow] = (),
    ) -> int:
        """Write status rows (observed state: no revision, nothing logged) under a new status
        counter value, and wake the processes following it; returns the value."""
        ...

    def forget_unprogrammed_status(self) -> int:
        """Drop the status rows of ports no longer programmed where they were."""
        ...

    def compact_changes(self, through: int) -> int:
        """Drop every change-log row up to ``through`` but each live resource's last (a
        deleted resource's rows all go); returns how many rows went."""
        ...

    def renew_replica(self, replica: Replica) -> None:
        """Write the replica's lease row (made on its first renewal), ``renewals`` one more
        than stored; never logged."""
        ...

    def drop_replicas(self, replica_ids: Iterable[str]) -> None:
        """Delete these replicas' lease rows (leases seen expired)."""
        ...

    def put_checkpoint_pieces(self, revision: int, first: int, data: Sequence[bytes]) -> None:
        """Pieces ``first``.. of the checkpoint being written at ``revision``."""
        ...

    def complete_checkpoint(self, checkpoint: Checkpoint) -> None:
        """The checkpoint's row (with its last pieces): it is complete, the older rows go."""
        ...

    def drop_checkpoint_pieces(self, keep: int, limit: int) -> int:
        """Drop up to ``limit`` pieces of every checkpoint but ``keep``'s; how many went."""
        ...


Follower = Callable[[list[Change]], None]
# What other processes committed since this one last wrote (None: more than can be told, or
# compacted away: forget everything), handed to the caches that writes keep in memory.
OthersFollower = Callable[[Sequence[Change] | None], None]


class Store(Protocol):
    async def read(self, work: Callable[[Reader], T]) -> T: ...

    async def write(self, work: Callable[[Writer], T]) -> T: ...

    def follow(self, follower: Follower) -> Callable[[], None]:
        """Hand every commit's change-log rows (revision order) to ``follower``, after the
        COMMIT and before the writes are answered; work rolled back is never handed over. It
        runs in the writer's thread: it must be cheap and must not raise (pass the rows on to
        its own thread). Returns the function that stops following."""
        ...

    def wakeups(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` (from a thread of its own) whenever another process may have committed
        to this store, and once when it starts watching (``store/signals.py``): a hint to read
        the change log, which stays the truth. Returns the function that stops it."""
        ...

    def status_wakeups(self, wake: Callable[[], None]) -> Callable[[], None]:
        """As ``wakeups``, for another process's status writes (``Writer.write_status``)."""
        ...

    def follow_others(self, follower: OthersFollower) -> None:
        """Keep a writer's in-memory cache true when other processes write to the same store:
        at the start of a write transaction (the revision row locked, before any work of it),
        ``follower`` gets what others committed since this process last wrote. It runs in the
        writer's thread and must only forget what those changes touched."""
        ...

    async def close(self) -> None: ...
