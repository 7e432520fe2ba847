"""Networks over real HTTP, compared with what Neutron answers: defaults, the response body's
keys, bulk create, validation, not-found and in-use errors, and segmentation-id (VNI) allocation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.neutron import REFERENCE, assert_error, create_network
from tests.servers import ServerProcess

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_create_shows_neutron_defaults_and_reads_back_the_same(api: httpx.Client) -> None:
    network = create_network(api, name="net-defaults")
    assert network["name"] == "net-defaults"
    assert network["mtu"] == 1450
    assert network["status"] == "ACTIVE"
    assert network["admin_state_up"] is True
    assert network["provider:network_type"] == "vxlan"
    assert network["provider:physical_network"] is None
    assert isinstance(network["provider:segmentation_id"], int)
    assert network["router:external"] is False
    assert network["shared"] is False
    assert network["port_security_enabled"] is True
    assert network["subnets"] == []
    assert network["tags"] == []
    assert network["project_id"] == network["tenant_id"] == "admin"
    assert network["revision_number"] == 1
    assert TIMESTAMP.match(network["created_at"])
    assert network["updated_at"] == network["created_at"]
    assert api.get(f"/networks/{network['id']}").json()["network"] == network


def test_response_has_exactly_the_keys_neutron_shows(api: httpx.Client) -> None:
    expected = json.loads((REFERENCE / "net.json").read_text())["network"].keys()
    network = create_network(api, name="net-keys")
    assert set(network) == set(expected)
    assert set(api.get(f"/networks/{network['id']}").json()["network"]) == set(expected)
    listed = api.get("/networks", params={"id": network["id"]}).json()["networks"]
    assert [set(item) for item in listed] == [set(expected)]


def test_segmentation_ids_are_allocated_distinct(api: httpx.Client) -> None:
    segments = [create_network(api)["provider:segmentation_id"] for _ in range(5)]
    assert len(set(segments)) == 5
    listed = api.get("/networks", params={"provider:network_type": "vxlan"}).json()["networks"]
    every = [n["provider:segmentation_id"] for n in listed]
    assert len(every) == len(set(every))


def test_list_finds_the_network_and_filters_by_name(api: httpx.Client) -> None:
    network = create_network(api, name="net-list-unique")
    listed = api.get("/networks", params={"name": "net-list-unique"}).json()["networks"]
    assert listed == [network]
    everything = api.get("/networks").json()["networks"]
    assert network["id"] in {n["id"] for n in everything}


def test_update_changes_stored_state_and_bumps_revision(api: httpx.Client) -> None:
    network = create_network(api, name="before")
    response = api.put(
        f"/networks/{network['id']}",
        json={"network": {"name": "after", "mtu": 1400, "admin_state_up": False}},
    )
    assert response.status_code == 200, response.text
    updated = response.json()["network"]
    assert (updated["name"], updated["mtu"], updated["admin_state_up"]) == ("after", 1400, False)
    assert updated["revision_number"] == network["revision_number"] + 1
    assert updated["updated_at"] >= network["created_at"]
    assert updated["created_at"] == network["created_at"]
    assert updated["provider:segmentation_id"] == network["provider:segmentation_id"]
    assert api.get(f"/networks/{network['id']}").json()["network"] == updated

    again = api.put(f"/networks/{network['id']}", json={"network": {"description": "d"}})
    assert again.json()["network"]["revision_number"] == updated["revision_number"] + 1
    assert again.json()["network"]["name"] == "after"


def test_delete_removes_the_network_and_its_subnets(api: httpx.Client) -> None:
    network = create_network(api)
    subnet = api.post(
        "/subnets",
        json={"subnet": {"network_id": network["id"], "cidr": "10.50.0.0/24", "ip_version": 4}},
    ).json()["subnet"]
    assert api.get(f"/networks/{network['id']}").json()["network"]["subnets"] == [subnet["id"]]
    assert api.delete(f"/networks/{network['id']}").status_code == 204
    assert_error(api.get(f"/networks/{network['id']}"), 404, "NetworkNotFound")
    assert_error(api.get(f"/subnets/{subnet['id']}"), 404, "SubnetNotFound")
    assert_error(api.delete(f"/networks/{network['id']}"), 404, "NetworkNotFound")


def test_bulk_create_answers_every_network(api: httpx.Client) -> None:
    response = api.post(
        "/networks", json={"networks": [{"name": "bulk-a"}, {"name": "bulk-b", "mtu": 1300}]}
    )
    assert response.status_code == 201, response.text
    created = response.json()["networks"]
    assert [n["name"] for n in created] == ["bulk-a", "bulk-b"]
    assert [n["mtu"] for n in created] == [1450, 1300]
    assert created[0]["provider:segmentation_id"] != created[1]["provider:segmentation_id"]
    for network in created:
        assert api.get(f"/networks/{network['id']}").json()["network"] == network


def test_bulk_create_is_all_or_nothing(api: httpx.Client) -> None:
    response = api.post(
        "/networks", json={"networks": [{"name": "bulk-atomic"}, {"name": "x", "mtu": -1}]}
    )
    assert_error(response, 400, "HTTPBadRequest")
    assert api.get("/networks", params={"name": "bulk-atomic"}).json()["networks"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"network": {"name": "n", "colour": "blue"}},
        {"network": {"admin_state_up": "maybe"}},
        {"network": {"name": 7}},
        {"network": {"mtu": "big"}},
        {"network": {"mtu": -1}},
        {"network": {"mtu": 1.5}},
        {"network": {"provider:network_type": "gre"}},
        {"network": {"provider:segmentation_id": 0}},
        {"network": {"provider:segmentation_id": 16_777_216}},
        {"net": {}},
        {"network": {}, "networks": []},
        {"networks": []},
    ],
)
def test_bad_create_bodies_are_400(api: httpx.Client, body: dict[str, Any]) -> None:
    assert_error(api.post("/networks", json=body), 400, "HTTPBadRequest")


def test_malformed_json_is_400(api: httpx.Client) -> None:
    response = api.post(
        "/networks", content=b'{"network": ', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "HTTPBadRequest")


def test_unknown_attribute_is_named_in_the_error(api: httpx.Client) -> None:
    response = api.post("/networks", json={"network": {"colour": "blue"}})
    assert "colour" in response.json()["NeutronError"]["message"]


@pytest.mark.parametrize(
    "change",
    [
        {"mtu": -1},
        {"mtu": "big"},
        {"project_id": "another"},
        {"id": "x"},
        {"shared": "yes"},
    ],
)
def test_bad_updates_are_400_and_change_nothing(api: httpx.Client, change: dict[str, Any]) -> None:
    network = create_network(api)
    response = api.put(f"/networks/{network['id']}", json={"network": change})
    assert_error(response, 400, "HTTPBadRequest")
    assert api.get(f"/networks/{network['id']}").json()["network"] == network


def test_unknown_network_is_404_network_not_found(api: httpx.Client) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    for response in (
        api.get(f"/networks/{missing}"),
        api.put(f"/networks/{missing}", json={"network": {"name": "x"}}),
        api.delete(f"/networks/{missing}"),
    ):
        assert_error(response, 404, "NetworkNotFound")
        assert missing in response.json()["NeutronError"]["message"]


def test_deleting_a_network_with_a_port_is_409_network_in_use(api: httpx.Client) -> None:
    network = create_network(api)
    port = api.post("/ports", json={"port": {"network_id": network["id"]}}).json()["port"]
    assert_error(api.delete(f"/networks/{network['id']}"), 409, "NetworkInUse")
    assert api.get(f"/networks/{network['id']}").status_code == 200
    assert api.delete(f"/ports/{port['id']}").status_code == 204
    assert api.delete(f"/networks/{network['id']}").status_code == 204


def test_admin_chooses_the_vni_and_a_taken_one_is_409(api: httpx.Client) -> None:
    chosen = create_network(api, **{"provider:segmentation_id": 777_001})
    assert chosen["provider:segmentation_id"] == 777_001
    assert chosen["provider:network_type"] == "vxlan"
    response = api.post(
        "/networks", json={"network": {"name": "dup-vni", "provider:segmentation_id": 777_001}}
    )
    assert_error(response, 409, "TunnelIdInUse")
    assert api.get("/networks", params={"name": "dup-vni"}).json()["networks"] == []
    assert api.delete(f"/networks/{chosen['id']}").status_code == 204
    again = create_network(api, **{"provider:segmentation_id": 777_001})
    assert again["provider:segmentation_id"] == 777_001


def test_automatic_vnis_skip_one_an_admin_chose(api: httpx.Client) -> None:
    first = create_network(api)["provider:segmentation_id"]
    chosen = create_network(api, **{"provider:segmentation_id": first + 1})
    assert chosen["provider:segmentation_id"] == first + 1
    assert create_network(api)["provider:segmentation_id"] not in (first, first + 1)


def test_flat_external_network(api: httpx.Client) -> None:
    network = create_network(
        api,
        **{
            "provider:network_type": "flat",
            "provider:physical_network": "physnet1",
            "router:external": True,
        },
    )
    assert network["provider:network_type"] == "flat"
    assert network["provider:physical_network"] == "physnet1"
    assert network["provider:segmentation_id"] is None
    assert network["router:external"] is True
    assert network["mtu"] == 1500


def test_flat_network_needs_a_physical_network_of_its_own(api: httpx.Client) -> None:
    flat = {"provider:network_type": "flat"}
    assert_error(api.post("/networks", json={"network": flat}), 400, "HTTPBadRequest")
    first = create_network(api, **flat, **{"provider:physical_network": "physnet-own"})
    response = api.post(
        "/networks",
        json={"network": {**flat, "name": "flat-2", "provider:physical_network": "physnet-own"}},
    )
    assert_error(response, 409, "FlatNetworkInUse")
    assert api.get("/networks", params={"name": "flat-2"}).json()["networks"] == []
    assert api.delete(f"/networks/{first['id']}").status_code == 204
    create_network(api, **flat, **{"provider:physical_network": "physnet-own"})


def test_bulk_of_two_flat_networks_on_one_physical_network_is_409(api: httpx.Client) -> None:
    flat = {"provider:network_type": "flat", "provider:physical_network": "physnet-bulk"}
    body = {"networks": [{**flat, "name": "flat-bulk"}, {**flat, "name": "flat-bulk"}]}
    assert_error(api.post("/networks", json=body), 409, "FlatNetworkInUse")
    assert api.get("/networks", params={"name": "flat-bulk"}).json()["networks"] == []


@pytest.mark.parametrize(
    "segment",
    [
        {"provider:physical_network": "physnet1"},
        {
            "provider:network_type": "flat",
            "provider:physical_network": "p",
            "provider:segmentation_id": 5,
        },
    ],
)
def test_segment_attributes_the_type_does_not_take_are_400(
    api: httpx.Client, segment: dict[str, Any]
) -> None:
    assert_error(api.post("/networks", json={"network": segment}), 400, "HTTPBadRequest")


def test_vni_range_exhaustion_is_409_and_a_freed_vni_is_reused(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "vni.db", "--vni-range", "5000:5001").start()
    try:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as api:
            first = create_network(api)
            second = create_network(api)
            assert {first["provider:segmentation_id"], second["provider:segmentation_id"]} == {
                5000,
                5001,
            }
            response = api.post("/networks", json={"network": {"name": "third"}})
            assert_error(response, 409, "NoNetworkAvailable")
            assert api.get("/networks", params={"name": "third"}).json()["networks"] == []
            assert api.delete(f"/networks/{first['id']}").status_code == 204
            third = create_network(api)
            assert third["provider:segmentation_id"] == first["provider:segmentation_id"]
    finally:
        server.stop()
    assert "Traceback" not in server.errors_logged(), server.errors_logged()
