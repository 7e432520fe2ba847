"""The operator's commands against a real ``alcor server`` with recording agents on real gRPC:
``alcor hosts`` and ``alcor ports`` show what the agents did and failed (with the agents'
reasons), ``alcor trace`` names exactly the host that has not acknowledged a port and the
security group that refuses a path, the trace endpoint is an admin's, and ``alcor trace
--agent`` reads the agent's admin socket (mode 0600). The commands run in-process through
``main(argv)`` with captured output, and once as a process."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from alcor.agent import admin_socket
from alcor.cli import main as cli
from tests.agents import Api, Host, names, project_api, run, tls_of, until
from tests.servers import ServerProcess


def alcor(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """``alcor ARGV --json`` in this process: (exit status, the JSON printed, stderr)."""
    capsys.readouterr()
    status = cli.main([*argv, "--json"])
    out, err = capsys.readouterr()
    return status, json.loads(out) if status == 0 else None, err


@asynccontextmanager
async def hosts_on_one_network(
    server: ServerProcess, count: int, *, cidr: str, fail_ports: str = ""
) -> AsyncIterator[tuple[Api, list[Host], str]]:
    """A project's API, ``count`` recording agents with a port each on one new network of it,
    settled; the agents are closed after, whatever happened."""
    hosts = [
        Host(n, server.southbound, tls=tls_of(server, n), fail_ports=fail_ports)
        for n in names("op", count)
    ]
    async with project_api(server) as api:
        await api.nodes(*(h.id for h in hosts))
        for host in hosts:
            host.start()
        try:
            network = await api.network()
            await api.subnet(network, cidr)
            await api.ports(network, [h.id for h in hosts])
            await api.settled(hosts)
            yield api, hosts, network
        finally:
            for host in hosts:
                await host.close()


def test_trace_names_exactly_the_host_that_has_not_acknowledged_a_port(
    server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    async def scenario() -> None:
        async with hosts_on_one_network(server, 3, cidr="10.61.0.0/24") as (api, hosts, network):
            a, b, stopped = hosts
            await stopped.stop()
            port = await api.port(network, a.id)
            await api.until_status(port["id"], "ACTIVE")
            key = f"neighbor:{port['id']}"
            await until(lambda: key in b.held(), "the running host to hold the neighbor")

            def acknowledged_by_b() -> bool:
                status, found, _ = alcor(capsys, "trace", port["id"], "--api", server.url)
                assert status == 0
                holders = {h["host"]: h for h in found["trace"]["holders"]}
                return holders[b.id]["acknowledged"]

            await until(acknowledged_by_b, "the running host's ack to reach the controller")
            _, found, _ = alcor(capsys, "trace", port["id"], "--api", server.url)
            trace = found["trace"]
            assert trace["unacknowledged"] == [stopped.id]
            holders = {h["host"]: h for h in trace["holders"]}
            assert set(holders) == {a.id, b.id, stopped.id}
            # its neighbor entry, and its membership of the default group (whose rules name
            # the group itself as remote group)
            held = {h["key"]: h for h in holders[stopped.id]["entries"]}
            group = port["security_groups"][0]
            assert set(held) == {key, f"member:{group}/{port['id']}"}
            assert not any(h["acknowledged"] for h in held.values())
            assert held[key]["revision"] > holders[stopped.id]["acknowledged_revision"]
            assert (trace["port"]["host"], trace["port"]["status"]) == (a.id, "ACTIVE")
            assert trace["port"]["revision"] == held[key]["revision"]

            # the text form says the same
            capsys.readouterr()
            assert cli.main(["trace", port["id"], "--api", server.url]) == 0
            text = capsys.readouterr().out
            assert f"not acknowledged by: {stopped.id}" in text

    run(scenario)


def test_trace_to_a_port_behind_a_refusing_group_names_the_group(
    server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    async def scenario() -> None:
        async with hosts_on_one_network(server, 2, cidr="10.62.0.0/24") as (api, hosts, network):
            tag = uuid.uuid4().hex[:6]
            group = (
                await api.call(
                    "POST", "/security-groups", 201, {"security_group": {"name": f"closed-{tag}"}}
                )
            )["security_group"]
            source = await api.port(network, hosts[0].id)
            target = await api.port(network, hosts[1].id, security_groups=[group["id"]])
            await api.settled(hosts)
            status, found, _ = alcor(
                capsys, "trace", source["id"], "--to", target["id"], "--api", server.url
            )
            assert status == 0
            path = found["trace"]["path"]
            assert (path["kind"], path["reachable"]) == ("l2", False)
            assert path["egress"]["allowed"]
            assert path["egress"]["rules"]
            assert [b["kind"] for b in path["breaks"]] == ["ingress_refused"]
            assert path["breaks"][0]["subject"] == group["id"]
            assert f"closed-{tag}" in path["breaks"][0]["reason"]

            source_ip = source["fixed_ips"][0]["ip_address"]
            rule = (
                await api.call(
                    "POST",
                    "/security-group-rules",
                    201,
                    {
                        "security_group_rule": {
                            "security_group_id": group["id"],
                            "direction": "ingress",
                            "protocol": "tcp",
                            "port_range_min": 22,
                            "port_range_max": 22,
                            "remote_ip_prefix": f"{source_ip}/32",
                        }
                    },
                )
            )["security_group_rule"]
            by_address = target["fixed_ips"][0]["ip_address"]
            argv = ("trace", source["id"], "--to", by_address, "--api", server.url)
            _, ssh, _ = alcor(capsys, *argv, "--protocol", "tcp", "--port", "22")
            assert ssh["trace"]["path"]["reachable"], ssh["trace"]["path"]["breaks"]
            assert ssh["trace"]["path"]["ingress"]["rules"] == [rule["id"]]
            _, web, _ = alcor(capsys, *argv, "--protocol", "tcp", "--port", "80")
            assert [b["subject"] for b in web["trace"]["path"]["breaks"]] == [group["id"]]

    run(scenario)


def test_hosts_and_ports_show_what_an_agent_failed_and_why(
    server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    async def scenario() -> None:
        tag = uuid.uuid4().hex[:6]
        async with hosts_on_one_network(
            server, 2, cidr="10.63.0.0/24", fail_ports=f"fail-{tag}-*"
        ) as (api, hosts, network):
            failing = await api.port(network, hosts[1].id, device_id=f"fail-{tag}-1")
            await api.until_status(failing["id"], "ERROR")
            status, found, _ = alcor(capsys, "hosts", "--api", server.url)
            assert status == 0
            shown = {h["host"]: h for h in found["hosts"]}
            assert shown[hosts[0].id]["state"] == "connected"
            assert shown[hosts[0].id]["failures"] == []
            assert shown[hosts[0].id]["lag"] == 0
            assert shown[hosts[0].id]["driver"] == "recording"
            assert shown[hosts[0].id]["controller"] == server.southbound
            assert shown[hosts[1].id]["failures"] == [
                {
                    "kind": "port",
                    "id": failing["id"],
                    "message": f"simulated failure: port matches 'fail-{tag}-*'",
                }
            ]
            assert shown[hosts[1].id]["underlay_ip"]

            argv = ("ports", "--status", "error", "--network", network, "--api", server.url)
            status, found, _ = alcor(capsys, *argv)
            assert status == 0
            assert [(p["id"], p["host"], p["status"]) for p in found["ports"]] == [
                (failing["id"], hosts[1].id, "ERROR")
            ]
            assert f"matches 'fail-{tag}-*'" in found["ports"][0]["reason"]
            _, on_host, _ = alcor(capsys, "ports", "--host", hosts[0].id, "--api", server.url)
            assert {p["status"] for p in on_host["ports"]} == {"ACTIVE"}

    run(scenario)


def test_the_trace_endpoint_is_an_admins_and_a_bad_port_is_neutrons_404(
    server: ServerProcess, api: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    network = api.post("/networks", json={"network": {"name": "t"}}).json()["network"]
    port = api.post("/ports", json={"port": {"network_id": network["id"]}}).json()["port"]
    member = {"X-Project-Id": network["project_id"], "X-Roles": "member"}
    refused = api.get(f"/goalstate/trace/{port['id']}", headers=member)
    assert refused.status_code == 403
    assert refused.json()["NeutronError"]["type"] == "HTTPForbidden"
    assert port["id"] not in refused.text  # the port's own project learns nothing of it
    missing = uuid.uuid4()
    unknown = api.get(f"/goalstate/trace/{missing}")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "NeutronError": {
            "type": "PortNotFound",
            "message": f"Port {missing} could not be found.",
            "detail": "",
        }
    }
    for query, status in (
        ("port=http", 400),
        ("port=70000", 400),
        ("protocol=carrier-pigeon", 400),
        ("hops=3", 400),
        ("to=" + "x" * 300, 404),
        ("to=10.0.0.1/24", 404),
    ):
        answer = api.get(f"/goalstate/trace/{port['id']}?{query}")
        assert answer.status_code == status, (query, answer.text)
        assert "NeutronError" in answer.json()

    status, _, err = alcor(capsys, "trace", str(missing), "--api", server.url)
    assert status == 1
    assert err.strip() == (
        f"alcor trace: error: GET /goalstate/trace/{missing}: 404 PortNotFound: "
        f"Port {missing} could not be found."
    )
    os.environ["ALCOR_API"] = server.url
    try:
        status, _, err = alcor(capsys, "hosts", "--os-project-id", "someone")
    finally:
        del os.environ["ALCOR_API"]
    assert status == 0  # noauth headers as admin of that project
    status, _, err = alcor(capsys, "hosts", "--api", "http://127.0.0.1:9")
    assert status == 1
    assert err == "alcor hosts: error: cannot reach the controller at http://127.0.0.1:9\n"


def test_trace_agent_reads_the_agents_admin_socket_made_0600(
    server: ServerProcess, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with hosts_on_one_network(server, 1, cidr="10.64.0.0/24") as (api, hosts, network):
            port = await api.port(network, hosts[0].id)
            await api.settled(hosts)
            path = str(tmp_path / "admin" / "agent.sock")
            listening = await admin_socket.serve(hosts[0].agent, path)
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert stat.S_IMODE(os.stat(tmp_path / "admin").st_mode) == 0o700
            command = [sys.executable, "-m", "alcor.cli.main", "trace", port["id"]]
            process = await asyncio.create_subprocess_exec(
                *command,
                *("--api", server.url, "--agent", "--agent-socket", path, "--json"),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(process.communicate(), 60)
            assert process.returncode == 0, err.decode()
            found = json.loads(out)
            agent = found["agent"]
            assert agent["host"] == hosts[0].id
            assert {f"port:{port['id']}", f"neighbor:{port['id']}"} <= set(agent["entries"])
            assert agent["dataplane"]["endpoints"]["network_id"] == network
            assert found["trace"]["unacknowledged"] == []

            reader, writer = await asyncio.open_unix_connection(path)
            writer.write(b'["port"]\n')
            assert json.loads(await reader.readline()) == {
                "error": 'expected one line: {"port": "<id>"}'
            }
            writer.close()
            if os.geteuid() == 0 and shutil.which("setpriv"):
                # the attack: another local user asks what the host holds (setpriv changes
                # user after the fork: a fork that does it itself runs gRPC's fork handlers)
                nobody = await asyncio.create_subprocess_exec(
                    *("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
                    "/usr/bin/python3",  # the system's: nobody may not run this tree's
                    "-I",
                    "-c",
                    "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])",
                    path,
                    cwd="/",
                    env={},
                    stderr=asyncio.subprocess.PIPE,
                )
                _, refused = await asyncio.wait_for(nobody.communicate(), 60)
                assert nobody.returncode == 1
                assert b"PermissionError" in refused
            listening.close()
            await listening.wait_closed()

    run(scenario)


def test_trace_across_a_router_and_out_through_its_gateway(
    server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two networks joined by a router: the path is routed through its two interfaces, an
    address outside every subnet has no way out until the router has an external gateway, and
    a port of the second network is a holder of the first's neighbor entry."""

    async def scenario() -> None:
        async with hosts_on_one_network(server, 2, cidr="10.65.0.0/24") as (api, hosts, near):
            far = await api.network()
            subnets = [
                (await api.call("GET", f"/subnets?network_id={near}", 200))["subnets"][0],
                await api.subnet(far, "10.66.0.0/24"),
            ]
            body = {"router": {"name": "r"}}
            router = (await api.call("POST", "/routers", 201, body))["router"]["id"]
            for subnet in subnets:
                body = {"subnet_id": subnet["id"]}
                await api.call("PUT", f"/routers/{router}/add_router_interface", 200, body)
            source = await api.port(near, hosts[0].id, port_security_enabled=False)
            target = await api.port(far, hosts[1].id, port_security_enabled=False)
            await api.settled(hosts)
            argv = ("trace", source["id"], "--api", server.url)
            _, found, _ = alcor(capsys, *argv, "--to", target["id"])
            path = found["trace"]["path"]
            assert (path["kind"], path["router_id"], path["breaks"]) == ("routed", router, [])
            assert [i["address"] for i in path["interfaces"]] == ["10.65.0.1", "10.66.0.1"]
            holders = {h["host"] for h in found["trace"]["holders"]}
            assert holders == {hosts[0].id, hosts[1].id}

            _, found, _ = alcor(capsys, *argv, "--to", "198.51.100.7")
            path = found["trace"]["path"]
            assert [(b["kind"], b["subject"]) for b in path["breaks"]] == [("no_gateway", near)]
            external = await api.call(
                "POST", "/networks", 201, {"network": {"router:external": True}}
            )
            await api.subnet(external["network"]["id"], "198.19.0.0/24", enable_dhcp=False)
            body = {"external_gateway_info": {"network_id": external["network"]["id"]}}
            await api.call("PUT", f"/routers/{router}", 200, {"router": body})
            _, found, _ = alcor(capsys, *argv, "--to", "198.51.100.7")
            path = found["trace"]["path"]
            assert (path["kind"], path["router_id"]) == ("external", router)
            assert path["egress"]["port_security"] is False

    run(scenario)
