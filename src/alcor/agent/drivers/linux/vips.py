"""Virtual IPs across hosts: the path ARP for a network's allowed address pairs takes (pure).

A segment's VXLAN device answers ARP for the network's ports on the host itself (``proxy``, from
permanent neighbor entries: ``layouts``), and so consumes every ARP frame sent to it, requests,
replies and gratuitous ones alike: nothing of ARP crosses the underlay. That is right for fixed
addresses, which the controller places. A virtual IP (an allowed address pair, held by one of
the ports that list it, moved by keepalived or a gratuitous ARP) is placed by whoever holds it,
so the hosts must hear the holder say so, as they would on one wire.

Per network whose ports (on any host) list pairs, each host holding the network gets:

- a second VXLAN device on the segment's bridge, ``alvp-<vni>``, same VNI, the next UDP port
  (``arp_port``: 4790 beside 4789), **without** ``proxy``: what it is given crosses the
  underlay. Its own learning is on (a reply goes straight back to the VTEP the request came
  from, a router-only host's included); learning is off on its bridge port, as on the main
  device's, so the bridge never moves a MAC to it;
- head-end replication on it: an all-zero forwarding entry per other host with a port of the
  network or of a network one router hop away (whose distributed router reaches the VIPs
  from there), or serving the gateway of a router on it (floating IPs' traffic comes in
  there): ``FLOOD_MAC``, so a broadcast it is given reaches each of them once;
- ``table bridge alcor_vip_<vni>``: out of ``alvp-<vni>`` goes only ARP whose sender or target
  address is in the network's pairs (a set of intervals: a CIDR pair covers its addresses);
  everything else is dropped there (it still leaves by the main device as before), so ARP
  suppression of every other address and unicast through the main device are untouched.

- where a router has an interface on the network: ``table netdev alcor_vipr_<vni>``, a chain on
  the ingress of each local port's ``tap`` that lists pairs, copying (``dup``) the port's ARP
  replies for its own pairs to a router's MAC out of ``alvp-<vni>``. A distributed router has
  the same MAC on every host, so the bridge hands such a reply to the holder's own host's
  router leg, never to the host whose router asked; the copy reaches it (the device learnt
  where that MAC asked from, or floods). Only the port's own pairs from its own MACs, and only
  unicast replies to a router: nothing it copies can come back to be copied again.

So a request for a VIP is answered by its holder, wherever it is (the proxy has no entry for
it), and a gratuitous ARP from a new holder reaches every host with a port of the network (or
one router hop away) at once, updating their endpoints' and routers' caches: a move needs no
controller round trip, and what is lost is only what was sent to the old holder before the new
one announced itself.

A pair's MAC other than its port's is pinned on the port's ``tap`` on its own host (the bridge
delivers it there) and sent to the port's host by a static entry elsewhere (as a port's own
MAC is); a MAC that ports on two hosts share (VRRP's virtual MAC) stays with the first of them
by port id: its location is not learned. Only IPv4 pairs take this path (ND for IPv6 pairs is
not carried yet).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from alcor.agent.drivers.linux import kernel as k
from alcor.agent.drivers.linux import layouts, names
from alcor.v1 import southbound_pb2 as pb

FLOOD_MAC = k.FLOOD_MAC


def arp_port(host: layouts.HostSettings) -> int:
    """The UDP port of the hosts' VIP devices: the one after the segments' own."""
    return host.vxlan_port + 1


def table(vni: int) -> str:
    return f"bridge alcor_vip_{vni}"


def replies_table(vni: int) -> str:
    return f"netdev alcor_vipr_{vni}"


def pairs(neighbors: Iterable[pb.Neighbor]) -> list[str]:
    """The IPv4 pairs of the neighbors, merged into the fewest CIDRs (an nftables set of
    intervals refuses overlapping elements)."""
    found = []
    for neighbor in neighbors:
        for pair in neighbor.allowed_address_pairs:
            if ":" not in pair.ip_address:
                found.append(ipaddress.IPv4Network(pair.ip_address, strict=False))
    return [str(net) for net in ipaddress.collapse_addresses(found)]


def path(
    network: pb.Network | None,
    neighbors: Iterable[pb.Neighbor],
    host: layouts.HostSettings,
    *,
    router_macs: Iterable[str] = (),
    routed_hosts: Iterable[str] = (),
) -> layouts.Layout | None:
    """What the host holds for one network's pairs (None: nothing, the network has no IPv4
    pair, or no other host to reach); ``router_macs``: the MACs of the routers' interfaces on
    the network; ``routed_hosts``: the underlay addresses of the hosts with ports one router
    hop away and of the routers' gateway hosts (their routers reach the VIPs too, so they hear
    its ARP)."""
    if network is None or not layouts.segment(network):
        return None
    ordered = sorted(neighbors, key=lambda n: n.port_id)
    covered = pairs(ordered)
    remote = sorted(
        {
            n.host_ip
            for n in ordered
            if n.host_ip and n.host_ip != host.underlay_ip and n.host_id != host.host_id
        }
        | {ip for ip in routed_hosts if ip and ip != host.underlay_ip}
    )
    if not covered or not remote:
        return None
    vni = layouts.segment(network)
    device = names.vip_vxlan(vni)
    found: list[k.Object] = [
        k.Link(
            ns=k.HOST,
            name=device,
            kind="vxlan",
            master=names.bridge(vni),
            mtu=layouts.mtu(network),
            vxlan=k.Vxlan(
                vni=vni, local=host.underlay_ip, port=arp_port(host), learning=True, proxy=False
            ),
            learning=False,
            ipv6_auto=False,
        ),
        *(k.Fdb(dev=device, mac=FLOOD_MAC, dst=ip) for ip in remote),
        k.Nftables(k.HOST, table(vni), _filter(vni, device, covered)),
    ]
    found += _macs(ordered, vni, host)
    routers = sorted({mac.lower() for mac in router_macs})
    local = [n for n in ordered if n.host_id == host.host_id and pairs([n])]
    if routers and local:
        found.append(k.Nftables(k.HOST, replies_table(vni), _copies(vni, device, local, routers)))
    return layouts.Layout(found, frozenset())


def _macs(neighbors: list[pb.Neighbor], vni: int, host: layouts.HostSettings) -> list[k.Object]:
    """Pair MACs other than their ports' own: pinned on the holder's tap on its host, sent to
    its host from the others (the first port by id, for a MAC several share)."""
    found: dict[k.Identity, k.Object] = {}
    for neighbor in neighbors:
        own = neighbor.mac_address.lower()
        local = neighbor.host_id == host.host_id
        if not local and (not neighbor.host_ip or neighbor.host_ip == host.underlay_ip):
            continue
        for pair in neighbor.allowed_address_pairs:
            mac = pair.mac_address.lower()
            if not mac or mac == own:
                continue
            obj = (
                k.Fdb(dev=names.tap(neighbor.port_id), mac=mac)
                if local
                else k.Fdb(dev=names.vxlan(vni), mac=mac, dst=neighbor.host_ip)
            )
            found.setdefault(("mac", mac), obj)
    return list(found.values())


def _copies(vni: int, device: str, local: list[pb.Neighbor], routers: list[str]) -> str:
    chains = []
    for neighbor in local:
        tap = names.tap(neighbor.port_id)
        macs = sorted(
            {neighbor.mac_address.lower()}
            | {p.mac_address.lower() for p in neighbor.allowed_address_pairs if p.mac_address}
        )
        chains.append(
            f"  chain in-{tap} {{\n"
            f'    type filter hook ingress device "{tap}" priority 0; policy accept;\n'
            f"    ether daddr {{ {', '.join(routers)} }} ether saddr {{ {', '.join(macs)} }} "
            f"arp operation reply arp saddr ip {{ {', '.join(pairs([neighbor]))} }} "
            f'dup to "{device}"\n'
            "  }\n"
        )
    return f"table {replies_table(vni)} {{\n{''.join(chains)}}}\n"


def _filter(vni: int, device: str, covered: list[str]) -> str:
    return (
        f"table {table(vni)} {{\n"
        "  set pairs {\n"
        "    type ipv4_addr; flags interval;\n"
        f"    elements = {{ {', '.join(covered)} }}\n"
        "  }\n"
        "  chain forward {\n"
        "    type filter hook forward priority 0; policy accept;\n"
        f'    oifname "{device}" arp saddr ip @pairs accept\n'
        f'    oifname "{device}" arp daddr ip @pairs accept\n'
        f'    oifname "{device}" drop\n'
        "  }\n"
        "}\n"
    )
