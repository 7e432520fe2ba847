"""The southbound replicas' leases over a store in memory and a clock the test moves: who is
live as each replica sees it, the rows of the dead deleted, and a replica cut off from the store
fencing itself before any other could count it dead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from alcor.model import errors
from alcor.southbound import leases
from alcor.store.interface import Replica

T = TypeVar("T")
LEASE = 6.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rows:
    """The writer's side of ``southbound_replicas``."""

    def __init__(self, table: dict[str, Replica]) -> None:
        self.table = table

    def renew_replica(self, replica: Replica) -> None:
        before = self.table.get(replica.replica_id)
        renewals = before.renewals + 1 if before is not None else 1
        self.table[replica.replica_id] = Replica(
            replica_id=replica.replica_id,
            address=replica.address,
            lease_ms=replica.lease_ms,
            renewals=renewals,
            expires_ms=replica.expires_ms,
        )

    def drop_replicas(self, replica_ids: Any) -> None:
        for replica_id in replica_ids:
            self.table.pop(replica_id, None)

    def replicas(self) -> list[Replica]:
        return sorted(self.table.values(), key=lambda row: row.replica_id)


class Store:
    """One table of lease rows; each replica reaches it through a ``Link`` that can be cut."""

    def __init__(self) -> None:
        self.table: dict[str, Replica] = {}


class Link:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.cut = False

    async def write(self, work: Callable[[Any], T]) -> T:
        if self.cut:
            raise errors.Unavailable("The store cannot be reached right now.")
        return work(Rows(self.store.table))


def member(store: Store, clock: Clock, name: str, changes: list[str]) -> leases.Membership:
    return leases.Membership(
        Link(store),  # type: ignore[arg-type]
        leases.LeaseSettings(lease=LEASE, advertise=f"{name}:9697"),
        on_change=lambda: changes.append(name),
        clock=clock,
        wall=lambda: clock.now,  # wall and monotonic agree here; skew is tested on Sightings
    )


def cut(replica: leases.Membership, *, off: bool = True) -> None:
    link = replica._store
    assert isinstance(link, Link)
    link.cut = off


def run(scenario: Callable[[], Any]) -> Any:
    return asyncio.run(scenario())


def test_replicas_see_each_other_and_share_every_host_once() -> None:
    async def scenario() -> None:
        store, clock, changes = Store(), Clock(), []
        a, b = member(store, clock, "a", changes), member(store, clock, "b", changes)
        assert a.fenced  # nothing is owned before the first renewal
        assert not a.owns("h")
        for replica in (a, b, a):
            assert await replica.renew()
        assert a.members == b.members == {a.replica_id: "a:9697", b.replica_id: "b:9697"}
        hosts = [f"h{i}" for i in range(200)]
        owned_by_a = {h for h in hosts if a.owns(h)}
        owned_by_b = {h for h in hosts if b.owns(h)}
        assert owned_by_a
        assert owned_by_b
        assert owned_by_a | owned_by_b == set(hosts)
        assert not owned_by_a & owned_by_b
        assert a.address_of(a.owner_of(next(iter(owned_by_b)))) == "b:9697"

    run(scenario)


def test_a_replica_that_stops_renewing_is_dead_after_its_lease_and_deleted_after_two() -> None:
    async def scenario() -> None:
        store, clock, changes = Store(), Clock(), []
        a, b = member(store, clock, "a", changes), member(store, clock, "b", changes)
        await b.renew()
        await a.renew()
        changes.clear()
        clock.now += LEASE - 0.5  # b is silent: still within its lease as a saw it
        await a.renew()
        assert b.replica_id in a.members
        assert changes == []
        clock.now += 0.5
        await a.renew()
        assert a.members == {a.replica_id: "a:9697"}
        assert changes == ["a"]
        assert a.owns("any host")
        assert b.replica_id in store.table  # dead, not yet deleted
        clock.now += LEASE
        await a.renew()  # sees it dead for two leases
        await a.renew()  # deletes it
        assert set(store.table) == {a.replica_id}

    run(scenario)


def test_a_replica_cut_off_fences_itself_before_the_others_count_it_dead() -> None:
    async def scenario() -> None:
        store, clock, changes = Store(), Clock(), []
        a, b = member(store, clock, "a", changes), member(store, clock, "b", changes)
        await a.renew()
        await b.renew()
        assert await a.renew()  # a's last renewal that commits, begun at t0
        t0 = clock.now
        cut(a)
        fenced_at = taken_at = None
        while fenced_at is None or taken_at is None:
            clock.now += 0.25
            assert not await a.renew()
            a.check()
            if fenced_at is None and a.fenced:
                fenced_at = clock.now
            await b.renew()
            if taken_at is None and a.replica_id not in b.members:
                taken_at = clock.now
        assert fenced_at == t0 + LEASE
        assert fenced_at <= taken_at <= t0 + LEASE + leases.LeaseSettings(lease=LEASE).period
        assert not any(a.owns(f"h{i}") for i in range(50))
        cut(a, off=False)  # back: it owns its share again
        assert await a.renew()
        assert not a.fenced
        await b.renew()
        await a.renew()
        assert a.members == b.members
        assert len(a.members) == 2

    run(scenario)


def test_a_row_first_seen_gets_a_full_lease_unless_long_expired_by_its_own_clock() -> None:
    sightings = leases.Sightings("me")

    def row(name: str, *, renewals: int, expires_ms: int) -> Replica:
        return Replica(
            replica_id=name, address="", lease_ms=6000, renewals=renewals, expires_ms=expires_ms
        )

    wall_ms = 1_000_000
    live, gone = sightings.observe(
        [
            row("skewed", renewals=5, expires_ms=wall_ms - 3000),  # its clock 3 s behind
            row("crashed", renewals=9, expires_ms=wall_ms - 60_000),  # left by a crash
            row("me", renewals=1, expires_ms=0),
        ],
        now=50.0,
        wall_ms=wall_ms,
    )
    assert set(live) == {"skewed", "me"}
    assert gone == ["crashed"]
    live, _ = sightings.observe(
        [row("skewed", renewals=6, expires_ms=0)], now=55.9, wall_ms=wall_ms
    )
    assert set(live) == {"skewed"}  # it moved: alive, whatever its wall clock says
    live, _ = sightings.observe(
        [row("skewed", renewals=6, expires_ms=0)], now=61.9, wall_ms=wall_ms
    )
    assert live == {}  # unmoved for a lease on this reader's clock


def test_a_replica_whose_lease_stops_moving_is_suspect_before_it_is_dead() -> None:
    async def scenario() -> None:
        store, clock, changes = Store(), Clock(), []
        a, b = member(store, clock, "a", changes), member(store, clock, "b", changes)
        await b.renew()
        await a.renew()
        held = clock.now
        assert not a.suspect(b.replica_id)
        assert not a.suspect(a.replica_id)  # never itself
        clock.now += 2 * a.settings.period + 0.1  # two renewals missed, the lease not yet out
        await a.renew()
        assert a.suspect(b.replica_id)
        assert b.replica_id in a.members
        assert not a.moved_since(b.replica_id, held)
        await b.renew()  # alive after all
        await a.renew()
        assert a.moved_since(b.replica_id, held)
        assert not a.suspect(b.replica_id)

    run(scenario)


def test_a_renewal_that_took_longer_than_the_lease_does_not_lift_the_fence() -> None:
    async def scenario() -> None:
        store, clock, changes = Store(), Clock(), []
        a = member(store, clock, "a", changes)
        link = a._store
        assert isinstance(link, Link)

        class Slow(Link):
            async def write(self, work: Callable[[Any], T]) -> T:
                clock.now += LEASE  # the commit comes back a lease after it began
                return work(Rows(store.table))

        a._store = Slow(store)  # type: ignore[assignment]
        assert not await a.renew()
        assert a.fenced
        a._store = link
        assert await a.renew()
        assert not a.fenced

    run(scenario)
