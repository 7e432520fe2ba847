"""A firewall group (``fwaas_v2``) on a router's interfaces: one nftables table in the router's
namespace, on every host that holds the router, loaded whole (``nft -f``) when it changes. On a
VM port: chains of the port's host's security ruleset (``port_chains``, ``nft``).

Directions are neutron-fwaas's (its iptables driver's ``-o``/``-i``): ``ingress`` is what the
router sends out of a group's interface into its subnet, ``egress`` what comes in from the
subnet. The forward hook jumps to each direction's chain by the interface; a chain lets what
conntrack knows through (established, related), then takes the policy's rules in order (first
match wins: allow returns, deny drops, reject answers ICMP port unreachable, as the iptables
driver's ``REJECT --reject-with icmp-port-unreachable``/``icmp6-port-unreachable``), then drops
the rest. A direction without a policy has no chain; a group that is administratively down
drops everything its interfaces route.

With distributed routing a flow's two directions are routed by the hosts of its two ends, so a
reply may reach a namespace that never saw its request: conntrack cannot place it (invalid), or
for TCP picks it up mid-stream. Such packets pass (only what opens a connection, a TCP SYN or a
first datagram, is judged by the rules), as the security groups' notes decide for bridges.
"""

from __future__ import annotations

import hashlib
import ipaddress

from alcor.agent.drivers.linux import kernel as k
from alcor.agent.drivers.linux import names, nft
from alcor.v1 import southbound_pb2 as pb

PORTED = (6, 17)  # tcp, udp: the protocols whose rules name ports
VERDICTS = {"allow": "return", "deny": "drop", "reject": "reject with icmpx type port-unreachable"}
KNOWN = (
    "ct state established,related return",
    "ct state invalid return",
    "tcp flags & (syn | ack) != syn return",
)


def table(entry_id: str) -> str:
    """The group's table for one router (its entry's id: ``<group>/<router>``)."""
    return f"inet alcor_fw_{hashlib.sha1(entry_id.encode()).hexdigest()[:16]}"


def rule_line(rule: pb.FirewallRule) -> str:
    """One rule as an nftables rule: what it matches, then its verdict."""
    family = "ip" if rule.ip_version == 4 else "ip6"
    parts = [f"meta nfproto ipv{rule.ip_version}"]
    for field, address in (
        ("saddr", rule.source_ip_address),
        ("daddr", rule.destination_ip_address),
    ):
        if address:
            parts.append(f"{family} {field} {ipaddress.ip_network(address, strict=False)}")
    if rule.protocol:
        number = nft.PROTOCOLS[rule.protocol]
        if number == nft.PROTOCOLS["icmp"] and rule.ip_version == 6:
            number = nft.PROTOCOLS["ipv6-icmp"]
        parts.append(f"meta l4proto {number}")
        if number in PORTED:
            for field, low, high in (
                ("sport", rule.source_port_min, rule.source_port_max),
                ("dport", rule.destination_port_min, rule.destination_port_max),
            ):
                if high:
                    parts.append(f"th {field} {low}" if low == high else f"th {field} {low}-{high}")
    parts.append(VERDICTS[rule.action])
    return " ".join(parts)


def _chain(name: str, lines: list[str]) -> str:
    body = "".join(f"    {line}\n" for line in lines)
    return f"  chain {name} {{\n{body}  }}\n"


def table_text(group: pb.FirewallGroup, devices: list[str]) -> str:
    """The group's table for ``devices``, its interfaces' legs inside the namespace."""
    listed = ", ".join(f'"{device}"' for device in sorted(devices))
    jumps, chains = [], []
    for direction, filters, rules, match in (
        ("ingress", group.filters_ingress, group.ingress_rules, "oifname"),
        ("egress", group.filters_egress, group.egress_rules, "iifname"),
    ):
        if not group.admin_state_up:
            jumps.append(f"{match} {{ {listed} }} drop")
        elif filters:
            jumps.append(f"{match} {{ {listed} }} jump {direction}")
            chains.append(_chain(direction, [*KNOWN, *map(rule_line, rules), "drop"]))
    base = ["type filter hook forward priority filter; policy accept;", *jumps]
    return f"table {table(group.id)} {{\n{_chain('forward', base)}{''.join(chains)}}}\n"


def port_chains(group: pb.FirewallGroup) -> dict[str, tuple[str, ...]]:
    """A VM port's firewall group as chains its own port chains jump to (``nft``), by the
    port's direction: ``ingress`` what goes to the port, ``egress`` what it sends (its
    conntrack state is judged before, in the port's chain). A group down drops both ways."""
    chains: dict[str, tuple[str, ...]] = {}
    for direction, filters, rules in (
        ("ingress", group.filters_ingress, group.ingress_rules),
        ("egress", group.filters_egress, group.egress_rules),
    ):
        if not group.admin_state_up:
            chains[direction] = ("drop",)
        elif filters:
            chains[direction] = (*map(rule_line, rules), "drop")
    return chains


def objects(group: pb.FirewallGroup, router: pb.Router, ns: str) -> list[k.Object]:
    """The group's table in the router's namespace, for its interfaces the router has here."""
    held = {interface.port_id for interface in router.interfaces}
    devices = [names.router_inside(p) for p in group.interface_port_ids if p in held]
    if not devices:
        return []
    return [k.Nftables(ns, table(group.id), table_text(group, devices))]
