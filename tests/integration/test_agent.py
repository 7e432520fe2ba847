"""The host agent over real gRPC on loopback, against a fake controller in this process: a
``Southbound`` server that answers each Hello as the test scripts it and records what the agents
send. The agent runs in-process (to watch its backoff) or as ``alcor agent`` / ``alcor sim``
child processes (signals, exit codes, the status file). The last test puts ``alcor agent``
behind a real ``alcor server``: a port created through the API reaches the agent's data plane
and its status in the API follows the agent's ack."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from alcor.agent import stream
from alcor.agent.drivers import recording
from alcor.v1 import southbound_pb2 as pb
from alcor.v1 import southbound_pb2_grpc as pb_grpc
from tests.integration.neutron import create_network, create_port, create_subnet
from tests.servers import Pki, ServerProcess, free_port

Answer = Callable[[pb.Hello], list[pb.ControllerMessage]]


def goal(revision: int, *entries: pb.Entry, snapshot: bool = False) -> pb.ControllerMessage:
    return pb.ControllerMessage(
        goal_state=pb.GoalState(
            revision=revision, store_id="store-1", snapshot=snapshot, entries=entries
        )
    )


def network(revision: int) -> pb.Entry:
    return pb.Entry(revision=revision, network=pb.Network(id="n1", segmentation_id=100))


def port(port_id: str, revision: int) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        port=pb.Port(
            id=port_id,
            network_id="n1",
            mac_address="fa:16:3e:00:00:01",
            fixed_ips=[pb.FixedIp(subnet_id="s1", ip_address="10.0.0.5")],
            port_security_enabled=True,
        ),
    )


class FakeController(pb_grpc.SouthboundServicer):
    """Answers each Hello with ``answer(hello)``, then with whatever ``send`` queues for the
    host; keeps every Hello, Ack and Heartbeat, and the hosts whose stream ended."""

    def __init__(self, answer: Answer = lambda hello: []) -> None:
        self.answer = answer
        self.hellos: list[pb.Hello] = []
        self.acks: collections.defaultdict[str, list[pb.Ack]] = collections.defaultdict(list)
        self.heartbeats: collections.defaultdict[str, list[pb.Heartbeat]] = collections.defaultdict(
            list
        )
        self.ended: list[str] = []
        self._outboxes: dict[str, asyncio.Queue[pb.ControllerMessage]] = {}
        self._server: grpc.aio.Server | None = None

    async def start(self, address: str) -> None:
        self._server = grpc.aio.server()
        pb_grpc.add_SouthboundServicer_to_server(self, self._server)
        self._server.add_insecure_port(address)
        await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=None)
            self._server = None

    def send(self, host: str, message: pb.ControllerMessage) -> None:
        self._outboxes[host].put_nowait(message)

    async def Connect(  # type: ignore[override]
        self, request_iterator: AsyncIterator[pb.AgentMessage], context: Any
    ) -> AsyncIterator[pb.ControllerMessage]:
        first = await anext(request_iterator)
        hello = first.hello
        self.hellos.append(hello)
        outbox: asyncio.Queue[pb.ControllerMessage] = asyncio.Queue()
        self._outboxes[hello.host_id] = outbox
        for message in self.answer(hello):
            outbox.put_nowait(message)
        reading = asyncio.create_task(self._read(hello.host_id, request_iterator))
        try:
            while True:
                yield await outbox.get()
        finally:
            reading.cancel()
            self.ended.append(hello.host_id)

    async def _read(self, host: str, requests: AsyncIterator[pb.AgentMessage]) -> None:
        async for message in requests:
            if message.HasField("ack"):
                self.acks[host].append(message.ack)
            elif message.HasField("heartbeat"):
                self.heartbeats[host].append(message.heartbeat)


async def eventually(condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def serve(answer: Answer) -> tuple[FakeController, str]:
    """A fake controller on a free loopback port, and its address."""
    controller = FakeController(answer)
    address = f"127.0.0.1:{free_port()}"
    await controller.start(address)
    return controller, address


def refuse(reason: str) -> Answer:
    return lambda hello: [pb.ControllerMessage(refusal=pb.Refusal(reason=reason))]


class MaxJitter(random.Random):
    """Jitter that always waits the longest: the delays show the backoff's ceilings."""

    def uniform(self, a: float, b: float) -> float:
        return b


def settings(**changes: Any) -> stream.Settings:
    options: dict[str, Any] = {
        "host_id": "h1",
        "underlay_ip": "192.0.2.1",
        "heartbeat_interval": 0.05,
        "backoff_initial": 0.02,
        "backoff_max": 0.16,
        **changes,
    }
    return stream.Settings(**options)


async def run_agent(
    address: str, driver: recording.RecordingDriver, **changes: Any
) -> tuple[stream.Agent, asyncio.Task[None], grpc.aio.Channel]:
    agent_settings = settings(**changes)
    channel = stream.open_channel(address, agent_settings)
    agent = stream.Agent(settings=agent_settings, channel=channel, driver=driver, rng=MaxJitter())
    return agent, asyncio.create_task(agent.run()), channel


async def finish(task: asyncio.Task[None], channel: grpc.aio.Channel) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await channel.close()


# --- one agent, in this process ----------------------------------------------------------------


def test_hello_ack_and_heartbeat_carry_what_the_host_holds() -> None:
    async def scenario() -> None:
        controller, address = await serve(
            lambda hello: [goal(5, network(4), port("p1", 5), port("bad1", 5), snapshot=True)]
        )
        driver = recording.RecordingDriver("h1", fail_ports="bad*")
        agent, task, channel = await run_agent(address, driver)
        await eventually(lambda: controller.acks["h1"])
        hello = controller.hellos[0]
        assert (hello.host_id, hello.applied_revision, hello.store_id) == ("h1", 0, "")
        assert (list(hello.capabilities), hello.underlay_ip) == (["recording"], "192.0.2.1")
        ack = controller.acks["h1"][0]
        assert ack.revision == 5
        assert [(s.kind, s.id) for s in ack.failed] == [(pb.PORT, "bad1")]
        assert "bad*" in ack.failed[0].message
        assert set(driver.endpoints()) == {"p1"}

        controller.send(
            "h1", goal(7, pb.Entry(revision=7, removal=pb.Removal(kind=pb.PORT, id="bad1")))
        )
        await eventually(lambda: len(controller.acks["h1"]) == 2)
        assert (controller.acks["h1"][1].revision, list(controller.acks["h1"][1].failed)) == (7, [])

        await eventually(lambda: len(controller.heartbeats["h1"]) >= 3)
        beat = controller.heartbeats["h1"][-1]
        assert beat.agent_version == settings().agent_version
        assert beat.resource_counts["ports"] == 1
        assert beat.resource_counts["networks"] == 1
        assert beat.dataplane_errors == 0
        assert beat.load1 >= 0.0
        assert agent.status.sessions == 1
        await finish(task, channel)
        await eventually(lambda: controller.ended == ["h1"])
        await controller.stop()

    asyncio.run(scenario())


def test_after_a_controller_restart_the_agent_resumes_from_its_revision() -> None:
    async def scenario() -> None:
        controller, address = await serve(
            lambda hello: (
                [goal(5, network(5), port("p1", 5), snapshot=True)]
                if hello.applied_revision == 0
                else [goal(7, port("p2", 7))]
            )
        )
        driver = recording.RecordingDriver("h1")
        agent, task, channel = await run_agent(address, driver)
        await eventually(lambda: controller.acks["h1"])

        await controller.stop()
        await eventually(lambda: len(agent.status.delays) >= 7)
        assert not agent.status.connected
        assert list(agent.status.delays)[:6] == [0.02, 0.04, 0.08, 0.16, 0.16, 0.16]
        assert max(agent.status.delays) <= 0.16

        await controller.start(address)
        await eventually(lambda: len(controller.hellos) == 2)
        resumed = controller.hellos[1]
        assert (resumed.applied_revision, resumed.store_id) == (5, "store-1")
        await eventually(lambda: len(controller.acks["h1"]) == 2)
        assert controller.acks["h1"][1].revision == 7
        assert set(driver.endpoints()) == {"p1", "p2"}
        assert agent.status.connected
        await finish(task, channel)
        await controller.stop()

    asyncio.run(scenario())


def test_a_refusal_ends_the_agent() -> None:
    async def scenario() -> None:
        controller, address = await serve(refuse("unknown host h1"))
        _, task, channel = await run_agent(address, recording.RecordingDriver("h1"))
        with pytest.raises(stream.Refused, match="unknown host h1"):
            await asyncio.wait_for(task, timeout=10)
        await channel.close()
        await controller.stop()

    asyncio.run(scenario())


# --- several controllers (southbound replicas) ------------------------------------------------


def redirect(address: str) -> pb.ControllerMessage:
    return pb.ControllerMessage(redirect=pb.Redirect(address=address, reason="not mine"))


async def run_agent_on(
    addresses: list[str], driver: recording.RecordingDriver
) -> tuple[stream.Agent, asyncio.Task[None], stream.Controllers]:
    agent_settings = settings()
    controllers = stream.Controllers(addresses, agent_settings)
    agent = stream.Agent(
        settings=agent_settings, controllers=controllers, driver=driver, rng=MaxJitter()
    )
    return agent, asyncio.create_task(agent.run()), controllers


def test_an_agent_moves_to_its_next_controller_when_one_is_away() -> None:
    async def scenario() -> None:
        controller, address = await serve(lambda hello: [goal(5, network(5), snapshot=True)])
        away = f"127.0.0.1:{free_port()}"
        agent, task, controllers = await run_agent_on(
            [away, address], recording.RecordingDriver("h1")
        )
        await eventually(lambda: controller.acks["h1"])
        assert agent.status.controller == address
        await controller.stop()  # and back to the first, which is away, then this one again
        await eventually(lambda: agent.status.sessions >= 4)
        await controller.start(address)
        await eventually(lambda: len(controller.hellos) == 2)
        assert controller.hellos[1].applied_revision == 5
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await controllers.close()
        await controller.stop()

    asyncio.run(scenario())


def test_a_redirect_is_followed_at_once_and_the_host_resumes_there_with_its_revision() -> None:
    async def scenario() -> None:
        owner, owner_address = await serve(lambda hello: [goal(6, port("p2", 6))])
        first, first_address = await serve(
            lambda hello: [goal(5, network(5), port("p1", 5), snapshot=True)]
        )
        driver = recording.RecordingDriver("h1")
        agent, task, controllers = await run_agent_on([first_address, owner_address], driver)
        await eventually(lambda: first.acks["h1"])
        first.send("h1", redirect(owner_address))
        await eventually(lambda: owner.acks["h1"])
        assert (owner.hellos[0].applied_revision, owner.hellos[0].store_id) == (5, "store-1")
        assert set(driver.endpoints()) == {"p1", "p2"}
        assert agent.status.redirects == 1
        assert list(agent.status.delays) == []  # followed with no wait
        assert agent.status.controller == owner_address
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await controllers.close()
        for controller in (first, owner):
            await controller.stop()

    asyncio.run(scenario())


def test_replicas_that_send_a_host_to_each_other_make_it_back_off_not_spin() -> None:
    async def scenario() -> None:
        a_address, b_address = (f"127.0.0.1:{free_port()}" for _ in range(2))
        a = FakeController(lambda hello: [redirect(b_address)])
        b = FakeController(lambda hello: [redirect(a_address)])
        await a.start(a_address)
        await b.start(b_address)
        agent, task, controllers = await run_agent_on(
            [a_address, b_address], recording.RecordingDriver("h1")
        )
        await eventually(lambda: len(agent.status.delays) >= 6)
        # the first redirect is followed at once, every next one waits the growing backoff
        assert agent.status.redirects == len(agent.status.delays) + 1
        assert list(agent.status.delays)[:5] == [0.02, 0.04, 0.08, 0.16, 0.16]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await controllers.close()
        for controller in (a, b):
            await controller.stop()

    asyncio.run(scenario())


def test_a_plaintext_agent_follows_no_redirect_beyond_its_own_addresses() -> None:
    async def scenario() -> None:
        stranger, stranger_address = await serve(lambda hello: [goal(9, network(9))])
        listed, listed_address = await serve(lambda hello: [goal(5, network(5), snapshot=True)])
        first, first_address = await serve(lambda hello: [redirect(stranger_address)])
        agent, task, controllers = await run_agent_on(
            [first_address, listed_address], recording.RecordingDriver("h1")
        )
        await eventually(lambda: listed.acks["h1"])
        assert stranger.hellos == []
        assert agent.status.redirects == 1
        assert not stream.Controllers([first_address], settings()).accepts(stranger_address)
        tls = stream.ClientTls(ca=b"", certificate=b"", key=b"")
        with_tls = stream.Controllers([first_address], settings(), tls=tls)
        assert with_tls.accepts(stranger_address)  # verified by the same CA when it connects
        assert not with_tls.accepts("unix:/elsewhere")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await controllers.close()
        for controller in (first, listed, stranger):
            await controller.stop()

    asyncio.run(scenario())


# --- `alcor agent` and `alcor sim` processes ---------------------------------------------------


async def alcor(*arguments: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alcor.cli.main",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def status_of(path: Path) -> dict[str, Any]:
    try:
        found: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return found


def test_the_agent_process_reports_its_data_plane_and_stops_on_sigterm(tmp_path: Path) -> None:
    async def scenario() -> None:
        controller = FakeController(
            lambda hello: [goal(5, network(5), port("p1", 5), snapshot=True)]
        )
        socket = tmp_path / "southbound.sock"
        await controller.start(f"unix:{socket}")
        status_file = tmp_path / "status.json"
        arguments = [
            "agent",
            "--host-id",
            "h1",
            "--controller",
            f"unix:{socket}",
            "--driver",
            "recording",
            "--status-file",
            str(status_file),
            "--status-interval",
            "0.05",
        ]
        agent = await alcor(*arguments)
        await eventually(lambda: status_of(status_file).get("hosts", {}).get("h1", {}).get("acks"))
        host = status_of(status_file)["hosts"]["h1"]
        assert (host["connected"], host["revision"], host["store_id"]) == (True, 5, "store-1")
        assert list(host["model"]["endpoints"]) == ["p1"]
        assert host["model"]["segments"] == {"n1": 100}
        assert host["model"]["endpoints"]["p1"]["device"] == "tapp1"

        agent.send_signal(signal.SIGTERM)
        _, errors = await asyncio.wait_for(agent.communicate(), timeout=10)
        assert agent.returncode == 0, errors.decode()
        await eventually(lambda: controller.ended == ["h1"])

        restarted = await alcor(*arguments)  # a new process starts from nothing
        await eventually(lambda: len(controller.hellos) == 2)
        assert controller.hellos[1].applied_revision == 0
        restarted.send_signal(signal.SIGINT)
        await asyncio.wait_for(restarted.communicate(), timeout=10)
        assert restarted.returncode == 0
        await controller.stop()

    asyncio.run(scenario())


def test_the_agent_process_exits_non_zero_when_refused() -> None:
    async def scenario() -> None:
        controller, address = await serve(refuse("not a known node"))
        agent = await alcor(
            "agent", "--host-id", "h9", "--controller", address, "--driver", "recording"
        )
        _, errors = await asyncio.wait_for(agent.communicate(), timeout=15)
        assert agent.returncode == 1
        assert "refused host 'h9': not a known node" in errors.decode()
        await controller.stop()

    asyncio.run(scenario())


def test_sim_runs_fifty_hosts_on_fifty_streams(tmp_path: Path) -> None:
    async def scenario() -> None:
        controller, address = await serve(
            lambda hello: [goal(3, network(3), port(f"port-of-{hello.host_id}", 3), snapshot=True)]
        )
        status_file = tmp_path / "sim.json"
        sim = await alcor(
            "sim",
            "--hosts",
            "50",
            "--prefix",
            "s",
            "--controller",
            address,
            "--heartbeat-interval",
            "0.2",
            "--status-file",
            str(status_file),
            "--status-interval",
            "0.1",
            "--status-detail",
            "s7",
            "--progress-interval",
            "0.1",
        )
        await eventually(lambda: len(controller.acks) == 50, timeout=30)
        assert sorted(hello.host_id for hello in controller.hellos) == sorted(
            f"s{i}" for i in range(50)
        )
        underlay = {hello.host_id: hello.underlay_ip for hello in controller.hellos}
        assert (underlay["s0"], underlay["s49"]) == ("10.255.0.1", "10.255.0.50")
        await eventually(lambda: len(controller.heartbeats) == 50)
        await eventually(lambda: status_of(status_file).get("totals", {}).get("acks", 0) >= 50)
        status = status_of(status_file)
        assert status["totals"]["connected"] == 50
        assert status["totals"]["min_revision"] == 3
        assert list(status["hosts"]["s7"]["model"]["endpoints"]) == ["port-of-s7"]
        assert "model" not in status["hosts"]["s8"]

        sim.send_signal(signal.SIGTERM)
        output, errors = await asyncio.wait_for(sim.communicate(), timeout=15)
        assert sim.returncode == 0, errors.decode()
        assert "50/50 hosts connected" in output.decode()
        await eventually(lambda: len(controller.ended) == 50)
        assert status_of(status_file)["totals"]["connected"] == 0  # written once more on exit
        await controller.stop()

    asyncio.run(scenario())


def test_sim_hosts_given_several_controllers_find_the_one_that_answers(tmp_path: Path) -> None:
    async def scenario() -> None:
        controller, address = await serve(lambda hello: [goal(3, network(3), snapshot=True)])
        away = f"127.0.0.1:{free_port()}"
        status_file = tmp_path / "sim.json"
        sim = await alcor(
            *("sim", "--hosts", "5", "--prefix", "m"),
            *("--controller", f"{away},unix:{tmp_path / 'none.sock'}", "--controller", address),
            *("--reconnect-backoff", "0.02:0.1", "--progress-interval", "0"),
            *("--status-file", str(status_file), "--status-interval", "0.1"),
        )
        await eventually(lambda: len(controller.acks) == 5, timeout=30)
        await eventually(lambda: status_of(status_file).get("totals", {}).get("acks", 0) >= 5)
        hosts = status_of(status_file)["hosts"]
        assert {host["controller"] for host in hosts.values()} == {address}
        assert all(host["sessions"] >= 3 for host in hosts.values())  # the two away, then it
        sim.send_signal(signal.SIGTERM)
        _, errors = await asyncio.wait_for(sim.communicate(), timeout=15)
        assert sim.returncode == 0, errors.decode()
        await controller.stop()

    asyncio.run(scenario())


# --- end to end: `alcor server` and `alcor agent` -----------------------------------------------


def wait_for(condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real ``alcor server`` whose southbound runs mutual TLS."""
    process = ServerProcess(tmp_path / "alcor.db", pki=Pki(tmp_path / "pki")).start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


def test_a_port_created_through_the_api_reaches_the_agents_data_plane(
    tls_server: ServerProcess, tmp_path: Path
) -> None:
    server = tls_server
    assert server.pki is not None
    api = httpx.Client(base_url=server.url + "/v2.0", timeout=30.0)
    status_file = tmp_path / "agent.json"
    agent = subprocess.Popen(
        [
            *(sys.executable, "-m", "alcor.cli.main", "agent", "--host-id", "e2e-host"),
            *("--controller", server.southbound, "--driver", "recording"),
            *("--underlay-ip", "192.0.2.10", "--fail-ports", "broken-*"),
            *("--status-file", str(status_file), "--status-interval", "0.05"),
            *server.pki.host_files("e2e-host"),
        ],
        stderr=subprocess.PIPE,
    )
    try:
        # the agent, authenticated, registers its host on its first Hello; ports may then bind
        wait_for(lambda: api.get("/nodes", params={"name": "e2e-host"}).json()["nodes"])
        (node,) = api.get("/nodes", params={"name": "e2e-host"}).json()["nodes"]
        assert (node["underlay_ip"], node["state"]) == ("192.0.2.10", "up")
        network = create_network(api, name="e2e")
        create_subnet(api, network["id"], "10.77.0.0/24")
        bound = {"binding:host_id": "e2e-host", "device_owner": "compute:nova"}
        good = create_port(api, network["id"], device_id="vm-1", **bound)
        bad = create_port(api, network["id"], device_id="broken-vm", **bound)

        def model() -> dict[str, Any]:
            found: dict[str, Any] = status_of(status_file).get("hosts", {}).get("e2e-host", {})
            return found.get("model", {})

        wait_for(
            lambda: (
                good["id"] in model().get("endpoints", {})
                and bad["id"] in model().get("failed", {})
            )  # the two ports may come in two messages
        )
        endpoint = model()["endpoints"][good["id"]]
        assert endpoint["ip_addresses"] == [good["fixed_ips"][0]["ip_address"]]
        assert model()["segments"] == {network["id"]: network["provider:segmentation_id"]}
        assert bad["id"] in model()["failed"]
        wait_for(lambda: api.get(f"/ports/{good['id']}").json()["port"]["status"] == "ACTIVE")
        wait_for(lambda: api.get(f"/ports/{bad['id']}").json()["port"]["status"] == "ERROR")

        assert api.delete(f"/ports/{good['id']}").status_code == 204
        wait_for(lambda: good["id"] not in model()["endpoints"])
    finally:
        agent.send_signal(signal.SIGTERM)
        _, errors = agent.communicate(timeout=15)
        api.close()
    assert agent.returncode == 0, errors.decode()


def test_sim_hosts_with_certificates_it_issues_register_and_get_their_goal_states(
    tls_server: ServerProcess, tmp_path: Path
) -> None:
    """``alcor sim`` given the CA's key: a certificate and a TLS stream per host."""
    assert tls_server.pki is not None
    ca_key = tmp_path / "ca.key"
    ca_key.write_bytes(tls_server.pki.ca.key)
    status_file = tmp_path / "sim.json"
    sim = subprocess.Popen(
        [
            *(sys.executable, "-m", "alcor.cli.main", "sim", "--hosts", "5", "--prefix", "t"),
            *("--controller", tls_server.southbound, "--progress-interval", "0"),
            *("--tls-ca", str(tls_server.pki.ca_path), "--tls-ca-key", str(ca_key)),
            *("--status-file", str(status_file), "--status-interval", "0.05"),
        ],
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: status_of(status_file).get("totals", {}).get("acks", 0) >= 5)
        with httpx.Client(base_url=tls_server.url + "/v2.0", timeout=30.0) as api:
            found = api.get("/nodes", params={"description": "registered by its agent"})
            assert sorted(node["name"] for node in found.json()["nodes"]) == [
                f"t{i}" for i in range(5)
            ]
    finally:
        sim.send_signal(signal.SIGTERM)
        _, errors = sim.communicate(timeout=15)
    assert sim.returncode == 0, errors.decode()


@pytest.fixture(autouse=True)
def _quiet_grpc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Child processes inherit this: gRPC's own INFO lines (GOAWAY ...) stay out of the logs."""
    monkeypatch.setitem(os.environ, "GRPC_VERBOSITY", "ERROR")
