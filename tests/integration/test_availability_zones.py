"""Availability zones over real HTTP and a real agent (``availability_zone``,
``availability_zone_filter``, ``network_availability_zone``): every node is in zone ``nova``,
for networks and routers, ``available`` while a node is up; a network's hints must name a zone
that exists. The tests run in order on the module's server (no node, a node down, a node up)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.agents import Host
from tests.integration.neutron import assert_error, create_network, ensure_nodes
from tests.servers import ServerProcess

MEMBER = {"X-Project-Id": "az-member", "X-Roles": "member"}
HOST = "az-host"


def zones(api: httpx.Client, **params: Any) -> Any:
    response = api.get("/availability_zones", params=params, headers=MEMBER)
    assert response.status_code == 200, response.text
    return response.json()["availability_zones"]


def test_without_nodes_there_is_no_zone(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_availability_zones.ListAvailableZonesTest
    .test_list_available_zones (a list, here an empty one, as a Neutron without agents)."""
    assert zones(api) == []
    hinted = api.post("/networks", json={"network": {"availability_zone_hints": ["nova"]}})
    assert_error(hinted, 404, "AvailabilityZoneNotFound")
    assert hinted.json()["NeutronError"]["message"] == "AvailabilityZone nova could not be found."
    not_a_list = api.post("/networks", json={"network": {"availability_zone_hints": "nova"}})
    assert_error(not_a_list, 400)
    assert create_network(api)["availability_zones"] == []


def test_a_node_makes_the_zone_and_it_is_available_while_one_is_up(
    api: httpx.Client, server: ServerProcess
) -> None:
    ensure_nodes(api, HOST)
    down = [
        {"name": "nova", "resource": "network", "state": "unavailable"},
        {"name": "nova", "resource": "router", "state": "unavailable"},
    ]
    assert zones(api) == down
    network = create_network(api, availability_zone_hints=["nova"])
    assert (network["availability_zone_hints"], network["availability_zones"]) == (["nova"], [])

    async def scenario() -> None:
        host = Host(HOST, server.southbound).start()
        try:
            deadline = time.monotonic() + 15
            while zones(api, resource="network")[0]["state"] != "available":
                assert time.monotonic() < deadline, "the node never came up"
                await asyncio.sleep(0.1)
        finally:
            await host.close()

    asyncio.run(scenario())
    shown = api.get(f"/networks/{network['id']}").json()["network"]
    assert (shown["availability_zone_hints"], shown["availability_zones"]) == (["nova"], ["nova"])
    assert zones(api, resource="router", state="available") == [
        {"name": "nova", "resource": "router", "state": "available"}
    ]
    assert zones(api, fields="name", resource="network") == [{"name": "nova"}]
    assert zones(api, name="elsewhere") == []


@pytest.mark.parametrize(
    "body",
    [
        {"availability_zone_hints": ["nova", "nova"]},
        {"availability_zone_hints": [7]},
    ],
)
def test_bad_hints_are_400(api: httpx.Client, body: dict[str, Any]) -> None:
    ensure_nodes(api, HOST)
    assert_error(api.post("/networks", json={"network": body}), 400)
    network = create_network(api)
    changed = api.put(
        f"/networks/{network['id']}", json={"network": {"availability_zone_hints": ["nova"]}}
    )
    assert_error(changed, 400)  # hints are set at create only, as in Neutron


def test_an_unknown_filter_is_400(api: httpx.Client) -> None:
    response = api.get("/availability_zones", params={"colour": "x"})
    assert_error(response, 400, "HTTPBadRequest")
