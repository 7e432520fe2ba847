"""QoS policies and their rules, pure: the requests and what Neutron makes of them.

``qos``, ``qos-bw-limit-direction``, ``dscp-marking``: a policy holds at most one
``bandwidth_limit`` rule per direction (``max_kbps``, ``max_burst_kbps``: 0 to 2**31-1;
``direction`` egress, from the VM, or ingress, to it) and at most one ``dscp_marking`` rule (a
``dscp_mark`` of Neutron's ``VALID_DSCP_MARKS``). The other rule types Neutron knows
(``minimum_bandwidth``, ``minimum_packet_rate``, ``packet_rate_limit``) are refused: the data
plane here cannot enforce them (``ENFORCED``), and a rule silently ignored would be a lie.

A port's effective policy is its own or else its network's (``effective``).
"""

from __future__ import annotations

import msgspec

from alcor.model import errors
from alcor.model.records import Port, QosPolicy, QosRule
from alcor.model.requests import UNSET, Integer, Owned, Request, String, Unset, integer

BANDWIDTH_LIMIT = "bandwidth_limit"
DSCP_MARKING = "dscp_marking"
ENFORCED = (BANDWIDTH_LIMIT, DSCP_MARKING)
NOT_ENFORCED = ("minimum_bandwidth", "minimum_packet_rate", "packet_rate_limit")
DIRECTIONS = ("egress", "ingress")
VALID_DSCP_MARKS = (0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 44,
                    46, 48, 56)  # fmt: skip
KBPS_MAX = 2**31 - 1
# Neutron's agents' burst when a rule says 0 (qos_consts.DEFAULT_BURST_RATE): 80% of the rate
DEFAULT_BURST_RATE = 0.8


class PolicyCreate(Owned, frozen=True, kw_only=True):
    shared: bool | Unset = UNSET
    is_default: bool | Unset = UNSET
    rules: msgspec.Raw | Unset = UNSET  # refused: "Attribute 'rules' not allowed in POST"


class PolicyUpdate(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    shared: bool | Unset = UNSET
    is_default: bool | Unset = UNSET
    rules: msgspec.Raw | Unset = UNSET  # refused: read-only
    project_id: msgspec.Raw | Unset = UNSET
    tenant_id: msgspec.Raw | Unset = UNSET


class BandwidthLimitRuleUpdate(Request, frozen=True, kw_only=True):
    max_kbps: Integer | Unset | None = UNSET  # null: refused as Neutron's convert_to_int does
    max_burst_kbps: Integer | Unset | None = UNSET
    direction: String | Unset = UNSET
    id: msgspec.Raw | Unset = UNSET  # refused: read-only


class BandwidthLimitRuleCreate(BandwidthLimitRuleUpdate, frozen=True, kw_only=True):
    max_kbps: Integer | None


class DscpMarkingRuleUpdate(Request, frozen=True, kw_only=True):
    dscp_mark: Integer | Unset | None = UNSET
    id: msgspec.Raw | Unset = UNSET  # refused: read-only


class DscpMarkingRuleCreate(DscpMarkingRuleUpdate, frozen=True, kw_only=True):
    dscp_mark: Integer | None


RuleUpdate = BandwidthLimitRuleUpdate | DscpMarkingRuleUpdate


def _invalid(name: str, reason: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Invalid input for {name}. Reason: {reason}.")


def _integer(value: int | str | None) -> int:
    if value is None:
        raise errors.InvalidInput(
            "Invalid input for operation: 'None' is not an integer.", type="InvalidInput"
        )
    return integer(value)


def _kbps(name: str, value: int | str | None) -> int:
    number = _integer(value)
    if number < 0:
        raise _invalid(name, f"'{number}' is too small - must be at least '0'")
    if number > KBPS_MAX:
        raise _invalid(name, f"'{number}' is too large - must be no larger than '{KBPS_MAX}'")
    return number


def _direction(value: str) -> str:
    if value not in DIRECTIONS:
        raise _invalid("direction", f"{value} is not in valid_values")
    return value


def _dscp(value: int | str | None) -> int:
    mark = _integer(value)
    if mark not in VALID_DSCP_MARKS:
        raise _invalid("dscp_mark", f"{mark} is not in valid_values")
    return mark


def new_rule(rule_id: str, request: BandwidthLimitRuleCreate | DscpMarkingRuleCreate) -> QosRule:
    """A new rule from its create request, its values checked."""
    if isinstance(request, DscpMarkingRuleCreate):
        return QosRule(id=rule_id, type=DSCP_MARKING, dscp_mark=_dscp(request.dscp_mark))
    return changed(QosRule(id=rule_id, type=BANDWIDTH_LIMIT), request)


def changed(rule: QosRule, request: RuleUpdate) -> QosRule:
    """The rule with what ``request`` sets, its values checked."""
    if request.id is not UNSET:
        raise errors.InvalidInput("Cannot update read-only attribute id")
    values: dict[str, object] = {}
    if isinstance(request, DscpMarkingRuleUpdate):
        if request.dscp_mark is not UNSET:
            values["dscp_mark"] = _dscp(request.dscp_mark)
        return msgspec.structs.replace(rule, **values)
    if request.max_kbps is not UNSET:
        values["max_kbps"] = _kbps("max_kbps", request.max_kbps)
    if request.max_burst_kbps is not UNSET:
        values["max_burst_kbps"] = _kbps("max_burst_kbps", request.max_burst_kbps)
    if request.direction is not UNSET:
        values["direction"] = _direction(request.direction)
    return msgspec.structs.replace(rule, **values)


def check_conflicts(policy: QosPolicy, rule: QosRule) -> None:
    """One bandwidth limit per direction and one DSCP mark a policy (Neutron's
    ``QoSRulesConflict``, 409), ``rule`` being new or changed."""
    for other in policy.rules:
        same_kind = other.type == rule.type and (
            rule.type != BANDWIDTH_LIMIT or other.direction == rule.direction
        )
        if other.id != rule.id and same_kind:
            raise errors.Conflict(
                f"Rule {rule.type} conflicts with rule {other.id} which already exists in "
                f"QoS Policy {policy.id}.",
                type="QoSRulesConflict",
            )


def not_enforced(rule_type: str) -> errors.Conflict:
    """A rule type Neutron has that the data plane here cannot enforce."""
    return errors.Conflict(
        f"Rule {rule_type} is not supported: the data plane cannot enforce it.",
        type="QosRuleNotSupported",
    )


def effective(port: Port) -> str | None:
    """The policy a port's host enforces: its own, else its network's."""
    return port.qos_policy_id or port.qos_network_policy_id


def burst_kbps(rule: QosRule) -> int:
    """The burst a rule allows: its own, or Neutron's default (80% of the rate) for 0."""
    return rule.max_burst_kbps or int(rule.max_kbps * DEFAULT_BURST_RATE)
