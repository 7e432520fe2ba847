"""Roles split: an ``alcor server --role api`` process takes the Neutron API, a ``--role
southbound`` process on the same store (one SQLite file, or a PostgreSQL database) serves the
agents. Each serves only its own face; the southbound process writes nothing through the API,
follows the API process's commits from the store (woken by the store's signal: its safety poll
is set beyond the test), and its hosts converge to exactly their goal state. Status goes the
other way, through the status rows the southbound process writes: the API process shows its
ports ACTIVE, ERROR and DOWN, its hosts' reports and its agents' liveness."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents import (
    NEVER_POLL,
    WAIT,
    Api,
    Host,
    hosts_follow_writes,
    names,
    project_api,
    run,
    tls_of,
)
from tests.servers import Pki, ServerProcess


@pytest.fixture(scope="module")
def split(
    server_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    folder = Path(tmp_path_factory.mktemp("roles"))
    api = ServerProcess(folder / "api.db", db_url=server_database, role="api")
    southbound = ServerProcess(
        folder / "southbound.db",
        *NEVER_POLL,
        # an agent that goes away is found silent soon; its stream's end alone would not do
        *("--node-down-after", "1", "--disconnect-grace", "600"),
        db_url=server_database,
        pki=Pki(folder / "pki"),
        role="southbound",
    )
    started: list[ServerProcess] = []
    try:
        for server in (api, southbound):  # one at a time: the first migrates the schema
            started.append(server.start())
        yield api, southbound
    finally:
        for server in started:
            server.stop()
    for server in started:
        assert "Traceback" not in server.errors_logged(), server.errors_logged()


def refused(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5.0).close()
    except ConnectionRefusedError:
        return True
    return False


def test_each_process_serves_only_its_role(split: tuple[ServerProcess, ServerProcess]) -> None:
    api, southbound = split
    assert refused(api.southbound)  # no gRPC on the API process
    assert refused(southbound.url.removeprefix("http://"))  # no HTTP on the southbound's
    assert not refused(southbound.southbound)


def test_what_the_api_process_commits_reaches_the_southbound_processs_hosts(
    split: tuple[ServerProcess, ServerProcess],
) -> None:
    writing, serving = split

    async def scenario() -> None:
        async with project_api(writing) as api:
            for host in await hosts_follow_writes(api, serving, cidr="10.4.0.0/24"):
                await host.close()

    run(scenario)


async def eventually(probe: Callable[[], Awaitable[Any]], what: str) -> Any:
    """The probe's first truthy answer, within WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not (found := await probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
    return found


async def listed_ids(api: Api, status: str) -> set[str]:
    project = api.client.headers["x-project-id"]
    found = await api.call("GET", f"/ports?project_id={project}&status={status}", 200)
    return {port["id"] for port in found["ports"]}


def test_status_reaches_the_api_process_from_the_southbound_process(
    split: tuple[ServerProcess, ServerProcess],
) -> None:
    writing, serving = split

    async def scenario() -> None:
        async with project_api(writing) as api:
            a, b = (
                Host(n, serving.southbound, tls=tls_of(serving, n), fail_ports="fail-*")
                for n in names("s", 2)
            )
            await api.nodes(a.id, b.id)
            hosts = [a.start(), b.start()]
            network = await api.network()
            await api.subnet(network, "10.5.0.0/24")
            first, second = await api.ports(network, [a.id, a.id])
            failing = await api.port(network, b.id, device_id="fail-1")
            try:
                for port in (first, second):
                    await api.until_status(port["id"], "ACTIVE")
                await api.until_status(failing["id"], "ERROR")
                assert await listed_ids(api, "ACTIVE") == {first["id"], second["id"]}
                assert await listed_ids(api, "ERROR") == {failing["id"]}

                async def caught_up() -> list[dict[str, Any]]:
                    reports = (await api.call("GET", "/goalstate/hosts", 200))["hosts"]
                    mine = [r for r in reports if r["host"] in (a.id, b.id)]
                    done = len(mine) == 2 and all(r["connected"] and not r["lag"] for r in mine)
                    return mine if done else []

                reports = {r["host"]: r for r in await eventually(caught_up, "lag 0")}
                assert reports[a.id]["ports"] == 2
                assert reports[a.id]["acknowledged_revision"] > 0
                assert [f["id"] for f in reports[b.id]["failures"]] == [failing["id"]]

                async def beating() -> list[dict[str, Any]]:
                    agents = (await api.call("GET", "/agents", 200))["agents"]
                    mine = [g for g in agents if g["host"] in (a.id, b.id)]
                    done = len(mine) == 2 and all(g["heartbeat_timestamp"] for g in mine)
                    return mine if done else []

                for agent in await eventually(beating, "the agents' heartbeats"):
                    assert agent["alive"]
                    assert agent["configurations"]["connected"]

                await a.stop()  # silent beyond --node-down-after: down, with its ports
                for port in (first, second):
                    await api.until_status(port["id"], "DOWN")
                assert (await api.host_report(a.id))["lost"]
                assert await listed_ids(api, "ACTIVE") == set()
                assert await api.status_of(failing["id"]) == "ERROR"
            finally:
                for host in hosts:
                    await host.close()

    run(scenario)


def test_a_routers_interface_status_reaches_the_api_process_through_the_rows(
    split: tuple[ServerProcess, ServerProcess],
) -> None:
    """The status rows carry a router's ports too, one per holding host: the API process
    shows an interface ACTIVE once its holder acknowledged it, DOWN once no holder is up
    (``services.status.spread_status`` over the mirror)."""
    writing, serving = split

    async def scenario() -> None:
        async with project_api(writing) as api:
            (name,) = names("ri", 1)
            host = Host(name, serving.southbound, tls=tls_of(serving, name))
            await api.nodes(host.id)
            network = await api.network()
            subnet = await api.subnet(network, "10.7.0.0/24")
            await api.port(network, host.id)
            router = (await api.call("POST", "/routers", 201, {"router": {}}))["router"]["id"]
            body = {"subnet_id": subnet["id"]}
            info = await api.call("PUT", f"/routers/{router}/add_router_interface", 200, body)
            await api.until_status(info["port_id"], "DOWN")  # its one holder never connected
            host.start()
            try:
                await api.until_status(info["port_id"], "ACTIVE")
                await host.stop()  # silent beyond --node-down-after: no holder is up
                await api.until_status(info["port_id"], "DOWN")
            finally:
                await host.close()

    run(scenario)
