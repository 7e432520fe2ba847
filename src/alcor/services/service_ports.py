"""The ports that routers and floating IPs own (service ports), under the port API.

As Neutron: a port of an existing router or floating IP is deleted only through its owner's API
(``ServicePortInUse``), a router interface keeps its IPv4 addresses, a port keeps an address a
floating IP maps to, and a deleted port's floating IPs are disassociated. Beyond Neutron: a
service port keeps its device_owner and device_id (Neutron ties router ports to their router in
a table of its own; here these attributes are the tie), and a floating IP's port its address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from alcor.model import errors
from alcor.model.queries import Query
from alcor.model.records import FixedIp, FloatingIp, Port, Router
from alcor.model.requests import UNSET, FixedIpRequest, PortUpdate
from alcor.services import resources
from alcor.store.interface import Reader, Writer

ROUTER_INTERFACE_OWNERS = (
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
)
ROUTER_PORT_OWNERS = (*ROUTER_INTERFACE_OWNERS, "network:router_gateway")
FLOATING_IP_OWNER = "network:floatingip"


def is_service_port(reader: Reader, port: Port) -> bool:
    """A port of an existing router or floating IP: it changes through their API only."""
    if port.device_owner in ROUTER_PORT_OWNERS:
        return reader.get(Router, port.device_id) is not None
    if port.device_owner == FLOATING_IP_OWNER:
        return reader.get(FloatingIp, port.device_id) is not None
    return False


def check_not_service_port(reader: Reader, port: Port) -> None:
    """As Neutron: a port of an existing router or floating IP goes only through their API."""
    if is_service_port(reader, port):
        raise errors.InUse(
            f"Port {port.id} cannot be deleted directly via the port API: has device owner "
            f"{port.device_owner}.",
            type="ServicePortInUse",
        )


def check_owner_kept(reader: Reader, port: Port, request: PortUpdate) -> None:
    """A router's or floating IP's port keeps its owner. Neutron lets an admin change these
    (it keeps router ports in a table of their own); here the owner is what ties the port to
    its router or floating IP, so changing it would break them."""
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
    if port.device_owner not in (*ROUTER_INTERFACE_OWNERS, FLOATING_IP_OWNER):
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
