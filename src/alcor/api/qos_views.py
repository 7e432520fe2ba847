"""What the QoS API shows (``qos``): policies with their rules, and each rule type's view, with
the keys and key order the reference Neutron returns. A policy's rules carry their type and
policy; a rule shown by itself does not."""

from __future__ import annotations

from typing import Any

from alcor.api.views import View
from alcor.model import qos
from alcor.model.records import QosRule
from alcor.services.qos_policies import ShownPolicy


class QosPolicyView(View, frozen=True, kw_only=True):
    id: str
    project_id: str
    name: str
    shared: bool
    rules: list[dict[str, Any]]
    is_default: bool
    revision_number: int
    description: str
    created_at: str
    updated_at: str
    tenant_id: str
    tags: list[str]


class BandwidthLimitRuleView(View, frozen=True, kw_only=True):
    max_kbps: int
    max_burst_kbps: int
    direction: str
    id: str


class DscpMarkingRuleView(View, frozen=True, kw_only=True):
    dscp_mark: int
    id: str


def rule_fields(rule: QosRule) -> dict[str, Any]:
    """A rule's own attributes, as its sub-resource shows them."""
    if rule.type == qos.DSCP_MARKING:
        return {"dscp_mark": rule.dscp_mark, "id": rule.id}
    return {
        "max_kbps": rule.max_kbps,
        "max_burst_kbps": rule.max_burst_kbps,
        "direction": rule.direction,
        "id": rule.id,
    }


def qos_policy_view(shown: ShownPolicy) -> QosPolicyView:
    p = shown.record
    return QosPolicyView(
        id=p.id,
        project_id=p.project_id,
        name=p.name,
        shared=p.shared,
        rules=[{**rule_fields(r), "qos_policy_id": p.id, "type": r.type} for r in p.rules],
        is_default=p.is_default,
        revision_number=p.revision_number,
        description=p.description,
        created_at=p.created_at,
        updated_at=p.updated_at,
        tenant_id=p.project_id,
        tags=shown.tags,
    )
