"""A firewall group's nftables table in a router's namespace, pure: the rules in order with
their verdicts, a chain per direction with a policy, and a group down dropping everything."""

from __future__ import annotations

from alcor.agent.drivers.linux import firewalls
from alcor.v1 import southbound_pb2 as pb


def rule(**fields: object) -> pb.FirewallRule:
    return pb.FirewallRule(**{"ip_version": 4, "action": "deny", **fields})  # type: ignore[arg-type]


def test_rules_match_what_they_name_and_say_what_neutron_fwaas_says() -> None:
    assert firewalls.rule_line(rule()) == "meta nfproto ipv4 drop"
    assert (
        firewalls.rule_line(
            rule(
                protocol="tcp",
                source_ip_address="10.0.1.7/24",
                destination_port_min=80,
                destination_port_max=88,
                action="reject",
            )
        )
        == "meta nfproto ipv4 ip saddr 10.0.1.0/24 meta l4proto 6 th dport 80-88 "
        "reject with icmpx type port-unreachable"
    )
    six = rule(ip_version=6, protocol="icmp", destination_ip_address="2001:db8::1", action="allow")
    assert firewalls.rule_line(six) == (
        "meta nfproto ipv6 ip6 daddr 2001:db8::1/128 meta l4proto 58 return"
    )


def test_a_chain_per_direction_with_a_policy_and_a_final_drop() -> None:
    group = pb.FirewallGroup(
        id="g/r", admin_state_up=True, filters_ingress=True, ingress_rules=[rule(action="allow")]
    )
    text = firewalls.table_text(group, ["qr-b", "qr-a"])
    assert 'oifname { "qr-a", "qr-b" } jump ingress' in text
    assert "iifname" not in text, "no egress policy: what leaves the subnets is not filtered"
    chain = text.split("chain ingress {")[1]
    lines = [line.strip() for line in chain.splitlines() if line.strip() not in ("", "}")]
    assert lines == [*firewalls.KNOWN, "meta nfproto ipv4 return", "drop"]


def test_a_group_down_drops_both_ways_and_a_router_without_its_interfaces_gets_no_table() -> None:
    group = pb.FirewallGroup(id="g/r", admin_state_up=False, interface_port_ids=["p1"])
    text = firewalls.table_text(group, ["qr-p1"])
    assert 'oifname { "qr-p1" } drop' in text
    assert 'iifname { "qr-p1" } drop' in text
    router = pb.Router(id="r", interfaces=[pb.RouterInterface(port_id="p2")])
    assert firewalls.objects(group, router, "ns") == []
