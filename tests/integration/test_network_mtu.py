"""Network MTUs over real HTTP as Neutron rules them (``net-mtu``, ``net-mtu-writable``): any
MTU up to what the segment carries (VXLAN: 1450 over a 1500 underlay; flat: 1500), 0 for that
most; an IPv4 subnet needs 68 and an IPv6 one 1280, on create and when the MTU changes (409
``NetworkMTUSubnetConflict``). Each test names the test it mirrors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.neutron import assert_error, create_network, create_subnet, post_subnet
from tests.servers import ServerProcess


def shown(api: httpx.Client, network: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/networks/{network['id']}").json()["network"]
    return body


def update(api: httpx.Client, network: dict[str, Any], mtu: int) -> httpx.Response:
    return api.put(f"/networks/{network['id']}", json={"network": {"mtu": mtu}})


def test_a_custom_mtu_is_kept_and_changed(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_networks.NetworksMtuTestJSON
    .test_create_network_custom_mtu and .test_update_network_custom_mtu."""
    network = create_network(api, mtu=68)
    assert shown(api, network)["mtu"] == 68
    response = update(api, network, 1280)
    assert response.status_code == 200, response.text
    assert shown(api, network)["mtu"] == 1280
    assert create_network(api, mtu=0)["mtu"] == 1450  # 0: the most the segment carries


@pytest.mark.parametrize("mtu", [1451, 1501, 9000])
def test_an_mtu_beyond_what_the_overlay_carries_is_400(api: httpx.Client, mtu: int) -> None:
    """Mirrors neutron-tempest-plugin test_networks_negative.NetworksNegativeTest
    .test_update_network_mtu (``max_mtu`` + 1): VXLAN over a 1500 underlay carries 1450."""
    response = api.post("/networks", json={"network": {"name": "too-big", "mtu": mtu}})
    assert_error(response, 400, "InvalidInput")
    assert response.json()["NeutronError"]["message"] == (
        "Invalid input for operation: Requested MTU is too big, maximum is 1450."
    )
    assert api.get("/networks", params={"name": "too-big"}).json()["networks"] == []
    network = create_network(api)
    assert_error(update(api, network, mtu), 400, "InvalidInput")
    assert shown(api, network) == network


def test_a_flat_network_carries_the_physical_mtu(api: httpx.Client) -> None:
    flat = {"provider:network_type": "flat", "provider:physical_network": "mtu-physnet"}
    network = create_network(api, **flat)
    assert network["mtu"] == 1500
    assert_error(update(api, network, 1501), 400, "InvalidInput")


def test_an_ipv4_subnet_needs_68(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_networks_negative.NetworksNegativeTest
    .test_create_subnet_mtu_below_minimum_ipv4: the network takes 67, its IPv4 subnet not."""
    network = create_network(api, mtu=67)
    assert network["mtu"] == 67
    for cidr in ("10.0.0.0/24", "2001:db8:0:1::/64"):  # 68 is checked first, for any subnet
        response = post_subnet(api, network["id"], cidr)
        assert_error(response, 409, "NetworkMTUSubnetConflict")
        assert response.json()["NeutronError"]["message"] == (
            f"MTU of {network['id']} is not valid, subnet requires a minimum of 68"
        )
    assert shown(api, network)["subnets"] == []


def test_an_ipv6_subnet_needs_1280(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_networks_negative.NetworksNegativeTest
    .test_create_subnet_mtu_below_minimum_ipv6."""
    network = create_network(api, mtu=1279)
    response = post_subnet(api, network["id"], "2001:db8:0:1::/64", ip_version=6)
    assert_error(response, 409, "NetworkMTUSubnetConflict")
    assert "requires a minimum of 1280" in response.json()["NeutronError"]["message"]
    create_subnet(api, network["id"], "10.0.0.0/24")  # IPv4 is fine at 1279


def test_an_mtu_change_its_subnets_cannot_take_is_409(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_networks_negative.NetworksNegativeTest
    .test_update_network_mtu_below_minimum_ipv4 and ..._ipv6."""
    network = create_network(api, mtu=1280)
    create_subnet(api, network["id"], "10.0.0.0/24")
    for mtu in (67, 0):  # 0 is checked as asked, before it means the most
        assert_error(update(api, network, mtu), 409, "NetworkMTUSubnetConflict")
    assert update(api, network, 1279).status_code == 200  # IPv4 alone takes it
    assert update(api, network, 1280).status_code == 200
    create_subnet(api, network["id"], "2001:db8:0:1::/64", ip_version=6)
    network = shown(api, network)
    assert_error(update(api, network, 1279), 409, "NetworkMTUSubnetConflict")
    assert_error(update(api, network, 1200), 409, "NetworkMTUSubnetConflict")
    assert shown(api, network) == network


def test_the_physical_mtu_is_the_operators(tmp_path: Path) -> None:
    """``--physical-mtu`` (Neutron's ``global_physnet_mtu``): jumbo frames underneath give
    VXLAN networks 50 bytes less by default and at most, flat ones as much."""
    server = ServerProcess(tmp_path / "alcor.db", "--physical-mtu", "9000").start()
    try:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as api:
            assert create_network(api)["mtu"] == 8950
            assert_error(api.post("/networks", json={"network": {"mtu": 8951}}), 400)
            flat = {"provider:network_type": "flat", "provider:physical_network": "jumbo"}
            assert create_network(api, **flat)["mtu"] == 9000
    finally:
        server.stop()
