"""Unit tests for the pure security group rule checks (``alcor.model.rules``)."""

from __future__ import annotations

from typing import Any

import pytest

from alcor.model import errors, rules


def rule(**attributes: Any) -> rules.Rule:
    return rules.Rule(**{"direction": "ingress", "ethertype": "IPv4", **attributes})


@pytest.mark.parametrize(
    ("sent", "name"),
    [
        (None, None),
        ("any", None),
        ("ANY", None),
        ("TCP", "tcp"),
        (" udp ", "udp"),
        ("ipv6-icmp", "ipv6-icmp"),
        (6, "6"),
        ("17", "17"),
        (0, "0"),
        (255, "255"),
        ("007", "7"),
    ],
)
def test_protocols_are_shown_as_neutron_stores_them(sent: str | int | None, name: str) -> None:
    assert rules.protocol_name(sent) == name


@pytest.mark.parametrize("sent", ["tcpp", "", 256, -1, "256", "1e3", True, "6.0"])
def test_unknown_protocols_are_refused(sent: Any) -> None:
    with pytest.raises(errors.InvalidInput) as raised:
        rules.protocol_name(sent)
    assert raised.value.type == "SecurityGroupRuleInvalidProtocol"


def test_protocol_numbers() -> None:
    assert rules.protocol_number("tcp") == rules.protocol_number("6") == 6
    assert rules.protocol_number("icmpv6") == rules.protocol_number("ipv6-icmp") == 58
    assert rules.protocol_number(None) is None


@pytest.mark.parametrize(
    "attributes",
    [
        {"protocol": "tcp", "port_range_min": 1, "port_range_max": 65535},
        {"protocol": "udp", "port_range_min": 53, "port_range_max": 53},
        {"protocol": "tcp"},
        {"protocol": "icmp", "port_range_min": 8},
        {"protocol": "icmp", "port_range_min": 0, "port_range_max": 255},
        {"protocol": "gre", "port_range_min": 5, "port_range_max": 5},
        {"ethertype": "IPv6", "protocol": "icmpv6", "port_range_min": 128},
        {"ethertype": "ipv6", "remote_ip_prefix": "::/0"},
        {"remote_group_id": "g"},
    ],
)
def test_good_rules_pass(attributes: dict[str, Any]) -> None:
    checked = rules.check_rule(rule(**attributes))
    assert checked.ethertype in rules.ETHERTYPES


@pytest.mark.parametrize(
    ("attributes", "error_type"),
    [
        ({"direction": "up"}, "HTTPBadRequest"),
        ({"ethertype": "IPX"}, "HTTPBadRequest"),
        ({"port_range_min": 1, "port_range_max": 2}, "SecurityGroupProtocolRequiredWithPorts"),
        (
            {"protocol": "tcp", "port_range_min": 2, "port_range_max": 1},
            "SecurityGroupInvalidPortRange",
        ),
        ({"protocol": "tcp", "port_range_max": 1}, "SecurityGroupInvalidPortRange"),
        (
            {"protocol": "tcp", "port_range_min": 0, "port_range_max": 1},
            "SecurityGroupInvalidPortValue",
        ),
        (
            {"protocol": "tcp", "port_range_min": 1, "port_range_max": 70000},
            "SecurityGroupInvalidPortValue",
        ),
        (
            {"protocol": "tcp", "port_range_min": -1, "port_range_max": 1},
            "SecurityGroupInvalidPortValue",
        ),
        ({"protocol": "icmp", "port_range_min": 256}, "SecurityGroupInvalidIcmpValue"),
        ({"protocol": "icmp", "port_range_max": 3}, "SecurityGroupMissingIcmpType"),
        (
            {"protocol": "47", "port_range_min": 1, "port_range_max": 2},
            "SecurityGroupInvalidProtocolForPortRange",
        ),
        ({"protocol": "ipv6-icmp"}, "SecurityGroupEthertypeConflictWithProtocol"),
        ({"protocol": "58"}, "SecurityGroupEthertypeConflictWithProtocol"),
        ({"remote_ip_prefix": "::/0"}, "SecurityGroupRuleParameterConflict"),
        ({"remote_ip_prefix": "10.0.0.0/40"}, "HTTPBadRequest"),
        (
            {"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "g"},
            "SecurityGroupRemoteGroupAndRemoteIpPrefix",
        ),
    ],
)
def test_bad_rules_get_neutrons_error_type(attributes: dict[str, Any], error_type: str) -> None:
    with pytest.raises(errors.InvalidInput) as raised:
        rules.check_rule(rule(**attributes))
    assert raised.value.type == error_type
    assert raised.value.status == 400


@pytest.mark.parametrize(
    ("sent", "network"),
    [
        ("10.1.2.3/8", "10.0.0.0/8"),
        ("10.1.2.3", "10.1.2.3/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_prefixes_are_normalised_to_their_network(sent: str, network: str) -> None:
    assert rules.check_rule(rule(remote_ip_prefix=sent)).remote_ip_prefix == network


def test_ipv6_prefixes_too() -> None:
    checked = rules.check_rule(rule(ethertype="IPv6", remote_ip_prefix="2001:DB8::1/64"))
    assert checked.remote_ip_prefix == "2001:db8::/64"


def test_the_same_rule_has_the_same_key() -> None:
    by_name = rules.check_rule(rule(protocol="TCP", port_range_min=22, port_range_max=22))
    by_number = rules.check_rule(rule(protocol=6, port_range_min=22, port_range_max=22))
    assert rules.rule_key(by_name) == rules.rule_key(by_number)
    other = rules.check_rule(rule(protocol="tcp", port_range_min=22, port_range_max=23))
    assert rules.rule_key(other) != rules.rule_key(by_name)
    assert rules.rule_key(rule()) != rules.rule_key(rule(direction="egress"))


def test_default_rules() -> None:
    plain = rules.default_rules("g", default_group=False)
    assert {(r.direction, r.ethertype, r.remote_group_id) for r in plain} == {
        ("egress", "IPv4", None),
        ("egress", "IPv6", None),
    }
    default = rules.default_rules("g", default_group=True)
    assert {(r.direction, r.ethertype, r.remote_group_id) for r in default} == {
        ("egress", "IPv4", None),
        ("egress", "IPv6", None),
        ("ingress", "IPv4", "g"),
        ("ingress", "IPv6", "g"),
    }
    for checked in default:  # they pass the checks themselves
        assert rules.check_rule(checked) == checked
