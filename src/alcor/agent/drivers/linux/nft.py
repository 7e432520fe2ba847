"""Security groups as an nftables ruleset: goal state -> ruleset -> one transaction (pure).

The kernel here has no bridge-family conntrack, so filtering is split in two tables (the design
the data-plane prototype proved, ``shared/dataplane-notes.md`` section 3):

``table bridge alcor`` runs first, on the bridge hooks, where the port a frame came in by or
goes out by is known. Per port with port security on, a chain jumped to by the port's tap
(verdict maps ``ports_out``/``ports_in``) marks the packet with the port's number (egress in
the mark's high 16 bits, ingress in the low 16) and, on the way out of the port, drops what is
spoofed: a source MAC, an ARP sender or an IPv4/IPv6 source (paired with its MAC) that is not
the port's own or one of its ``allowed_address_pairs`` (DHCP requests from 0.0.0.0 pass, DHCP
offers and router advertisements from a port do not).

``table inet alcor`` is the stateful part: bridged IPv4/IPv6 reaches it through br_netfilter
(the segment bridges hand it over: ``nf_call_iptables``). Conntrack runs in a zone per network
(map ``zones``: bridge -> zone), so equal addresses in two networks never share a connection.
The forward chain jumps by the mark to the port's egress chain (``eg-``: allowed -> return, so
the receiving port's ingress chain still runs) and ingress chain (``ing-``: established and
related accepted, then the group rules, default deny). Remote groups are named sets
(``rg4-<group>``/``rg6-<group>``) of their members' addresses, so a membership change touches
one set; remote address groups likewise (``ag4-<group>``/``ag6-<group>``) of their CIDRs, empty
until the host holds the group's entry.

A ``Ruleset`` is plain data. ``full`` renders it as a transaction that replaces both tables
(``add`` then ``delete`` then the definitions: idempotent); ``delta`` renders the transaction
from one ruleset to the next, touching only the sets, maps and chains that differ (a chain is
flushed and refilled, a set flushed and refilled). nft 1.0.6 quirks respected: a newline before
each ``}``; no keywords (``fwd``) as names.

A port whose groups are stateless (``stateful: false``; Neutron lets a port have stateless or
stateful groups, not both) gets chains without the conntrack matches: every packet, replies
included, passes only by a rule.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping, Sequence

import msgspec

from alcor.agent.drivers.linux import layouts, names
from alcor.v1 import southbound_pb2 as pb

TABLE = "alcor"
MARK_BITS = 16
MAX_MARK = (1 << MARK_BITS) - 1
ZONES = "zones"

# Neutron's protocol names -> IP protocol numbers (rendered as numbers: no /etc/protocols needed)
PROTOCOLS = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "icmp": 1, "icmpv6": 58, "igmp": 2,
    "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "ipv6-nonxt": 59,
    "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132,
    "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}  # fmt: skip
WITH_PORTS = (6, 17, 33, 132, 136)
ND = "nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, "
ND += "mld2-listener-report"
_SAFE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Container(msgspec.Struct, frozen=True):
    """A named set or map: its declaration lines and its elements."""

    kind: str  # "set" | "map"
    declaration: tuple[str, ...]
    elements: tuple[str, ...] = ()


class Chain(msgspec.Struct, frozen=True):
    base: str  # "" for a regular chain, else "type filter hook ... priority ...; policy ...;"
    rules: tuple[str, ...]


class Table(msgspec.Struct, frozen=True):
    family: str
    containers: dict[str, Container]
    chains: dict[str, Chain]


class Ruleset(msgspec.Struct, frozen=True):
    tables: tuple[Table, ...]


class PortPolicy(msgspec.Struct, frozen=True):
    """A local port with port security on, and its number (for the packet mark)."""

    port: pb.Port
    mark: int


def identifier(resource_id: str) -> str:
    """A resource id as part of an nftables name (uuids as they are, anything else hashed)."""
    if _SAFE.fullmatch(resource_id):
        return resource_id
    return hashlib.sha1(resource_id.encode()).hexdigest()[:20]


def ruleset(
    *,
    ports: Sequence[PortPolicy],
    groups: Mapping[str, pb.SecurityGroup],
    members: Mapping[str, Iterable[str]],
    zones: Mapping[str, int],
    address_groups: Mapping[str, Iterable[str]] | None = None,
) -> Ruleset:
    """The whole ruleset: ``ports`` the local ports with port security on, ``groups`` the
    security groups held, ``members`` each remote group's addresses, ``address_groups`` each
    remote address group's CIDRs, ``zones`` each segment bridge's conntrack zone."""
    bridge = Table(family="bridge", containers={}, chains={})
    inet = Table(family="inet", containers={}, chains={})
    _skeleton(bridge, inet, zones)
    remote_groups: set[str] = set()
    remote_address_groups: set[str] = set()
    for policy in ports:
        port, mark = policy.port, policy.mark
        pid, tap = identifier(port.id), names.tap(port.id)
        held = [groups[group_id] for group_id in port.security_group_ids if group_id in groups]
        rules = [rule for group in held for rule in group.rules]
        stateful = all(group.stateful for group in held)
        remote_groups.update(rule.remote_group_id for rule in rules if rule.remote_group_id)
        remote_address_groups.update(
            rule.remote_address_group_id for rule in rules if rule.remote_address_group_id
        )
        bridge.chains[f"out-{pid}"] = Chain("", (f"meta mark set {mark << MARK_BITS:#010x}",
                                                 *_anti_spoofing(port)))  # fmt: skip
        bridge.chains[f"in-{pid}"] = Chain("", (f"meta mark set meta mark | {mark:#010x}",))
        inet.chains[f"eg-{pid}"] = Chain("", _port_chain(rules, "egress", stateful=stateful))
        inet.chains[f"ing-{pid}"] = Chain("", _port_chain(rules, "ingress", stateful=stateful))
        _add_element(bridge, "ports_out", f'"{tap}" : jump out-{pid}')
        _add_element(bridge, "ports_in", f'"{tap}" : jump in-{pid}')
        _add_element(inet, "egress", f"{mark << MARK_BITS:#010x} : jump eg-{pid}")
        _add_element(inet, "ingress", f"{mark:#010x} : jump ing-{pid}")
    for prefix, wanted, addresses in (
        ("rg", remote_groups, members),
        ("ag", remote_address_groups, address_groups or {}),
    ):
        for group_id in sorted(wanted):
            v4, v6 = _addresses(addresses.get(group_id, ()))
            for version, elements in ((4, v4), (6, v6)):
                inet.containers[f"{prefix}{version}-{identifier(group_id)}"] = Container(
                    "set",
                    (f"type ipv{version}_addr", "flags interval", "auto-merge"),
                    tuple(elements),
                )
    return Ruleset(tables=(bridge, inet))


def _skeleton(bridge: Table, inet: Table, zones: Mapping[str, int]) -> None:
    bridge.containers["ports_out"] = Container("map", ("type ifname : verdict",))
    bridge.containers["ports_in"] = Container("map", ("type ifname : verdict",))
    bridge.chains["from_ports"] = Chain(
        "type filter hook prerouting priority -300; policy accept;", ("iifname vmap @ports_out",)
    )
    bridge.chains["to_ports"] = Chain(
        "type filter hook forward priority -200; policy accept;", ("oifname vmap @ports_in",)
    )
    inet.containers[ZONES] = Container(
        "map",
        ("typeof iifname : ct zone",),
        tuple(f'"{name}" : {zone}' for name, zone in sorted(zones.items())),
    )
    inet.containers["egress"] = Container("map", ("type mark : verdict",))
    inet.containers["ingress"] = Container("map", ("type mark : verdict",))
    inet.chains["zone_by_segment"] = Chain(
        "type filter hook prerouting priority raw; policy accept;",
        ("ct zone set iifname map @zones",),
    )
    inet.chains["port_filter"] = Chain(
        "type filter hook forward priority filter; policy accept;",
        (
            f"meta mark & {MAX_MARK << MARK_BITS:#010x} vmap @egress",
            f"meta mark & {MAX_MARK:#010x} vmap @ingress",
        ),
    )


def _add_element(table: Table, name: str, element: str) -> None:
    held = table.containers[name]
    table.containers[name] = Container(held.kind, held.declaration, (*held.elements, element))


def _addresses(found: Iterable[str]) -> tuple[list[str], list[str]]:
    """Addresses and CIDRs split by family, sorted, /32 and /128 shown as addresses."""
    v4: dict[str, tuple[int, int]] = {}
    v6: dict[str, tuple[int, int]] = {}
    for text in found:
        version, shown, key = _element(text)
        (v4 if version == 4 else v6)[shown] = key
    return sorted(v4, key=v4.__getitem__), sorted(v6, key=v6.__getitem__)


def _element(text: str) -> tuple[int, str, tuple[int, int]]:
    """A member address as a set element: its version, how nft is given it, and its order
    (network address, then prefix length). Plain IPv4 addresses, nearly all of them, skip
    ``ipaddress``: a set of 10,000 members is parsed anew for every ruleset."""
    if "/" not in text and ":" not in text:
        try:
            packed = socket.inet_aton(text)
        except OSError:
            packed = b""
        if packed and socket.inet_ntoa(packed) == text:  # canonical (no "10.1", no "010.")
            return 4, text, (int.from_bytes(packed, "big"), 32)
    network = ipaddress.ip_network(text, strict=False)
    return network.version, _shown(network), (int(network.network_address), network.prefixlen)


def _shown(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def _anti_spoofing(port: pb.Port) -> tuple[str, ...]:
    """Rules on the way out of a port: only its own MACs and (MAC, address) pairs."""
    own_mac = port.mac_address.lower()
    pairs = [(own_mac, ip.ip_address) for ip in port.fixed_ips]
    pairs += [
        ((pair.mac_address or own_mac).lower(), pair.ip_address)
        for pair in port.allowed_address_pairs
    ]
    return _anti_spoofing_of(own_mac, tuple(pairs))


@functools.lru_cache(maxsize=16_384)
def _anti_spoofing_of(own_mac: str, pairs: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """Remembered: every ruleset is made whole, and its ports' addresses rarely change."""
    macs = sorted({own_mac, *(mac for mac, _ in pairs)})
    v4 = sorted({(mac, _shown(n)) for mac, n in _networks(pairs) if n.version == 4})
    v6 = {(mac, _shown(n)) for mac, n in _networks(pairs) if n.version == 6}
    v6 |= {(mac, layouts.link_local(mac)) for mac in macs}
    mac_set = _set(macs)
    rules = [
        f"ether saddr != {mac_set} drop",
        f"arp saddr ether != {mac_set} drop",
        f"arp saddr ip != {_set(['0.0.0.0', *(ip for _, ip in v4)])} drop",
        "ether type ip udp sport 67 udp dport 68 drop",
        "ether type ip udp sport 68 udp dport 67 accept",
        "ether type ip6 udp sport 547 udp dport 546 drop",
    ]
    if v4:
        rules.append(f"ether type ip ether saddr . ip saddr != {_set(_pairs(v4))} drop")
    rules += [
        "ether type ip drop" if not v4 else "",
        "ether type ip6 icmpv6 type nd-router-advert drop",
        "ether type ip6 ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld2-listener-report, "
        "mld-listener-report } accept",
        f"ether type ip6 ether saddr . ip6 saddr != {_set(_pairs(sorted(v6)))} drop",
    ]
    return tuple(rule for rule in rules if rule)


def _networks(
    pairs: Iterable[tuple[str, str]],
) -> list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    return [(mac, ipaddress.ip_network(ip, strict=False)) for mac, ip in pairs]


def _pairs(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{mac} . {ip}" for mac, ip in pairs]


def _set(elements: Iterable[str]) -> str:
    return "{ " + ", ".join(elements) + " }"


# per direction: how a packet passes, and what always passes (DHCP, IPv6 neighbor discovery)
_PASSING = {
    "egress": ("return", "meta nfproto ipv4 udp sport 68 udp dport 67", f"icmpv6 type {{ {ND} }}"),
    "ingress": (
        "accept",
        "meta nfproto ipv4 udp sport 67 udp dport 68",
        f"icmpv6 type {{ {ND}, nd-router-advert }}",
    ),
}
_DHCPV6 = {  # a client's requests out, the server's replies in
    "egress": "meta nfproto ipv6 udp sport 546 udp dport 547",
    "ingress": "meta nfproto ipv6 udp sport 547 udp dport 546",
}


def _port_chain(
    rules: Iterable[pb.Rule], direction: str, *, stateful: bool = True
) -> tuple[str, ...]:
    """A port's chain for one direction: established and related pass, invalid is dropped (when
    stateful), DHCP and neighbor discovery pass, then the groups' rules, the rest is dropped.
    Egress passes by ``return`` (the receiving port's ingress chain runs next), ingress by
    ``accept``."""
    verdict, dhcp, discovery = _PASSING[direction]
    tracked = (f"ct state established,related {verdict}", "ct state invalid drop")
    return (
        *(tracked if stateful else ()),
        f"{dhcp} {verdict}",
        f"{_DHCPV6[direction]} {verdict}",
        f"{discovery} {verdict}",
        *_matches(rules, direction=direction, verdict=verdict),
        "drop",
    )


def _matches(rules: Iterable[pb.Rule], *, direction: str, verdict: str) -> list[str]:
    found: list[str] = []
    for rule in rules:
        if rule.direction != direction:
            continue
        match = rule_match(rule)
        if match is not None and f"{match} {verdict}".strip() not in found:
            found.append(f"{match} {verdict}".strip())
    return found


def rule_match(rule: pb.Rule) -> str | None:
    """A security-group rule as an nftables match (None: it can match nothing)."""
    v6 = rule.ethertype == "IPv6"
    ip = "ip6" if v6 else "ip"
    words = ["meta nfproto ipv6" if v6 else "meta nfproto ipv4"]
    protocol = _protocol(rule.protocol, v6=v6)
    if protocol is None:
        return None
    low = rule.port_range_min if rule.HasField("port_range_min") else None
    high = rule.port_range_max if rule.HasField("port_range_max") else None
    if protocol in (1, 58):
        icmp = "icmpv6" if protocol == 58 else "icmp"
        words.append(f"meta l4proto {protocol}")
        if low is not None:
            words.append(f"{icmp} type {low}")
            if high is not None:
                words.append(f"{icmp} code {high}")
    elif protocol:
        words.append(f"meta l4proto {protocol}")
        if protocol in WITH_PORTS and low is not None:
            top = high if high is not None else low
            words.append(f"th dport {low}" if top == low else f"th dport {low}-{top}")
    remote = "saddr" if rule.direction == "ingress" else "daddr"
    if rule.remote_ip_prefix:
        prefix = ipaddress.ip_network(rule.remote_ip_prefix, strict=False)
        if prefix.version != (6 if v6 else 4):
            return None
        if prefix.prefixlen:
            words.append(f"{ip} {remote} {_shown(prefix)}")
    if rule.remote_group_id:
        words.append(f"{ip} {remote} @rg{6 if v6 else 4}-{identifier(rule.remote_group_id)}")
    if rule.remote_address_group_id:
        group = identifier(rule.remote_address_group_id)
        words.append(f"{ip} {remote} @ag{6 if v6 else 4}-{group}")
    return " ".join(words)


def _protocol(name: str, *, v6: bool) -> int | None:
    """The IP protocol number (0: any); None when unknown. ICMP for IPv6 means ICMPv6."""
    text = name.strip().lower()
    if text in ("", "any", "0"):
        return 0
    number = int(text) if text.isdigit() else PROTOCOLS.get(text)
    if number is None or number > 255:
        return None
    if v6 and number == 1:
        return 58
    return number


# --- transactions ----------------------------------------------------------------------------


def full(rules: Ruleset) -> str:
    """A transaction that replaces the driver's tables with ``rules`` (whatever was there)."""
    lines: list[str] = []
    for table in rules.tables:
        head = f"{table.family} {TABLE}"
        lines += [f"table {head}", f"delete table {head}", f"table {head} {{"]
        for name, container in table.containers.items():
            lines += _container_block(name, container)
        for name, chain in table.chains.items():
            lines.append(f"  chain {name} {{")
            if chain.base:
                lines.append(f"    {chain.base}")
            lines += [f"    {rule}" for rule in chain.rules]
            lines.append("  }")
        lines.append("}")
    return "\n".join(lines) + "\n"


def _container_block(name: str, container: Container) -> list[str]:
    lines = [f"  {container.kind} {name} {{", *(f"    {d}" for d in container.declaration)]
    if container.elements:
        lines.append(f"    elements = {_set(container.elements)}")
    lines.append("  }")
    return lines


def delta(old: Ruleset, new: Ruleset) -> str:
    """A transaction from ``old`` to ``new`` touching only what differs ('' when nothing)."""
    lines: list[str] = []
    removals: list[str] = []
    for before, after in zip(old.tables, new.tables, strict=True):
        head = f"{after.family} {TABLE}"
        changed = _changed_containers(before, after)
        for name in changed:
            container = after.containers[name]
            if name not in before.containers:
                declaration = "; ".join(container.declaration)
                lines.append(f"add {container.kind} {head} {name} {{ {declaration}; }}")
        for name, chain in after.chains.items():
            if name not in before.chains:
                base = f" {{ {chain.base} }}" if chain.base else ""
                lines.append(f"add chain {head} {name}{base}")
        for name in changed:
            container = after.containers[name]
            if name in before.containers:
                lines.append(f"flush {container.kind} {head} {name}")
            if container.elements:
                lines.append(f"add element {head} {name} {_set(container.elements)}")
        for name, chain in after.chains.items():
            held = before.chains.get(name)
            if held is not None and held.rules == chain.rules:
                continue
            if held is not None:
                lines.append(f"flush chain {head} {name}")
            lines += [f"add rule {head} {name} {rule}" for rule in chain.rules]
        removals += [
            f"delete chain {head} {name}" for name in before.chains if name not in after.chains
        ]
        removals += [
            f"delete {container.kind} {head} {name}"
            for name, container in before.containers.items()
            if name not in after.containers
        ]
    text = "\n".join(lines + removals)
    return text + "\n" if text else ""


def _changed_containers(before: Table, after: Table) -> list[str]:
    return [
        name
        for name, container in after.containers.items()
        if before.containers.get(name) != container
    ]
