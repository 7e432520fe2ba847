"""Security groups as nftables rulesets (pure): what a rule matches, what a port may send, and
transactions that touch only what changed."""

from __future__ import annotations

import pytest

from alcor.agent.drivers.linux import nft
from alcor.v1 import southbound_pb2 as pb

PORT = "3f0d4c1e-aaaa-bbbb-cccc-123456789012"


def rule(**fields: object) -> pb.Rule:
    fields.setdefault("direction", "ingress")
    fields.setdefault("ethertype", "IPv4")
    return pb.Rule(id="r", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "meta nfproto ipv4"),
        ({"protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
         "meta nfproto ipv4 meta l4proto 6 th dport 22"),
        ({"protocol": "udp", "port_range_min": 1000, "port_range_max": 2000,
          "remote_ip_prefix": "10.0.0.0/8"},
         "meta nfproto ipv4 meta l4proto 17 th dport 1000-2000 ip saddr 10.0.0.0/8"),
        ({"protocol": "icmp", "port_range_min": 8, "port_range_max": 0},
         "meta nfproto ipv4 meta l4proto 1 icmp type 8 icmp code 0"),
        ({"protocol": "icmp", "ethertype": "IPv6"}, "meta nfproto ipv6 meta l4proto 58"),
        ({"protocol": "47"}, "meta nfproto ipv4 meta l4proto 47"),
        ({"protocol": "vrrp"}, "meta nfproto ipv4 meta l4proto 112"),
        ({"remote_ip_prefix": "0.0.0.0/0"}, "meta nfproto ipv4"),
        ({"direction": "egress", "remote_ip_prefix": "192.0.2.7/32"},
         "meta nfproto ipv4 ip daddr 192.0.2.7"),
        ({"remote_group_id": "g1", "ethertype": "IPv6"}, "meta nfproto ipv6 ip6 saddr @rg6-g1"),
        ({"remote_address_group_id": "a1", "protocol": "tcp", "port_range_min": 80,
          "port_range_max": 80}, "meta nfproto ipv4 meta l4proto 6 th dport 80 ip saddr @ag4-a1"),
        ({"direction": "egress", "remote_address_group_id": "a1", "ethertype": "IPv6"},
         "meta nfproto ipv6 ip6 daddr @ag6-a1"),
        ({"remote_ip_prefix": "2001:db8::/32"}, None),  # an IPv4 rule cannot match IPv6 peers
        ({"protocol": "no-such-protocol"}, None),
    ],
)  # fmt: skip
def test_a_rule_as_a_match(fields: dict[str, object], expected: str | None) -> None:
    assert nft.rule_match(rule(**fields)) == expected


def port(**fields: object) -> pb.Port:
    fields.setdefault("id", PORT)
    fields.setdefault("mac_address", "FA:16:3E:00:00:01")
    fields.setdefault("fixed_ips", [pb.FixedIp(subnet_id="s", ip_address="10.0.0.4")])
    fields.setdefault("port_security_enabled", True)
    return pb.Port(**fields)  # type: ignore[arg-type]


def chains(rules: nft.Ruleset, family: str) -> dict[str, nft.Chain]:
    return next(table for table in rules.tables if table.family == family).chains


def sets(rules: nft.Ruleset) -> dict[str, nft.Container]:
    return rules.tables[1].containers


def test_a_port_may_send_only_from_its_own_and_its_pairs_addresses() -> None:
    pairs = [pb.AddressPair(ip_address="10.0.9.0/24", mac_address="fa:16:3e:00:00:99"),
             pb.AddressPair(ip_address="10.0.0.50")]  # fmt: skip
    made = nft.ruleset(
        ports=[nft.PortPolicy(port(allowed_address_pairs=pairs), 5)], groups={}, members={},
        zones={},
    )  # fmt: skip
    out = chains(made, "bridge")[f"out-{PORT}"].rules
    assert out[0] == "meta mark set 0x00050000"
    assert "ether saddr != { fa:16:3e:00:00:01, fa:16:3e:00:00:99 } drop" in out
    assert "arp saddr ip != { 0.0.0.0, 10.0.0.4, 10.0.0.50, 10.0.9.0/24 } drop" in out
    assert (
        "ether type ip ether saddr . ip saddr != { fa:16:3e:00:00:01 . 10.0.0.4, "
        "fa:16:3e:00:00:01 . 10.0.0.50, fa:16:3e:00:00:99 . 10.0.9.0/24 } drop"
    ) in out
    # DHCP requests (from 0.0.0.0) pass before the source check; offers from a port never do
    offers = out.index("ether type ip udp sport 67 udp dport 68 drop")
    requests = out.index("ether type ip udp sport 68 udp dport 67 accept")
    check = next(i for i, r in enumerate(out) if "ip saddr !=" in r)
    assert offers < requests < check
    assert any("fe80::f816:3eff:fe00:1" in r and "fe80::f816:3eff:fe00:99" in r for r in out)
    assert chains(made, "bridge")[f"in-{PORT}"].rules == ("meta mark set meta mark | 0x00000005",)


def test_default_deny_with_state_and_the_groups_rules() -> None:
    group = pb.SecurityGroup(
        id="g",
        stateful=True,
        rules=[
            rule(protocol="tcp", port_range_min=22, port_range_max=22),
            rule(direction="egress"),
            rule(remote_group_id="other"),
        ],
    )
    made = nft.ruleset(
        ports=[nft.PortPolicy(port(security_group_ids=["g"]), 1)],
        groups={"g": group},
        members={"other": ["10.0.0.7", "10.0.0.0/30", "2001:db8::1"]},
        zones={"albr-100": 100},
    )
    inet = chains(made, "inet")
    ingress = inet[f"ing-{PORT}"].rules
    assert ingress[0] == "ct state established,related accept"
    assert "meta nfproto ipv4 meta l4proto 6 th dport 22 accept" in ingress
    assert "meta nfproto ipv4 ip saddr @rg4-other accept" in ingress
    assert ingress[-1] == "drop"
    egress = inet[f"eg-{PORT}"].rules
    assert "meta nfproto ipv4 return" in egress
    assert egress[-1] == "drop"
    assert sets(made)["rg4-other"].elements == ("10.0.0.0/30", "10.0.0.7")
    assert sets(made)["rg6-other"].elements == ("2001:db8::1",)
    assert sets(made)["zones"].elements == ('"albr-100" : 100',)


def test_a_port_in_stateless_groups_passes_replies_only_by_its_rules() -> None:
    group = pb.SecurityGroup(id="g", stateful=False, rules=[rule(protocol="icmp")])
    made = nft.ruleset(
        ports=[nft.PortPolicy(port(security_group_ids=["g"]), 1)],
        groups={"g": group},
        members={},
        zones={},
    )
    inet = chains(made, "inet")
    for chain in (inet[f"ing-{PORT}"], inet[f"eg-{PORT}"]):
        assert not [line for line in chain.rules if line.startswith("ct ")], chain.rules
    assert inet[f"ing-{PORT}"].rules[-2:] == ("meta nfproto ipv4 meta l4proto 1 accept", "drop")
    assert inet[f"eg-{PORT}"].rules[-1] == "drop"  # no egress rule: nothing out, replies neither


def test_member_addresses_become_canonical_sorted_elements() -> None:
    found = ["10.0.0.10", "10.0.0.9", "10.0.0.0/30", "2001:DB8::1", "192.0.2.7/32", "10.0.0.9"]
    v4, v6 = nft._addresses(found)
    assert v4 == ["10.0.0.0/30", "10.0.0.9", "10.0.0.10", "192.0.2.7"]
    assert v6 == ["2001:db8::1"]


def test_a_port_without_port_security_is_not_in_the_ruleset() -> None:
    made = nft.ruleset(ports=[], groups={}, members={}, zones={})
    assert set(chains(made, "bridge")) == {"from_ports", "to_ports"}
    assert set(chains(made, "inet")) == {"zone_by_segment", "port_filter"}


def test_the_full_transaction_replaces_both_tables() -> None:
    text = nft.full(nft.ruleset(ports=[nft.PortPolicy(port(), 1)], groups={}, members={},
                                zones={}))  # fmt: skip
    assert text.startswith("table bridge alcor\ndelete table bridge alcor\ntable bridge alcor {\n")
    assert "table inet alcor\ndelete table inet alcor\ntable inet alcor {\n" in text
    assert "jump" in text
    assert "} }" not in text  # nft 1.0.6: a newline before every closing brace


def test_a_membership_change_touches_one_set() -> None:
    group = pb.SecurityGroup(id="g", rules=[rule(remote_group_id="g")])
    policies = [nft.PortPolicy(port(security_group_ids=["g"]), 1)]
    before = nft.ruleset(ports=policies, groups={"g": group}, members={"g": ["10.0.0.4"]},
                         zones={})  # fmt: skip
    after = nft.ruleset(ports=policies, groups={"g": group},
                        members={"g": ["10.0.0.4", "10.0.0.8"]}, zones={})  # fmt: skip
    assert nft.delta(before, after) == (
        "flush set inet alcor rg4-g\nadd element inet alcor rg4-g { 10.0.0.4, 10.0.0.8 }\n"
    )
    assert nft.delta(after, after) == ""


def test_an_address_groups_cidrs_are_its_sets_and_a_change_touches_only_them() -> None:
    group = pb.SecurityGroup(id="g", rules=[rule(remote_address_group_id="office")])
    policies = [nft.PortPolicy(port(security_group_ids=["g"]), 1)]
    before = nft.ruleset(ports=policies, groups={"g": group}, members={}, zones={},
                         address_groups={"office": ["192.0.2.0/24", "2001:db8::/64"]})  # fmt: skip
    assert sets(before)["ag4-office"].elements == ("192.0.2.0/24",)
    assert sets(before)["ag6-office"].elements == ("2001:db8::/64",)
    after = nft.ruleset(ports=policies, groups={"g": group}, members={}, zones={},
                        address_groups={"office": ["192.0.2.0/24", "198.51.100.7/32",
                                                   "2001:db8::/64"]})  # fmt: skip
    assert nft.delta(before, after) == (
        "flush set inet alcor ag4-office\n"
        "add element inet alcor ag4-office { 192.0.2.0/24, 198.51.100.7 }\n"
    )
    unknown = nft.ruleset(ports=policies, groups={"g": group}, members={}, zones={})
    assert sets(unknown)["ag4-office"].elements == ()  # not held yet: matches nothing


def test_a_port_coming_and_going_adds_and_deletes_its_chains() -> None:
    empty = nft.ruleset(ports=[], groups={}, members={}, zones={})
    one = nft.ruleset(ports=[nft.PortPolicy(port(), 3)], groups={}, members={}, zones={})
    added = nft.delta(empty, one).splitlines()
    assert f"add chain bridge alcor out-{PORT}" in added
    assert added.index(f"add chain inet alcor eg-{PORT}") < added.index(
        f"add element inet alcor egress {{ 0x00030000 : jump eg-{PORT} }}"
    )
    removed = nft.delta(one, empty).splitlines()
    assert removed.index("flush map inet alcor egress") < removed.index(
        f"delete chain inet alcor eg-{PORT}"
    )


def test_odd_ids_become_safe_names() -> None:
    assert nft.identifier("3f0d4c1e-aaaa") == "3f0d4c1e-aaaa"
    odd = nft.identifier("a b;c")
    assert odd.isalnum()
    assert len(odd) == 20
