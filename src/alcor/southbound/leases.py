"""The southbound replicas' leases: which replicas are alive, so that each owns its share.

Each southbound process is a replica with an id of its own (random per start) and holds one
row in ``southbound_replicas``: the address its agents should use (``--southbound-advertise``),
its lease (``--southbound-lease``, seconds) and a renewal count. Every third of its lease it
renews the row and reads every other one, in one short write transaction through the store's
writer. The live replicas, itself included, share the hosts by rendezvous hashing
(``owners``); whenever the set changes, ``on_change`` runs (the server then moves the streams
of the hosts it no longer owns).

Whose lease is live is judged on each reader's own clock, never by comparing wall clocks
across machines: a replica is live while its ``renewals`` moved within its lease of when this
reader saw it move (``Sightings``, pure). A row first seen is given a full lease, unless its
holder's own wall-clock expiry (``expires_ms``) is already a lease in the past (a replica long
dead, left by a crash). A row that has not moved for two leases is deleted by whoever sees it.

Fencing: a replica that has not renewed for a lease period, counted from the *start* of its
last renewal that committed, stops owning anything (every stream is ended, Hellos are sent
elsewhere) until a renewal succeeds again. The others can only count it dead a lease after
they *saw* that renewal, which is later: so no host ever has two owners that each believe it
theirs for longer than it takes a view to be read again (both would serve it from the same log:
harmless), and a replica cut off from the store leaves its hosts before anyone takes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

import msgspec

from alcor.southbound import owners
from alcor.store.interface import Replica, Store, Writer

log = logging.getLogger(__name__)

DEFAULT_LEASE = 6.0  # seconds: hosts of a dead replica are owned again within ~1.3 of this


class LeaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    lease: float = DEFAULT_LEASE
    advertise: str = ""  # the address agents use to reach this replica ('': none to send)

    @property
    def period(self) -> float:
        """Seconds between renewals."""
        return self.lease / 3


class Sightings:
    """When each other replica's lease was last seen to move, on this reader's clock."""

    def __init__(self, own: str) -> None:
        self.own = own
        self._seen: dict[str, tuple[int, float]] = {}  # replica -> (renewals, seen moving at)

    def observe(
        self, rows: list[Replica], *, now: float, wall_ms: int
    ) -> tuple[dict[str, str], list[str]]:
        """The live replicas (id -> address; this one included) and those dead for long enough
        to delete, from every row read at ``now`` (monotonic seconds; ``wall_ms``: the wall
        clock, only for rows seen the first time)."""
        live: dict[str, str] = {}
        gone: list[str] = []
        seen: dict[str, tuple[int, float]] = {}
        for row in rows:
            if row.replica_id == self.own:
                live[row.replica_id] = row.address
                continue
            lease = row.lease_ms / 1000
            before = self._seen.get(row.replica_id)
            if before is not None and before[0] == row.renewals:
                moved = before[1]
            elif before is None and row.expires_ms + row.lease_ms < wall_ms:
                moved = now - 2 * lease  # dead a lease past its own expiry: not waited for
            else:
                moved = now
            seen[row.replica_id] = (row.renewals, moved)
            if now - moved < lease:
                live[row.replica_id] = row.address
            elif now - moved >= 2 * lease:
                gone.append(row.replica_id)
        self._seen = seen
        return live, gone

    def moved_at(self, replica_id: str) -> float | None:
        """When the replica's lease was last seen to move (None: unknown, or this one)."""
        seen = self._seen.get(replica_id)
        return seen[1] if seen is not None else None


class Membership:
    """This replica's lease and its view of the live replicas; ``run`` keeps both."""

    def __init__(
        self,
        store: Store,
        settings: LeaseSettings,
        *,
        on_change: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        replica_id: str | None = None,
    ) -> None:
        self.replica_id = replica_id or uuid.uuid4().hex
        self.settings = settings
        self.on_change = on_change
        self._store = store
        self._clock = clock
        self._wall = wall
        self._sightings = Sightings(self.replica_id)
        self._members: dict[str, str] = {}  # live replica id -> address; empty while fenced
        self._gone: list[str] = []  # to delete at the next renewal
        self._fence_at = 0.0  # this replica's clock: when it must stop owning, unless renewed
        self._failing = False
        self._fence: asyncio.TimerHandle | None = None
        self._joined = asyncio.Event()  # set by the first renewal that commits
        self._viewed = asyncio.Event()  # set, and replaced, by each new view (or the fence)
        self.renewals = 0

    # --- what the server asks ----------------------------------------------------------------

    @property
    def fenced(self) -> bool:
        """Owns nothing: no renewal yet, or none for a lease period."""
        return not self._members

    @property
    def members(self) -> dict[str, str]:
        return dict(self._members)

    def owner_of(self, key: str) -> str | None:
        return owners.owner(key, self._members)

    def owns(self, key: str) -> bool:
        return bool(self._members) and self.owner_of(key) == self.replica_id

    async def until_joined(self) -> None:
        """Return after the first renewal, or a lease later (a Hello then finds it fenced)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._joined.wait(), self.settings.lease)

    def suspect(self, replica_id: str | None) -> bool:
        """A live replica whose lease was not seen to move for two renewal periods: healthy,
        it renews every period, so it is likely dead and about to be counted so."""
        moved = self._sightings.moved_at(replica_id) if replica_id is not None else None
        return moved is not None and self._clock() - moved > 2 * self.settings.period

    def moved_since(self, replica_id: str | None, since: float) -> bool:
        """Whether the replica's lease was seen to move after ``since`` (this clock's)."""
        moved = self._sightings.moved_at(replica_id) if replica_id is not None else None
        return moved is not None and moved > since

    def now(self) -> float:
        return self._clock()

    async def next_view(self) -> None:
        """Return after the next renewal's view of the replicas, or the fence."""
        await self._viewed.wait()

    def _pulse(self) -> None:
        viewed, self._viewed = self._viewed, asyncio.Event()
        viewed.set()

    def address_of(self, replica_id: str | None) -> str:
        """Where agents reach the replica ('': nowhere said, or not live)."""
        return self._members.get(replica_id, "") if replica_id is not None else ""

    # --- keeping the lease -------------------------------------------------------------------

    async def run(self) -> None:
        """Renew every period until cancelled (the fence is a timer of its own)."""
        while True:
            await self.renew()
            await asyncio.sleep(self.settings.period)

    async def renew(self) -> bool:
        """Renew the lease and read the others' once; False when the store did not answer."""
        started = self._clock()
        try:
            rows = await self._store.write(self._renew)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the store is away: the fence decides, not this
            if not self._failing:
                log.warning("renewing replica %s's lease failed: %s", self.replica_id, error)
            self._failing = True
            return False
        if self._clock() >= started + self.settings.lease:
            # committed too late to count: the others may have counted it out meanwhile
            log.warning("replica %s's renewal took longer than its lease", self.replica_id)
            return False
        if self._failing:
            log.warning("replica %s renews its lease again", self.replica_id)
        self._failing = False
        self._renewed(started, rows)
        return True

    def _renew(self, writer: Writer) -> list[Replica]:
        settings = self.settings
        lease_ms = int(settings.lease * 1000)
        writer.drop_replicas(self._gone)
        writer.renew_replica(
            Replica(
                replica_id=self.replica_id,
                address=settings.advertise,
                lease_ms=lease_ms,
                expires_ms=int(self._wall() * 1000) + lease_ms,
            )
        )
        return writer.replicas()

    def _renewed(self, started: float, rows: list[Replica]) -> None:
        self.renewals += 1
        self._joined.set()
        self._fence_at = started + self.settings.lease
        # a renewal that hangs (a store cut off) must not hold the fence back: it is a timer
        if self._fence is not None:
            self._fence.cancel()
        self._fence = asyncio.get_running_loop().call_later(
            max(0.0, self._fence_at - self._clock()), self.check
        )
        live, self._gone = self._sightings.observe(
            rows, now=self._clock(), wall_ms=int(self._wall() * 1000)
        )
        self._set(live)
        self._pulse()

    def check(self) -> None:
        """Fence if the lease could have run out for the others."""
        if self._members and self._clock() >= self._fence_at:
            log.warning(
                "replica %s has not renewed its lease for %gs: it serves no host until it does",
                self.replica_id,
                self.settings.lease,
            )
            self._set({})
            self._pulse()

    def _set(self, live: dict[str, str]) -> None:
        if live == self._members:
            return
        joined = live.keys() - self._members.keys()
        left = self._members.keys() - live.keys()
        self._members = live
        log.info(
            "southbound replicas: %d live (%s joined, %s left)",
            len(live),
            ", ".join(sorted(joined)) or "none",
            ", ".join(sorted(left)) or "none",
        )
        self.on_change()

    async def leave(self) -> None:
        """Delete this replica's row (a clean stop): the others take its hosts at once."""
        if self._fence is not None:
            self._fence.cancel()
        self._set({})

        def drop(writer: Writer) -> None:
            writer.drop_replicas([self.replica_id])

        try:
            await self._store.write(drop)
        except Exception as error:  # its lease runs out instead
            log.warning("could not drop replica %s's lease: %s", self.replica_id, error)
