"""Remote address groups proven with packets: a rule naming an address group admits traffic from
the group's addresses only, and follows the group as addresses are added and removed (the
goal state carries the group to the hosts holding such rules; the agent's nftables sets match
it). Each test makes its own lab (names with a random tag) and removes it, even when it fails."""

from __future__ import annotations

import pytest

from tests.system.lab import Lab, unusable

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
]


def test_a_rule_naming_an_address_group_admits_its_addresses_and_follows_its_changes(
    lab: Lab,
) -> None:
    h1, h2 = lab.add_hosts("h1", "h2")
    network = lab.network()
    subnet = lab.subnet(network, "10.0.7.0/24")
    body = {"address_group": {"name": f"{lab.tag}-office", "addresses": ["10.0.7.20/32"]}}
    office = lab.call("POST", "/address-groups", body)["address_group"]["id"]
    guarded = lab.group()  # nothing in, everything out
    client = lab.group()
    lab.rule(guarded, protocol="tcp", port_range_min=8080, port_range_max=8080,
             remote_address_group_id=office)  # fmt: skip
    server = lab.port(subnet, "10.0.7.10", h1, groups=[guarded])
    inside = lab.port(subnet, "10.0.7.20", h2, groups=[client])  # in the group
    outside = lab.port(subnet, "10.0.7.21", h2, groups=[client])  # not yet
    local = lab.port(subnet, "10.0.7.22", h1, groups=[client])  # not, on the server's host
    s_ns, in_ns, out_ns = h1.endpoint(server), h2.endpoint(inside), h2.endpoint(outside)
    local_ns = h1.endpoint(local)
    lab.serve(s_ns, 8080, "server-8080")
    lab.serve(s_ns, 9090, "server-9090")

    # an address of the group connects (replies come back by state); others are dropped, and so
    # is another port from the group's address
    assert lab.connect(in_ns, "10.0.7.10", 8080) == "server-8080"
    assert lab.connect(out_ns, "10.0.7.10", 8080) == ""
    assert lab.connect(local_ns, "10.0.7.10", 8080) == ""
    assert lab.connect(in_ns, "10.0.7.10", 9090) == ""

    # adding an address to the group admits it, on every host holding the rule
    lab.call("PUT", f"/address-groups/{office}/add_addresses", {"addresses": ["10.0.7.21"]})
    assert lab.connect(out_ns, "10.0.7.10", 8080) == "server-8080"
    assert lab.connect(local_ns, "10.0.7.10", 8080) == ""

    # a CIDR admits its whole range; removing addresses takes them out again
    lab.call("PUT", f"/address-groups/{office}/add_addresses", {"addresses": ["10.0.7.22/31"]})
    assert lab.connect(local_ns, "10.0.7.10", 8080) == "server-8080"
    removed = {"addresses": ["10.0.7.20/32", "10.0.7.22/31"]}
    lab.call("PUT", f"/address-groups/{office}/remove_addresses", removed)
    assert lab.connect(in_ns, "10.0.7.10", 8080) == ""
    assert lab.connect(local_ns, "10.0.7.10", 8080) == ""
    assert lab.connect(out_ns, "10.0.7.10", 8080) == "server-8080"
