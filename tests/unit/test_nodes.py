"""Nodes in the pure parts: the engine takes a host's underlay address from its node (whatever
order the node and its ports arrive in), the node watch turns silence into one down transition
and a word into one up transition, and ``alcor nodes load``'s file reading, diffing and progress
bar."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Mapping
from pathlib import Path

import msgspec
import pytest

from alcor.cli import nodes as load
from alcor.cli.progress import Progress
from alcor.goalstate.engine import Engine
from alcor.model import records
from alcor.services import status
from alcor.southbound.watching import NodeWatch
from alcor.store.interface import Change
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

NOW = "2026-11-30T00:00:00Z"


# --- the engine ----------------------------------------------------------------------------------


class Log:
    def __init__(self) -> None:
        self.engine = Engine()
        self.revision = 0

    def put(self, record: records.Record, operation: str = "create") -> dict[str, list[pb.Entry]]:
        self.revision += 1
        return self.engine.apply(self.revision, operation, record)


def node(name: str, ip: str, node_id: str = "") -> records.Node:
    return records.Node(
        id=node_id or "id-" + name,
        project_id="",
        name=name,
        created_at=NOW,
        updated_at=NOW,
        underlay_ip=ip,
    )


def port(name: str, host: str, ip: str) -> records.Port:
    return records.Port(
        id=name,
        project_id="p",
        created_at=NOW,
        updated_at=NOW,
        network_id="n1",
        mac_address="fa:16:3e:00:00:01",
        fixed_ips=[records.FixedIp(subnet_id="s1", ip_address=ip)],
        binding_host_id=host,
        device_owner="compute:nova",
    )


def network() -> records.Network:
    return records.Network(
        id="n1", project_id="p", created_at=NOW, updated_at=NOW, segmentation_id=100
    )


def neighbor_ips(deltas: Mapping[str, list[pb.Entry]], host: str) -> dict[str, str]:
    """The neighbors a host was sent in these deltas: port -> its host's underlay address."""
    return {
        entry.neighbor.port_id: entry.neighbor.host_ip
        for entry in deltas.get(host, [])
        if entry.HasField("neighbor")
    }


def held_neighbor_ip(engine: Engine, host: str, port_id: str) -> str:
    entries = {keys.entry_key(entry): entry for entry in engine.snapshot(host)}
    return entries[f"neighbor:{port_id}"].neighbor.host_ip


def test_a_neighbor_carries_its_hosts_underlay_address_and_follows_its_changes() -> None:
    log = Log()
    log.put(network())
    log.put(node("h1", "192.0.2.1"))
    log.put(node("h2", "192.0.2.2"))
    log.put(port("p1", "h1", "10.0.0.1"))
    deltas = log.put(port("p2", "h2", "10.0.0.2"))
    assert neighbor_ips(deltas, "h1") == {"p2": "192.0.2.2"}
    assert held_neighbor_ip(log.engine, "h2", "p1") == "192.0.2.1"

    moved = log.put(node("h2", "192.0.2.22"), "update")  # one entry per reader of its ports
    assert neighbor_ips(moved, "h1") == {"p2": "192.0.2.22"}
    assert held_neighbor_ip(log.engine, "h2", "p2") == "192.0.2.22"
    assert log.put(node("h2", "192.0.2.22"), "update") == {}  # state, description: nothing

    renamed = log.put(node("h2-new", "192.0.2.22", node_id="id-h2"), "update")
    assert neighbor_ips(renamed, "h1") == {"p2": ""}  # its ports' host is no node any more
    deleted = log.put(node("h1", "192.0.2.1"), "delete")
    assert neighbor_ips(deleted, "h2") == {"p1": ""}


def test_a_node_that_comes_after_its_ports_still_gives_them_its_address() -> None:
    """A compacted change log replays each resource at its last change, in revision order:
    a node changed last comes after the ports bound to it."""
    log = Log()
    log.put(network())
    log.put(port("p1", "h1", "10.0.0.1"))
    log.put(port("p2", "h2", "10.0.0.2"))
    assert held_neighbor_ip(log.engine, "h1", "p2") == ""
    deltas = log.put(node("h2", "192.0.2.2"))
    assert neighbor_ips(deltas, "h1") == {"p2": "192.0.2.2"}
    assert held_neighbor_ip(log.engine, "h1", "p2") == "192.0.2.2"


# --- the node watch ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeNodes:
    """The node manager's ``set_states``: the store is a dict, every write is kept."""

    def __init__(self, stored: dict[str, str]) -> None:
        self.stored = stored
        self.writes: list[dict[str, str]] = []

    async def set_states(self, states: Mapping[str, str]) -> list[records.Node]:
        self.writes.append(dict(states))
        changed = [name for name, state in states.items() if self.stored.get(name) != state]
        self.stored.update({name: states[name] for name in changed})
        return [node(name, "192.0.2.1") for name in changed]


def change(name: str, state: str, revision: int, operation: str = "update") -> Change:
    return Change(
        revision=revision,
        resource_type="node",
        resource_id="id-" + name,
        operation=operation,
        project_id="",
        record=msgspec.structs.replace(node(name, "192.0.2.1"), state=state),
        committed_at=NOW,
    )


def watch_with(stored: dict[str, str]) -> tuple[Clock, status.StatusBoard, FakeNodes, NodeWatch]:
    clock = Clock()
    board = status.StatusBoard(grace=60.0, clock=clock, wall=clock)
    manager = FakeNodes(dict(stored))
    watch = NodeWatch(board=board, manager=manager, down_after=30.0)  # type: ignore[arg-type]
    for revision, (name, state) in enumerate(stored.items(), start=1):
        watch.changed(change(name, state, revision, "create"))
    return clock, board, manager, watch


def test_a_replica_loses_only_the_nodes_it_owns_and_gives_the_others_a_whole_grace() -> None:
    clock, board, manager, watch = watch_with({"mine": "up", "theirs": "up"})
    owned = {"mine"}
    watch.owns = lambda host: host in owned
    clock.now += 31  # neither was heard here since start: only the owned one is lost
    assert watch.check() == 1
    asyncio.run(watch.flush())
    assert manager.writes == [{"mine": "down"}]
    assert not board.is_lost("theirs")
    owned.add("theirs")  # its owner died: this replica owns it now
    clock.now += 29
    assert watch.check() == 0  # counted from when it was last found silent elsewhere
    clock.now += 2
    assert watch.check() == 1
    asyncio.run(watch.flush())
    assert manager.writes[-1] == {"theirs": "down"}


def test_a_silent_node_goes_down_once_and_comes_back_up_when_heard() -> None:
    clock, board, manager, watch = watch_with({"h1": "up", "h2": "up"})
    board.connected("h1", applied_revision=0)
    board.program("p1", "h1", 1)
    board.acknowledged("h1", 1, failures=[], programming_micros=1)
    for _ in range(5):  # heartbeats every 10 s keep h1 up; h2 was never heard since start
        clock.now += 10
        board.heartbeat("h1", status.Health(at=clock.now))
        watch.heard("h1")
        watch.check()
    asyncio.run(watch.flush())
    assert manager.writes == [{"h2": "down"}]  # at start + 30 s, once
    assert board.port_status("p1", "h1") == "ACTIVE"

    clock.now += 30.5  # h1 falls silent (its stream still open)
    assert watch.check() == 1
    assert board.port_status("p1", "h1") == "DOWN"  # at once, before the write
    assert board.is_lost("h1")
    asyncio.run(watch.flush())
    assert manager.writes[-1] == {"h1": "down"}
    watch.changed(change("h1", "down", 10))  # the write comes back through the change log
    clock.now += 100
    assert watch.check() == 0  # down already: nothing more to write
    asyncio.run(watch.flush())
    assert len(manager.writes) == 2

    board.heartbeat("h1", status.Health(at=clock.now))  # heard again
    watch.heard("h1")
    assert board.port_status("p1", "h1") == "ACTIVE"
    asyncio.run(watch.flush())
    assert manager.writes[-1] == {"h1": "up"}
    assert manager.stored == {"h1": "up", "h2": "down"}


def test_a_node_heard_again_before_its_down_transition_is_written_writes_nothing() -> None:
    clock, board, manager, watch = watch_with({"h1": "up"})
    board.heard("h1")
    clock.now += 31
    watch.check()
    board.heard("h1")
    watch.heard("h1")
    asyncio.run(watch.flush())
    assert manager.writes == []


def test_a_node_made_while_its_agent_talks_is_written_up() -> None:
    clock, board, manager, watch = watch_with({})
    board.heard("h3")  # its Hello came before its node reached the change log
    watch.heard("h3")
    assert not watch.knows("h3")
    watch.changed(change("h3", "down", 1, "create"))
    asyncio.run(watch.flush())
    assert manager.writes == [{"h3": "up"}]
    watch.changed(change("h3", "up", 2))
    watch.changed(change("h3", "up", 3, "delete"))
    assert not watch.knows("h3")
    clock.now += 100
    assert watch.check() == 0


# --- alcor nodes load ----------------------------------------------------------------------------


def test_the_file_is_json_or_yaml_a_list_or_an_object_of_nodes(tmp_path: Path) -> None:
    nodes = [{"name": "h1", "underlay_ip": "192.0.2.1"}, {"name": "h2", "underlay_ip": "::1"}]
    (tmp_path / "a.json").write_text(json.dumps(nodes))
    (tmp_path / "b.yaml").write_text(
        "nodes:\n  - {name: h1, underlay_ip: 192.0.2.1}\n  - name: h2\n    underlay_ip: '::1'\n"
    )
    assert load.read_nodes(tmp_path / "a.json") == nodes
    assert load.read_nodes(tmp_path / "b.yaml") == nodes


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("bad.json", "[{", "not valid JSON"),
        ("bad.yml", "nodes: [", "not valid YAML"),
        ("scalar.json", "7", "expected a list"),
        ("nameless.json", '[{"underlay_ip": "192.0.2.1"}]', "node #1"),
        ("twice.json", '[{"name": "a"}, {"name": "a"}]', "appears twice"),
    ],
)
def test_a_file_that_cannot_be_loaded_says_why(
    tmp_path: Path, name: str, text: str, error: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(load.LoadError, match=error):
        load.read_nodes(tmp_path / name)
    with pytest.raises(load.LoadError, match="cannot read"):
        load.read_nodes(tmp_path / "missing.json")


def test_only_what_differs_is_updated() -> None:
    existing = {
        "underlay_ip": "2001:db8::1",
        "mac_address": "aa:bb:cc:00:00:01",
        "description": "",
        "admin_state_up": True,
    }
    same = {"name": "h", "underlay_ip": "2001:DB8:0::1", "mac_address": "AA-BB-CC-00-00-01"}
    assert load.changes_for(same, existing) == {}
    changed = {"name": "h", "underlay_ip": "2001:db8::2", "admin_state_up": False}
    assert load.changes_for(changed, existing) == {
        "underlay_ip": "2001:db8::2",
        "admin_state_up": False,
    }


def test_the_progress_bar_into_a_file_writes_one_line_the_last_state() -> None:
    out = io.StringIO()
    progress = Progress(1000, label="nodes", stream=out)
    for _ in range(10):
        progress.advance(100)
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("nodes 1000/1000 ")
    assert " 100% " in lines[0]
    assert "nodes/s" in lines[0]


def test_a_disabled_progress_bar_writes_nothing() -> None:
    out = io.StringIO()
    progress = Progress(10, label="nodes", stream=out, enabled=False)
    progress.advance(10)
    progress.close()
    assert out.getvalue() == ""
