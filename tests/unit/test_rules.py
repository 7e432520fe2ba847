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
        ({"remote_ip_prefix": "10.0.0.0/40"}, "InvalidCIDR"),
        (
            {"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "g"},
            "SecurityGroupMultipleRemoteEntites",
        ),
        (
            {"remote_ip_prefix": "10.0.0.0/8", "remote_address_group_id": "a"},
            "SecurityGroupMultipleRemoteEntites",
        ),
        (
            {"remote_group_id": "g", "remote_address_group_id": "a"},
            "SecurityGroupMultipleRemoteEntites",
        ),
    ],
)
def test_bad_rules_get_neutrons_error_type(attributes: dict[str, Any], error_type: str) -> None:
    with pytest.raises(errors.InvalidInput) as raised:
        rules.check_rule(rule(**attributes))
    assert raised.value.type == error_type
    assert raised.value.status == 400


@pytest.mark.parametrize(
    ("sent", "kept", "network"),
    [
        ("10.1.2.3/8", "10.1.2.3/8", "10.0.0.0/8"),
        ("10.1.2.3", "10.1.2.3/32", "10.1.2.3/32"),
        ("0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_prefixes_are_kept_as_sent_with_their_network_beside(
    sent: str, kept: str, network: str
) -> None:
    """As Neutron (``security-groups-normalized-cidr``): the prefix keeps its host bits, and
    ``normalized_cidr`` is its network (mirrors neutron-tempest-plugin
    test_security_groups.SecGroupNormalizedCidrTest.test_normalized_cidr_in_rule)."""
    checked = rules.check_rule(rule(remote_ip_prefix=sent))
    assert checked.remote_ip_prefix == kept
    assert rules.normalized_cidr(checked.remote_ip_prefix) == network


def test_ipv6_prefixes_too() -> None:
    checked = rules.check_rule(rule(ethertype="IPv6", remote_ip_prefix="2001:DB8::1/64"))
    assert checked.remote_ip_prefix == "2001:db8::1/64"
    assert rules.normalized_cidr(checked.remote_ip_prefix) == "2001:db8::/64"


@pytest.mark.parametrize(
    "protocol",
    [
        "ipv6-encap",
        "ipv6-frag",
        "ipv6-icmp",
        "ipv6-nonxt",
        "ipv6-opts",
        "ipv6-route",
        "icmpv6",
        "41",
        "43",
        "44",
        "58",
        "59",
        "60",
    ],
)
def test_an_ipv4_rule_takes_no_ipv6_only_protocol(protocol: str) -> None:
    """Mirrors neutron-tempest-plugin test_security_groups_negative.NegativeSecGroupProtocolTest
    .test_create_security_group_rule_with_ipv6_protocol_names and _integers."""
    with pytest.raises(errors.InvalidInput) as raised:
        rules.check_rule(rule(protocol=protocol))
    assert raised.value.type == "SecurityGroupEthertypeConflictWithProtocol"
    assert rules.check_rule(rule(ethertype="IPv6", protocol=protocol)).ethertype == "IPv6"


@pytest.mark.parametrize(
    ("sent", "shown"), [("icmp", "ipv6-icmp"), ("icmpv6", "ipv6-icmp"), ("1", "58")]
)
def test_an_ipv6_rules_legacy_icmp_is_shown_as_icmpv6(sent: str, shown: str) -> None:
    assert rules.check_rule(rule(ethertype="IPv6", protocol=sent)).protocol == shown
    if sent != "icmpv6":
        assert rules.check_rule(rule(protocol=sent)).protocol == sent  # IPv4: as sent


def test_the_whole_port_range_is_no_range() -> None:
    checked = rules.check_rule(rule(protocol="tcp", port_range_min=1, port_range_max=65535))
    assert (checked.port_range_min, checked.port_range_max) == (None, None)


def test_the_same_rule_has_the_same_key() -> None:
    by_name = rules.check_rule(rule(protocol="TCP", port_range_min=22, port_range_max=22))
    by_number = rules.check_rule(rule(protocol=6, port_range_min=22, port_range_max=22))
    assert rules.rule_key(by_name) == rules.rule_key(by_number)
    other = rules.check_rule(rule(protocol="tcp", port_range_min=22, port_range_max=23))
    assert rules.rule_key(other) != rules.rule_key(by_name)
    assert rules.rule_key(rule()) != rules.rule_key(rule(direction="egress"))


def test_any_address_is_no_prefix_and_address_groups_tell_rules_apart() -> None:
    assert rules.rule_key(rules.check_rule(rule(remote_ip_prefix="0.0.0.0/0"))) == rules.rule_key(
        rule()
    )
    assert rules.rule_key(rule(remote_address_group_id="a")) != rules.rule_key(
        rule(remote_address_group_id="b")
    )
