"""DHCP, distributed: every host answers its own ports (pure: goal state -> namespaces and
daemons).

Per network that has an IPv4 subnet with ``enable_dhcp`` (or an IPv6 one it serves by DHCPv6,
``dhcpv6``) and a port bound to this host, a
dnsmasq in namespace ``<prefix>dh-<network>``, on a veth leg into the segment's bridge
(``aldh-<vni>`` on the host, ``dh0`` inside). ``dh0`` has the same MAC and address on every
host (``fa:16:3f`` + three bytes of the network id's SHA-256; ``169.254.169.254/32``) and an
on-link route per DHCP subnet, so the server can answer in any of them. It has no address in
the subnets, so dnsmasq is told which subnets are on it (``--shared-network``) and hands out
only what its hosts file lists (``--dhcp-range=...,static``): one line per fixed IPv4 address
of the host's own ports on a DHCP subnet. Broadcasts stay on the host (nothing floods the
underlay, ``layouts``), so each client hears exactly one server: its host's.

Per subnet (tagged ``subnet-<id>``) the options file gives: classless static routes (option
121) holding ``169.254.169.254/32`` on-link (renewals go to the server identifier, which is that
address), the default route via the gateway (when the subnet has one and no host route is a
default) and the host routes; the router (option 3, for clients without option 121; empty when
there is no gateway, or dnsmasq would name itself); the DNS servers (option 6, when given;
else dnsmasq names itself, ``169.254.169.254``); the network's MTU (option 26). A change of
ports or options rewrites the files and dnsmasq rereads them (``SIGHUP``); a change of subnets
restarts it.

Internal DNS (``dns-integration``): the same dnsmasq answers DNS on ``169.254.169.254:53`` for
the names of every port of the network, on any host (the network's neighbor entries, which
hold this host's ports too): ``names`` (``--addn-hosts``) holds ``ADDRESS FQDN NAME`` per fixed
address, NAME being the port's ``dns_name`` or ``host-<address with dashes>``, FQDN it under
the network entry's ``dns_domain`` (the controller's ``--dns-domain``), which is also the DHCP
domain (option 15, ``--domain``) so that short names resolve. Names in the domain it does not
hold are NXDOMAIN (``--local``); it forwards nothing (``--no-resolv``, no servers).

Endpoints (``--endpoint-mode netns`` with ``--endpoint-addressing dhcp``) get their address by
DHCP: ``busybox udhcpc`` runs in the endpoint's namespace with a hook script of ours that only
sets addresses (``dynamic``: with the lease's lifetime), routes (``proto dhcp``) and the MTU in
that namespace, and writes the lease to its folder; it never touches the host's
``/etc/resolv.conf`` as Debian's default script would.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping

import msgspec

from alcor.agent.drivers.linux import dhcpv6, layouts, names, supervising
from alcor.agent.drivers.linux import kernel as k
from alcor.v1 import southbound_pb2 as pb

SERVER_ADDRESS = "169.254.169.254"
LEASE = "86400s"
SERVERS = "dhcp"  # the servers' folders: <state>/dhcp/<network>
CLIENTS = "endpoints"  # the clients' folders: <state>/endpoints/<port>
CLIENT_SCRIPT = """#!/bin/sh
# udhcpc's hook for an alcor endpoint: addresses, routes and MTU of $interface in this namespace
# only (never /etc/resolv.conf), and the lease written next to this script.
lease_file="$(dirname "$0")/lease"
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface" dynamic
    ip -4 route flush dev "$interface" proto dhcp
    rm -f "$lease_file"
    ;;
bound|renew)
    ip addr replace "$ip/${mask:-32}" dev "$interface" valid_lft "${lease:-forever}" \\
        preferred_lft "${lease:-forever}"
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    [ "$1" = bound ] && ip -4 route flush dev "$interface" proto dhcp
    if [ -n "$staticroutes" ]; then
        set -- $staticroutes
        while [ $# -ge 2 ]; do
            if [ "$2" = 0.0.0.0 ]; then
                ip route replace "$1" dev "$interface" proto dhcp
            else
                ip route replace "$1" via "$2" dev "$interface" proto dhcp
            fi
            shift 2
        done
    elif [ -n "$router" ]; then
        set -- $router
        ip route replace default via "$1" dev "$interface" proto dhcp
    fi
    printf 'ip=%s/%s\\nrouter=%s\\nmtu=%s\\nroutes=%s\\ndns=%s\\ndomain=%s\\n' \\
        "$ip" "$mask" "$router" "$mtu" "$staticroutes" "$dns" "$domain" > "$lease_file"
    printf 'server=%s\\nlease=%s\\n' "$serverid" "$lease" >> "$lease_file"
    ;;
esac
exit 0
"""


class Service(msgspec.Struct, frozen=True):
    """One network's DHCP server on this host: its kernel objects and its dnsmasq."""

    layout: layouts.Layout
    daemon: supervising.Daemon


class Names:
    """The names the servers answer: the neighbor entries held (every endpoint of the host's
    networks, its own ports included), kept as they come and go, and each network's ``names``
    file made once per change of its neighbors or domain, so that a goal state costs what it
    changed, not the size of the networks (a 10,000-port network's file takes ~20 ms)."""

    def __init__(self) -> None:
        self._by_network: defaultdict[str, dict[str, pb.Neighbor]] = defaultdict(dict)
        self._network_of: dict[str, str] = {}
        self._files: dict[str, tuple[str, str]] = {}  # network -> (its domain, its file)

    def put(self, port_id: str, neighbor: pb.Neighbor) -> None:
        self.drop(port_id)
        self._by_network[neighbor.network_id][port_id] = neighbor
        self._network_of[port_id] = neighbor.network_id
        self._files.pop(neighbor.network_id, None)

    def drop(self, port_id: str) -> None:
        network_id = self._network_of.pop(port_id, None)
        if network_id is None:
            return
        named = self._by_network[network_id]
        named.pop(port_id, None)
        if not named:
            del self._by_network[network_id]
        self._files.pop(network_id, None)

    def clear(self) -> None:
        self._by_network.clear()
        self._network_of.clear()
        self._files.clear()

    def name_of(self, port_id: str) -> str:
        """A port's ``dns_name`` (relative to its network's domain; empty: none)."""
        network_id = self._network_of.get(port_id)
        if network_id is None:
            return ""
        return self._by_network[network_id][port_id].dns_name

    def file(self, network_id: str, domain: str) -> str:
        """The network's ``names`` file under ``domain``."""
        made = self._files.get(network_id)
        if made is None or made[0] != domain:
            named = self._by_network.get(network_id, {})
            neighbors = [named[port_id] for port_id in sorted(named)]
            made = (domain, "".join(line + "\n" for line in name_lines(neighbors, domain)))
            self._files[network_id] = made
        return made[1]


def services(
    *,
    ports: Iterable[pb.Port],
    subnets: Iterable[pb.Subnet],
    dns_names: Names,
    lookup: layouts.Lookup,
    host: layouts.HostSettings,
) -> dict[str, Service]:
    """The DHCP servers this host runs: network id -> service. ``ports`` are the host's own,
    ``subnets`` all it holds, ``dns_names`` the names of every endpoint of its networks."""
    served: defaultdict[str, list[pb.Subnet]] = defaultdict(list)
    for subnet in subnets:
        if layouts.dhcp_given(subnet) or dhcpv6.served(subnet):
            served[subnet.network_id].append(subnet)
    own: defaultdict[str, list[pb.Port]] = defaultdict(list)
    for port in ports:
        if port.network_id in served:
            own[port.network_id].append(port)
    found = {}
    for network_id, local in sorted(own.items()):
        network = lookup.network(network_id)
        if network is None or not layouts.segment(network):
            continue
        found[network_id] = service(
            network,
            sorted(served[network_id], key=lambda subnet: subnet.id),
            sorted(local, key=lambda port: port.id),
            host=host,
            dns_names=dns_names,
        )
    return found


def service(
    network: pb.Network,
    subnets: list[pb.Subnet],
    ports: list[pb.Port],
    *,
    host: layouts.HostSettings,
    dns_names: Names,
) -> Service:
    ns = names.dhcp_netns(host.prefix, network.id)
    name = f"{SERVERS}/{names.file_safe(network.id)}"
    folder = f"{host.state}/{name}"
    inside = names.DHCP_DEVICE
    size = layouts.mtu(network)
    objects: list[k.Object] = [
        k.Netns(ns),
        *layouts.leg(
            names.dhcp_leg(layouts.segment(network)),
            names.bridge(layouts.segment(network)),
            ns,
            inside,
            layouts.shared_mac(network.id),
            size,
        ),
        k.Link(ns=ns, name="lo", kind=""),
        k.Address(ns, inside, f"{SERVER_ADDRESS}/32"),
    ]
    argv = [
        "dnsmasq", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
        "--bind-interfaces", f"--interface={inside}", "--except-interface=lo",
        f"--pid-file={folder}/{supervising.PIDFILE}", f"--log-facility={folder}/{supervising.LOG}",
        f"--dhcp-leasefile={folder}/leases", f"--dhcp-hostsfile={folder}/hosts",
        f"--dhcp-optsfile={folder}/opts", f"--addn-hosts={folder}/names",
        *domain_arguments(network.dns_domain),
    ]  # fmt: skip
    options: list[str] = []
    for subnet in subnets:
        tag = f"subnet-{names.file_safe(subnet.id)}"
        if dhcpv6.served(subnet):
            objects.append(k.Address(ns, inside, dhcpv6.server_address(subnet)))
            argv += dhcpv6.range_arguments(subnet, tag=tag, lease=LEASE)
            options += dhcpv6.subnet_options(subnet, tag=tag, domain=network.dns_domain)
            continue
        cidr = ipaddress.IPv4Network(subnet.cidr, strict=False)
        objects.append(k.Route(ns=ns, dst=str(cidr), dev=inside))
        argv += [
            f"--shared-network={inside},{cidr.network_address}",
            f"--dhcp-range=set:{tag},{cidr.network_address},static,{cidr.netmask},{LEASE}",
        ]
        options += subnet_options(subnet, tag=tag, mtu=size)
    options += port_options(ports)
    argv += port_tags(ports)
    hostnames = {port.id: dns_names.name_of(port.id) for port in ports}
    daemon = supervising.Daemon(
        name=name,
        netns=ns,
        argv=tuple(argv),
        files=(
            supervising.File(
                "hosts", "".join(line + "\n" for line in host_lines(subnets, ports, hostnames))
            ),
            supervising.File("opts", "".join(line + "\n" for line in options)),
            supervising.File("names", dns_names.file(network.id, network.dns_domain)),
        ),
        rereads=True,
    )
    return Service(layouts.Layout(objects, frozenset()), daemon)  # the driver redoes it per message


def host_lines(
    subnets: list[pb.Subnet], ports: list[pb.Port], hostnames: Mapping[str, str]
) -> list[str]:
    """dnsmasq's hosts file: ``MAC,IP,NAME`` per fixed address on one of ``subnets``
    (``MAC,[IP],NAME`` on an IPv6 subnet whose addresses DHCPv6 hands out; none on a stateless
    one), NAME the port's (``hostnames``: port id -> its ``dns_name``) when it is one label,
    else the address's."""
    served = {subnet.id: subnet for subnet in subnets}
    lines = []
    for port in ports:
        for fixed in port.fixed_ips:
            subnet = served.get(fixed.subnet_id)
            if subnet is None:
                continue
            name = hostnames.get(port.id, "")
            if not name or "." in name:
                name = hostname(fixed.ip_address)
            if dhcpv6.served(subnet):
                if dhcpv6.leases_addresses(subnet):
                    lines.append(dhcpv6.host_line(port, fixed.ip_address, name))
            else:
                lines.append(f"{port.mac_address.lower()},{fixed.ip_address},{name}")
    return lines


def hostname(address: str) -> str:
    """Neutron's name for an address of a port without ``dns_name``: ``host-10-0-0-3``."""
    return "host-" + address.replace(".", "-").replace(":", "-")


def domain_arguments(domain: str) -> list[str]:
    """dnsmasq's arguments for the network's DNS domain (``example.org.``; empty: none): the
    DHCP domain (option 15) and the domain answered locally, never forwarded."""
    bare = domain.rstrip(".")
    if not bare or not _safe(bare):
        return []
    return [f"--domain={bare}", f"--local=/{bare}/"]


def name_lines(neighbors: list[pb.Neighbor], domain: str) -> list[str]:
    """The ``names`` file (hosts-file lines): ``ADDRESS FQDN NAME`` per fixed address of each
    port of the network (``ADDRESS NAME`` without a domain). A name that is no DNS name (the
    API allows none, an agent does not trust it) is left out, its addresses named by
    themselves."""
    bare = domain.rstrip(".")
    bare = bare if _safe(bare) else ""
    lines = []
    for neighbor in neighbors:
        for address in neighbor.ip_addresses:
            name = neighbor.dns_name if _safe(neighbor.dns_name) else ""
            name = name or hostname(address)
            lines.append(f"{address} {name}.{bare} {name}" if bare else f"{address} {name}")
    return lines


def _safe(name: str) -> bool:
    """Letters, digits, hyphens and dots only: nothing that splits or ends a line."""
    return all(c.isascii() and (c.isalnum() or c in "-.") for c in name)


def port_tags(ports: list[pb.Port]) -> list[str]:
    """dnsmasq's arguments that tag the clients of ports with options of their own
    (``--dhcp-mac=set:port-<id>,MAC``). Not ``set:`` on their hosts lines, as Neutron
    writes them: dnsmasq 2.90 crashes (a segfault) at the SIGHUP after it served a client
    whose hosts line sets a tag. So a port gaining or losing options restarts dnsmasq."""
    return [
        f"--dhcp-mac=set:{port_tag(port)},{port.mac_address.lower()}"
        for port in ports
        if own_options(port)
    ]


def port_options(ports: list[pb.Port]) -> list[str]:
    """dnsmasq's options for the ports' own extra DHCP options (``extra_dhcp_opt``), as
    Neutron's dnsmasq driver writes them: ``tag:port-<id>,option:NAME,VALUE`` (the number
    itself for a numbered option)."""
    lines = []
    for port in ports:
        for option in own_options(port):
            name = option.name if option.name.isdigit() else f"option:{option.name}"
            lines.append(f"tag:{port_tag(port)},{name},{option.value}")
    return lines


def own_options(port: pb.Port) -> list[pb.DhcpOption]:
    """A port's IPv4 options (this server answers DHCPv4 only). One holding a control
    character (the API refuses them) is left out: a line of the file must never become two."""
    return [
        option
        for option in port.extra_dhcp_opts
        if option.ip_version in (0, 4)
        and not any(ord(c) < 32 or ord(c) == 127 for c in option.name + option.value)
    ]


def port_tag(port: pb.Port) -> str:
    return f"port-{names.file_safe(port.id)}"


def subnet_options(subnet: pb.Subnet, *, tag: str, mtu: int) -> list[str]:
    """dnsmasq's options for one subnet (lines of ``--dhcp-optsfile``)."""
    routes = [(f"{SERVER_ADDRESS}/32", "0.0.0.0")]
    host_routes = [
        (str(ipaddress.IPv4Network(route.destination, strict=False)), route.nexthop)
        for route in subnet.host_routes
        if ":" not in route.destination
    ]
    if subnet.gateway_ip and not any(dst == "0.0.0.0/0" for dst, _ in host_routes):
        routes.append(("0.0.0.0/0", subnet.gateway_ip))
    routes += host_routes
    dns = [server for server in subnet.dns_nameservers if ":" not in server]
    lines = [
        f"tag:{tag},option:classless-static-route,"
        + ",".join(f"{dst},{via}" for dst, via in routes),
        f"tag:{tag},option:router" + (f",{subnet.gateway_ip}" if subnet.gateway_ip else ""),
    ]
    if dns:
        lines.append(f"tag:{tag},option:dns-server," + ",".join(dns))
    lines.append(f"tag:{tag},option:mtu,{mtu}")
    return lines


def clients(
    *, ports: Iterable[pb.Port], lookup: layouts.Lookup, host: layouts.HostSettings
) -> dict[str, supervising.Daemon]:
    """The DHCP clients this host runs in its endpoints' namespaces: port id -> daemon (none
    unless ``--endpoint-mode netns --endpoint-addressing dhcp``)."""
    if host.endpoint_mode != "netns" or host.endpoint_addressing != "dhcp":
        return {}
    found = {}
    for port in sorted(ports, key=lambda port: port.id):
        if port.trunk_parent_id or not layouts.plugs(port, host):
            continue  # a subport (its address is on the parent's eth0.<vlan>) or a pod's
        fixed = layouts.dhcp_address(port, lookup)
        network = lookup.network(port.network_id)
        if fixed is None or network is None or not layouts.segment(network):
            continue
        name = f"{CLIENTS}/{names.file_safe(port.id)}"
        folder = f"{host.state}/{name}"
        found[port.id] = supervising.Daemon(
            name=name,
            netns=names.endpoint_netns(host.prefix, port.id),
            argv=(
                *("busybox", "udhcpc", "-i", names.ENDPOINT_DEVICE, "-b", "-r", fixed.ip_address),
                *("-p", f"{folder}/{supervising.PIDFILE}", "-s", f"{folder}/script"),
                *("-O", "mtu", "-O", "staticroutes", "-t", "3", "-T", "1", "-A", "2"),
            ),
            files=(supervising.File("script", CLIENT_SCRIPT, 0o755),),
        )
    return found


def clients6(
    *, ports: Iterable[pb.Port], lookup: layouts.Lookup, host: layouts.HostSettings
) -> dict[str, supervising.Daemon]:
    """The DHCPv6 clients this host runs in its endpoints' namespaces: port id -> daemon
    (``dhcpv6``; none unless ``--endpoint-mode netns --endpoint-addressing dhcp``)."""
    if host.endpoint_mode != "netns" or host.endpoint_addressing != "dhcp":
        return {}
    found = {}
    for port in sorted(ports, key=lambda port: port.id):
        network = lookup.network(port.network_id)
        if port.trunk_parent_id or not layouts.plugs(port, host) or network is None:
            continue
        if not layouts.segment(network):
            continue
        subnets = layouts.port_subnets(port, lookup).values()
        made = dhcpv6.client(port, subnets, prefix=host.prefix, state=host.state)
        if made is not None:
            found[port.id] = made
    return found


def lease(text: str) -> dict[str, str]:
    """A lease file written by the client's script: ``key=value`` lines."""
    found = {}
    for line in text.splitlines():
        key, separator, value = line.partition("=")
        if separator:
            found[key] = value
    return found
