"""Subscriptions: which host reads which topic, since when, and what a host holds.

A host's subscriptions are held by *holders*: each of its own ports, and each router whose
gateway it serves. Every holder wants a set of topics; a host reads a topic while at least one
of its holders wants it (a reference count), joins it when the first does and leaves it when the
last stops. Joins and leaves are kept with their revisions, so a host that resumes at revision R
gets, per topic, the suffix after R, all of a topic it joined after R, and removals for the
topics it left after R (``delta_since``); a host behind the compaction floor gets a snapshot.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator

from alcor.goalstate.topics import Deltas, Topic, Topics, count
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

Holder = tuple[str, str]  # (host, own port id or gateway holder)
Wanted = Callable[[str, str], frozenset[Topic]]  # (host, holder) -> the topics it needs now


class Pending:
    """Subscription work one change leaves: holders (own ports, served gateways) whose topics
    may differ (cheap: one holder's topics), and hosts whose every holder's topics may differ (a
    router joined or left one of their networks, a rule naming a remote group changed in a
    group they hold)."""

    def __init__(self) -> None:
        self.ports: set[Holder] = set()
        self.hosts: set[str] = set()


class Subscriptions:
    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self.subscribed: defaultdict[str, dict[Topic, int]] = defaultdict(dict)
        self.unsubscribed: defaultdict[str, dict[Topic, int]] = defaultdict(dict)
        self.held: dict[Holder, frozenset[Topic]] = {}  # what each holder wants, as counted
        self.refs: defaultdict[str, Counter[Topic]] = defaultdict(Counter)  # host -> holders

    # --- following the holders -------------------------------------------------------------

    def recount(self, work: set[Holder], wanted: Wanted, deltas: Deltas) -> None:
        """Recount the topics of the holders a change touched; a host joins a topic when its
        first holder needs it and leaves when its last one stops. Joins go first, so a topic one
        holder drops and another takes up within one change is never left and rejoined."""
        dropped: list[tuple[str, Topic]] = []
        for host, holder in sorted(work):
            now = wanted(host, holder)
            before = self.held.pop((host, holder), frozenset())
            if now:
                self.held[host, holder] = now
            refs = self.refs[host]
            for topic in sorted(now - before):
                refs[topic] += 1
                if refs[topic] == 1:
                    self._subscribe(host, topic, deltas)
            dropped.extend((host, topic) for topic in before - now)
        for host, topic in sorted(dropped):
            count(self.refs[host], topic, -1)
            if topic not in self.refs[host]:
                self._unsubscribe(host, topic, deltas)

    def _subscribe(self, host: str, topic: Topic, deltas: Deltas) -> None:
        self.subscribed[host][topic] = deltas.revision
        self.topics.readers[topic].add(host)
        self.unsubscribed[host].pop(topic, None)
        if deltas.quiet:
            return
        for key, entry in self.topics.contents[topic].all(deltas.revision):
            deltas.add(host, key, entry)

    def _unsubscribe(self, host: str, topic: Topic, deltas: Deltas) -> None:
        del self.subscribed[host][topic]
        self.topics.readers[topic].discard(host)
        self.unsubscribed[host][topic] = deltas.revision
        if deltas.quiet:
            return
        for key in self.topics.contents[topic].entries:
            deltas.add(host, key, keys.removal(key, deltas.revision))

    # --- what a host holds -----------------------------------------------------------------

    def snapshot(self, host: str) -> list[pb.Entry]:
        """Everything the host must hold now."""
        contents, own = self.topics.contents, self.topics.own
        found = [
            entry for topic in self.subscribed.get(host, {}) for _, entry in contents[topic].all()
        ]
        if host in own:
            found.extend(entry for _, entry in own[host].all())
        return found

    def delta_since(self, host: str, revision: int) -> list[pb.Entry]:
        """What a host that applied everything up to ``revision`` lacks (the caller checks that
        the removals it needs were not compacted away)."""
        deltas = Deltas(revision)
        contents, own = self.topics.contents, self.topics.own
        for topic, subscribed_at in self.subscribed.get(host, {}).items():
            content = contents[topic]
            # what changed since (removals included: the host may have held the topic at
            # ``revision``, left it and come back), and if it (re)joined since, all of it
            for entry in content.since(revision):
                deltas.add(host, keys.entry_key(entry), entry)
            if subscribed_at > revision:
                for key, entry in content.all(subscribed_at):
                    deltas.add(host, key, entry)
        for topic, unsubscribed_at in self.unsubscribed.get(host, {}).items():
            if unsubscribed_at > revision:
                content = contents[topic]
                for key in [*content.entries, *content.removed]:
                    deltas.add(host, key, keys.removal(key, unsubscribed_at))
        if host in own:
            for entry in own[host].since(revision):
                deltas.add(host, keys.entry_key(entry), entry)
        return deltas.result().get(host, [])

    def hosts(self) -> list[str]:
        """Every host that reads some topic."""
        return sorted(host for host, topics in self.subscribed.items() if topics)

    def known_hosts(self) -> list[str]:
        """Every host that holds or has held anything."""
        return sorted(self.subscribed.keys() | self.topics.own.keys())

    def topics_of(self, host: str) -> set[Topic]:
        return set(self.subscribed.get(host, {}))

    def programmed(self) -> Iterator[tuple[str, str, int]]:
        return self.topics.programmed()

    def forget_before(self, floor: int) -> None:
        """Forget removals and leaves older than ``floor``: hosts behind it get snapshots."""
        self.topics.forget_removals_before(floor)
        for unsubscribed in self.unsubscribed.values():
            for topic in [t for t, at in unsubscribed.items() if at < floor]:
                del unsubscribed[topic]
