"""Ports over real HTTP, compared with what Neutron answers: fixed-IP and MAC allocation and their
conflicts, bulk create (all or nothing), releasing addresses on update and delete, binding, the
response body's keys, and If-Match revision constraints."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.integration.neutron import (
    REFERENCE,
    assert_error,
    create_network,
    create_port,
    create_subnet,
    ensure_nodes,
    eui64,
    post_port,
)

NEUTRON_MAC = re.compile(r"^fa:16:3e(:[0-9a-f]{2}){3}$")


def ips(port: dict[str, Any]) -> list[str]:
    return [fixed["ip_address"] for fixed in port["fixed_ips"]]


def ports_on(api: httpx.Client, network_id: str) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = api.get("/ports", params={"network_id": network_id}).json()[
        "ports"
    ]
    return ports


@pytest.fixture
def network(api: httpx.Client) -> dict[str, Any]:
    return create_network(api)


@pytest.fixture
def subnet(api: httpx.Client, network: dict[str, Any]) -> Any:
    return create_subnet(api, network["id"], "10.0.0.0/24", ip_version=4)


def test_defaults_and_read_back(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    port = create_port(api, network["id"], name="p1")
    assert port["name"] == "p1"
    assert port["network_id"] == network["id"]
    assert port["project_id"] == port["tenant_id"] == "admin"
    assert port["admin_state_up"] is True
    assert port["status"] == "DOWN"
    assert (port["device_id"], port["device_owner"]) == ("", "")
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.2"}]
    assert port["port_security_enabled"] is True
    assert port["binding:vnic_type"] == "normal"
    assert port["binding:host_id"] == ""
    assert port["binding:vif_type"] == "unbound"
    assert port["binding:profile"] == {}
    assert port["binding:vif_details"] == {}
    assert port["allowed_address_pairs"] == []
    assert port["dns_assignment"] == [
        {
            "ip_address": "10.0.0.2",
            "hostname": "host-10-0-0-2",
            "fqdn": "host-10-0-0-2.openstacklocal.",
        }
    ]
    assert port["revision_number"] == 1
    assert NEUTRON_MAC.match(port["mac_address"])
    assert api.get(f"/ports/{port['id']}").json()["port"] == port


def test_response_has_exactly_the_keys_neutron_shows(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    # the reference's responses were recorded with ML2's ``dns`` extension driver; with
    # ``dns_domain_ports`` (dns-domain-ports, served here) Neutron shows the port's dns_domain too
    expected = set(json.loads((REFERENCE / "port.json").read_text())["port"]) | {"dns_domain"}
    port = create_port(api, network["id"])
    assert set(port) == expected
    assert set(api.get(f"/ports/{port['id']}").json()["port"]) == expected
    bulk = json.loads((REFERENCE / "bulk_ports.json").read_text())["ports"]
    assert all(set(item) | {"dns_domain"} == expected for item in bulk)


def test_port_inherits_port_security_from_its_network(api: httpx.Client) -> None:
    network = create_network(api, port_security_enabled=False)
    assert create_port(api, network["id"])["port_security_enabled"] is False


def test_port_on_network_without_subnets_has_no_addresses(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    port = create_port(api, network["id"])
    assert port["fixed_ips"] == []
    assert port["dns_assignment"] == []


def test_port_on_unknown_network_is_404(api: httpx.Client) -> None:
    response = post_port(api, "00000000-0000-0000-0000-000000000000")
    assert_error(response, 404, "NetworkNotFound")


def test_unknown_port_is_404(api: httpx.Client) -> None:
    missing = "00000000-0000-0000-0000-000000000002"
    assert_error(api.get(f"/ports/{missing}"), 404, "PortNotFound")
    assert_error(api.put(f"/ports/{missing}", json={"port": {"name": "x"}}), 404, "PortNotFound")
    assert_error(api.delete(f"/ports/{missing}"), 404, "PortNotFound")


def test_automatic_addresses_are_lowest_first(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    taken = [ips(create_port(api, network["id"]))[0] for _ in range(3)]
    assert taken == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]


def test_explicit_address_and_the_next_automatic_one_skips_it(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    port = create_port(api, network["id"], fixed_ips=[{"ip_address": "10.0.0.2"}])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.2"}]
    assert ips(create_port(api, network["id"])) == ["10.0.0.3"]


def test_explicit_address_outside_the_pools_but_inside_the_cidr(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    pools = [{"start": "10.0.0.100", "end": "10.0.0.110"}]
    subnet = create_subnet(api, network["id"], "10.0.0.0/24", allocation_pools=pools)
    port = create_port(
        api, network["id"], fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.0.0.5"}]
    )
    assert ips(port) == ["10.0.0.5"]
    assert ips(create_port(api, network["id"])) == ["10.0.0.100"]


def test_subnet_id_only_takes_the_lowest_address_of_that_subnet(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    second = create_subnet(api, network["id"], "10.1.0.0/24")
    port = create_port(api, network["id"], fixed_ips=[{"subnet_id": second["id"]}])
    assert port["fixed_ips"] == [{"subnet_id": second["id"], "ip_address": "10.1.0.2"}]
    both = create_port(
        api, network["id"], fixed_ips=[{"subnet_id": subnet["id"]}, {"subnet_id": second["id"]}]
    )
    assert ips(both) == ["10.0.0.2", "10.1.0.3"]


def test_automatic_address_comes_from_the_first_subnet_only(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    create_subnet(api, network["id"], "10.1.0.0/24")
    port = create_port(api, network["id"])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.2"}]


@pytest.mark.parametrize(
    "fixed_ips",
    [
        [{"ip_address": "10.9.9.9"}],
        [{"ip_address": "10.0.0.0"}],
        [{"ip_address": "10.0.0.255"}],
        [{"ip_address": "not-an-ip"}],
        [{"subnet_id": "00000000-0000-0000-0000-000000000000"}],
        [{}],
        [{"ip_address": "10.0.0.9", "colour": "red"}],
        "10.0.0.9",
    ],
)
def test_bad_fixed_ips_are_400_and_leave_no_port(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any], fixed_ips: Any
) -> None:
    response = post_port(api, network["id"], fixed_ips=fixed_ips)
    assert response.status_code == 400, response.text
    assert "NeutronError" in response.json()
    assert ports_on(api, network["id"]) == []
    assert ips(create_port(api, network["id"])) == ["10.0.0.2"]


def test_address_outside_the_named_subnet_is_400(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    response = post_port(
        api, network["id"], fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.1.0.5"}]
    )
    assert response.status_code == 400, response.text
    assert ports_on(api, network["id"]) == []


def test_subnet_of_another_network_is_400(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    other = create_network(api)
    response = post_port(api, other["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
    assert response.status_code == 400, response.text


def test_address_in_use_is_409(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    create_port(api, network["id"], fixed_ips=[{"ip_address": "10.0.0.7"}])
    response = post_port(api, network["id"], fixed_ips=[{"ip_address": "10.0.0.7"}])
    assert_error(response, 409, "IpAddressAlreadyAllocated")
    assert len(ports_on(api, network["id"])) == 1
    response = post_port(
        api, network["id"], fixed_ips=[{"ip_address": "10.0.0.8"}, {"ip_address": "10.0.0.8"}]
    )
    assert_error(response, 409, "IpAddressAlreadyAllocated")
    assert ips(create_port(api, network["id"], fixed_ips=[{"ip_address": "10.0.0.8"}])) == [
        "10.0.0.8"
    ]


def test_full_subnet_is_409_ip_address_generation_failure(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    create_subnet(api, network["id"], "10.2.0.0/29")
    taken = [ips(create_port(api, network["id"]))[0] for _ in range(5)]
    assert taken == [f"10.2.0.{i}" for i in range(2, 7)]
    assert_error(post_port(api, network["id"]), 409, "IpAddressGenerationFailure")
    assert len(ports_on(api, network["id"])) == 5


def test_macs_are_under_fa163e_and_unique(api: httpx.Client, network: dict[str, Any]) -> None:
    response = api.post("/ports", json={"ports": [{"network_id": network["id"]}] * 40})
    assert response.status_code == 201, response.text
    macs = [port["mac_address"] for port in response.json()["ports"]]
    assert all(NEUTRON_MAC.match(mac) for mac in macs)
    assert len(set(macs)) == 40


def test_explicit_mac_is_unique_per_network(api: httpx.Client, network: dict[str, Any]) -> None:
    port = create_port(api, network["id"], mac_address="FA:16:3E:AA:BB:CC")
    assert port["mac_address"] == "fa:16:3e:aa:bb:cc"
    response = post_port(api, network["id"], mac_address="fa:16:3e:aa:bb:cc")
    assert_error(response, 409, "MacAddressInUse")
    assert len(ports_on(api, network["id"])) == 1
    other = create_network(api)
    assert create_port(api, other["id"], mac_address="fa:16:3e:aa:bb:cc")["mac_address"] == (
        "fa:16:3e:aa:bb:cc"
    )


@pytest.mark.parametrize(
    "mac", ["fa:16:3e:aa:bb", "zz:16:3e:aa:bb:cc", "01:00:5e:00:00:01", "00:00:00:00:00:00"]
)
def test_bad_mac_is_400(api: httpx.Client, network: dict[str, Any], mac: str) -> None:
    assert_error(post_port(api, network["id"], mac_address=mac), 400, "HTTPBadRequest")


@pytest.mark.parametrize(
    "attributes",
    [
        {"colour": "red"},
        {"admin_state_up": "up"},
        {"mac_address": 5},
        {"binding:vnic_type": "warp"},
        {"status": "ACTIVE"},
    ],
)
def test_bad_create_bodies_are_400(
    api: httpx.Client, network: dict[str, Any], attributes: dict[str, Any]
) -> None:
    assert_error(post_port(api, network["id"], **attributes), 400, "HTTPBadRequest")


def test_missing_network_id_is_400(api: httpx.Client) -> None:
    assert_error(api.post("/ports", json={"port": {"name": "x"}}), 400, "HTTPBadRequest")


def test_bulk_create_answers_201_with_every_port(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    body = {"ports": [{"network_id": network["id"], "name": f"b{i}"} for i in range(3)]}
    response = api.post("/ports", json=body)
    assert response.status_code == 201, response.text
    created = response.json()["ports"]
    assert [p["name"] for p in created] == ["b0", "b1", "b2"]
    assert [ips(p) for p in created] == [["10.0.0.2"], ["10.0.0.3"], ["10.0.0.4"]]
    for port in created:
        assert api.get(f"/ports/{port['id']}").json()["port"] == port


def test_bulk_create_is_all_or_nothing(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    good = [
        {"network_id": network["id"], "name": "good", "mac_address": f"fa:16:3e:00:00:{i:02x}"}
        for i in range(1, 5)
    ]
    for bad, status in (
        ({"network_id": network["id"], "fixed_ips": [{"ip_address": "10.7.7.7"}]}, 400),
        ({"network_id": network["id"], "fixed_ips": [{"ip_address": "10.0.0.2"}]}, 409),
        ({"network_id": network["id"], "mac_address": "fa:16:3e:00:00:01"}, 409),
        ({"network_id": "00000000-0000-0000-0000-000000000000"}, 404),
        ({"network_id": network["id"], "unknown": 1}, 400),
    ):
        response = api.post("/ports", json={"ports": [*good, bad]})
        assert response.status_code == status, response.text
        assert ports_on(api, network["id"]) == []
    again = api.post("/ports", json={"ports": good})
    assert again.status_code == 201, again.text
    assert [ips(p) for p in again.json()["ports"]] == [[f"10.0.0.{i}"] for i in range(2, 6)]
    assert [p["mac_address"] for p in again.json()["ports"]] == [g["mac_address"] for g in good]


def test_bulk_create_across_networks(api: httpx.Client) -> None:
    first, second = create_network(api), create_network(api)
    create_subnet(api, first["id"], "10.3.0.0/24")
    create_subnet(api, second["id"], "10.4.0.0/24")
    body = {"ports": [{"network_id": n["id"]} for n in (first, second, first)]}
    response = api.post("/ports", json=body)
    assert response.status_code == 201, response.text
    assert [ips(p) for p in response.json()["ports"]] == [["10.3.0.2"], ["10.4.0.2"], ["10.3.0.3"]]


def test_update_fixed_ips_releases_the_old_address(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    port = create_port(api, network["id"])
    assert ips(port) == ["10.0.0.2"]
    response = api.put(
        f"/ports/{port['id']}", json={"port": {"fixed_ips": [{"ip_address": "10.0.0.50"}]}}
    )
    assert response.status_code == 200, response.text
    updated = response.json()["port"]
    assert updated["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.50"}]
    assert updated["revision_number"] == port["revision_number"] + 1
    assert api.get(f"/ports/{port['id']}").json()["port"] == updated
    assert ips(create_port(api, network["id"])) == ["10.0.0.2"]
    response = post_port(api, network["id"], fixed_ips=[{"ip_address": "10.0.0.50"}])
    assert_error(response, 409, "IpAddressAlreadyAllocated")


def test_update_keeps_an_address_it_asks_for_again(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    port = create_port(api, network["id"])
    fixed = [{"ip_address": "10.0.0.2"}, {"subnet_id": subnet["id"]}]
    response = api.put(f"/ports/{port['id']}", json={"port": {"fixed_ips": fixed}})
    assert response.status_code == 200, response.text
    assert ips(response.json()["port"]) == ["10.0.0.2", "10.0.0.3"]
    response = api.put(f"/ports/{port['id']}", json={"port": {"fixed_ips": []}})
    assert response.status_code == 200, response.text
    assert response.json()["port"]["fixed_ips"] == []
    assert ips(create_port(api, network["id"])) == ["10.0.0.2"]


def test_failed_fixed_ips_update_keeps_the_old_address(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    holder = create_port(api, network["id"])
    other = create_port(api, network["id"])
    response = api.put(
        f"/ports/{holder['id']}", json={"port": {"fixed_ips": [{"ip_address": "10.0.0.3"}]}}
    )
    assert_error(response, 409, "IpAddressAlreadyAllocated")
    assert api.get(f"/ports/{holder['id']}").json()["port"] == holder
    assert ips(other) == ["10.0.0.3"]
    response = post_port(api, network["id"], fixed_ips=[{"ip_address": "10.0.0.2"}])
    assert_error(response, 409, "IpAddressAlreadyAllocated")
    assert ips(create_port(api, network["id"])) == ["10.0.0.4"]


def test_delete_releases_address_and_mac(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    port = create_port(api, network["id"], mac_address="fa:16:3e:01:02:03")
    assert api.delete(f"/ports/{port['id']}").status_code == 204
    assert_error(api.get(f"/ports/{port['id']}"), 404, "PortNotFound")
    assert_error(api.delete(f"/ports/{port['id']}"), 404, "PortNotFound")
    again = create_port(api, network["id"], mac_address="fa:16:3e:01:02:03")
    assert ips(again) == ips(port)


def test_update_simple_attributes(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    port = create_port(api, network["id"])
    change = {
        "name": "renamed",
        "description": "d",
        "admin_state_up": False,
        "device_id": "vm-1",
        "device_owner": "compute:nova",
        "port_security_enabled": False,
        "security_groups": [],  # port security goes off only with the groups cleared
        "binding:vnic_type": "direct",
    }
    response = api.put(f"/ports/{port['id']}", json={"port": change})
    assert response.status_code == 200, response.text
    updated = response.json()["port"]
    for key, value in change.items():
        assert updated[key] == value
    assert updated["mac_address"] == port["mac_address"]
    assert updated["fixed_ips"] == port["fixed_ips"]
    assert api.get(f"/ports/{port['id']}").json()["port"] == updated


@pytest.mark.parametrize(
    "change",
    [{"network_id": "x"}, {"tenant_id": "x"}, {"status": "ACTIVE"}, {"admin_state_up": 3}],
)
def test_bad_updates_are_400_and_change_nothing(
    api: httpx.Client, network: dict[str, Any], change: dict[str, Any]
) -> None:
    port = create_port(api, network["id"])
    response = api.put(f"/ports/{port['id']}", json={"port": change})
    assert_error(response, 400, "HTTPBadRequest")
    assert api.get(f"/ports/{port['id']}").json()["port"] == port


def test_binding_host_sets_the_vif_type(api: httpx.Client, network: dict[str, Any]) -> None:
    ensure_nodes(api, "compute-1", "compute-2")
    port = create_port(api, network["id"])
    assert port["binding:vif_type"] == "unbound"
    response = api.put(f"/ports/{port['id']}", json={"port": {"binding:host_id": "compute-1"}})
    assert response.status_code == 200, response.text
    bound = response.json()["port"]
    assert (bound["binding:host_id"], bound["binding:vif_type"]) == ("compute-1", "tap")
    assert api.get(f"/ports/{port['id']}").json()["port"] == bound
    response = api.put(f"/ports/{port['id']}", json={"port": {"binding:host_id": ""}})
    unbound = response.json()["port"]
    assert (unbound["binding:host_id"], unbound["binding:vif_type"]) == ("", "unbound")
    created_bound = create_port(api, network["id"], **{"binding:host_id": "compute-2"})
    assert created_bound["binding:vif_type"] == "tap"


def test_allowed_address_pairs_default_to_the_port_mac(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    pairs = [
        {"ip_address": "10.0.0.200"},
        {"ip_address": "10.8.0.0/24", "mac_address": "fa:16:3e:0a:0b:0c"},
    ]
    port = create_port(api, network["id"], allowed_address_pairs=pairs)
    assert port["allowed_address_pairs"] == [
        {"ip_address": "10.0.0.200", "mac_address": port["mac_address"]},
        {"ip_address": "10.8.0.0/24", "mac_address": "fa:16:3e:0a:0b:0c"},
    ]
    response = api.put(f"/ports/{port['id']}", json={"port": {"allowed_address_pairs": []}})
    assert response.json()["port"]["allowed_address_pairs"] == []


def test_if_match_on_update(api: httpx.Client, network: dict[str, Any]) -> None:
    port = create_port(api, network["id"])
    revision = port["revision_number"]
    stale = api.put(
        f"/ports/{port['id']}",
        json={"port": {"name": "stale"}},
        headers={"If-Match": f"revision_number={revision + 1}"},
    )
    assert_error(stale, 412, "RevisionNumberConstraintFailed")
    assert api.get(f"/ports/{port['id']}").json()["port"] == port
    fresh = api.put(
        f"/ports/{port['id']}",
        json={"port": {"name": "fresh"}},
        headers={"If-Match": f"revision_number={revision}"},
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["port"]["name"] == "fresh"
    assert fresh.json()["port"]["revision_number"] == revision + 1
    again = api.put(
        f"/ports/{port['id']}",
        json={"port": {"name": "again"}},
        headers={"If-Match": f"revision_number={revision}"},
    )
    assert_error(again, 412, "RevisionNumberConstraintFailed")


def test_if_match_on_delete(api: httpx.Client, network: dict[str, Any]) -> None:
    port = create_port(api, network["id"])
    revision = port["revision_number"]
    stale = api.delete(
        f"/ports/{port['id']}", headers={"If-Match": f"revision_number={revision - 1}"}
    )
    assert_error(stale, 412, "RevisionNumberConstraintFailed")
    assert api.get(f"/ports/{port['id']}").status_code == 200
    fresh = api.delete(f"/ports/{port['id']}", headers={"If-Match": f"revision_number={revision}"})
    assert fresh.status_code == 204
    assert api.get(f"/ports/{port['id']}").status_code == 404


def test_if_match_on_networks_and_subnets(api: httpx.Client, network: dict[str, Any]) -> None:
    subnet = create_subnet(api, network["id"], "10.5.0.0/24")
    for path, resource in (
        (f"/networks/{network['id']}", "network"),
        (f"/subnets/{subnet['id']}", "subnet"),
    ):
        current = api.get(path).json()[resource]["revision_number"]
        stale = api.put(
            path,
            json={resource: {"name": "x"}},
            headers={"If-Match": f"revision_number={current + 5}"},
        )
        assert_error(stale, 412, "RevisionNumberConstraintFailed")
        fresh = api.put(
            path, json={resource: {"name": "x"}}, headers={"If-Match": f"revision_number={current}"}
        )
        assert fresh.status_code == 200, fresh.text


def test_malformed_if_match_is_400(api: httpx.Client, network: dict[str, Any]) -> None:
    port = create_port(api, network["id"])
    response = api.put(
        f"/ports/{port['id']}", json={"port": {"name": "x"}}, headers={"If-Match": "banana"}
    )
    assert_error(response, 400, "HTTPBadRequest")
    assert api.get(f"/ports/{port['id']}").json()["port"] == port


@pytest.fixture
def dual_stack(api: httpx.Client, network: dict[str, Any]) -> tuple[Any, Any]:
    """An IPv4 subnet and a SLAAC IPv6 one on the network."""
    v4 = create_subnet(api, network["id"], "10.0.0.0/24")
    v6 = create_subnet(
        api, network["id"], "fd00:7::/64", ipv6_ra_mode="slaac", ipv6_address_mode="slaac"
    )
    return v4, v6


def test_slaac_address_cannot_be_chosen(
    api: httpx.Client, network: dict[str, Any], dual_stack: tuple[Any, Any]
) -> None:
    response = post_port(api, network["id"], fixed_ips=[{"ip_address": "fd00:7::5"}])
    assert_error(response, 400, "AllocationOnAutoAddressSubnet")
    assert ports_on(api, network["id"]) == []


def test_slaac_subnet_named_by_id_gives_the_eui64_address(
    api: httpx.Client, network: dict[str, Any], dual_stack: tuple[Any, Any]
) -> None:
    _v4, v6 = dual_stack
    port = create_port(api, network["id"], fixed_ips=[{"subnet_id": v6["id"]}])
    assert port["fixed_ips"] == [
        {"subnet_id": v6["id"], "ip_address": eui64(v6["cidr"], port["mac_address"])}
    ]


def test_a_port_always_gets_its_slaac_address(
    api: httpx.Client, network: dict[str, Any], dual_stack: tuple[Any, Any]
) -> None:
    """Neutron adds the EUI-64 address of every SLAAC subnet whatever fixed_ips asked for."""
    v4, v6 = dual_stack
    port = create_port(api, network["id"], fixed_ips=[{"subnet_id": v4["id"]}])
    slaac = {"subnet_id": v6["id"], "ip_address": eui64(v6["cidr"], port["mac_address"])}
    assert port["fixed_ips"] == [{"subnet_id": v4["id"], "ip_address": "10.0.0.2"}, slaac]
    moved = api.put(
        f"/ports/{port['id']}", json={"port": {"fixed_ips": [{"ip_address": "10.0.0.9"}]}}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["port"]["fixed_ips"] == [
        {"subnet_id": v4["id"], "ip_address": "10.0.0.9"},
        slaac,
    ]
    emptied = api.put(f"/ports/{port['id']}", json={"port": {"fixed_ips": []}})
    assert emptied.status_code == 200, emptied.text
    assert emptied.json()["port"]["fixed_ips"] == [slaac]
    assert api.get(f"/ports/{port['id']}").json()["port"]["fixed_ips"] == [slaac]
    assert ips(create_port(api, network["id"], fixed_ips=[{"subnet_id": v4["id"]}]))[0] == (
        "10.0.0.2"
    )


def test_ra_mode_alone_makes_a_slaac_subnet(api: httpx.Client, network: dict[str, Any]) -> None:
    v6 = create_subnet(api, network["id"], "fd00:8::/64", ipv6_ra_mode="slaac")
    port = create_port(api, network["id"])
    assert port["fixed_ips"] == [
        {"subnet_id": v6["id"], "ip_address": eui64(v6["cidr"], port["mac_address"])}
    ]
