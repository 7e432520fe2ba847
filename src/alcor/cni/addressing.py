"""What a pod's interface holds, from its port, its network and its subnets (pure): the port's
MAC and addresses (with their subnets' prefix lengths), the network's MTU, a default route per
IP version via the gateway of that version's first subnet, and the subnets' host routes (a
host route to a default takes the place of the gateway's); each address's gateway and the
subnets' DNS servers, for the result. Pure, but for ``looked_up``, which asks the controller
for the port's subnets first."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from alcor.cni.links import Interface

if TYPE_CHECKING:
    from alcor.cni.controller import Controller

DEFAULT_MTU = 1450  # a network that does not say: 1500 less VXLAN's overhead


class Plan(NamedTuple):
    inside: Interface
    gateways: tuple[str, ...]  # each of inside.addresses' gateway ("" for none)
    nameservers: tuple[str, ...]


def plan(
    port: dict[str, Any],
    *,
    network: dict[str, Any],
    subnets: Iterable[dict[str, Any]],
    ifname: str,
) -> Plan:
    by_id = {subnet["id"]: subnet for subnet in subnets}
    addresses: list[str] = []
    gateways: list[str] = []
    routes: list[tuple[str, str]] = []
    nameservers: list[str] = []
    defaults: set[int] = set()  # IP versions with a default route
    for fixed in port.get("fixed_ips", ()):
        subnet = by_id.get(fixed["subnet_id"])
        if subnet is None:
            continue
        cidr = ipaddress.ip_network(subnet["cidr"])
        addresses.append(f"{fixed['ip_address']}/{cidr.prefixlen}")
        gateway = subnet.get("gateway_ip") or ""
        gateways.append(gateway)
        for route in subnet.get("host_routes", ()):
            hop = (route["destination"], route["nexthop"])
            if hop not in routes:
                routes.append(hop)
                if ipaddress.ip_network(hop[0]).prefixlen == 0:
                    defaults.add(cidr.version)
        if gateway and cidr.version not in defaults:
            defaults.add(cidr.version)
            routes.append(("0.0.0.0/0" if cidr.version == 4 else "::/0", gateway))
        nameservers += [s for s in subnet.get("dns_nameservers", ()) if s not in nameservers]
    inside = Interface(
        name=ifname,
        mac=str(port["mac_address"]).lower(),
        mtu=int(network.get("mtu") or DEFAULT_MTU),
        addresses=tuple(addresses),
        routes=tuple(routes),
    )
    return Plan(inside=inside, gateways=tuple(gateways), nameservers=tuple(nameservers))


def looked_up(
    controller: Controller, port: dict[str, Any], *, network: dict[str, Any], ifname: str
) -> Plan:
    """``plan``, with the subnets of the port's addresses from the controller (remembered)."""
    ids = sorted({fixed["subnet_id"] for fixed in port.get("fixed_ips", ())})
    subnets = controller.remembered("/v2.0/subnets", id=ids)["subnets"] if ids else []
    return plan(port, network=network, subnets=subnets, ifname=ifname)
