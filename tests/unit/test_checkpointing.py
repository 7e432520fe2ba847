"""When a checkpoint is due: far enough past the newest, or a burst of writes over, and never
sooner than the spacing after the last one."""

from __future__ import annotations

from alcor.goalstate.engine import Engine
from alcor.southbound.checkpointing import Checkpointer, Checkpointing
from alcor.southbound.compacting import Compaction


def checkpointer(every: int, clock: list[float]) -> tuple[Checkpointer, Engine]:
    engine = Engine()
    found = Checkpointer(
        None,  # type: ignore[arg-type]  # ``due`` reads no store
        engine,
        store_id="s",
        policy=Checkpointing(every=every, spacing=60),
        compaction=Compaction(),
        clock=lambda: clock[0],
    )
    found.newest = 0
    return found, engine


def test_a_checkpoint_is_due_every_so_many_revisions_and_after_a_burst_at_a_tenth() -> None:
    clock = [0.0]
    policy, engine = checkpointer(1000, clock)
    engine.revision = 999
    assert not policy.due()  # moving, and short of every
    engine.revision = 1000
    assert policy.due()
    engine.revision = 50
    assert not policy.due()  # moved since the previous look
    assert not policy.due()  # still, but short of a tenth
    engine.revision = 100
    assert not policy.due()  # a tenth, but it moved
    assert policy.due()  # still since the previous look: the burst is over


def test_never_sooner_than_the_spacing_after_the_last_and_never_with_every_zero() -> None:
    clock = [0.0]
    policy, engine = checkpointer(10, clock)
    engine.revision = 100
    policy._last = 0.0
    clock[0] = 59.0
    assert not policy.due()
    clock[0] = 60.0
    assert policy.due()
    never, engine = checkpointer(0, clock)
    engine.revision = 10**6
    assert not never.due()
    assert not never.due()
