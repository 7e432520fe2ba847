"""The kernel objects the linux driver programs, as values.

Each object is one thing the kernel holds (a namespace, a device, an address, a route, a
neighbor entry, a forwarding entry, a sysctl), with the namespace it lives in (``HOST``: the
agent's own). An object has an *identity* (what it is: the device's name, the route's
destination, ...) and attributes (what it is set to). What the goal state wants and what the
kernel was seen to hold are both ``Objects`` (identity -> object), so planning is a comparison of
two maps (``alcor.agent.drivers.linux.planning``).

A wanted attribute that is empty (``""``, ``0``, ``None``) means "whatever it is": the driver
does not set a bridge's MTU or a tap's MAC, so it does not compare them either.
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec

HOST = ""  # the agent's own network namespace
# A VXLAN device's all-zero forwarding entry: head-end replication, one per remote VTEP (so its
# destination is part of what it is)
FLOOD_MAC = "00:00:00:00:00:00"

# A link's kind: made by the driver ("bridge", "vxlan", "veth" with its peer), the far end of a
# veth made with it ("peer"), or a device that exists on its own and is only set up and attached
# ("": a Nova tap, a namespace's loopback).
PEER = "peer"


class Netns(msgspec.Struct, frozen=True, gc=False):
    name: str


class Vxlan(msgspec.Struct, frozen=True, gc=False):
    vni: int
    local: str
    port: int
    learning: bool = False  # the device's own learning (off: static forwarding entries only)
    proxy: bool = True  # answer ARP/ND from the neighbor table


class Link(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    ns: str
    name: str
    kind: str
    master: str = ""
    mtu: int = 0
    mac: str = ""
    up: bool | None = True
    vxlan: Vxlan | None = None
    peer: str = ""  # veth: the other end's name ...
    peer_ns: str = ""  # ... and namespace, at creation
    learning: bool | None = None  # as a bridge port
    flood: bool | None = None  # as a bridge port: gets unknown unicast
    nf_call: bool | None = None  # bridge: hand IPv4/IPv6 to the inet hooks (br_netfilter)
    ipv6_auto: bool | None = None  # the kernel makes its IPv6 link-local address (with DAD)


class Address(msgspec.Struct, frozen=True, gc=False):
    ns: str
    dev: str
    cidr: str  # address/prefix length


class Route(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    ns: str
    dst: str  # a prefix; the default route is 0.0.0.0/0 or ::/0
    via: str = ""
    dev: str = ""
    onlink: bool = False  # ``via`` is on ``dev`` though no address of ``dev`` covers it


class Neigh(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A permanent neighbor (ARP/ND) entry: what a VXLAN device answers for (proxy)."""

    ns: str
    dev: str
    ip: str
    mac: str


class Fdb(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A static forwarding entry on a VXLAN port: ``dst`` set, the device's own entry (which
    VTEP has the MAC); ``dst`` empty, the bridge's entry (which port has it)."""

    dev: str
    mac: str
    dst: str = ""


class Sysctl(msgspec.Struct, frozen=True, gc=False):
    ns: str
    key: str
    value: str


class Nftables(msgspec.Struct, frozen=True, gc=False):
    """A whole nftables table in a namespace (``family name``, its text), replaced at once."""

    ns: str
    table: str  # "ip alcor_nat"
    text: str


Object: TypeAlias = Netns | Link | Address | Route | Neigh | Fdb | Sysctl | Nftables
Identity: TypeAlias = tuple[str, ...]
Objects: TypeAlias = dict[Identity, Object]


def identity(obj: Object) -> Identity:
    """What an object is, apart from what it is set to (the many first: neighbors)."""
    if isinstance(obj, Fdb):
        if obj.mac == FLOOD_MAC:
            return ("fdb-self", obj.dev, obj.mac, obj.dst)
        return ("fdb-self" if obj.dst else "fdb-master", obj.dev, obj.mac)
    if isinstance(obj, Neigh):
        return ("neigh", obj.ns, obj.dev, obj.ip)
    if isinstance(obj, Link):
        return ("link", obj.ns, obj.name)
    if isinstance(obj, Address):
        return ("address", obj.ns, obj.dev, obj.cidr)
    if isinstance(obj, Route):
        return ("route", obj.ns, obj.dst)
    if isinstance(obj, Netns):
        return ("netns", obj.name)
    if isinstance(obj, Nftables):
        return ("nftables", obj.ns, obj.table)
    return ("sysctl", obj.ns, obj.key)


def objects(found: list[Object]) -> Objects:
    return {identity(obj): obj for obj in found}


def namespace(obj: Object) -> str:
    """The namespace an object lives in (a namespace itself: the host's)."""
    if isinstance(obj, Netns | Fdb):
        return HOST
    return obj.ns


def device(obj: Object) -> str:
    """The device an object hangs on (removed with it), or ''."""
    if isinstance(obj, Address | Neigh | Fdb):
        return obj.dev
    return ""


def satisfies(held: Object, wanted: Object) -> bool:
    """Whether what is held is what is wanted (wanted attributes left empty: any)."""
    if type(held) is not type(wanted):
        return False
    if isinstance(wanted, Link):
        assert isinstance(held, Link)
        return not needs_recreate(held, wanted) and not link_changes(held, wanted)
    if isinstance(wanted, Route):
        assert isinstance(held, Route)
        return held.via == wanted.via and (not wanted.dev or held.dev == wanted.dev)
    return held == wanted


def needs_recreate(held: Link, wanted: Link) -> bool:
    """Whether a link must be made again (its kind or VXLAN parameters differ)."""
    if wanted.kind in ("", PEER):
        return False
    return held.kind != wanted.kind or (wanted.vxlan is not None and held.vxlan != wanted.vxlan)


def link_changes(held: Link, wanted: Link) -> dict[str, object]:
    """The settable attributes of a link that differ: name -> wanted value."""
    found: dict[str, object] = {}
    if held.master != wanted.master:
        found["master"] = wanted.master
    for name in ("mtu", "mac"):
        value = getattr(wanted, name)
        if value and getattr(held, name) != value:
            found[name] = value
    for name in ("up", "learning", "flood", "nf_call", "ipv6_auto"):
        value = getattr(wanted, name)
        if value is not None and getattr(held, name) != value:
            found[name] = value
    return found
