"""Planning: what the kernel holds and what it should hold -> the commands that make it so.

Pure. ``diff`` compares two ``Objects`` maps into operations (add, change, remove; a link whose
kind or VXLAN parameters differ is removed and made again, and what hung on it is added back);
``stages`` renders operations as ``ip``/``bridge`` batch lines in the order that makes before it
breaks:

1. namespaces to make (one root batch: ``netns add`` cannot run inside ``ip -n X -batch``);
2. the host's ``ip`` batch of devices: new ones (bridges first), their settings;
3. side by side: the host's ``ip`` batch of neighbor entries, its ``bridge`` batch (bridge-port
   learning off, static forwarding entries), one ``ip -n NS`` batch per namespace (its devices'
   settings, addresses, routes, neighbor entries, and what it no longer holds), the sysctls of
   new routers, and one ``nft -f -`` per nftables table to load (a router's NAT);
4. side by side: the host's ``bridge`` batch of forwarding entries to remove, and its ``ip``
   batch of neighbor entries and devices to remove (taps that are not ours are only detached);
5. namespaces to remove.

Nothing is removed that goes with something else removed (an entry on a device that goes, an
address in a namespace that goes). Every line carries the key of the goal-state resource it
serves, so a line that fails becomes that resource's failure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import msgspec

from alcor.agent.drivers.linux import kernel as k

ADD, CHANGE, REMOVE = "add", "change", "remove"
OWNED_KINDS = ("bridge", "vxlan", "veth")
_CREATION_ORDER = {"bridge": 0, "vxlan": 1, "veth": 2}
_REMOVAL_ORDER = {"veth": 0, "vxlan": 1, "bridge": 2}


class Op(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    action: str
    obj: k.Object  # what is wanted (add, change) or held (remove)
    owner: str = ""  # the goal-state key it serves ("" : nothing any more)
    held: k.Object | None = None  # change: what is held now


class Line(msgspec.Struct, frozen=True, gc=False):
    text: str
    owner: str


class Batch(msgspec.Struct, frozen=True, kw_only=True):
    """One process: ``tool`` is ``ip`` or ``bridge`` (lines on stdin of ``-batch -``), or
    ``sysctl`` (lines are ``key=value`` arguments), run in namespace ``ns``."""

    tool: str
    ns: str
    lines: list[Line]


Stage = list[Batch]  # batches that may run side by side


def diff(held: k.Objects, wanted: k.Objects, owners: Mapping[k.Identity, str]) -> list[Op]:
    """The operations that turn ``held`` into ``wanted``; ``owners`` names each identity's
    resource (wanted or, for removals, last wanted)."""
    ops: list[Op] = []
    remade: set[tuple[str, str]] = set()
    for ident, want in wanted.items():
        have = held.get(ident)
        owner = owners.get(ident, "")
        if have is None:
            ops.append(Op(action=ADD, obj=want, owner=owner))
        elif k.satisfies(have, want):
            continue
        elif isinstance(want, k.Link) and isinstance(have, k.Link) and k.needs_recreate(have, want):
            ops.append(Op(action=REMOVE, obj=have, owner=owner))
            ops.append(Op(action=ADD, obj=want, owner=owner))
            remade.add((want.ns, want.name))
            if want.peer:
                remade.add((want.peer_ns, want.peer))
        else:
            ops.append(Op(action=CHANGE, obj=want, owner=owner, held=have))
    if remade:  # what hung on a device made again (or was its veth peer) went with the old one
        touched = {k.identity(op.obj) for op in ops}
        ops += [
            Op(action=ADD, obj=want, owner=owners.get(ident, ""))
            for ident, want in wanted.items()
            if ident in held and ident not in touched and _on(want) & remade
        ]
    removals = [
        Op(action=REMOVE, obj=have, owner=owners.get(ident, ""))
        for ident, have in held.items()
        if ident not in wanted
    ]
    # an address removed may take routes through it along: set them again after it
    readdressed = {op.obj.ns for op in removals if isinstance(op.obj, k.Address)}
    if readdressed:
        touched = {k.identity(op.obj) for op in ops}
        ops += [
            Op(action=ADD, obj=want, owner=owners.get(ident, ""))
            for ident, want in wanted.items()
            if isinstance(want, k.Route) and want.ns in readdressed and ident not in touched
        ]
    return ops + removals


def _on(obj: k.Object) -> set[tuple[str, str]]:
    """The devices an object goes with: the one it hangs on, a link itself."""
    where = k.namespace(obj)
    found = {(where, k.device(obj))}
    if isinstance(obj, k.Link):
        found.add((where, obj.name))
    return found


def stages(ops: list[Op]) -> list[Stage]:
    """The batches that carry out ``ops``, in order (see the module's docstring)."""
    gone_ns = {op.obj.name for op in ops if op.action == REMOVE and isinstance(op.obj, k.Netns)}
    gone_dev = {
        (op.obj.ns, op.obj.name)
        for op in ops
        if op.action == REMOVE and isinstance(op.obj, k.Link) and op.obj.kind in OWNED_KINDS
    }
    remade = {
        (op.obj.ns, op.obj.name)
        for op in ops
        if op.action == ADD and isinstance(op.obj, k.Link) and op.obj.kind in OWNED_KINDS
    }
    netns_add: list[Line] = []
    host = _HostLines()
    in_ns: defaultdict[str, _NsLines] = defaultdict(_NsLines)
    sysctls: defaultdict[str, list[Line]] = defaultdict(list)
    tables: defaultdict[str, list[Line]] = defaultdict(list)
    netns_del: list[Line] = []
    for op in ops:
        obj, owner = op.obj, op.owner
        if op.action == REMOVE:
            where = k.namespace(obj)
            if where in gone_ns or (where, k.device(obj)) in gone_dev - remade:
                continue
            if isinstance(obj, k.Netns):
                netns_del.append(Line(f"netns del {obj.name}", owner))
            elif isinstance(obj, k.Fdb):
                host.fdb_removals.append(Line(_fdb_del(obj), owner))
            elif isinstance(obj, k.Link):
                _remove_link(obj, owner, host, in_ns, remade=(obj.ns, obj.name) in remade)
            elif isinstance(obj, k.Neigh):
                line = Line(f"neigh del {obj.ip} dev {obj.dev}", owner)
                (host.removals if where == k.HOST else in_ns[where].removals).append(line)
            elif isinstance(obj, k.Nftables):
                tables[where].append(Line(f"delete table {obj.table}", owner))
            elif isinstance(obj, k.Address):
                in_ns[where].address_removals.append(
                    Line(f"addr del {obj.cidr} dev {obj.dev}", owner)
                )
            elif isinstance(obj, k.Route):
                in_ns[where].removals.append(Line(f"route del {obj.dst}", owner))
            continue
        if isinstance(obj, k.Netns):
            netns_add.append(Line(f"netns add {obj.name}", owner))
        elif isinstance(obj, k.Link):
            _set_link(op, host, in_ns)
        elif isinstance(obj, k.Fdb):
            host.fdb.append(Line(_fdb_set(obj), owner))
        elif isinstance(obj, k.Neigh):
            line = Line(_neigh_set(obj), owner)
            (host.neighbors if obj.ns == k.HOST else in_ns[obj.ns].neighbors).append(line)
        elif isinstance(obj, k.Nftables):  # declared, emptied and filled in one transaction
            text = f"table {obj.table}\ndelete table {obj.table}\n{obj.text}"
            tables[obj.ns].append(Line(text, owner))
        elif isinstance(obj, k.Sysctl):
            sysctls[obj.ns].append(Line(f"{obj.key}={obj.value}", owner))
        elif isinstance(obj, k.Address):
            in_ns[obj.ns].addresses.append(Line(_address_set(obj), owner))
        elif isinstance(obj, k.Route):
            in_ns[obj.ns].routes.append(Line(_route_set(obj), owner))
    return [
        stage
        for stage in (
            _batches("ip", {k.HOST: netns_add}),
            _batches("ip", {k.HOST: host.devices()}),
            _batches("ip", {k.HOST: host.neighbors})
            + _batches("bridge", {k.HOST: host.bridging()})
            + _batches("ip", {ns: lines.all() for ns, lines in in_ns.items()})
            + _batches("sysctl", sysctls)
            + [Batch(tool="nft", ns=ns, lines=[line]) for ns in tables for line in tables[ns]],
            _batches("bridge", {k.HOST: host.fdb_removals})
            + _batches("ip", {k.HOST: host.breaking()}),
            _batches("ip", {k.HOST: netns_del}),
        )
        if stage
    ]


class _HostLines:
    """The host's ``ip`` and ``bridge`` lines, sorted into the order they must run in."""

    def __init__(self) -> None:
        self.remakes: list[Line] = []  # devices deleted to be made again
        self.creations: list[tuple[int, Line]] = []
        self.quiet: list[Line] = []  # IPv6 link-local addresses made by us, not the kernel
        self.settings: list[Line] = []
        self.neighbors: list[Line] = []
        self.port_flags: list[Line] = []  # bridge ports' learning and flooding
        self.fdb: list[Line] = []
        self.fdb_removals: list[Line] = []
        self.removals: list[Line] = []
        self.deletions: list[tuple[int, Line]] = []

    def devices(self) -> list[Line]:
        created = [line for _, line in sorted(self.creations, key=lambda pair: pair[0])]
        return self.remakes + created + self.quiet + self.settings

    def bridging(self) -> list[Line]:
        return self.port_flags + self.fdb

    def breaking(self) -> list[Line]:
        deleted = [line for _, line in sorted(self.deletions, key=lambda pair: pair[0])]
        return self.removals + deleted


class _NsLines:
    """One namespace's lines: its devices up before addresses, addresses before the routes
    through them; an address to remove goes before the new ones (deleting a primary address
    takes the secondaries of its subnet with it), and the routes are set again after it."""

    def __init__(self) -> None:
        self.creations: list[Line] = []  # veths with both ends here, before their settings
        self.links: list[Line] = []
        self.address_removals: list[Line] = []
        self.addresses: list[Line] = []
        self.routes: list[Line] = []
        self.neighbors: list[Line] = []
        self.removals: list[Line] = []

    def all(self) -> list[Line]:
        return (
            self.creations
            + self.links
            + self.address_removals
            + self.addresses
            + self.routes
            + self.neighbors
            + self.removals
        )


def _batches(tool: str, lines: Mapping[str, list[Line]]) -> list[Batch]:
    return [Batch(tool=tool, ns=ns, lines=found) for ns, found in lines.items() if found]


def _set_link(op: Op, host: _HostLines, in_ns: defaultdict[str, _NsLines]) -> None:
    link, owner = op.obj, op.owner
    assert isinstance(link, k.Link)
    held = op.held if isinstance(op.held, k.Link) else None
    changes = k.link_changes(held, link) if held is not None else _all_settings(link)
    if op.action == ADD and link.kind in OWNED_KINDS:
        if link.ns == k.HOST:
            host.creations.append((_CREATION_ORDER[link.kind], Line(_creation(link), owner)))
        else:  # a veth with both ends in a namespace (a VLAN sub-interface's pair)
            in_ns[link.ns].creations.append(Line(_creation(link, here=True), owner))
    automatic = changes.pop("ipv6_auto", None)
    if automatic is not None:  # before the link goes up, so no address is made meanwhile
        mode = Line(
            f"link set dev {link.name} addrgenmode {'eui64' if automatic else 'none'}", owner
        )
        (host.quiet if link.ns == k.HOST else in_ns[link.ns].links).append(mode)
    if changes.pop("nf_call", None) and op.action == CHANGE:
        host.settings.append(
            Line(
                f"link set dev {link.name} type bridge nf_call_iptables 1 nf_call_ip6tables 1",
                owner,
            )
        )
    for flag in ("learning", "flood"):
        value = changes.pop(flag, None)
        if value is not None:
            host.port_flags.append(
                Line(f"link set dev {link.name} {flag} {'on' if value else 'off'}", owner)
            )
    if not changes:
        return
    line = Line(f"link set dev {link.name} {_link_arguments(changes)}", owner)
    if link.ns == k.HOST:
        host.settings.append(line)
    else:
        in_ns[link.ns].links.append(line)


def _all_settings(link: k.Link) -> dict[str, object]:
    """Every attribute a new link is to be set to: its changes from a link set to nothing."""
    return k.link_changes(k.Link(ns=link.ns, name=link.name, kind=link.kind, up=None), link)


def _link_arguments(changes: Mapping[str, object]) -> str:
    words = []
    if "master" in changes:
        words.append(f"master {changes['master']}" if changes["master"] else "nomaster")
    if "mtu" in changes:
        words.append(f"mtu {changes['mtu']}")
    if "mac" in changes:
        words.append(f"address {changes['mac']}")
    if "up" in changes:
        words.append("up" if changes["up"] else "down")
    return " ".join(words)


def _creation(link: k.Link, *, here: bool = False) -> str:
    if link.kind == "bridge":
        return f"link add {link.name} type bridge nf_call_iptables 1 nf_call_ip6tables 1"
    if link.kind == "vxlan":
        assert link.vxlan is not None
        v = link.vxlan
        return (
            f"link add {link.name} type vxlan id {v.vni} local {v.local} dstport {v.port} "
            f"{'learning' if v.learning else 'nolearning'}{' proxy' if v.proxy else ''}"
        )
    where = f" netns {link.peer_ns}" if link.peer_ns and not here else ""
    return f"link add {link.name} type veth peer name {link.peer}{where}"


def _remove_link(
    link: k.Link,
    owner: str,
    host: _HostLines,
    in_ns: defaultdict[str, _NsLines],
    *,
    remade: bool,
) -> None:
    if link.kind in OWNED_KINDS and link.ns != k.HOST:  # a veth made in its namespace
        in_ns[link.ns].removals.append(Line(f"link del dev {link.name}", owner))
    elif link.kind in OWNED_KINDS:
        line = Line(f"link del dev {link.name}", owner)
        if remade:
            host.remakes.append(line)
        else:
            host.deletions.append((_REMOVAL_ORDER[link.kind], line))
    elif link.kind == "" and link.master:  # a device we only attached: detach it
        line = Line(f"link set dev {link.name} nomaster", owner)
        if link.ns == k.HOST:
            host.removals.append(line)
        else:
            in_ns[link.ns].removals.append(line)


def _address_set(address: k.Address) -> str:
    """IPv6 without duplicate address detection: the address is the controller's to give (and a
    router's is the same on every host by design)."""
    nodad = " nodad" if ":" in address.cidr else ""
    return f"addr replace {address.cidr} dev {address.dev}{nodad}"


def _route_set(route: k.Route) -> str:
    gateway = f" via {route.via}" if route.via else ""
    device = f" dev {route.dev}" if route.dev else ""
    onlink = " onlink" if route.onlink else ""
    return f"route replace {route.dst}{gateway}{device}{onlink}"


def _neigh_set(neigh: k.Neigh) -> str:
    return f"neigh replace {neigh.ip} lladdr {neigh.mac} dev {neigh.dev} nud permanent"


def _fdb_set(fdb: k.Fdb) -> str:
    if fdb.mac == k.FLOOD_MAC:  # one more destination, never replacing the others
        return f"fdb append {fdb.mac} dev {fdb.dev} dst {fdb.dst} self permanent"
    if fdb.dst:
        return f"fdb replace {fdb.mac} dev {fdb.dev} dst {fdb.dst} self permanent"
    return f"fdb replace {fdb.mac} dev {fdb.dev} master static"


def _fdb_del(fdb: k.Fdb) -> str:
    if fdb.dst:
        return f"fdb del {fdb.mac} dev {fdb.dev} dst {fdb.dst} self"
    return f"fdb del {fdb.mac} dev {fdb.dev} master"
