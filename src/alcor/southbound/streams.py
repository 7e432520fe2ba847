"""One host's stream: ``Southbound.Connect``, from the Hello to the end of the stream. This
module is the one place where the protocol's conversations end in a gRPC status.

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
import logging
from collections.abc import AsyncIterator

import grpc
import grpc.aio

from alcor.model import errors
from alcor.services import nodes
from alcor.southbound import certificates, credentials
from alcor.southbound.leases import Membership
from alcor.southbound.sessions import Hub, Session
from alcor.southbound.watching import NodeWatch
from alcor.v1 import southbound_pb2 as pb
from alcor.v1 import southbound_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)


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
