"""Firewall groups (``fwaas_v2``) in the goal state, pure: which hosts filter what.

A group's router interfaces are filtered in the router's namespace, on every host that holds
the router (distributed routing: each routes for its own endpoints), so the group's entry for
router R (``firewall_group:<group>/<R>``, the group's interfaces of R) goes in the ``router R``
topic. A group's VM port is filtered on the port's host: its entry
(``firewall_group:<group>/<port>``) goes to that host alone, as the host's own ports do.

Each entry carries the group's rules as the data plane applies them: per direction with a
policy, its enabled rules in the policy's order (a disabled rule is left out, as
neutron-fwaas's agents leave it). The state here indexes which groups a rule or a policy
reaches, so a change of either recomputes only those groups, and ``published`` remembers where
each group's entries went, so a recomputation drops what is no longer wanted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TypeVar

from alcor.model import records
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

# where an entry goes: ("router", router id, key) for a router's topic, ("own", host, key)
Place = tuple[str, str, str]
Firewall = records.FirewallRule | records.FirewallPolicy | records.FirewallGroup
F = TypeVar("F", records.FirewallRule, records.FirewallPolicy, records.FirewallGroup)


class Firewalls:
    def __init__(self) -> None:
        self.rules: dict[str, records.FirewallRule] = {}
        self.policies: dict[str, records.FirewallPolicy] = {}
        self.groups: dict[str, records.FirewallGroup] = {}
        self.group_of_port: dict[str, str] = {}
        self.published: dict[str, set[Place]] = {}

    def apply(self, record: Firewall, deleted: bool) -> set[str]:
        """Take one change; the groups whose entries may differ now."""
        if isinstance(record, records.FirewallRule):
            _keep(self.rules, record, deleted)
            return self._groups_with_policies(
                {p.id for p in self.policies.values() if record.id in p.firewall_rules}
            )
        if isinstance(record, records.FirewallPolicy):
            _keep(self.policies, record, deleted)
            return self._groups_with_policies({record.id})
        old = self.groups.get(record.id)
        for port_id in old.ports if old is not None else ():
            if self.group_of_port.get(port_id) == record.id:
                del self.group_of_port[port_id]
        _keep(self.groups, record, deleted)
        if not deleted:
            self.group_of_port.update(dict.fromkeys(record.ports, record.id))
        return {record.id}

    def reindex(self, ports: Mapping[str, records.Port]) -> None:
        """The indexes again from the records (an engine restored from a checkpoint): which
        group holds each port, and where each group's entries are (where they are wanted)."""
        self.group_of_port = {p: g.id for g in self.groups.values() for p in g.ports}
        self.published = {}
        for group_id in self.groups:
            places = set(self.placements(group_id, ports, 0))
            if places:
                self.published[group_id] = places

    def _groups_with_policies(self, policy_ids: set[str]) -> set[str]:
        return {
            g.id
            for g in self.groups.values()
            if {g.ingress_firewall_policy_id, g.egress_firewall_policy_id} & policy_ids
        }

    def placements(
        self, group_id: str, ports: Mapping[str, records.Port], revision: int
    ) -> dict[Place, pb.Entry]:
        """Every entry the group wants now, by where it goes."""
        group = self.groups.get(group_id)
        if group is None:
            return {}
        by_router: defaultdict[str, list[str]] = defaultdict(list)
        wanted: dict[Place, pb.Entry] = {}
        for port_id in group.ports:
            port = ports.get(port_id)
            if port is None:
                continue
            if port.router_id and port.router_port_type == records.ROUTER_INTERFACE:
                by_router[port.router_id].append(port.id)
            elif port.binding_host_id:
                entry = self._entry(group, revision, scope=port.id, port_id=port.id)
                wanted[("own", port.binding_host_id, keys.entry_key(entry))] = entry
        for router_id, interfaces in sorted(by_router.items()):
            entry = self._entry(group, revision, scope=router_id, router_id=router_id)
            entry.firewall_group.interface_port_ids.extend(sorted(interfaces))
            wanted[("router", router_id, keys.entry_key(entry))] = entry
        return wanted

    def _entry(
        self,
        group: records.FirewallGroup,
        revision: int,
        *,
        scope: str,
        router_id: str = "",
        port_id: str = "",
    ) -> pb.Entry:
        ingress = self.policies.get(group.ingress_firewall_policy_id or "")
        egress = self.policies.get(group.egress_firewall_policy_id or "")
        return pb.Entry(
            revision=revision,
            firewall_group=pb.FirewallGroup(
                id=f"{group.id}/{scope}",
                group_id=group.id,
                router_id=router_id,
                port_id=port_id,
                admin_state_up=group.admin_state_up,
                filters_ingress=bool(group.ingress_firewall_policy_id),
                filters_egress=bool(group.egress_firewall_policy_id),
                ingress_rules=self._rules(ingress),
                egress_rules=self._rules(egress),
            ),
        )

    def _rules(self, policy: records.FirewallPolicy | None) -> list[pb.FirewallRule]:
        if policy is None:
            return []
        held = (self.rules.get(rule_id) for rule_id in policy.firewall_rules)
        return [rule_message(rule) for rule in held if rule is not None and rule.enabled]


def rule_message(rule: records.FirewallRule) -> pb.FirewallRule:
    return pb.FirewallRule(
        id=rule.id,
        protocol=rule.protocol or "",
        ip_version=rule.ip_version,
        source_ip_address=rule.source_ip_address or "",
        destination_ip_address=rule.destination_ip_address or "",
        source_port_min=rule.source_port_min or 0,
        source_port_max=rule.source_port_max or 0,
        destination_port_min=rule.destination_port_min or 0,
        destination_port_max=rule.destination_port_max or 0,
        action=rule.action,
    )


def _keep(held: dict[str, F], record: F, deleted: bool) -> None:
    if deleted:
        held.pop(record.id, None)
    else:
        held[record.id] = record
