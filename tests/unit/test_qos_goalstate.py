"""QoS in the goal state: a port's host holds the policy the port enforces (its own, else its
network's, as the port's record carries it), and follows its rules, its network's policy and
the port's own changes; hosts without such a port hold nothing of it."""

from __future__ import annotations

from alcor.model import records
from tests.unit.test_goalstate import NOW, World, assert_converged, keys_of, vpc


def policy(world: World, name: str, *rules: records.QosRule) -> None:
    world.put(
        records.QosPolicy(
            id=name, project_id="p", created_at=NOW, updated_at=NOW, rules=list(rules)
        )
    )


def limit(rule_id: str, kbps: int, direction: str = "egress", burst: int = 0) -> records.QosRule:
    return records.QosRule(
        id=rule_id, type="bandwidth_limit", max_kbps=kbps, max_burst_kbps=burst, direction=direction
    )


def test_a_port_s_host_holds_its_policy_and_follows_its_rules() -> None:
    world = World()
    vpc(world, hosts=0, ports_per_host=0)
    policy(world, "gold", limit("out", 10000), limit("in", 20000, "ingress", burst=500))
    world.port("a", "n1", "h1", "10.1.1.5")
    world.port("b", "n1", "h2", "10.1.1.6")
    deltas = world.change("a", qos_policy_id="gold")
    assert keys_of(deltas["h1"]) == {"port:a", "qos_policy:gold"}
    assert "h2" not in deltas
    port = world.hosts["h1"].get("port", "a")
    assert port is not None
    assert port.port.qos_policy_id == "gold"
    held = world.hosts["h1"].get("qos_policy", "gold")
    assert held is not None
    rules = held.qos_policy
    assert (rules.egress_kbps, rules.egress_burst_kb) == (10000, 8000)  # Neutron's 80% default
    assert (rules.ingress_kbps, rules.ingress_burst_kb) == (20000, 500)
    assert not rules.marks
    mark = records.QosRule(id="m", type="dscp_marking", dscp_mark=0)
    deltas = world.change("gold", rules=[limit("out", 5000), mark])
    assert set(deltas) == {"h1"}
    rules = world.hosts["h1"].get("qos_policy", "gold").qos_policy  # type: ignore[union-attr]
    assert (rules.egress_kbps, rules.ingress_kbps, rules.marks, rules.dscp_mark) == (
        5000,
        0,
        True,
        0,
    )
    world.change("a", qos_policy_id=None)
    assert world.hosts["h1"].get("qos_policy", "gold") is None
    assert_converged(world)


def test_a_port_enforces_its_network_s_policy_unless_it_has_its_own() -> None:
    world = World()
    vpc(world, hosts=0, ports_per_host=0)
    policy(world, "net", limit("l", 1000))
    policy(world, "own", limit("l2", 2000))
    world.port("a", "n1", "h1", "10.1.1.5")
    world.change("a", qos_network_policy_id="net")
    port = world.hosts["h1"].get("port", "a")
    assert port is not None
    assert port.port.qos_policy_id == "net"
    world.change("a", qos_policy_id="own")
    assert world.hosts["h1"].get("port", "a").port.qos_policy_id == "own"  # type: ignore[union-attr]
    assert world.hosts["h1"].get("qos_policy", "net") is None
    assert world.hosts["h1"].get("qos_policy", "own") is not None
    world.delete("a")
    assert world.hosts["h1"].get("qos_policy", "own") is None
    assert_converged(world)
