"""The southbound server: gRPC streams to the host agents, in a thread of its own.

``SouthboundServer.start`` runs a thread with its own asyncio event loop (the API's uvloop is
left alone) that owns the goal-state engine: it binds the gRPC server, follows the store's
change log (``following``) into the hub (``sessions``), and serves ``Southbound.Connect``, one
stream per host (``streams``: what is said on one). It also keeps the replica's lease
(``leases``), the status rows (``reporting``), and the checkpoints and compaction
(``checkpointing``) going, and reports whether it serves through gRPC's health service
(``health``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading

import grpc
import grpc.aio
import msgspec

from alcor.goalstate.engine import Engine
from alcor.model import dns
from alcor.services.nodes import Nodes
from alcor.services.status import StatusBoard
from alcor.southbound import checkpointing, credentials, health, owners
from alcor.southbound.checkpointing import Checkpointer, Checkpointing
from alcor.southbound.compacting import Compaction, stored_floor
from alcor.southbound.following import PAGE, POLL, Following
from alcor.southbound.leases import LeaseSettings, Membership
from alcor.southbound.meters import Meters, add_service
from alcor.southbound.reporting import Reporter
from alcor.southbound.sessions import Delivery, Hub
from alcor.southbound.streams import SouthboundService
from alcor.southbound.watching import NodeWatch
from alcor.store.interface import Change, Store
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
    health: str = ""  # HOST:PORT: gRPC's health service alone, in plaintext ('': not so)
    dns_domain: str = dns.DEFAULT_DOMAIN  # the domain of ports' names, in networks' entries


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
        meters: Meters | None = None,
    ) -> None:
        self.settings = settings
        self._meters = meters  # None: nothing counted in the streams (no --metrics-bind)
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
        self.health = health.Health()

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
        hub = Hub(
            board=self._board, delivery=settings.delivery, clock=loop.time, meters=self._meters
        )

        server = grpc.aio.server(options=_OPTIONS)
        self.port = self._listen(server)
        if self.port == 0 and not settings.address.startswith("unix:"):
            raise RuntimeError(f"cannot listen on {settings.address}")

        engine_ready = False

        def moved() -> None:  # the live replicas changed: hand on the hosts no longer ours
            self.health.serving(engine_ready and not membership.fenced)
            for host in hub.hosts():
                if not membership.owns(host):
                    hub.move(host, membership.address_of(membership.owner_of(host)))
            if self._reporter is not None:  # and report whole the hosts that became ours
                self._reporter.view_changed()

        leases = msgspec.structs.replace(
            settings.leases, advertise=advertised(settings, port=self.port)
        )
        self._board.serving = leases.advertise or settings.address
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
        if self._meters is not None:
            add_service(service, server, self._meters)
        else:
            pb_grpc.add_SouthboundServicer_to_server(service, server)
        await self.health.start(server, plain_address=settings.health)
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
                nonlocal watching, compacting, engine_ready
                hub.ready()
                engine_ready = True
                self.health.serving(not membership.fenced)
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
            await self.health.stopping()
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await membership.leave()  # its hosts go to the others now, not a lease later
            await server.stop(grace=1.0)
            await self.health.stop()
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
            hub.engine = (
                restored if restored is not None else Engine(dns_domain=self.settings.dns_domain)
            )
            # the engine built (or restored) before anything is applied: with the domain of
            # ports' names, which a checkpoint does not keep
            hub.engine.dns_domain = self.settings.dns_domain
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
