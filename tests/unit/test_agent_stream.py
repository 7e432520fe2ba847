"""The agent's pure pieces: reconnect backoff, controller addresses, the failures an Ack lists,
what one goal state turns into, and sim's host names and underlay addresses."""

from __future__ import annotations

import asyncio
import os
import random
import sys

import pytest

from alcor.agent import drivers, running, state, stream
from alcor.agent.drivers import recording
from alcor.v1 import southbound_pb2 as pb


def test_backoff_grows_exponentially_to_its_cap_with_full_jitter() -> None:
    backoff = stream.Backoff(initial=0.1, cap=10.0, rng=random.Random(7))
    ceilings = []
    for _ in range(12):
        ceilings.append(backoff.ceiling())
        assert 0.0 <= backoff.next_delay() <= ceilings[-1]
    assert ceilings[:4] == [0.1, 0.2, 0.4, 0.8]
    assert ceilings[-1] == 10.0
    assert ceilings == sorted(ceilings)
    backoff.reset()
    assert backoff.ceiling() == 0.1


def test_backoff_spreads_hosts_that_lost_the_controller_together() -> None:
    rng = random.Random(1)
    first_waits = [stream.Backoff(initial=1.0, cap=1.0, rng=rng).next_delay() for _ in range(500)]
    assert 0.4 < sum(first_waits) / len(first_waits) < 0.6


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("127.0.0.1:9697", True),
        ("[::1]:9697", True),
        ("controller.example:9697", True),
        ("unix:/run/alcor/southbound.sock", True),
        ("unix:", False),
        ("127.0.0.1", False),
        (":9697", False),
    ],
)
def test_controller_addresses(address: str, valid: bool) -> None:
    if valid:
        assert stream.channel_target(address) == address
    else:
        with pytest.raises(ValueError, match="expected"):
            stream.channel_target(address)


def goal(revision: int, *entries: pb.Entry, snapshot: bool = False) -> pb.GoalState:
    return pb.GoalState(revision=revision, store_id="s1", snapshot=snapshot, entries=entries)


def a_port(port_id: str, revision: int, device: str = "") -> pb.Entry:
    return pb.Entry(revision=revision, port=pb.Port(id=port_id, network_id="n1", device_id=device))


def test_an_ack_lists_every_resource_failed_as_of_its_revision() -> None:
    async def scenario() -> None:
        channel = stream.open_channel("127.0.0.1:1", stream.Settings(host_id="h1"))
        driver = recording.RecordingDriver("h1", fail_ports="bad*")
        agent = stream.Agent(settings=stream.Settings(host_id="h1"), channel=channel, driver=driver)
        ack = (await agent.apply(goal(3, a_port("p1", 3), a_port("bad1", 3)))).ack
        assert ack.revision == 3
        assert [(s.kind, s.id) for s in ack.failed] == [(pb.PORT, "bad1")]
        ack = (await agent.apply(goal(4, a_port("p2", 4)))).ack
        assert [s.id for s in ack.failed] == ["bad1"]  # still failed
        ack = (await agent.apply(goal(5, a_port("bad1", 5, device="fixed")))).ack
        assert [s.id for s in ack.failed] == ["bad1"]  # its id still matches
        ack = (
            await agent.apply(
                goal(6, pb.Entry(revision=6, removal=pb.Removal(kind=pb.PORT, id="bad1")))
            )
        ).ack
        assert (ack.revision, list(ack.failed)) == (6, [])
        hello = agent.hello().hello
        assert (hello.applied_revision, hello.store_id, list(hello.capabilities)) == (
            6,
            "s1",
            ["recording"],
        )
        beat = agent.heartbeat().heartbeat
        assert beat.resource_counts["ports"] == 2
        assert beat.dataplane_errors == 0
        await channel.close()

    asyncio.run(scenario())


def removal(port_id: str, revision: int) -> pb.Entry:
    return pb.Entry(revision=revision, removal=pb.Removal(kind=pb.PORT, id=port_id))


class Remembering(recording.RecordingDriver):
    """The recording driver, keeping every change it was given."""

    def __init__(self, host_id: str, *, fail_ports: str) -> None:
        super().__init__(host_id, fail_ports=fail_ports)
        self.changes: list[state.Changes] = []

    async def apply(self, changes: state.Changes, held: state.HostState) -> list[drivers.Failure]:
        self.changes.append(changes)
        return await super().apply(changes, held)


def test_goal_states_applied_together_program_what_they_changed_once() -> None:
    """Goal states that arrived while the agent was busy go to the driver as one change: a port
    made then removed is removed, one updated twice has its last form; the ack is the last
    revision's, and the host holds what applying them one by one would have left."""

    async def scenario() -> None:
        channel = stream.open_channel("127.0.0.1:1", stream.Settings(host_id="h1"))
        driver = Remembering("h1", fail_ports="bad*")
        agent = stream.Agent(settings=stream.Settings(host_id="h1"), channel=channel, driver=driver)
        await agent.apply(goal(2, a_port("old", 2)))
        ack = (
            await agent.apply_all(
                [
                    goal(3, a_port("p1", 3), a_port("p2", 3), a_port("bad1", 3)),
                    goal(4, removal("p2", 4), a_port("p1", 4, device="vm-1"), removal("old", 4)),
                    goal(5, a_port("p3", 5)),
                ]
            )
        ).ack
        assert ack.revision == 5
        assert [s.id for s in ack.failed] == ["bad1"]
        applied = driver.changes[-1]
        assert sorted(applied.set) == ["port:bad1", "port:p1", "port:p3"]
        assert applied.set["port:p1"].port.device_id == "vm-1"
        assert sorted(applied.removed) == ["port:old", "port:p2"]
        assert sorted(agent.state.live()) == ["port:bad1", "port:p1", "port:p3"]
        assert agent.status.goal_states == 4
        await channel.close()

    asyncio.run(scenario())


def test_acks_carry_the_binding_details_that_changed_and_a_new_stream_all_of_them() -> None:
    async def scenario() -> None:
        channel = stream.open_channel("127.0.0.1:1", stream.Settings(host_id="h1"))
        driver = recording.RecordingDriver("h1")
        agent = stream.Agent(settings=stream.Settings(host_id="h1"), channel=channel, driver=driver)

        def bindings(ack: pb.Ack) -> dict[str, dict[str, str]]:
            return {b.port_id: dict(b.vif_details) for b in ack.bindings}

        driver.bind("p1", {"netns": "ns-1"})
        driver.bind("p2", {"netns": "ns-2"})
        ack = (await agent.apply(goal(3, a_port("p1", 3)))).ack
        assert bindings(ack) == {"p1": {"netns": "ns-1"}}  # p2 is not plugged
        ack = (await agent.apply(goal(4, a_port("p2", 4)))).ack
        assert bindings(ack) == {"p2": {"netns": "ns-2"}}  # p1 did not change
        ack = (await agent.apply(goal(5, a_port("p3", 5)))).ack
        assert bindings(ack) == {}
        removal = pb.Entry(revision=6, removal=pb.Removal(kind=pb.PORT, id="p1"))
        ack = (await agent.apply(goal(6, removal))).ack
        assert bindings(ack) == {"p1": {}}  # none any more
        agent.bindings.clear()  # what a new stream does
        ack = (await agent.apply(goal(7, a_port("p3", 7, device="d")))).ack
        assert bindings(ack) == {"p2": {"netns": "ns-2"}}
        await channel.close()

    asyncio.run(scenario())


class BrokenDriver(recording.RecordingDriver):
    async def apply(self, changes: object, held: object) -> list[drivers.Failure]:
        raise OSError("netlink went away")


def test_a_driver_that_raises_makes_the_agent_start_over_from_a_snapshot() -> None:
    async def scenario() -> None:
        channel = stream.open_channel("127.0.0.1:1", stream.Settings(host_id="h1"))
        agent = stream.Agent(
            settings=stream.Settings(host_id="h1"), channel=channel, driver=BrokenDriver()
        )
        with pytest.raises(stream.StreamEnded):
            await agent.apply(goal(3, a_port("p1", 3)))
        assert agent.hello().hello.applied_revision == 0
        await channel.close()

    asyncio.run(scenario())


def test_sim_hosts_are_named_from_the_prefix_with_addresses_above_the_base() -> None:
    assert running.sim_hosts("P", 3, "10.255.0.0") == [
        ("P0", "10.255.0.1"),
        ("P1", "10.255.0.2"),
        ("P2", "10.255.0.3"),
    ]
    assert running.sim_hosts("h", 300, "10.255.0.0")[-1] == ("h299", "10.255.1.44")
    with pytest.raises(ValueError, match="do not fit"):
        running.sim_hosts("h", 3, "255.255.255.254")


@pytest.mark.skipif(
    sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"),
    reason="3.12 has no child watchers to set; pidfds need Linux",
)
def test_the_agents_loop_waits_for_children_by_pidfd_and_puts_the_watcher_back() -> None:
    async def main() -> tuple[object, int]:
        restore = running._watch_children_by_pidfd(asyncio.get_running_loop())
        try:
            watcher = asyncio.get_child_watcher()
            process = await asyncio.create_subprocess_exec("true")
            return watcher, await process.wait()
        finally:
            restore()

    before = asyncio.get_child_watcher()
    watcher, code = asyncio.run(main())
    assert code == 0
    assert isinstance(watcher, asyncio.PidfdChildWatcher)
    assert asyncio.get_child_watcher() is before
