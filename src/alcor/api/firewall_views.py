"""What the API shows of firewall rules, policies and groups (``fwaas_v2`` with
``standard-attr-fwaas-v2``: timestamps, revision, tags), with neutron-fwaas's keys."""

from __future__ import annotations

from alcor.api.views import View
from alcor.model import firewalls as fw
from alcor.services.firewall_groups import ShownFirewallGroup
from alcor.services.firewall_policies import ShownFirewallPolicy
from alcor.services.firewall_rules import ShownFirewallRule


class FirewallRuleView(View, frozen=True, kw_only=True):
    id: str
    name: str
    description: str
    project_id: str
    tenant_id: str
    protocol: str | None
    ip_version: int
    source_ip_address: str | None
    destination_ip_address: str | None
    source_port: str | None
    destination_port: str | None
    action: str
    enabled: bool
    shared: bool
    firewall_policy_id: list[str] | None
    tags: list[str]
    created_at: str
    updated_at: str
    revision_number: int


class FirewallPolicyView(View, frozen=True, kw_only=True):
    id: str
    name: str
    description: str
    project_id: str
    tenant_id: str
    firewall_rules: list[str]
    audited: bool
    shared: bool
    tags: list[str]
    created_at: str
    updated_at: str
    revision_number: int


class FirewallGroupView(View, frozen=True, kw_only=True):
    id: str
    name: str
    description: str
    project_id: str
    tenant_id: str
    ingress_firewall_policy_id: str | None
    egress_firewall_policy_id: str | None
    admin_state_up: bool
    status: str
    shared: bool
    ports: list[str]
    tags: list[str]
    created_at: str
    updated_at: str
    revision_number: int


def firewall_rule_view(shown: ShownFirewallRule) -> FirewallRuleView:
    r = shown.record
    return FirewallRuleView(
        id=r.id,
        name=r.name,
        description=r.description,
        project_id=r.project_id,
        tenant_id=r.project_id,
        protocol=r.protocol,
        ip_version=r.ip_version,
        source_ip_address=r.source_ip_address,
        destination_ip_address=r.destination_ip_address,
        source_port=fw.port_text(r.source_port_min, r.source_port_max),
        destination_port=fw.port_text(r.destination_port_min, r.destination_port_max),
        action=r.action,
        enabled=r.enabled,
        shared=r.shared,
        firewall_policy_id=shown.policies,
        tags=shown.tags,
        created_at=r.created_at,
        updated_at=r.updated_at,
        revision_number=r.revision_number,
    )


def firewall_policy_view(shown: ShownFirewallPolicy) -> FirewallPolicyView:
    p = shown.record
    return FirewallPolicyView(
        id=p.id,
        name=p.name,
        description=p.description,
        project_id=p.project_id,
        tenant_id=p.project_id,
        firewall_rules=p.firewall_rules,
        audited=p.audited,
        shared=p.shared,
        tags=shown.tags,
        created_at=p.created_at,
        updated_at=p.updated_at,
        revision_number=p.revision_number,
    )


def firewall_group_view(shown: ShownFirewallGroup) -> FirewallGroupView:
    g = shown.record
    return FirewallGroupView(
        id=g.id,
        name=g.name,
        description=g.description,
        project_id=g.project_id,
        tenant_id=g.project_id,
        ingress_firewall_policy_id=g.ingress_firewall_policy_id,
        egress_firewall_policy_id=g.egress_firewall_policy_id,
        admin_state_up=g.admin_state_up,
        status=g.status,
        shared=g.shared,
        ports=g.ports,
        tags=shown.tags,
        created_at=g.created_at,
        updated_at=g.updated_at,
        revision_number=g.revision_number,
    )
