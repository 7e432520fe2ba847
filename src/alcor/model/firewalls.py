"""Firewalls (``fwaas_v2``), pure: the requests, their checks and neutron-fwaas's errors.

A rule's attributes are checked as neutron-lib's API definition and neutron-fwaas's database
layer check them, in their order: each attribute's converter and validator (400 ``Invalid
input for ...``), then ``validate_fwr_protocol_parameters`` (ports need tcp or udp), then
``validate_fwr_src_dst_ip_version`` (addresses of the rule's IP version), then the port range
(its first port not above its last). A port range is ``"first:last"`` or one port, shown so.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import msgspec

from alcor.model import addressing, errors
from alcor.model.records import FirewallRule
from alcor.model.requests import UNSET, Integer, Request, String, Unset, integer

ACTIONS = ("allow", "deny", "reject")
PORTED = ("tcp", "udp")  # the protocols whose rules may name ports
DEFAULT_GROUP = "default"
DEFAULT_POLICIES = ("default ingress", "default egress")
DRIVER = "alcor"  # what a refused port's message names as the firewall driver
# A router interface's owners (neutron_lib ROUTER_INTERFACE_OWNERS) and a VM port's prefix
ROUTER_INTERFACE_OWNERS = (
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
)
COMPUTE_PREFIX = "compute:"

PortRange = tuple[int | None, int | None]


# --- requests ---------------------------------------------------------------------------


class FirewallRuleUpdate(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    shared: bool | Unset = UNSET
    protocol: String | Unset | None = UNSET
    ip_version: Integer | Unset = UNSET
    source_ip_address: String | Unset | None = UNSET
    destination_ip_address: String | Unset | None = UNSET
    source_port: Integer | Unset | None = UNSET
    destination_port: Integer | Unset | None = UNSET
    action: Any = UNSET  # a string; anything else is refused as Neutron's converter words it
    enabled: bool | Unset = UNSET


class FirewallRuleCreate(FirewallRuleUpdate, frozen=True, kw_only=True):
    project_id: String | Unset = UNSET
    tenant_id: String | Unset = UNSET
    tags: list[String] | Unset = UNSET


class FirewallPolicyUpdate(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    shared: bool | Unset = UNSET
    firewall_rules: list[String] | Unset | None = UNSET
    audited: bool | Unset = UNSET


class FirewallPolicyCreate(FirewallPolicyUpdate, frozen=True, kw_only=True):
    project_id: String | Unset = UNSET
    tenant_id: String | Unset = UNSET
    tags: list[String] | Unset = UNSET


class FirewallGroupUpdate(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    shared: bool | Unset = UNSET
    ports: list[String] | Unset | None = UNSET
    ingress_firewall_policy_id: String | Unset | None = UNSET
    egress_firewall_policy_id: String | Unset | None = UNSET


class FirewallGroupCreate(FirewallGroupUpdate, frozen=True, kw_only=True):
    project_id: String | Unset = UNSET
    tenant_id: String | Unset = UNSET
    tags: list[String] | Unset = UNSET


class RuleInfo(Request, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """The body of ``insert_rule`` and ``remove_rule`` (other keys are ignored, as Neutron's
    actions take any body)."""

    firewall_rule_id: Any = UNSET
    insert_before: Any = UNSET
    insert_after: Any = UNSET


# --- neutron-lib's and neutron-fwaas's errors -------------------------------------------


def rule_not_found(rule_id: str) -> errors.NotFound:
    return errors.NotFound(
        f"Firewall rule {rule_id} could not be found.", type="FirewallRuleNotFound"
    )


def policy_not_found(policy_id: str) -> errors.NotFound:
    return errors.NotFound(
        f"Firewall policy {policy_id} could not be found.", type="FirewallPolicyNotFound"
    )


def group_not_found(group_id: str) -> errors.NotFound:
    return errors.NotFound(
        f"Firewall group {group_id} could not be found.", type="FirewallGroupNotFound"
    )


def reserved_name(name: str, resource_type: str) -> errors.InUse:
    return errors.InUse(
        f"Operation cannot be performed since '{name}' is a reserved name for {resource_type}.",
        type="FirewallDefaultParameterExists",
    )


def default_restricted(resource_id: str) -> errors.InUse:
    """neutron-fwaas names a default policy's type ``Firewall Group`` too."""
    return errors.InUse(
        f"Operation cannot be performed on default object '{resource_id}' of type Firewall Group.",
        type="FirewallDefaultObjectUpdateRestricted",
    )


def rule_conflict(rule: FirewallRule) -> errors.Conflict:
    return errors.Conflict(
        f"Operation cannot be performed since firewall rule {rule.id} is not shared and "
        f"belongs to another project {rule.project_id}.",
        type="FirewallRuleConflict",
    )


def rule_sharing_conflict(policy_id: str, rule_id: str) -> errors.NotFound:
    return errors.NotFound(
        f"Operation cannot be performed since firewall policy {policy_id} could not find the "
        f"firewall rule {rule_id}. Please confirm if the firewall rule exists and is shared.",
        type="FirewallRuleSharingConflict",
    )


def not_associated(rule_id: str, policy_id: str) -> errors.InvalidInput:
    return errors.InvalidInput(
        f"Firewall rule {rule_id} is not associated with firewall policy {policy_id}.",
        type="FirewallRuleNotAssociatedWithPolicy",
    )


# --- checks -----------------------------------------------------------------------------


def check_id(value: str, attribute: str) -> str:
    try:
        uuid.UUID(value)
    except ValueError:
        raise addressing.invalid(attribute, f"'{value}' is not a valid UUID.") from None
    return value


def check_ids(values: list[str], attribute: str) -> list[str]:
    """``type:uuid_list``: each a UUID, none twice."""
    for value in values:
        check_id(value, attribute)
    seen: set[str] = set()
    twice = [v for v in values if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
    if twice:
        raise addressing.invalid(attribute, f"Duplicate items in the list: '{', '.join(twice)}'.")
    return values


def action(value: object) -> str:
    if not isinstance(value, str):
        raise errors.InvalidInput(
            f"Invalid input for operation: Input value {value} must be string type.",
            type="InvalidInput",
        )
    lowered = value.lower()
    if lowered not in ACTIONS:
        raise addressing.invalid("action", f"{lowered} is not in valid_values.")
    return lowered


def ip_version(value: int | str) -> int:
    number = integer(value)
    if number not in (4, 6):
        raise addressing.invalid("ip_version", f"{number} is not in valid_values.")
    return number


def address(value: str | None, attribute: str) -> str | None:
    """``type:ip_or_subnet_or_none``: kept as sent (``1.1.1.1`` stays so)."""
    if value is None:
        return None
    try:
        if "/" in value:
            ipaddress.ip_interface(value)
        else:
            ipaddress.ip_address(value)
    except ValueError:
        raise addressing.invalid(
            attribute, f"'{value}' is neither a valid IP address, nor is it a valid IP subnet."
        ) from None
    return value


def port_range(value: int | str | None, attribute: str) -> PortRange:
    """``type:port_range`` (after ``convert_to_string``): ``"first:last"`` or one port, 0 to
    65535. The order of the two is checked later (``check_order``)."""
    if value is None:
        return None, None
    parts = str(value).split(":")
    if len(parts) > 2 or any(part == "" for part in parts):
        raise addressing.invalid(attribute, "Port range must be two integers separated by a colon.")
    for part in parts:
        if not part.strip().isdigit() or int(part) > 65535:
            raise addressing.invalid(attribute, f"Invalid port: {part}.")
    return int(parts[0]), int(parts[-1])


def port_text(low: int | None, high: int | None) -> str | None:
    """A range as neutron-fwaas shows it: one port alone, else ``"first:last"``."""
    if low is None:
        return None
    return str(low) if low == high else f"{low}:{high}"


class RuleMatch(msgspec.Struct, frozen=True, kw_only=True):
    """What a rule matches, checked as a whole (on create, and merged on update)."""

    protocol: str | None
    ip_version: int
    source_ip_address: str | None
    destination_ip_address: str | None
    source_port: PortRange
    destination_port: PortRange


def check_match(match: RuleMatch) -> None:
    """neutron-fwaas's checks of the rule as a whole, in its order."""
    ported = match.source_port[0] is not None or match.destination_port[0] is not None
    if match.protocol is not None and match.protocol not in PORTED and ported:
        raise errors.InvalidInput(
            "Source, destination port are not allowed when protocol is set to ICMP.",
            type="FirewallRuleInvalidICMPParameter",
        )
    if match.protocol is None and ported:
        raise errors.InvalidInput(
            "Source/destination port requires a protocol.",
            type="FirewallRuleWithPortWithoutProtocolInvalid",
        )
    for text in (match.source_ip_address, match.destination_ip_address):
        if text is not None and ipaddress.ip_interface(text).version != match.ip_version:
            raise errors.InvalidInput(
                "Invalid input - IP addresses do not agree with IP Version.",
                type="FirewallIpAddressConflict",
            )
    for low, high in (match.source_port, match.destination_port):
        if low is not None and high is not None and low > high:
            raise errors.InvalidInput(
                f"Invalid value for port {low}:{high}.", type="FirewallRuleInvalidPortValue"
            )


def protocol(value: str | None) -> str | None:
    if value is not None:
        addressing.check_protocol(value)
    return value


def match_of(rule: FirewallRule) -> RuleMatch:
    return RuleMatch(
        protocol=rule.protocol,
        ip_version=rule.ip_version,
        source_ip_address=rule.source_ip_address,
        destination_ip_address=rule.destination_ip_address,
        source_port=(rule.source_port_min, rule.source_port_max),
        destination_port=(rule.destination_port_min, rule.destination_port_max),
    )


def merged(held: RuleMatch, request: FirewallRuleUpdate) -> RuleMatch:
    """What the rule matches with what a request sends (a create: over the defaults)."""
    return RuleMatch(
        protocol=held.protocol if request.protocol is UNSET else protocol(request.protocol),
        ip_version=held.ip_version
        if isinstance(request.ip_version, Unset)
        else ip_version(request.ip_version),
        source_ip_address=held.source_ip_address
        if request.source_ip_address is UNSET
        else address(request.source_ip_address, "source_ip_address"),
        destination_ip_address=held.destination_ip_address
        if request.destination_ip_address is UNSET
        else address(request.destination_ip_address, "destination_ip_address"),
        source_port=held.source_port
        if isinstance(request.source_port, Unset)
        else port_range(request.source_port, "source_port"),
        destination_port=held.destination_port
        if isinstance(request.destination_port, Unset)
        else port_range(request.destination_port, "destination_port"),
    )


NO_MATCH = RuleMatch(
    protocol=None,
    ip_version=4,
    source_ip_address=None,
    destination_ip_address=None,
    source_port=(None, None),
    destination_port=(None, None),
)


def match_fields(match: RuleMatch) -> dict[str, Any]:
    """The record's fields for what a rule matches."""
    return {
        "protocol": match.protocol,
        "ip_version": match.ip_version,
        "source_ip_address": match.source_ip_address,
        "destination_ip_address": match.destination_ip_address,
        "source_port_min": match.source_port[0],
        "source_port_max": match.source_port[1],
        "destination_port_min": match.destination_port[0],
        "destination_port_max": match.destination_port[1],
    }


def inserted(rules: list[str], rule_id: str, info: RuleInfo, *, policy_id: str) -> list[str]:
    """The policy's rules with ``rule_id`` inserted: before ``insert_before`` if given (it wins),
    else after ``insert_after``, else first."""
    check_not_in(rules, rule_id, policy_id=policy_id)
    before, after = info.insert_before, info.insert_after
    reference, offset = (before, 0) if before else (after, 1) if after else (None, 0)
    if reference is None:
        return [rule_id, *rules]
    if reference not in rules:
        raise not_associated(str(reference), policy_id)
    at = rules.index(str(reference)) + offset
    return [*rules[:at], rule_id, *rules[at:]]


def check_not_in(rules: list[str], rule_id: str, *, policy_id: str) -> None:
    """neutron-fwaas's first check of an insert: the rule is not in the policy yet."""
    if rule_id in rules:
        raise errors.Conflict(
            f"Operation cannot be performed since firewall rule {rule_id} is already associated "
            f"with firewall policy {policy_id}.",
            type="FirewallRuleAlreadyAssociated",
        )


def rule_id_of(info: RuleInfo) -> str:
    """The rule an insert or remove names: missing is a 400, not a UUID a 404."""
    if info.firewall_rule_id is UNSET:
        raise errors.InvalidInput(
            "Missing rule info argument for insert/remove rule operation.",
            type="FirewallRuleInfoMissing",
        )
    value = info.firewall_rule_id
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise rule_not_found(str(value)) from None
    return str(value)
