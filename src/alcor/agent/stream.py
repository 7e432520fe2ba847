"""The stream client: one host's side of ``Southbound.Connect``.

An ``Agent`` opens the stream, says who it is and what it holds (``Hello``), applies every goal
state the controller sends to its ``HostState``, hands what changed to its driver and
acknowledges the revision with the resources that failed and the time programming took. Beside
that it sends a heartbeat every ``heartbeat_interval``, and while anything stands failed it
asks a driver that can (``drivers.Retrying``) to try again every ``retry_interval``, and acks
the same revision again with what still fails (a port that recovered becomes ``ACTIVE``).

Errors: any end of the stream (the controller restarted, the network broke, a bug in a driver)
is temporary: the agent reconnects after a jittered, capped, exponential backoff and resumes
from the revision it holds, so the controller answers with a delta (or a snapshot when it has
compacted its log or is a different store). A ``Refusal`` is permanent, and so is
PERMISSION_DENIED (the host's certificate names another host): ``run`` raises ``Refused`` and
never retries. A TLS handshake the controller refuses (a certificate of another CA, or
expired) is UNAVAILABLE, like a controller that is away: retried, and said in
``last_error``. A driver that raises leaves the data plane unknown: the agent forgets its
state, so the next session starts from a snapshot.

Several controllers (``Controllers``: southbound replicas sharing the hosts): the agent is given
their addresses and uses one at a time; whenever a stream fails it moves to the next address,
after the same backoff. A ``Redirect`` (another replica owns this host now) sends it to the
owner's address at once, with its revision, so it is sent a delta; it follows a redirect only
to an address it would accept anyway (with TLS: any ``HOST:PORT``, verified with the same CA and
server name; in plaintext, nothing verifies a peer, so only its own addresses); otherwise, or
when the redirect names no address, it tries its next address. Its Hello says which address it
last failed on (``unreachable``), so that a replica that would send it back to a dead owner
holds it until that owner's lease runs out. A redirect that follows a
redirect without a goal state between them waits the backoff first, so replicas that disagree
for a moment about who owns the host cannot make it spin.

An agent process keeps nothing across restarts: a new ``Agent`` says revision 0 and gets a
snapshot, which its driver reconciles with what the data plane holds.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import os
import random
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import grpc
import msgspec

from alcor import __version__
from alcor.agent import drivers
from alcor.agent.state import NO_CHANGES, Changes, HostState
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb
from alcor.v1 import southbound_pb2_grpc as pb_grpc

log = logging.getLogger("alcor.agent")

Call = grpc.aio.StreamStreamCall[pb.AgentMessage, pb.ControllerMessage]

MESSAGE_LIMIT = 1 << 30  # a snapshot of a host serving large VPCs is tens of MB, not 4
INBOX = 64  # goal states read ahead while one is programmed (then the controller coalesces)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    host_id: str
    underlay_ip: str = ""
    heartbeat_interval: float = 10.0
    retry_interval: float = 5.0
    backoff_initial: float = 0.1
    backoff_max: float = 10.0
    agent_version: str = __version__
    physical_networks: tuple[str, ...] = ()  # what the host maps to bridges (flat networks)


class ClientTls(msgspec.Struct, frozen=True, kw_only=True):
    """The host's side of mutual TLS, PEM: the CA that signed the controller's certificate, and
    the host's certificate (naming its host id) and key. ``server_name`` is the name the
    controller's certificate must carry ('': the address's host; ``localhost`` over a unix
    socket)."""

    ca: bytes
    certificate: bytes
    key: bytes
    server_name: str = ""


class Refused(Exception):
    """The controller refused this host (for example: not a known node); retrying cannot help."""

    def __init__(self, host_id: str, reason: str) -> None:
        super().__init__(f"the controller refused host {host_id!r}: {reason}")
        self.host_id = host_id
        self.reason = reason


class Redirected(Exception):
    """The controller sent the host elsewhere (``address``; '': to its next address)."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"redirected to {address or 'the next controller'}: {reason}")
        self.address = address


class StreamEnded(Exception):
    """The controller closed the stream without an error (it is shutting down)."""


def channel_target(address: str) -> str:
    """A ``--controller`` address (``HOST:PORT`` or ``unix:PATH``) as a gRPC target."""
    if address.startswith("unix:"):
        if not address[len("unix:") :]:
            raise ValueError(f"expected unix:PATH, got {address!r}")
        return address
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT or unix:PATH, got {address!r}")
    return address


def open_channel(
    address: str, settings: Settings, *, tls: ClientTls | None = None
) -> grpc.aio.Channel:
    """One channel to the controller (plaintext without ``tls``); ``alcor sim`` shares it among
    all its hosts. gRPC's own reconnect backoff follows the agent's, so a restarted controller
    is found as soon as the agent retries."""
    target = channel_target(address)
    options: list[tuple[str, str | int]] = [
        ("grpc.initial_reconnect_backoff_ms", int(settings.backoff_initial * 1000)),
        ("grpc.min_reconnect_backoff_ms", int(settings.backoff_initial * 1000)),
        ("grpc.max_reconnect_backoff_ms", int(settings.backoff_max * 1000)),
        ("grpc.max_receive_message_length", MESSAGE_LIMIT),
    ]
    if tls is None:
        return grpc.aio.insecure_channel(target, options=options)
    # over a unix socket gRPC would check the socket's path against the certificate
    server_name = tls.server_name or ("localhost" if target.startswith("unix:") else "")
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    credentials = grpc.ssl_channel_credentials(tls.ca, tls.key, tls.certificate)
    return grpc.aio.secure_channel(target, credentials, options=options)


class Controllers:
    """The controller addresses an agent may use, in order, and a channel to each (opened when
    first used; shared by every agent given the same ``Controllers``: ``alcor sim``'s plaintext
    hosts share one)."""

    def __init__(
        self, addresses: Sequence[str], settings: Settings, *, tls: ClientTls | None = None
    ) -> None:
        if not addresses:
            raise ValueError("at least one controller address")
        self.addresses = tuple(channel_target(address) for address in addresses)
        self.settings = settings
        self.tls = tls
        self._channels: dict[str, grpc.aio.Channel] = {}

    def channel(self, address: str) -> grpc.aio.Channel:
        found = self._channels.get(address)
        if found is None:
            found = open_channel(address, self.settings, tls=self.tls)
            self._channels[address] = found
        return found

    def accepts(self, address: str) -> bool:
        """Whether a redirect to ``address`` is followed (see the module's docstring)."""
        if address in self.addresses:
            return True
        if self.tls is None or address.startswith("unix:"):
            return False
        try:
            channel_target(address)
        except ValueError:
            return False
        return True

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()


class Backoff:
    """Exponential backoff with full jitter: the n-th wait is uniform in [0, min(cap, initial *
    2**n)], so hosts that lost one controller do not come back in step."""

    def __init__(self, *, initial: float, cap: float, rng: random.Random) -> None:
        self.initial = initial
        self.cap = cap
        self.rng = rng
        self.attempts = 0

    def ceiling(self) -> float:
        return min(self.cap, self.initial * 2.0 ** min(self.attempts, 64))

    def next_delay(self) -> float:
        delay = self.rng.uniform(0.0, self.ceiling())
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0


@dataclasses.dataclass
class Status:
    """What an agent has done, for progress lines, status files and tests."""

    connected: bool = False
    controller: str = ""  # the address of the latest stream
    redirects: int = 0
    sessions: int = 0  # streams opened (the first, then one per reconnect)
    goal_states: int = 0
    snapshots: int = 0  # of the goal states
    acks: int = 0
    heartbeats: int = 0
    driver_errors: int = 0  # the driver raised: the data plane was left unknown
    last_error: str = ""
    delays: collections.deque[float] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=64)
    )  # the backoff waits before reconnecting, oldest first


class Failures:
    """The resources failed as of the revision applied: a change to a key clears its failure
    (the driver reports it again if it still fails), a removal clears it for good."""

    def __init__(self) -> None:
        self._by_key: dict[str, drivers.Failure] = {}

    def note(self, changes: Changes, failed: list[drivers.Failure]) -> None:
        for key in [*changes.set, *changes.removed]:
            self._by_key.pop(key, None)
        for failure in failed:
            self._by_key[keys.key(failure.kind, failure.id)] = failure

    def statuses(self) -> list[pb.ResourceStatus]:
        return [
            pb.ResourceStatus(kind=keys.KINDS[f.kind], id=f.id, message=f.message)
            for f in self._by_key.values()
        ]

    def replace(self, failed: list[drivers.Failure]) -> None:
        """The whole truth from a driver that tried everything again."""
        self._by_key = {keys.key(f.kind, f.id): f for f in failed}

    def __len__(self) -> int:
        return len(self._by_key)

    def kinds(self) -> collections.Counter[str]:
        """How many resources stand failed, by kind."""
        return collections.Counter(f.kind for f in self._by_key.values())

    def clear(self) -> None:
        self._by_key.clear()


class Bindings:
    """What the driver reported of its ports' binding details, as sent on this stream: each ack
    carries the changes since the previous one (the first of a stream: everything)."""

    def __init__(self) -> None:
        self._sent: dict[str, dict[str, str]] = {}

    def changes(self, driver: drivers.Driver) -> list[pb.PortBinding]:
        if not isinstance(driver, drivers.Binding):
            return []
        now = driver.bindings()
        changed = [
            pb.PortBinding(port_id=port_id, vif_details=details)
            for port_id, details in now.items()
            if self._sent.get(port_id) != details
        ]
        changed += [pb.PortBinding(port_id=port_id) for port_id in self._sent.keys() - now.keys()]
        self._sent = {port_id: dict(details) for port_id, details in now.items()}
        return changed

    def clear(self) -> None:
        """A new stream: the next ack reports every binding."""
        self._sent = {}


class Agent:
    def __init__(
        self,
        *,
        settings: Settings,
        driver: drivers.Driver,
        channel: grpc.aio.Channel | None = None,
        controllers: Controllers | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.driver = driver
        self.state = HostState()
        self.status = Status()
        self.failures = Failures()
        self.bindings = Bindings()
        self._programming = asyncio.Lock()  # the driver does one thing at a time
        # one of the two: a channel (one controller, no redirect followed), or the controllers
        if (channel is None) == (controllers is None):
            raise ValueError("an agent needs a channel or controllers, not both")
        self._channel = channel
        self.controllers = controllers
        self._hops = 0  # redirects since the last goal state
        self._unreachable = ""  # the address last failed on, until a goal state (the Hello's)
        self._rng = rng or random.Random()
        self._clock = clock
        self._started = clock()
        # told the seconds each goal state (or retry) took to program, as its ack says
        self.on_programmed: Callable[[float], None] | None = None

    async def run(self) -> None:
        """Keep a stream to the controller until cancelled; raise ``Refused`` if refused."""
        backoff = Backoff(
            initial=self.settings.backoff_initial, cap=self.settings.backoff_max, rng=self._rng
        )
        addresses = self.controllers.addresses if self.controllers is not None else ("",)
        turn = 0  # the address in use
        redirected = ""  # where the last redirect sent it, if it follows it
        while True:
            address = redirected or addresses[turn]
            redirected = ""
            at_once = False
            try:
                await self._session(backoff, address)
            except Redirected as redirect:
                redirected = self._follow(redirect)
                at_once = self._hops == 1  # the first since a goal state: no wait
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.PERMISSION_DENIED:  # not this host's to ask
                    raise Refused(self.settings.host_id, error.details() or "") from None
                self.status.last_error = _describe(error)
                self._unreachable = address
                log.info("host %s: stream ended: %s", self.settings.host_id, _describe(error))
            except StreamEnded as error:
                self.status.last_error = _describe(error)
                self._unreachable = address
                log.info("host %s: stream ended: %s", self.settings.host_id, _describe(error))
            finally:
                self.status.connected = False
            if redirected in addresses:
                turn = addresses.index(redirected)
            elif not redirected:  # a stream that failed: the next address, after the backoff
                turn = (turn + 1) % len(addresses)
            if at_once:
                continue
            delay = backoff.next_delay()
            self.status.delays.append(delay)
            await asyncio.sleep(delay)

    def _follow(self, redirect: Redirected) -> str:
        """Where a redirect takes the agent ('': its next address)."""
        self.status.redirects += 1
        self.status.last_error = _describe(redirect)
        log.info("host %s: %s", self.settings.host_id, _describe(redirect))
        self._hops += 1
        if self.controllers is None or not redirect.address:
            return ""
        if not self.controllers.accepts(redirect.address):
            log.warning(
                "host %s: not following a redirect to %s: not one of its controllers' "
                "addresses, and in plaintext nothing would verify it",
                self.settings.host_id,
                redirect.address,
            )
            return ""
        return redirect.address

    def _channel_to(self, address: str) -> grpc.aio.Channel:
        if self.controllers is not None:
            return self.controllers.channel(address)
        assert self._channel is not None
        return self._channel

    async def _session(self, backoff: Backoff, address: str) -> None:
        """One stream, until it fails: goal states in; acks and heartbeats out."""
        call = pb_grpc.SouthboundStub(self._channel_to(address)).Connect()
        self.status.sessions += 1
        self.status.controller = address
        writing = asyncio.Lock()  # acks and heartbeats share the stream
        self.bindings.clear()
        try:
            await call.write(self.hello())
            self.status.connected = True
            tasks = {
                asyncio.create_task(self._receive(call, writing, backoff)),
                asyncio.create_task(self._beat(call, writing)),
            }
            if isinstance(self.driver, drivers.Retrying):
                tasks.add(asyncio.create_task(self._retry(self.driver, call, writing)))
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # neither returns: this raises why the session ended
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            call.cancel()

    async def _receive(self, call: Call, writing: asyncio.Lock, backoff: Backoff) -> None:
        """Apply goal states as they come, and ack each apply; those that arrived while the
        last one was being programmed are applied together (``apply_all``), so an agent that
        programs slower than changes come catches up in one step instead of falling behind
        one goal state at a time."""
        inbox: asyncio.Queue[pb.GoalState] = asyncio.Queue(maxsize=INBOX)
        reading = asyncio.create_task(self._read(call, inbox))
        try:
            while True:
                goals = [await _next(inbox, reading)]
                while not inbox.empty():
                    goals.append(inbox.get_nowait())
                ack = await self.apply_all(goals)
                backoff.reset()  # after a good apply: a driver that keeps failing backs off
                await _send(call, writing, ack)
                self.status.acks += 1
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    async def _read(self, call: Call, inbox: asyncio.Queue[pb.GoalState]) -> None:
        """The controller's messages: goal states into ``inbox`` (a full one stops the reading,
        and the controller's outbox then coalesces what waits); ends by raising why."""
        while True:
            message = await call.read()
            if not isinstance(message, pb.ControllerMessage):  # grpc.aio.EOF
                raise StreamEnded("the controller closed the stream")
            if message.HasField("refusal"):
                raise Refused(self.settings.host_id, message.refusal.reason)
            if message.HasField("redirect"):
                raise Redirected(message.redirect.address, message.redirect.reason)
            if message.HasField("goal_state"):
                self._hops = 0
                self._unreachable = ""
                await inbox.put(message.goal_state)

    def hello(self) -> pb.AgentMessage:
        return pb.AgentMessage(
            hello=pb.Hello(
                host_id=self.settings.host_id,
                applied_revision=self.state.revision,
                store_id=self.state.store_id,
                agent_version=self.settings.agent_version,
                capabilities=self.driver.capabilities,
                underlay_ip=self.settings.underlay_ip,
                physical_networks=self.settings.physical_networks,
                unreachable=self._unreachable,
            )
        )

    async def apply(self, goal: pb.GoalState) -> pb.AgentMessage:
        """Apply one goal state; the Ack to send for it."""
        return await self.apply_all([goal])

    async def apply_all(self, goals: Sequence[pb.GoalState]) -> pb.AgentMessage:
        """Apply goal states in order as one: the state takes each, the driver programs what
        they changed together; the Ack to send for them all."""
        started = time.perf_counter()
        self.status.goal_states += len(goals)
        snapshots = sum(goal.snapshot for goal in goals)
        self.status.snapshots += snapshots
        async with self._programming:
            changes = NO_CHANGES
            for goal in goals:
                changes = changes.then(self.state.apply(goal))
            # a snapshot goes to the driver even when it changes nothing here: a driver that
            # keeps state outside the process (the kernel) reconciles with it
            called = changes or snapshots
            failed = await self._driving(self.driver.apply(changes, self.state)) if called else []
            self.failures.note(changes, failed)
            return self.ack(started)

    def ack(self, started: float) -> pb.AgentMessage:
        took = time.perf_counter() - started
        if self.on_programmed is not None:
            self.on_programmed(took)
        return pb.AgentMessage(
            ack=pb.Ack(
                revision=self.state.revision,
                failed=self.failures.statuses(),
                programming_micros=int(took * 1_000_000),
                bindings=self.bindings.changes(self.driver),
            )
        )

    async def _driving(
        self, work: Coroutine[Any, Any, list[drivers.Failure]]
    ) -> list[drivers.Failure]:
        """What the driver says; a driver that raises leaves the data plane unknown."""
        try:
            return await work
        except Exception:
            log.exception("host %s: the driver failed; resyncing", self.settings.host_id)
            self.status.driver_errors += 1
            self.state = HostState()
            self.failures.clear()
            raise StreamEnded("the driver failed") from None

    async def _retry(self, driver: drivers.Retrying, call: Call, writing: asyncio.Lock) -> None:
        """While anything stands failed, the driver tries again; what it says is acked."""
        while True:
            await asyncio.sleep(self.settings.retry_interval)
            if not self.failures:
                continue
            async with self._programming:
                started = time.perf_counter()
                self.failures.replace(await self._driving(driver.retry(self.state)))
                ack = self.ack(started)
            await _send(call, writing, ack)
            self.status.acks += 1

    def heartbeat(self) -> pb.AgentMessage:
        return pb.AgentMessage(
            heartbeat=pb.Heartbeat(
                agent_version=self.settings.agent_version,
                uptime_seconds=int(self._clock() - self._started),
                load1=os.getloadavg()[0],
                resource_counts=self.driver.counts(),
                dataplane_errors=len(self.failures),
            )
        )

    async def _beat(self, call: Call, writing: asyncio.Lock) -> None:
        """Heartbeats from a random phase on, so hosts that connected together spread out."""
        interval = self.settings.heartbeat_interval
        await asyncio.sleep(self._rng.uniform(0.0, interval))
        while True:
            await _send(call, writing, self.heartbeat())
            self.status.heartbeats += 1
            await asyncio.sleep(interval)


async def _next(inbox: asyncio.Queue[pb.GoalState], reading: asyncio.Task[None]) -> pb.GoalState:
    """The next goal state; what ended the reading if it ended first."""
    getting = asyncio.ensure_future(inbox.get())
    done, _ = await asyncio.wait({getting, reading}, return_when=asyncio.FIRST_COMPLETED)
    if getting in done:
        return getting.result()
    getting.cancel()
    reading.result()  # raises why the reading ended
    raise StreamEnded("the controller's messages ended")


async def _send(call: Call, writing: asyncio.Lock, message: pb.AgentMessage) -> None:
    """Write on the stream (one writer at a time); a stream that has ended says why."""
    async with writing:
        try:
            await call.write(message)
        except asyncio.InvalidStateError:  # gRPC's "RPC already finished"
            code = await call.code()
            raise StreamEnded(f"{code.name}: {await call.details()}") from None


def _describe(error: BaseException) -> str:
    if isinstance(error, grpc.aio.AioRpcError):
        return f"{error.code().name}: {error.details()}"
    return str(error)
