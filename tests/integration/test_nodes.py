"""The node manager over real HTTP and real gRPC: nodes CRUD and bulk, validation, admin only,
Neutron's agents view, ports naming a host that is no node yet (``binding_failed``) bound when it
comes, hosts registered by their agents' Hello
(authenticated ones only, up to a limit, or refused with ``--no-register-hosts``), a Hello that
claims another underlay address or other physical networks changing nothing, and health: a
node silent beyond ``--node-down-after`` goes down with its ports, and comes back up when it is
heard again. The module's controller runs its southbound with mutual TLS.

The agents here are raw gRPC streams spoken by hand, so a test decides exactly when a host says
Hello, acknowledges and sends a heartbeat, and when it falls silent with its stream still open.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from alcor.agent import stream
from alcor.v1 import southbound_pb2 as pb
from alcor.v1 import southbound_pb2_grpc as pb_grpc
from tests.integration.neutron import (
    assert_error,
    create_network,
    create_port,
    create_subnet,
)
from tests.servers import Pki, ServerProcess

DOWN_AFTER = 1.0  # --node-down-after of the module's server
MEMBER = {"X-Project-Id": "nodes-member", "X-Roles": "member"}


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = Path(tmp_path_factory.mktemp("nodes")) / "alcor.db"
    # a long disconnect grace: ports go DOWN here because their node is lost, not its stream
    process = ServerProcess(
        db,
        *("--node-down-after", str(DOWN_AFTER), "--disconnect-grace", "60"),
        pki=Pki(db.parent / "pki"),
    ).start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


@pytest.fixture
def api(controller: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=controller.url + "/v2.0", timeout=30.0) as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def node_body(name: str, ip: str = "198.51.100.7", **more: Any) -> dict[str, Any]:
    return {"name": name, "underlay_ip": ip, **more}


def create_node(api: httpx.Client, name: str, ip: str = "198.51.100.7", **more: Any) -> Any:
    response = api.post("/nodes", json={"node": node_body(name, ip, **more)})
    assert response.status_code == 201, response.text
    return response.json()["node"]


def nodes_named(api: httpx.Client, *names: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get("/nodes", params=[("name", n) for n in names]).json()[
        "nodes"
    ]
    return found


# --- CRUD, bulk, validation --------------------------------------------------------------------


def test_a_node_is_created_shown_listed_updated_and_deleted(api: httpx.Client) -> None:
    name = unique("crud")
    node = create_node(api, name, "198.51.100.1", mac_address="AA-BB-CC-00-11-22")
    assert {k: node[k] for k in ("name", "underlay_ip", "mac_address", "state")} == {
        "name": name,
        "underlay_ip": "198.51.100.1",
        "mac_address": "aa:bb:cc:00:11:22",  # as Neutron shows MACs
        "state": "down",  # no agent has said anything yet
    }
    assert (node["last_heartbeat"], node["state_changed_at"], node["revision_number"]) == (
        None,
        None,
        1,
    )
    assert node["admin_state_up"] is True
    assert api.get(f"/nodes/{node['id']}").json()["node"] == node
    assert nodes_named(api, name) == [node]

    change = {"underlay_ip": "2001:db8::0:1", "description": "rack 7", "admin_state_up": False}
    response = api.put(f"/nodes/{node['id']}", json={"node": change})
    assert response.status_code == 200, response.text
    updated = response.json()["node"]
    assert (updated["underlay_ip"], updated["description"], updated["admin_state_up"]) == (
        "2001:db8::1",
        "rack 7",
        False,
    )
    assert updated["revision_number"] == 2
    stale = api.put(
        f"/nodes/{node['id']}",
        json={"node": {"description": "x"}},
        headers={"If-Match": "revision_number=1"},
    )
    assert_error(stale, 412)
    renamed = api.put(f"/nodes/{node['id']}", json={"node": {"name": name + "-b"}})
    assert renamed.json()["node"]["name"] == name + "-b"

    assert api.delete(f"/nodes/{node['id']}").status_code == 204
    assert_error(api.get(f"/nodes/{node['id']}"), 404, "NodeNotFound")
    assert_error(api.delete(f"/nodes/{node['id']}"), 404, "NodeNotFound")


def test_lists_filter_sort_page_and_pick_fields(api: httpx.Client) -> None:
    tag = unique("list")
    made = api.post(
        "/nodes",
        json={"nodes": [node_body(f"{tag}-{i}", f"198.51.100.{20 + i}") for i in range(5)]},
    )
    assert made.status_code == 201, made.text
    names = [f"{tag}-{i}" for i in range(5)]
    query = [("name", n) for n in names]
    listed = api.get("/nodes", params=[*query, ("sort_key", "name"), ("sort_dir", "desc")])
    assert [n["name"] for n in listed.json()["nodes"]] == names[::-1]
    by_ip = api.get("/nodes", params=[*query, ("underlay_ip", "198.51.100.22")]).json()["nodes"]
    assert [n["name"] for n in by_ip] == [names[2]]
    down = api.get("/nodes", params=[*query, ("state", "down")]).json()["nodes"]
    assert len(down) == 5
    picked = api.get("/nodes", params=[*query, ("fields", "name"), ("fields", "state")])
    assert all(set(n) == {"name", "state"} for n in picked.json()["nodes"])
    page = api.get("/nodes", params=[*query, ("sort_key", "name"), ("limit", "2")]).json()
    assert [n["name"] for n in page["nodes"]] == names[:2]
    assert [link["rel"] for link in page["nodes_links"]] == ["next", "previous"]
    assert_error(api.get("/nodes", params={"colour": "blue"}), 400)


def test_a_bulk_create_makes_all_its_nodes_or_none(api: httpx.Client) -> None:
    tag = unique("bulk")
    good = [node_body(f"{tag}-{i}", f"198.51.100.{40 + i}") for i in range(3)]
    response = api.post("/nodes", json={"nodes": good})
    assert response.status_code == 201, response.text
    assert [n["name"] for n in response.json()["nodes"]] == [n["name"] for n in good]

    bad_ip = [node_body(f"{tag}-x"), node_body(f"{tag}-y", "not-an-ip")]
    assert_error(api.post("/nodes", json={"nodes": bad_ip}), 400)
    twice = [node_body(f"{tag}-z"), node_body(f"{tag}-z")]
    assert_error(api.post("/nodes", json={"nodes": twice}), 409, "NodeNameInUse")
    existing = [node_body(f"{tag}-w"), node_body(f"{tag}-0")]
    assert_error(api.post("/nodes", json={"nodes": existing}), 409, "NodeNameInUse")
    assert nodes_named(api, f"{tag}-x", f"{tag}-y", f"{tag}-z", f"{tag}-w") == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "v-1", "underlay_ip": "10.0.0.300"}, 400),
        ({"name": "v-2", "underlay_ip": "10.0.0.3", "mac_address": "zz:zz"}, 400),
        ({"name": "v-3", "underlay_ip": "10.0.0.3", "mac_address": "01:00:5e:00:00:01"}, 400),
        ({"name": "has space", "underlay_ip": "10.0.0.3"}, 400),
        ({"name": "a/b", "underlay_ip": "10.0.0.3"}, 400),
        ({"name": "", "underlay_ip": "10.0.0.3"}, 400),
        ({"name": "v-4"}, 400),
        ({"name": "v-5", "underlay_ip": "10.0.0.3", "colour": "blue"}, 400),
        ({"name": "v-6", "underlay_ip": 7}, 400),
        ({"name": "v-7", "underlay_ip": "10.0.0.3", "physical_networks": ["a b"]}, 400),
        ({"name": "v-8", "underlay_ip": "10.0.0.3", "physical_networks": ["a:b"]}, 400),
        ({"name": "v-9", "underlay_ip": "10.0.0.3", "physical_networks": "public"}, 400),
    ],
)
def test_a_node_must_be_valid(api: httpx.Client, body: dict[str, Any], status: int) -> None:
    assert_error(api.post("/nodes", json={"node": body}), status)
    if body.get("name"):
        assert nodes_named(api, body["name"]) == []


def test_names_are_unique(api: httpx.Client) -> None:
    first, second = create_node(api, unique("u")), create_node(api, unique("u"))
    assert_error(api.post("/nodes", json={"node": node_body(first["name"])}), 409, "NodeNameInUse")
    rename = api.put(f"/nodes/{second['id']}", json={"node": {"name": first["name"]}})
    assert_error(rename, 409, "NodeNameInUse")
    bad = api.put(f"/nodes/{second['id']}", json={"node": {"underlay_ip": "x"}})
    assert_error(bad, 400)
    assert api.get(f"/nodes/{second['id']}").json()["node"] == second


def test_nodes_and_agents_are_for_admins_only(api: httpx.Client) -> None:
    node = create_node(api, unique("adm"))
    for method, path, body in [
        ("GET", "/nodes", None),
        ("GET", f"/nodes/{node['id']}", None),
        ("POST", "/nodes", {"node": node_body(unique("m"))}),
        ("PUT", f"/nodes/{node['id']}", {"node": {"description": "mine"}}),
        ("DELETE", f"/nodes/{node['id']}", None),
        ("GET", f"/agents/{node['id']}", None),
        ("PUT", f"/agents/{node['id']}", {"agent": {"admin_state_up": False}}),
        ("DELETE", f"/agents/{node['id']}", None),
    ]:
        response = api.request(method, path, json=body, headers=MEMBER)
        assert_error(response, 403, "HTTPForbidden")
    assert api.get(f"/nodes/{node['id']}").json()["node"] == node


def test_a_member_lists_no_agents(api: httpx.Client) -> None:
    """Mirrors tempest test_agent_management_negative.AgentManagementNegativeTest
    .test_list_agents_non_admin: Neutron's policy filters every agent out of a member's list,
    a 200 with an empty list (whatever the filters), not a 403."""
    node = create_node(api, unique("mem"))
    assert api.get("/agents", params={"host": node["name"]}).json()["agents"] != []
    for params in ({}, {"host": node["name"]}, {"limit": "1"}):
        listed = api.get("/agents", params=params, headers=MEMBER)
        assert listed.status_code == 200, listed.text
        assert listed.json()["agents"] == []


# --- Neutron's agents ----------------------------------------------------------------------------


def test_each_node_is_an_alcor_agent(api: httpx.Client) -> None:
    node = create_node(api, unique("ag"), "198.51.100.60", mac_address="aa:bb:cc:00:00:60")
    listed = api.get("/agents", params={"host": node["name"]}).json()["agents"]
    assert len(listed) == 1
    agent = listed[0]
    assert {k: agent[k] for k in ("id", "host", "agent_type", "binary", "alive")} == {
        "id": node["id"],
        "host": node["name"],
        "agent_type": "Alcor agent",
        "binary": "alcor-agent",
        "alive": False,
    }
    assert agent["configurations"]["underlay_ip"] == "198.51.100.60"
    assert agent["heartbeat_timestamp"] is None
    assert api.get(f"/agents/{node['id']}").json()["agent"] == agent
    assert api.get("/agents", params={"host": node["name"], "alive": "true"}).json() == {
        "agents": []
    }
    for key, value in (("agent_type", "L3 agent"), ("binary", "neutron-l3-agent")):
        assert api.get("/agents", params={"host": node["name"], key: value}).json() == {
            "agents": []
        }
    fields = api.get("/agents", params={"host": node["name"], "fields": "host"}).json()
    assert fields == {"agents": [{"host": node["name"]}]}

    response = api.put(f"/agents/{node['id']}", json={"agent": {"admin_state_up": False}})
    assert response.status_code == 200, response.text
    assert response.json()["agent"]["admin_state_up"] is False
    assert api.get(f"/nodes/{node['id']}").json()["node"]["admin_state_up"] is False
    assert_error(api.put(f"/agents/{node['id']}", json={"agent": {"host": "x"}}), 400)
    assert api.delete(f"/agents/{node['id']}").status_code == 204
    assert_error(api.get(f"/agents/{node['id']}"), 404, "AgentNotFound")


def test_discovery_lists_the_agent_extension_and_the_nodes(api: httpx.Client) -> None:
    aliases = {e["alias"] for e in api.get("/extensions").json()["extensions"]}
    assert "agent" in aliases
    assert api.get("/extensions/agent").status_code == 200
    collections = {r["collection"] for r in api.get("").json()["resources"]}
    assert "nodes" in collections


# --- binding -------------------------------------------------------------------------------------


def test_a_port_on_a_host_that_is_no_node_binds_when_the_node_comes(
    api: httpx.Client, controller: ServerProcess
) -> None:
    """Mirrors neutron-tempest-plugin test_revisions.TestRevisions
    .test_portbinding_bumps_revision ('badhost1'): as Neutron's ML2, a port may name a host
    that is not (yet) a node; it shows ``binding:vif_type`` ``binding_failed`` until the node
    is made, then binds (``tap``, a new revision), and that host's agent is sent it."""
    network = create_network(api, name="binding")
    create_subnet(api, network["id"], "10.91.0.0/24")
    host = unique("bind")
    waiting = create_port(api, network["id"], **{"binding:host_id": host})
    assert (waiting["binding:host_id"], waiting["binding:vif_type"]) == (host, "binding_failed")
    plain = create_port(api, network["id"])
    assert plain["binding:vif_type"] == "unbound"
    moved = api.put(f"/ports/{plain['id']}", json={"port": {"binding:host_id": host}})
    assert moved.json()["port"]["binding:vif_type"] == "binding_failed", moved.text

    node = create_node(api, host)
    for port in (waiting, plain):
        shown = api.get(f"/ports/{port['id']}").json()["port"]
        assert shown["binding:vif_type"] == "tap"
        assert shown["revision_number"] > port["revision_number"]

    async def scenario() -> None:
        answer = await hello(controller, host)
        ports = {e.port.id for e in answer.goal_state.entries if e.HasField("port")}
        assert ports == {waiting["id"], plain["id"]}

    asyncio.run(scenario())
    # a node with ports bound to it stays, and keeps its name
    assert_error(api.delete(f"/nodes/{node['id']}"), 409, "NodeInUse")
    rename = api.put(f"/nodes/{node['id']}", json={"node": {"name": host + "-b"}})
    assert_error(rename, 409, "NodeInUse")
    assert_error(api.delete(f"/agents/{node['id']}"), 409, "NodeInUse")
    for port in (waiting, plain):
        unbind = api.put(f"/ports/{port['id']}", json={"port": {"binding:host_id": ""}})
        assert unbind.json()["port"]["binding:vif_type"] == "unbound", unbind.text
    # once free, it may be renamed: its old name binds nothing any more, its new one does
    renamed = api.put(f"/nodes/{node['id']}", json={"node": {"name": host + "-b"}})
    assert renamed.status_code == 200, renamed.text
    rebind = api.put(f"/ports/{plain['id']}", json={"port": {"binding:host_id": host}})
    assert rebind.json()["port"]["binding:vif_type"] == "binding_failed"
    rebind = api.put(f"/ports/{plain['id']}", json={"port": {"binding:host_id": host + "-b"}})
    assert rebind.json()["port"]["binding:vif_type"] == "tap"
    api.put(f"/ports/{plain['id']}", json={"port": {"binding:host_id": ""}})
    assert api.delete(f"/nodes/{node['id']}").status_code == 204
    # and a deleted node binds nothing either
    gone = create_port(api, network["id"], **{"binding:host_id": host + "-b"})
    assert gone["binding:vif_type"] == "binding_failed"


def test_a_host_registered_by_its_agent_is_sent_the_ports_waiting_for_it(
    api: httpx.Client, controller: ServerProcess
) -> None:
    """The node appears by its agent's first Hello (registration): the ports named for it bind
    in the same write, and the goal state that Hello is answered with holds them."""
    network = create_network(api, name="binding-register")
    create_subnet(api, network["id"], "10.93.0.0/24")
    host = unique("regbind")
    port = create_port(api, network["id"], **{"binding:host_id": host})
    assert port["binding:vif_type"] == "binding_failed"

    async def scenario() -> None:
        answer = await hello(controller, host, "198.51.100.91")
        ports = [e.port for e in answer.goal_state.entries if e.HasField("port")]
        assert [(p.id, p.mac_address) for p in ports] == [(port["id"], port["mac_address"])]

    asyncio.run(scenario())
    assert api.get(f"/ports/{port['id']}").json()["port"]["binding:vif_type"] == "tap"


def test_a_node_renamed_to_a_waiting_host_binds_its_ports(api: httpx.Client) -> None:
    network = create_network(api, name="binding-rename")
    create_subnet(api, network["id"], "10.92.0.0/24")
    host = unique("later")
    port = create_port(api, network["id"], **{"binding:host_id": host})
    node = create_node(api, unique("early"))
    assert api.get(f"/ports/{port['id']}").json()["port"]["binding:vif_type"] == "binding_failed"
    renamed = api.put(f"/nodes/{node['id']}", json={"node": {"name": host}})
    assert renamed.status_code == 200, renamed.text
    assert api.get(f"/ports/{port['id']}").json()["port"]["binding:vif_type"] == "tap"


# --- agents on the southbound --------------------------------------------------------------------


class RawAgent:
    """One host's stream, spoken by hand (with ``tls``: the host's certificate)."""

    def __init__(self, address: str, tls: stream.ClientTls | None = None) -> None:
        if tls is None:
            self.channel = grpc.aio.insecure_channel(address)
        else:
            self.channel = stream.open_channel(address, stream.Settings(host_id="raw"), tls=tls)
        self.stub = pb_grpc.SouthboundStub(self.channel)
        self.call: Any = None

    async def hello(
        self, host: str, underlay_ip: str = "", physical_networks: tuple[str, ...] = ()
    ) -> pb.ControllerMessage:
        self.call = self.stub.Connect()
        hello = pb.Hello(
            host_id=host,
            underlay_ip=underlay_ip,
            agent_version="raw",
            physical_networks=physical_networks,
        )
        await self.call.write(pb.AgentMessage(hello=hello))
        answer = await self.call.read()
        assert isinstance(answer, pb.ControllerMessage)
        return answer

    async def ack(self, revision: int) -> None:
        await self.call.write(pb.AgentMessage(ack=pb.Ack(revision=revision)))

    async def heartbeat(self) -> None:
        beat = pb.Heartbeat(agent_version="raw", uptime_seconds=1, resource_counts={"ports": 1})
        await self.call.write(pb.AgentMessage(heartbeat=beat))

    async def close(self) -> None:
        if self.call is not None:
            self.call.cancel()
        await self.channel.close()


@asynccontextmanager
async def raw_agent(controller: ServerProcess, host: str = "") -> AsyncIterator[RawAgent]:
    """A stream to the controller, with ``host``'s certificate from its CA if it has one."""
    pki = controller.pki
    agent = RawAgent(controller.southbound, pki.host(host) if pki is not None and host else None)
    try:
        yield agent
    finally:
        await agent.close()


async def hello(controller: ServerProcess, host: str, *claims: Any) -> pb.ControllerMessage:
    """What the controller answers the host's Hello (``claims``: its underlay address and
    physical networks), over a stream of the host's own."""
    async with raw_agent(controller, host) as agent:
        return await agent.hello(host, *claims)


def test_an_agent_of_an_unknown_host_registers_it(
    api: httpx.Client, controller: ServerProcess
) -> None:
    host = unique("reg")

    async def scenario() -> None:
        answer = await hello(controller, host, "198.51.100.80")
        assert answer.HasField("goal_state")
        assert answer.goal_state.snapshot
        # a known host again: fine, and its node keeps the address it was registered with
        assert (await hello(controller, host, "198.51.100.99")).HasField("goal_state")
        stranger = unique("noip")  # nothing to register it with
        assert "underlay_ip" in (await hello(controller, stranger)).refusal.reason

    asyncio.run(scenario())
    (node,) = nodes_named(api, host)
    assert (node["underlay_ip"], node["description"], node["physical_networks"]) == (
        "198.51.100.80",
        "registered by its agent",
        [],  # its certificate names none
    )
    assert node["state_changed_at"] is not None  # registered up (down again once silent)


def test_a_registered_host_maps_the_physical_networks_its_certificate_names(
    api: httpx.Client, controller: ServerProcess
) -> None:
    host = unique("certphys")
    assert controller.pki is not None
    tls = controller.pki.host(host, physical_networks=("public", "datacentre"))

    async def scenario() -> None:
        agent = RawAgent(controller.southbound, tls)
        try:  # what the Hello claims is not what counts
            assert (await agent.hello(host, "198.51.100.82", ("other",))).HasField("goal_state")
        finally:
            await agent.close()

    asyncio.run(scenario())
    assert nodes_named(api, host)[0]["physical_networks"] == ["datacentre", "public"]


def test_a_hello_claiming_physical_networks_or_an_address_changes_no_node(
    api: httpx.Client, controller: ServerProcess
) -> None:
    """The attack: a host's agent (or whoever holds its certificate) says Hello claiming the
    external network, to take routers' gateways; or claiming none, to drop a gateway host's."""
    gateway, compute = unique("gw"), unique("compute")
    create_node(api, gateway, "198.51.100.83", physical_networks=["public"])
    create_node(api, compute, "198.51.100.84")
    network = api.post(
        "/networks",
        json={
            "network": {
                "router:external": True,
                "provider:network_type": "flat",
                "provider:physical_network": "public",
            }
        },
    ).json()["network"]
    create_subnet(api, network["id"], "203.0.113.0/24", enable_dhcp=False)
    made = api.post(
        "/routers", json={"router": {"external_gateway_info": {"network_id": network["id"]}}}
    )
    assert made.status_code == 201, made.text

    async def scenario() -> None:
        async with raw_agent(controller, gateway) as real:
            assert (await real.hello(gateway, "198.51.100.83", ("public",))).HasField("goal_state")
            claimed = await hello(controller, compute, "198.51.100.99", ("public",))
            assert claimed.HasField("goal_state")  # admitted as itself, claiming nothing
            assert not any(e.HasField("router") for e in claimed.goal_state.entries)
            dropped = await hello(controller, gateway, "198.51.100.83", ())
            assert dropped.HasField("goal_state")

    asyncio.run(scenario())
    assert nodes_named(api, compute)[0]["physical_networks"] == []
    assert nodes_named(api, compute)[0]["underlay_ip"] == "198.51.100.84"
    assert nodes_named(api, gateway)[0]["physical_networks"] == ["public"]
    for node in nodes_named(api, gateway, compute):
        assert node["revision_number"] == 1
    log = controller.log_path.read_text()
    assert f"host {compute} says it maps physical networks ['public']" in log
    assert f"host {gateway} says it maps physical networks []" in log


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "0.0.0.0", "224.0.0.1", "169.254.1.1", "::1", "::", "fe80::1"]
)
def test_an_underlay_address_nobody_can_reach_is_refused(
    api: httpx.Client, controller: ServerProcess, address: str
) -> None:
    host = unique("ul")
    assert_error(api.post("/nodes", json={"node": node_body(host, address)}), 400)
    good = create_node(api, host + "-ok", "198.51.100.85")
    change = api.put(f"/nodes/{good['id']}", json={"node": {"underlay_ip": address}})
    assert_error(change, 400)
    assert "underlay_ip" in change.json()["NeutronError"]["message"]

    async def scenario() -> None:
        registering = await hello(controller, host, address)  # an unknown host's Hello
        assert "underlay_ip" in registering.refusal.reason
        known = await hello(controller, host + "-ok", address)  # a known host's
        assert "underlay_ip" in known.refusal.reason

    asyncio.run(scenario())
    assert nodes_named(api, host) == []
    assert nodes_named(api, host + "-ok")[0]["underlay_ip"] == "198.51.100.85"


def test_registration_stops_at_the_limit(tmp_path: Path) -> None:
    """The attack: a stream per made-up host id registers nodes without end (10,000 streams
    made 10,005 nodes). Beyond ``--register-hosts-limit`` an unknown host is refused; known
    hosts still connect."""
    process = ServerProcess(
        tmp_path / "alcor.db", "--register-hosts-limit", "2", pki=Pki(tmp_path / "pki")
    ).start()
    try:
        with httpx.Client(base_url=process.url + "/v2.0", timeout=30.0) as client:
            create_node(client, "operators-host")

            async def scenario() -> None:
                for host in ("first", "second"):
                    answer = await hello(process, host, "198.51.100.86")
                    assert answer.HasField("goal_state"), host
                third = await hello(process, "third", "198.51.100.86")
                assert "2 hosts were registered" in third.refusal.reason
                assert (await hello(process, "first")).HasField("goal_state")
                assert (await hello(process, "operators-host")).HasField("goal_state")

            asyncio.run(scenario())
            assert nodes_named(client, "third") == []
            assert len(client.get("/nodes").json()["nodes"]) == 3
    finally:
        process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


def test_a_plaintext_southbound_registers_no_host(tmp_path: Path) -> None:
    """Without TLS (loopback only) nobody proved who they are: known nodes connect, unknown
    hosts are not registered."""
    process = ServerProcess(tmp_path / "alcor.db").start()
    try:
        with httpx.Client(base_url=process.url + "/v2.0", timeout=30.0) as client:
            create_node(client, "known-host")

            async def scenario() -> None:
                answer = await hello(process, "stranger", "198.51.100.81")
                assert "registers only hosts that authenticate" in answer.refusal.reason
                assert (await hello(process, "known-host")).HasField("goal_state")

            asyncio.run(scenario())
            assert nodes_named(client, "stranger") == []
    finally:
        process.stop()
    assert "plaintext" in process.log_path.read_text()


def test_a_controller_that_does_not_register_hosts_refuses_unknown_ones(
    tmp_path: Path,
) -> None:
    process = ServerProcess(
        tmp_path / "alcor.db", "--no-register-hosts", pki=Pki(tmp_path / "pki")
    ).start()
    try:
        with httpx.Client(base_url=process.url + "/v2.0", timeout=30.0) as client:
            create_node(client, "known-host")

            async def scenario() -> None:
                answer = await hello(process, "stranger", "198.51.100.81")
                assert answer.HasField("refusal")
                assert "stranger" in answer.refusal.reason
                assert "does not register hosts" in answer.refusal.reason
                assert (await hello(process, "known-host")).HasField("goal_state")

            asyncio.run(scenario())
            assert nodes_named(client, "stranger") == []
            deadline = time.monotonic() + 15  # written up within a period of the watch (1 s)
            while nodes_named(client, "known-host")[0]["state"] != "up":
                assert time.monotonic() < deadline, "the known host never came up"
                time.sleep(0.05)
    finally:
        process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


def test_a_silent_node_goes_down_with_its_ports_and_comes_back_when_heard(
    controller: ServerProcess,
) -> None:
    host = unique("hb")

    async def scenario() -> None:
        async with (
            httpx.AsyncClient(base_url=controller.url + "/v2.0", timeout=30.0) as client,
            raw_agent(controller, host) as agent,
        ):

            async def get(path: str) -> Any:
                response = await client.get(path)
                assert response.status_code == 200, response.text
                return response.json()

            made = await client.post("/nodes", json={"node": node_body(host, "198.51.100.90")})
            node = made.json()["node"]
            network = (await client.post("/networks", json={"network": {}})).json()["network"]
            subnet = {"subnet": {"network_id": network["id"], "cidr": "10.92.0.0/24"}}
            await client.post("/subnets", json=subnet)
            body = {"port": {"network_id": network["id"], "binding:host_id": host}}
            port = (await client.post("/ports", json=body)).json()["port"]

            async def node_now() -> dict[str, Any]:
                shown: dict[str, Any] = (await get(f"/nodes/{node['id']}"))["node"]
                return shown

            async def port_status() -> str:
                return str((await get(f"/ports/{port['id']}"))["port"]["status"])

            first = await agent.hello(host)
            await agent.ack(first.goal_state.revision)
            await agent.heartbeat()
            up = await until_async(node_now, lambda n: n["state"] == "up", "the node up")
            assert up["last_heartbeat"] is not None
            await until_async(port_status, lambda s: s == "ACTIVE", "the port ACTIVE")
            await asyncio.sleep(0.3)  # the up transition's change reaches the engine too
            revision = (await get("/goalstate"))["goalstate"]["revision"]

            for _ in range(8):  # heartbeats well within --node-down-after: it stays up
                await agent.heartbeat()
                await asyncio.sleep(DOWN_AFTER / 4)
            assert (await node_now())["state"] == "up"
            assert (await get("/goalstate"))["goalstate"]["revision"] == revision  # no writes

            silent_since = time.monotonic()
            down = await until_async(node_now, lambda n: n["state"] == "down", "the node down")
            assert time.monotonic() - silent_since >= DOWN_AFTER - 0.3
            assert await port_status() == "DOWN"  # its stream is still open
            assert down["revision_number"] == up["revision_number"]  # observed, not intended
            assert down["state_changed_at"] is not None
            agents = (await get(f"/agents?host={host}"))["agents"]
            assert [a["alive"] for a in agents] == [False]
            report = (await get(f"/goalstate/hosts/{host}"))["host"]
            assert (report["connected"], report["lost"]) == (True, True)
            await asyncio.sleep(DOWN_AFTER)
            assert (await get("/goalstate"))["goalstate"]["revision"] == revision + 1  # once

            await agent.heartbeat()
            back = await until_async(node_now, lambda n: n["state"] == "up", "the node up again")
            assert back["revision_number"] == up["revision_number"]
            assert await port_status() == "ACTIVE"
            assert [a["alive"] for a in (await get(f"/agents?host={host}"))["agents"]] == [True]

    asyncio.run(scenario())


async def until_async(
    read: Callable[[], Any], check: Callable[[Any], bool], what: str, timeout: float = 15.0
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await read()
        if check(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {found}")
        await asyncio.sleep(0.05)
