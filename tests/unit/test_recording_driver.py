"""The recording driver: goal states in, a host's data plane out. Like faucet's fake switch, the
tests ask what the host would do (which neighbors, rules, interfaces, plugged ports), and every
scenario is also replayed, reordered and resumed from a snapshot to the same data plane."""

from __future__ import annotations

import random
from typing import Any

import pytest

from alcor.agent.drivers import recording
from alcor.agent.state import HostState
from alcor.model import records
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb
from tests.unit.test_goalstate import World, random_world, two_subnets_one_router, vpc


class Host:
    """One host as the agent runs it: goal states through ``HostState`` into the driver."""

    def __init__(self, host_id: str = "h1", **options: Any) -> None:
        self.state = HostState()
        self.driver = recording.RecordingDriver(host_id, **options)
        self.failures: list[Any] = []

    def apply(self, revision: int, *entries: pb.Entry, snapshot: bool = False) -> Host:
        goal = pb.GoalState(revision=revision, store_id="s", snapshot=snapshot, entries=entries)
        self.failures = self.driver.record(self.state.apply(goal))
        return self


def port(
    port_id: str,
    revision: int,
    *,
    network: str = "n1",
    ip: str = "10.0.0.5",
    groups: tuple[str, ...] = (),
    security: bool = True,
    device: str = "",
) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        port=pb.Port(
            id=port_id,
            network_id=network,
            mac_address="fa:16:3e:00:00:05",
            fixed_ips=[pb.FixedIp(subnet_id=network + "-s", ip_address=ip)],
            admin_state_up=True,
            port_security_enabled=security,
            security_group_ids=groups,
            device_id=device,
        ),
    )


def network(network_id: str, revision: int, vni: int = 100) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        network=pb.Network(id=network_id, network_type="vxlan", segmentation_id=vni, mtu=1450),
    )


def neighbor(port_id: str, revision: int, *, host: str, ip: str, network: str = "n1") -> pb.Entry:
    return pb.Entry(
        revision=revision,
        neighbor=pb.Neighbor(
            port_id=port_id,
            network_id=network,
            segmentation_id=100,
            mac_address="fa:16:3e:00:01:" + ip.rsplit(".", 1)[1].zfill(2)[-2:],
            ip_addresses=[ip],
            host_id=host,
            host_ip="192.0.2." + host[1:],
        ),
    )


def group(group_id: str, revision: int, *rules: pb.Rule) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        security_group=pb.SecurityGroup(id=group_id, stateful=True, rules=rules),
    )


def member(group_id: str, port_id: str, revision: int, *ips: str) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        member=pb.Member(security_group_id=group_id, port_id=port_id, ip_addresses=ips),
    )


# --- what a host holds -------------------------------------------------------------------------


def test_a_port_is_plugged_and_its_network_brings_a_segment_and_remote_neighbors() -> None:
    host = Host("h1").apply(
        1,
        network("n1", 1),
        port("p1", 1, ip="10.0.0.5"),
        neighbor("p1", 1, host="h1", ip="10.0.0.5"),
        neighbor("p2", 1, host="h2", ip="10.0.0.6"),
        neighbor("p3", 1, host="h3", ip="10.0.0.7"),
    )
    driver = host.driver
    assert host.failures == []
    assert driver.segments() == {"n1": 100}
    plugged = driver.endpoints()["p1"]
    assert (plugged.device, plugged.ip_addresses) == ("tapp1", ("10.0.0.5",))
    assert driver.neighbors("n1") == {
        recording.Neighbor(ip="10.0.0.6", mac="fa:16:3e:00:01:06", vni=100, host_ip="192.0.2.2"),
        recording.Neighbor(ip="10.0.0.7", mac="fa:16:3e:00:01:07", vni=100, host_ip="192.0.2.3"),
    }
    assert len(driver.neighbors("n1", remote_only=False)) == 3
    assert driver.dangling() == []
    assert driver.counts()["neighbors"] == 3
    assert driver.counts()["ports"] == 1


def test_rules_apply_per_port_with_remote_groups_resolved_to_addresses() -> None:
    ssh = pb.Rule(
        id="r1",
        direction="ingress",
        ethertype="IPv4",
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_group_id="web",
    )
    ping = pb.Rule(id="r2", direction="ingress", ethertype="IPv4", protocol="icmp")
    host = Host().apply(
        1,
        network("n1", 1),
        group("db", 1, ssh, ping),
        port("p1", 1, groups=("db",)),
        port("open", 1, ip="10.0.0.9", security=False),
        member("web", "w1", 1, "10.0.0.20"),
        member("web", "w2", 1, "10.0.0.21", "10.9.0.0/24"),
    )
    rules = host.driver.rules("p1")
    assert rules is not None
    by_id = {rule.rule_id: rule for rule in rules}
    assert by_id["r1"].remote_addresses == ("10.0.0.20", "10.0.0.21", "10.9.0.0/24")
    assert (by_id["r1"].port_range_min, by_id["r2"].port_range_min) == (22, None)
    assert host.driver.rules("open") is None  # port security off: nothing filters it
    host.apply(2, keys.removal("member:web/w2", 2))
    assert host.driver.address_set("web") == {"10.0.0.20"}
    rules = host.driver.rules("p1")
    assert rules is not None
    assert next(r for r in rules if r.rule_id == "r1").remote_addresses == ("10.0.0.20",)


def test_a_router_brings_its_interfaces_and_routes() -> None:
    world = World()
    two_subnets_one_router(world)
    world.change("r1", routes=[records.HostRoute(destination="10.9.0.0/16", nexthop="10.1.0.254")])
    host = Host("h0")
    host.apply(world.revision, *world.engine.snapshot("h0"), snapshot=True)
    assert {
        (i.router_id, i.ip_address, i.prefix_length) for i in host.driver.router_interfaces()
    } == {
        ("r1", "10.1.0.1", 16),
        ("r1", "10.2.0.1", 16),
    }
    assert host.driver.routes() == {recording.Route("r1", "10.9.0.0/16", "10.1.0.254")}
    assert {n.ip for n in host.driver.neighbors("n2")} == {"10.2.5.10"}  # across the router


# --- snapshots and removals --------------------------------------------------------------------


def test_a_snapshot_replaces_everything_the_host_held() -> None:
    host = Host().apply(
        1,
        network("n1", 1),
        port("p1", 1),
        neighbor("p2", 1, host="h2", ip="10.0.0.6"),
        network("n2", 1, vni=200),
    )
    host.apply(
        5,
        network("n1", 4),
        port("p1", 5, ip="10.0.0.50"),
        neighbor("p3", 3, host="h3", ip="10.0.0.7"),
        snapshot=True,
    )
    assert host.driver.segments() == {"n1": 100}
    assert host.driver.endpoints()["p1"].ip_addresses == ("10.0.0.50",)
    assert {n.ip for n in host.driver.neighbors("n1")} == {"10.0.0.7"}
    host.apply(2, neighbor("p2", 2, host="h2", ip="10.0.0.6"))  # older than the snapshot
    assert {n.ip for n in host.driver.neighbors("n1")} == {"10.0.0.7"}


def test_removing_a_port_removes_exactly_its_state_on_every_host() -> None:
    world = World()
    vpc(world, hosts=3, ports_per_host=2)
    world.group("web")
    world.group("db")
    world.rule("db-from-web", "db", remote_group="web")
    world.port("db1", "n1", "h0", "10.1.0.50", groups=("db",))
    hosts = {name: Host(name) for name in ("h0", "h1", "h2")}
    for name, host in hosts.items():
        host.apply(world.revision, *world.engine.snapshot(name), snapshot=True)
    before = {name: host.driver.model() for name, host in hosts.items()}
    for name, entries in world.port("w1", "n1", "h1", "10.1.1.50", groups=("web",)).items():
        hosts[name].apply(world.revision, *entries)
    assert "10.1.1.50" in hosts["h0"].driver.address_set("web")
    assert "10.1.1.50" in {n.ip for n in hosts["h2"].driver.neighbors("n1")}
    assert "w1" in hosts["h1"].driver.endpoints()
    for name, entries in world.delete("w1").items():
        hosts[name].apply(world.revision, *entries)
    assert {name: host.driver.model() for name, host in hosts.items()} == before


# --- failures ----------------------------------------------------------------------------------


def test_ports_matching_the_failure_pattern_fail_and_are_not_plugged() -> None:
    host = Host(fail_ports="bad-*").apply(
        1, network("n1", 1), port("p1", 1), port("p2", 1, device="bad-vm")
    )
    assert [(f.kind, f.id) for f in host.failures] == [("port", "p2")]
    assert "bad-*" in host.failures[0].message
    assert set(host.driver.endpoints()) == {"p1"}
    assert host.driver.failed() == {"p2": host.failures[0].message}
    assert host.driver.counts()["failed_ports"] == 1
    host.apply(2, keys.removal("port:p2", 2))
    assert host.driver.failed() == {}


def test_a_port_failed_by_the_api_fails_until_healed() -> None:
    host = Host()
    host.driver.fail("p1", "no such device")
    host.apply(1, network("n1", 1), port("p1", 1))
    assert [(f.id, f.message) for f in host.failures] == [("p1", "no such device")]
    host.driver.heal("p1")
    host.apply(2, port("p1", 2, ip="10.0.0.6"))
    assert host.failures == []
    assert set(host.driver.endpoints()) == {"p1"}
    assert host.driver.failed() == {}


# --- however goal states arrive ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_replayed_reordered_or_snapshotted_goal_states_program_the_same_data_plane(
    seed: int,
) -> None:
    world = random_world(seed)
    goals = [
        (name, revision, entries)
        for revision, deltas in world.log
        for name, entries in deltas.items()
    ]
    rng = random.Random(seed)
    in_order: dict[str, Host] = {}
    shuffled: dict[str, Host] = {}
    for name, revision, entries in goals:
        in_order.setdefault(name, Host(name)).apply(revision, *entries)
    for name, revision, entries in rng.sample(goals, len(goals)) + goals[: len(goals) // 3]:
        shuffled.setdefault(name, Host(name)).apply(revision, *entries)
    for name in in_order:
        fresh = Host(name).apply(world.revision, *world.engine.snapshot(name), snapshot=True)
        assert in_order[name].driver.model() == fresh.driver.model(), name
        assert shuffled[name].driver.model() == fresh.driver.model(), name
        assert fresh.driver.dangling() == [], name
        before = fresh.driver.model()
        fresh.apply(world.revision, *world.engine.snapshot(name))  # replayed: nothing changes
        assert fresh.driver.model() == before
