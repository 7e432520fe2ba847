"""DHCPv6: what a network's dnsmasq serves on its IPv6 subnets, and the endpoints' DHCPv6
clients (pure: goal state -> arguments, file lines and daemons).

The server (``dhcp``: the network's dnsmasq, on ``dh0``, answering from its link-local address)
serves an IPv6 subnet with DHCP as Neutron's dnsmasq driver does: for
``ipv6_address_mode`` ``dhcpv6-stateful`` or ``dhcpv6-stateless`` (or neither mode set) a
``static`` range (``--dhcp-range=set:TAG,PREFIX::,static,LENGTH,LEASE``; ``dh0`` holds the
prefix's subnet-router anycast address, ``server_address``, so that dnsmasq serves it), so
that it hands out only what its hosts file lists: for a stateful
subnet ``MAC,[ADDRESS],NAME`` per fixed address of the host's ports, the client told by its MAC
(dnsmasq takes it from the client's DUID or its link-local address); a stateless subnet gets
options alone (an information request). Options per subnet: its IPv6 DNS servers
(``option6:dns-server``) and the DNS domain's search list. A ``slaac`` subnet gets nothing
from DHCP.

Endpoints (``--endpoint-mode netns --endpoint-addressing dhcp``) configure IPv6 themselves, as
a VM does: on a subnet whose address comes from router advertisements or DHCPv6 the agent sets
no address and no default route, but ``accept_ra=2`` and ``autoconf=1`` on ``eth0`` (the
kernel makes the EUI-64 address of a ``slaac`` or ``dhcpv6-stateless`` prefix and takes the
router's default route), and on a ``dhcpv6-stateful`` or ``dhcpv6-stateless`` subnet it runs
``dhclient -6`` (isc-dhcp-client; ``-S``: options only) in the namespace, with a hook script
of ours that sets the leased address (``/128``, the prefix is on-link by the advertisement)
and writes the lease to its folder, never the host's ``/etc/resolv.conf``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from alcor.agent.drivers.linux import kernel as k
from alcor.agent.drivers.linux import names, supervising
from alcor.v1 import southbound_pb2 as pb

STATEFUL = "dhcpv6-stateful"
STATELESS = "dhcpv6-stateless"
SLAAC = "slaac"
CLIENTS = "endpoints6"  # the clients' folders: <state>/endpoints6/<port>
CLIENT_SCRIPT = """#!/bin/sh
# dhclient -6's hook for an alcor endpoint: the leased address of $interface in this namespace
# only (never /etc/resolv.conf), and the lease written next to this script.
lease_file="$(dirname "$0")/lease"
case "$reason" in
BOUND6|RENEW6|REBIND6|REBOOT6)
    if [ -n "$old_ip6_address" ] && [ "$old_ip6_address" != "$new_ip6_address" ]; then
        ip -6 addr del "$old_ip6_address/128" dev "$interface"
    fi
    if [ -n "$new_ip6_address" ]; then
        ip -6 addr replace "$new_ip6_address/128" dev "$interface" \\
            valid_lft "${new_max_life:-forever}" preferred_lft "${new_preferred_life:-forever}"
    fi
    printf 'ip=%s\\ndns=%s\\ndomain=%s\\n' "$new_ip6_address" "$new_dhcp6_name_servers" \\
        "$new_dhcp6_domain_search" > "$lease_file"
    ;;
EXPIRE6|RELEASE6|STOP6)
    [ -n "$old_ip6_address" ] && ip -6 addr del "$old_ip6_address/128" dev "$interface"
    rm -f "$lease_file"
    ;;
esac
exit 0
"""


def served(subnet: pb.Subnet) -> bool:
    """Whether the network's DHCP server serves this IPv6 subnet (as Neutron's: stateful,
    stateless, or no mode at all)."""
    if not subnet.enable_dhcp or ":" not in subnet.cidr:
        return False
    mode = subnet.ipv6_address_mode
    return mode in (STATEFUL, STATELESS) or (not mode and not subnet.ipv6_ra_mode)


def leases_addresses(subnet: pb.Subnet) -> bool:
    """Whether DHCPv6 hands out the subnet's addresses (not only options)."""
    return served(subnet) and subnet.ipv6_address_mode != STATELESS


def range_arguments(subnet: pb.Subnet, *, tag: str, lease: str) -> list[str]:
    """dnsmasq's arguments for one served IPv6 subnet."""
    cidr = ipaddress.IPv6Network(subnet.cidr, strict=False)
    return [f"--dhcp-range=set:{tag},{cidr.network_address},static,{cidr.prefixlen},{lease}"]


def server_address(subnet: pb.Subnet) -> str:
    """The address ``dh0`` holds in a served IPv6 subnet: dnsmasq serves DHCPv6 only on a
    prefix of its interface's addresses, with that prefix's length (``--shared-network`` does
    not do it for IPv6, nor a /128). The subnet-router anycast address, which IPAM gives no
    port (a router's only when it is the subnet's gateway)."""
    network = ipaddress.IPv6Network(subnet.cidr, strict=False)
    return f"{network.network_address}/{network.prefixlen}"


def subnet_options(subnet: pb.Subnet, *, tag: str, domain: str) -> list[str]:
    """dnsmasq's options for one served IPv6 subnet (lines of ``--dhcp-optsfile``)."""
    lines = []
    dns = [
        f"[{ipaddress.IPv6Address(server)}]" for server in subnet.dns_nameservers if ":" in server
    ]
    if dns:
        lines.append(f"tag:{tag},option6:dns-server," + ",".join(dns))
    bare = domain.rstrip(".")
    if bare and all(c.isascii() and (c.isalnum() or c in "-.") for c in bare):
        lines.append(f"tag:{tag},option6:domain-search,{bare}")
    return lines


def host_line(port: pb.Port, address: str, name: str) -> str:
    """A stateful address's hosts-file line."""
    return f"{port.mac_address.lower()},[{ipaddress.IPv6Address(address)}],{name}"


def self_configured(subnet: pb.Subnet) -> bool:
    """Whether an endpoint that configures itself takes its address on this subnet from router
    advertisements or DHCPv6 (so the agent sets none)."""
    return ":" in subnet.cidr and subnet.ipv6_address_mode in (SLAAC, STATELESS, STATEFUL)


def endpoint_settings(ns: str, subnets: Iterable[pb.Subnet]) -> list[k.Object]:
    """The sysctls that let an endpoint take router advertisements and make its SLAAC address
    (none when no subnet of its port, ``subnets``, is configured so)."""
    if not any(self_configured(subnet) for subnet in subnets):
        return []
    device = names.ENDPOINT_DEVICE
    return [
        k.Sysctl(ns, f"net.ipv6.conf.{device}.accept_ra", "2"),
        k.Sysctl(ns, f"net.ipv6.conf.{device}.autoconf", "1"),
    ]


def client(
    port: pb.Port, subnets: Iterable[pb.Subnet], *, prefix: str, state: str
) -> supervising.Daemon | None:
    """The endpoint's DHCPv6 client (``subnets``: its port's; ``prefix`` and ``state``: the
    host's namespace prefix and state directory): for an address on a stateful subnet, else for
    options on a stateless one; None when it needs neither."""
    modes = {subnet.ipv6_address_mode for subnet in subnets if served(subnet)}
    if not modes & {STATEFUL, STATELESS}:
        return None
    name = f"{CLIENTS}/{names.file_safe(port.id)}"
    folder = f"{state}/{name}"
    return supervising.Daemon(
        name=name,
        netns=names.endpoint_netns(prefix, port.id),
        argv=(
            *("dhclient", "-6", *(() if STATEFUL in modes else ("-S",)), "-nw", "-D", "LL"),
            *("-sf", f"{folder}/script", "-lf", f"{folder}/leases"),
            *("-pf", f"{folder}/{supervising.PIDFILE}", names.ENDPOINT_DEVICE),
        ),
        files=(supervising.File("script", CLIENT_SCRIPT, 0o755),),
    )
