"""A router's ports' status end to end: a real ``alcor server``, real gRPC on loopback and
recording agents. With distributed routing an interface is programmed on every host that holds
the router, so its status follows those hosts' acknowledgements; one no host holds yet is
ACTIVE (what tempest waits for after ``add_router_interface``: tempest's
``test_routers.RoutersTest`` cleanups through ``base.remove_router_interface``, and
neutron_tempest_plugin ``test_routers.RoutersTest.test_router_interface_status`` and
``.test_router_interface_update_and_remove_gateway_ip``). A gateway port follows the host
serving the gateway, and is DOWN while none does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents import Host, names, project_api, run, tls_of, until
from tests.servers import Pki, ServerProcess

GRACE = 0.5  # --disconnect-grace of the module's server


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = Path(tmp_path_factory.mktemp("router-status")) / "alcor.db"
    process = ServerProcess(db, "--disconnect-grace", str(GRACE), pki=Pki(db.parent / "pki"))
    process.start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


def test_an_interface_no_host_holds_is_active_at_once(controller: ServerProcess) -> None:
    """Mirrors neutron_tempest_plugin test_routers.RoutersTest.test_router_interface_status:
    a router on a network where no host has a port needs nothing from any host."""

    async def scenario() -> None:
        async with project_api(controller) as api:
            network = await api.network()
            subnet = await api.subnet(network, "10.40.0.0/24")
            router = (await api.call("POST", "/routers", 201, {"router": {}}))["router"]["id"]
            body = {"subnet_id": subnet["id"]}
            info = await api.call("PUT", f"/routers/{router}/add_router_interface", 200, body)
            # ACTIVE as soon as the goal-state engine has taken it in (milliseconds)
            await api.until_status(info["port_id"], "ACTIVE")
            listed = await api.call("GET", f"/ports?device_id={router}&status=ACTIVE", 200)
            assert [p["id"] for p in listed["ports"]] == [info["port_id"]]

    run(scenario)


def test_an_interface_is_active_once_every_host_holding_the_router_acknowledged_it(
    controller: ServerProcess,
) -> None:
    """Mirrors tempest test_routers.RoutersTest.test_add_remove_router_interface_with_subnet_id
    (its wait for ACTIVE before the removal): the router is held by the hosts with ports on
    its networks; each interface is DOWN until those of them that are reachable acknowledged
    the revision that carried it (a host away is not waited for), and DOWN when none is."""

    async def scenario() -> None:
        async with project_api(controller) as api:
            a, b = (
                Host(n, controller.southbound, tls=tls_of(controller, n)) for n in names("i", 2)
            )
            await api.nodes(a.id, b.id)
            n1, n2 = await api.network(), await api.network()
            s1 = await api.subnet(n1, "10.41.0.0/24")
            s2 = await api.subnet(n2, "10.42.0.0/24")
            await api.port(n1, a.id)
            await api.port(n2, b.id)
            router = (await api.call("POST", "/routers", 201, {"router": {}}))["router"]["id"]
            url = f"/routers/{router}/add_router_interface"
            first = await api.call("PUT", url, 200, {"subnet_id": s1["id"]})
            # a holds the router now (its port is on n1) but its agent is not connected
            await api.until_status(first["port_id"], "DOWN")
            a.start()
            await api.until_status(first["port_id"], "ACTIVE")
            second = await api.call("PUT", url, 200, {"subnet_id": s2["id"]})
            # b joins the router by the second interface, but it never connected: it is not
            # waited for (it gets the router when it comes), a's ack makes the interface ACTIVE
            await api.until_status(second["port_id"], "ACTIVE")
            assert await api.status_of(first["port_id"]) == "ACTIVE"
            b.start()
            await until(lambda: b.agent.state.get("router", router) is not None, "b to hold it")
            assert await api.status_of(second["port_id"]) == "ACTIVE"
            report = await api.host_report(b.id)
            assert report["ports"] == 1  # its own port: a router's ports are not counted

            await b.close()
            await a.close()  # beyond the grace no holder is reachable: nothing routes for it
            await api.until_status(first["port_id"], "DOWN")
            assert await api.status_of(second["port_id"]) == "DOWN"

            removed = f"/routers/{router}/remove_router_interface"
            for info in (first, second):
                await api.call("PUT", removed, 200, {"port_id": info["port_id"]})
                await api.call("GET", f"/ports/{info['port_id']}", 404)

    run(scenario)


def test_a_gateway_port_follows_the_host_serving_the_gateway(controller: ServerProcess) -> None:
    async def scenario() -> None:
        async with project_api(controller) as api:
            physnet = "phys-" + uuid.uuid4().hex[:8]
            (gateway_id,) = names("g", 1)
            gateway = Host(
                gateway_id,
                controller.southbound,
                physical_networks=(physnet,),
                tls=tls_of(controller, gateway_id),
            )
            await api.nodes(gateway.id, physical_networks=[physnet])
            external = await api.call(
                "POST",
                "/networks",
                201,
                {
                    "network": {
                        "router:external": True,
                        "provider:network_type": "flat",
                        "provider:physical_network": physnet,
                    }
                },
            )
            external_id = external["network"]["id"]
            await api.subnet(external_id, "198.19.0.0/24", enable_dhcp=False)
            body = {"router": {"external_gateway_info": {"network_id": external_id}}}
            router = (await api.call("POST", "/routers", 201, body))["router"]["id"]
            (port,) = (
                await api.call("GET", f"/ports?device_id={router}&network_id={external_id}", 200)
            )["ports"]
            assert port["device_owner"] == "network:router_gateway"
            assert port["status"] == "DOWN"  # its node is not up: no host serves the gateway
            gateway.start()
            await api.until_status(port["id"], "ACTIVE")
            await gateway.close()
            await api.until_status(port["id"], "DOWN")

    run(scenario)
