"""Pure checks on security group rules, with Neutron's rules and error types.

``check_rule`` takes a rule as a client sent it and returns it normalised as Neutron keeps it
(protocol as Neutron shows it, ``remote_ip_prefix`` with its length, the whole port range as
none) or raises ``errors.InvalidInput`` with the type Neutron answers. ``rule_key`` says when
two rules are the same rule (``SecurityGroupRuleExists``).
"""

from __future__ import annotations

import ipaddress

import msgspec

from alcor.model import errors

DIRECTIONS = ("ingress", "egress")
ETHERTYPES = ("IPv4", "IPv6")

# Neutron's IP_PROTOCOL_MAP (neutron-lib constants): the names a rule's protocol may be.
PROTOCOLS: dict[str, int] = {
    "ah": 51,
    "dccp": 33,
    "egp": 8,
    "esp": 50,
    "gre": 47,
    "hopopt": 0,
    "icmp": 1,
    "igmp": 2,
    "ip": 0,
    "ipip": 4,
    "ipv6-encap": 41,
    "ipv6-frag": 44,
    "ipv6-icmp": 58,
    "icmpv6": 58,
    "ipv6-nonxt": 59,
    "ipv6-opts": 60,
    "ipv6-route": 43,
    "ospf": 89,
    "pgm": 113,
    "rsvp": 46,
    "sctp": 132,
    "tcp": 6,
    "udp": 17,
    "udplite": 136,
    "vrrp": 112,
}
PORT_PROTOCOLS = frozenset({6, 17, 33, 132, 136})  # tcp, udp, dccp, sctp, udplite
ICMP_PROTOCOLS = frozenset({1, 58})
ICMPV6_NAMES = frozenset({"icmpv6", "ipv6-icmp", "58"})
MAX_PORT = 65_535
# Neutron's ``_validate_ethertype_and_protocol``: protocols an IPv4 rule may not name
IPV6_ONLY = frozenset(
    {"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route"}
    | {"41", "44", "58", "59", "60", "43"}
)
PORT_RANGE_ALL = (1, MAX_PORT)  # what Neutron stores as no range (None, None)


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """The matching part of a rule, normalised."""

    direction: str
    ethertype: str
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    remote_address_group_id: str | None = None


def _invalid(message: str, type_: str = "HTTPBadRequest") -> errors.InvalidInput:
    return errors.InvalidInput(message, type=type_)


def check_rule(rule: Rule) -> Rule:
    """The rule normalised, or InvalidInput saying what is wrong with it (Neutron's
    ``_validate_base_security_group_rule_attributes``, in its order)."""
    if rule.direction not in DIRECTIONS:
        raise _invalid(
            f"Invalid input for direction. Reason: '{rule.direction}' is not in {list(DIRECTIONS)}."
        )
    ethertype = _ethertype(rule.ethertype)
    protocol = _canonical_icmpv6(protocol_name(rule.protocol), ethertype)
    low, high = rule.port_range_min, rule.port_range_max
    if (low, high) == PORT_RANGE_ALL:
        low = high = None
    _check_ports(protocol, low, high)
    prefix = _prefix(rule.remote_ip_prefix, ethertype)
    _check_protocol_version(protocol, ethertype)
    remotes = (prefix, rule.remote_group_id, rule.remote_address_group_id)
    if sum(remote is not None for remote in remotes) > 1:
        raise _invalid(
            "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be "
            "provided.",
            "SecurityGroupMultipleRemoteEntites",
        )
    return msgspec.structs.replace(
        rule,
        ethertype=ethertype,
        protocol=protocol,
        port_range_min=low,
        port_range_max=high,
        remote_ip_prefix=prefix,
    )


def _canonical_icmpv6(protocol: str | None, ethertype: str) -> str | None:
    """As Neutron shows an IPv6 rule's ICMP: the legacy names and number 1 as ICMPv6."""
    if ethertype == "IPv6" and protocol in ("icmp", "icmpv6"):
        return "ipv6-icmp"
    if ethertype == "IPv6" and protocol == "1":
        return "58"
    return protocol


def _ethertype(text: str) -> str:
    for ethertype in ETHERTYPES:
        if text.lower() == ethertype.lower():
            return ethertype
    raise _invalid(f"Invalid input for ethertype. Reason: '{text}' is not in {list(ETHERTYPES)}.")


def protocol_name(protocol: str | int | None) -> str | None:
    """As Neutron stores it: a known name in lower case, a number 0-255 as its decimal text, or
    None for any protocol (also sent as 'any')."""
    if protocol is None:
        return None
    if isinstance(protocol, str):
        lowered = protocol.strip().lower()
        if lowered == "any":
            return None
        if lowered in PROTOCOLS:
            return lowered
        if lowered.isdecimal() and len(lowered) <= 3:
            protocol = int(lowered)
    if isinstance(protocol, int) and not isinstance(protocol, bool) and 0 <= protocol <= 255:
        return str(protocol)
    raise _invalid(
        f"Security group rule protocol {protocol} not supported. Only protocol values "
        f"{sorted(PROTOCOLS)} and integer representations [0 to 255] are supported.",
        "SecurityGroupRuleInvalidProtocol",
    )


def protocol_number(protocol: str | None) -> int | None:
    """The IP protocol number of a normalised protocol (None: any)."""
    if protocol is None:
        return None
    return PROTOCOLS[protocol] if protocol in PROTOCOLS else int(protocol)


def _check_protocol_version(protocol: str | None, ethertype: str) -> None:
    if ethertype == "IPv4" and protocol in IPV6_ONLY:
        raise _invalid(
            f"Invalid ethertype {ethertype} for protocol {protocol}.",
            "SecurityGroupEthertypeConflictWithProtocol",
        )


def _check_ports(protocol: str | None, low: int | None, high: int | None) -> None:
    """Neutron's ``_validate_port_range``: ports for tcp-like protocols, type and code for ICMP,
    nothing (or one and the same value) for any other protocol."""
    for attribute, value in (("port_range_min", low), ("port_range_max", high)):
        if value is not None and not 0 <= value <= MAX_PORT:
            raise _invalid(
                f"Invalid value for port {value}. Reason: {attribute} must be in [0, {MAX_PORT}].",
                "SecurityGroupInvalidPortValue",
            )
    if low is None and high is None:
        return
    number = protocol_number(protocol)
    if number is None:
        raise _invalid(
            "Must also specify protocol if port range is given.",
            "SecurityGroupProtocolRequiredWithPorts",
        )
    if number in PORT_PROTOCOLS:
        _check_port_range(low, high)
    elif number in ICMP_PROTOCOLS:
        _check_icmp(low, high)
    elif low != high:
        raise _invalid(
            f"Invalid protocol {number} for port range, only supported for TCP, UDP, UDPLITE, "
            "SCTP and DCCP.",
            "SecurityGroupInvalidProtocolForPortRange",
        )


def _check_port_range(low: int | None, high: int | None) -> None:
    if low == 0 or high == 0:
        raise _invalid("Invalid value for port 0.", "SecurityGroupInvalidPortValue")
    if low is None or high is None or low > high:
        raise _invalid(
            "For TCP/UDP protocols, port_range_min must be <= port_range_max.",
            "SecurityGroupInvalidPortRange",
        )


def _check_icmp(low: int | None, high: int | None) -> None:
    for attribute, field, value in (
        ("port_range_min", "type", low),
        ("port_range_max", "code", high),
    ):
        if value is not None and not 0 <= value <= 255:
            raise _invalid(
                f"Invalid value for ICMP {field} ({attribute}) {value}. It must be 0 to 255.",
                "SecurityGroupInvalidIcmpValue",
            )
    if low is None and high is not None:
        raise _invalid(
            f"ICMP code (port-range-max) {high} is provided but ICMP type (port-range-min) "
            "is missing.",
            "SecurityGroupMissingIcmpType",
        )


def _prefix(text: str | None, ethertype: str) -> str | None:
    """The prefix as Neutron keeps it: as sent, with its length ('10.0.0.7/24' stays so, an
    address is a /32 or /128; ``normalized_cidr`` is its network). Its IP version must be the
    rule's ethertype."""
    if text is None or not text:
        return None
    try:
        interface = ipaddress.ip_interface(text.strip())
    except ValueError:
        raise _invalid(f"Invalid CIDR {text} given as IP prefix.", "InvalidCIDR") from None
    if f"IPv{interface.version}" != ethertype:
        raise _invalid(
            f"Conflicting value ethertype {ethertype} for CIDR {text}",
            "SecurityGroupRuleParameterConflict",
        )
    return str(interface)


def normalized_cidr(prefix: str | None) -> str | None:
    """``security-groups-normalized-cidr``: the network of a rule's remote_ip_prefix."""
    return None if prefix is None else str(ipaddress.ip_interface(prefix).network)


def rule_key(rule: Rule) -> tuple[object, ...]:
    """Two rules with the same key are the same rule, as Neutron's ``_rule_to_key`` says:
    protocol compared by number, a prefix as kept (any address, 0.0.0.0/0 or ::/0, is none)."""
    prefix = rule.remote_ip_prefix
    return (
        rule.direction,
        rule.ethertype,
        protocol_number(rule.protocol),
        rule.port_range_min,
        rule.port_range_max,
        None if prefix in ("0.0.0.0/0", "::/0") else prefix,
        rule.remote_group_id,
        rule.remote_address_group_id,
    )
