"""Observed state: what the hosts report back, kept in memory apart from intent.

The southbound thread is the one writer: it tells the board which goal-state entry programs
each port on which host (and at which revision), what each host acknowledged, which resources it
failed, and when it connected, left or sent a heartbeat. The API threads read it to show a
port's ``status`` and each host's lag.

Nothing here is stored or logged: status is observed, not intended, so an ack neither wakes the
goal-state engine nor bumps a port's ``revision_number`` (``If-Match`` keeps working). After a
controller restart the board starts empty and fills as the agents reconnect and acknowledge.

**Thread safety.** Every value the board holds is immutable (ints, tuples, frozen structs,
mappings never changed once published) and each update is one assignment into a dict, so a
reader sees either the old or the new value, never half of one, without a lock. Readers never
iterate the writer's dicts without copying them first.

A port is

``ACTIVE``  when its host acknowledged a revision at or after the entry that programs it there;
``ERROR``   when the host's latest ack lists it as failed (its message is on the host's report);
``DOWN``    when it is unbound, not yet acknowledged, its host left more than ``grace``
            seconds ago, or its host is *lost*: the node watch (``southbound.watching``) found
            it silent (no heartbeat, ack or Hello) for ``--node-down-after`` seconds, until
            it is heard from again.

A router's ports are programmed on every host that holds the router (distributed routing:
each such host routes for it), not on one bound host. The board keeps, per router port and
host, the revision of the router entry that first carried the port there (``hold_router``:
its interfaces on every host holding the router, its gateway port on the host serving the
gateway). Such a port is ``spread_status``: ``ERROR`` while a reachable host holding it lists
the router as failed, ``DOWN`` while one has not acknowledged that revision or when no host
holding it is reachable, else ``ACTIVE``; and when no host holds it, ``idle``: an interface is
then ``ACTIVE`` (as OVN's router ports are: a distributed router needs nothing from a host
until one has endpoints on its networks, and then that host holds it and is waited for), a
gateway port ``DOWN`` (no host serves it: its traffic goes nowhere). A router's port the
engine has not taken in yet (``know``: the moments between its commit and the engine's apply)
is ``DOWN``: nobody can tell yet which hosts must hold it. A reachable host that holds the
router is waited for; one away beyond the grace, or lost, is not (it gets the router when it
returns, and its own ports say it is away).

Beside its status, a port shows what its host made of it (``vif_details``: in netns endpoint
mode, the namespace the agent plugged it into), merged over the stored ``binding:vif_details``.
Acks carry these as changes (the first ack of a stream: all of the host's, replacing what the
board held); they are shown only while the port is programmed on the host that reported them,
and dropped when the port leaves that host or is deleted.

A host is *heard* on every Hello, ack and heartbeat: one clock read and one dict assignment,
the whole cost of a heartbeat here (nothing is stored: the node's up/down transitions are).

**Other processes.** The API reads status through ``StatusView``: the board is the view of the
process that serves the hosts; ``services.status_mirror`` is the view of any process, following
the status rows the southbound processes write (``southbound.reporting``). For those, a board
with ``on_touch`` set notes what each change touched (a port on a host; a host, ``urgent``
when its link, ack, failures or lost state changed rather than a counter) and calls
``on_touch``; the reporter takes the notes (``take_touched``) and writes the rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Protocol

import msgspec

ACTIVE = "ACTIVE"
DOWN = "DOWN"
ERROR = "ERROR"

_NO_FAILURES: Mapping[str, Failure] = MappingProxyType({})
_NO_DETAILS: Mapping[str, str] = MappingProxyType({})
_NO_BINDINGS: Mapping[str, Mapping[str, str]] = MappingProxyType({})
_NO_SPREAD: Mapping[str, int] = MappingProxyType({})
# the pseudo-host of a router port's status row that says the engine took the port in (no
# host is named so: node names are not empty)
KNOWN = ""


class Failure(msgspec.Struct, frozen=True, gc=False):
    """A resource the host could not program, as its agent said."""

    kind: str
    id: str
    message: str


class Health(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What the host's agent said about itself in its last heartbeat."""

    at: float = 0.0  # wall clock, seconds
    agent_version: str = ""
    uptime_seconds: int = 0
    load1: float = 0.0
    resource_counts: dict[str, int] = msgspec.field(default_factory=dict)
    dataplane_errors: int = 0


class Link(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The host's stream: up since ``since``, or down since ``since`` (monotonic seconds)."""

    connected: bool
    since: float
    at: float  # the same moment, wall clock
    agent_version: str = ""
    peer: str = ""
    driver: str = ""  # what the agent's Hello named (its first capability)


class Acked(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    revision: int
    at: float  # wall clock
    programming_micros: int = 0


class Traffic(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What was sent to the host since this controller started."""

    messages: int = 0
    entries: int = 0
    snapshots: int = 0


class HostReport(msgspec.Struct, frozen=True, kw_only=True):
    """One host as the API shows it (``GET /v2.0/goalstate/hosts/{host}``)."""

    host: str
    connected: bool
    lost: bool  # silent beyond --node-down-after: its ports are DOWN
    connected_since: str | None
    disconnected_since: str | None
    peer: str
    agent_version: str
    desired_revision: int
    acknowledged_revision: int
    lag: int
    last_ack: str | None
    last_programming_ms: float | None
    last_heartbeat: str | None
    uptime_seconds: int | None
    load1: float | None
    resource_counts: dict[str, int]
    dataplane_errors: int
    ports: int
    messages_sent: int
    entries_sent: int
    snapshots_sent: int
    failures: list[Failure]
    driver: str = ""
    controller: str = ""  # the southbound process serving it (its advertised address)


class StatusView(Protocol):
    """What the API reads of status: the board of the process serving the hosts, or a mirror of
    the status rows the southbound processes write (``services.status_mirror``)."""

    @property
    def revision(self) -> int:
        """The last committed revision the goal-state engine has taken in (as far as known)."""
        ...

    @property
    def ready(self) -> bool: ...

    def port_status(self, port_id: str, host: str) -> str: ...

    def vif_details(self, port_id: str, host: str) -> Mapping[str, str]: ...

    def hosts(self) -> list[str]: ...

    def connected_hosts(self) -> int: ...

    def health_of(self, host: str) -> Health | None: ...

    def link_of(self, host: str) -> Link | None: ...

    def report(self, host: str) -> HostReport | None: ...

    def holders(self, port_id: str) -> list[str]:
        """The hosts that hold a router's port (see ``spread_status``)."""
        ...

    def held_status(self, port_id: str, host: str, router_id: str) -> str | None:
        """The status of a router's port on one host that holds it (``reachable_status``), or
        None when that host is not reachable."""
        ...

    def knows(self, port_id: str) -> bool:
        """Whether the goal-state engine has taken in the router's port."""
        ...


class Touched(msgspec.Struct, kw_only=True):
    """What changed on a board since the reporter last took it."""

    ports: set[tuple[str, str]]  # (port, host)
    hosts: dict[str, bool]  # host -> urgent (its status or link changed, not a counter)


def reachable_status(*, programmed: int, acked: int, failed: bool) -> str:
    """The status of a port whose entry of revision ``programmed`` is on a reachable host that
    acknowledged revision ``acked`` (the rule of the module docstring; the board and the
    mirror of the status rows each decide reachability from what they hold)."""
    if failed:
        return ERROR
    return ACTIVE if acked >= programmed else DOWN


def spread_status(view: StatusView, port_id: str, *, router_id: str, idle: str) -> str:
    """The status of a router's port, programmed on every host that holds the router (the
    rule of the module docstring): the board and the mirror each answer per host."""
    status, held, reachable = ACTIVE, False, False
    for host in view.holders(port_id):
        held = True
        found = view.held_status(port_id, host, router_id)
        if found is None:
            continue
        reachable = True
        if found == ERROR:
            return ERROR
        if found == DOWN:
            status = DOWN
    if not held:
        return idle if view.knows(port_id) else DOWN
    return status if reachable else DOWN


def router_failure(router_id: str) -> str:
    """The key under which a host's ack lists a router it failed to program."""
    return "router:" + router_id


def _iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


class StatusBoard:
    """Per port and per host, what the hosts reported (see the module's docstring)."""

    def __init__(
        self,
        *,
        grace: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.grace = grace
        self.serving = ""  # this southbound process, as hosts' reports name it
        self.revision = 0  # the last committed revision the goal-state engine has taken in
        self.ready = False  # whether the engine has replayed the change log since start
        self._clock = clock
        self._wall = wall
        self._programmed: dict[str, tuple[str, int]] = {}  # port -> (host, entry revision)
        # a router's port -> host -> revision of the router entry that first carried it there
        self._spread: dict[str, Mapping[str, int]] = {}
        self._legs: dict[tuple[str, str], frozenset[str]] = {}  # (router, host) -> its ports
        self._known: dict[str, int] = {}  # a router's port -> the revision it was taken in at
        self._ports_on: dict[str, set[str]] = {}  # host -> the ports programmed there
        self._desired: dict[str, int] = {}
        self._acked: dict[str, Acked] = {}
        self._failures: dict[str, Mapping[str, Failure]] = {}  # by "<kind>:<id>"
        self._links: dict[str, Link] = {}
        self._health: dict[str, Health] = {}
        self._traffic: dict[str, Traffic] = {}
        self._heard: dict[str, float] = {}  # host -> when it was last heard (monotonic)
        self._lost: dict[str, float] = {}  # host -> since when it is lost (monotonic)
        # host -> port -> the vif_details the host reported (each mapping read-only)
        self._bindings: dict[str, dict[str, Mapping[str, str]]] = {}
        self._rebind: set[str] = set()  # hosts whose next ack replaces their bindings
        self.on_touch: Callable[[], None] | None = None  # set: note what changes touch
        self._touched = Touched(ports=set(), hosts={})

    # --- reading (any thread) -----------------------------------------------------------------

    def port_status(self, port_id: str, host: str) -> str:
        """The status of a port bound to ``host`` ('' when unbound)."""
        programmed = self._programmed.get(port_id)
        if not host or programmed is None or programmed[0] != host:
            return DOWN
        if not self._reachable(host):
            return DOWN
        acked = self._acked.get(host)
        return reachable_status(
            programmed=programmed[1],
            acked=acked.revision if acked is not None else 0,
            failed="port:" + port_id in self._failures.get(host, _NO_FAILURES),
        )

    def holders(self, port_id: str) -> list[str]:
        return list(self._spread.get(port_id, _NO_SPREAD))

    def held_status(self, port_id: str, host: str, router_id: str) -> str | None:
        revision = self._spread.get(port_id, _NO_SPREAD).get(host)
        if revision is None or not self._reachable(host):
            return None
        acked = self._acked.get(host)
        return reachable_status(
            programmed=revision,
            acked=acked.revision if acked is not None else 0,
            failed=router_failure(router_id) in self._failures.get(host, _NO_FAILURES),
        )

    def knows(self, port_id: str) -> bool:
        return port_id in self._known

    def vif_details(self, port_id: str, host: str) -> Mapping[str, str]:
        """What ``host`` reported of the port (empty when it reported nothing, or the port is
        not programmed there)."""
        programmed = self._programmed.get(port_id)
        if not host or programmed is None or programmed[0] != host:
            return _NO_DETAILS
        return self._bindings.get(host, _NO_BINDINGS).get(port_id, _NO_DETAILS)

    def _reachable(self, host: str) -> bool:
        if host in self._lost:
            return False
        link = self._links.get(host)
        if link is None:
            return False
        return link.connected or self._clock() - link.since <= self.grace

    def hosts(self) -> list[str]:
        return sorted({*list(self._desired), *list(self._links)})

    def connected_hosts(self) -> int:
        return sum(link.connected for link in list(self._links.values()))

    def now(self) -> float:
        """The wall clock the board stamps reports with."""
        return self._wall()

    def monotonic(self) -> float:
        """The clock hosts are heard by (``last_heard``)."""
        return self._clock()

    def health_of(self, host: str) -> Health | None:
        """What the host's agent said in its last heartbeat since this controller started."""
        return self._health.get(host)

    def link_of(self, host: str) -> Link | None:
        return self._links.get(host)

    def last_heard(self, host: str) -> float | None:
        """When the host was last heard (monotonic), None if not since this controller started."""
        return self._heard.get(host)

    def is_lost(self, host: str) -> bool:
        return host in self._lost

    def is_reachable(self, host: str) -> bool:
        """Whether the host's ports can be ACTIVE: connected, or gone within the grace, and not
        lost."""
        return self._reachable(host)

    def port_counts(self) -> dict[str, int]:
        """Host -> ports programmed there (a copy: any thread)."""
        return {host: len(ports) for host, ports in list(self._ports_on.items())}

    def programmed_ports(self, host: str) -> list[str]:
        """The ports whose port entry programs them on ``host`` (a copy: any thread)."""
        return list(self._ports_on.get(host, ()))

    def traffic(self) -> list[Traffic]:
        """What was sent to each host (a copy: any thread)."""
        return list(self._traffic.values())

    def report(self, host: str) -> HostReport | None:
        link = self._links.get(host)
        desired = self._desired.get(host)
        if link is None and desired is None:
            return None
        acked = self._acked.get(host)
        health = self._health.get(host)
        traffic = self._traffic.get(host, Traffic())
        acked_revision = acked.revision if acked is not None else 0
        return HostReport(
            host=host,
            connected=link is not None and link.connected,
            lost=host in self._lost,
            connected_since=_iso(link.at) if link is not None and link.connected else None,
            disconnected_since=_iso(link.at) if link is not None and not link.connected else None,
            peer=link.peer if link is not None else "",
            agent_version=link.agent_version if link is not None else "",
            desired_revision=desired or 0,
            acknowledged_revision=acked_revision,
            lag=max(0, (desired or 0) - acked_revision),
            last_ack=_iso(acked.at) if acked is not None else None,
            last_programming_ms=acked.programming_micros / 1000 if acked is not None else None,
            last_heartbeat=_iso(health.at) if health is not None else None,
            uptime_seconds=health.uptime_seconds if health is not None else None,
            load1=health.load1 if health is not None else None,
            resource_counts=dict(health.resource_counts) if health is not None else {},
            dataplane_errors=health.dataplane_errors if health is not None else 0,
            ports=self.ports_on(host),
            messages_sent=traffic.messages,
            entries_sent=traffic.entries,
            snapshots_sent=traffic.snapshots,
            failures=list(self._failures.get(host, _NO_FAILURES).values()),
            driver=link.driver if link is not None else "",
            controller=self.serving if link is not None else "",
        )

    # --- what changed, for the reporter (the southbound thread only) --------------------------

    def take_touched(self) -> Touched:
        touched, self._touched = self._touched, Touched(ports=set(), hosts={})
        return touched

    def programmed_where(self, hosts: Callable[[str], bool]) -> list[tuple[str, str]]:
        """Every (port, host) programmed on a host ``hosts`` picks (a walk of every port),
        routers' ports on each host holding them included."""
        found = [(port, held[0]) for port, held in list(self._programmed.items()) if hosts(held[0])]
        for port, spread in list(self._spread.items()):
            found += [(port, host) for host in spread if hosts(host)]
        if hosts(KNOWN):
            found += [(port, KNOWN) for port in list(self._known)]
        return found

    def programmed_on(self, port_id: str, host: str) -> int:
        """The revision of the entry that programs the port on ``host`` (0: none does): its
        own port entry, or for a router's port the router entry that carried it there."""
        programmed = self._programmed.get(port_id)
        if programmed is not None and programmed[0] == host:
            return programmed[1]
        if host == KNOWN:
            return self._known.get(port_id, 0)
        return self._spread.get(port_id, _NO_SPREAD).get(host, 0)

    def reported_of(self, port_id: str, host: str) -> Mapping[str, str]:
        """What ``host`` reported of the port, programmed there or not."""
        return self._bindings.get(host, _NO_BINDINGS).get(port_id, _NO_DETAILS)

    def desired_of(self, host: str) -> int:
        return self._desired.get(host, 0)

    def acked_of(self, host: str) -> Acked | None:
        return self._acked.get(host)

    def traffic_of(self, host: str) -> Traffic:
        return self._traffic.get(host, Traffic())

    def failures_of(self, host: str) -> list[Failure]:
        return list(self._failures.get(host, _NO_FAILURES).values())

    def ports_on(self, host: str) -> int:
        return len(self._ports_on.get(host, ()))

    def _touch_port(self, port_id: str, host: str) -> None:
        if self.on_touch is not None:
            self._touched.ports.add((port_id, host))
            self.on_touch()

    def _touch_host(self, host: str, *, urgent: bool) -> None:
        if self.on_touch is not None:
            hosts = self._touched.hosts
            hosts[host] = urgent or hosts.get(host, False)
            self.on_touch()

    # --- writing (the southbound thread only) -------------------------------------------------

    def desire(self, host: str, revision: int) -> None:
        """The host was given (or owes) goal state up to ``revision``."""
        if revision > self._desired.get(host, 0):
            self._desired[host] = revision
            self._touch_host(host, urgent=False)

    def desire_all(self, hosts: Iterable[str], revision: int) -> None:
        """``desire`` for many hosts at once, with a revision newer than any desired yet."""
        if self.on_touch is not None:
            hosts = list(hosts)
            touched = self._touched.hosts
            for host in hosts:
                touched.setdefault(host, False)
            self.on_touch()
        self._desired.update(dict.fromkeys(hosts, revision))

    def host_of(self, port_id: str) -> str:
        """The host whose entry programs the port now ('' when none)."""
        programmed = self._programmed.get(port_id)
        return programmed[0] if programmed is not None else ""

    def program(self, port_id: str, host: str, revision: int) -> None:
        """The entry of ``revision`` programs the port on ``host``."""
        held = self._programmed.get(port_id)
        if held is None or held[0] != host:
            if held is not None:
                self._place(port_id, held[0], there=False)
                self._touch_port(port_id, held[0])
            self._place(port_id, host, there=True)
        self._programmed[port_id] = (host, revision)
        self._touch_port(port_id, host)

    def know(self, port_id: str, revision: int, *, known: bool = True) -> None:
        """The engine took in a router's port at ``revision`` (``known`` False: it is gone, or
        no router's any more). Written as the port's row of the pseudo-host ``KNOWN``."""
        if known:
            self._known[port_id] = revision
        elif self._known.pop(port_id, None) is None:
            return
        self._touch_port(port_id, KNOWN)

    def hold_router(self, router_id: str, host: str, revision: int, ports: frozenset[str]) -> None:
        """The router's entry of ``revision`` on ``host`` carries ``ports`` (its interfaces,
        and its gateway port where the host serves it; none: the host left the router). A port
        it carried before keeps the revision that first carried it."""
        old = self._legs.get((router_id, host), frozenset())
        if ports:
            self._legs[router_id, host] = ports
        else:
            self._legs.pop((router_id, host), None)
        for port_id in old - ports:
            spread = {h: r for h, r in self._spread.get(port_id, _NO_SPREAD).items() if h != host}
            if spread:
                self._spread[port_id] = MappingProxyType(spread)
            else:
                self._spread.pop(port_id, None)
            self._touch_port(port_id, host)
        for port_id in ports - old:
            self._spread[port_id] = MappingProxyType(
                {**self._spread.get(port_id, _NO_SPREAD), host: revision}
            )
            self._touch_port(port_id, host)

    def unprogram(self, port_id: str, host: str) -> None:
        """The port left ``host`` (another host may already hold it)."""
        held = self._programmed.get(port_id)
        if held is not None and held[0] == host:
            del self._programmed[port_id]
            self._place(port_id, host, there=False)
            self._touch_port(port_id, host)
        bound = self._bindings.get(host)
        if bound is not None and port_id in bound:
            del bound[port_id]
            self._touch_port(port_id, host)

    def _place(self, port_id: str, host: str, *, there: bool) -> None:
        self._touch_host(host, urgent=False)
        if there:
            self._ports_on.setdefault(host, set()).add(port_id)
            return
        ports = self._ports_on.get(host)
        if ports is not None:
            ports.discard(port_id)
            if not ports:
                del self._ports_on[host]

    def connected(
        self,
        host: str,
        *,
        applied_revision: int,
        agent_version: str = "",
        peer: str = "",
        driver: str = "",
    ) -> None:
        """The host opened a stream, holding goal state up to ``applied_revision`` (0: none
        of this store's). Failures reported on an earlier stream no longer stand."""
        self._links[host] = Link(
            connected=True,
            since=self._clock(),
            at=self._wall(),
            agent_version=agent_version,
            peer=peer,
            driver=driver,
        )
        self._failures.pop(host, None)
        self._rebind.add(host)
        self._acked[host] = Acked(revision=applied_revision, at=self._wall())
        self.heard(host)
        self._touch_host(host, urgent=True)

    def disconnected(self, host: str) -> None:
        link = self._links.get(host)
        self._links[host] = Link(
            connected=False,
            since=self._clock(),
            at=self._wall(),
            agent_version=link.agent_version if link is not None else "",
            peer=link.peer if link is not None else "",
            driver=link.driver if link is not None else "",
        )
        self._touch_host(host, urgent=True)

    def acknowledged(
        self,
        host: str,
        revision: int,
        *,
        failures: list[Failure],
        programming_micros: int,
        bindings: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """The host applied everything up to ``revision`` except ``failures``: the resources
        that stand failed now (each ack lists them all; one not listed again has recovered).
        ``bindings``: the ports whose vif_details changed (empty details: none any more); the
        first ack after ``connected`` replaces all of the host's."""
        if host in self._rebind:
            self._rebind.discard(host)
            self._bind(host, bindings or {}, replace=True)
        elif bindings:
            self._bind(host, bindings, replace=False)
        self._acked[host] = Acked(
            revision=revision, at=self._wall(), programming_micros=programming_micros
        )
        if failures:
            self._failures[host] = MappingProxyType({f"{f.kind}:{f.id}": f for f in failures})
        else:
            self._failures.pop(host, None)
        self.heard(host)
        self._touch_host(host, urgent=True)

    def _bind(self, host: str, bindings: Mapping[str, Mapping[str, str]], *, replace: bool) -> None:
        if self.on_touch is not None:
            for port_id in {*bindings, *(self._bindings.get(host, {}) if replace else ())}:
                self._touch_port(port_id, host)
        bound = {} if replace else self._bindings.get(host, {})
        for port_id, details in bindings.items():
            if details:
                bound[port_id] = MappingProxyType(dict(details))
            else:
                bound.pop(port_id, None)
        if bound:
            self._bindings[host] = bound
        else:
            self._bindings.pop(host, None)

    def heartbeat(self, host: str, health: Health) -> None:
        self._health[host] = health
        self.heard(host)
        self._touch_host(host, urgent=False)

    def heard(self, host: str) -> None:
        """The host spoke (Hello, ack, heartbeat): it is alive, and no longer lost."""
        self._heard[host] = self._clock()
        if self._lost and host in self._lost:
            del self._lost[host]
            self._touch_host(host, urgent=True)

    def lose(self, host: str) -> None:
        """The host has been silent too long: its ports are DOWN until it is heard again."""
        if host not in self._lost:
            self._lost[host] = self._clock()
            self._touch_host(host, urgent=True)

    def sent(self, host: str, *, entries: int, snapshot: bool) -> None:
        traffic = self._traffic.get(host, Traffic())
        self._traffic[host] = Traffic(
            messages=traffic.messages + 1,
            entries=traffic.entries + entries,
            snapshots=traffic.snapshots + snapshot,
        )
        self._touch_host(host, urgent=False)
