"""Engine checkpoints in the store: a row per complete checkpoint, its pieces in their order.

What a piece holds is the goal-state engine's business (``goalstate/checkpoints.py``); here
they are bytes. A checkpoint is written over several transactions, a few pieces each, and its
row last: a checkpoint without its row is incomplete and never read.
Completing one drops the rows of the older ones at once (none is read again), their pieces
after it, a few at a time (``drop_pieces``), so that no transaction holds the writer long.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import sqlalchemy as sa

from alcor.store import schema


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A complete checkpoint: the engine as of ``revision`` of store ``store_id``, in
    ``pieces`` pieces of ``format`` (``size`` bytes in all)."""

    revision: int
    store_id: str
    format: int
    pieces: int
    size: int
    taken_at: str


def newest(connection: sa.Connection) -> Checkpoint | None:
    """The complete checkpoint of the highest revision, whatever its store or format."""
    table = schema.engine_checkpoints
    row = connection.execute(sa.select(table).order_by(table.c.revision.desc()).limit(1)).first()
    return None if row is None else msgspec.convert(row._mapping, Checkpoint)


def pieces(connection: sa.Connection, revision: int, first: int, limit: int) -> list[bytes]:
    """Pieces ``first`` .. ``first + limit - 1`` of the checkpoint at ``revision`` (fewer:
    the checkpoint has no more, or was dropped meanwhile)."""
    table = schema.engine_checkpoint_pieces
    statement = (
        sa.select(table.c.data)
        .where(table.c.revision == revision, table.c.piece >= first)
        .order_by(table.c.piece)
        .limit(limit)
    )
    return [bytes(data) for data in connection.execute(statement).scalars()]


def put_pieces(connection: sa.Connection, revision: int, first: int, data: Sequence[bytes]) -> None:
    if first == 0:  # what a write of this revision that never completed left
        table = schema.engine_checkpoint_pieces
        connection.execute(sa.delete(table).where(table.c.revision == revision))
    rows = [
        {"revision": revision, "piece": first + offset, "data": piece}
        for offset, piece in enumerate(data)
    ]
    if rows:
        connection.execute(sa.insert(schema.engine_checkpoint_pieces), rows)


def complete(connection: sa.Connection, checkpoint: Checkpoint) -> None:
    """The checkpoint's row: from now on it is the one read; every other row goes."""
    table = schema.engine_checkpoints
    connection.execute(sa.delete(table))
    connection.execute(sa.insert(table), [msgspec.structs.asdict(checkpoint)])


def drop_pieces(connection: sa.Connection, keep: int, limit: int) -> int:
    """Drop up to ``limit`` pieces of every checkpoint but the one at ``keep``; how many went."""
    table = schema.engine_checkpoint_pieces
    doomed = sa.select(table.c.revision, table.c.piece).where(table.c.revision != keep).limit(limit)
    gone = connection.execute(
        sa.delete(table).where(sa.tuple_(table.c.revision, table.c.piece).in_(doomed))
    ).rowcount
    return int(gone)
