"""A host's goal state as applied: the one place the agent decides what an entry changes.

Entries are applied last-writer-wins per key by revision (``alcor.v1.keys.newer``), and a removal
is kept as a tombstone, so replaying a goal state, or receiving two out of order, leaves the same
state. A snapshot replaces everything; an entry older than the last snapshot for a key the
snapshot did not hold is stale (the snapshot was complete) and is ignored.
"""

from __future__ import annotations

import msgspec

from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb


class Changes(msgspec.Struct, frozen=True):
    """What applying a goal state changed: entries set (new or different) by key, and keys
    removed. Keys come with the entries so that no one computes them again."""

    set: dict[str, pb.Entry]
    removed: list[str]

    def __bool__(self) -> bool:
        return bool(self.set or self.removed)

    def then(self, later: Changes) -> Changes:
        """These changes and then ``later`` as one, for a driver to program both at once: an
        entry set by both is ``later``'s; one set by either and removed after is removed."""
        changed = {key: entry for key, entry in self.set.items() if key not in later.removed}
        changed.update(later.set)
        removed = dict.fromkeys(key for key in self.removed if key not in later.set)
        removed.update(dict.fromkeys(later.removed))
        return Changes(set=changed, removed=list(removed))


NO_CHANGES = Changes(set={}, removed=[])


class HostState:
    def __init__(self) -> None:
        self.revision = 0
        self.store_id = ""
        self._held: dict[str, pb.Entry] = {}  # removals included, as tombstones
        self._floor = 0  # the last snapshot's revision

    def apply(self, goal: pb.GoalState) -> Changes:
        if goal.snapshot:
            return self._replace(goal)
        changed: dict[str, pb.Entry] = {}
        removed: dict[str, None] = {}  # in order, once each
        for entry in goal.entries:
            key = keys.entry_key(entry)
            held = self._held.get(key)
            if held is None and entry.revision <= self._floor:
                continue
            if not keys.newer(entry, held):
                continue
            self._held[key] = entry
            was_live = held is not None and held.WhichOneof("resource") != "removal"
            if entry.WhichOneof("resource") == "removal":
                changed.pop(key, None)
                if was_live:
                    removed[key] = None
            elif held is None or not was_live or not keys.same(held, entry):
                removed.pop(key, None)
                changed[key] = entry
        self.revision = max(self.revision, goal.revision)
        self.store_id = goal.store_id or self.store_id
        return Changes(set=changed, removed=list(removed))

    def _replace(self, goal: pb.GoalState) -> Changes:
        before = self.live()
        self._held = {keys.entry_key(entry): entry for entry in goal.entries}
        self._floor = self.revision = goal.revision
        self.store_id = goal.store_id
        after = self.live()
        changed = {
            key: entry for key, entry in after.items() if not _same_or_none(before.get(key), entry)
        }
        return Changes(set=changed, removed=sorted(before.keys() - after.keys()))

    def live(self) -> dict[str, pb.Entry]:
        """Key -> entry for everything the host holds (tombstones left out)."""
        return {
            key: entry
            for key, entry in self._held.items()
            if entry.WhichOneof("resource") != "removal"
        }

    def get(self, kind: str, resource_id: str) -> pb.Entry | None:
        entry = self._held.get(keys.key(kind, resource_id))
        if entry is None or entry.WhichOneof("resource") == "removal":
            return None
        return entry

    def of_kind(self, kind: str) -> list[pb.Entry]:
        prefix = kind + ":"
        return [entry for key, entry in self.live().items() if key.startswith(prefix)]


def _same_or_none(held: pb.Entry | None, entry: pb.Entry) -> bool:
    return held is not None and keys.same(held, entry)
