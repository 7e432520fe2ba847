"""Firewall groups in the goal state, pure: a group on a router interface reaches every host
holding the router (distributed routing), one on a VM port that port's host only; a rule
inserted into a policy is one entry to each of them; the entries follow ports and groups."""

from __future__ import annotations

import random

import pytest

from alcor.goalstate import checkpoints
from alcor.goalstate.engine import Engine
from alcor.model import records
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb
from tests.unit.test_goalstate import (
    NOW,
    World,
    assert_converged,
    compacted,
    contents,
    keys_of,
    two_subnets_one_router,
)


def rule(world: World, name: str, *, action: str = "deny", enabled: bool = True) -> None:
    world.put(
        records.FirewallRule(
            id=name,
            project_id="p",
            created_at=NOW,
            updated_at=NOW,
            protocol="tcp",
            destination_port_min=22,
            destination_port_max=22,
            action=action,
            enabled=enabled,
        )
    )


def policy(world: World, name: str, rules: list[str]) -> dict[str, list[pb.Entry]]:
    return world.put(
        records.FirewallPolicy(
            id=name, project_id="p", created_at=NOW, updated_at=NOW, firewall_rules=rules
        )
    )


def group(world: World, name: str, ports: list[str], **more: object) -> dict[str, list[pb.Entry]]:
    return world.put(
        records.FirewallGroup(
            id=name,
            project_id="p",
            created_at=NOW,
            updated_at=NOW,
            ports=ports,
            ingress_firewall_policy_id="in",
            **more,  # type: ignore[arg-type]
        )
    )


def held_group(world: World, host: str, entry_id: str) -> pb.FirewallGroup | None:
    entry = world.hosts[host].get("firewall_group", entry_id)
    return entry.firewall_group if entry is not None else None


def test_a_group_on_a_router_interface_reaches_every_host_of_the_router() -> None:
    world = World()
    two_subnets_one_router(world)
    rule(world, "deny-ssh")
    rule(world, "off", enabled=False)
    rule(world, "allow", action="allow")
    policy(world, "in", ["deny-ssh", "off"])
    deltas = group(world, "g", ["r1-if2"])
    assert {host: keys_of(entries) for host, entries in deltas.items()} == {
        host: {"firewall_group:g/r1"} for host in ("h0", "h1", "h5")
    }
    held = held_group(world, "h0", "g/r1")
    assert held is not None
    assert (list(held.interface_port_ids), held.filters_ingress, held.filters_egress) == (
        ["r1-if2"],
        True,
        False,
    )
    assert [r.id for r in held.ingress_rules] == ["deny-ssh"], "a disabled rule is left out"
    # inserting a rule is one entry to each holder of the router
    deltas = policy(world, "in", ["allow", "deny-ssh", "off"])
    assert {host: len(entries) for host, entries in deltas.items()} == {"h0": 1, "h1": 1, "h5": 1}
    held = held_group(world, "h5", "g/r1")
    assert held is not None
    assert [r.id for r in held.ingress_rules] == ["allow", "deny-ssh"]
    assert_converged(world)
    # the interface leaves the group: every host drops the entry
    deltas = world.change("g", ports=[])
    assert all(held_group(world, host, "g/r1") is None for host in ("h0", "h1", "h5"))
    assert set(deltas) == {"h0", "h1", "h5"}
    assert_converged(world)


def test_a_group_on_a_vm_port_reaches_its_host_and_follows_it() -> None:
    world = World()
    two_subnets_one_router(world)
    rule(world, "deny-ssh", action="reject")
    policy(world, "in", ["deny-ssh"])
    deltas = group(world, "g", ["n1-h0-p0"], admin_state_up=False)
    assert {host: keys_of(entries) for host, entries in deltas.items()} == {
        "h0": {"firewall_group:g/n1-h0-p0"}
    }
    held = held_group(world, "h0", "g/n1-h0-p0")
    assert held is not None
    assert (held.port_id, held.admin_state_up, held.ingress_rules[0].action) == (
        "n1-h0-p0",
        False,
        "reject",
    )
    world.change("n1-h0-p0", binding_host_id="h1")
    assert held_group(world, "h0", "g/n1-h0-p0") is None
    assert held_group(world, "h1", "g/n1-h0-p0") is not None
    assert_converged(world)
    world.delete("g")
    assert held_group(world, "h1", "g/n1-h0-p0") is None
    assert_converged(world)


def test_a_rule_change_reaches_only_the_groups_that_use_it() -> None:
    world = World()
    two_subnets_one_router(world)
    rule(world, "used")
    rule(world, "unused")
    policy(world, "in", ["used"])
    group(world, "g", ["r1-if1"])
    assert world.change("unused", action="allow") == {}
    deltas = world.change("used", destination_port_min=2222, destination_port_max=2222)
    assert set(deltas) == {"h0", "h1", "h5"}
    held = held_group(world, "h1", "g/r1")
    assert held is not None
    assert held.ingress_rules[0].destination_port_min == 2222
    assert_converged(world)


def firewalled_world(seed: int, steps: int = 120) -> World:
    """Random firewall changes over two subnets joined by a router: rules change and are
    enabled or not, policies reorder them, groups take interfaces and VM ports and drop them,
    ports move between hosts."""
    rng = random.Random(seed)
    world = World()
    two_subnets_one_router(world)
    for name in ("a", "b", "c"):
        rule(world, name)
    policy(world, "in", ["a"])
    policy(world, "out", [])
    group(world, "g", [])
    group(world, "h", [])
    candidates = ["r1-if1", "r1-if2", "n1-h0-p0", "n1-h1-p1", "n2-h5-p0"]
    for _ in range(steps):
        choice = rng.randrange(5)
        if choice == 0:
            world.change(rng.choice("abc"), enabled=rng.random() < 0.7)
        elif choice == 1:
            chosen = rng.sample(["a", "b", "c"], rng.randrange(4))
            world.change(rng.choice(["in", "out"]), firewall_rules=chosen)
        elif choice == 2:
            taken = set(world.records["h" if rng.random() < 0.5 else "g"].ports)  # type: ignore[attr-defined]
            name = "g" if "g" not in taken else "h"
            free = [p for p in candidates if p not in taken]
            world.change(name, ports=rng.sample(free, rng.randrange(min(3, len(free)) + 1)))
        elif choice == 3:
            world.change(
                rng.choice(["g", "h"]),
                egress_firewall_policy_id=rng.choice([None, "out"]),
                admin_state_up=rng.random() < 0.8,
            )
        else:
            port = rng.choice(["n1-h0-p0", "n1-h1-p1"])
            world.change(port, binding_host_id=rng.choice(["h0", "h1", "h2"]))
    return world


@pytest.mark.parametrize("seed", range(6))
def test_firewalls_converge_resume_after_compaction_and_restore_from_checkpoints(
    seed: int,
) -> None:
    world = firewalled_world(seed)
    assert_converged(world)
    floor = world.revision // 2
    engine = Engine()
    for revision, _, operation, record in compacted(world.changes, floor):
        engine.apply(revision, operation, record)
    engine.compact(floor)
    for host in world.engine.known_hosts():
        snapshot = {keys.entry_key(x): x for x in engine.snapshot(host)}
        assert contents(snapshot) == contents(world.should_hold(host)), host
    live = Engine()
    for revision, _, operation, record in world.changes[:floor]:
        live.apply(revision, operation, record)
    restored = checkpoints.restore(checkpoints.encoded(checkpoints.capture(live), size=7))
    for (revision, _, operation, record), (_, deltas) in zip(
        world.changes[floor:], world.log[floor:], strict=True
    ):
        assert restored.apply(revision, operation, record) == deltas, revision
