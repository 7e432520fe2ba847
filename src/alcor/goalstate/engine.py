"""The goal-state engine: committed changes in, per-host goal-state deltas out.

Pure and single-threaded: ``apply`` takes one committed change (its record, typed) and returns,
for every host it affects, the entries that host must now set or remove. Nothing here does I/O.
The engine is the facade over three concerns, each a module of its own: the intent it mirrors
(``intents``), gateway placement (``gateways``), and what hosts hold (``topics``, shared
contents with their readers, and ``subscriptions``, who reads what since when). This module
turns each kind of change into moves of those.

**Topics.** What a host holds, apart from its own ports, is a union of *topics*, each shared by
every host that needs it:

``("network", N)``  the network, its subnets and its neighbors (every bound endpoint port of N,
                    on any host: address, MAC, VNI, host underlay address);
``("router", R)``   a router with its interfaces, routes and gateway, and the firewall groups
                    on its interfaces (``firewalls``: a VM port's group goes to its host only);
``("group", G)``    a security group with its rules;
``("members", G)``  the addresses of the ports in group G (an address set for remote_group_id);
``("address_group", A)``  address group A's CIDRs (the set for remote_address_group_id);
``("gateway", R)``  the floating IPs associated through router R, and the port forwardings of
                    floating IPs on R;
``("qos_policy", P)``  QoS policy P's rates and DSCP mark (held while an own port enforces P).

A host subscribes to the network of each of its ports, to the routers on those networks and the
other networks of those routers (distributed routing: it routes across subnets itself, so it
needs the neighbors of every network one router hop away), to its ports' groups, to the
members of every group those groups' rules name as remote group, and to every address group
they name as remote address group.

**Gateways.** The host serving a router's external gateway (``gateways``) holds the router, its
floating IPs and every network of the router (it routes back to any of them), whether or not it
has ports there; every other host holding the router sends to it what leaves the router's
subnets (``Router.gateway_host_ip``).

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

from collections.abc import Callable, Iterator
from typing import Any

from alcor.goalstate import entries as e
from alcor.goalstate import firewalls, gateways
from alcor.goalstate.intents import Intent, router_of
from alcor.goalstate.subscriptions import Pending, Subscriptions
from alcor.goalstate.topics import Deltas, Topic, Topics, entry_of
from alcor.model import dns, qos, records
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

Handler = Callable[[Any, bool, Deltas, Pending], None]


class Engine:
    def __init__(self, *, dns_domain: str = dns.DEFAULT_DOMAIN) -> None:
        # the domain of ports' names (the controller's --dns-domain): networks' entries carry it
        self.dns_domain = dns_domain
        self.revision = 0
        self.floor = 0  # a host that applied less than this gets a snapshot, not a delta
        self.intent = Intent()
        self.gateways = gateways.Gateways()
        self.topics = Topics()
        self.subscriptions = Subscriptions(self.topics)
        self.firewalls = firewalls.Firewalls()
        self._handlers: dict[type[records.Record], Handler] = {
            records.Network: self._on_network,
            records.Subnet: self._on_subnet,
            records.Port: self._on_port,
            records.Router: self._on_router,
            records.FloatingIp: self._on_floatingip,
            records.SecurityGroup: self._on_security_group,
            records.SecurityGroupRule: self._on_security_group_rule,
            records.Node: self._on_node,
            records.AddressGroup: self._on_address_group,
            records.PortForwarding: self._on_port_forwarding,
            records.FirewallRule: self._on_firewall,
            records.FirewallPolicy: self._on_firewall,
            records.FirewallGroup: self._on_firewall,
            records.QosPolicy: self._on_qos_policy,
        }

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
        handler = self._handlers.get(type(record))  # type: ignore[arg-type]
        if handler is None:
            return {}
        deltas = Deltas(revision, quiet=quiet)
        pending = Pending()
        handler(record, operation == "delete", deltas, pending)
        self._resubscribe(pending, deltas)
        return deltas.result()

    # --- what a host holds -----------------------------------------------------------------

    def snapshot(self, host: str) -> list[pb.Entry]:
        """Everything the host must hold now."""
        return self.subscriptions.snapshot(host)

    def delta_since(self, host: str, revision: int) -> list[pb.Entry] | None:
        """What a host that applied everything up to ``revision`` lacks; None when the removals
        it would need were compacted away (it needs a snapshot)."""
        if revision < self.floor:
            return None
        return self.subscriptions.delta_since(host, revision)

    def hosts(self) -> list[str]:
        """Every host that holds anything."""
        return self.subscriptions.hosts()

    def known_hosts(self) -> list[str]:
        """Every host that holds or has held anything (since the engine started): the hosts
        deltas would have gone to."""
        return self.subscriptions.known_hosts()

    def programmed(self) -> Iterator[tuple[str, str, int]]:
        """(port id, host, revision of its entry) for every port some host programs now."""
        return self.subscriptions.programmed()

    def routers_held(self) -> Iterator[tuple[str, pb.Router, int]]:
        """(host, router, revision of its entry there) for every router some host holds now:
        a host that joined the router's topic after the entry changed holds it as of then."""
        subscribed = self.subscriptions.subscribed
        for topic, readers in self.topics.readers.items():
            if topic[0] != "router" or not readers:
                continue
            kept = self.topics.contents[topic].entries.get(keys.key("router", topic[1]))
            if kept is None:
                continue
            router = entry_of(kept).router
            for host in sorted(readers):
                yield host, router, max(kept.revision, subscribed[host].get(topic, 0))

    def topics_of(self, host: str) -> set[Topic]:
        return self.subscriptions.topics_of(host)

    def compact(self, floor: int) -> None:
        """Forget removals older than ``floor``: hosts behind it get snapshots."""
        self.floor = max(self.floor, min(floor, self.revision))
        self.subscriptions.forget_before(self.floor)

    # --- resources -------------------------------------------------------------------------

    def _on_network(
        self, network: records.Network, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        intent, topic = self.intent, ("network", network.id)
        if deleted:
            intent.networks.pop(network.id, None)
            self.topics.drop(topic, keys.key("network", network.id), deltas)
            return
        old = intent.networks.get(network.id)
        intent.networks[network.id] = network
        entry = e.network_entry(network, self.revision, dns_domain=self.dns_domain)
        self.topics.put(topic, keys.key("network", network.id), entry, deltas)
        if old is None or (old.network_type, old.physical_network, old.mtu) != (
            network.network_type,
            network.physical_network,
            network.mtu,
        ):
            for router_id in sorted(intent.external_routers.get(network.id, ())):
                self._place_gateway(router_id, pending)
                self._put_router(router_id, deltas)  # its gateway carries the segment
        if old is None or old.segmentation_id != network.segmentation_id:
            # the neighbors carry the VNI (a network is normally new before its ports, but a
            # compacted log replays each resource at its last change, in any order)
            for key in self.topics.keys_in(topic):
                if key.startswith("neighbor:"):
                    self._put_neighbor(intent.ports[key.partition(":")[2]], deltas)

    def _on_node(self, node: records.Node, deleted: bool, deltas: Deltas, pending: Pending) -> None:
        """A host's underlay address is its node's: the neighbors of its ports follow it. A
        node renamed or deleted takes its address away from the old name. A node's up/down
        transitions change nothing here (no host needs to hear of them)."""
        names = self.intent.node_names
        old_name = names.pop(node.id, node.name)
        if deleted or old_name != node.name:
            self._set_host_ip(old_name, "", deltas)
            self._set_serving(old_name, frozenset(), deltas, pending)
        if not deleted:
            names[node.id] = node.name
            self._set_host_ip(node.name, node.underlay_ip, deltas)
            self._set_serving(node.name, gateways.serving(node), deltas, pending)

    def _set_serving(
        self, host: str, physnets: frozenset[str], deltas: Deltas, pending: Pending
    ) -> None:
        """A node's gateway duty changed (it came up or went down, was given other physical
        networks): the gateways on those physical networks are placed again."""
        touched = self.gateways.set_serving(host, physnets)
        if not touched:
            return
        for router_id in sorted(self.intent.gateway_ports):
            network = self.intent.external_network(router_id)
            moves = network is not None and network.physical_network in touched
            if moves and self._place_gateway(router_id, pending):
                self._put_router(router_id, deltas)  # it names its gateway host

    def _set_host_ip(self, host: str, underlay_ip: str, deltas: Deltas) -> None:
        intent = self.intent
        if not intent.set_host_ip(host, underlay_ip):
            return
        for port_id in sorted(intent.host_ports.get(host, ())):
            self._put_neighbor(intent.ports[port_id], deltas)
        for router_id in sorted(self.gateways.hosted.get(host, ())):
            self._put_router(router_id, deltas)  # it carries its gateway host's address

    def _on_subnet(
        self, subnet: records.Subnet, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        intent, topic = self.intent, ("network", subnet.network_id)
        if deleted:
            intent.subnets.pop(subnet.id, None)
            self.topics.drop(topic, keys.key("subnet", subnet.id), deltas)
        else:
            intent.subnets[subnet.id] = subnet
            entry = e.subnet_entry(subnet, self.revision)
            self.topics.put(topic, keys.key("subnet", subnet.id), entry, deltas)
        network_id = subnet.network_id
        routers = intent.routers_on.get(network_id, {}).keys() | intent.external_routers.get(
            network_id, set()
        )
        for router_id in sorted(routers):
            self._put_router(router_id, deltas)  # interfaces and gateways carry the subnets

    def _on_port(self, port: records.Port, deleted: bool, deltas: Deltas, pending: Pending) -> None:
        ports = self.intent.ports
        old = ports.get(port.id)
        new = None if deleted else port
        if new is None:
            ports.pop(port.id, None)
        else:
            ports[port.id] = new
        self._port_as_endpoint(old, new, deltas, pending)
        self._port_as_member(old, new, deltas)
        self._port_of_router(old, new, deltas, pending)
        firewall_group = self.firewalls.group_of_port.get(port.id)
        if firewall_group is not None:  # its host or router says where the group filters it
            self._put_firewall_group(firewall_group, deltas)

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
            self.intent.bind(old_host, old, -1)
            self.topics.drop_own(old_host, port_key, deltas)
            pending.ports.add((old_host, port_id))
        if old_host and not new_host:
            assert old is not None
            self.topics.drop(("network", old.network_id), keys.key("neighbor", port_id), deltas)
        if not new_host:
            return
        assert new is not None
        if old_host != new_host:
            self.intent.bind(new_host, new, +1)
            pending.ports.add((new_host, port_id))
        elif old is not None and (
            old.security_groups != new.security_groups
            or old.port_security_enabled != new.port_security_enabled
            or qos.effective(old) != qos.effective(new)
        ):
            pending.ports.add((new_host, port_id))
        self.topics.put_own(new_host, port_key, e.port_entry(new, self.revision), deltas)
        self._put_neighbor(new, deltas)

    def _put_neighbor(self, port: records.Port, deltas: Deltas) -> None:
        intent = self.intent
        entry = e.neighbor_entry(
            port,
            intent.networks.get(port.network_id),
            intent.host_ips.get(port.binding_host_id, ""),
            self.revision,
            dns_domain=self.dns_domain,
        )
        self.topics.put(("network", port.network_id), keys.key("neighbor", port.id), entry, deltas)

    def _port_as_member(
        self, old: records.Port | None, new: records.Port | None, deltas: Deltas
    ) -> None:
        old_groups = set(old.security_groups) if old is not None else set()
        new_groups = set(new.security_groups) if new is not None else set()
        port_id = (new or old).id  # type: ignore[union-attr]
        for group in sorted(old_groups - new_groups):
            key = keys.key("member", keys.member_id(group, port_id))
            self.topics.drop(("members", group), key, deltas)
        if new is not None:
            for group in sorted(new_groups):
                key = keys.key("member", keys.member_id(group, port_id))
                entry = e.member_entry(group, new, self.revision)
                self.topics.put(("members", group), key, entry, deltas)

    def _port_of_router(
        self,
        old: records.Port | None,
        new: records.Port | None,
        deltas: Deltas,
        pending: Pending,
    ) -> None:
        """Interface and gateway ports make up their router's entry; an interface added or
        removed changes which networks the router joins, so which hosts need which networks."""
        intent = self.intent
        old_interface = router_of(old, records.ROUTER_INTERFACE)
        new_interface = router_of(new, records.ROUTER_INTERFACE)
        if old_interface != new_interface:
            if old is not None and old_interface:
                intent.join_router(old_interface, old, -1)
                self._resync_router(old_interface, old.network_id, pending)
            if new is not None and new_interface:
                intent.join_router(new_interface, new, +1)
                self._resync_router(new_interface, new.network_id, pending)
        old_gateway = router_of(old, records.ROUTER_GATEWAY)
        new_gateway = router_of(new, records.ROUTER_GATEWAY)
        moved = new is None or old is None or new.network_id != old.network_id
        if old is not None and old_gateway and (old_gateway != new_gateway or moved):
            intent.leave_gateway(old_gateway, old)
        if new is not None and new_gateway:
            intent.join_gateway(new_gateway, new)
        for router_id in sorted({old_gateway, new_gateway} - {""}):
            self._place_gateway(router_id, pending)
        for router_id in sorted({old_interface, new_interface, old_gateway, new_gateway} - {""}):
            self._put_router(router_id, deltas)

    def _resync_router(self, router_id: str, network_id: str, pending: Pending) -> None:
        networks = self.intent.router_networks(router_id) | {network_id}
        for network in networks:
            pending.hosts.update(self.intent.network_hosts.get(network, ()))
        gateway_host = self.gateways.hosts.get(router_id)
        if gateway_host:
            pending.ports.add((gateway_host, gateways.holder(router_id)))

    def _place_gateway(self, router_id: str, pending: Pending) -> bool:
        """Choose the router's gateway host again; whether it moved (the router's entry names
        it: the caller puts the router again)."""
        known = router_id in self.intent.routers
        network = self.intent.external_network(router_id) if known else None
        new = self.gateways.choose(router_id, network)
        old = self.gateways.place(router_id, new)
        if old == new:
            return False
        holder = gateways.holder(router_id)
        pending.ports.update((host, holder) for host in (old, new) if host)
        return True

    def _on_floatingip(
        self, floating_ip: records.FloatingIp, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        """An associated floating IP is held by its router's gateway host."""
        floating_ips = self.intent.floating_ips
        old = floating_ips.pop(floating_ip.id, None)
        new = None if deleted else floating_ip
        if new is not None:
            floating_ips[new.id] = new
        old_router = (old.router_id or "") if old is not None and old.port_id else ""
        new_router = (new.router_id or "") if new is not None and new.port_id else ""
        key = keys.key("floating_ip", floating_ip.id)
        if old_router and old_router != new_router:
            self.topics.drop(("gateway", old_router), key, deltas)
        if new is not None and new_router:
            entry = e.floating_ip_entry(new, self.revision)
            self.topics.put(("gateway", new_router), key, entry, deltas)

    def _on_port_forwarding(
        self, forwarding: records.PortForwarding, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        """A floating IP's port forwarding is held, as its floating IPs, by its router's
        gateway host. Its router never changes (the floating IP keeps the router while it has
        forwardings), so its record alone says which topic held it."""
        topic = ("gateway", forwarding.router_id)
        key = keys.key("port_forwarding", forwarding.id)
        if deleted:
            self.topics.drop(topic, key, deltas)
        else:
            self.topics.put(topic, key, e.port_forwarding_entry(forwarding, self.revision), deltas)

    def _on_firewall(
        self, record: firewalls.Firewall, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        for group_id in sorted(self.firewalls.apply(record, deleted)):
            self._put_firewall_group(group_id, deltas)

    def _put_firewall_group(self, group_id: str, deltas: Deltas) -> None:
        """A firewall group's entries where they are wanted now (``firewalls``): in its
        routers' topics and its VM ports' hosts; gone from where they no longer are."""
        wanted = self.firewalls.placements(group_id, self.intent.ports, self.revision)
        for place in sorted(self.firewalls.published.pop(group_id, set()) - wanted.keys()):
            where, scope, key = place
            if where == "router":
                self.topics.drop(("router", scope), key, deltas)
            else:
                self.topics.drop_own(scope, key, deltas)
        for (where, scope, key), entry in wanted.items():
            if where == "router":
                self.topics.put(("router", scope), key, entry, deltas)
            else:
                self.topics.put_own(scope, key, entry, deltas)
        if wanted:
            self.firewalls.published[group_id] = set(wanted)

    def _on_router(
        self, router: records.Router, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        if deleted:
            self.intent.routers.pop(router.id, None)
            self.topics.drop(("router", router.id), keys.key("router", router.id), deltas)
            self._place_gateway(router.id, pending)
        else:
            self.intent.routers[router.id] = router
            self._place_gateway(router.id, pending)
            self._put_router(router.id, deltas)

    def _put_router(self, router_id: str, deltas: Deltas) -> None:
        intent = self.intent
        router = intent.routers.get(router_id)
        if router is None:
            return
        gateway = intent.gateway_port(router_id)
        host = self.gateways.hosts.get(router_id, "")
        entry = e.router_entry(
            router,
            [intent.ports[p] for p in intent.interfaces.get(router_id, ())],
            intent.subnets,
            e.Gateway(gateway, intent.networks.get(gateway.network_id)) if gateway else None,
            gateway_host=(host, intent.host_ips.get(host, "")),
            revision=self.revision,
        )
        self.topics.put(("router", router_id), keys.key("router", router_id), entry, deltas)

    def _on_security_group(
        self, group: records.SecurityGroup, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        if deleted:
            self.intent.drop_group(group.id)
            key = keys.key("security_group", group.id)
            self.topics.drop(("group", group.id), key, deltas)
        else:
            self.intent.groups[group.id] = group
            self._put_group(group.id, deltas)

    def _on_security_group_rule(
        self, rule: records.SecurityGroupRule, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        old = self.intent.rules.get(rule.id)
        self.intent.put_rule(rule, deleted=deleted)
        group_id = rule.security_group_id
        self._put_group(group_id, deltas)
        remotes = (rule.remote_group_id, rule.remote_address_group_id)
        if any(remotes) or (
            old is not None and (old.remote_group_id or old.remote_address_group_id)
        ):
            pending.hosts.update(self.topics.readers.get(("group", group_id), ()))

    def _on_address_group(
        self, group: records.AddressGroup, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        """An address group's CIDRs go to every host holding a rule that names it."""
        entry = None if deleted else e.address_group_entry(group, self.revision)
        self._put_alone("address_group", group.id, entry, deltas)

    def _on_qos_policy(
        self, policy: records.QosPolicy, deleted: bool, deltas: Deltas, pending: Pending
    ) -> None:
        """A QoS policy's rules go to every host with a port that enforces it."""
        entry = None if deleted else e.qos_policy_entry(policy, self.revision)
        self._put_alone("qos_policy", policy.id, entry, deltas)

    def _put_alone(
        self, kind: str, resource_id: str, entry: pb.Entry | None, deltas: Deltas
    ) -> None:
        """A topic of one entry, its resource's own (``(kind, id)``): set, or dropped (None)."""
        topic, key = (kind, resource_id), keys.key(kind, resource_id)
        if entry is None:
            self.topics.drop(topic, key, deltas)
        else:
            self.topics.put(topic, key, entry, deltas)

    def _put_group(self, group_id: str, deltas: Deltas) -> None:
        intent = self.intent
        group = intent.groups.get(group_id)
        if group is None:
            return
        rules = [intent.rules[r] for r in intent.rules_of.get(group_id, ())]
        entry = e.security_group_entry(group, rules, self.revision)
        self.topics.put(("group", group_id), keys.key("security_group", group_id), entry, deltas)

    # --- subscriptions ---------------------------------------------------------------------

    def _resubscribe(self, pending: Pending, deltas: Deltas) -> None:
        """Recount the topics of the holders (and of every holder of the hosts) the change
        touched: an own port, or a router gateway the host serves."""
        work = set(pending.ports)
        for host in pending.hosts:
            work.update((host, port_id) for port_id in self.intent.host_ports.get(host, ()))
            work.update((host, gateways.holder(r)) for r in self.gateways.hosted.get(host, ()))
        self.subscriptions.recount(work, self._wanted_by, deltas)

    def _wanted_by(self, host: str, holder: str) -> frozenset[Topic]:
        """The topics a host needs for one holder: an own port, or a gateway it serves."""
        router_id = gateways.served_by(holder)
        if router_id:
            if self.gateways.hosts.get(router_id) != host:
                return frozenset()
            return gateways.topics(router_id, self.intent.router_networks(router_id))
        port = self.intent.ports.get(holder)
        if port is None or holder not in self.intent.host_ports.get(host, ()):
            return frozenset()
        return self.intent.topics_of(port)
