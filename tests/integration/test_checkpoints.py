"""Engine checkpoints on a real store (both dialects): written in pieces, restored to the same
engine, the older ones dropped; one that is not this store's, of another format, below the
compaction floor or missing a piece is not restored; compaction never folds beyond the newest.
And end to end: a controller restarted from a checkpoint resumes its hosts with deltas."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from alcor.goalstate import checkpoints
from alcor.goalstate.engine import Engine
from alcor.model.records import Port
from alcor.southbound import checkpointing
from alcor.southbound.checkpointing import Checkpointer, Checkpointing
from alcor.southbound.compacting import Compaction
from alcor.store import schema
from alcor.store.committing import SqlStore
from alcor.store.interface import Writer
from tests.agents import Host, names, project_api, run, until
from tests.goalstates import catch_up, numbered_network
from tests.servers import ServerProcess

SMALL = Checkpointing(every=10, spacing=0, piece=3)  # many pieces even for a small engine


def port(number: int, host: str) -> Port:
    return Port(
        id=f"00000000-0000-0000-0001-{number:012d}",
        project_id="p",
        created_at="t",
        updated_at="t",
        network_id=numbered_network(number % 3).id,
        mac_address=f"fa:16:3e:00:00:{number:02x}",
        binding_host_id=host,
    )


async def filled(store: SqlStore) -> Engine:
    await store.write(lambda w: w.insert([numbered_network(n) for n in range(3)]))
    await store.write(lambda w: w.insert([port(n, f"h{n % 4}") for n in range(12)]))
    engine = Engine()
    await catch_up(store, engine)
    return engine


def assert_serves_alike(engine: Engine, expected: Engine) -> None:
    assert engine.revision == expected.revision
    assert engine.known_hosts() == expected.known_hosts()
    for host in expected.known_hosts():
        assert engine.snapshot(host) == expected.snapshot(host)
        for revision in range(expected.floor, expected.revision + 1):
            assert engine.delta_since(host, revision) == expected.delta_since(host, revision)


def test_a_checkpoint_is_written_in_pieces_and_restores_the_engine(store_url: str) -> None:
    async def scenario() -> None:
        store = SqlStore(store_url)
        store_id = await store.read(lambda r: r.store_id())
        engine = await filled(store)
        first = await checkpointing.take(store, engine, store_id=store_id, policy=SMALL)
        assert first.revision == engine.revision == 15
        assert first.pieces > 5
        restored = await checkpointing.restore(store, store_id=store_id, floor=0)
        assert restored is not None
        assert_serves_alike(restored, engine)

        # a newer checkpoint replaces it: its row at once, its pieces after
        await store.write(lambda w: w.update([port(n, "h9") for n in range(4)]))  # 16..19
        await catch_up(store, engine)
        second = await checkpointing.take(store, engine, store_id=store_id, policy=SMALL)
        assert second.revision == 19
        assert await store.read(lambda r: r.checkpoint_pieces(15, 0, 100)) == []
        assert len(await store.read(lambda r: r.checkpoint_pieces(19, 0, 100))) == second.pieces
        restored = await checkpointing.restore(store, store_id=store_id, floor=19)
        assert restored is not None
        assert_serves_alike(restored, engine)
        await store.close()

    asyncio.run(scenario())


def test_a_checkpoint_not_of_this_store_format_or_floor_or_incomplete_is_not_restored(
    store_url: str,
) -> None:
    async def scenario() -> None:
        store = SqlStore(store_url)
        store_id = await store.read(lambda r: r.store_id())
        engine = await filled(store)
        taken = await checkpointing.take(store, engine, store_id=store_id, policy=SMALL)
        assert await checkpointing.restore(store, store_id="another", floor=0) is None
        assert await checkpointing.restore(store, store_id=store_id, floor=16) is None

        async def rewrite(**changes: object) -> None:
            changed = msgspec.structs.replace(taken, **changes)

            def work(writer: Writer) -> None:
                writer.complete_checkpoint(changed)

            await store.write(work)

        await rewrite(format=checkpoints.FORMAT + 1)
        assert await checkpointing.restore(store, store_id=store_id, floor=0) is None
        await rewrite(pieces=taken.pieces + 1)  # one piece missing
        assert await checkpointing.restore(store, store_id=store_id, floor=0) is None
        await rewrite()
        assert await checkpointing.restore(store, store_id=store_id, floor=0) is not None
        await store.close()

    asyncio.run(scenario())


def test_compaction_folds_no_further_than_the_newest_checkpoint(store_url: str) -> None:
    async def scenario() -> None:
        store = SqlStore(store_url)
        store_id = await store.read(lambda r: r.store_id())
        engine = await filled(store)  # revision 15
        clock = [0.0]
        checkpointer = Checkpointer(
            store,
            engine,
            store_id=store_id,
            policy=Checkpointing(every=10, spacing=100),
            compaction=Compaction(keep=2),
            clock=lambda: clock[0],
        )
        await checkpointer.once()  # 15 revisions past none: one at 15, then folded to 13
        assert checkpointer.newest == 15
        assert engine.floor == 13
        for round_ in range(3):  # 16..60: the checkpoint is not due again for 100 s
            renamed = [numbered_network(n, f"r{round_}") for n in range(3)]
            moved = [port(n, f"h{round_}") for n in range(12)]
            await store.write(lambda w, renamed=renamed: w.update(renamed))
            await store.write(lambda w, moved=moved: w.update(moved))
        await catch_up(store, engine)
        await checkpointer.once()
        assert checkpointer.newest == 15
        assert await store.read(lambda r: r.compacted_through()) == 15  # not 58
        clock[0] = 100.0
        await checkpointer.once()
        assert checkpointer.newest == engine.revision == 60
        assert await store.read(lambda r: r.compacted_through()) == 58
        restored = await checkpointing.restore(store, store_id=store_id, floor=58)
        assert restored is not None
        restored.compact(58)
        assert_serves_alike(restored, engine)
        rows = await store.read(lambda r: r.checkpoint_pieces(15, 0, 100))
        assert rows == []
        await store.close()

    asyncio.run(scenario())


def test_a_controller_restarted_from_a_checkpoint_resumes_its_hosts_with_deltas(
    tmp_path: Path,
) -> None:
    """The controller checkpoints its engine; more changes follow. After a kill -9 the restarted
    controller restores the checkpoint (it says so) and replays only the log after it: a host
    that stayed current resumes with an empty delta, one that stopped earlier with the delta
    it lacks, not a snapshot; both converge."""
    options = (
        "--checkpoint-every",
        "10",
        "--change-log-interval",
        "0.05",
        "--change-log-keep",
        "1000",
        "--log-level",
        "info",
    )
    first = ServerProcess(tmp_path / "alcor.db", *options).start()
    restarted: ServerProcess | None = None

    def newest_checkpoint() -> int:
        table = schema.engine_checkpoints.name
        found = first.query(f"SELECT max(revision) FROM {table}")
        return int(found[0][0] or 0)

    async def scenario() -> None:
        nonlocal restarted
        async with project_api(first) as api:
            current, behind = (Host(name, first.southbound) for name in names("k", 2))
            await api.nodes(current.id, behind.id)
            current.start()
            behind.start()
            network = await api.network()
            await api.subnet(network, "10.9.0.0/24")
            await api.port(network, behind.id)
            ports = [await api.port(network, current.id) for _ in range(12)]
            await api.converged(current, behind)
            await behind.stop()
            await until(lambda: newest_checkpoint() > 0, "a checkpoint")
            checkpoint = newest_checkpoint()
            for port_ in ports[:4]:  # after the checkpoint: the tail a restart replays
                await api.update("ports", port_["id"], name="renamed")
            for port_ in ports[4:8]:
                await api.delete("ports", port_["id"])
            await api.converged(current)
            seen = len(current.agent.received)

            first.kill()
            assert newest_checkpoint() == checkpoint  # spaced a minute apart: still that one
            restarted = ServerProcess(first.db_path, *options, southbound=first.southbound)
            restarted.port = first.port
            restarted.url = first.url
            restarted.start()
            await until(lambda: current.agent.status.sessions >= 2, "the current host to resume")
            await until(lambda: len(current.agent.received) > seen, "its first answer")
            resumed = current.received_since(seen)[0]
            assert not resumed.snapshot
            assert len(resumed.entries) == 0
            said = restarted.log_path.read_text()
            assert f"restored from the checkpoint at revision {checkpoint}" in said

            behind_seen = len(behind.agent.received)
            behind.start()
            await until(lambda: len(behind.agent.received) > behind_seen, "the late host's answer")
            delta = behind.received_since(behind_seen)[0]
            assert not delta.snapshot
            removed = {e.removal.id for e in delta.entries if e.WhichOneof("resource") == "removal"}
            assert {p["id"] for p in ports[4:8]} <= removed  # their neighbors
            await api.port(network, behind.id)
            await api.converged(current, behind)
            await current.close()
            await behind.close()

    try:
        run(scenario)
    finally:
        for process in (first, restarted):
            if process is not None:
                process.stop()
                assert "Traceback" not in process.errors_logged(), process.errors_logged()
