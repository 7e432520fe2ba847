"""The hub: the goal-state engine, the hosts' open streams, and what flows between them.

Everything here runs in the southbound loop's one thread, so the engine and the sessions need
no locks. ``apply`` runs a committed change through the engine and drops each affected host's
entries into that host's outbox (if it is connected; one that is not will ask for the delta
when it comes back) and tells the status board what it programs. While ``replaying`` (the
change log, at start, before any host may connect) it applies quietly: the engine builds no
deltas, and ``ready`` then tells the board at once what the replay programmed.

``open`` answers a host's Hello: a snapshot when it holds nothing of this store (revision 0,
another store's id, a revision the store never reached, or removals it would need were compacted
away), otherwise the delta since its revision; always one goal state, so the agent knows it is
current. A second stream of the same host replaces the first. ``goal_states`` is a session's
sender: it waits for its outbox and yields one goal state for all that waited, at most one per
coalescing window.

No call here waits on a host: a host that reads slowly only fills its own outbox, and is
dropped to a snapshot when that overflows (``outboxes``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable

import msgspec

from alcor.goalstate.engine import Engine
from alcor.model import records
from alcor.services import status
from alcor.southbound.meters import Meters
from alcor.southbound.outboxes import Outbox
from alcor.store.interface import Change
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

log = logging.getLogger(__name__)


# the kinds of change that can move a router's entry on some host
_ROUTER_MOVERS = frozenset({"router", "port", "subnet", "network", "node"})


def router_ports(router: pb.Router, host: str) -> frozenset[str]:
    """The router's ports its entry programs on ``host``: every interface, and the gateway
    port where the host serves the gateway."""
    ports = {interface.port_id for interface in router.interfaces}
    if router.HasField("gateway") and router.gateway_host_id == host:
        ports.add(router.gateway.port_id)
    return frozenset(ports)


def _know_router_port(board: status.StatusBoard, change: Change) -> None:
    """Tell the board the engine took in a router's port (or that one is gone)."""
    port = change.record
    if isinstance(port, records.Port) and port.router_id and change.operation != "delete":
        board.know(port.id, change.revision)
    else:
        board.know(change.resource_id, change.revision, known=False)


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """How goal states go out: the coalescing window (seconds; a host is sent at most one goal
    state per window) and the per-host bound (entries waiting)."""

    window: float = 0.005
    limit: int = 10_000


class Session:
    """One host's open stream."""

    __slots__ = ("closed", "first", "host", "moved_to", "outbox", "replaced", "sent", "wake")

    def __init__(self, host: str, first: pb.GoalState, delivery: Delivery) -> None:
        self.host = host
        self.first: pb.GoalState | None = first  # until the sender takes it
        self.sent = first.revision  # the highest revision sent on this stream
        self.outbox = Outbox(limit=delivery.limit, window=delivery.window)
        self.wake = asyncio.Event()
        self.closed = False
        self.replaced = False  # by a newer stream of the same host
        self.moved_to: str | None = None  # another replica owns the host now: where it is

    def close(self) -> None:
        self.closed = True
        self.wake.set()


class Hub:
    def __init__(
        self,
        *,
        board: status.StatusBoard,
        delivery: Delivery,
        clock: Callable[[], float],
        engine: Engine | None = None,
        meters: Meters | None = None,
    ) -> None:
        self.engine = engine or Engine()
        self.board = board
        self.meters = meters  # None: nothing counted (no --metrics-bind)
        self.store_id = ""
        self._delivery = delivery
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        # The lifecycle: ``replay`` (the change log is applied quietly: no host is connected to
        # hear of it), then ``ready`` (apply loudly; streams are served from now:
        # ``until_ready``). A hub built without ``replay`` applies loudly from the start.
        self.replaying = False
        self._ready = asyncio.Event()

    def replay(self) -> None:
        """The change log is about to be replayed from the start: apply it quietly."""
        self.replaying = True
        self._ready.clear()

    @property
    def is_ready(self) -> bool:
        return self._ready.is_set()

    async def until_ready(self) -> None:
        """Return once the replay is over (a stream waits here before it is served)."""
        await self._ready.wait()

    # --- intent in ---------------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        replaying = self.replaying
        meters = None if replaying else self.meters  # a replay's applies are not timed
        started = meters.clock() if meters is not None else 0.0
        try:
            deltas = self.engine.apply(
                change.revision,
                change.operation,
                change.record,
                quiet=replaying,
            )
        except Exception:
            log.exception("the goal-state engine failed on revision %d", change.revision)
            return
        if meters is not None:
            meters.applying.observe(meters.clock() - started)
        board = self.board
        board.revision = change.revision
        if replaying:
            return
        if change.resource_type == "port":
            _know_router_port(board, change)
        if not deltas:
            return
        board.desire_all(deltas, change.revision)  # every entry of a change carries its revision
        self._note_routers(change, deltas)  # first: it asks the board where the port was
        if change.resource_type == "port":
            self._note_port(change, deltas)
        now = self._clock()
        for host in deltas.keys() & self._sessions.keys():  # C loops over the smaller
            session = self._sessions[host]
            session.outbox.add(deltas[host], now)
            session.wake.set()

    def ready(self) -> None:
        """The replay is over: tell the board what its deltas would have, then apply loudly. A
        host's deltas would have gone no further than the engine's revision, and a host that
        resumes is first sent a goal state at that revision."""
        self.replaying = False
        board, engine = self.board, self.engine
        for port_id, host, revision in engine.programmed():
            board.program(port_id, host, revision)
        for host, router, revision in engine.routers_held():
            board.hold_router(router.id, host, revision, router_ports(router, host))
        for port in engine.intent.ports.values():
            if port.router_id:
                board.know(port.id, engine.revision)
        for host in engine.known_hosts():
            board.desire(host, engine.revision)
        self._ready.set()

    def _note_port(self, change: Change, deltas: dict[str, list[pb.Entry]]) -> None:
        """Tell the board which host now programs the port: only a port's own change moves
        its entry, and only on the host it left and the host it joined."""
        board = self.board
        port_id = change.resource_id
        port = change.record
        bound = port.binding_host_id if isinstance(port, records.Port) else ""
        port_key = keys.key("port", port_id)
        for host in {board.host_of(port_id), bound} - {""}:
            for entry in deltas.get(host, ()):
                if keys.entry_key(entry) != port_key:
                    continue
                if entry.HasField("port"):
                    board.program(port_id, host, entry.revision)
                else:
                    board.unprogram(port_id, host)

    def _note_routers(self, change: Change, deltas: dict[str, list[pb.Entry]]) -> None:
        """Tell the board which router ports each host's router entries now carry. Only
        changes of these kinds move router entries; a port that is no router's moves them only
        on the hosts it binds to (its own subscriptions), a router's port on every host."""
        kind = change.resource_type
        if kind not in _ROUTER_MOVERS:
            return
        hosts: Iterable[str] = deltas
        if kind == "port":
            port = change.record
            board = self.board
            if not (isinstance(port, records.Port) and port.router_id) and not board.holders(
                change.resource_id
            ):
                bound = port.binding_host_id if isinstance(port, records.Port) else ""
                hosts = {board.host_of(change.resource_id), bound} & deltas.keys()
        for host in hosts:
            for entry in deltas[host]:
                which = entry.WhichOneof("resource")
                if which == "router":
                    ports = router_ports(entry.router, host)
                    self.board.hold_router(entry.router.id, host, entry.revision, ports)
                elif which == "removal" and entry.removal.kind == pb.ROUTER:
                    self.board.hold_router(entry.removal.id, host, entry.revision, frozenset())

    # --- streams -----------------------------------------------------------------------------

    def open(self, hello: pb.Hello, *, peer: str = "") -> Session:
        """A host said Hello: its first goal state, and its session from now on."""
        host = hello.host_id
        engine = self.engine
        resumable = (
            hello.applied_revision
            and hello.store_id == self.store_id
            and hello.applied_revision <= engine.revision
        )
        delta = engine.delta_since(host, hello.applied_revision) if resumable else None
        if delta is None:
            first = self._snapshot(host)
            applied = 0
        else:
            first = pb.GoalState(revision=engine.revision, store_id=self.store_id, entries=delta)
            applied = hello.applied_revision
        old = self._sessions.get(host)
        if old is not None:
            old.replaced = True
            old.close()
        session = Session(host, first, self._delivery)
        self._sessions[host] = session
        self.board.connected(
            host,
            applied_revision=applied,
            agent_version=hello.agent_version,
            peer=peer,
            driver=driver_of(hello.capabilities),
        )
        self.board.desire(host, first.revision)
        self.board.sent(host, entries=len(first.entries), snapshot=first.snapshot)
        return session

    def _snapshot(self, host: str) -> pb.GoalState:
        return pb.GoalState(
            revision=self.engine.revision,
            store_id=self.store_id,
            snapshot=True,
            entries=self.engine.snapshot(host),
        )

    def hosts(self) -> list[str]:
        """The hosts with an open stream."""
        return list(self._sessions)

    def move(self, host: str, address: str) -> None:
        """Another replica owns the host now: end its stream, which tells it ``address``."""
        session = self._sessions.get(host)
        if session is not None:
            session.moved_to = address
            self.close(session)

    def close(self, session: Session) -> None:
        session.close()
        if self._sessions.get(session.host) is session:
            del self._sessions[session.host]
            self.board.disconnected(session.host)

    async def goal_states(self, session: Session) -> AsyncIterator[pb.GoalState]:
        """What to send on the session's stream, as it comes, until the session is closed."""
        first, session.first = session.first, None  # a snapshot is not kept for the stream's life
        if first is not None:
            yield first
        while not session.closed:
            await session.wake.wait()
            session.wake.clear()
            due = session.outbox.due_at()
            if session.closed or due is None:
                continue
            delay = due - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
                if session.closed:
                    break
            goal = self.take(session)
            if goal is not None:
                yield goal

    def take(self, session: Session) -> pb.GoalState | None:
        """Everything waiting for the session, as one goal state."""
        batch = session.outbox.take(self._clock())
        if batch is None:
            return None
        if batch.snapshot:
            goal = self._snapshot(session.host)
            self.board.desire(session.host, goal.revision)
        else:
            goal = pb.GoalState(
                revision=batch.revision, store_id=self.store_id, entries=batch.entries
            )
        session.sent = max(session.sent, goal.revision)
        self.board.sent(session.host, entries=len(goal.entries), snapshot=goal.snapshot)
        return goal

    # --- what hosts say ----------------------------------------------------------------------

    def receive(self, session: Session, message: pb.AgentMessage) -> None:
        if session.closed:
            return  # a replaced stream's last words
        which = message.WhichOneof("body")
        if which == "ack":
            if self.meters is not None:
                self.meters.acks.inc()
            ack = message.ack
            self.board.acknowledged(
                session.host,
                min(ack.revision, session.sent),  # never more than it was sent
                failures=[
                    status.Failure(
                        kind=keys.KIND_NAMES.get(failed.kind, "unknown"),
                        id=failed.id,
                        message=failed.message,
                    )
                    for failed in ack.failed
                ],
                programming_micros=ack.programming_micros,
                bindings={b.port_id: dict(b.vif_details) for b in ack.bindings},
            )
        elif which == "heartbeat":
            beat = message.heartbeat
            self.board.heartbeat(
                session.host,
                status.Health(
                    at=self.board.now(),
                    agent_version=beat.agent_version,
                    uptime_seconds=beat.uptime_seconds,
                    load1=beat.load1,
                    resource_counts=dict(beat.resource_counts),
                    dataplane_errors=beat.dataplane_errors,
                ),
            )
        else:
            log.warning("host %s sent an unexpected %s", session.host, which)


def driver_of(capabilities: Iterable[str]) -> str:
    """The driver an agent's Hello names: its first capability (``recording``, ``linux``)."""
    return next(iter(capabilities), "")
