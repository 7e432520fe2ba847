"""How many resources of each kind each project has, kept by the writer for quota checks.

A project's counts are read from the database (one COUNT per resource table) the first time a
write asks for them; from then on the writer follows every insert and delete of that project's
resources, so a check costs two dict lookups, never a COUNT. Every change registers its inverse
as an undo, and so does the load itself, so a rolled-back piece of work (or a failed commit)
leaves the counts as the database has them. Touched only by the writer thread: no locks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from alcor.model.records import Record
from alcor.store.interface import Change

Undo = Callable[[Callable[[], None]], None]


class ProjectCounts:
    def __init__(self) -> None:
        self._projects: dict[str, Counter[str]] = {}

    def clear(self) -> None:
        """Forget everything: counted again from the database when next needed."""
        self._projects.clear()

    def of(
        self, project_id: str, kind: str, *, load: Callable[[], dict[str, int]], undo: Undo
    ) -> int:
        counts = self._projects.get(project_id)
        if counts is None:
            counts = self._projects[project_id] = Counter(load())
            undo(lambda: self._forget(project_id))
        return counts[kind]

    def follow_others(self, changes: Sequence[Change] | None) -> None:
        """Count what other processes created and deleted (None: forget every project's
        counts, they are counted again)."""
        if changes is None:
            self.clear()
            return
        for change in changes:
            counts = self._projects.get(change.project_id)
            if counts is None or change.operation == "update":
                continue
            counts[change.resource_type] += -1 if change.operation == "delete" else 1

    def _forget(self, project_id: str) -> None:
        self._projects.pop(project_id, None)

    def follow(self, records: Sequence[Record], sign: int, *, undo: Undo) -> None:
        """Records inserted (``sign`` 1) or deleted (-1), all of one kind."""
        if not self._projects or not records:
            return
        kind = records[0].kind
        for project_id, number in Counter(r.project_id for r in records).items():
            counts = self._projects.get(project_id)
            if counts is not None:
                counts[kind] += sign * number
                undo(_restore(counts, kind, -sign * number))


def _restore(counts: Counter[str], kind: str, delta: int) -> Callable[[], None]:
    def restore() -> None:
        counts[kind] += delta

    return restore
