"""The port forwarding manager (``floating-ip-port-forwarding``, with ``-description``,
``-port-ranges`` and ``expose-port-forwarding-in-fip``).

A port forwarding belongs to a floating IP that is associated with no port: what arrives for
the floating IP's address at an external port (range) of a protocol goes to a fixed IP of an
internal port at the internal port (range). The floating IP's project owns its forwardings;
whoever cannot see the floating IP cannot see them (``FloatingIPNotFound``), admins see all.

Rules, as Neutron's (``pf_plugin``): the internal port must have the internal IPv4 address
among its fixed IPs; a router must have an interface on that address's subnet and its gateway on
the floating IP's network, and the floating IP's router, once its first forwarding chose it,
stays until its last forwarding goes (``router_id`` is then cleared); external ranges of one
floating IP and protocol do not overlap, nor internal ranges of one internal address and
protocol; a port with a floating IP of its own takes no forwarding. A floating IP with
forwardings is neither associated with a port nor deleted (``FipInUseByPortForwarding``), and
a port with forwardings takes no floating IP of its own (every router here is distributed:
Neutron's ``PortHasPortForwarding``). Deleting the internal port deletes its forwardings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import msgspec

from alcor.model import errors
from alcor.model import port_forwardings as pf
from alcor.model.queries import Query
from alcor.model.records import FloatingIp, Port, PortForwarding, Subnet
from alcor.model.requests import UNSET
from alcor.services import floating_ips, forwarding_holds, resources
from alcor.services.callers import Caller
from alcor.store.interface import Reader, Writer


class PortForwardings:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, floatingip_id: str, requests: Sequence[pf.PortForwardingCreate]
    ) -> list[PortForwarding]:
        def work(writer: Writer) -> list[PortForwarding]:
            made = []
            for request in requests:
                fip = resources.owned(writer, caller, FloatingIp, floatingip_id)
                record = self._new(writer, caller, fip, request)
                writer.insert([record])
                made.append(record)
            return made

        return await self.context.store.write(work)

    def _new(
        self, writer: Writer, caller: Caller, fip: FloatingIp, request: pf.PortForwardingCreate
    ) -> PortForwarding:
        wanted = _checked(request)
        now = self.context.now()
        record = PortForwarding(
            id=self.context.new_id(),
            project_id=fip.project_id,
            description=request.description if isinstance(request.description, str) else "",
            created_at=now,
            updated_at=now,
            revision_number=0,
            floatingip_id=fip.id,
            floating_ip_address=fip.floating_ip_address,
            router_id="",
            protocol=wanted.protocol,
            internal_port_id=wanted.internal_port_id,
            internal_ip_address=wanted.internal_ip_address,
            external_port_start=wanted.external[0],
            external_port_end=wanted.external[1],
            internal_port_start=wanted.internal[0],
            internal_port_end=wanted.internal[1],
        )
        return _placed(writer, caller, fip, record, now=now)

    async def show(self, caller: Caller, floatingip_id: str, forwarding_id: str) -> PortForwarding:
        def work(reader: Reader) -> PortForwarding:
            resources.find(reader, caller, FloatingIp, floatingip_id)
            return _find(reader, floatingip_id, forwarding_id)

        return await self.context.store.read(work)

    async def query(self, caller: Caller, floatingip_id: str) -> list[PortForwarding]:
        def work(reader: Reader) -> list[PortForwarding]:
            resources.find(reader, caller, FloatingIp, floatingip_id)
            return forwarding_holds.of_floating_ips(reader, [floatingip_id]).get(floatingip_id, [])

        return await self.context.store.read(work)

    async def update(
        self,
        caller: Caller,
        floatingip_id: str,
        forwarding_id: str,
        request: pf.PortForwardingUpdate,
    ) -> PortForwarding:
        def work(writer: Writer) -> PortForwarding:
            fip = resources.owned(writer, caller, FloatingIp, floatingip_id)
            record = _find(writer, floatingip_id, forwarding_id)
            changed = _changed(record, request)
            if request.description is not UNSET:
                changed = msgspec.structs.replace(changed, description=request.description)
            _check_update(writer, caller, changed)
            now = self.context.now()
            updated = resources.revised(_placed(writer, caller, fip, changed, now=now), now)
            writer.update([updated])
            return updated

        return await self.context.store.write(work)

    async def delete(self, caller: Caller, floatingip_id: str, forwarding_id: str) -> None:
        def work(writer: Writer) -> None:
            fip = resources.owned(writer, caller, FloatingIp, floatingip_id)
            record = _find(writer, floatingip_id, forwarding_id)
            forwarding_holds.release(writer, [record], self.context.now(), fips={fip.id: fip})

        await self.context.store.write(work)


# --- reading ----------------------------------------------------------------------------


def _find(reader: Reader, floatingip_id: str, forwarding_id: str) -> PortForwarding:
    record = reader.get(PortForwarding, forwarding_id)
    if record is None or record.floatingip_id != floatingip_id:
        raise errors.NotFound(
            f"Port Forwarding {forwarding_id} could not be found.", type="PortForwardingNotFound"
        )
    return record


# --- checking ---------------------------------------------------------------------------


def _checked(request: pf.PortForwardingCreate) -> pf.Forwarding:
    """The request's attributes, each checked as Neutron's API layer checks it."""
    external = pf.ports(request.external_port, request.external_port_range, side="external")
    internal = pf.ports(request.internal_port, request.internal_port_range, side="internal")
    return pf.Forwarding(
        protocol=pf.protocol(request.protocol),
        internal_ip_address=pf.address(request.internal_ip_address),
        internal_port_id=pf.port_id(request.internal_port_id),
        external=external,
        internal=internal,
    )


def _changed(record: PortForwarding, request: pf.PortForwardingUpdate) -> PortForwarding:
    """The forwarding with what the PUT sends (a single port or a range, either side)."""
    external = pf.ports(
        request.external_port,
        request.external_port_range,
        side="external",
        held=(record.external_port_start, record.external_port_end),
    )
    internal = pf.ports(
        request.internal_port,
        request.internal_port_range,
        side="internal",
        held=(record.internal_port_start, record.internal_port_end),
    )
    protocol = record.protocol
    if isinstance(request.protocol, str):
        protocol = pf.protocol(request.protocol)
    return msgspec.structs.replace(
        record,
        protocol=protocol,
        internal_port_id=pf.port_id(request.internal_port_id)
        if isinstance(request.internal_port_id, str)
        else record.internal_port_id,
        internal_ip_address=pf.address(request.internal_ip_address)
        if isinstance(request.internal_ip_address, str)
        else record.internal_ip_address,
        external_port_start=external[0],
        external_port_end=external[1],
        internal_port_start=internal[0],
        internal_port_end=internal[1],
    )


def _placed(
    writer: Writer, caller: Caller, fip: FloatingIp, record: PortForwarding, *, now: str
) -> PortForwarding:
    """The forwarding checked against the store, with its router: the floating IP's, or (its
    first forwarding) the one found for the internal address, then given to the floating IP."""
    external = (record.external_port_start, record.external_port_end)
    internal = (record.internal_port_start, record.internal_port_end)
    pf.check_relation(external, internal)
    _check_collisions(writer, record)
    if fip.port_id:
        raise errors.InUse(
            f"Cannot associate floating IP {fip.floating_ip_address} ({fip.id}) with port "
            f"{record.internal_port_id} using fixed IP {record.internal_ip_address}, as that "
            f"fixed IP already has a floating IP on external network "
            f"{fip.floating_network_id}.",
            type="FloatingIPPortAlreadyAssociated",
        )
    port = resources.find(writer, caller, Port, record.internal_port_id)
    router_id = _router_for(writer, fip, port, record.internal_ip_address)
    if fip.router_id and fip.router_id != router_id:
        raise pf.bad_request(
            f"The Floating IP {fip.id} had been set on router {fip.router_id}, the internal "
            f"Neutron port {port.id} can not reach it."
        )
    _check_port_has_no_floating_ip(writer, fip, record)
    if not fip.router_id:
        writer.update([resources.revised(fip, now, router_id=router_id)])
    return msgspec.structs.replace(record, router_id=router_id)


def _router_for(reader: Reader, fip: FloatingIp, port: Port, address: str) -> str:
    """The router that links the internal address's subnet to the floating IP's network."""
    ipv4 = [f for f in port.fixed_ips if ipaddress.ip_address(f.ip_address).version == 4]
    fixed = next((f for f in ipv4 if f.ip_address == address), None)
    if fixed is None:
        shown = [{"subnet_id": f.subnet_id, "ip_address": f.ip_address} for f in ipv4]
        raise pf.bad_request(
            f"Requested internal IP address {address} is not suitable for internal neutron "
            f"port {port.id}, as its fixed_ips are {shown}."
        )
    try:
        return floating_ips.router_for(reader, port, fixed, fip.floating_network_id)
    except errors.NotFound:
        subnet = reader.get(Subnet, fixed.subnet_id)
        raise pf.bad_request(
            f"External network {fip.floating_network_id} is not reachable from subnet "
            f"{subnet.id if subnet else fixed.subnet_id}. Cannot set Port forwarding for port "
            f"{port.id} with Floating IP {fip.id}."
        ) from None


def _check_update(reader: Reader, caller: Caller, record: PortForwarding) -> None:
    """What Neutron checks of an update first (``_check_port_forwarding_update``): the internal
    address is the internal port's, and no other forwarding of the floating IP and protocol has
    the same single external port, or the same internal socket."""
    port = resources.find(reader, caller, Port, record.internal_port_id)
    if not any(f.ip_address == record.internal_ip_address for f in port.fixed_ips):
        shown = [{"subnet_id": f.subnet_id, "ip_address": f.ip_address} for f in port.fixed_ips]
        raise pf.bad_request(
            "The internal IP does not correspond to an address on the internal port, which "
            f"has fixed_ips {shown}."
        )
    external = pf.one((record.external_port_start, record.external_port_end))
    internal = pf.one((record.internal_port_start, record.internal_port_end))
    same = Query(filters={"floatingip_id": (record.floatingip_id,), "protocol": (record.protocol,)})
    for other in reader.select(PortForwarding, same):
        if other.id == record.id:
            continue
        conflict: dict[str, object] = {}
        if (
            external is not None
            and pf.one((other.external_port_start, other.external_port_end)) == external
        ):
            conflict = {"floating_ip_address": other.floating_ip_address, "external_port": external}
        elif (
            internal is not None
            and (other.internal_port_id, other.internal_ip_address)
            == (record.internal_port_id, record.internal_ip_address)
            and pf.one((other.internal_port_start, other.internal_port_end)) == internal
        ):
            conflict = {
                "internal_port_id": other.internal_port_id,
                "internal_ip_address": other.internal_ip_address,
                "internal_port": internal,
            }
        if conflict:
            raise pf.bad_request(
                "Another port forwarding entry with the same attributes already exists, "
                f"conflicting values are {conflict}."
            )


def _check_collisions(reader: Reader, record: PortForwarding) -> None:
    """No other forwarding of the floating IP and protocol overlaps its external range, nor
    one of the internal address and protocol its internal range."""
    external = (record.external_port_start, record.external_port_end)
    internal = (record.internal_port_start, record.internal_port_end)
    same_internal = Query(
        filters={
            "internal_port_id": (record.internal_port_id,),
            "protocol": (record.protocol,),
            "internal_ip_address": (record.internal_ip_address,),
        }
    )
    for other in reader.select(PortForwarding, same_internal):
        taken = (other.internal_port_start, other.internal_port_end)
        if other.id != record.id and pf.overlap(taken, internal):
            raise pf.collision("internal", taken, internal)
    same_external = Query(
        filters={"floatingip_id": (record.floatingip_id,), "protocol": (record.protocol,)}
    )
    for other in reader.select(PortForwarding, same_external):
        taken = (other.external_port_start, other.external_port_end)
        if other.id != record.id and pf.overlap(taken, external):
            raise pf.collision("external", taken, external)


def _check_port_has_no_floating_ip(reader: Reader, fip: FloatingIp, record: PortForwarding) -> None:
    bound = reader.select(FloatingIp, Query(filters={"port_id": (record.internal_port_id,)}))
    if bound:
        raise errors.InUse(
            f"Cannot create port forwarding to floating IP {bound[0].floating_ip_address} "
            f"({bound[0].id}) with port {record.internal_port_id} using fixed IP "
            f"{record.internal_ip_address}, as that port already has a binding floating IP.",
            type="PortHasBindingFloatingIP",
        )
