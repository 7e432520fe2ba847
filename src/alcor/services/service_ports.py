"""The ports that routers and floating IPs own (service ports), under the port API.

As Neutron: a port of a router or floating IP is deleted only through its owner's API
(``ServicePortInUse``), a router interface keeps its IPv4 addresses, a port keeps an address a
floating IP maps to, and a deleted port's floating IPs are disassociated. Which ports those are
comes from the owners' records only: a router's from ``Port.router_id`` (Neutron's
``routerports``), a floating IP's from its ``floating_port_id``. ``device_owner`` and
``device_id`` are free text; as Neutron, a member may not make them name a router (or floating
IP) of another project (``DeviceIDNotOwnedByTenant``), and a port that names one without being
in its records (an admin's, or one made before the records) is an ordinary port. Beyond Neutron:
a service port keeps its device_owner and device_id (so what the API shows stays true), and a
floating IP's port its address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from alcor.model import errors
from alcor.model.queries import Query
from alcor.model.records import ROUTER_INTERFACE, FixedIp, FloatingIp, Port, Router
from alcor.model.requests import UNSET, FixedIpRequest, PortUpdate
from alcor.services import resources
from alcor.services.callers import Caller
from alcor.store.interface import Reader, Writer

FLOATING_IP_OWNER = "network:floatingip"


def is_service_port(reader: Reader, port: Port) -> bool:
    """A port of a router or floating IP by their records: it changes through their API only."""
    if port.router_id:
        return True
    if port.device_owner == FLOATING_IP_OWNER:
        floating_ip = reader.get(FloatingIp, port.device_id)
        return floating_ip is not None and floating_ip.floating_port_id == port.id
    return False


def check_device_owned(
    reader: Reader, caller: Caller, *, project_id: str, device_owner: str, device_id: str
) -> None:
    """As Neutron (``_enforce_device_owner_not_router_intf_or_device_id``), for a member: a
    port of ``project_id`` whose device_owner is the network's (``network:*``) may not name as
    its device a router or floating IP of another project. Neutron checks router interface
    owners only and lets a spoofed gateway port be made inert; here no ``network:`` owner may
    name another's device. Admins are exempt, as in Neutron (their ports get no router
    meaning either)."""
    if caller.is_admin or not device_owner.startswith("network:") or not device_id:
        return
    devices = (reader.get(Router, device_id), reader.get(FloatingIp, device_id))
    if any(device is not None and device.project_id != project_id for device in devices):
        raise errors.Conflict(
            f"The following device_id {device_id} is not owned by your tenant or matches "
            "another tenants router.",
            type="DeviceIDNotOwnedByTenant",
        )


def check_not_service_port(reader: Reader, port: Port) -> None:
    """As Neutron: a port of an existing router or floating IP goes only through their API."""
    if is_service_port(reader, port):
        raise errors.InUse(
            f"Port {port.id} cannot be deleted directly via the port API: has device owner "
            f"{port.device_owner}.",
            type="ServicePortInUse",
        )


def check_owner_kept(reader: Reader, port: Port, request: PortUpdate) -> None:
    """A router's or floating IP's port keeps its owner. Neutron lets an admin change these;
    here they stay what the owner's records say, so that what the API shows stays true."""
    changed = [
        attribute
        for attribute in ("device_owner", "device_id")
        if getattr(request, attribute) not in (UNSET, getattr(port, attribute))
    ]
    if changed and is_service_port(reader, port):
        raise errors.InUse(
            f"Port {port.id} cannot have its {changed[0]} changed directly via the port API: "
            f"has device owner {port.device_owner}.",
            type="ServicePortInUse",
        )


def check_interface_addresses_kept(reader: Reader, port: Port, fixed_ips: list[FixedIp]) -> None:
    """As Neutron: a router interface keeps its IPv4 addresses; so does a floating IP's port
    here, as its address is the floating IP's."""
    if port.router_port_type != ROUTER_INTERFACE and port.device_owner != FLOATING_IP_OWNER:
        return
    if _ipv4(fixed_ips) != _ipv4(port.fixed_ips) and is_service_port(reader, port):
        raise errors.InvalidInput(
            f"Bad ports request: IP updates for port {port.id} are not allowed.", type="BadRequest"
        )


def _ipv4(fixed_ips: list[FixedIp]) -> set[str]:
    return {f.ip_address for f in fixed_ips if ipaddress.ip_address(f.ip_address).version == 4}


def check_floating_addresses_kept(
    reader: Reader, port: Port, requested: list[FixedIpRequest]
) -> None:
    """As Neutron: new fixed_ips must name every address a floating IP maps to."""
    floating = reader.select(FloatingIp, Query(filters={"port_id": (port.id,)}))
    named = {entry.ip_address for entry in requested}
    if any(fip.fixed_ip_address not in named for fip in floating):
        raise errors.InvalidInput(
            f"Bad port request: Cannot update the fixed_ips of the port {port.id}, because its "
            "original fixed_ip has been associated to a floating ip.",
            type="BadRequest",
        )


def disassociate_floating_ips(writer: Writer, now: str, ports: Sequence[Port]) -> None:
    """As Neutron: a port's floating IPs are disassociated (not deleted) when it goes."""
    if not ports:
        return
    port_ids = tuple(port.id for port in ports)
    associated = writer.select(FloatingIp, Query(filters={"port_id": port_ids}))
    writer.update(
        [
            resources.revised(fip, now, port_id=None, fixed_ip_address=None, router_id=None)
            for fip in associated
        ]
    )
