"""Topics: what hosts hold, kept once and shared by every host that reads it.

A topic is a keyed content in revision order (an update moves its key to the end) with its
removals since the compaction floor, and a set of readers. Putting an entry into a topic, or
dropping one, fans out to its readers; a host's own ports are a content of its own. What each
host reads, and since when, is ``subscriptions``; which topics exist is the engine's docstring.

An entry is kept as ``Stored``: its revision, which resource it is and the resource's bytes
(~240 B where a protobuf message standing on its own took ~1.7 KB), made again when sent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Literal, NamedTuple, TypeVar

from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

# ("network" | "router" | "group" | "members" | "gateway" | "address_group" | "qos_policy", id)
Topic = tuple[str, str]
# the fields of Entry's ``resource`` oneof a topic keeps (a Literal: decoded, one shared string)
Kind = Literal["port", "network", "subnet", "router", "security_group", "neighbor", "member",
               "floating_ip", "address_group", "port_forwarding", "firewall_group",
               "qos_policy"]  # fmt: skip
K = TypeVar("K")


class Stored(NamedTuple):
    """An entry as a topic keeps it: its revision, which resource it is, and the resource
    serialized. Entries are made again (``entry_of``) when a host joins or resumes."""

    revision: int
    kind: Kind
    body: bytes


def stored(entry: pb.Entry) -> Stored:
    kind = entry.WhichOneof("resource")
    if kind is None or kind == "removal":
        raise ValueError("an entry without a resource")
    body = getattr(entry, kind).SerializeToString(deterministic=True)
    return Stored(entry.revision, kind, body)


def entry_of(kept: Stored, at_least: int = 0) -> pb.Entry:
    """The entry again, stamped at least ``at_least`` (a host that subscribes at that revision
    must not take it for older than a removal it received before)."""
    entry = pb.Entry(revision=max(kept.revision, at_least))
    getattr(entry, kept.kind).ParseFromString(kept.body)
    return entry


def count(counter: Counter[K], key: K, step: int) -> None:
    """Counts that never hold zeros, so their keys are exactly what is counted."""
    counter[key] += step
    if counter[key] <= 0:
        del counter[key]


class Content:
    """A topic's (or a host's own) entries in revision order, and its removals since the floor."""

    __slots__ = ("entries", "removed")

    def __init__(self) -> None:
        self.entries: dict[str, Stored] = {}
        self.removed: dict[str, int] = {}

    def put(self, key: str, entry: pb.Entry) -> bool:
        """Set the key; False when it already holds the same resource (no one need hear of it)."""
        new = stored(entry)
        held = self.entries.get(key)
        if held is not None and (held.kind, held.body) == (new.kind, new.body):
            return False
        self.entries.pop(key, None)
        self.entries[key] = new
        self.removed.pop(key, None)
        return True

    def all(self, at_least: int = 0) -> Iterator[tuple[str, pb.Entry]]:
        """Every entry, by key, stamped at least ``at_least``."""
        for key, kept in self.entries.items():
            yield key, entry_of(kept, at_least)

    def drop(self, key: str, revision: int) -> bool:
        if self.entries.pop(key, None) is None:
            return False
        self.removed.pop(key, None)
        self.removed[key] = revision
        return True

    def since(self, revision: int) -> Iterator[pb.Entry]:
        """What changed after ``revision``: newest first, so it stops at the first older one."""
        for kept in reversed(self.entries.values()):
            if kept.revision <= revision:
                break
            yield entry_of(kept)
        for key, removed_at in reversed(self.removed.items()):
            if removed_at <= revision:
                break
            yield keys.removal(key, removed_at)

    def forget_removals_before(self, floor: int) -> None:
        while self.removed:
            key, removed_at = next(iter(self.removed.items()))
            if removed_at >= floor:
                break
            del self.removed[key]


class Deltas:
    """Per host, the entries one change (at ``revision``) produced, one per key (the last one
    wins). A quiet one keeps nothing, and the fan-out that would fill it is skipped (``quiet``
    is checked there)."""

    def __init__(self, revision: int, *, quiet: bool = False) -> None:
        self.revision = revision
        self.quiet = quiet
        self.by_host: defaultdict[str, dict[str, pb.Entry]] = defaultdict(dict)

    def add(self, host: str, key: str, entry: pb.Entry) -> None:
        if not self.quiet:
            self.by_host[host][key] = entry

    def result(self) -> dict[str, list[pb.Entry]]:
        return {host: list(entries.values()) for host, entries in self.by_host.items() if entries}


class Topics:
    """Every topic's content and readers, and every host's own content."""

    def __init__(self) -> None:
        self.contents: defaultdict[Topic, Content] = defaultdict(Content)
        self.readers: defaultdict[Topic, set[str]] = defaultdict(set)
        self.own: defaultdict[str, Content] = defaultdict(Content)

    def put(self, topic: Topic, key: str, entry: pb.Entry, deltas: Deltas) -> None:
        if self.contents[topic].put(key, entry) and not deltas.quiet:
            for host in self.readers.get(topic, ()):
                deltas.add(host, key, entry)

    def drop(self, topic: Topic, key: str, deltas: Deltas) -> None:
        if self.contents[topic].drop(key, deltas.revision) and not deltas.quiet:
            removal = keys.removal(key, deltas.revision)
            for host in self.readers.get(topic, ()):
                deltas.add(host, key, removal)

    def put_own(self, host: str, key: str, entry: pb.Entry, deltas: Deltas) -> None:
        if self.own[host].put(key, entry):
            deltas.add(host, key, entry)

    def drop_own(self, host: str, key: str, deltas: Deltas) -> None:
        if self.own[host].drop(key, deltas.revision):
            deltas.add(host, key, keys.removal(key, deltas.revision))

    def keys_in(self, topic: Topic) -> list[str]:
        """The keys a topic holds now (a copy: the caller may put while it walks them)."""
        return list(self.contents[topic].entries)

    def programmed(self) -> Iterator[tuple[str, str, int]]:
        """(port id, host, revision of its entry) for every port some host programs now."""
        for host, own in self.own.items():
            for key, kept in own.entries.items():
                if kept.kind == "port":
                    yield key.partition(":")[2], host, kept.revision

    def forget_removals_before(self, floor: int) -> None:
        for content in [*self.contents.values(), *self.own.values()]:
            content.forget_removals_before(floor)
