"""Each project's ``default`` firewall group, as neutron-fwaas makes it on first use.

Four rules (``default ingress ipv4``/``ipv6``: deny; ``default egress ipv4``/``ipv6``:
allow, neutron-fwaas's ``[default_fwg_rules]`` defaults), two policies (``default ingress``,
``default egress``) holding them, and the group ``default`` with both policies and no ports
(``INACTIVE``). They count toward the project's quotas but are made whatever they say, as
neutron-fwaas makes them with an admin context. A port is not put in it by itself: neutron-fwaas
adds a newly bound VM port only when its driver filters VM ports of that kind (Open vSwitch's).
"""

from __future__ import annotations

from alcor.model import firewalls as fw
from alcor.model.queries import Query
from alcor.model.records import FirewallGroup, FirewallPolicy, FirewallRule
from alcor.services import resources
from alcor.store.interface import Reader, Writer

_RULES = (  # name, description, IP version, action
    ("default ingress ipv4", "default ingress rule for IPv4", 4, "deny"),
    ("default ingress ipv6", "default ingress rule for IPv6", 6, "deny"),
    ("default egress ipv4", "default egress rule for IPv4", 4, "allow"),
    ("default egress ipv6", "default egress rule for IPv6", 6, "allow"),
)


def find(reader: Reader, project_id: str) -> FirewallGroup | None:
    query = Query(filters={"project_id": (project_id,), "name": (fw.DEFAULT_GROUP,)}, limit=1)
    found = reader.select(FirewallGroup, query)
    return found[0] if found else None


def is_default(group: FirewallGroup) -> bool:
    return group.name == fw.DEFAULT_GROUP


def ensure(writer: Writer, context: resources.Context, project_id: str) -> str:
    """The id of the project's default group, made with its policies and rules if missing."""
    found = find(writer, project_id)
    if found is not None:
        return found.id
    now = context.now()
    rules = [
        FirewallRule(
            id=context.new_id(),
            project_id=project_id,
            name=name,
            description=description,
            created_at=now,
            updated_at=now,
            ip_version=version,
            action=action,
        )
        for name, description, version, action in _RULES
    ]
    policies = [
        FirewallPolicy(
            id=context.new_id(),
            project_id=project_id,
            name=name,
            description=description,
            created_at=now,
            updated_at=now,
            firewall_rules=[rule.id for rule in chosen],
        )
        for name, description, chosen in (
            (fw.DEFAULT_POLICIES[0], "Ingress firewall policy", rules[:2]),
            (fw.DEFAULT_POLICIES[1], "Egress firewall policy", rules[2:]),
        )
    ]
    group = FirewallGroup(
        id=context.new_id(),
        project_id=project_id,
        name=fw.DEFAULT_GROUP,
        description="Default firewall group",
        created_at=now,
        updated_at=now,
        ingress_firewall_policy_id=policies[0].id,
        egress_firewall_policy_id=policies[1].id,
    )
    writer.insert(rules)
    writer.insert(policies)
    writer.insert([group])
    return group.id
