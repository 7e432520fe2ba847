"""IPv6 router advertisements: radvd in a distributed router's namespace (pure: goal state ->
daemons).

As Neutron's L3 agent (``neutron/agent/linux/ra.py``), a router advertises itself on every
interface (port) that has an IPv6 subnet, from the leg's link-local address, which is the one
the gateway's MAC gives (the same on every host: each host's router namespace answers its own
endpoints, and multicast never leaves the host, ``layouts``). What it advertises follows the
subnets' ``ipv6_ra_mode``:

- ``slaac`` and ``dhcpv6-stateless``: the prefix, on-link and autonomous (the endpoints make
  their EUI-64 address, the one the port shows); ``dhcpv6-stateless`` also sets the O flag
  (other configuration by DHCPv6: the network's DHCP server answers it, ``dhcpv6``);
- ``dhcpv6-stateful``: the prefix on-link but not autonomous, and the M flag (addresses by
  DHCPv6);
- no ``ipv6_ra_mode``: the router alone (a default route), no prefix and no flag;
- the DNS servers of its ``slaac`` subnets (RDNSS, three at most) and the network's MTU
  (when IPv6 can have it).

No router advertises without an interface on an IPv6 subnet: a subnet that is on no router
gets none. radvd rereads its configuration on ``SIGHUP``. Neutron's route to its metadata
address (``fe80::a9fe:a9fe``) is left out: nothing answers there.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable

from alcor.agent.drivers.linux import layouts, names, supervising
from alcor.v1 import southbound_pb2 as pb

DAEMONS = "advertisements"  # their folders: <state>/advertisements/<router>
CONFIG = "radvd.conf"
MIN_INTERVAL = 30  # seconds, Neutron's min_rtr_adv_interval
MAX_INTERVAL = 100  # Neutron's max_rtr_adv_interval
MAX_RDNSS = 3
IPV6_MIN_MTU = 1280
AUTONOMOUS = ("slaac", "dhcpv6-stateless")
STATEFUL = "dhcpv6-stateful"


def daemons(
    *, routers: Iterable[pb.Router], lookup: layouts.Lookup, host: layouts.HostSettings
) -> dict[str, supervising.Daemon]:
    """The radvd this host runs: router id -> daemon (routers with an IPv6 interface)."""
    found = {}
    for router in sorted(routers, key=lambda router: router.id):
        made = daemon(router, lookup, host=host)
        if made is not None:
            found[router.id] = made
    return found


def daemon(
    router: pb.Router, lookup: layouts.Lookup, *, host: layouts.HostSettings
) -> supervising.Daemon | None:
    text = config(router, lookup)
    if not text:
        return None
    name = f"{DAEMONS}/{names.file_safe(router.id)}"
    folder = f"{host.state}/{name}"
    return supervising.Daemon(
        name=name,
        netns=names.router_netns(host.prefix, router.id),
        argv=(
            *("radvd", "-C", f"{folder}/{CONFIG}", "-p", f"{folder}/{supervising.PIDFILE}"),
            *("-m", "logfile", "-l", f"{folder}/{supervising.LOG}"),
        ),
        files=(supervising.File(CONFIG, text),),
        rereads=True,
    )


def config(router: pb.Router, lookup: layouts.Lookup) -> str:
    """radvd's configuration for the router's legs ('' when none has an IPv6 subnet)."""
    subnets: defaultdict[str, list[pb.Subnet]] = defaultdict(list)
    networks: dict[str, pb.Network] = {}
    for interface in router.interfaces:
        subnet = lookup.subnet(interface.subnet_id)
        network = lookup.network(interface.network_id)
        if subnet is None or network is None or not layouts.segment(network):
            continue
        if ":" in subnet.cidr and subnet not in subnets[interface.port_id]:
            subnets[interface.port_id].append(subnet)
            networks[interface.port_id] = network
    return "".join(
        interface_config(
            names.router_inside(port_id),
            sorted(subnets[port_id], key=lambda subnet: subnet.id),
            mtu=layouts.mtu(networks[port_id]),
        )
        for port_id in sorted(subnets)
        if subnets[port_id]
    )


def interface_config(device: str, subnets: list[pb.Subnet], *, mtu: int) -> str:
    """One leg's ``interface`` section, as Neutron's template writes it."""
    modes = {subnet.ipv6_ra_mode for subnet in subnets}
    lines = [
        f"interface {device}",
        "{",
        "    AdvSendAdvert on;",
        f"    MinRtrAdvInterval {MIN_INTERVAL};",
        f"    MaxRtrAdvInterval {MAX_INTERVAL};",
    ]
    if mtu >= IPV6_MIN_MTU:
        lines.append(f"    AdvLinkMTU {mtu};")
    if "dhcpv6-stateless" in modes:
        lines.append("    AdvOtherConfigFlag on;")
    if STATEFUL in modes:
        lines.append("    AdvManagedFlag on;")
    dns = [
        str(ipaddress.IPv6Address(server))
        for subnet in subnets
        if subnet.ipv6_ra_mode == "slaac"
        for server in subnet.dns_nameservers
        if ":" in server
    ][:MAX_RDNSS]
    if dns:
        lines.append(f"    RDNSS {' '.join(dns)} {{}};")
    for subnet in subnets:
        if subnet.ipv6_ra_mode in AUTONOMOUS or subnet.ipv6_ra_mode == STATEFUL:
            autonomous = "on" if subnet.ipv6_ra_mode in AUTONOMOUS else "off"
            prefix = ipaddress.IPv6Network(subnet.cidr, strict=False)
            lines += [
                f"    prefix {prefix}",
                "    {",
                "        AdvOnLink on;",
                f"        AdvAutonomous {autonomous};",
                "    };",
            ]
    lines.append("};")
    return "".join(line + "\n" for line in lines)
