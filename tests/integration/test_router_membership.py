"""Issue 10, item 1, as the attacker sends it: project B makes a port on its own network that
names project A's router as its device (``network:router_interface``, ``network:router_gateway``)
to put B's subnet on A's router or take A's external gateway. A router's ports come from its
own records only (``add_router_interface``, ``external_gateway_info``): a member's such port is
refused as Neutron refuses it (409 ``DeviceIDNotOwnedByTenant``), and one that exists all the
same (an admin's) gives no host anything of A's router and is B's to delete.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agents import Api, Host, names, project_api, run
from tests.integration.neutron import assert_error
from tests.servers import ServerProcess

SUFFIX = uuid.uuid4().hex[:8]
A = {"X-Project-Id": f"rm-a-{SUFFIX}", "X-Roles": "member"}
B = {"X-Project-Id": f"rm-b-{SUFFIX}", "X-Roles": "member"}
ADMIN = {"X-Project-Id": f"rm-admin-{SUFFIX}", "X-Roles": "admin"}
INTERFACE, GATEWAY = "network:router_interface", "network:router_gateway"


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    """The module's client: each request says who it acts as."""
    with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as api:
        yield api


def made(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return next(iter(response.json().values()))


def network_and_subnet(api: httpx.Client, headers: dict[str, str], cidr: str) -> Any:
    network = made(api.post("/networks", json={"network": {}}, headers=headers))
    body = {"network_id": network["id"], "cidr": cidr, "ip_version": 4}
    return made(api.post("/subnets", json={"subnet": body}, headers=headers))


@pytest.fixture(scope="module")
def a_router(client: httpx.Client) -> dict[str, Any]:
    """A's router with an interface on A's subnet."""
    subnet = network_and_subnet(client, A, "10.61.0.0/24")
    router = made(client.post("/routers", json={"router": {"name": "a"}}, headers=A))
    body = {"subnet_id": subnet["id"]}
    url = f"/routers/{router['id']}/add_router_interface"
    interface = client.put(url, json=body, headers=A).json()
    return {"router": router, "subnet": subnet, "interface": interface}


def interfaces_of(api: httpx.Client, router_id: str) -> list[str]:
    """A router's interface ports as the admin lists them by device."""
    query = {"device_id": router_id, "device_owner": INTERFACE}
    return sorted(p["id"] for p in api.get("/ports", params=query, headers=ADMIN).json()["ports"])


def test_a_member_cannot_make_its_port_another_projects_router_interface_or_gateway(
    client: httpx.Client, a_router: dict[str, Any]
) -> None:
    router_id = a_router["router"]["id"]
    mine = network_and_subnet(client, B, "10.62.0.0/24")
    before = interfaces_of(client, router_id)
    for owner in (INTERFACE, GATEWAY):
        spoof = {
            "network_id": mine["network_id"],
            "device_owner": owner,
            "device_id": router_id,
            "fixed_ips": [{"subnet_id": mine["id"], "ip_address": mine["gateway_ip"]}],
        }
        response = client.post("/ports", json={"port": spoof}, headers=B)
        assert_error(response, 409, "DeviceIDNotOwnedByTenant")
        assert response.json()["NeutronError"]["message"] == (
            f"The following device_id {router_id} is not owned by your tenant or matches "
            "another tenants router."
        )
        bulk = [{"network_id": mine["network_id"]}, spoof]
        response = client.post("/ports", json={"ports": bulk}, headers=B)
        assert_error(response, 409, "DeviceIDNotOwnedByTenant")
    # nor by an update, of either attribute
    plain = made(
        client.post("/ports", json={"port": {"network_id": mine["network_id"]}}, headers=B)
    )
    url = f"/ports/{plain['id']}"
    for change in (
        {"device_owner": INTERFACE, "device_id": router_id},
        {"device_owner": GATEWAY, "device_id": router_id},
    ):
        response = client.put(url, json={"port": change}, headers=B)
        assert_error(response, 409, "DeviceIDNotOwnedByTenant")
    made(client.put(url, json={"port": {"device_owner": INTERFACE}}, headers=B))
    response = client.put(url, json={"port": {"device_id": router_id}}, headers=B)
    assert_error(response, 409, "DeviceIDNotOwnedByTenant")
    ports = client.get("/ports", params={"network_id": mine["network_id"]}, headers=B).json()
    assert [p["id"] for p in ports["ports"]] == [plain["id"]]  # the refused bulks left nothing
    assert interfaces_of(client, router_id) == before == [a_router["interface"]["port_id"]]


def test_device_fields_stay_free_text_where_they_name_nothing_of_another(
    client: httpx.Client, a_router: dict[str, Any]
) -> None:
    """As Neutron: an owner outside ``network:``, or a device that is no router of another
    project (B's own router, no router at all), is accepted as written."""
    router_id = a_router["router"]["id"]
    mine = network_and_subnet(client, B, "10.63.0.0/24")
    own_router = made(client.post("/routers", json={"router": {}}, headers=B))
    for owner, device in (
        ("compute:nova", router_id),
        (INTERFACE, str(uuid.uuid4())),
        (INTERFACE, own_router["id"]),
        (GATEWAY, own_router["id"]),
    ):
        port = {"network_id": mine["network_id"], "device_owner": owner, "device_id": device}
        made(client.post("/ports", json={"port": port}, headers=B))


def test_a_port_that_only_names_a_router_is_no_port_of_it_and_its_project_deletes_it(
    client: httpx.Client, a_router: dict[str, Any]
) -> None:
    """B's own router named by B's own port, and A's router named by a port an admin made for
    B (admins are exempt from the check, as in Neutron): neither port is the router's. The
    router does not list, remove or keep it; B deletes it (no ServicePortInUse)."""
    mine = network_and_subnet(client, B, "10.64.0.0/24")
    own_router = made(client.post("/routers", json={"router": {}}, headers=B))
    as_b = {**ADMIN, "X-Project-Id": B["X-Project-Id"]}
    spoofs = []
    for router_id, headers in ((own_router["id"], B), (a_router["router"]["id"], as_b)):
        for owner in (INTERFACE, GATEWAY):
            port = {"network_id": mine["network_id"], "device_owner": owner}
            port["device_id"] = router_id
            spoofs.append(made(client.post("/ports", json={"port": port}, headers=headers)))
    url = f"/routers/{own_router['id']}"
    response = client.put(
        f"{url}/remove_router_interface", json={"port_id": spoofs[0]["id"]}, headers=B
    )
    assert_error(response, 404, "RouterInterfaceNotFound")
    response = client.put(
        f"{url}/add_router_interface", json={"port_id": spoofs[0]["id"]}, headers=B
    )
    assert_error(response, 409, "PortInUse")
    # the subnet is free for a real interface, which B's router then has
    made(client.put(f"{url}/add_router_interface", json={"subnet_id": mine["id"]}, headers=B))
    made(client.put(f"{url}/remove_router_interface", json={"subnet_id": mine["id"]}, headers=B))
    assert client.delete(url, headers=B).status_code == 204  # no port of its held it
    for spoof in spoofs:
        assert client.delete(f"/ports/{spoof['id']}", headers=B).status_code == 204
    assert interfaces_of(client, a_router["router"]["id"]) == [a_router["interface"]["port_id"]]


# --- what the hosts hold ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = Path(tmp_path_factory.mktemp("router-membership")) / "alcor.db"
    process = ServerProcess(db).start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


def router_of(host: Host, router_id: str) -> bytes:
    entry = host.agent.state.get("router", router_id)
    assert entry is not None, (host.id, router_id)
    return entry.router.SerializeToString(deterministic=True)


async def external_network(api: Api, physnet: str) -> str:
    body = {
        "network": {
            "router:external": True,
            "provider:network_type": "flat",
            "provider:physical_network": physnet,
        }
    }
    network_id = str((await api.call("POST", "/networks", 201, body))["network"]["id"])
    await api.subnet(network_id, "198.19.0.0/24", enable_dhcp=False)
    return network_id


def test_ports_naming_another_projects_router_give_no_host_anything_of_it(
    controller: ServerProcess,
) -> None:
    """A's router joins A's subnet and has its gateway on a flat external network served by
    host g. Ports of B's that name it as interface (on B's network, at B's gateway address)
    and as gateway (on the external network), made by an admin: B's host gets nothing of A's
    router or network, A's hosts keep A's router exactly as it was, and B deletes both."""

    async def scenario() -> None:
        async with project_api(controller) as a, project_api(controller) as b:
            physnet = "phys-" + uuid.uuid4().hex[:8]
            ha_id, hb_id, g_id = names("rm", 3)
            ha, hb = Host(ha_id, controller.southbound), Host(hb_id, controller.southbound)
            g = Host(g_id, controller.southbound)
            await a.nodes(ha.id, hb.id)
            await a.nodes(g.id, physical_networks=[physnet])  # the operator's word, not g's
            hosts = [ha.start(), hb.start(), g.start()]
            external = await external_network(a, physnet)
            a_net, b_net = await a.network(), await b.network()
            a_subnet = await a.subnet(a_net, "10.71.0.0/24")
            b_subnet = await b.subnet(b_net, "10.72.0.0/24")
            await a.port(a_net, ha.id)
            await b.port(b_net, hb.id)
            router = (await a.call("POST", "/routers", 201, {"router": {}}))["router"]["id"]
            body = {"subnet_id": a_subnet["id"]}
            await a.call("PUT", f"/routers/{router}/add_router_interface", 200, body)
            await a.update("routers", router, external_gateway_info={"network_id": external})
            g.serves.add(router)
            await a.converged(ha, g)
            await b.converged(hb)
            held = {host.id: router_of(host, router) for host in (ha, g)}

            spoof = {"device_id": router, "device_owner": INTERFACE}
            fixed = [{"subnet_id": b_subnet["id"], "ip_address": b_subnet["gateway_ip"]}]
            interface = await b.port(b_net, "", **spoof, fixed_ips=fixed)
            gateway = await b.port(external, "", device_id=router, device_owner=GATEWAY)
            # what comes after the spoofs reaches the hosts after them: once these are held,
            # anything the spoofs gave would be held too
            await a.port(a_net, ha.id)
            await b.port(b_net, hb.id)
            await a.converged(ha, g)
            await b.converged(hb)
            assert not {f"router:{router}", f"network:{a_net}"} & hb.held()
            assert {host.id: router_of(host, router) for host in (ha, g)} == held

            member = {"X-Roles": "member"}
            for port in (interface, gateway):
                response = await b.client.delete(f"/ports/{port['id']}", headers=member)
                assert response.status_code == 204, response.text
            await a.port(a_net, ha.id)
            await a.converged(ha, g)
            await b.converged(hb)
            assert {host.id: router_of(host, router) for host in (ha, g)} == held
            for host in hosts:
                await host.close()

    run(scenario)
