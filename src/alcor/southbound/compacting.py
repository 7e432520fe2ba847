"""Compacting the change log behind the hosts, so that a controller restart replays what the
hosts hold rather than all of history.

Compacting through revision C keeps, of the change-log rows up to C, only each live resource's
last one (``Writer.compact_changes``). Replaying that folded log rebuilds an engine that serves
every host which applied at least C exactly the resume the whole log would (the goal-state
engine's state follows the live records whatever order they replay in; a unit test checks the
resume property over random worlds). A host below the floor gets a snapshot.

Policy: keep the last ``keep`` revisions whole. Every ``interval`` seconds, once the engine is
``keep + step`` revisions past the floor, fold through ``revision - keep`` in steps of ``step``
revisions, one short write transaction each (writes queue behind a step, not behind the whole
fold), and have the engine forget the removals below each new floor. The loop that looks is
``checkpointing.Checkpointer``'s: it never folds beyond the newest engine checkpoint, whose
restore needs every row after it. With several southbound replicas only one compacts (it owns
``owners.COMPACTION``); the others' engines follow the floor it moves (``follow_floor``).
"""

from __future__ import annotations

import logging

import msgspec

from alcor.goalstate.engine import Engine
from alcor.store.interface import Reader, Store, Writer

log = logging.getLogger(__name__)


class Compaction(msgspec.Struct, frozen=True, kw_only=True):
    keep: int = 100_000  # revisions kept whole; 0: never compact
    interval: float = 10.0  # seconds between looks

    @property
    def step(self) -> int:
        """Revisions folded per write transaction (and the least worth folding)."""
        return min(10_000, max(1, self.keep // 2))


async def stored_floor(store: Store) -> int:
    """The store's floor; after its replay the engine takes it (``Engine.compact``), so a host
    below it is sent a snapshot."""

    def floor(reader: Reader) -> int:
        return reader.compacted_through()

    return await store.read(floor)


async def compact_once(
    store: Store, engine: Engine, policy: Compaction, *, ceiling: int | None = None
) -> int:
    """Fold what is due, never beyond ``ceiling`` (the newest engine checkpoint, whose restore
    needs every row after it: ``checkpointing``); returns the change-log rows dropped."""
    if policy.keep <= 0:
        return 0
    target = engine.revision - policy.keep
    if ceiling is not None:
        target = min(target, ceiling)
    if target - engine.floor < policy.step:
        return 0
    dropped = 0
    while engine.floor < target:
        through = min(engine.floor + policy.step, target)

        def fold(writer: Writer, through: int = through) -> int:
            return writer.compact_changes(through)

        dropped += await store.write(fold)
        engine.compact(through)
    log.info("change log compacted through revision %d (%d rows dropped)", target, dropped)
    return dropped


async def follow_floor(store: Store, engine: Engine) -> None:
    """A replica that does not compact takes the floor another one moved, so that its engine
    forgets the removals below it as well."""
    floor = min(await stored_floor(store), engine.revision)
    if floor > engine.floor:
        engine.compact(floor)
