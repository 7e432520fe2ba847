"""Engine checkpoints: the engine's whole state as of one revision, as pieces of bytes, and back.

A restarted southbound restores the engine from its newest checkpoint and replays only the
change log after it, instead of replaying the whole (compacted) log through ``Engine.apply``.
A checkpoint is the state itself, not a recipe: the intent's records and indexes, gateway
placement, every topic's entries (kept serialized already) and removals in their revision
order, every host's subscriptions with their revisions. An engine restored from one is the
engine that was captured, so feeding it the rest of the log gives exactly what feeding the
whole log gives (same snapshot and same resume for every host).

Three steps, so that the southbound loop is held only for the first:

``capture``  copies the engine's containers (shallow: records, stored entries and frozensets
             are immutable and shared), a consistent view at the engine's revision that later
             changes do not touch; milliseconds per 10,000 ports.
``pieces``   cuts the captured view into pieces of at most ``size`` items each, and ``encode``
             makes each piece msgpack bytes: run them in a thread (each piece holds the GIL for
             a few milliseconds, and the loop runs between them).
``Restoring`` takes the pieces back in order, decoded straight into their types (msgspec,
             typed: nothing in the bytes names code to run, unlike pickle) and put in place.

``FORMAT`` changes whenever the engine's state or these pieces change shape; a checkpoint of
another format is not restored (the log is replayed whole).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

import msgspec

from alcor.goalstate.engine import Engine
from alcor.goalstate.topics import Content, Stored, Topic
from alcor.model import records

FORMAT = 2  # 2: firewall rules, policies and groups (fwaas_v2)
SIZE = 5000  # items a piece holds at most (a port's intent record and entries: ~1.5 KB)

T = TypeVar("T")


class Scalars(msgspec.Struct, tag="scalars", array_like=True, frozen=True):
    revision: int
    floor: int


class Networks(msgspec.Struct, tag="networks", array_like=True, frozen=True):
    items: list[records.Network]


class Subnets(msgspec.Struct, tag="subnets", array_like=True, frozen=True):
    items: list[records.Subnet]


class Ports(msgspec.Struct, tag="ports", array_like=True, frozen=True):
    items: list[records.Port]


class Routers(msgspec.Struct, tag="routers", array_like=True, frozen=True):
    items: list[records.Router]


class Groups(msgspec.Struct, tag="groups", array_like=True, frozen=True):
    items: list[records.SecurityGroup]


class Rules(msgspec.Struct, tag="rules", array_like=True, frozen=True):
    items: list[records.SecurityGroupRule]


class FloatingIps(msgspec.Struct, tag="floating_ips", array_like=True, frozen=True):
    items: list[records.FloatingIp]


class FirewallRules(msgspec.Struct, tag="firewall_rules", array_like=True, frozen=True):
    items: list[records.FirewallRule]


class FirewallPolicies(msgspec.Struct, tag="firewall_policies", array_like=True, frozen=True):
    items: list[records.FirewallPolicy]


class FirewallGroups(msgspec.Struct, tag="firewall_groups", array_like=True, frozen=True):
    items: list[records.FirewallGroup]


class Names(msgspec.Struct, tag="names", array_like=True, frozen=True):
    """One of the engine's str -> str maps (``name``: which one, of ``_NAMES``)."""

    name: str
    items: dict[str, str]


class Sets(msgspec.Struct, tag="sets", array_like=True, frozen=True):
    """One of the engine's str -> set of str indexes (``_SETS``)."""

    name: str
    items: dict[str, list[str]]


class Counts(msgspec.Struct, tag="counts", array_like=True, frozen=True):
    """One of the engine's str -> Counter indexes (``_COUNTS``)."""

    name: str
    items: dict[str, dict[str, int]]


class TopicRevisions(msgspec.Struct, tag="topic_revisions", array_like=True, frozen=True):
    """Per host, topic -> revision (``_TOPIC_REVISIONS``: joins, leaves, reference counts)."""

    name: str
    items: dict[str, list[tuple[Topic, int]]]


class Contents(msgspec.Struct, tag="contents", array_like=True, frozen=True):
    """Topics' contents: entries and removals, each in revision order."""

    items: list[tuple[Topic, dict[str, Stored], dict[str, int]]]


class Owns(msgspec.Struct, tag="owns", array_like=True, frozen=True):
    """Hosts' own contents."""

    items: list[tuple[str, dict[str, Stored], dict[str, int]]]


class Readers(msgspec.Struct, tag="readers", array_like=True, frozen=True):
    items: list[tuple[Topic, list[str]]]


class Held(msgspec.Struct, tag="held", array_like=True, frozen=True):
    """What each holder (a host's own port or gateway holder) wants, as counted: (host, the
    topics, every holder of the host that wants exactly those). Most of a host's ports want
    the same topics: one set for them all, here and in the restored engine (frozen: shared)."""

    items: list[tuple[str, list[Topic], list[str]]]


Piece = (
    Scalars
    | Networks
    | Subnets
    | Ports
    | Routers
    | Groups
    | Rules
    | FloatingIps
    | FirewallRules
    | FirewallPolicies
    | FirewallGroups
    | Names
    | Sets
    | Counts
    | TopicRevisions
    | Contents
    | Owns
    | Readers
    | Held
)

_RECORDS: dict[str, type[Networks | Subnets | Ports | Routers | Groups | Rules | FloatingIps]] = {
    "networks": Networks,
    "subnets": Subnets,
    "ports": Ports,
    "routers": Routers,
    "groups": Groups,
    "rules": Rules,
    "floating_ips": FloatingIps,
}
# the engine's firewall records (``engine.firewalls``), by piece; its indexes are rebuilt
_FIREWALLS: dict[str, type[FirewallRules | FirewallPolicies | FirewallGroups]] = {
    "rules": FirewallRules,
    "policies": FirewallPolicies,
    "groups": FirewallGroups,
}
# the engine's maps and indexes, by owner and attribute: the only names a piece may set
_NAMES = ("intent.host_ips", "intent.node_names", "intent.gateway_ports", "gateways.hosts")
_SETS = (
    "intent.rules_of",
    "intent.host_ports",
    "intent.interfaces",
    "intent.external_routers",
    "gateways.physnet_hosts",
    "gateways.hosted",
    "gateways.node_serves",  # frozensets
)
_COUNTS = ("intent.network_hosts", "intent.routers_on")
_TOPIC_REVISIONS = ("subscriptions.subscribed", "subscriptions.unsubscribed", "subscriptions.refs")

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[Piece] = msgspec.msgpack.Decoder(Piece)


def _attribute(engine: Engine, name: str) -> Any:
    owner, _, attribute = name.partition(".")
    return getattr(getattr(engine, owner), attribute)


class Captured:
    """The engine's state at one revision, in containers of its own (``capture``)."""

    def __init__(self, engine: Engine) -> None:
        intent, topics, subscriptions = engine.intent, engine.topics, engine.subscriptions
        self.revision = engine.revision
        self.floor = engine.floor
        self.records = {name: list(getattr(intent, name).values()) for name in _RECORDS}
        self.firewalls = {
            name: list(getattr(engine.firewalls, name).values()) for name in _FIREWALLS
        }
        self.names = {name: dict(_attribute(engine, name)) for name in _NAMES}
        self.sets = {
            name: [(key, list(members)) for key, members in _attribute(engine, name).items()]
            for name in _SETS
        }
        self.counts = {
            name: [(key, dict(counter)) for key, counter in _attribute(engine, name).items()]
            for name in _COUNTS
        }
        self.topic_revisions = {
            "subscriptions.subscribed": _by_host(subscriptions.subscribed),
            "subscriptions.unsubscribed": _by_host(subscriptions.unsubscribed),
            "subscriptions.refs": _by_host(subscriptions.refs),
        }
        self.contents = [
            (topic, dict(content.entries), dict(content.removed))
            for topic, content in topics.contents.items()
        ]
        self.owns = [
            (host, dict(content.entries), dict(content.removed))
            for host, content in topics.own.items()
        ]
        self.readers = [(topic, list(hosts)) for topic, hosts in topics.readers.items()]
        self.held = list(subscriptions.held.items())


def _by_host(per_host: Mapping[str, Mapping[Topic, int]]) -> list[tuple[str, dict[Topic, int]]]:
    return [(host, dict(topics)) for host, topics in per_host.items()]


def capture(engine: Engine) -> Captured:
    """A consistent view of the engine now (run it where the engine lives: the loop)."""
    return Captured(engine)


def _slices(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _weighed(
    items: list[tuple[Any, dict[str, Any], dict[str, Any]]], size: int
) -> Iterator[list[tuple[Any, dict[str, Any], dict[str, Any]]]]:
    """Contents in pieces of about ``size`` entries (a topic's content stays whole)."""
    piece: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
    weight = 0
    for item in items:
        piece.append(item)
        weight += len(item[1]) + len(item[2]) + 1
        if weight >= size:
            yield piece
            piece, weight = [], 0
    if piece:
        yield piece


def pieces(captured: Captured, size: int = SIZE) -> Iterator[Piece]:
    """The captured state as pieces, in the order ``Restoring`` takes them."""
    yield Scalars(revision=captured.revision, floor=captured.floor)
    for name, kind in _RECORDS.items():
        for items in _slices(captured.records[name], size):
            yield kind(items=items)
    for name, firewall_kind in _FIREWALLS.items():
        for firewall_items in _slices(captured.firewalls[name], size):
            yield firewall_kind(items=firewall_items)
    for name, mapping in captured.names.items():
        for chunk in _slices(list(mapping.items()), size):
            yield Names(name=name, items=dict(chunk))
    for name, sets in captured.sets.items():
        for set_chunk in _slices(sets, size):
            yield Sets(name=name, items=dict(set_chunk))
    for name, counts in captured.counts.items():
        for count_chunk in _slices(counts, size):
            yield Counts(name=name, items=dict(count_chunk))
    for name, per_host in captured.topic_revisions.items():
        for host_chunk in _slices(per_host, max(1, size // 10)):
            yield TopicRevisions(
                name=name, items={host: list(topics.items()) for host, topics in host_chunk}
            )
    for contents in _weighed(captured.contents, size):
        yield Contents(items=contents)
    for owns in _weighed(captured.owns, size):
        yield Owns(items=owns)
    for readers in _slices(captured.readers, size):
        yield Readers(items=readers)
    for held in _slices(_grouped(captured.held), max(1, size // 10)):
        yield Held(items=[(host, list(topics), holders) for (host, topics), holders in held])


def _grouped(
    held: list[tuple[tuple[str, str], frozenset[Topic]]],
) -> list[tuple[tuple[str, frozenset[Topic]], list[str]]]:
    by_wants: dict[tuple[str, frozenset[Topic]], list[str]] = {}
    for (host, holder), topics in held:
        by_wants.setdefault((host, topics), []).append(holder)
    return list(by_wants.items())


def encode(piece: Piece) -> bytes:
    return _encoder.encode(piece)


def encoded(captured: Captured, size: int = SIZE) -> Iterator[bytes]:
    """The captured state as bytes, piece by piece (``pieces``, ``encode``)."""
    for piece in pieces(captured, size):
        yield encode(piece)


class Unusable(ValueError):
    """The pieces do not make an engine (a piece out of place, a name this format lacks)."""


class Restoring:
    """An engine being rebuilt from a checkpoint's pieces, taken in order (``add``)."""

    def __init__(self) -> None:
        self._engine = Engine()
        self._started = False

    def add(self, data: bytes) -> None:
        try:
            piece = _decoder.decode(data)
        except msgspec.DecodeError as error:
            raise Unusable(f"a piece that does not decode: {error}") from None
        if isinstance(piece, Scalars) == self._started:
            raise Unusable("the revision must come first, and once")
        self._put(piece)

    def engine(self) -> Engine:
        if not self._started:
            raise Unusable("no piece at all")
        self._engine.firewalls.reindex(self._engine.intent.ports)
        return self._engine

    def _put(self, piece: Piece) -> None:
        engine = self._engine
        if isinstance(piece, Scalars):
            self._started = True
            engine.revision, engine.floor = piece.revision, piece.floor
        elif isinstance(piece, Contents):
            _fill(engine.topics.contents, piece.items)
        elif isinstance(piece, Owns):
            _fill(engine.topics.own, piece.items)
        elif isinstance(piece, Readers):
            readers = engine.topics.readers
            for topic, hosts in piece.items:
                readers[topic] = set(hosts)
        elif isinstance(piece, Held):
            held = engine.subscriptions.held
            for host, topics, holders in piece.items:
                wanted = frozenset(topics)
                held.update(((host, holder), wanted) for holder in holders)
        elif isinstance(piece, Names | Sets | Counts | TopicRevisions):
            self._put_named(piece)
        elif isinstance(piece, FirewallRules | FirewallPolicies | FirewallGroups):
            name = next(n for n, kind in _FIREWALLS.items() if isinstance(piece, kind))
            kept: dict[str, records.Record] = getattr(engine.firewalls, name)
            kept.update((record.id, record) for record in piece.items)
        else:
            found: dict[str, records.Record] = getattr(engine.intent, piece.__struct_config__.tag)  # type: ignore[arg-type]
            found.update((record.id, record) for record in piece.items)

    def _put_named(self, piece: Names | Sets | Counts | TopicRevisions) -> None:
        allowed = {Names: _NAMES, Sets: _SETS, Counts: _COUNTS, TopicRevisions: _TOPIC_REVISIONS}
        if piece.name not in allowed[type(piece)]:
            raise Unusable(f"no {type(piece).__name__.lower()} named {piece.name!r}")
        target = _attribute(self._engine, piece.name)
        if isinstance(piece, Names):
            target.update(piece.items)
        elif isinstance(piece, Sets):
            make = frozenset if piece.name == "gateways.node_serves" else set
            for key, members in piece.items.items():
                target[key] = make(members)
        elif isinstance(piece, Counts):
            for key, counts in piece.items.items():
                target[key] = Counter(counts)
        elif piece.name == "subscriptions.refs":
            for host, topics in piece.items.items():
                target[host] = Counter(dict(topics))
        else:
            for host, topics in piece.items.items():
                target[host] = dict(topics)


def _fill(
    target: defaultdict[Any, Content],
    items: Iterable[tuple[Any, dict[str, Stored], dict[str, int]]],
) -> None:
    for key, entries, removed in items:
        content = Content()
        content.entries = entries
        content.removed = removed
        target[key] = content


def restore(data: Iterable[bytes]) -> Engine:
    """An engine from a checkpoint's pieces, all at once (``Restoring``, one piece at a time,
    keeps the loop breathing between them)."""
    restoring = Restoring()
    for piece in data:
        restoring.add(piece)
    return restoring.engine()
