"""The goal-state engine: committed changes in, per-host goal-state deltas out.

Pure and single-threaded: ``apply`` takes one committed change (its record, typed) and returns,
for every host it affects, the entries that host must now set or remove. Nothing here does I/O.

**Topics.** What a host holds, apart from its own ports, is a union of *topics*, each shared by
every host that needs it:

``("network", N)``  the network, its subnets and its neighbors (every bound endpoint port of N,
                    on any host: address, MAC, VNI, host underlay address);
``("router", R)``   a router with its interfaces, routes and gateway;
``("group", G)``    a security group with its rules;
``("members", G)``  the addresses of the ports in group G (an address set for remote_group_id);
``("gateway", R)``  the floating IPs associated through router R.

A host subscribes to the network of each of its ports, to the routers on those networks and the
other networks of those routers (distributed routing: it routes across subnets itself, so it
needs the neighbors of every network one router hop away), to its ports' groups, and to the
members of every group those groups' rules name as remote group.

**Gateways.** A router's external gateway (on a flat network) is served by one host: of the up
nodes that map the network's physical network, the one that ranks first for the router
(rendezvous hashing: a node that comes or goes moves only the routers it wins or held). That
host holds the router, its floating IPs and every network of the router (it routes back to any
of them), whether or not it has ports there; every other host holding the router sends to it
what leaves the router's subnets (``Router.gateway_host_ip``).

**Cost.** A change to a topic's content is one entry fanned out to the topic's readers: creating
a port costs one neighbor entry per host serving its network, whatever the network's size. Only
a subscription change moves a whole topic, once: a host gets a network's neighbor set when it
gets its first port there.

**Revisions.** Every entry carries the store revision at which it last changed for that host;
removals are entries too. A host applies entries last-writer-wins per key, so replaying or
reordering deltas leaves the same state. A topic's entries are kept in revision order (an update
moves its key to the end) with the removals since the compaction floor, so the delta for a host
reconnecting at revision R is the suffix after R of each topic it holds, not a rebuild.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import NamedTuple, TypeVar

from alcor.goalstate import entries as e
from alcor.model import records
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

Topic = tuple[str, str]
K = TypeVar("K")


class Stored(NamedTuple):
    """An entry as a topic keeps it: its revision, which resource it is, and the resource
    serialized. A protobuf message standing on its own costs ~1.7 KB resident (its own arena);
    this ~240 B. Entries are made again (``entry``) when a host joins or resumes."""

    revision: int
    kind: str  # the field of Entry's ``resource`` oneof
    body: bytes


def stored(entry: pb.Entry) -> Stored:
    kind = entry.WhichOneof("resource")
    if kind is None:
        raise ValueError("an entry without a resource")
    body = getattr(entry, kind).SerializeToString(deterministic=True)
    return Stored(entry.revision, kind, body)


def entry_of(kept: Stored, at_least: int = 0) -> pb.Entry:
    """The entry again, stamped at least ``at_least`` (a host that subscribes at that revision
    must not take it for older than a removal it received before)."""
    entry = pb.Entry(revision=max(kept.revision, at_least))
    getattr(entry, kept.kind).ParseFromString(kept.body)
    return entry


class Content:
    """A topic's (or a host's own) entries in revision order, and its removals since the floor."""

    __slots__ = ("entries", "removed")

    def __init__(self) -> None:
        self.entries: dict[str, Stored] = {}
        self.removed: dict[str, int] = {}

    def put(self, key: str, entry: pb.Entry) -> bool:
        """Set the key; False when it already holds the same resource (no one need hear of it)."""
        new = stored(entry)
        held = self.entries.get(key)
        if held is not None and (held.kind, held.body) == (new.kind, new.body):
            return False
        self.entries.pop(key, None)
        self.entries[key] = new
        self.removed.pop(key, None)
        return True

    def all(self, at_least: int = 0) -> Iterator[tuple[str, pb.Entry]]:
        """Every entry, by key, stamped at least ``at_least``."""
        for key, kept in self.entries.items():
            yield key, entry_of(kept, at_least)

    def drop(self, key: str, revision: int) -> bool:
        if self.entries.pop(key, None) is None:
            return False
        self.removed.pop(key, None)
        self.removed[key] = revision
        return True

    def since(self, revision: int) -> Iterator[pb.Entry]:
        """What changed after ``revision``: newest first, so it stops at the first older one."""
        for kept in reversed(self.entries.values()):
            if kept.revision <= revision:
                break
            yield entry_of(kept)
        for key, removed_at in reversed(self.removed.items()):
            if removed_at <= revision:
                break
            yield keys.removal(key, removed_at)

    def forget_removals_before(self, floor: int) -> None:
        while self.removed:
            key, removed_at = next(iter(self.removed.items()))
            if removed_at >= floor:
                break
            del self.removed[key]


def _router_of(port: records.Port | None, port_type: str) -> str:
    """The router whose ``port_type`` the port is by its router's records (not device_*), or ''."""
    if port is None or port.router_port_type != port_type:
        return ""
    return port.router_id


_GATEWAY = "gateway:"  # a host's subscriptions are held by its ports and by the gateways it serves


def _gateway_holder(router_id: str) -> str:
    return _GATEWAY + router_id


def _rank(router_id: str, host: str) -> bytes:
    """A host's rank for serving a router's gateway (the same in every process)."""
    return hashlib.blake2b(f"{router_id}/{host}".encode(), digest_size=8).digest()


def _serving(node: records.Node) -> frozenset[str]:
    """The physical networks a node can serve gateways on now."""
    if node.state != "up" or not node.admin_state_up:
        return frozenset()
    return frozenset(node.physical_networks)


def _count(counter: Counter[K], key: K, step: int) -> None:
    """Counts that never hold zeros, so their keys are exactly what is counted."""
    counter[key] += step
    if counter[key] <= 0:
        del counter[key]


class Deltas:
    """Per host, the entries one change produced, one per key (the last one wins). A quiet one
    keeps nothing, and the fan-out that would fill it is skipped (``quiet`` is checked there)."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.by_host: defaultdict[str, dict[str, pb.Entry]] = defaultdict(dict)

    def add(self, host: str, key: str, entry: pb.Entry) -> None:
        if not self.quiet:
            self.by_host[host][key] = entry

    def result(self) -> dict[str, list[pb.Entry]]:
        return {host: list(entries.values()) for host, entries in self.by_host.items() if entries}


class Pending:
    """Subscription work one change leaves: own ports (and served gateways) whose topics may
    differ (cheap: one holder's topics), and hosts whose every holder's topics may differ (a
    router joined or left one of their networks, a rule naming a remote group changed in a
    group they hold)."""

    def __init__(self) -> None:
        self.ports: set[tuple[str, str]] = set()  # (host, port id or gateway holder)
        self.hosts: set[str] = set()


class Engine:
    def __init__(self) -> None:
        self.revision = 0
        self.floor = 0  # a host that applied less than this gets a snapshot, not a delta
        # the intent, as last committed
        self._networks: dict[str, records.Network] = {}
        self._subnets: dict[str, records.Subnet] = {}
        self._ports: dict[str, records.Port] = {}
        self._routers: dict[str, records.Router] = {}
        self._groups: dict[str, records.SecurityGroup] = {}
        self._rules: dict[str, records.SecurityGroupRule] = {}
        self._host_ips: dict[str, str] = {}  # host (node name) -> underlay address
        self._node_names: dict[str, str] = {}  # node id -> name
        self._floating_ips: dict[str, records.FloatingIp] = {}
        # indexes over it
        self._rules_of: defaultdict[str, set[str]] = defaultdict(set)
        self._host_ports: defaultdict[str, set[str]] = defaultdict(set)  # own ports by host
        self._network_hosts: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._interfaces: defaultdict[str, set[str]] = defaultdict(set)  # router -> ports
        self._routers_on: defaultdict[str, Counter[str]] = defaultdict(Counter)  # net -> routers
        self._gateways: dict[str, str] = {}  # router -> gateway port
        self._external_routers: defaultdict[str, set[str]] = defaultdict(set)  # net -> routers
        self._physnet_hosts: defaultdict[str, set[str]] = defaultdict(set)  # serving now
        self._node_serves: dict[str, frozenset[str]] = {}  # host -> its physical networks
        self._gateway_hosts: dict[str, str] = {}  # router -> the host serving its gateway
        self._hosted: defaultdict[str, set[str]] = defaultdict(set)  # host -> those routers
        # what hosts hold
        self._topics: defaultdict[Topic, Content] = defaultdict(Content)
        self._readers: defaultdict[Topic, set[str]] = defaultdict(set)
        self._own: defaultdict[str, Content] = defaultdict(Content)
        self._subscribed: defaultdict[str, dict[Topic, int]] = defaultdict(dict)
        self._unsubscribed: defaultdict[str, dict[Topic, int]] = defaultdict(dict)
        self._port_topics: dict[tuple[str, str], frozenset[Topic]] = {}  # (host, holder) ->
        self._refs: defaultdict[str, Counter[Topic]] = defaultdict(Counter)  # host -> ports

    # --- the way in ------------------------------------------------------------------------

    def apply(
        self, revision: int, operation: str, record: object, *, quiet: bool = False
    ) -> dict[str, list[pb.Entry]]:
        """One committed change (a change-log row's record: after a create or update, before a
        delete) -> the entries each affected host must apply, all stamped ``revision``. A
        record of no kind hosts hold (a quota's limits) only moves the revision.

        ``quiet``: update the engine's state exactly the same (topics, subscriptions and their
        revisions, removals, own ports) but build no deltas and return {}: for a replay at start,
        when no host is connected to receive them."""
        if revision <= self.revision:
            raise ValueError(f"revision {revision} after {self.revision}: changes go in order")
        self.revision = revision
        if not isinstance(record, records.Record):
            return {}
        handler = getattr(self, f"_on_{record.kind}", None)
        if handler is None:
            return {}
        deltas = Deltas(quiet=quiet)
        pending = Pending()
        handler(record, operation == "delete", deltas, pending)
        self._resubscribe(pending, deltas)
        return deltas.result()

    # --- what a host holds -----------------------------------------------------------------

    def snapshot(self, host: str) -> list[pb.Entry]:
        """Everything the host must hold now."""
        found = [
            entry
            for topic in self._subscribed.get(host, {})
            for _, entry in self._topics[topic].all()
        ]
        if host in self._own:
            found.extend(entry for _, entry in self._own[host].all())
        return found

    def delta_since(self, host: str, revision: int) -> list[pb.Entry] | None:
        """What a host that applied everything up to ``revision`` lacks; None when the removals
        it would need were compacted away (it needs a snapshot)."""
        if revision < self.floor:
            return None
        deltas = Deltas()
        for topic, subscribed_at in self._subscribed.get(host, {}).items():
            content = self._topics[topic]
            # what changed since (removals included: the host may have held the topic at
            # ``revision``, left it and come back), and if it (re)joined since, all of it
            for entry in content.since(revision):
                deltas.add(host, keys.entry_key(entry), entry)
            if subscribed_at > revision:
                for key, entry in content.all(subscribed_at):
                    deltas.add(host, key, entry)
        for topic, unsubscribed_at in self._unsubscribed.get(host, {}).items():
            if unsubscribed_at > revision:
                content = self._topics[topic]
                for key in [*content.entries, *content.removed]:
                    deltas.add(host, key, keys.removal(key, unsubscribed_at))
        if host in self._own:
            for entry in self._own[host].since(revision):
                deltas.add(host, keys.entry_key(entry), entry)
        return deltas.result().get(host, [])

    def hosts(self) -> list[str]:
        """Every host that holds anything."""
        return sorted(host for host, topics in self._subscribed.items() if topics)

    def known_hosts(self) -> list[str]:
        """Every host that holds or has held anything (since the engine started): the hosts
        deltas would have gone to."""
        return sorted(self._subscribed.keys() | self._own.keys())

    def programmed(self) -> Iterator[tuple[str, str, int]]:
        """(port id, host, revision of its entry) for every port some host programs now."""
        for host, own in self._own.items():
            for key, kept in own.entries.items():
                if kept.kind == "port":
                    yield key.partition(":")[2], host, kept.revision

    def topics_of(self, host: str) -> set[Topic]:
        return set(self._subscribed.get(host, {}))

    def compact(self, floor: int) -> None:
        """Forget removals older than ``floor``: hosts behind it get snapshots."""
        self.floor = max(self.floor, min(floor, self.revision))
        for content in [*self._topics.values(), *self._own.values()]:
            content.forget_removals_before(self.floor)
        for unsubscribed in self._unsubscribed.values():
            for topic in [t for t, at in unsubscribed.items() if at < self.floor]:
                del unsubscribed[topic]

    # --- resources -------------------------------------------------------------------------

    def _on_network(
        self, network: records.Network, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        topic = ("network", network.id)
        if deleted:
            self._networks.pop(network.id, None)
            self._drop(topic, keys.key("network", network.id), deltas)
            return
        old = self._networks.get(network.id)
        self._networks[network.id] = network
        self._put(
            topic, keys.key("network", network.id), e.network_entry(network, self.revision), deltas
        )
        if old is None or (old.network_type, old.physical_network, old.mtu) != (
            network.network_type,
            network.physical_network,
            network.mtu,
        ):
            for router_id in sorted(self._external_routers.get(network.id, ())):
                self._place_gateway(router_id, pending)
                self._put_router(router_id, deltas)  # its gateway carries the segment
        if old is None or old.segmentation_id != network.segmentation_id:
            # the neighbors carry the VNI (a network is normally new before its ports, but a
            # compacted log replays each resource at its last change, in any order)
            for key in [k for k in self._topics[topic].entries if k.startswith("neighbor:")]:
                self._put_neighbor(self._ports[key.partition(":")[2]], deltas)

    def _on_node(self, node: records.Node, deleted: bool, deltas: Deltas, pending: Pending) -> None:
        """A host's underlay address is its node's: the neighbors of its ports follow it. A
        node renamed or deleted takes its address away from the old name. A node's up/down
        transitions change nothing here (no host needs to hear of them)."""
        old_name = self._node_names.pop(node.id, node.name)
        if deleted or old_name != node.name:
            self._set_host_ip(old_name, "", deltas)
            self._set_serving(old_name, frozenset(), deltas, pending)
        if not deleted:
            self._node_names[node.id] = node.name
            self._set_host_ip(node.name, node.underlay_ip, deltas)
            self._set_serving(node.name, _serving(node), deltas, pending)

    def _set_serving(
        self, host: str, physnets: frozenset[str], deltas: Deltas, pending: Pending
    ) -> None:
        """A node's gateway duty changed (it came up or went down, was given other physical
        networks): the gateways on those physical networks are placed again."""
        old = self._node_serves.pop(host, frozenset())
        if physnets:
            self._node_serves[host] = physnets
        if old == physnets:
            return
        for physnet in old - physnets:
            self._physnet_hosts[physnet].discard(host)
        for physnet in physnets - old:
            self._physnet_hosts[physnet].add(host)
        touched = old ^ physnets
        for router_id in sorted(self._gateways):
            network = self._external_network(router_id)
            moves = network is not None and network.physical_network in touched
            if moves and self._place_gateway(router_id, pending):
                self._put_router(router_id, deltas)  # it names its gateway host

    def _set_host_ip(self, host: str, underlay_ip: str, deltas: Deltas) -> None:
        if self._host_ips.get(host, "") == underlay_ip:
            return
        if underlay_ip:
            self._host_ips[host] = underlay_ip
        else:
            self._host_ips.pop(host, None)
        for port_id in sorted(self._host_ports.get(host, ())):
            self._put_neighbor(self._ports[port_id], deltas)
        for router_id in sorted(self._hosted.get(host, ())):
            self._put_router(router_id, deltas)  # it carries its gateway host's address

    def _on_subnet(
        self, subnet: records.Subnet, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        topic = ("network", subnet.network_id)
        if deleted:
            self._subnets.pop(subnet.id, None)
            self._drop(topic, keys.key("subnet", subnet.id), deltas)
        else:
            self._subnets[subnet.id] = subnet
            self._put(
                topic, keys.key("subnet", subnet.id), e.subnet_entry(subnet, self.revision), deltas
            )
        routers = self._routers_on.get(subnet.network_id, {}).keys() | self._external_routers.get(
            subnet.network_id, set()
        )
        for router_id in sorted(routers):
            self._put_router(router_id, deltas)  # interfaces and gateways carry the subnets

    def _on_port(self, port: records.Port, deleted: bool, deltas: Deltas, pending: Pending) -> None:
        old = self._ports.get(port.id)
        new = None if deleted else port
        if new is None:
            self._ports.pop(port.id, None)
        else:
            self._ports[port.id] = new
        self._port_as_endpoint(old, new, deltas, pending)
        self._port_as_member(old, new, deltas)
        self._port_of_router(old, new, deltas, pending)

    def _port_as_endpoint(
        self,
        old: records.Port | None,
        new: records.Port | None,
        deltas: Deltas,
        pending: Pending,
    ) -> None:
        """An endpoint is its host's own port and everyone else's neighbor."""
        old_host = old.binding_host_id if old is not None and e.is_own(old) else ""
        new_host = new.binding_host_id if new is not None and e.is_own(new) else ""
        port_id = (new or old).id  # type: ignore[union-attr]
        port_key = keys.key("port", port_id)
        if old_host and old_host != new_host:
            assert old is not None
            self._host_ports[old_host].discard(port_id)
            _count(self._network_hosts[old.network_id], old_host, -1)
            if self._own[old_host].drop(port_key, self.revision):
                deltas.add(old_host, port_key, keys.removal(port_key, self.revision))
            pending.ports.add((old_host, port_id))
        if old_host and not new_host:
            assert old is not None
            self._drop(("network", old.network_id), keys.key("neighbor", port_id), deltas)
        if not new_host:
            return
        assert new is not None
        if old_host != new_host:
            self._host_ports[new_host].add(port_id)
            _count(self._network_hosts[new.network_id], new_host, +1)
            pending.ports.add((new_host, port_id))
        elif old is not None and (
            old.security_groups != new.security_groups
            or old.port_security_enabled != new.port_security_enabled
        ):
            pending.ports.add((new_host, port_id))
        entry = e.port_entry(new, self.revision)
        if self._own[new_host].put(port_key, entry):
            deltas.add(new_host, port_key, entry)
        self._put_neighbor(new, deltas)

    def _put_neighbor(self, port: records.Port, deltas: Deltas) -> None:
        entry = e.neighbor_entry(
            port,
            self._networks.get(port.network_id),
            self._host_ips.get(port.binding_host_id, ""),
            self.revision,
        )
        self._put(("network", port.network_id), keys.key("neighbor", port.id), entry, deltas)

    def _port_as_member(
        self, old: records.Port | None, new: records.Port | None, deltas: Deltas
    ) -> None:
        old_groups = set(old.security_groups) if old is not None else set()
        new_groups = set(new.security_groups) if new is not None else set()
        port_id = (new or old).id  # type: ignore[union-attr]
        for group in sorted(old_groups - new_groups):
            self._drop(
                ("members", group), keys.key("member", keys.member_id(group, port_id)), deltas
            )
        if new is not None:
            for group in sorted(new_groups):
                entry = e.member_entry(group, new, self.revision)
                self._put(
                    ("members", group),
                    keys.key("member", keys.member_id(group, port_id)),
                    entry,
                    deltas,
                )

    def _port_of_router(
        self,
        old: records.Port | None,
        new: records.Port | None,
        deltas: Deltas,
        pending: Pending,
    ) -> None:
        """Interface and gateway ports make up their router's entry; an interface added or
        removed changes which networks the router joins, so which hosts need which networks."""
        old_interface, new_interface = (
            _router_of(old, records.ROUTER_INTERFACE),
            _router_of(new, records.ROUTER_INTERFACE),
        )
        if old_interface != new_interface:
            if old is not None and old_interface:
                self._interfaces[old_interface].discard(old.id)
                _count(self._routers_on[old.network_id], old_interface, -1)
                self._resync_router(old_interface, old.network_id, pending)
            if new is not None and new_interface:
                self._interfaces[new_interface].add(new.id)
                _count(self._routers_on[new.network_id], new_interface, +1)
                self._resync_router(new_interface, new.network_id, pending)
        old_gateway, new_gateway = (
            _router_of(old, records.ROUTER_GATEWAY),
            _router_of(new, records.ROUTER_GATEWAY),
        )
        moved = new is None or old is None or new.network_id != old.network_id
        if (
            old is not None
            and old_gateway
            and (old_gateway != new_gateway or moved)
            and self._gateways.get(old_gateway) == old.id
        ):
            del self._gateways[old_gateway]
            self._external_routers[old.network_id].discard(old_gateway)
        if new is not None and new_gateway:
            self._gateways[new_gateway] = new.id
            self._external_routers[new.network_id].add(new_gateway)
        for router_id in sorted({old_gateway, new_gateway} - {""}):
            self._place_gateway(router_id, pending)
        for router_id in sorted({old_interface, new_interface, old_gateway, new_gateway} - {""}):
            self._put_router(router_id, deltas)

    def _resync_router(self, router_id: str, network_id: str, pending: Pending) -> None:
        networks = {self._ports[p].network_id for p in self._interfaces[router_id]} | {network_id}
        for network in networks:
            pending.hosts.update(self._network_hosts.get(network, ()))
        gateway_host = self._gateway_hosts.get(router_id)
        if gateway_host:
            pending.ports.add((gateway_host, _gateway_holder(router_id)))

    # --- gateways --------------------------------------------------------------------------

    def _external_network(self, router_id: str) -> records.Network | None:
        port = self._ports.get(self._gateways.get(router_id, ""))
        return self._networks.get(port.network_id) if port is not None else None

    def _choose_gateway_host(self, router_id: str) -> str:
        """The host to serve the router's gateway: '' when it has none, or it is not on a flat
        network, or no up node maps that network's physical network."""
        network = self._external_network(router_id)
        if router_id not in self._routers or network is None:
            return ""
        if network.network_type != "flat" or not network.physical_network:
            return ""
        candidates = self._physnet_hosts.get(network.physical_network, ())
        return max(candidates, key=lambda host: _rank(router_id, host), default="")

    def _place_gateway(self, router_id: str, pending: Pending) -> bool:
        """Choose the router's gateway host again; whether it moved (the router's entry names
        it: the caller puts the router again)."""
        old = self._gateway_hosts.get(router_id, "")
        new = self._choose_gateway_host(router_id)
        if old == new:
            return False
        holder = _gateway_holder(router_id)
        if old:
            self._hosted[old].discard(router_id)
            del self._gateway_hosts[router_id]
            pending.ports.add((old, holder))
        if new:
            self._hosted[new].add(router_id)
            self._gateway_hosts[router_id] = new
            pending.ports.add((new, holder))
        return True

    def _gateway_topics(self, router_id: str) -> frozenset[Topic]:
        """What the host serving a router's gateway holds for it."""
        topics: set[Topic] = {("router", router_id), ("gateway", router_id)}
        topics.update(("network", self._ports[p].network_id) for p in self._interfaces[router_id])
        return frozenset(topics)

    def _on_floatingip(
        self, floating_ip: records.FloatingIp, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        """An associated floating IP is held by its router's gateway host."""
        old = self._floating_ips.pop(floating_ip.id, None)
        new = None if deleted else floating_ip
        if new is not None:
            self._floating_ips[new.id] = new
        old_router = (old.router_id or "") if old is not None and old.port_id else ""
        new_router = (new.router_id or "") if new is not None and new.port_id else ""
        key = keys.key("floating_ip", floating_ip.id)
        if old_router and old_router != new_router:
            self._drop(("gateway", old_router), key, deltas)
        if new is not None and new_router:
            self._put(("gateway", new_router), key, e.floating_ip_entry(new, self.revision), deltas)

    def _on_router(
        self, router: records.Router, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        if deleted:
            self._routers.pop(router.id, None)
            self._drop(("router", router.id), keys.key("router", router.id), deltas)
            self._place_gateway(router.id, pending)
        else:
            self._routers[router.id] = router
            self._place_gateway(router.id, pending)
            self._put_router(router.id, deltas)

    def _put_router(self, router_id: str, deltas: Deltas) -> None:
        router = self._routers.get(router_id)
        if router is None:
            return
        gateway = self._ports.get(self._gateways.get(router_id, ""))
        host = self._gateway_hosts.get(router_id, "")
        entry = e.router_entry(
            router,
            [self._ports[p] for p in self._interfaces.get(router_id, ())],
            self._subnets,
            e.Gateway(gateway, self._networks.get(gateway.network_id)) if gateway else None,
            gateway_host=(host, self._host_ips.get(host, "")),
            revision=self.revision,
        )
        self._put(("router", router_id), keys.key("router", router_id), entry, deltas)

    def _on_security_group(
        self, group: records.SecurityGroup, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        if deleted:
            self._groups.pop(group.id, None)
            for rule_id in self._rules_of.pop(group.id, set()):
                self._rules.pop(rule_id, None)
            self._drop(("group", group.id), keys.key("security_group", group.id), deltas)
        else:
            self._groups[group.id] = group
            self._put_group(group.id, deltas)

    def _on_security_group_rule(
        self, rule: records.SecurityGroupRule, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        old = self._rules.pop(rule.id, None)
        group_id = rule.security_group_id
        if deleted:
            self._rules_of[group_id].discard(rule.id)
        else:
            self._rules[rule.id] = rule
            self._rules_of[group_id].add(rule.id)
        self._put_group(group_id, deltas)
        if rule.remote_group_id or (old is not None and old.remote_group_id):
            pending.hosts.update(self._readers.get(("group", group_id), ()))

    def _put_group(self, group_id: str, deltas: Deltas) -> None:
        group = self._groups.get(group_id)
        if group is None:
            return
        rules = [self._rules[r] for r in self._rules_of.get(group_id, ())]
        entry = e.security_group_entry(group, rules, self.revision)
        self._put(("group", group_id), keys.key("security_group", group_id), entry, deltas)

    # --- topics ----------------------------------------------------------------------------

    def _put(self, topic: Topic, key: str, entry: pb.Entry, deltas: Deltas) -> None:
        if self._topics[topic].put(key, entry) and not deltas.quiet:
            for host in self._readers.get(topic, ()):
                deltas.add(host, key, entry)

    def _drop(self, topic: Topic, key: str, deltas: Deltas) -> None:
        if self._topics[topic].drop(key, self.revision) and not deltas.quiet:
            removal = keys.removal(key, self.revision)
            for host in self._readers.get(topic, ()):
                deltas.add(host, key, removal)

    def _topics_of(self, port: records.Port) -> frozenset[Topic]:
        """The topics one own port needs (see the module's docstring)."""
        topics: set[Topic] = {("network", port.network_id)}
        for router_id in self._routers_on.get(port.network_id, ()):
            topics.add(("router", router_id))
            for interface in self._interfaces[router_id]:
                topics.add(("network", self._ports[interface].network_id))
        if port.port_security_enabled:
            for group in port.security_groups:
                topics.add(("group", group))
                for rule_id in self._rules_of.get(group, ()):
                    remote = self._rules[rule_id].remote_group_id
                    if remote:
                        topics.add(("members", remote))
        return frozenset(topics)

    def _resubscribe(self, pending: Pending, deltas: Deltas) -> None:
        """Recount the topics of the ports (and hosts) the change touched; a host joins a topic
        when its first port needs it and leaves when its last one stops. Joins go first, so a
        topic one port drops and another takes up within one change is never left and rejoined.
        """
        work = set(pending.ports)
        for host in pending.hosts:
            work.update((host, port_id) for port_id in self._host_ports.get(host, ()))
            work.update((host, _gateway_holder(r)) for r in self._hosted.get(host, ()))
        dropped: list[tuple[str, Topic]] = []
        for host, holder in sorted(work):
            wanted = self._wanted_by(host, holder)
            held = self._port_topics.pop((host, holder), frozenset())
            if wanted:
                self._port_topics[host, holder] = wanted
            refs = self._refs[host]
            for topic in sorted(wanted - held):
                refs[topic] += 1
                if refs[topic] == 1:
                    self._subscribe(host, topic, deltas)
            dropped.extend((host, topic) for topic in held - wanted)
        for host, topic in sorted(dropped):
            _count(self._refs[host], topic, -1)
            if topic not in self._refs[host]:
                self._unsubscribe(host, topic, deltas)

    def _wanted_by(self, host: str, holder: str) -> frozenset[Topic]:
        """The topics a host needs for one holder: an own port, or a gateway it serves."""
        if holder.startswith(_GATEWAY):
            router_id = holder.removeprefix(_GATEWAY)
            served = self._gateway_hosts.get(router_id) == host
            return self._gateway_topics(router_id) if served else frozenset()
        port = self._ports.get(holder)
        if port is None or holder not in self._host_ports.get(host, ()):
            return frozenset()
        return self._topics_of(port)

    def _subscribe(self, host: str, topic: Topic, deltas: Deltas) -> None:
        self._subscribed[host][topic] = self.revision
        self._readers[topic].add(host)
        self._unsubscribed[host].pop(topic, None)
        if deltas.quiet:
            return
        for key, entry in self._topics[topic].all(self.revision):
            deltas.add(host, key, entry)

    def _unsubscribe(self, host: str, topic: Topic, deltas: Deltas) -> None:
        del self._subscribed[host][topic]
        self._readers[topic].discard(host)
        self._unsubscribed[host][topic] = self.revision
        if deltas.quiet:
            return
        for key in self._topics[topic].entries:
            deltas.add(host, key, keys.removal(key, self.revision))
