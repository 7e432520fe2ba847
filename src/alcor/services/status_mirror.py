"""Status as the southbound processes wrote it: a read model for processes that do not serve
the hosts (``--role api``), and for those that serve some of them (``--role all``).

The southbound processes write status rows on transitions only (``southbound.reporting``,
``store/statuses.py``): per port and host, the revision of the entry programming the port there
and what the host reported of it; per host, its ``Reported`` (link, acknowledged and desired
revisions, failures, health, counters). ``StatusMirror`` holds them in memory and answers as the
board does (``services.status``: a port is ACTIVE when its host acknowledged the entry that
programs it, ERROR while the host's latest ack lists it, else DOWN; DOWN too when the host is
lost, or disconnected for longer than the writer's ``--disconnect-grace``, counted from the
disconnection's wall-clock time). A router's port has a row per host holding the router, and
the board's ``spread_status`` over them. ``follow`` keeps it current: a thread of its own reads the
rows written after the status counter it holds whenever the store's status signal wakes it
(NOTIFY on PostgreSQL, ``data_version`` on SQLite), and every ``poll`` seconds in case a
wake-up was lost.

``Combined`` is the view of a process that serves hosts itself: its own board for the hosts it
has a stream record of (unless another process wrote of the host since), the mirror of the
other processes' rows for every other host. Its mirror leaves its own rows out (``excluding``),
so alone it answers exactly as its board.

Thread safety is the board's: every value held is immutable and replaced by one assignment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

import msgspec

from alcor.services import status
from alcor.store import statuses
from alcor.store.interface import Reader

log = logging.getLogger(__name__)

POLL = 5.0  # seconds: the safety poll of the status counter, for a lost wake-up
RETRY = 1.0  # seconds before a failed read is tried again
OWN_RUN = 64  # counter values read past without reading rows, when all are this process's own

_NO_DETAILS: Mapping[str, str] = MappingProxyType({})
_NONE: tuple[int, Mapping[str, str]] = (0, _NO_DETAILS)
_DETAILS = msgspec.json.Decoder(dict[str, str])


class Reported(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A host's row: what the board serving it knows (``at`` times are wall clock)."""

    connected: bool = False
    link_at: float | None = None  # when it connected or disconnected; None: no stream yet
    agent_version: str = ""
    peer: str = ""
    driver: str = ""
    controller: str = ""  # the writer's advertised address
    lost: bool = False
    grace: float = 15.0  # the writer's --disconnect-grace
    desired: int = 0
    acked: int = 0
    acked_at: float | None = None
    programming_micros: int = 0
    failures: list[status.Failure] = msgspec.field(default_factory=list)
    health: status.Health | None = None
    traffic: status.Traffic = msgspec.field(default_factory=status.Traffic)
    ports: int = 0
    written_at: float = 0.0


_REPORTED = msgspec.json.Decoder(Reported)


class _Host(msgspec.Struct, frozen=True):
    reported: Reported
    failed: frozenset[str]  # "<kind>:<id>"
    link: status.Link | None


class StatusMirror:
    """The status rows, held in memory (see the module's docstring)."""

    def __init__(
        self,
        *,
        excluding: str = "",
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.excluding = excluding  # the writer whose rows are left out (this process's)
        self.held = 0  # the status counter read up to
        self.ready = False  # read once since start
        self._clock = clock
        self._wall = wall
        self._ports: dict[tuple[str, str], tuple[int, Mapping[str, str]]] = {}
        self._hosts: dict[str, _Host] = {}
        self._own: set[int] = set()  # counter values of this process's own writes, not read yet
        self._stop = threading.Event()
        self._woken = threading.Event()

    # --- reading (any thread) -------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The highest revision any host is known to be given."""
        return max((h.reported.desired for h in list(self._hosts.values())), default=0)

    def port_status(self, port_id: str, host: str) -> str:
        programmed = self._ports.get((port_id, host))
        found = self._hosts.get(host)
        if programmed is None or not programmed[0] or found is None:
            return status.DOWN
        if not self._reachable(found.reported):
            return status.DOWN
        return status.reachable_status(
            programmed=programmed[0],
            acked=found.reported.acked,
            failed="port:" + port_id in found.failed,
        )

    def holders(self, port_id: str) -> list[str]:
        """The hosts whose rows program the port (a walk of the hosts: asked of routers' ports
        only, which every host holding the router programs)."""
        ports = self._ports
        return [host for host in list(self._hosts) if ports.get((port_id, host), _NONE)[0]]

    def held_status(self, port_id: str, host: str, router_id: str) -> str | None:
        programmed = self._ports.get((port_id, host))
        found = self._hosts.get(host)
        if programmed is None or not programmed[0] or found is None:
            return None
        if not self._reachable(found.reported):
            return None
        return status.reachable_status(
            programmed=programmed[0],
            acked=found.reported.acked,
            failed=status.router_failure(router_id) in found.failed,
        )

    def knows(self, port_id: str) -> bool:
        return bool(self._ports.get((port_id, status.KNOWN), _NONE)[0])

    def _reachable(self, reported: Reported) -> bool:
        if reported.lost or reported.link_at is None:
            return False
        return reported.connected or self._wall() - reported.link_at <= reported.grace

    def vif_details(self, port_id: str, host: str) -> Mapping[str, str]:
        programmed = self._ports.get((port_id, host))
        return programmed[1] if programmed is not None and programmed[0] else _NO_DETAILS

    def hosts(self) -> list[str]:
        return sorted(self._hosts)

    def connected_hosts(self) -> int:
        return sum(h.reported.connected for h in list(self._hosts.values()))

    def health_of(self, host: str) -> status.Health | None:
        found = self._hosts.get(host)
        return found.reported.health if found is not None else None

    def link_of(self, host: str) -> status.Link | None:
        found = self._hosts.get(host)
        return found.link if found is not None else None

    def written_at(self, host: str) -> float | None:
        """When the host's row was written (wall clock), None if there is none."""
        found = self._hosts.get(host)
        return found.reported.written_at if found is not None else None

    def report(self, host: str) -> status.HostReport | None:
        found = self._hosts.get(host)
        if found is None:
            return None
        r = found.reported
        iso = _iso
        return status.HostReport(
            host=host,
            connected=r.connected,
            lost=r.lost,
            connected_since=iso(r.link_at) if r.connected else None,
            disconnected_since=iso(r.link_at) if not r.connected else None,
            peer=r.peer,
            agent_version=r.agent_version,
            desired_revision=r.desired,
            acknowledged_revision=r.acked,
            lag=max(0, r.desired - r.acked),
            last_ack=iso(r.acked_at),
            last_programming_ms=r.programming_micros / 1000 if r.acked_at is not None else None,
            last_heartbeat=iso(r.health.at) if r.health is not None else None,
            uptime_seconds=r.health.uptime_seconds if r.health is not None else None,
            load1=r.health.load1 if r.health is not None else None,
            resource_counts=dict(r.health.resource_counts) if r.health is not None else {},
            dataplane_errors=r.health.dataplane_errors if r.health is not None else 0,
            ports=r.ports,
            messages_sent=r.traffic.messages,
            entries_sent=r.traffic.entries,
            snapshots_sent=r.traffic.snapshots,
            failures=list(r.failures),
            driver=r.driver,
            controller=r.controller,
        )

    # --- following (the mirror's thread) --------------------------------------------------

    def take(self, rows: statuses.StatusRows) -> None:
        """Hold what the rows say (each replaces what its key held)."""
        ports = self._ports
        for port in rows.ports:
            key = (port.port_id, port.host)
            if port.revision == statuses.NOT_PROGRAMMED:
                ports.pop(key, None)
            else:
                details = _DETAILS.decode(port.vif_details) if port.vif_details != "{}" else {}
                ports[key] = (port.revision, MappingProxyType(details) if details else _NO_DETAILS)
        for row in rows.hosts:
            self._hosts[row.host] = _host(_REPORTED.decode(row.report), self._wall, self._clock)
        self.held = max(self.held, rows.revision)
        if self._own:
            self._own = {r for r in self._own if r > self.held}
        self.ready = True

    def own(self, revision: int) -> None:
        """This process wrote the rows of counter value ``revision`` (``excluding``): a read
        after it that would find only such rows is spared (a lost note costs only a read)."""
        self._own.add(revision)

    def read(self, reader: Reader) -> statuses.StatusRows:
        held = self.held
        counter = reader.status_revision()
        if counter <= held or (
            counter - held <= OWN_RUN and all(r in self._own for r in range(held + 1, counter + 1))
        ):
            return statuses.StatusRows(revision=counter, ports=[], hosts=[])
        return reader.status_since(held, excluding=self.excluding)

    def follow(
        self,
        read: Callable[[Callable[[Reader], statuses.StatusRows]], statuses.StatusRows],
        wakeups: Callable[[Callable[[], None]], Callable[[], None]],
        *,
        poll: float = POLL,
    ) -> Callable[[], None]:
        """Follow the rows in a thread of its own: ``read`` runs a read on the store
        (``SqlStore.read_now``), ``wakeups`` is the store's ``status_wakeups``. Returns the
        function that stops it."""
        self._stop.clear()
        thread = threading.Thread(
            target=self._follow, args=(read, poll), name="alcor-status-mirror", daemon=True
        )
        thread.start()
        stop_waking = wakeups(self._woken.set)

        def stop() -> None:
            stop_waking()
            self._stop.set()
            self._woken.set()
            thread.join(5.0)

        return stop

    def _follow(
        self,
        read: Callable[[Callable[[Reader], statuses.StatusRows]], statuses.StatusRows],
        poll: float,
    ) -> None:
        while not self._stop.is_set():
            self._woken.wait(poll)
            self._woken.clear()
            if self._stop.is_set():
                return
            try:
                self.take(read(self.read))
            except Exception as error:
                log.warning("reading the status rows failed (%s); retrying", error)
                self._stop.wait(RETRY)
                self._woken.set()


def _host(reported: Reported, wall: Callable[[], float], clock: Callable[[], float]) -> _Host:
    link = None
    if reported.link_at is not None:
        link = status.Link(
            connected=reported.connected,
            since=clock() - max(0.0, wall() - reported.link_at),
            at=reported.link_at,
            agent_version=reported.agent_version,
            peer=reported.peer,
        )
    failed = frozenset(f"{f.kind}:{f.id}" for f in reported.failures)
    return _Host(reported, failed, link)


def _iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


class Combined:
    """A serving process's view: its board for the hosts it has a stream record of, unless
    another process wrote of the host since; the mirror of the others' rows for the rest."""

    def __init__(self, board: status.StatusBoard, mirror: StatusMirror) -> None:
        self.board = board
        self.mirror = mirror

    def _of(self, host: str) -> status.StatusView:
        written = self.mirror.written_at(host)
        if written is None:  # no other process wrote of it: the path of every own host
            return self.board
        link = self.board.link_of(host)
        return self.mirror if link is None or written > link.at else self.board

    @property
    def revision(self) -> int:
        return self.board.revision

    @property
    def ready(self) -> bool:
        return self.board.ready

    def port_status(self, port_id: str, host: str) -> str:
        return self._of(host).port_status(port_id, host)

    def vif_details(self, port_id: str, host: str) -> Mapping[str, str]:
        return self._of(host).vif_details(port_id, host)

    def holders(self, port_id: str) -> list[str]:
        return sorted({*self.board.holders(port_id), *self.mirror.holders(port_id)})

    def held_status(self, port_id: str, host: str, router_id: str) -> str | None:
        return self._of(host).held_status(port_id, host, router_id)

    def knows(self, port_id: str) -> bool:
        return self.board.knows(port_id) or self.mirror.knows(port_id)

    def hosts(self) -> list[str]:
        return sorted({*self.board.hosts(), *self.mirror.hosts()})

    def connected_hosts(self) -> int:
        return sum(
            link.connected
            for link in (self.link_of(host) for host in self.hosts())
            if link is not None
        )

    def health_of(self, host: str) -> status.Health | None:
        return self._of(host).health_of(host)

    def link_of(self, host: str) -> status.Link | None:
        return self._of(host).link_of(host)

    def report(self, host: str) -> status.HostReport | None:
        return self._of(host).report(host)
