"""The floating IP manager (the ``router`` extension's floating IPs, ``fip-port-details``,
``floatingip-pools``).

A floating IP is an IPv4 address of an external network, held by a port of its own
(device_owner ``network:floatingip``, device_id the floating IP's id, of no project, without port
security, as Neutron's), made and deleted with it in one write. Associated, it maps to one IPv4
address of an internal port (``port_id``, ``fixed_ip_address``) through a router that has an
interface on that address's subnet and its gateway on the floating IP's network; ``router_id``
is derived, never sent.

Rules, as Neutron's: only an admin chooses the address; a port with several IPv4 addresses needs
``fixed_ip_address``; a fixed IP carries one floating IP per external network; a DHCP port
carries none; a member associates only its own project's ports. What the association holds
stays: the router's interface and gateway (``routers``), the port's address (``ports``). Deleting
the internal port disassociates its floating IPs, as Neutron does (``Ports.remove``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import msgspec

from alcor.model import addressing, errors
from alcor.model.queries import Query
from alcor.model.records import (
    ROUTER_INTERFACE,
    FixedIp,
    FloatingIp,
    Network,
    Port,
    PortForwarding,
    Router,
    Subnet,
)
from alcor.model.requests import (
    UNSET,
    FixedIpRequest,
    FloatingIpCreate,
    FloatingIpUpdate,
    Unset,
)
from alcor.services import forwarding_holds, resources
from alcor.services.callers import Caller
from alcor.services.ports import Ports
from alcor.services.service_ports import FLOATING_IP_OWNER
from alcor.store.interface import Reader, Writer

DHCP_OWNER = "network:dhcp"

Requested = str | Unset | None


class ShownFloatingIp(msgspec.Struct, frozen=True):
    record: FloatingIp
    tags: list[str]
    port: Port | None  # the associated internal port, for ``port_details``
    # ``expose-port-forwarding-in-fip``: its port forwardings, by id
    forwardings: list[PortForwarding] = msgspec.field(default_factory=list)


class FloatingIpPool(msgspec.Struct, frozen=True, kw_only=True):
    """``floatingip-pools``: an IPv4 subnet of an external network, floating IPs come from."""

    subnet_id: str
    subnet_name: str
    network_id: str
    cidr: str
    project_id: str  # as Neutron: the asking project's, not the subnet's


class FloatingIps:
    def __init__(self, context: resources.Context, ports: Ports) -> None:
        self.context = context
        self.ports = ports

    # --- create, read ------------------------------------------------------------------

    async def create(
        self, caller: Caller, requests: Sequence[FloatingIpCreate]
    ) -> list[ShownFloatingIp]:
        if len(requests) != 1:  # as Neutron: floating IPs are made one at a time
            raise errors.InvalidInput("Bulk operation not supported")
        request = requests[0]

        def work(writer: Writer) -> list[ShownFloatingIp]:
            quota_projects = resources.projects_of(caller, requests)
            self.context.quotas.check(writer, FloatingIp.kind, quota_projects)
            record, port = self._new(writer, caller, request)
            writer.insert([port])
            writer.insert([record])
            return _shown(writer, [record])

        return await self.context.store.write(work)

    def _new(
        self, writer: Writer, caller: Caller, request: FloatingIpCreate
    ) -> tuple[FloatingIp, Port]:
        project = caller.project_for(resources.requested_project(request))
        wanted = _wanted_address(caller, request)
        network = resources.find(writer, caller, Network, request.floating_network_id)
        if not network.router_external:
            raise _bad_request(f"Network {network.id} is not a valid external network.")
        if not any(subnet.ip_version == 4 for subnet in writer.subnets_of(network.id)):
            raise _bad_request(f"Network {network.id} does not contain any IPv4 subnet.")
        mac = self.context.allocations.allocate_mac(writer, network.id)
        fixed_ips = self.ports.addresses_for(writer, network, mac, wanted)
        ipv4 = [f for f in fixed_ips if ipaddress.ip_address(f.ip_address).version == 4]
        if not ipv4:
            raise errors.InvalidInput(
                f"Unable to find any IP address on external network {network.id}.",
                type="ExternalIpAddressExhausted",
            )
        now = self.context.now()
        record = FloatingIp(
            id=self.context.new_id(),
            project_id=project,
            description=resources.value_or(request.description, ""),
            created_at=now,
            updated_at=now,
            revision_number=0,  # as Neutron's floating IPs
            floating_network_id=network.id,
            floating_ip_address=ipv4[0].ip_address,
            floating_port_id=self.context.new_id(),
        )
        port = Port(
            id=record.floating_port_id,
            project_id="",  # as Neutron: the port is nobody's, only the floating IP is
            created_at=now,
            updated_at=now,
            network_id=network.id,
            mac_address=mac,
            device_id=record.id,
            device_owner=FLOATING_IP_OWNER,
            fixed_ips=fixed_ips,
            port_security_enabled=False,
        )
        return _associated(writer, caller, record, request), port

    async def show(self, caller: Caller, floatingip_id: str) -> ShownFloatingIp:
        def work(reader: Reader) -> ShownFloatingIp:
            return _shown(reader, [resources.find(reader, caller, FloatingIp, floatingip_id)])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownFloatingIp]:
        scoped = resources.scoped(caller, query)
        return await self.context.store.read(lambda r: _shown(r, r.select(FloatingIp, scoped)))

    async def pools(self, caller: Caller) -> list[FloatingIpPool]:
        """``GET /v2.0/floatingip_pools``: every IPv4 subnet of every external network (all
        are visible to every project), as Neutron lists them."""

        def work(reader: Reader) -> list[FloatingIpPool]:
            external = reader.select(Network, Query(filters={"router_external": (True,)}))
            return [
                FloatingIpPool(
                    subnet_id=subnet.id,
                    subnet_name=subnet.name,
                    network_id=network.id,
                    cidr=subnet.cidr,
                    project_id=caller.project_id,
                )
                for network in external
                for subnet in reader.subnets_of(network.id)
                if subnet.ip_version == 4
            ]

        return await self.context.store.read(work)

    # --- update, delete ----------------------------------------------------------------

    async def update(
        self,
        caller: Caller,
        floatingip_id: str,
        request: FloatingIpUpdate,
        *,
        if_match: int | None,
    ) -> ShownFloatingIp:
        # as Neutron: an empty body disassociates (once the association was all there was)
        asked = FloatingIpUpdate(port_id=None) if request == FloatingIpUpdate() else request

        def work(writer: Writer) -> ShownFloatingIp:
            record = resources.owned(writer, caller, FloatingIp, floatingip_id)
            resources.check_revision(record, if_match)
            changed = _associated(writer, caller, record, asked)
            if request.description is not UNSET:
                changed = msgspec.structs.replace(changed, description=request.description)
            updated = resources.revised(changed, self.context.now())
            writer.update([updated])
            return _shown(writer, [updated])[0]

        return await self.context.store.write(work)

    async def delete(self, caller: Caller, floatingip_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            record = resources.owned(writer, caller, FloatingIp, floatingip_id)
            resources.check_revision(record, if_match)
            forwarding_holds.check_floating_ip_free(writer, record)
            port = writer.get(Port, record.floating_port_id)
            writer.delete([record])
            self.ports.remove(writer, [port] if port else [])

        await self.context.store.write(work)


# --- reading ----------------------------------------------------------------------------


def _shown(reader: Reader, records: list[FloatingIp]) -> list[ShownFloatingIp]:
    tags = reader.tags_of([r.id for r in records])
    port_ids = [r.port_id for r in records if r.port_id]
    ports = reader.get_many(Port, port_ids) if port_ids else {}
    # only a floating IP with a router and no port can have forwardings
    forwarded = [r.id for r in records if r.router_id and not r.port_id]
    forwardings = forwarding_holds.of_floating_ips(reader, forwarded)
    return [
        ShownFloatingIp(
            r,
            tags.get(r.id, []),
            ports.get(r.port_id) if r.port_id else None,
            forwardings.get(r.id, []),
        )
        for r in records
    ]


# --- the address ------------------------------------------------------------------------


def _bad_request(reason: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Bad floatingip request: {reason}", type="BadRequest")


def _wanted_address(caller: Caller, request: FloatingIpCreate) -> list[FixedIpRequest] | Unset:
    """The external port's fixed_ips as asked (an address, a subnet, both), or UNSET: any."""
    if request.floating_ip_address is UNSET and request.subnet_id is UNSET:
        return UNSET
    if request.floating_ip_address is not UNSET:
        caller.require_admin("floating_ip_address")
        addressing.parse_address(request.floating_ip_address, "floating_ip_address")
    return [FixedIpRequest(subnet_id=request.subnet_id, ip_address=request.floating_ip_address)]


# --- the association --------------------------------------------------------------------


def _associated(
    writer: Writer, caller: Caller, record: FloatingIp, request: FloatingIpUpdate
) -> FloatingIp:
    """The floating IP with the association asked for: kept when ``port_id`` is not sent,
    cleared when it is null (or the body is empty), else checked and derived (the fixed IP,
    the router)."""
    port_id, fixed_ip_address = request.port_id, request.fixed_ip_address
    if isinstance(fixed_ip_address, str):
        addressing.parse_address(fixed_ip_address, "fixed_ip_address")
        if not isinstance(port_id, str):
            raise _bad_request("fixed_ip_address cannot be specified without a port_id.")
    if port_id is UNSET:
        return record
    if port_id is None:
        if not record.port_id:  # nothing to clear (a router its port forwardings chose stays)
            return record
        return msgspec.structs.replace(record, port_id=None, fixed_ip_address=None, router_id=None)
    forwarding_holds.check_port_free(writer, port_id)
    forwarding_holds.check_floating_ip_free(writer, record)
    port = _port_to_associate(writer, caller, port_id)
    if port.project_id != record.project_id and not caller.is_admin:
        raise _bad_request(
            f"Cannot process floating IP association with Port {port.id}, since that port is "
            "owned by a different project."
        )
    if port.device_owner == DHCP_OWNER:
        raise _bad_request(f"Port {port.id} is unable to be assigned a floating IP.")
    fixed = _fixed_ip(port, fixed_ip_address)
    router_id = router_for(writer, port, fixed, record.floating_network_id)
    _check_fixed_ip_free(writer, record, port, fixed)
    return msgspec.structs.replace(
        record, port_id=port.id, fixed_ip_address=fixed.ip_address, router_id=router_id
    )


def _port_to_associate(reader: Reader, caller: Caller, port_id: str) -> Port:
    """The port, if the caller may see it: its own, or (as Neutron's ``get_port`` policy lets
    a network's owner) one on a network of the caller's, whose other project is then a 400
    rather than a 404. Any other port is not found, so that existence does not leak."""
    port = reader.get(Port, port_id)
    if port is not None and not caller.owns(port):
        network = reader.get(Network, port.network_id)
        if network is None or not caller.owns(network):
            port = None
    if port is None:
        raise errors.NotFound.resource(Port.kind, port_id)
    return port


def _fixed_ip(port: Port, requested: Requested) -> FixedIp:
    """The port's IPv4 address the floating IP maps to: the one asked for, or its only one."""
    if isinstance(requested, str):
        wanted = ipaddress.ip_address(requested)
        if wanted.version != 4:
            raise _bad_request(
                f"Cannot process floating IP association with {requested}, since that is not "
                "an IPv4 address."
            )
        for fixed in port.fixed_ips:
            if ipaddress.ip_address(fixed.ip_address) == wanted:
                return fixed
        raise _bad_request(f"Port {port.id} does not have fixed ip {requested}.")
    ipv4 = [f for f in port.fixed_ips if ipaddress.ip_address(f.ip_address).version == 4]
    if not ipv4:
        raise _bad_request(
            f"Cannot add floating IP to port {port.id} that has no fixed IPv4 addresses."
        )
    if len(ipv4) > 1:
        raise _bad_request(
            f"Port {port.id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 "
            "address when assigning a floating IP."
        )
    return ipv4[0]


def router_for(reader: Reader, port: Port, fixed: FixedIp, network_id: str) -> str:
    """As Neutron: a router with an interface on the fixed IP's subnet and its gateway on the
    floating IP's network; the one whose interface holds the subnet's gateway IP first."""
    subnet = reader.get(Subnet, fixed.subnet_id)
    assert subnet is not None
    interfaces = reader.select(  # by the routers' records, never by device_owner/device_id
        Port,
        Query(
            filters={"network_id": (port.network_id,), "router_port_type": (ROUTER_INTERFACE,)},
            fixed_ips={"subnet_id": (subnet.id,)},
        ),
    )
    routers = reader.get_many(Router, {p.router_id for p in interfaces})
    found: list[str] = []
    for interface in interfaces:
        router = routers.get(interface.router_id)
        if router is None or router.gateway_network_id != network_id:
            continue
        if any(f.ip_address == subnet.gateway_ip for f in interface.fixed_ips):
            return router.id
        found.append(router.id)
    if found:
        return found[0]
    raise errors.NotFound(
        f"External network {network_id} is not reachable from subnet {subnet.id}.  Therefore, "
        f"cannot associate Port {port.id} with a Floating IP.",
        type="ExternalGatewayForFloatingIPNotFound",
    )


def _check_fixed_ip_free(reader: Reader, record: FloatingIp, port: Port, fixed: FixedIp) -> None:
    """A fixed IP carries one floating IP of each external network."""
    holders = Query(
        filters={
            "floating_network_id": (record.floating_network_id,),
            "port_id": (port.id,),
            "fixed_ip_address": (fixed.ip_address,),
        }
    )
    if any(other.id != record.id for other in reader.select(FloatingIp, holders)):
        raise errors.InUse(
            f"Cannot associate floating IP {record.floating_ip_address} ({record.id}) with port "
            f"{port.id} using fixed IP {fixed.ip_address}, as that fixed IP already has a "
            f"floating IP on external network {record.floating_network_id}.",
            type="FloatingIPPortAlreadyAssociated",
        )
