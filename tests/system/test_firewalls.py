"""Firewall groups (``fwaas_v2``) proven with packets: a group on one subnet's router interface
filters what enters that subnet from another, on every host that routes for it (each endpoint's
own host: distributed routing), while the endpoints' security groups let everything in. A
rejected port is refused at once, a denied one never answers; inserting and removing rules in
the policy changes the traffic."""

from __future__ import annotations

from typing import Any

import pytest

from alcor.lab import traffic
from tests.system.lab import Lab, unusable
from tests.system.test_linux_dataplane import OPEN

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
]


def tcp_rule(lab: Lab, port: int, action: str) -> str:
    body = {"firewall_rule": {"protocol": "tcp", "destination_port": str(port), "action": action}}
    return str(lab.call("POST", "/fwaas/firewall_rules", body)["firewall_rule"]["id"])


def interface_on(lab: Lab, router: str, subnet: str) -> str:
    ports = lab.call("GET", f"/ports?device_id={router}&device_owner=network:router_interface")
    return next(str(p["id"]) for p in ports["ports"] if p["fixed_ips"][0]["subnet_id"] == subnet)


def changed(lab: Lab, method: str, path: str, body: Any) -> Any:
    """A change, once every host holds it."""
    since = lab.revision()
    answer = lab.call(method, path, body)
    lab.converge(since)
    return answer


def test_a_firewall_group_filters_what_enters_a_subnet_on_every_host(lab: Lab) -> None:
    h1, h2 = lab.add_hosts("h1", "h2")
    a = lab.subnet(lab.network(), "10.0.1.0/24")
    b = lab.subnet(lab.network(), "10.0.2.0/24")
    router = lab.router(a, b)
    group = lab.group(*OPEN)  # the security groups let everything in
    a1 = h1.endpoint(lab.port(a, "10.0.1.11", h1, groups=[group]))
    a2 = h2.endpoint(lab.port(a, "10.0.1.12", h2, groups=[group]))
    b1 = h2.endpoint(lab.port(b, "10.0.2.11", h2, groups=[group]))
    for number in (5001, 5002, 5003):
        lab.serve(b1, number, f"b1-{number}")
    lab.serve(a1, 5001, "a1-5001")
    assert lab.connect(a1, "10.0.2.11", 5001) == "b1-5001"

    icmp = lab.call(
        "POST", "/fwaas/firewall_rules", {"firewall_rule": {"protocol": "icmp", "action": "allow"}}
    )
    reject, allow = tcp_rule(lab, 5002, "reject"), tcp_rule(lab, 5003, "allow")
    policy = lab.call(
        "POST",
        "/fwaas/firewall_policies",
        {"firewall_policy": {"firewall_rules": [icmp["firewall_rule"]["id"], reject, allow]}},
    )["firewall_policy"]["id"]
    body = {
        "firewall_group": {
            "ports": [interface_on(lab, router, b)],
            "ingress_firewall_policy_id": policy,
        }
    }
    made = changed(lab, "POST", "/fwaas/firewall_groups", body)["firewall_group"]
    assert made["status"] == "ACTIVE"

    # from either host (each routes its own endpoints' packets): 5001 is denied (nothing
    # answers), 5002 rejected (refused at once), 5003 allowed, and pings allowed
    for source in (a1, a2):
        assert traffic.refusal(source, "10.0.2.11", 5001) == "timeout"
        assert traffic.refusal(source, "10.0.2.11", 5002) == "refused"
        assert lab.connect(source, "10.0.2.11", 5003) == "b1-5003"
        assert lab.ping(source, "10.0.2.11")
    # what leaves the subnet is not filtered (no egress policy), and its replies come back in
    assert lab.connect(b1, "10.0.1.11", 5001) == "a1-5001"

    # a rule inserted first allows 5001; the reject removed, 5002 falls to the final deny
    path = f"/fwaas/firewall_policies/{policy}"
    changed(lab, "PUT", f"{path}/insert_rule", {"firewall_rule_id": tcp_rule(lab, 5001, "allow")})
    changed(lab, "PUT", f"{path}/remove_rule", {"firewall_rule_id": reject})
    for source in (a1, a2):
        assert lab.connect(source, "10.0.2.11", 5001) == "b1-5001"
        assert traffic.refusal(source, "10.0.2.11", 5002) == "timeout"

    # the group administratively down lets nothing in; without the interface, everything again
    group_path = f"/fwaas/firewall_groups/{made['id']}"
    changed(lab, "PUT", group_path, {"firewall_group": {"admin_state_up": False}})
    assert not lab.ping(a1, "10.0.2.11")
    changed(lab, "PUT", group_path, {"firewall_group": {"ports": []}})
    assert lab.connect(a1, "10.0.2.11", 5002) == "b1-5002"
    assert lab.ping(a2, "10.0.2.11")


def test_a_firewall_group_on_a_vm_port_filters_that_port_only(lab: Lab) -> None:
    (h1,) = lab.add_hosts("h1")
    a = lab.subnet(lab.network(), "10.0.1.0/24")
    group = lab.group(*OPEN)
    filtered_port = lab.port(a, "10.0.1.11", h1, groups=[group])
    filtered = h1.endpoint(filtered_port)
    other = h1.endpoint(lab.port(a, "10.0.1.12", h1, groups=[group]))
    client = h1.endpoint(lab.port(a, "10.0.1.13", h1, groups=[group]))
    for ns in (filtered, other):
        lab.serve(ns, 5001, "5001")
        lab.serve(ns, 5002, "5002")
    icmp = {"firewall_rule": {"protocol": "icmp", "action": "allow"}}
    rules = [
        lab.call("POST", "/fwaas/firewall_rules", icmp)["firewall_rule"]["id"],
        tcp_rule(lab, 5002, "allow"),
    ]
    policy = lab.call(
        "POST", "/fwaas/firewall_policies", {"firewall_policy": {"firewall_rules": rules}}
    )["firewall_policy"]["id"]
    body = {"firewall_group": {"ports": [filtered_port], "ingress_firewall_policy_id": policy}}
    changed(lab, "POST", "/fwaas/firewall_groups", body)

    assert lab.connect(client, "10.0.1.11", 5002) == "5002"
    assert traffic.refusal(client, "10.0.1.11", 5001) == "timeout"
    assert lab.ping(client, "10.0.1.11")
    # the port's neighbor on the same network is not filtered, and the port still sends
    assert lab.connect(client, "10.0.1.12", 5001) == "5001"
    assert lab.connect(filtered, "10.0.1.12", 5002) == "5002"
    # a rule inserted first denies what was allowed
    path = f"/fwaas/firewall_policies/{policy}/insert_rule"
    changed(lab, "PUT", path, {"firewall_rule_id": tcp_rule(lab, 5002, "deny")})
    assert traffic.refusal(client, "10.0.1.11", 5002) == "timeout"
