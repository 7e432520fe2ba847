"""Change-log compaction on a real store: the policy folds what is due in steps, the engine's
floor follows the store's, and a restarted engine replaying the folded log resumes hosts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from alcor.goalstate.engine import Engine
from alcor.southbound.checkpointing import Checkpointer, Checkpointing
from alcor.southbound.compacting import Compaction, compact_once, stored_floor
from alcor.store.committing import SqlStore
from tests.goalstates import catch_up, numbered_network


def test_compaction_folds_in_steps_and_a_restarted_engine_takes_the_floor(store_url: str) -> None:
    async def scenario() -> None:
        store = SqlStore(store_url)
        await store.write(lambda w: w.insert([numbered_network(n) for n in range(10)]))  # 1..10
        for round_ in range(5):  # 11..60: every network renamed five times
            renamed = [numbered_network(n, f"r{round_}") for n in range(10)]
            await store.write(lambda w, renamed=renamed: w.update(renamed))
        engine = Engine()
        await catch_up(store, engine)
        assert await compact_once(store, engine, Compaction(keep=55)) == 0  # 5 < a step of 27
        dropped = await compact_once(store, engine, Compaction(keep=15))  # steps of 7
        assert engine.floor == 45
        assert await store.read(lambda r: r.compacted_through()) == 45
        rows = await store.read(lambda r: r.changes_since(0, 1000))
        assert dropped == 60 - len(rows)
        up_to_floor = [c for c in rows if c.revision <= 45]
        assert len(up_to_floor) == len({c.resource_id for c in up_to_floor}) == 10

        restarted = Engine()
        await catch_up(store, restarted)
        restarted.compact(await stored_floor(store))
        assert restarted.floor == 45
        assert restarted.delta_since("any-host", 44) is None  # below the floor: a snapshot
        assert restarted.delta_since("any-host", 45) == []
        assert [c.revision for c in rows if c.revision > 45] == list(range(46, 61))  # whole
        await store.close()

    asyncio.run(scenario())


def test_keep_zero_never_compacts(store_url: str) -> None:
    async def scenario() -> None:
        store = SqlStore(store_url)
        await store.write(lambda w: w.insert([numbered_network(n) for n in range(50)]))
        engine = Engine()
        await catch_up(store, engine)
        assert await compact_once(store, engine, Compaction(keep=0)) == 0
        assert len(await store.read(lambda r: r.changes_since(0, 1000))) == 50
        await store.close()

    asyncio.run(scenario())


async def eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 15
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_one_replica_compacts_and_the_others_engines_follow_its_floor(store_url: str) -> None:
    async def scenario() -> None:
        store = SqlStore(store_url)
        await store.write(lambda w: w.insert([numbered_network(n) for n in range(10)]))
        for round_ in range(5):
            renamed = [numbered_network(n, f"r{round_}") for n in range(10)]
            await store.write(lambda w, renamed=renamed: w.update(renamed))
        owner, other = Engine(), Engine()
        for engine in (owner, other):
            await catch_up(store, engine)
        policy = Compaction(keep=15, interval=0.01)
        looks = 0

        def not_mine() -> bool:
            nonlocal looks
            looks += 1
            return False

        def looking(engine: Engine, mine: Callable[[], bool]) -> asyncio.Task[None]:
            checkpointer = Checkpointer(
                store,
                engine,
                store_id="s",
                policy=Checkpointing(every=0),  # compaction alone
                compaction=policy,
                mine=mine,
            )
            return asyncio.create_task(checkpointer.run())

        following = looking(other, not_mine)
        await eventually(lambda: looks >= 5)
        assert await stored_floor(store) == 0  # not its to compact
        compacting = looking(owner, lambda: True)
        await eventually(lambda: other.floor == 45)
        assert owner.floor == 45
        assert other.delta_since("any-host", 44) is None  # it forgot what is below the floor
        for task in (following, compacting):
            task.cancel()
        await asyncio.gather(following, compacting, return_exceptions=True)
        await store.close()

    asyncio.run(scenario())
