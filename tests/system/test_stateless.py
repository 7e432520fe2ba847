"""Stateless security groups proven with packets: a port in a stateless group gets replies only
when a rule lets them in, where a stateful group lets them in by their connection."""

from __future__ import annotations

import pytest

from tests.system.lab import Lab, unusable
from tests.system.test_linux_dataplane import OPEN

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
]


def test_a_stateless_group_lets_replies_in_only_by_its_rules(lab: Lab) -> None:
    h1, h2 = lab.add_hosts("h1", "h2")
    network = lab.network()
    subnet = lab.subnet(network, "10.0.5.0/24")
    open_group = lab.group(*OPEN)
    body = {"security_group": {"name": f"{lab.tag}-stateless", "stateful": False}}
    stateless = lab.call("POST", "/security-groups", body)["security_group"]["id"]
    tracked = lab.group()  # the same rules (egress only), stateful
    target = lab.port(subnet, "10.0.5.10", h2, groups=[open_group])
    untracked_port = lab.port(subnet, "10.0.5.11", h1, groups=[stateless])
    tracked_port = lab.port(subnet, "10.0.5.12", h1, groups=[tracked])
    target_ns = h2.endpoint(target)

    # both may send (their groups' egress rules); only the stateful one gets the replies
    answered = lab.pings([(h1.endpoint(tracked_port), "10.0.5.10")])
    assert all(answered.values()), answered
    assert not lab.ping(h1.endpoint(untracked_port), "10.0.5.10", wait=0.5)
    # nor does anything else come in: no ingress rule yet
    assert not lab.ping(target_ns, "10.0.5.11", wait=0.5)
    lab.rule(stateless, protocol="icmp")
    assert lab.ping(h1.endpoint(untracked_port), "10.0.5.10", count=2)
    assert lab.ping(target_ns, "10.0.5.11", count=2)  # and now it answers pings too
