"""A network and a security group one project shares with another by RBAC policies, proven
with packets: the other project's endpoint on the shared network, in the shared group, reaches
the owner's endpoint on another host and is reached by it (the goal state is per network and
per group, whoever owns the port). Its own lab, removed even when the test fails."""

from __future__ import annotations

import uuid

import pytest

from tests.system.lab import Lab, unusable

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
]


def test_a_port_of_the_project_a_network_is_shared_with_reaches_the_owners(lab: Lab) -> None:
    h1, h2 = lab.add_hosts("h1", "h2")
    owner, target = uuid.uuid4().hex, uuid.uuid4().hex
    net = lab.network(project=owner)
    sub = lab.subnet(net, "10.0.7.0/24", project=owner)
    group = lab.group({"protocol": None}, project=owner)  # anything in
    for object_type, object_id in (("network", net), ("security_group", group)):
        body = {
            "rbac_policy": {
                "object_type": object_type,
                "object_id": object_id,
                "action": "access_as_shared",
                "target_tenant": target,
            }
        }
        lab.call("POST", "/rbac-policies", body, project=owner)
    mine = lab.port(sub, "10.0.7.10", h1, groups=[group], project=owner)
    theirs = lab.port(sub, "10.0.7.20", h2, groups=[group], project=target)
    assert lab.call("GET", f"/ports/{theirs}")["port"]["project_id"] == target
    lab.serve(h1.endpoint(mine), 7000, "owner")
    assert lab.ping(h2.endpoint(theirs), "10.0.7.10")
    assert lab.ping(h1.endpoint(mine), "10.0.7.20")
    assert lab.connect(h2.endpoint(theirs), "10.0.7.10", 7000) == "owner"
