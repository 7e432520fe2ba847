"""The store's spine on a real SQLite file: revisions only grow, a change-log row is written in
the same transaction as its change, a failed piece of work leaves nothing behind (not in the
database, not in memory), and grouped work commits together."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from alcor.model import errors
from alcor.model.queries import Query
from alcor.model.quotas import Overrides
from alcor.model.records import FixedIp, Network, Port, Subnet
from alcor.store import statuses
from alcor.store.committing import SqlStore
from alcor.store.interface import Change, Writer


def network(network_id: str, segment: int | None = None) -> Network:
    return Network(
        id=network_id, project_id="p", created_at="t", updated_at="t", segmentation_id=segment
    )


def subnet(subnet_id: str, network_id: str) -> Subnet:
    return Subnet(
        id=subnet_id,
        project_id="p",
        created_at="t",
        updated_at="t",
        network_id=network_id,
        ip_version=4,
        cidr="10.0.0.0/24",
    )


def port(port_id: str, network_id: str, mac: str, *ips: tuple[str, str]) -> Port:
    return Port(
        id=port_id,
        project_id="p",
        created_at="t",
        updated_at="t",
        network_id=network_id,
        mac_address=mac,
        fixed_ips=[FixedIp(subnet_id, ip) for subnet_id, ip in ips],
    )


def test_every_change_is_logged_with_a_growing_revision(store_url: str) -> None:
    async def scenario() -> None:
        store = SqlStore(store_url)
        await store.write(lambda w: w.insert([network("n1", 7), network("n2", 8)]))
        renamed = msgspec.structs.replace(network("n1", 7), name="renamed", revision_number=2)
        await store.write(lambda w: w.update([renamed]))
        assert await store.read(lambda r: r.get(Network, "n1")) == renamed
        await store.write(lambda w: w.delete([network("n2", 8)]))
        changes = await store.read(lambda r: r.changes_since(0, 100))
        assert [(c.revision, c.resource_id, c.operation) for c in changes] == [
            (1, "n1", "create"),
            (2, "n2", "create"),
            (3, "n1", "update"),
            (4, "n2", "delete"),
        ]
        assert changes[3].record == network("n2", 8), "a delete logs the record as it was"
        assert await store.read(lambda r: r.revision()) == 4
        assert [c.revision for c in await store.read(lambda r: r.changes_since(2, 100))] == [3, 4]
        await store.close()

    asyncio.run(scenario())


def test_failed_work_leaves_no_rows_no_log_and_runs_its_undo(store_url: str) -> None:
    undone: list[str] = []

    def half_then_fail(writer: Writer) -> None:
        writer.insert([network("n-half", 11)])
        writer.on_rollback(lambda: undone.append("n-half"))
        raise errors.Conflict("changed my mind")

    async def scenario() -> None:
        store = SqlStore(store_url)
        await store.write(lambda w: w.insert([network("n1", 10)]))
        with pytest.raises(errors.Conflict):
            await store.write(half_then_fail)
        assert undone == ["n-half"]
        assert await store.read(lambda r: r.get(Network, "n-half")) is None
        assert await store.read(lambda r: r.revision()) == 1
        await store.write(lambda w: w.insert([network("n2", 11)]))
        changes = await store.read(lambda r: r.changes_since(0, 10))
        assert [(c.revision, c.resource_id) for c in changes] == [(1, "n1"), (2, "n2")]
        await store.close()

    asyncio.run(scenario())


def test_grouped_work_commits_together_and_a_failure_spoils_only_its_own(store_url: str) -> None:
    async def scenario() -> None:
        store = SqlStore(store_url)

        async def create(i: int) -> None:  # every second one reuses a taken segment id
            await store.write(lambda w: w.insert([network(f"n{i}", 100 + i % 50)]))

        outcomes = await asyncio.gather(*(create(i) for i in range(100)), return_exceptions=True)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(failures) == 50
        assert all(isinstance(f, errors.Conflict) for f in failures)
        networks = await store.read(lambda r: r.select(Network, Query()))
        assert sorted(n.segmentation_id or 0 for n in networks) == list(range(100, 150))
        assert await store.read(lambda r: r.revision()) == 50
        await store.close()

    asyncio.run(scenario())


def test_a_change_carries_its_record_typed_as_written_and_as_read_back(store_url: str) -> None:
    """The commit feed hands on the very records the writer wrote (a piece of work that failed
    within a grouped commit leaves none of its own); read back from the log, each row is its
    record again, of its type, quota limits included."""

    async def scenario() -> None:
        store = SqlStore(store_url)
        fed: list[Change] = []
        store.follow(fed.extend)
        written: dict[str, Network] = {}

        async def create(i: int) -> None:  # every second one reuses a taken segment id
            record = network(f"n{i}", 100 + i % 10)
            await store.write(lambda w: w.insert([record]))
            written[record.id] = record

        await asyncio.gather(*(create(i) for i in range(20)), return_exceptions=True)
        assert len(written) == 10
        await store.write(lambda w: w.set_quota_limits("p", {"port": 5}))
        await store.write(lambda w: w.set_quota_limits("p", {}))
        assert sorted(c.resource_id for c in fed[:10]) == sorted(written)
        assert all(c.record is written[c.resource_id] for c in fed[:10]), "no JSON round trip"
        limits = Overrides(project_id="p", limits={"port": 5})
        assert [(c.operation, c.record) for c in fed[10:]] == [
            ("create", limits),
            ("delete", limits),
        ]
        read = await store.read(lambda r: r.changes_since(0, 100))
        assert read == fed
        assert [type(c.record) for c in read] == [Network] * 10 + [Overrides] * 2
        await store.close()

    asyncio.run(scenario())


def test_an_address_is_allocated_once_even_past_the_in_memory_pools(store_url: str) -> None:
    """The database's unique constraints are the last line against duplicates."""

    async def scenario() -> None:
        store = SqlStore(store_url)
        await store.write(lambda w: (w.insert([network("n1", 1)]), w.insert([subnet("s1", "n1")])))
        await store.write(
            lambda w: w.insert([port("p1", "n1", "fa:16:3e:00:00:01", ("s1", "10.0.0.5"))])
        )
        with pytest.raises(errors.IpAddressAlreadyAllocated):
            await store.write(
                lambda w: w.insert([port("p2", "n1", "fa:16:3e:00:00:02", ("s1", "10.0.0.5"))])
            )
        with pytest.raises(errors.MacAddressInUse):
            await store.write(
                lambda w: w.insert([port("p3", "n1", "fa:16:3e:00:00:01", ("s1", "10.0.0.6"))])
            )
        assert await store.read(lambda r: r.allocated_ips("s1")) == ["10.0.0.5"]
        await store.close()

    asyncio.run(scenario())


def test_a_reopened_store_keeps_everything_committed(store_url: str) -> None:
    async def first() -> None:
        store = SqlStore(store_url)
        await store.write(lambda w: w.insert([network("n1", 3)]))
        await store.close()

    async def second() -> None:
        store = SqlStore(store_url)
        assert await store.read(lambda r: r.get(Network, "n1")) == network("n1", 3)
        await store.write(lambda w: w.insert([network("n2", 4)]))
        assert await store.read(lambda r: r.revision()) == 2
        await store.close()

    asyncio.run(first())
    asyncio.run(second())


def test_the_writers_cache_forgets_what_a_failed_write_did(store_url: str) -> None:
    """Networks and subnets are served from the writer's cache; a rolled-back write (alone, or
    among others in one group commit) must leave the cache as the database is."""
    s1 = subnet("s1", "n1")

    def add_subnet_then_fail(writer: Writer) -> None:
        assert writer.subnets_of("n1") == []  # loads the (empty) list into the cache
        writer.insert([s1])
        assert writer.subnets_of("n1") == [s1]
        assert writer.get(Subnet, "s1") == s1
        raise errors.Conflict("no")

    async def scenario() -> None:
        store = SqlStore(store_url)
        await store.write(lambda w: w.insert([network("n1", 1)]))
        with pytest.raises(errors.Conflict):
            await store.write(add_subnet_then_fail)
        assert await store.write(lambda w: (w.subnets_of("n1"), w.get(Subnet, "s1"))) == ([], None)
        outcomes = await asyncio.gather(
            store.write(add_subnet_then_fail),
            store.write(lambda w: w.insert([network("n2", 2)])),
            return_exceptions=True,
        )
        assert isinstance(outcomes[0], errors.Conflict)
        assert outcomes[1] is None
        seen = await store.write(lambda w: (w.subnets_of("n1"), w.get(Network, "n2")))
        assert seen == ([], network("n2", 2))
        await store.close()

    asyncio.run(scenario())


def test_the_writer_survives_a_failing_undo_and_keeps_serving(store_url: str) -> None:
    ran: list[str] = []

    def fail_twice_over(writer: Writer) -> None:
        writer.on_rollback(lambda: ran.append("second undo"))
        writer.on_rollback(lambda: 1 / 0)  # a bug in an undo callback
        writer.insert([network("n-bad", 9)])
        raise errors.Conflict("rejected")

    async def scenario() -> None:
        store = SqlStore(store_url)
        for alone in (True, False):  # a batch of one, and a batch with company
            others = [] if alone else [store.write(lambda w: w.insert([network("n-ok", 10)]))]
            outcomes = await asyncio.gather(
                store.write(fail_twice_over), *others, return_exceptions=True
            )
            assert isinstance(outcomes[0], errors.Conflict)
        assert ran == ["second undo", "second undo"], "every undo runs once, despite the bad one"
        await store.write(lambda w: w.insert([network("n-after", 11)]))
        names = {n.id for n in await store.read(lambda r: r.select(Network, Query()))}
        assert names == {"n-ok", "n-after"}
        await store.close()

    asyncio.run(scenario())


def test_compacting_the_change_log_keeps_each_live_resources_last_change(store_url: str) -> None:
    async def scenario() -> None:
        store = SqlStore(store_url)
        await store.write(lambda w: w.insert([network("n1", 7), network("n2", 8)]))  # 1, 2
        for number in range(2, 5):  # 3, 4, 5
            renamed = msgspec.structs.replace(network("n1", 7), name=f"v{number}")
            await store.write(lambda w, renamed=renamed: w.update([renamed]))
        await store.write(lambda w: w.delete([network("n2", 8)]))  # 6
        await store.write(lambda w: w.insert([network("n3", 9)]))  # 7
        # through 4: n1's rows 1 and 3 go (its last up to 4 is 4); n2 still lives at 4
        assert await store.write(lambda w: w.compact_changes(4)) == 2
        changes = await store.read(lambda r: r.changes_since(0, 100))
        assert [(c.revision, c.resource_id) for c in changes] == [
            (2, "n2"),
            (4, "n1"),
            (5, "n1"),
            (6, "n2"),
            (7, "n3"),
        ]
        # through 6: n1@4 (superseded by 5), and n2 altogether (deleted at 6)
        assert await store.write(lambda w: w.compact_changes(6)) == 3
        changes = await store.read(lambda r: r.changes_since(0, 100))
        assert [(c.revision, c.resource_id, c.operation) for c in changes] == [
            (5, "n1", "update"),
            (7, "n3", "create"),
        ]
        assert await store.read(lambda r: r.compacted_through()) == 6
        assert await store.write(lambda w: w.compact_changes(5)) == 0  # never backwards
        assert await store.write(lambda w: w.compact_changes(100)) == 0  # nothing beyond head
        assert await store.read(lambda r: r.compacted_through()) == 7
        await store.close()

    asyncio.run(scenario())


def test_a_commit_through_another_store_wakes_a_follower_of_the_signal(store_url: str) -> None:
    """Two stores on one database, as two processes: the one that writes wakes the other
    (NOTIFY on PostgreSQL, SQLite's data_version); the signal also wakes once on start."""

    async def scenario() -> None:
        here, elsewhere = SqlStore(store_url), SqlStore(store_url)
        loop = asyncio.get_running_loop()
        wakes: asyncio.Queue[None] = asyncio.Queue()
        stop = here.wakeups(lambda: loop.call_soon_threadsafe(wakes.put_nowait, None))
        await asyncio.wait_for(wakes.get(), 60)  # watching now (60 s: only a guard on a hang)
        await elsewhere.write(lambda w: w.insert([network("n-elsewhere", 21)]))
        await asyncio.wait_for(wakes.get(), 60)
        changes = await here.read(lambda r: r.changes_since(0, 10))
        assert [c.resource_id for c in changes] == ["n-elsewhere"]
        stop()
        await here.close()
        await elsewhere.close()

    asyncio.run(scenario())


def test_status_rows_written_through_another_store_wake_and_reach_a_reader(
    store_url: str,
) -> None:
    """Status rows are observed state: writing them logs nothing and bumps no revision. A
    reader on another store is woken for them (on PostgreSQL a channel of their own) and reads
    only what was written after the counter it holds, and none of the rows it names as its own."""

    async def scenario() -> None:
        here, elsewhere = SqlStore(store_url), SqlStore(store_url)
        loop = asyncio.get_running_loop()
        wakes: asyncio.Queue[None] = asyncio.Queue()
        stop = here.status_wakeups(lambda: loop.call_soon_threadsafe(wakes.put_nowait, None))
        await asyncio.wait_for(wakes.get(), 60)  # watching now
        held = (await here.read(lambda r: r.status_since(0))).revision
        ports = [statuses.PortRow(port_id=f"p{i}", host="h1", revision=3) for i in range(3)]
        host = statuses.HostRow(host="h1", writer="sb", report="{}")
        await elsewhere.write(lambda w: w.write_status(writer="sb", ports=ports, hosts=[host]))
        await asyncio.wait_for(wakes.get(), 60)
        rows = await here.read(lambda r: r.status_since(held))
        assert sorted(p.port_id for p in rows.ports) == ["p0", "p1", "p2"]
        assert [h.host for h in rows.hosts] == ["h1"]
        assert await here.read(lambda r: (r.revision(), r.changes_since(0, 10))) == (0, [])
        gone = statuses.PortRow(port_id="p1", host="h1", revision=statuses.NOT_PROGRAMMED)
        await elsewhere.write(lambda w: w.write_status(writer="sb", ports=[gone]))
        later = await here.read(lambda r: r.status_since(rows.revision))
        assert [(p.port_id, p.revision) for p in later.ports] == [("p1", 0)]
        assert later.hosts == []
        others = await here.read(lambda r: r.status_since(0, excluding="sb"))
        assert (others.ports, others.hosts) == ([], [])
        assert await elsewhere.write(lambda w: w.forget_unprogrammed_status()) == 1
        stop()
        await here.close()
        await elsewhere.close()

    asyncio.run(scenario())
