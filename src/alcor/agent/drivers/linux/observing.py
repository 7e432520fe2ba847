"""Reading the kernel: the JSON that ``ip -j``, ``bridge -j`` and ``nft -j`` print -> the kernel
objects the driver owns (pure parsers; the executor runs the commands).

Only what the driver's names mark as its own is read (``alcor.agent.drivers.linux.names``):
its devices, the forwarding and neighbor entries on its VXLAN devices, its namespaces with their
devices, global and link-local addresses and routes (not the kernel's own: connected and
link-local routes), and not what a DHCP client set (``dynamic`` addresses, ``proto dhcp``
routes: ``dhcp``'s client script).
Endpoint ``tap`` devices are read as the driver's own in netns mode (veths it made) and, in tap
mode (and a pod's, which ``alcor-cni`` made, in either), when they are attached to one of its
bridges (so a port removed is detached).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from alcor.agent.drivers.linux import kernel as k
from alcor.agent.drivers.linux import names

Json = Any  # what json.loads returns for iproute2's output


def documents(text: str) -> list[Json]:
    """The JSON documents of a batch run (``ip -j -batch`` prints one per command)."""
    decoder = json.JSONDecoder()
    found = []
    position = 0
    text = text.strip()
    while position < len(text):
        document, end = decoder.raw_decode(text, position)
        found.append(document)
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    return found


def host_links(links: list[Json], *, endpoint_mode: str) -> list[k.Object]:
    """The host's devices the driver owns or attached (``ip -j -d link show``)."""
    found: list[k.Object] = []
    for link in links:
        name = link.get("ifname", "")
        kind = link.get("linkinfo", {}).get("info_kind", "")
        master = link.get("master", "")
        if names.owns_device(name):
            found.append(_link(k.HOST, link, kind=kind))
        elif name.startswith(names.TAP):
            subport = str(link.get("link", "")).startswith(names.TRUNK_LEG)  # its peer's name
            plugged = endpoint_mode == "tap" or link.get("ifalias", "").startswith(names.PLUGGED)
            if kind == "veth" and (subport or not plugged):
                found.append(_link(k.HOST, link, kind="veth"))
            elif plugged and master.startswith(names.BRIDGE):
                found.append(_link(k.HOST, link, kind=""))
    return found


def _link(ns: str, link: Json, *, kind: str) -> k.Link:
    info = link.get("linkinfo", {})
    data = info.get("info_data", {})
    vxlan = None
    if kind == "vxlan":
        vxlan = k.Vxlan(
            vni=int(data.get("id", 0)),
            local=data.get("local", ""),
            port=int(data.get("port", 0)),
            learning=bool(data.get("learning", True)),
            proxy=bool(data.get("proxy", False)),
        )
    port = info.get("info_slave_data", {})
    return k.Link(
        ns=ns,
        name=link["ifname"],
        kind=kind,
        master=link.get("master", ""),
        mtu=int(link.get("mtu", 0)),
        mac=link.get("address", "").lower(),
        up="UP" in link.get("flags", ()),
        vxlan=vxlan,
        learning=bool(port["learning"]) if "learning" in port else None,
        flood=bool(port["flood"]) if "flood" in port else None,
        nf_call=(
            bool(data.get("nf_call_iptables")) and bool(data.get("nf_call_ip6tables"))
            if kind == "bridge"
            else None
        ),
        ipv6_auto=(
            link["inet6_addr_gen_mode"] != "none" if "inet6_addr_gen_mode" in link else None
        ),
    )


def forwarding(entries: list[Json]) -> list[k.Object]:
    """Static forwarding entries the driver makes (``bridge -j fdb show``): a VXLAN device's
    own (``self``, with a destination), and the bridge's (``master``, static) for the MACs of
    the ports and legs on it."""
    found: list[k.Object] = []
    for entry in entries:
        device = entry.get("ifname", "")
        if not names.pins_macs(device):
            continue
        mac = entry.get("mac", "").lower()
        flags = entry.get("flags", ())
        if "self" in flags and entry.get("dst") and entry.get("state") == "permanent":
            found.append(k.Fdb(dev=device, mac=mac, dst=entry["dst"]))
        elif entry.get("master") and entry.get("state") == "static":
            found.append(k.Fdb(dev=device, mac=mac))
    return found


def neighbors(entries: list[Json]) -> list[k.Object]:
    """Permanent neighbor entries on the driver's VXLAN devices (``ip -j neigh show``)."""
    return [
        k.Neigh(
            ns=k.HOST,
            dev=entry["dev"],
            ip=str(ipaddress.ip_address(entry["dst"])),
            mac=entry.get("lladdr", "").lower(),
        )
        for entry in entries
        if entry.get("dev", "").startswith(names.VXLAN) and "PERMANENT" in entry.get("state", ())
    ]


def namespace(
    ns: str, links: list[Json], addresses: list[Json], routes: list[Json]
) -> list[k.Object]:
    """One of the driver's namespaces: its devices (``ip -j -d link show``), their global and
    link-local addresses (``ip -j addr show``; the driver makes the link-local ones itself; not
    the dynamic ones a DHCP client set) and the routes made by neither the kernel nor a DHCP
    client (``ip -j route``)."""
    found: list[k.Object] = []
    for link in links:
        name = link.get("ifname", "")
        child = name.startswith(names.ENDPOINT_DEVICE + ".")  # a VLAN sub-interface: ours
        found.append(_link(ns, link, kind="" if name == "lo" else "veth" if child else k.PEER))
    for link in addresses:
        found += [
            k.Address(ns, link.get("ifname", ""), f"{address['local']}/{address['prefixlen']}")
            for address in link.get("addr_info", ())
            if address.get("scope") in ("global", "link") and not address.get("dynamic")
        ]
    found += [_route(ns, route) for route in routes if _ours(route)]
    return found


def _ours(route: Json) -> bool:
    if (
        route.get("protocol") in ("kernel", "ra", "dhcp")
        or route.get("type", "unicast") != "unicast"
    ):
        return False
    return (
        route.get("dst") == "default"
        or not ipaddress.ip_network(route.get("dst", ""), strict=False).is_link_local
    )


def _route(ns: str, route: Json) -> k.Route:
    gateway = route.get("gateway", "")
    destination = route.get("dst", "")
    if destination == "default":
        v6 = ":" in gateway if gateway else False
        destination = "::/0" if v6 else "0.0.0.0/0"
    return k.Route(
        ns=ns,
        dst=str(ipaddress.ip_network(destination, strict=False)),
        via=gateway,
        dev=route.get("dev", ""),
    )


def sysctls(ns: str, output: str) -> list[k.Object]:
    """``sysctl KEY...`` output (``key = value`` lines) as sysctl objects."""
    found: list[k.Object] = []
    for line in output.splitlines():
        key, separator, value = line.partition(" = ")
        if separator:
            found.append(k.Sysctl(ns, key.strip(), value.strip()))
    return found


def zones(document: Json) -> dict[str, int]:
    """The conntrack zone of each bridge, from ``nft -j list map inet alcor zones``."""
    found: dict[str, int] = {}
    for item in document.get("nftables", ()):
        for element in item.get("map", {}).get("elem", ()):
            name, zone = element
            if isinstance(name, str) and isinstance(zone, int):
                found[name] = zone
    return found
