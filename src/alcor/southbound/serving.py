"""The southbound server: gRPC streams to the host agents, in a thread of its own.

``SouthboundServer.start`` runs a thread with its own asyncio event loop (the API's uvloop is
left alone) that owns the goal-state engine: it binds the gRPC server, follows the store's
change log (``following``) into the hub (``sessions``), and serves ``Southbound.Connect``, one
stream per host. This module is also the one place where the protocol's conversations end in a
gRPC status.

A stream: the agent's first message is its Hello (a stream that says anything else, or nothing
for ``hello_timeout`` seconds, is refused or ended); Hellos wait until the engine has replayed
the change log after a start; then goal states flow one way and acks and heartbeats the other,
until either side goes or a newer stream of the same host replaces this one (ABORTED).

Replicas (``leases``, ``owners``): every southbound process holds a lease in the store and the
live ones share the hosts by rendezvous hashing. A Hello for a host another replica owns is
answered with a Redirect to that replica's advertised address, and so are the streams of the
hosts a replica stops owning when the live set changes (one joined, or one's lease ran out);
the agent resumes there with a delta, since every replica follows the whole change log of the
same store. One replica compacts the log (the owner of ``owners.COMPACTION``), and each marks
down only the nodes it owns. A Hello is held rather than redirected while its owner looks
dead (the agent says it failed on the owner's address, or the owner's lease stopped moving):
those hosts are served the moment the owner's lease runs out, not sent back and forth.

Who may connect (see ``credentials``): with TLS (``--southbound-tls-*``) only a host with a
certificate from the controller's CA, and only for the host id its certificate names: a Hello
for another host ends the stream with PERMISSION_DENIED (logged), and since a stream's acks and
heartbeats are its Hello's host's, none can speak for another host. Without TLS (loopback or a
unix socket only, unless ``--southbound-insecure``) any local process may speak for any known
node.

Nodes are the operator's: a host that is a node connects with its node record as it is; a Hello
whose underlay address or physical networks differ from the record changes nothing (the
difference is logged). A host that is not a node is registered on its Hello (with the Hello's
underlay address and the physical networks its certificate names) only if it authenticated
(TLS), the controller registers hosts (not ``--no-register-hosts``) and fewer than
``register_limit`` hosts registered so; otherwise its stream gets a Refusal, which the agent
does not retry. A Hello with an underlay address nobody can reach (loopback, unspecified,
multicast, link-local) is refused too. Every Hello, ack and heartbeat tells the node watch
(``watching``) that its host is alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
from collections.abc import AsyncIterator

import grpc
import grpc.aio
import msgspec

from alcor.goalstate.engine import Engine
from alcor.model import errors
from alcor.services import nodes
from alcor.services.nodes import Nodes
from alcor.services.status import StatusBoard
from alcor.southbound import certificates, checkpointing, credentials, owners
from alcor.southbound.checkpointing import Checkpointer, Checkpointing
from alcor.southbound.compacting import Compaction, stored_floor
from alcor.southbound.following import PAGE, POLL, Following
from alcor.southbound.leases import LeaseSettings, Membership
from alcor.southbound.reporting import Reporter
from alcor.southbound.sessions import Delivery, Hub, Session
from alcor.southbound.watching import NodeWatch
from alcor.store.interface import Change, Store
from alcor.v1 import southbound_pb2 as pb
from alcor.v1 import southbound_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "127.0.0.1:9697"
OFF = "off"  # serve no agents (an API-only controller)

_OPTIONS = [
    ("grpc.so_reuseport", 0),  # a second controller on the same address must fail, not share it
    ("grpc.max_send_message_length", -1),  # a snapshot of a host in a large VPC is large
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),  # find agents that vanished without closing
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_pings_without_data", 0),
    # thousands of hosts reconnect at once after a controller restart: admit their streams
    # rather than cancel them into retries (gRPC's default limits are far lower)
    ("grpc.server.max_pending_requests", 100_000),
    ("grpc.server.max_pending_requests_hard_limit", 100_000),
]


class SouthboundSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``address`` is ``HOST:PORT``, ``unix:PATH`` or ``off``."""

    address: str = DEFAULT_ADDRESS
    delivery: Delivery = msgspec.field(default_factory=Delivery)
    hello_timeout: float = 30.0
    replay_page: int = PAGE
    log_poll: float = POLL  # seconds: a quiet southbound's safety poll of others' commits
    register_hosts: bool = True  # a Hello from an unknown authenticated host makes its node
    register_limit: int = 1000  # nodes registered so, beyond which unknown hosts are refused
    tls: credentials.TlsFiles | None = None  # None: plaintext (local addresses, or insecure)
    insecure: bool = False  # plaintext allowed beyond loopback and unix sockets
    node_down_after: float = 30.0  # seconds without a word from a host: its node is down
    compaction: Compaction = msgspec.field(default_factory=Compaction)
    leases: LeaseSettings = msgspec.field(default_factory=LeaseSettings)
    checkpoints: Checkpointing = msgspec.field(default_factory=Checkpointing)


class SouthboundService(pb_grpc.SouthboundServicer):
    def __init__(
        self,
        hub: Hub,
        *,
        hello_timeout: float,
        watch: NodeWatch | None = None,
        register_hosts: bool = True,
        register_limit: int = 1000,
        authenticated: bool = False,
        membership: Membership | None = None,
    ) -> None:
        self._hub = hub
        self._membership = membership  # None: the only southbound, owning every host
        self._hello_timeout = hello_timeout
        self._watch = watch
        self._register_hosts = register_hosts
        self._register_limit = register_limit
        self._authenticated = authenticated  # TLS: every stream's peer has a CA's certificate

    async def Connect(
        self,
        request_iterator: AsyncIterator[pb.AgentMessage],
        context: grpc.aio.ServicerContext[pb.AgentMessage, pb.ControllerMessage],
    ) -> AsyncIterator[pb.ControllerMessage]:
        requests = aiter(request_iterator)
        try:
            first = await asyncio.wait_for(anext(requests), self._hello_timeout)
        except (StopAsyncIteration, TimeoutError):
            return
        if first.WhichOneof("body") != "hello" or not first.hello.host_id:
            reason = "the first message of a stream must be a Hello with a host_id"
            yield pb.ControllerMessage(refusal=pb.Refusal(reason=reason))
            return
        identity = None
        if self._authenticated:  # the TLS handshake verified the certificate; whose is it?
            identity = credentials.peer_identity(context.auth_context())
        if identity is not None and first.hello.host_id not in identity.hosts:
            named = ", ".join(identity.hosts) or "no host"
            log.warning(
                "refused a Hello for host %s from %s: its certificate is for %s",
                first.hello.host_id,
                context.peer(),
                named,
            )
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"this client certificate is for {named}, not for host {first.hello.host_id}",
            )
        await self._hub.until_ready()
        elsewhere = await self._elsewhere(first.hello)
        if elsewhere is not None:
            yield pb.ControllerMessage(redirect=elsewhere)
            return
        refusal = await self._admit(first.hello, identity)
        if refusal:
            yield pb.ControllerMessage(refusal=pb.Refusal(reason=refusal))
            return
        session = self._hub.open(first.hello, peer=context.peer())
        if self._watch is not None:
            self._watch.heard(session.host)
        reading = asyncio.create_task(self._read(session, requests))
        try:
            async for goal in self._hub.goal_states(session):
                yield pb.ControllerMessage(goal_state=goal)
        finally:
            reading.cancel()
            self._hub.close(session)
        if session.moved_to is not None:
            reason = "another southbound replica owns this host now"
            yield pb.ControllerMessage(
                redirect=pb.Redirect(address=session.moved_to, reason=reason)
            )
        elif session.replaced:
            await context.abort(
                grpc.StatusCode.ABORTED, "replaced by a newer stream of the same host"
            )

    async def _elsewhere(self, hello: pb.Hello) -> pb.Redirect | None:
        """Where a host this replica does not own should go (None: it owns it). A host whose
        owner looks dead (the agent failed on its address, or ``Membership.suspect``) is held
        until the owner's lease is seen to move or runs out, two leases at most, rather than
        sent back to a replica that will not answer."""
        membership, host = self._membership, hello.host_id
        if membership is None:
            return None
        await membership.until_joined()
        held = membership.now()  # a hold ends two leases on, or when the owner is seen alive
        while not membership.owns(host):
            if membership.fenced:
                return pb.Redirect(reason="this southbound replica cannot renew its lease now")
            owner = membership.owner_of(host)
            address = membership.address_of(owner)
            failed = bool(hello.unreachable) and address == hello.unreachable
            dead = (failed or membership.suspect(owner)) and not membership.moved_since(owner, held)
            if not dead or membership.now() > held + 2 * membership.settings.lease:
                reason = f"southbound replica {owner} owns host {host}"
                return pb.Redirect(address=address, reason=reason)
            await membership.next_view()
        return None

    async def _admit(self, hello: pb.Hello, identity: certificates.Identity | None) -> str:
        """Why the host may not connect ('' if it may): it is a node, or becomes one now."""
        host = hello.host_id
        refusal = ""
        try:
            if hello.underlay_ip:
                nodes.check_underlay_ip(hello.underlay_ip)
            refusal = await self._known_or_registered(hello, identity)
        except errors.AlcorError as error:
            refusal = error.message
        if refusal:
            log.warning("refused host %s: %s", host, refusal)
        return refusal

    async def _known_or_registered(
        self, hello: pb.Hello, identity: certificates.Identity | None
    ) -> str:
        watch, host = self._watch, hello.host_id
        if watch is None:
            return ""
        mapped = watch.maps(host)
        if mapped is not None:
            _note_claims(hello, mapped=mapped, underlay=watch.underlay(host) or "")
            return ""
        stored = await watch.manager.named(host)  # made by another process, not yet followed
        if stored is not None:
            _note_claims(
                hello, mapped=sorted(stored.physical_networks), underlay=stored.underlay_ip
            )
            return ""
        if not self._register_hosts:
            return f"Host {host} is not a known node and this controller does not register hosts."
        if identity is None:
            return (
                f"Host {host} is not a known node and this controller registers only hosts "
                "that authenticate (TLS): create its node (POST /v2.0/nodes, alcor nodes load)."
            )
        await watch.manager.register(
            host,
            underlay_ip=hello.underlay_ip,
            physical_networks=identity.physical_networks,
            limit=self._register_limit,
        )
        return ""

    async def _read(self, session: Session, requests: AsyncIterator[pb.AgentMessage]) -> None:
        heard = self._watch.heard if self._watch is not None else None
        try:
            async for message in requests:
                self._hub.receive(session, message)
                if heard is not None:
                    heard(session.host)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the stream broke: the sender side ends it
            log.debug("stream of host %s ended: %s", session.host, error)
        finally:
            self._hub.close(session)


def _note_claims(hello: pb.Hello, *, mapped: list[str], underlay: str) -> None:
    """A known node's Hello claims nothing: what differs from its record is logged, no more."""
    claimed = sorted(set(hello.physical_networks))
    if claimed != mapped:
        log.warning(
            "host %s says it maps physical networks %s; its node holds %s, which stands "
            "(change it through the node API)",
            hello.host_id,
            claimed,
            mapped,
        )
    if hello.underlay_ip and underlay and hello.underlay_ip != underlay:
        log.warning(
            "host %s says its underlay address is %s; its node holds %s, which stands "
            "(change it through the node API)",
            hello.host_id,
            hello.underlay_ip,
            underlay,
        )


class SouthboundServer:
    """The southbound thread: start it once, stop it once."""

    def __init__(
        self,
        *,
        store: Store,
        board: StatusBoard,
        settings: SouthboundSettings,
        nodes: Nodes | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        self.settings = settings
        self._reporter = reporter  # None: status stays in this process (no status rows)
        self.port = 0  # the TCP port bound (useful when asked for port 0)
        self._store = store
        self._board = board
        self._nodes = nodes  # None: no node manager (no registration, no health watch)
        self.rotating: credentials.Rotating | None = None  # the TLS files, when TLS is on
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="alcor-southbound", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        """Run the thread; return once the gRPC server listens (or raise why it cannot)."""
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("the southbound server did not start")
        if self._error is not None:
            raise self._error

    def stop(self, timeout: float = 10.0) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # already stopped
                loop.call_soon_threadsafe(stopping.set)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(loop))
        except BaseException as error:
            if self._started.is_set():  # else ``start`` raises it
                log.exception("the southbound server failed")
            self._error = error
        finally:
            self._started.set()
            loop.close()

    def _listen(self, server: grpc.aio.Server) -> int:
        settings = self.settings
        address = settings.address
        if settings.tls is not None:
            try:
                self.rotating = credentials.Rotating(settings.tls)
            except (OSError, ValueError) as error:
                raise RuntimeError(f"TLS files unusable: {error}") from None
            port = server.add_secure_port(address, self.rotating.credentials())
            log.info("southbound on %s: mutual TLS, clients of CA %s", address, settings.tls.ca)
            return port
        if not credentials.local_only(address) and not settings.insecure:
            raise RuntimeError(
                "a southbound beyond loopback needs TLS (--southbound-tls-ca, "
                "--southbound-tls-cert, --southbound-tls-key) or --southbound-insecure"
            )
        log.warning(
            "southbound on %s in plaintext: any process that reaches it may speak for any "
            "known node (no host is registered)",
            address,
        )
        return server.add_insecure_port(address)

    async def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        self._stopping = asyncio.Event()
        settings = self.settings
        hub = Hub(board=self._board, delivery=settings.delivery, clock=loop.time)

        server = grpc.aio.server(options=_OPTIONS)
        self.port = self._listen(server)
        if self.port == 0 and not settings.address.startswith("unix:"):
            raise RuntimeError(f"cannot listen on {settings.address}")

        def moved() -> None:  # the live replicas changed: hand on the hosts no longer ours
            for host in hub.hosts():
                if not membership.owns(host):
                    hub.move(host, membership.address_of(membership.owner_of(host)))
            if self._reporter is not None:  # and report whole the hosts that became ours
                self._reporter.view_changed()

        leases = msgspec.structs.replace(
            settings.leases, advertise=advertised(settings, port=self.port)
        )
        membership = Membership(
            self._store,
            leases,
            on_change=moved,
            # its status rows are written under its replica id: others tell its rows live
            replica_id=self._reporter.writer if self._reporter is not None else None,
        )
        watch = (
            NodeWatch(
                board=self._board,
                manager=self._nodes,
                down_after=settings.node_down_after,
                owns=membership.owns,
            )
            if self._nodes is not None
            else None
        )
        service = SouthboundService(
            hub,
            hello_timeout=settings.hello_timeout,
            watch=watch,
            register_hosts=settings.register_hosts,
            register_limit=settings.register_limit,
            authenticated=settings.tls is not None,
            membership=membership,
        )
        pb_grpc.add_SouthboundServicer_to_server(service, server)
        await server.start()
        renewing = asyncio.create_task(membership.run())  # listening: its address may be sent
        self._started.set()

        def apply(change: Change) -> None:
            hub.apply(change)
            if watch is not None:
                watch.changed(change)

        following = Following(
            self._store, apply, loop=loop, page=settings.replay_page, poll=settings.log_poll
        )
        watching: asyncio.Task[None] | None = None
        compacting: asyncio.Task[None] | None = None
        reporting = (
            None
            if self._reporter is None
            else asyncio.create_task(self._reporter.run(replicas=membership))
        )

        async def bootstrap_then_follow() -> None:
            while not hub.store_id:
                try:
                    hub.store_id = await self._store.read(lambda reader: reader.store_id())
                except Exception:
                    log.exception("reading the store's id failed; retrying")
                    await asyncio.sleep(1.0)
            floor = await stored_floor(self._store)

            def on_ready() -> None:
                nonlocal watching, compacting
                hub.ready()
                hub.engine.compact(floor)
                # the replay built the engine's millions of long-lived objects: move them out
                # of the collector's sight, so later full collections do not walk them all
                gc.freeze()
                log.info("goal-state engine at revision %d", following.revision)
                checkpointer = Checkpointer(
                    self._store,
                    hub.engine,
                    store_id=hub.store_id,
                    policy=settings.checkpoints,
                    compaction=settings.compaction,
                    mine=lambda: membership.owns(owners.COMPACTION),
                )
                compacting = asyncio.create_task(checkpointer.run())
                self._board.ready = True
                if watch is not None:
                    watching = asyncio.create_task(watch.run())

            hub.replay()
            floor = await self._rebuild(hub, following, floor=floor)
            if hub.engine.revision and watch is not None:  # restored: the nodes it did not see
                for node in await self._store.read(checkpointing.nodes):
                    watch.changed(node)
            await following.run(on_ready)

        task = asyncio.create_task(bootstrap_then_follow())
        try:
            await self._stopping.wait()
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await membership.leave()  # its hosts go to the others now, not a lease later
            await server.stop(grace=1.0)
            for running in (task, watching, compacting, reporting):
                if running is not None:
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running

    async def _rebuild(self, hub: Hub, following: Following, *, floor: int) -> int:
        """The engine up to the log's head, quietly: from the newest usable checkpoint and the
        log after it, else from the whole log; returns the store's floor. Another replica may
        compact while this one reads: a fold beyond where this replay stood consistent (the
        floor it started from, or its checkpoint) may have taken rows not read yet (a deleted
        resource's create read, its delete folded away with it), so then the replay is done
        again, from the checkpoint that fold implies (compaction never passes the newest)."""
        while True:
            store_id = hub.store_id
            restored = await checkpointing.restore(self._store, store_id=store_id, floor=floor)
            hub.engine = restored if restored is not None else Engine()
            following.revision = hub.engine.revision
            start = max(floor, following.revision)
            await following.catch_up()
            folded = await stored_floor(self._store)
            if folded <= start:
                return folded
            log.warning(
                "the change log was compacted through revision %d while this replica replayed "
                "it from revision %d: replaying again",
                folded,
                start,
            )
            floor = folded


def advertised(settings: SouthboundSettings, *, port: int) -> str:
    """The address other replicas send this one's agents to: ``--southbound-advertise``, else
    the bound address unless it is a wildcard (then none: agents try their next address)."""
    if settings.leases.advertise:
        return settings.leases.advertise
    address = settings.address
    if address.startswith("unix:"):
        return address
    host, _, _ = address.rpartition(":")
    if host.strip("[]") in ("", "0.0.0.0", "::"):
        return ""
    return f"{host}:{port}" if port else address
