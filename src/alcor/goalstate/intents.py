"""The intent the engine mirrors: the records as last committed, and the indexes over them.

Which ports each host binds, which hosts serve each network, which routers join each network
(by their interfaces) and which have their external gateway on it, which rules each group has,
each host's underlay address. A router's members are read from its records, the ports whose
``router_id`` names it with a router port type, never from a port's ``device_*`` fields.
From these follow the topics an own port needs (``topics_of``).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from alcor.goalstate.topics import Topic, count
from alcor.model import qos, records


def router_of(port: records.Port | None, port_type: str) -> str:
    """The router whose ``port_type`` the port is by its router's records (not device_*), or ''."""
    if port is None or port.router_port_type != port_type:
        return ""
    return port.router_id


class Intent:
    def __init__(self) -> None:
        self.networks: dict[str, records.Network] = {}
        self.subnets: dict[str, records.Subnet] = {}
        self.ports: dict[str, records.Port] = {}
        self.routers: dict[str, records.Router] = {}
        self.groups: dict[str, records.SecurityGroup] = {}
        self.rules: dict[str, records.SecurityGroupRule] = {}
        self.floating_ips: dict[str, records.FloatingIp] = {}
        self.host_ips: dict[str, str] = {}  # host (node name) -> underlay address
        self.node_names: dict[str, str] = {}  # node id -> name
        # indexes
        self.rules_of: defaultdict[str, set[str]] = defaultdict(set)  # group -> rules
        self.host_ports: defaultdict[str, set[str]] = defaultdict(set)  # own ports by host
        self.network_hosts: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.interfaces: defaultdict[str, set[str]] = defaultdict(set)  # router -> ports
        self.routers_on: defaultdict[str, Counter[str]] = defaultdict(Counter)  # net -> routers
        self.gateway_ports: dict[str, str] = {}  # router -> its gateway port
        self.external_routers: defaultdict[str, set[str]] = defaultdict(set)  # net -> routers

    # --- following the records -------------------------------------------------------------

    def bind(self, host: str, port: records.Port, step: int) -> None:
        """The port becomes (+1) or stops being (-1) one of the host's own ports."""
        if step > 0:
            self.host_ports[host].add(port.id)
        else:
            self.host_ports[host].discard(port.id)
        count(self.network_hosts[port.network_id], host, step)

    def join_router(self, router_id: str, port: records.Port, step: int) -> None:
        """The port becomes (+1) or stops being (-1) an interface of the router."""
        if step > 0:
            self.interfaces[router_id].add(port.id)
        else:
            self.interfaces[router_id].discard(port.id)
        count(self.routers_on[port.network_id], router_id, step)

    def join_gateway(self, router_id: str, port: records.Port) -> None:
        """The port becomes the router's gateway port."""
        self.gateway_ports[router_id] = port.id
        self.external_routers[port.network_id].add(router_id)

    def leave_gateway(self, router_id: str, port: records.Port) -> None:
        """The port (as it was) stops being the router's gateway port, if it still was."""
        if self.gateway_ports.get(router_id) == port.id:
            del self.gateway_ports[router_id]
            self.external_routers[port.network_id].discard(router_id)

    def put_rule(self, rule: records.SecurityGroupRule, *, deleted: bool) -> None:
        self.rules.pop(rule.id, None)
        if deleted:
            self.rules_of[rule.security_group_id].discard(rule.id)
        else:
            self.rules[rule.id] = rule
            self.rules_of[rule.security_group_id].add(rule.id)

    def drop_group(self, group_id: str) -> None:
        self.groups.pop(group_id, None)
        for rule_id in self.rules_of.pop(group_id, set()):
            self.rules.pop(rule_id, None)

    def set_host_ip(self, host: str, underlay_ip: str) -> bool:
        """The host's underlay address ('' for none); whether it changed."""
        if self.host_ips.get(host, "") == underlay_ip:
            return False
        if underlay_ip:
            self.host_ips[host] = underlay_ip
        else:
            self.host_ips.pop(host, None)
        return True

    # --- reading it ------------------------------------------------------------------------

    def gateway_port(self, router_id: str) -> records.Port | None:
        return self.ports.get(self.gateway_ports.get(router_id, ""))

    def external_network(self, router_id: str) -> records.Network | None:
        """The network of the router's gateway (None: it has none)."""
        port = self.gateway_port(router_id)
        return self.networks.get(port.network_id) if port is not None else None

    def router_networks(self, router_id: str) -> set[str]:
        """The networks the router's interfaces are on."""
        return {self.ports[p].network_id for p in self.interfaces.get(router_id, ())}

    def topics_of(self, port: records.Port) -> frozenset[Topic]:
        """The topics one own port needs: its network, the routers on it and their other
        networks (distributed routing), its groups, the members of every group their rules
        name as remote group and every address group they name as remote address group, and
        the QoS policy it enforces."""
        topics: set[Topic] = {("network", port.network_id)}
        policy = qos.effective(port)
        if policy:
            topics.add(("qos_policy", policy))
        for router_id in self.routers_on.get(port.network_id, ()):
            topics.add(("router", router_id))
            for interface in self.interfaces[router_id]:
                topics.add(("network", self.ports[interface].network_id))
        if port.port_security_enabled:
            for group in port.security_groups:
                topics.add(("group", group))
                for rule_id in self.rules_of.get(group, ()):
                    rule = self.rules[rule_id]
                    if rule.remote_group_id:
                        topics.add(("members", rule.remote_group_id))
                    if rule.remote_address_group_id:
                        topics.add(("address_group", rule.remote_address_group_id))
        return frozenset(topics)
