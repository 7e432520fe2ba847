"""The southbound end to end: a real ``alcor server`` process, real gRPC on loopback, and
recording agents (``alcor.agent.stream.Agent`` with the recording driver) in this process.

What every host should hold is computed from the API's own listings, independently of the
goal-state engine (``tests.agents``), and compared with what the agent holds. Each test works in
its own project with its own host names.
"""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from alcor.agent import stream
from alcor.southbound import certificates
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb
from alcor.v1 import southbound_pb2_grpc as pb_grpc
from tests.agents import WAIT, Host, names, project_api, run, tls_of, until
from tests.integration.neutron import underlay_ip
from tests.servers import Pki, ServerProcess, free_port

GRACE = 0.5  # --disconnect-grace of the module's server
WINDOW = 0.005  # its --coalesce-ms (the default)


@pytest.fixture(scope="module")
def controller(
    tmp_path_factory: pytest.TempPathFactory, server_database: str
) -> Iterator[ServerProcess]:
    """The module's controller, on each dialect in turn (``server_database``)."""
    db = Path(tmp_path_factory.mktemp("southbound")) / "alcor.db"
    pki = Pki(db.parent / "pki")
    process = ServerProcess(
        db, "--disconnect-grace", str(GRACE), pki=pki, db_url=server_database
    ).start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


# --- who hears what ----------------------------------------------------------------------------


def test_ports_and_subnets_reach_exactly_the_hosts_that_need_them(
    controller: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with project_api(controller) as api:
            a, b, c = (
                Host(name, controller.southbound, tls=tls_of(controller, name))
                for name in names("h", 3)
            )
            await api.nodes(a.id, b.id, c.id)
            hosts = [a.start(), b.start(), c.start()]
            n1, n2 = await api.network(), await api.network()
            s1 = await api.subnet(n1, "10.1.0.0/24")
            await api.subnet(n2, "10.2.0.0/24")
            pa = await api.port(n1, a.id)
            pb_ = await api.port(n1, b.id)
            await api.port(n2, c.id)
            await api.converged(*hosts)
            neighbor = a.agent.state.get("neighbor", pb_["id"])
            assert neighbor is not None
            assert neighbor.neighbor.host_id == b.id
            assert list(neighbor.neighbor.ip_addresses) == [pb_["fixed_ips"][0]["ip_address"]]
            assert c.agent.state.get("network", n1) is None  # c serves only n2

            seen_by_c = len(c.agent.received)
            updated = await api.update("ports", pb_["id"], allowed_address_pairs=[])
            await api.update("ports", pa["id"], admin_state_up=False)
            await api.update("subnets", s1["id"], dns_nameservers=["10.1.0.53"])
            second = await api.subnet(n1, "10.1.1.0/24")
            await api.converged(*hosts)
            port_a = a.agent.state.get("port", pa["id"])
            assert port_a is not None
            assert not port_a.port.admin_state_up
            subnet = b.agent.state.get("subnet", s1["id"])
            assert subnet is not None
            assert list(subnet.subnet.dns_nameservers) == ["10.1.0.53"]
            assert updated["revision_number"] >= 2
            assert c.received_since(seen_by_c) == []  # nothing of n1 reaches c

            await api.delete("subnets", second["id"])
            await api.delete("ports", pb_["id"])
            await api.converged(*hosts)
            assert f"neighbor:{pb_['id']}" not in a.held()
            assert b.held() == set()  # its last port gone: nothing left
            for host in hosts:
                await host.close()

    run(scenario)


def test_a_router_joins_its_networks_on_every_host_that_serves_one(
    controller: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with project_api(controller) as api:
            a, b = (
                Host(name, controller.southbound, tls=tls_of(controller, name))
                for name in names("r", 2)
            )
            await api.nodes(a.id, b.id)
            hosts = [a.start(), b.start()]
            n1, n2 = await api.network(), await api.network()
            s1 = await api.subnet(n1, "10.3.0.0/24")
            s2 = await api.subnet(n2, "10.4.0.0/24")
            await api.port(n1, a.id)
            pb_ = await api.port(n2, b.id)
            found = await api.call("POST", "/routers", 201, {"router": {"name": "r"}})
            router = found["router"]["id"]
            for subnet in (s1, s2):
                body = {"subnet_id": subnet["id"]}
                await api.call("PUT", f"/routers/{router}/add_router_interface", 200, body)
            await api.converged(*hosts)
            assert f"neighbor:{pb_['id']}" in a.held()  # one router hop away
            entry = a.agent.state.get("router", router)
            assert entry is not None
            gateways = {i.ip_address for i in entry.router.interfaces}
            assert gateways == {s1["gateway_ip"], s2["gateway_ip"]}

            body = {"subnet_id": s2["id"]}
            await api.call("PUT", f"/routers/{router}/remove_router_interface", 200, body)
            await api.converged(*hosts)
            assert f"network:{n2}" not in a.held()
            body = {"subnet_id": s1["id"]}
            await api.call("PUT", f"/routers/{router}/remove_router_interface", 200, body)
            await api.delete("routers", router)
            await api.converged(*hosts)
            for host in hosts:
                await host.close()

    run(scenario)


def test_a_routers_gateway_and_floating_ips_reach_the_host_that_maps_its_network(
    controller: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with project_api(controller) as api:
            physnet = "phys-" + uuid.uuid4().hex[:8]
            gateway_id, compute_id = names("gw", 2)
            gateway = Host(
                gateway_id,
                controller.southbound,
                physical_networks=(physnet,),
                tls=tls_of(controller, gateway_id),
            )
            compute = Host(compute_id, controller.southbound, tls=tls_of(controller, compute_id))
            await api.nodes(compute.id)
            await api.nodes(gateway.id, physical_networks=[physnet])
            hosts = [gateway.start(), compute.start()]
            external = await api.call(
                "POST",
                "/networks",
                201,
                {
                    "network": {
                        "name": "public",
                        "router:external": True,
                        "provider:network_type": "flat",
                        "provider:physical_network": physnet,
                    }
                },
            )
            external_id = external["network"]["id"]
            await api.subnet(external_id, "198.18.0.0/24", enable_dhcp=False)
            inside = await api.network()
            subnet = await api.subnet(inside, "10.5.0.0/24")
            port = await api.port(inside, compute.id)
            found = await api.call("POST", "/routers", 201, {"router": {"name": "r"}})
            router = found["router"]["id"]
            body = {"subnet_id": subnet["id"]}
            await api.call("PUT", f"/routers/{router}/add_router_interface", 200, body)
            info = {"external_gateway_info": {"network_id": external_id}}
            await api.update("routers", router, **info)
            # once its node is up (its node maps the physical network), the gateway host
            # holds the router and the network behind it, with no port there
            gateway.serves.add(router)
            await api.converged(*hosts)
            assert {f"router:{router}", f"network:{inside}", f"neighbor:{port['id']}"} <= (
                gateway.held()
            )
            for host in hosts:
                entry = host.agent.state.get("router", router)
                assert entry is not None
                assert (entry.router.gateway_host_id, entry.router.gateway_host_ip) == (
                    gateway.id,
                    underlay_ip(gateway.id),
                )
                assert entry.router.gateway.physical_network == physnet
                (address,) = entry.router.gateway.addresses
                assert (address.prefix_length, address.gateway_ip) == (24, "198.18.0.1")

            fip = await api.call(
                "POST",
                "/floatingips",
                201,
                {"floatingip": {"floating_network_id": external_id, "port_id": port["id"]}},
            )
            fip_id = fip["floatingip"]["id"]
            await api.converged(*hosts)
            held = gateway.agent.state.get("floating_ip", fip_id)
            assert held is not None
            assert held.floating_ip.fixed_ip_address == port["fixed_ips"][0]["ip_address"]
            assert f"floating_ip:{fip_id}" not in compute.held()

            await api.update("floatingips", fip_id, port_id=None)
            await api.update("routers", router, external_gateway_info={})
            gateway.serves.clear()
            await api.converged(*hosts)
            assert gateway.held() == set()  # it served the gateway only
            entry = compute.agent.state.get("router", router)
            assert entry is not None
            assert entry.router.gateway_host_id == ""
            for host in hosts:
                await host.close()

    run(scenario)


def test_security_groups_rules_and_remote_group_members_reach_their_hosts(
    controller: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with project_api(controller) as api:
            a, b = (
                Host(name, controller.southbound, tls=tls_of(controller, name))
                for name in names("g", 2)
            )
            await api.nodes(a.id, b.id)
            hosts = [a.start(), b.start()]
            web = (await api.call("POST", "/security-groups", 201, {"security_group": {}}))[
                "security_group"
            ]["id"]
            db = (await api.call("POST", "/security-groups", 201, {"security_group": {}}))[
                "security_group"
            ]["id"]
            network = await api.network()
            await api.subnet(network, "10.5.0.0/24")
            await api.port(network, a.id, security_groups=[db])
            member = await api.port(network, b.id, security_groups=[web])
            await api.converged(*hosts)
            assert f"member:{web}/{member['id']}" not in a.held()

            rule_body = {
                "security_group_rule": {
                    "security_group_id": db,
                    "direction": "ingress",
                    "protocol": "tcp",
                    "port_range_min": 5432,
                    "port_range_max": 5432,
                    "remote_group_id": web,
                }
            }
            rule = (await api.call("POST", "/security-group-rules", 201, rule_body))[
                "security_group_rule"
            ]["id"]
            await api.converged(*hosts)
            entry = a.agent.state.get("member", f"{web}/{member['id']}")
            assert entry is not None
            assert list(entry.member.ip_addresses) == [member["fixed_ips"][0]["ip_address"]]
            group = a.agent.state.get("security_group", db)
            assert group is not None
            rules = {r.id: r for r in group.security_group.rules}
            assert (rules[rule].remote_group_id, rules[rule].port_range_min) == (web, 5432)

            await api.update("ports", member["id"], security_groups=[])
            await api.converged(*hosts)
            await api.delete("security-group-rules", rule)
            await api.converged(*hosts)
            assert not any(key.startswith(f"member:{web}/") for key in a.held())
            for host in hosts:
                await host.close()

    run(scenario)


# --- status back to the API --------------------------------------------------------------------


def test_port_status_follows_acks_failures_and_the_hosts_presence(
    controller: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with project_api(controller) as api:
            (name,) = names("s", 1)
            await api.nodes(name)
            network = await api.network()
            await api.subnet(network, "10.6.0.0/24")
            good = await api.port(network, name, device_id="vm-good")
            bad = await api.port(network, name, device_id="fail-1")
            unbound = await api.port(network, "")
            assert await api.status_of(good["id"]) == "DOWN"  # nobody acknowledged it yet

            host = Host(
                name, controller.southbound, tls=tls_of(controller, name), fail_ports="fail-*"
            ).start()

            async def status_is(port_id: str, wanted: str) -> None:
                deadline = time.monotonic() + WAIT
                while (found := await api.status_of(port_id)) != wanted:
                    assert time.monotonic() < deadline, f"{port_id} stayed {found}, not {wanted}"
                    await asyncio.sleep(0.02)

            await status_is(good["id"], "ACTIVE")
            await status_is(bad["id"], "ERROR")
            assert await api.status_of(unbound["id"]) == "DOWN"
            report = await api.host_report(name)
            assert [(f["kind"], f["id"]) for f in report["failures"]] == [("port", bad["id"])]
            assert report["failures"][0]["message"]
            assert (report["connected"], report["lag"], report["ports"]) == (True, 0, 2)
            shown = await api.call("GET", f"/ports/{good['id']}", 200)
            assert shown["port"]["revision_number"] == good["revision_number"]  # observed only

            await api.update("ports", bad["id"], device_id="vm-fixed")
            await status_is(bad["id"], "ACTIVE")
            await api.update("ports", good["id"], **{"binding:host_id": ""})
            assert await api.status_of(good["id"]) == "DOWN"

            await host.close()
            await status_is(bad["id"], "DOWN")  # the host is lost beyond the grace period
            report = await api.host_report(name)
            assert not report["connected"]

    run(scenario)


def test_a_port_that_failed_becomes_active_once_its_host_programs_it_on_a_retry(
    controller: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with project_api(controller) as api:
            (name,) = names("heal", 1)
            await api.nodes(name)
            network = await api.network()
            await api.subnet(network, "10.6.1.0/24")
            host = Host(name, controller.southbound, tls=tls_of(controller, name))
            port = await api.port(network, name)
            host.driver.fail(port["id"], "no tap yet")
            host.start()
            await until(lambda: port["id"] in host.driver.failed(), "the port to fail")
            deadline = time.monotonic() + WAIT
            while await api.status_of(port["id"]) != "ERROR":
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            revision = host.agent.state.revision
            host.driver.heal(port["id"])  # what was missing is there now: nothing else changes
            while await api.status_of(port["id"]) != "ACTIVE":
                assert time.monotonic() < deadline, "the retry never reported the port healed"
                await asyncio.sleep(0.02)
            assert host.agent.state.revision == revision  # no goal state was needed
            assert (await api.host_report(name))["failures"] == []
            await host.close()

    run(scenario)


def test_the_details_a_host_reports_show_in_the_ports_vif_details_until_it_leaves(
    controller: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with project_api(controller) as api:
            (name,) = names("v", 1)
            await api.nodes(name)
            network = await api.network()
            await api.subnet(network, "10.7.0.0/24")
            port = await api.port(network, name)
            other = await api.port(network, name)
            stored = port["binding:vif_details"]
            host = Host(name, controller.southbound, tls=tls_of(controller, name))
            host.driver.bind(port["id"], {"netns": "alns-test"})
            host.start()

            async def details_are(port_id: str, wanted: dict[str, Any]) -> dict[str, Any]:
                deadline = time.monotonic() + WAIT
                while True:
                    shown: dict[str, Any] = (await api.call("GET", f"/ports/{port_id}", 200))[
                        "port"
                    ]
                    if shown["binding:vif_details"] == wanted:
                        return shown
                    assert time.monotonic() < deadline, f"{port_id}: {shown}"
                    await asyncio.sleep(0.02)

            shown = await details_are(port["id"], {**stored, "netns": "alns-test"})
            assert shown["revision_number"] == port["revision_number"]  # observed only
            assert (await api.status_of(other["id"])) == "ACTIVE"
            assert (await details_are(other["id"], other["binding:vif_details"])) is not None
            listed = await api.listed("ports", "ports")
            assert {p["id"]: p["binding:vif_details"] for p in listed}[port["id"]] == {
                **stored,
                "netns": "alns-test",
            }

            # a new stream reports everything again; a port reported later shows too
            await host.stop()
            host.driver.bind(other["id"], {"netns": "alns-other"})
            host.start()
            await details_are(other["id"], {**other["binding:vif_details"], "netns": "alns-other"})
            await details_are(port["id"], {**stored, "netns": "alns-test"})

            # unbound: the host's details go with it
            await api.update("ports", port["id"], **{"binding:host_id": ""})
            await details_are(port["id"], {})
            await host.close()

    run(scenario)


# --- resync ------------------------------------------------------------------------------------


def test_an_agent_that_reconnects_gets_only_the_delta(controller: ServerProcess) -> None:
    async def scenario() -> None:
        async with project_api(controller) as api:
            a, far = names("d", 2)
            await api.nodes(a, far)
            network = await api.network()
            await api.subnet(network, "10.7.0.0/22")
            await api.port(network, a)
            await api.ports(network, [far] * 50)
            host = Host(a, controller.southbound, tls=tls_of(controller, a)).start()
            await api.converged(host)
            (first,) = host.agent.received
            assert first.snapshot
            assert len(first.entries) > 50

            await host.stop()  # the stream is lost; the agent keeps what it holds
            new = await api.ports(network, [far] * 3)
            seen = len(host.agent.received)
            host.start()
            await api.converged(host)
            (resumed,) = host.received_since(seen)
            assert not resumed.snapshot
            # the three new neighbors and their addresses in the default group, nothing else
            assert {keys.entry_key(entry) for entry in resumed.entries} == {
                *(f"neighbor:{p['id']}" for p in new),
                *(f"member:{g}/{p['id']}" for p in new for g in p["security_groups"]),
            }
            await host.close()

    run(scenario)


def test_bulk_creates_reach_a_host_coalesced(controller: ServerProcess) -> None:
    async def scenario() -> None:
        async with project_api(controller) as api:
            a, far = names("c", 2)
            await api.nodes(a, far)
            network = await api.network()
            await api.subnet(network, "10.8.0.0/22")
            await api.port(network, a)
            host = Host(a, controller.southbound, tls=tls_of(controller, a)).start()
            await api.converged(host)
            seen = len(host.agent.received)
            await api.ports(network, [far] * 200)  # one commit: one goal state
            await api.converged(host)
            (bulk,) = host.received_since(seen)
            assert sum(entry.HasField("neighbor") for entry in bulk.entries) == 200

            seen = len(host.agent.received)
            started = time.monotonic()
            await asyncio.gather(*(api.port(network, far) for _ in range(40)))
            await api.converged(host)
            elapsed = time.monotonic() - started
            goals = host.received_since(seen)
            neighbors = [
                entry for goal in goals for entry in goal.entries if entry.HasField("neighbor")
            ]
            assert len(neighbors) == 40  # each exactly once
            assert len(goals) <= 1 + elapsed / WINDOW  # at most one goal state per window
            await host.close()

    run(scenario)


def test_a_controller_restart_converges_with_deltas_and_another_store_sends_a_snapshot(
    tmp_path: Path,
) -> None:
    first = ServerProcess(tmp_path / "first.db").start()
    other = ServerProcess(tmp_path / "other.db").start()
    restarted: ServerProcess | None = None

    async def scenario() -> None:
        nonlocal restarted
        async with project_api(first) as api:
            a, b = (Host(name, first.southbound) for name in names("k", 2))
            await api.nodes(a.id, b.id)
            hosts = [a.start(), b.start()]
            network = await api.network()
            await api.subnet(network, "10.9.0.0/24")
            port_a = await api.port(network, a.id)
            await api.port(network, b.id)
            await api.converged(*hosts)
            seen = [len(host.agent.received) for host in hosts]

            first.kill()
            restarted = ServerProcess(
                first.db_path, port=first.port, southbound=first.southbound
            ).start()
            await until(
                lambda: all(
                    h.agent.status.sessions >= 2 and h.agent.status.acks > s
                    for h, s in zip(hosts, seen, strict=True)
                ),
                "the agents to come back",
            )
            for host, count in zip(hosts, seen, strict=True):
                (resumed,) = host.received_since(count)
                assert not resumed.snapshot, host.id
                assert len(resumed.entries) == 0  # nothing changed: nothing to send
            seen = [len(host.agent.received) for host in hosts]
            port_c = await api.port(network, b.id)
            await api.converged(*hosts)
            for host, count in zip(hosts, seen, strict=True):
                assert not any(goal.snapshot for goal in host.received_since(count)), host.id
            assert f"neighbor:{port_c['id']}" in a.held()
            while await api.status_of(port_a["id"]) != "ACTIVE":
                await asyncio.sleep(0.02)

            before = a.held()
            async with project_api(other) as other_api:
                await other_api.nodes(a.id)
            await a.move_to(other.southbound)  # the same state, another store's controller
            a.start()
            await until(lambda: len(a.agent.received) == 1, "the other controller's answer")
            (answer,) = a.agent.received
            assert answer.snapshot
            assert a.held() == set()  # nothing of the first store is kept
            assert before
            for host in hosts:
                await host.close()

    try:
        run(scenario)
    finally:
        for process in (first, other, restarted):
            if process is not None:
                process.stop()
                assert "Traceback" not in process.errors_logged(), process.errors_logged()


def change_log(db: Path) -> tuple[int, int, int]:
    """Rows in the change log, the store's revision, and the floor it is compacted through."""
    connection = sqlite3.connect(db)
    try:
        (rows,) = connection.execute("SELECT count(*) FROM change_log").fetchone()
        revision, floor = connection.execute(
            "SELECT revision, compacted_through FROM store_revision"
        ).fetchone()
        return int(rows), int(revision), int(floor)
    finally:
        connection.close()


def test_a_compacted_change_log_still_resumes_hosts_with_deltas_after_a_restart(
    tmp_path: Path,
) -> None:
    """The controller folds its change log behind the last 30 revisions. After a kill -9 and a
    restart on the folded log, a host that was current resumes with a delta; a host that fell
    behind the floor gets a snapshot; both converge."""
    # no engine checkpoint: the restart replays the folded log (and compaction is not held
    # back to the newest checkpoint: tests/integration/test_checkpoints.py)
    options = (
        "--change-log-keep",
        "30",
        "--change-log-interval",
        "0.05",
        "--checkpoint-every",
        "0",
    )
    first = ServerProcess(tmp_path / "alcor.db", *options).start()
    restarted: ServerProcess | None = None

    async def scenario() -> None:
        nonlocal restarted
        async with project_api(first) as api:
            current, behind = (Host(name, first.southbound) for name in names("c", 2))
            await api.nodes(current.id, behind.id)
            current.start()
            behind.start()
            network = await api.network()
            await api.subnet(network, "10.7.0.0/24")
            await api.port(network, behind.id)
            await api.converged(current, behind)
            await behind.stop()  # it holds an early revision from now on
            ports = [await api.port(network, current.id) for _ in range(30)]
            for port in ports[:10]:
                await api.update("ports", port["id"], name="renamed")
            for port in ports[10:20]:
                await api.delete("ports", port["id"])
            await api.converged(current)
            folded = current.agent.state.revision  # renames and deletes up to here fold away
            await api.ports(network, [current.id] * 40)
            await api.converged(current)
            await until(lambda: change_log(first.db_path)[2] >= folded, "the log to be compacted")
            rows, revision, _ = change_log(first.db_path)
            assert rows <= revision - 30  # 10 superseded creates, 10 creates and 10 deletes
            seen = len(current.agent.received)

            first.kill()
            restarted = ServerProcess(first.db_path, *options, southbound=first.southbound)
            restarted.port = first.port
            restarted.url = first.url
            restarted.start()
            await until(lambda: current.agent.status.sessions >= 2, "the current host to resume")
            await until(lambda: len(current.agent.received) > seen, "its first answer")
            resumed = current.received_since(seen)[0]
            assert not resumed.snapshot
            assert len(resumed.entries) == 0

            behind_seen = len(behind.agent.received)
            behind.start()
            await until(lambda: len(behind.agent.received) > behind_seen, "the late host's answer")
            assert behind.received_since(behind_seen)[0].snapshot
            await api.port(network, behind.id)
            await api.converged(current, behind)
            await current.close()
            await behind.close()

    try:
        run(scenario)
    finally:
        for process in (first, restarted):
            if process is not None:
                process.stop()
                assert "Traceback" not in process.errors_logged(), process.errors_logged()


# --- the stream itself ---------------------------------------------------------------------------


def test_a_second_stream_of_a_host_replaces_the_first_and_a_stream_must_open_with_hello(
    controller: ServerProcess,
) -> None:
    async def scenario() -> None:
        (name,) = names("x", 1)
        async with project_api(controller) as api:
            await api.nodes(name)
        hello = pb.AgentMessage(hello=pb.Hello(host_id=name))
        settings = stream.Settings(host_id=name)
        tls = tls_of(controller, name)
        async with stream.open_channel(controller.southbound, settings, tls=tls) as channel:
            stub = pb_grpc.SouthboundStub(channel)
            first = stub.Connect()
            await first.write(hello)
            answer = await first.read()
            assert isinstance(answer, pb.ControllerMessage)
            assert answer.goal_state.snapshot
            second = stub.Connect()
            await second.write(hello)
            answer = await second.read()
            assert isinstance(answer, pb.ControllerMessage)
            assert answer.goal_state.snapshot
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                await first.read()
            assert ended.value.code() == grpc.StatusCode.ABORTED
            second.cancel()

            rude = stub.Connect()
            await rude.write(pb.AgentMessage(ack=pb.Ack(revision=1)))
            answer = await rude.read()
            assert isinstance(answer, pb.ControllerMessage)
            assert answer.HasField("refusal")
            assert await rude.read() == grpc.aio.EOF

    run(scenario)


# --- who may connect: mutual TLS bound to the host ---------------------------------------------


async def first_answer(
    address: str, host: str, tls: stream.ClientTls | None
) -> pb.ControllerMessage:
    """The controller's answer to ``host``'s Hello on a stream with ``tls`` (None: plaintext);
    raises the stream's error."""
    settings = stream.Settings(host_id=host)
    if tls is None:
        channel = grpc.aio.insecure_channel(address)
    else:
        channel = stream.open_channel(address, settings, tls=tls)
    async with channel:
        call = pb_grpc.SouthboundStub(channel).Connect()
        await call.write(pb.AgentMessage(hello=pb.Hello(host_id=host, underlay_ip="198.18.7.7")))
        answer = await call.read()
        call.cancel()
        assert isinstance(answer, pb.ControllerMessage)
        return answer


async def refused_code(address: str, host: str, tls: stream.ClientTls | None) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await first_answer(address, host, tls)
    code: grpc.StatusCode = refused.value.code()
    return code


def test_a_stream_without_a_certificate_of_the_controllers_ca_is_refused(
    controller: ServerProcess, tmp_path: Path
) -> None:
    """The attack: any process that reaches the port says Hello for a host and is sent its
    goal state. Without a certificate, with one of another CA, or with an expired one, the
    TLS handshake fails: no Hello is read, no node is made."""
    assert controller.pki is not None
    other_ca = Pki(tmp_path / "other")

    async def scenario() -> None:
        async with project_api(controller) as api:
            victim, stranger = names("victim", 2)
            await api.nodes(victim)
            address = controller.southbound
            assert await refused_code(address, victim, None) == grpc.StatusCode.UNAVAILABLE
            foreign = other_ca.host(victim)
            assert await refused_code(address, victim, foreign) == grpc.StatusCode.UNAVAILABLE
            expired = controller.pki.host(victim, days=-1)
            assert await refused_code(address, victim, expired) == grpc.StatusCode.UNAVAILABLE
            foreign = other_ca.host(stranger)
            assert await refused_code(address, stranger, foreign) == grpc.StatusCode.UNAVAILABLE
            await api.call("GET", f"/goalstate/hosts/{victim}", 404)  # never connected
            found = await api.call("GET", f"/nodes?name={stranger}", 200)
            assert found["nodes"] == []
            # the regression: the host's own certificate is admitted
            answer = await first_answer(address, victim, controller.pki.host(victim))
            assert answer.goal_state.snapshot

    run(scenario)


def test_a_hello_for_another_host_than_the_certificates_is_refused(
    controller: ServerProcess,
) -> None:
    """The attack: host Y's agent (or whoever took Y's key) says Hello as host X, to read X's
    goal state and cut X's agent off. PERMISSION_DENIED, logged; X's stream stays."""
    assert controller.pki is not None

    async def scenario() -> None:
        async with project_api(controller) as api:
            x_id, y_id = names("x", 2)
            await api.nodes(x_id, y_id)
            network = await api.network()
            await api.subnet(network, "10.31.0.0/24")
            await api.port(network, x_id)
            x = Host(x_id, controller.southbound, tls=tls_of(controller, x_id)).start()
            await api.converged(x)
            sessions = x.agent.status.sessions
            y_tls = controller.pki.host(y_id)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await first_answer(controller.southbound, x_id, y_tls)
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            details = refused.value.details() or ""
            assert f"for {y_id}, not for host {x_id}" in details
            # an agent so refused stops: retrying cannot help
            impostor = Host(x_id, controller.southbound, tls=y_tls)
            with pytest.raises(stream.Refused, match="not for host"):
                await asyncio.wait_for(impostor.agent.run(), WAIT)
            await impostor.close()
            assert x.agent.status.connected
            assert x.agent.status.sessions == sessions  # never cut off
            assert (await api.host_report(x_id))["connected"] is True
            await x.close()
        log = controller.log_path.read_text()
        assert f"refused a Hello for host {x_id}" in log

    run(scenario)


def test_the_controllers_certificate_is_replaced_without_a_restart(tmp_path: Path) -> None:
    """Rotation: new files are used by the next handshake; streams open stay open. The first
    certificate names 127.0.0.1 and localhost only; the new one also ``rotated.test``, which a
    client may then ask for."""
    pki = Pki(tmp_path / "pki")
    process = ServerProcess(tmp_path / "alcor.db", pki=pki).start()

    def asking_for(name: str) -> stream.ClientTls:
        assert process.pki is not None
        tls = process.pki.host("rotating")
        return stream.ClientTls(
            ca=tls.ca, certificate=tls.certificate, key=tls.key, server_name=name
        )

    async def scenario() -> None:
        async with project_api(process) as api:
            await api.nodes("rotating")
        address = process.southbound
        code = await refused_code(address, "rotating", asking_for("rotated.test"))
        assert code == grpc.StatusCode.UNAVAILABLE  # the certificate does not name it
        before = Host("rotating", address, tls=asking_for("localhost")).start()
        await until(lambda: before.agent.status.acks > 0, "the first stream")

        issued = certificates.issue_controller(
            pki.ca,
            "controller",
            sans=("127.0.0.1", "localhost", "rotated.test"),
            now=datetime.datetime.now(datetime.UTC),
            days=1,
        )
        pki.write_controller(issued)
        answer = await first_answer(address, "rotating", asking_for("rotated.test"))
        assert answer.HasField("goal_state")
        assert before.agent.status.sessions == 1  # the stream opened before stays
        await before.close()

    try:
        run(scenario)
    finally:
        process.stop()


def test_a_southbound_beyond_loopback_needs_tls_or_an_explicit_insecure(tmp_path: Path) -> None:
    address = f"0.0.0.0:{free_port()}"
    with pytest.raises(RuntimeError, match="--southbound-insecure"):
        ServerProcess(tmp_path / "a.db", southbound=address).start()
    insecure = ServerProcess(tmp_path / "b.db", "--southbound-insecure", southbound=address)
    insecure.start().stop()
    secure = ServerProcess(tmp_path / "c.db", southbound=address, pki=Pki(tmp_path / "pki"))
    secure.start().stop()
