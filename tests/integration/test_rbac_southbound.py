"""A network shared by an RBAC policy, end to end through the southbound: a real ``alcor
server``, real gRPC on loopback and recording agents. The goal state is per network, so the
port another project makes on the shared network (with the owner's group, shared with it too)
reaches the hosts of the owner's ports, and theirs reach its host, as any two ports of one
network do (mirrors neutron_tempest_plugin
RBACSharedNetworksTest test_network_only_visible_to_policy_target and SharedNetworksTest
test_create_port_shared_network_as_non_admin_tenant, carried down to the hosts)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agents import WAIT, Host, names, run, tls_of, until
from tests.integration.neutron import underlay_ip
from tests.servers import Pki, ServerProcess

ADMIN = {"X-Project-Id": "admin", "X-Roles": "admin,member"}


@pytest.fixture(scope="module")
def controller(
    tmp_path_factory: pytest.TempPathFactory, server_database: str
) -> Iterator[ServerProcess]:
    db = Path(tmp_path_factory.mktemp("rbac-southbound")) / "alcor.db"
    process = ServerProcess(db, pki=Pki(db.parent / "pki"), db_url=server_database).start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


def member(project: str) -> dict[str, str]:
    return {"X-Project-Id": project, "X-Roles": "member"}


async def call(
    client: httpx.AsyncClient, method: str, path: str, status: int, **kwargs: Any
) -> Any:
    response = await client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def test_a_port_of_the_target_project_reaches_the_owners_ports(
    controller: ServerProcess,
) -> None:
    owner, target = uuid.uuid4().hex, uuid.uuid4().hex

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=controller.url + "/v2.0", timeout=30) as api:
            a, b = (
                Host(name, controller.southbound, tls=tls_of(controller, name))
                for name in names("rbac", 2)
            )
            nodes = [{"name": h.id, "underlay_ip": underlay_ip(h.id)} for h in (a, b)]
            await call(api, "POST", "/nodes", 201, json={"nodes": nodes}, headers=ADMIN)
            hosts = [a.start(), b.start()]
            net = (
                await call(
                    api, "POST", "/networks", 201, json={"network": {}}, headers=member(owner)
                )
            )["network"]
            body = {"subnet": {"network_id": net["id"], "cidr": "10.91.0.0/24", "ip_version": 4}}
            await call(api, "POST", "/subnets", 201, json=body, headers=member(owner))
            sg = (
                await call(
                    api,
                    "POST",
                    "/security-groups",
                    201,
                    json={"security_group": {"name": "shared"}},
                    headers=member(owner),
                )
            )["security_group"]
            for object_type, object_id in (("network", net["id"]), ("security_group", sg["id"])):
                policy = {
                    "rbac_policy": {
                        "object_type": object_type,
                        "object_id": object_id,
                        "action": "access_as_shared",
                        "target_tenant": target,
                    }
                }
                await call(api, "POST", "/rbac-policies", 201, json=policy, headers=member(owner))
            ports = {}
            for project, host in ((owner, a), (target, b)):
                made = await call(
                    api,
                    "POST",
                    "/ports",
                    201,
                    json={"port": {"network_id": net["id"], "security_groups": [sg["id"]]}},
                    headers=member(project),
                )
                port_id = made["port"]["id"]
                # bound as Nova binds it: by an admin
                bind = {"port": {"binding:host_id": host.id}}
                await call(api, "PUT", f"/ports/{port_id}", 200, json=bind, headers=ADMIN)
                ports[project] = made["port"]
            mine, theirs = ports[owner], ports[target]
            assert theirs["project_id"] == target
            wanted_b = {
                f"port:{theirs['id']}",
                f"network:{net['id']}",
                f"neighbor:{mine['id']}",
                f"neighbor:{theirs['id']}",
                f"security_group:{sg['id']}",
            }
            await until(lambda: wanted_b <= b.held(), f"{b.id} to hold {wanted_b - b.held()}")
            await until(
                lambda: f"neighbor:{theirs['id']}" in a.held(),
                f"{a.id} to hear of the target's port",
            )
            neighbor = a.agent.state.get("neighbor", theirs["id"])
            assert neighbor is not None
            assert neighbor.neighbor.host_id == b.id
            assert list(neighbor.neighbor.ip_addresses) == [theirs["fixed_ips"][0]["ip_address"]]
            for project, port in ports.items():
                url = f"/ports/{port['id']}"

                async def active(url: str = url, project: str = project) -> bool:
                    shown = await call(api, "GET", url, 200, headers=member(project))
                    return bool(shown["port"]["status"] == "ACTIVE")

                await _until_async(active, f"port {port['id']} ACTIVE")
            for host in hosts:
                await host.close()

    run(scenario)


async def _until_async(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
