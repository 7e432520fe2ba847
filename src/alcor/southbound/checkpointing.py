"""Checkpointing the goal-state engine, so that a southbound that starts is ready in seconds.

Without a checkpoint a start replays the (compacted) change log, one row per live resource,
through ``Engine.apply``: about a minute at 1,000,000 ports. With one it restores the engine
as it was at the checkpoint's revision R (``goalstate/checkpoints.py``: the state itself, not
replayed) and replays only the log after R.

**Why that is exact.** The restored engine is the engine that was captured at R, so the rows
after R are all it needs, and they must be in the log whole: compaction folds only rows up to
its floor, and the process that checkpoints never folds beyond its newest checkpoint
(``ceiling`` below). A checkpoint below the store's floor, of another store (its id) or of
another format is not used: the log is replayed whole, and the log says why. Hosts then
resume as after a full replay: one that applied at least the floor gets the delta since its
revision (the restored engine holds the removals since its own floor, and forgets those below
the store's), one below it a snapshot.

**Taking one** (``take``), in the loop that owns the engine: ``capture`` copies the engine's
containers (the loop is held for that copy only: ~1 s per 1,000,000 ports); a thread cuts and
encodes the copy into pieces, and each few pieces are one short write through the store's
writer; the checkpoint's row is written last, then the older checkpoints' pieces are dropped a
few at a time. Changes keep flowing meanwhile; the checkpoint is of revision R, whatever the
engine applies while it is written.

**Policy** (``Checkpointing``): every ``interval`` seconds (the compaction's), once the engine is
``every`` revisions past the newest checkpoint (a tenth of that if it did not move since the
previous look: a burst of writes is over), and ``spacing`` seconds after the last one, take
one; then compact, no further than the newest checkpoint. ``every`` 0: never (compaction as
without checkpoints; a start still restores one left in the store while the floor has not
passed it). One process compacts and checkpoints a store (the southbound replica that owns
``owners.COMPACTION``; the others follow the floor it moves); any process may restore.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Iterator

import msgspec

from alcor.goalstate import checkpoints
from alcor.goalstate.engine import Engine
from alcor.model import records
from alcor.model.queries import Query
from alcor.southbound.compacting import Compaction, compact_once, follow_floor
from alcor.store.checkpoints import Checkpoint
from alcor.store.interface import Change, Reader, Store, Writer

log = logging.getLogger(__name__)

READ_PAGE = 8  # pieces read in one go at a restore
WRITE_PAGE = 4  # pieces written in one transaction (a few MB)
DROP_PAGE = 16  # an old checkpoint's pieces dropped in one transaction


class Checkpointing(msgspec.Struct, frozen=True, kw_only=True):
    every: int = 50_000  # revisions past the newest checkpoint that make one due; 0: never
    spacing: float = 60.0  # seconds at least from one checkpoint to the next
    piece: int = checkpoints.SIZE  # items in a piece


def _usable(checkpoint: Checkpoint | None, *, store_id: str, floor: int) -> str:
    """Why the checkpoint cannot be restored ('' when it can)."""
    if checkpoint is None:
        return "there is no engine checkpoint"
    if checkpoint.format != checkpoints.FORMAT:
        return (
            f"the engine checkpoint at revision {checkpoint.revision} has format "
            f"{checkpoint.format}, this controller reads {checkpoints.FORMAT}"
        )
    if checkpoint.store_id != store_id:
        return (
            f"the engine checkpoint at revision {checkpoint.revision} is of store "
            f"{checkpoint.store_id}, not of this one ({store_id})"
        )
    if checkpoint.revision < floor:
        return (
            f"the engine checkpoint at revision {checkpoint.revision} is below the change "
            f"log's compaction floor ({floor})"
        )
    return ""


async def restore(store: Store, *, store_id: str, floor: int) -> Engine | None:
    """The engine of the newest usable checkpoint, or None (logged why: replay the log)."""

    def newest(reader: Reader) -> Checkpoint | None:
        return reader.newest_checkpoint()

    checkpoint = await store.read(newest)
    why = _usable(checkpoint, store_id=store_id, floor=floor)
    if why:
        log.info("%s: replaying the whole change log", why)
        return None
    assert checkpoint is not None
    started = time.perf_counter()
    collecting = gc.isenabled()
    gc.disable()  # millions of long-lived objects: the collector would walk them over and over
    try:
        engine = await _read(store, checkpoint)
    except checkpoints.Unusable as error:
        log.warning(
            "the engine checkpoint at revision %d is unusable (%s): replaying the whole change log",
            checkpoint.revision,
            error,
        )
        return None
    finally:
        gc.freeze()  # what was restored lives on: out of the collector's sight, as after a replay
        if collecting:
            gc.enable()
    log.info(
        "goal-state engine restored from the checkpoint at revision %d (%d pieces, %.0f MB) "
        "in %.1f s",
        checkpoint.revision,
        checkpoint.pieces,
        checkpoint.size / 1e6,
        time.perf_counter() - started,
    )
    return engine


async def _read(store: Store, checkpoint: Checkpoint) -> Engine:
    restoring = checkpoints.Restoring()
    done = 0
    while done < checkpoint.pieces:

        def page(reader: Reader, first: int = done) -> list[bytes]:
            return reader.checkpoint_pieces(checkpoint.revision, first, READ_PAGE)

        data = await store.read(page)
        if not data:
            break
        for piece in data:
            restoring.add(piece)
        done += len(data)
        await asyncio.sleep(0)  # the loop breathes between pages
    if done != checkpoint.pieces:
        raise checkpoints.Unusable(f"{done} of its {checkpoint.pieces} pieces are there")
    engine = restoring.engine()
    if engine.revision != checkpoint.revision:
        raise checkpoints.Unusable(f"its pieces are of revision {engine.revision}")
    return engine


def nodes(reader: Reader) -> list[Change]:
    """Every node as it is now, as changes: what the node watch learns from a full replay
    (it follows the nodes' records, which the engine does not keep). The replay of the log
    after the checkpoint then brings it through the same changes again, up to the same end."""
    return [
        Change(
            revision=0,
            resource_type=node.kind,
            resource_id=node.id,
            operation="update",
            project_id=node.project_id,
            record=node,
            committed_at=node.updated_at,
        )
        for node in reader.select(records.Node, Query())
    ]


def _next(data: Iterator[bytes], count: int) -> list[bytes]:
    """Up to ``count`` more encoded pieces (run in a thread: encoding holds the GIL for a few
    milliseconds a piece, and the loop runs between pieces)."""
    found = []
    for piece in data:
        found.append(piece)
        if len(found) == count:
            break
    return found


async def take(store: Store, engine: Engine, *, store_id: str, policy: Checkpointing) -> Checkpoint:
    """A checkpoint of the engine as it is now, written; the older ones dropped."""
    started = time.perf_counter()
    captured = checkpoints.capture(engine)  # the only step that holds the loop
    held = time.perf_counter() - started
    revision = captured.revision
    data = checkpoints.encoded(captured, policy.piece)
    count = size = 0
    while batch := await asyncio.to_thread(_next, data, WRITE_PAGE):

        def put(writer: Writer, batch: list[bytes] = batch, first: int = count) -> None:
            writer.put_checkpoint_pieces(revision, first, batch)

        await store.write(put)
        count += len(batch)
        size += sum(map(len, batch))
    checkpoint = Checkpoint(
        revision=revision,
        store_id=store_id,
        format=checkpoints.FORMAT,
        pieces=count,
        size=size,
        taken_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    await store.write(lambda writer: writer.complete_checkpoint(checkpoint))
    while await store.write(lambda writer: writer.drop_checkpoint_pieces(revision, DROP_PAGE)):
        pass
    log.info(
        "engine checkpoint at revision %d: %d pieces, %.0f MB, in %.1f s (the loop held %.2f s)",
        revision,
        count,
        size / 1e6,
        time.perf_counter() - started,
        held,
    )
    return checkpoint


async def newest_revision(store: Store, *, store_id: str) -> int:
    """The revision of the newest checkpoint this process could restore (0: none)."""

    def newest(reader: Reader) -> Checkpoint | None:
        return reader.newest_checkpoint()

    checkpoint = await store.read(newest)
    usable = checkpoint is not None and not _usable(checkpoint, store_id=store_id, floor=0)
    return checkpoint.revision if usable and checkpoint is not None else 0


class Checkpointer:
    """The policy's state: the newest checkpoint's revision, and when one was last taken."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        *,
        store_id: str,
        policy: Checkpointing,
        compaction: Compaction,
        mine: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.engine = engine
        self.store_id = store_id
        self.policy = policy
        self.compaction = compaction
        self.mine = mine  # this replica compacts and checkpoints (one of a store's does)
        self.newest: int | None = None  # unknown until read
        self._clock = clock
        self._last = -float("inf")
        self._looked_at = -1  # the engine's revision at the previous look

    def due(self) -> bool:
        """``every`` revisions past the newest checkpoint, or a tenth of that once the engine
        stood still since the previous look (a burst of writes is over: checkpoint it, so a
        restart has next to nothing to replay); never sooner than ``spacing`` after the last."""
        policy, revision = self.policy, self.engine.revision
        still, self._looked_at = revision == self._looked_at, revision
        if policy.every <= 0 or self.newest is None:
            return False
        behind = revision - self.newest
        enough = behind >= policy.every or (still and behind >= max(1, policy.every // 10))
        return enough and self._clock() - self._last >= policy.spacing

    async def once(self) -> None:
        """Take a checkpoint if one is due, then compact what is due (no further than it);
        or, where another replica does that, follow the floor it moves."""
        if not self.mine():
            self.newest = None  # read again when this replica's turn comes: another took some
            await follow_floor(self.store, self.engine)
            return
        if self.policy.every > 0 and self.newest is None:
            self.newest = await newest_revision(self.store, store_id=self.store_id)
        if self.due():
            self._last = self._clock()
            taken = await take(self.store, self.engine, store_id=self.store_id, policy=self.policy)
            self.newest = taken.revision
        ceiling = self.newest if self.policy.every > 0 else None
        await compact_once(self.store, self.engine, self.compaction, ceiling=ceiling)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.compaction.interval)
            try:
                await self.once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the store is unavailable for now: the next look tries again
                log.exception("checkpointing or compacting failed")
