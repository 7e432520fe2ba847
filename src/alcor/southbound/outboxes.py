"""What waits to be sent to one host: its entries coalesced by key, within a bound.

Pure: the time is passed in and nothing here sleeps or sends. The engine adds the entries each
change produces for the host; the host's sender takes everything waiting as one goal state, at
most once per window: the first change after a quiet spell goes at once (a whole commit, a bulk
create included, is added before the sender runs), and what arrives within the window after a
send waits for its end and goes together. A later entry for a key replaces an earlier one (it
carries the same or a higher revision), so a burst of changes to one resource costs the host
one entry. A host that lets more than ``limit`` keys pile up
(it reads too slowly) is dropped to "needs a snapshot": its entries are forgotten and, when it
catches up, it is sent its whole goal state instead; so a slow host costs bounded memory and
never holds anyone else up.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb


class Batch(msgspec.Struct, frozen=True, gc=False):
    """What to send now: a snapshot (the sender builds it), or these entries as one delta whose
    revision is the highest among them."""

    snapshot: bool
    entries: list[pb.Entry]
    revision: int


class Outbox:
    __slots__ = (
        "_entries",
        "limit",
        "needs_snapshot",
        "opened_at",
        "revision",
        "sent_at",
        "window",
    )

    def __init__(self, *, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._entries: dict[str, pb.Entry] = {}
        self.revision = 0
        self.needs_snapshot = False
        self.opened_at: float | None = None  # when the oldest waiting entry arrived
        self.sent_at: float | None = None  # when the last batch was taken

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def waiting(self) -> bool:
        return self.needs_snapshot or bool(self._entries)

    def add(self, entries: Iterable[pb.Entry], now: float) -> None:
        """Queue entries; the first to wait opens the window."""
        if self.needs_snapshot:
            return
        held = self._entries
        for entry in entries:
            held[keys.entry_key(entry)] = entry
            if entry.revision > self.revision:
                self.revision = entry.revision
        if len(held) > self.limit:
            self.drop_to_snapshot()
        elif held and self.opened_at is None:
            self.opened_at = now

    def drop_to_snapshot(self) -> None:
        """Forget what waits: the host will be sent its whole goal state instead."""
        self._entries = {}
        self.revision = 0
        self.needs_snapshot = True
        self.opened_at = None

    def due_at(self) -> float | None:
        """When what waits should go (None: nothing waits): when it arrived, but not within
        the window after the last send. A snapshot goes at once."""
        if self.needs_snapshot:
            return 0.0
        if self.opened_at is None:
            return None
        if self.sent_at is None:
            return self.opened_at
        return max(self.opened_at, self.sent_at + self.window)

    def take(self, now: float) -> Batch | None:
        """Everything waiting, as one batch; the outbox is empty afterwards."""
        if self.needs_snapshot:
            self.needs_snapshot = False
            self.sent_at = now
            return Batch(snapshot=True, entries=[], revision=0)
        if not self._entries:
            return None
        self.sent_at = now
        batch = Batch(snapshot=False, entries=list(self._entries.values()), revision=self.revision)
        self._entries = {}
        self.revision = 0
        self.opened_at = None
        return batch
