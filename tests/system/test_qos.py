"""QoS proven with packets (iperf3 between endpoints of one host): a port's bandwidth limits
hold what its endpoint sends (egress) and receives (ingress) to within 10% of the limit while
traffic between other endpoints is not held back; a network's policy reaches the ports that
have none of their own; a DSCP marking rule marks what the endpoint sends, as counted on
arrival in the receiver's namespace, and nothing else; a policy taken away frees the port."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from alcor.lab import measuring
from tests.system.lab import Lab, unusable
from tests.system.test_linux_dataplane import OPEN

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
    pytest.mark.skipif(not shutil.which("iperf3"), reason="iperf3 is not installed (.ci/run)"),
]

EGRESS_KBPS = 20000
INGRESS_KBPS = 10000
MARK = 26


def within(measured: float, kbps: int) -> bool:
    return abs(measured - kbps / 1000) <= 0.1 * kbps / 1000


def policy(lab: Lab, *rules: tuple[str, dict[str, Any]]) -> str:
    made = lab.call("POST", "/qos/policies", {"policy": {"name": f"{lab.tag}-qos"}})
    policy_id: str = made["policy"]["id"]
    for kind, attributes in rules:
        lab.call("POST", f"/qos/policies/{policy_id}/{kind}_rules", {f"{kind}_rule": attributes})
    return policy_id


def test_bandwidth_limits_and_dscp_marks_hold_with_packets(lab: Lab) -> None:
    (host,) = lab.add_hosts("h1")
    network = lab.network()
    subnet = lab.subnet(network, "10.0.1.0/24")
    group = lab.group(*OPEN)
    ports = {name: lab.port(subnet, f"10.0.1.1{n}", host, groups=[group]) for n, name in
             enumerate(("a", "b", "c"), start=1)}  # fmt: skip
    a, b, c = (host.endpoint(ports[name]) for name in ("a", "b", "c"))
    free = measuring.throughput(a, b, "10.0.1.12", seconds=2)
    assert free > 3 * EGRESS_KBPS / 1000, free  # far above the limits to come

    limits = policy(
        lab,
        ("bandwidth_limit", {"max_kbps": EGRESS_KBPS, "max_burst_kbps": EGRESS_KBPS // 10}),
        ("bandwidth_limit", {"max_kbps": INGRESS_KBPS, "max_burst_kbps": INGRESS_KBPS // 10,
                             "direction": "ingress"}),
    )  # fmt: skip
    since = lab.revision()
    lab.call("PUT", f"/ports/{ports['a']}", {"port": {"qos_policy_id": limits}})
    lab.converge(since)
    sent = measuring.throughput(a, b, "10.0.1.12", seconds=2)
    assert within(sent, EGRESS_KBPS), sent
    received = measuring.throughput(a, b, "10.0.1.12", seconds=2, reverse=True)
    assert within(received, INGRESS_KBPS), received
    others = measuring.throughput(b, c, "10.0.1.13", seconds=2)
    assert others > 3 * EGRESS_KBPS / 1000, others  # b and c are not held back

    # the network's policy marks what its ports send; a's own policy (no mark) still rules a
    marking = policy(lab, ("dscp_marking", {"dscp_mark": MARK}))
    since = lab.revision()
    lab.call("PUT", f"/networks/{network}", {"network": {"qos_policy_id": marking}})
    lab.converge(since)
    for ns in (a, c):
        measuring.count_dscp(ns, MARK)
    lab.serve(a, 8080, "a")
    lab.serve(c, 8080, "c")
    assert lab.connect(c, "10.0.1.11", 8080) == "a"
    assert measuring.dscp_counted(a) > 0  # c's packets arrive marked
    assert measuring.dscp_counted(c) == 0  # a's do not (TCP does not reflect the mark)

    # a's own policy taken away: a follows its network's, marked and no longer limited
    since = lab.revision()
    lab.call("PUT", f"/ports/{ports['a']}", {"port": {"qos_policy_id": None}})
    lab.converge(since)
    assert lab.connect(a, "10.0.1.13", 8080) == "c"
    assert measuring.dscp_counted(c) > 0
    freed = measuring.throughput(a, b, "10.0.1.12", seconds=2)
    assert freed > 3 * EGRESS_KBPS / 1000, freed
