"""Port forwardings, pure: the goal state carries them to the gateway host of their floating
IP's router only (and follows it when it moves), and the gateway host's DNAT table maps the
external ports to the internal ones as the forwarding's ranges say."""

from __future__ import annotations

import random

import pytest

from alcor.agent.drivers.linux import forwardings
from alcor.agent.state import HostState
from alcor.goalstate import checkpoints
from alcor.goalstate.engine import Engine
from alcor.model import records
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb
from tests.unit.test_goalstate import (
    NOW,
    World,
    assert_converged,
    assert_same_engine,
    compacted,
    contents,
    gatewayed,
    keys_of,
    random_world,
)


def forwarding(
    world: World, name: str, *, external: tuple[int, int] = (2222, 2222), router: str = "r1"
) -> dict[str, list[pb.Entry]]:
    return world.put(
        records.PortForwarding(
            id=name,
            project_id="p",
            created_at=NOW,
            updated_at=NOW,
            floatingip_id="f1",
            floating_ip_address="203.0.113.20",
            router_id=router,
            protocol="tcp",
            internal_port_id="n2-h5-p0",
            internal_ip_address="10.2.5.10",
            external_port_start=external[0],
            external_port_end=external[1],
            internal_port_start=22,
            internal_port_end=22,
        )
    )


def test_a_forwarding_reaches_only_the_gateway_host_and_follows_it() -> None:
    world = World()
    gatewayed(world, "g1")
    world.floating_ip("f1", "203.0.113.20")  # with forwardings: no port, nobody holds it
    deltas = forwarding(world, "pf1")
    assert {host: keys_of(entries) for host, entries in deltas.items()} == {
        "g1": {"port_forwarding:pf1"}
    }
    held = world.hosts["g1"].get("port_forwarding", "pf1")
    assert held is not None
    assert (held.port_forwarding.internal_ip_address, held.port_forwarding.router_id) == (
        "10.2.5.10",
        "r1",
    )
    deltas = forwarding(world, "pf1", external=(2000, 2022))  # changed: one entry, same host
    assert {host: keys_of(entries) for host, entries in deltas.items()} == {
        "g1": {"port_forwarding:pf1"}
    }
    world.change("g1", state="down")
    world.node("g2", physnets=("public",))
    assert world.hosts["g2"].get("port_forwarding", "pf1") is not None
    world.delete("pf1")
    assert world.hosts["g2"].get("port_forwarding", "pf1") is None
    assert_converged(world)


def forwarded_world(seed: int) -> World:
    """A random world (``test_goalstate.random_world``) whose router's floating IP then gets
    port forwardings made, changed and deleted while the gateway comes and goes and its hosts
    go down and up."""
    world = random_world(seed, steps=80)
    rng = random.Random(seed)
    made: list[str] = []
    for step in range(60):
        action = rng.random()
        if action < 0.4 or not made:
            made.append(f"pf{step}")
            forwarding(world, made[-1], external=(step + 1, step + 1), router="r")
        elif action < 0.6:
            forwarding(world, rng.choice(made), external=(step + 1, step + 3), router="r")
        elif action < 0.75:
            world.delete(made.pop(rng.randrange(len(made))))
        elif action < 0.85:
            if "gw-r" in world.records:
                world.delete("gw-r")
            else:
                world.gateway("r", "ext", "203.0.113.10")
        else:
            node = world.records[f"g{rng.randrange(3)}"]
            assert isinstance(node, records.Node)
            world.change(node.id, state="down" if node.state == "up" else "up")
    return world


@pytest.mark.parametrize("seed", range(6))
def test_forwardings_converge_resume_and_survive_compaction_and_checkpoints(seed: int) -> None:
    world = forwarded_world(seed)
    assert_converged(world)
    held = {
        host
        for host in world.engine.known_hosts()
        if any(key.startswith("port_forwarding:") for key in world.should_hold(host))
    }
    assert len(held) <= 1  # one gateway host at a time, or none
    floor = world.revision // 2
    engine = Engine()
    for revision, _, operation, record in compacted(world.changes, floor):
        engine.apply(revision, operation, record)
    engine.compact(floor)
    for host in world.engine.known_hosts():
        assert contents({keys.entry_key(x): x for x in engine.snapshot(host)}) == contents(
            world.should_hold(host)
        ), host
        state = HostState()
        for revision, deltas in world.log:
            if revision <= floor and host in deltas:
                state.apply(pb.GoalState(revision=revision, entries=deltas[host]))
        missing = engine.delta_since(host, floor)
        assert missing is not None
        state.apply(pb.GoalState(revision=world.revision, entries=missing))
        assert contents(state.live()) == contents(world.should_hold(host)), host
    live = Engine()
    for revision, _, operation, record in world.changes[:floor]:
        live.apply(revision, operation, record)
    restored = checkpoints.restore(checkpoints.encoded(checkpoints.capture(live), size=7))
    for (revision, _, operation, record), (_, deltas) in zip(
        world.changes[floor:], world.log[floor:], strict=True
    ):
        assert restored.apply(revision, operation, record) == deltas, revision
    assert_same_engine(restored, world.engine, seed)


def message(external: tuple[int, int], internal: tuple[int, int]) -> pb.PortForwarding:
    return pb.PortForwarding(
        id="0a-1b",
        floating_ip_address="203.0.113.20",
        protocol="udp",
        internal_ip_address="10.0.1.5",
        external_port_start=external[0],
        external_port_end=external[1],
        internal_port_start=internal[0],
        internal_port_end=internal[1],
    )


@pytest.mark.parametrize(
    ("external", "internal", "match", "target"),
    [
        ((80, 80), (80, 80), "udp dport 80", "10.0.1.5"),
        ((2222, 2222), (22, 22), "udp dport 2222", "10.0.1.5:22"),
        ((30, 35), (30, 30), "udp dport 30-35", "10.0.1.5:30"),
        ((200, 210), (200, 210), "udp dport 200-210", "10.0.1.5"),
        ((200, 202), (100, 102), "udp dport 200-202", "10.0.1.5 : udp dport map "
         "{ 200 : 100, 201 : 101, 202 : 102 }"),
    ],
)  # fmt: skip
def test_the_dnat_table_maps_external_ports_to_internal_ones(
    external: tuple[int, int], internal: tuple[int, int], match: str, target: str
) -> None:
    text = forwardings.dnat_table(message(external, internal), "qg-1")
    rule = f'iifname "qg-1" ip daddr 203.0.113.20 {match} dnat ip to {target}'
    assert rule in text.splitlines()[3]
    assert text.startswith("table ip alcor_pf_0a_1b {")
