"""Reporting status to the store, for the processes that do not serve the hosts.

Runs in the southbound loop. The board notes what each change touched (``services.status``:
a port on a host, a host); the reporter writes the rows of what was touched, as the board holds
it at the moment of writing (``store/statuses.py``; read by ``services.status_mirror``):

- at once, when a port's programming or reported details changed, or a host's link, lost
  state, acknowledged revision or failures (an ack that makes 500 ports ACTIVE changes one
  host row: a port row holds the revision that programs it, the host row what the host
  acknowledged);
- at most once every ``counters_every`` seconds, when only counters changed: heartbeats,
  messages sent, ports held, and the desired revision. So a host falling behind shows its lag
  within a second, and catching up at once (its ack). Writing the fall behind at once too cost
  a host row for every host a change reaches, twice (behind, then caught up): at 300 port
  creates a second over 1,000 hosts, thousands of rows a second and a tenth of the creates.

"At once" is at most one write a ``window`` (20 ms), as the outboxes coalesce goal states: the
first change after a quiet spell is written at once, what comes within the window after a write
waits for its end and goes together. So under load the rows of many changes share one write
(each table one statement) and the store's writer sees at most 50 status writes a second,
however many acks come. A write that fails is tried again with everything touched since.

At start, before any row of its own, ``disown`` marks disconnected every host that a row says
is connected, as of that row's last write (the last word of the host that process passed on),
unless the row's writer is a live southbound replica: those rows are an earlier process's, and
a host is connected to this one only once its agent is back (docs/architecture.md, "Roles":
what a reader trusts).

With southbound replicas sharing the hosts (``leases.Membership``, whose replica id is this
process's writer name), a replica writes the rows of the hosts it owns only: a host it hands on
is written by its new owner, and its own "disconnected" when it ended the stream must not land
after the new owner's "connected". When the live replicas change (``view_changed``), a replica
writes whole every host it owns now and did not before, with every port programmed there: what
it left unwritten while another owned it (or its rows, if that one died).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

import msgspec

from alcor.services import status, status_mirror
from alcor.southbound import owners
from alcor.store import statuses
from alcor.store.interface import Store, Writer

log = logging.getLogger(__name__)

CHUNK = 5000  # port rows per write: a restart re-reports every port, in turns with the API
COUNTERS_EVERY = 1.0  # seconds
WINDOW = 0.02  # seconds: at most one write in each
RETRY = 1.0  # seconds before a failed write is tried again

_encode = msgspec.json.encode
_REPORTED = msgspec.json.Decoder(status_mirror.Reported)


def reported(board: status.StatusBoard, host: str, *, at: float) -> status_mirror.Reported:
    """The host's row as the board holds it now."""
    link = board.link_of(host)
    acked = board.acked_of(host)
    return status_mirror.Reported(
        connected=link is not None and link.connected,
        link_at=link.at if link is not None else None,
        agent_version=link.agent_version if link is not None else "",
        peer=link.peer if link is not None else "",
        driver=link.driver if link is not None else "",
        controller=board.serving,
        lost=board.is_lost(host),
        grace=board.grace,
        desired=board.desired_of(host),
        acked=acked.revision if acked is not None else 0,
        acked_at=acked.at if acked is not None else None,
        programming_micros=acked.programming_micros if acked is not None else 0,
        failures=board.failures_of(host),
        health=board.health_of(host),
        traffic=board.traffic_of(host),
        ports=board.ports_on(host),
        written_at=at,
    )


def port_row(board: status.StatusBoard, port_id: str, host: str) -> statuses.PortRow:
    details = board.reported_of(port_id, host)
    return statuses.PortRow(
        port_id=port_id,
        host=host,
        revision=board.programmed_on(port_id, host),
        vif_details=_encode(dict(details)).decode() if details else "{}",
    )


class Replicas(Protocol):
    """The southbound replicas sharing the hosts, as this one sees them (``leases.Membership``)."""

    @property
    def members(self) -> Mapping[str, str]: ...

    def owns(self, key: str) -> bool: ...

    async def until_joined(self) -> None: ...


class Reporter:
    def __init__(
        self,
        *,
        board: status.StatusBoard,
        store: Store,
        writer: str,
        counters_every: float = COUNTERS_EVERY,
        window: float = WINDOW,
        chunk: int = CHUNK,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.board = board
        self.store = store
        self.writer = writer  # this process, named on its rows
        self.counters_every = counters_every
        self.window = window
        self.chunk = chunk
        self.writes = 0  # since start
        # told the counter value of each write (this process's mirror: ``StatusMirror.own``)
        self.on_written: Callable[[int], None] | None = None
        self._clock = clock
        self._ports: set[tuple[str, str]] = set()
        self._urgent: set[str] = set()  # hosts to write at once
        self._counted: set[str] = set()  # hosts whose counters only changed
        self._last_counted = -counters_every  # when every touched host was last written
        self._last_write = -window  # when the last write began (monotonic)
        self._woken: asyncio.Event | None = None
        self._later: asyncio.TimerHandle | None = None
        self._replicas: Replicas | None = None  # None: this process serves every host
        self._members: Mapping[str, str] = {}  # the live replicas as last seen

    def touched(self) -> None:
        """The board's ``on_touch``: runs in the southbound loop, on every noted change."""
        if self._woken is not None:
            self._woken.set()

    def view_changed(self) -> None:
        """The live replicas changed: note whole every host this replica owns now and did not
        (its ports' rows and its own), to be written with the next step."""
        replicas = self._replicas
        if replicas is None:
            return
        before, self._members = self._members, dict(replicas.members)

        def gained(host: str) -> bool:
            return replicas.owns(host) and owners.owner(host, before) != self.writer

        hosts = {host for host in self.board.hosts() if gained(host)}
        ports = self.board.programmed_where(gained)
        hosts.update(host for _port, host in ports if host != status.KNOWN)
        if hosts:
            self._ports.update(ports)
            self._urgent |= hosts
            self.touched()

    async def disown(self) -> int:
        """Mark every host a row says is connected disconnected, as of the row's last write,
        but those a live replica wrote; drop the rows of ports no longer programmed. Returns how
        many hosts it marked."""
        live = set(self._replicas.members) if self._replicas is not None else set()

        def work(writer: Writer) -> int:
            rows = writer.status_since(0)
            marked = []
            for row in rows.hosts:
                if row.writer == self.writer or row.writer in live:
                    continue  # a host that came to this process already, or another's
                held = _REPORTED.decode(row.report)
                if held.connected:
                    gone = msgspec.structs.replace(held, connected=False, link_at=held.written_at)
                    marked.append(
                        statuses.HostRow(host=row.host, writer=row.writer, report=_encode_str(gone))
                    )
            writer.forget_unprogrammed_status()
            if marked:
                writer.write_status(writer=self.writer, hosts=marked)  # the hosts keep theirs
            return len(marked)

        return await self.store.write(work)

    async def run(self, *, replicas: Replicas | None = None) -> None:
        """Disown, then write what the board touches, until cancelled; with ``replicas``, once
        this one joined them, and of the hosts it owns only."""
        self._woken = asyncio.Event()
        self.board.on_touch = self.touched
        if replicas is not None:
            await replicas.until_joined()
            self._replicas, self._members = replicas, dict(replicas.members)
        while True:
            try:
                marked = await self.disown()
                break
            except Exception:
                log.exception("marking the hosts of an earlier process disconnected failed")
                await asyncio.sleep(RETRY)
        if marked:
            log.info("%d host(s) an earlier process served: disconnected until they return", marked)
        self._woken.set()
        while True:
            await self._woken.wait()
            self._woken.clear()
            await self.step()

    async def step(self) -> None:
        """Take what the board touched; write what is due, and wake when the rest is."""
        touched = self.board.take_touched()
        replicas = self._replicas
        if replicas is None:
            self._ports |= touched.ports
        else:
            self._ports.update(key for key in touched.ports if replicas.owns(key[1]))
        for host, urgent in touched.hosts.items():
            if replicas is not None and not replicas.owns(host):
                continue
            if urgent:
                self._urgent.add(host)
            else:
                self._counted.add(host)
        now = self._clock()
        counters_due = now - self._last_counted >= self.counters_every
        if self._ports or self._urgent or (self._counted and counters_due):
            wait = self._last_write + self.window - now
            if wait <= 0:
                try:
                    await self.flush(counters=counters_due)
                except Exception:
                    log.exception("writing status rows failed; retrying")
                    await asyncio.sleep(RETRY)
                    self.touched()
                    return
                now = self._clock()
                wait = self._last_counted + self.counters_every - now
        else:
            wait = self._last_counted + self.counters_every - now
        if self._ports or self._urgent or self._counted:
            self._wake_in(max(wait, 0.0))

    def _wake_in(self, wait: float) -> None:
        """Step again in ``wait`` seconds, unless a step is due sooner already."""
        loop = asyncio.get_running_loop()
        later = self._later
        if later is not None:
            if later.when() <= loop.time() + wait:
                return
            later.cancel()
        self._later = loop.call_later(wait, self._due)

    def _due(self) -> None:
        self._later = None
        self.touched()

    async def flush(self, *, counters: bool = True) -> None:
        """Write the rows of every port and urgent host touched (with ``counters``, of every
        host touched), a chunk of ports per write."""
        if counters:
            self._urgent |= self._counted
            self._counted = set()
            self._last_counted = self._clock()
        while self._ports or self._urgent:
            keys = [self._ports.pop() for _ in range(min(self.chunk, len(self._ports)))]
            hosts, self._urgent = self._urgent, set()
            board, at = self.board, self.board.now()
            ports = [port_row(board, port_id, host) for port_id, host in keys]
            rows = [
                statuses.HostRow(
                    host=host,
                    writer=self.writer,
                    report=_encode_str(reported(board, host, at=at)),
                )
                for host in hosts
            ]
            self._counted -= hosts  # written as they are now
            self._last_write = self._clock()
            try:
                revision = await self.store.write(
                    lambda writer, p=ports, h=rows: writer.write_status(  # type: ignore[misc]
                        writer=self.writer, ports=p, hosts=h
                    )
                )
            except BaseException:
                self._ports.update(keys)
                self._urgent |= hosts
                raise
            self.writes += 1
            if self.on_written is not None:
                self.on_written(revision)


def _encode_str(reported: status_mirror.Reported) -> str:
    return _encode(reported).decode()
