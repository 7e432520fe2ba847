"""Floating IPs over real HTTP (the ``router`` extension's floating IPs, ``fip-port-details``),
compared with what the reference Neutron answers: allocation from an external network, the
floating IP's own port, association through a router, every 400/404/409 with Neutron's type,
failed requests leaving nothing behind, what an association holds (router interface, gateway,
external network, the port's address), the router's and floating IP's ports under the port API,
and isolation between projects."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest

from tests.integration.neutron import (
    REFERENCE,
    assert_error,
    create_network,
    create_port,
    create_subnet,
)
from tests.servers import ServerProcess

MEMBER = {"X-Project-Id": "fip-a", "X-Roles": "member"}
OTHER = {"X-Project-Id": "fip-b", "X-Roles": "member"}
MISSING = "00000000-0000-0000-0000-000000000000"

_octets = itertools.count(1)


def reference(name: str) -> Any:
    return json.loads((REFERENCE / name).read_text())


def post_fip(
    api: httpx.Client, headers: dict[str, str] | None = None, **attributes: Any
) -> httpx.Response:
    return api.post("/floatingips", json={"floatingip": attributes}, headers=headers or {})


def create_fip(api: httpx.Client, headers: dict[str, str] | None = None, **attributes: Any) -> Any:
    response = post_fip(api, headers, **attributes)
    assert response.status_code == 201, response.text
    return response.json()["floatingip"]


def put_fip(api: httpx.Client, fip_id: str, **attributes: Any) -> httpx.Response:
    return api.put(f"/floatingips/{fip_id}", json={"floatingip": attributes})


def fip_port(api: httpx.Client, fip: dict[str, Any]) -> Any:
    (port,) = api.get("/ports", params={"device_id": fip["id"]}).json()["ports"]
    return port


def snapshot(api: httpx.Client) -> tuple[list[str], list[str]]:
    """Every floating IP and every port (as admin): a failed request must change neither."""
    fips = [f["id"] for f in api.get("/floatingips").json()["floatingips"]]
    ports = [p["id"] for p in api.get("/ports", params={"fields": "id"}).json()["ports"]]
    return sorted(fips), sorted(ports)


def external_network(api: httpx.Client, cidr: str | None = None) -> dict[str, Any]:
    network = create_network(api, name="public", **{"router:external": True})
    cidr = cidr or f"172.{next(_octets) % 200 + 16}.0.0/24"
    subnet = create_subnet(api, network["id"], cidr, enable_dhcp=False)
    return {"network": network, "subnet": subnet}


def routed(
    api: httpx.Client, external: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A project's network and subnet, and a router between it and the external network."""
    headers = headers or {}
    network = api.post("/networks", json={"network": {}}, headers=headers).json()["network"]
    cidr = f"10.{next(_octets) % 250}.0.0/24"
    subnet = api.post(
        "/subnets", json={"subnet": {"network_id": network["id"], "cidr": cidr}}, headers=headers
    ).json()["subnet"]
    gateway = {"network_id": external["network"]["id"]}
    router = api.post(
        "/routers", json={"router": {"external_gateway_info": gateway}}, headers=headers
    ).json()["router"]
    added = api.put(
        f"/routers/{router['id']}/add_router_interface",
        json={"subnet_id": subnet["id"]},
        headers=headers,
    )
    assert added.status_code == 200, added.text
    return {"network": network, "subnet": subnet, "router": router, "interface": added.json()}


@pytest.fixture
def external(api: httpx.Client) -> dict[str, Any]:
    return external_network(api)


@pytest.fixture
def inside(api: httpx.Client, external: dict[str, Any]) -> dict[str, Any]:
    return routed(api, external)


# --- the floating IP itself -------------------------------------------------------------


def test_a_floating_ip_has_neutron_s_keys_and_its_own_port(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    network_id = external["network"]["id"]
    fip = create_fip(api, floating_network_id=network_id, description="web")
    assert list(fip) == list(reference("fip.json")["floatingip"])
    assert list(fip) == list(reference("fip_list.json")["floatingips"][0])
    assert fip["floating_network_id"] == network_id
    assert fip["floating_ip_address"] == external["subnet"]["cidr"].rsplit(".", 1)[0] + ".2"
    assert (fip["port_id"], fip["fixed_ip_address"], fip["router_id"]) == (None, None, None)
    assert fip["port_details"] is None
    assert (fip["status"], fip["description"], fip["revision_number"]) == ("DOWN", "web", 0)
    assert fip["project_id"] == fip["tenant_id"] == "admin"
    assert (fip["qos_policy_id"], fip["port_forwardings"], fip["tags"]) == (None, [], [])
    assert api.get(f"/floatingips/{fip['id']}").json()["floatingip"] == fip
    port = fip_port(api, fip)
    assert (port["device_owner"], port["network_id"]) == ("network:floatingip", network_id)
    assert port["fixed_ips"] == [
        {"subnet_id": external["subnet"]["id"], "ip_address": fip["floating_ip_address"]}
    ]
    assert (port["project_id"], port["status"], port["port_security_enabled"]) == ("", "N/A", False)
    assert port["security_groups"] == []


def test_an_admin_chooses_the_address_or_the_subnet(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    network_id, subnet_id = external["network"]["id"], external["subnet"]["id"]
    prefix = external["subnet"]["cidr"].rsplit(".", 1)[0]
    chosen = create_fip(api, floating_network_id=network_id, floating_ip_address=f"{prefix}.77")
    assert chosen["floating_ip_address"] == f"{prefix}.77"
    both = create_fip(
        api,
        floating_network_id=network_id,
        subnet_id=subnet_id,
        floating_ip_address=f"{prefix}.78",
    )
    assert both["floating_ip_address"] == f"{prefix}.78"
    by_subnet = create_fip(api, floating_network_id=network_id, subnet_id=subnet_id)
    assert fip_port(api, by_subnet)["fixed_ips"][0]["subnet_id"] == subnet_id
    before = snapshot(api)
    taken = post_fip(api, floating_network_id=network_id, floating_ip_address=f"{prefix}.77")
    assert_error(taken, 409, "IpAddressAlreadyAllocated")
    outside = post_fip(api, floating_network_id=network_id, floating_ip_address="10.0.0.5")
    assert_error(outside, 400, "InvalidIpForNetwork")
    assert_error(post_fip(api, floating_network_id=network_id, floating_ip_address="bogus"), 400)
    assert snapshot(api) == before


def test_a_dual_stack_external_network_gives_an_ipv4_floating_ip(api: httpx.Client) -> None:
    external = external_network(api)
    network_id = external["network"]["id"]
    v6 = create_subnet(api, network_id, "2001:db8:f1::/64", ip_version=6, enable_dhcp=False)
    fip = create_fip(api, floating_network_id=network_id)
    assert fip["floating_ip_address"].startswith("172.")
    assert {f["subnet_id"] for f in fip_port(api, fip)["fixed_ips"]} == {
        external["subnet"]["id"],
        v6["id"],
    }  # as Neutron: the port takes an address of each version
    before = snapshot(api)
    only_v6 = post_fip(api, floating_network_id=network_id, subnet_id=v6["id"])
    assert_error(only_v6, 400, "ExternalIpAddressExhausted")
    in_v6 = post_fip(api, floating_network_id=network_id, floating_ip_address="2001:db8:f1::55")
    assert_error(in_v6, 400, "ExternalIpAddressExhausted")
    mismatch = post_fip(
        api,
        floating_network_id=network_id,
        subnet_id=v6["id"],
        floating_ip_address=fip["floating_ip_address"].rsplit(".", 1)[0] + ".99",
    )
    assert_error(mismatch, 400, "InvalidIpForSubnet")
    assert snapshot(api) == before


def test_a_floating_ip_needs_an_external_network_with_ipv4(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    before = snapshot(api)
    internal = create_network(api)
    create_subnet(api, internal["id"], "10.201.0.0/24")
    assert_error(post_fip(api, floating_network_id=internal["id"]), 400, "BadRequest")
    assert_error(post_fip(api, floating_network_id=MISSING), 404, "NetworkNotFound")
    assert_error(post_fip(api), 400)
    only_v6 = create_network(api, **{"router:external": True})
    create_subnet(api, only_v6["id"], "2001:db8:f2::/64", ip_version=6)
    assert_error(post_fip(api, floating_network_id=only_v6["id"]), 400, "BadRequest")
    empty = create_network(api, **{"router:external": True})
    assert_error(post_fip(api, floating_network_id=empty["id"]), 400, "BadRequest")
    network_id = external["network"]["id"]
    other_subnet = api.get("/subnets", params={"network_id": internal["id"]}).json()["subnets"][0]
    foreign = post_fip(api, floating_network_id=network_id, subnet_id=other_subnet["id"])
    assert_error(foreign, 400, "InvalidInput")
    for attribute, value in (("router_id", MISSING), ("status", "ACTIVE"), ("name", "x")):
        response = post_fip(api, floating_network_id=network_id, **{attribute: value})
        assert_error(response, 400)
    bulk = api.post(
        "/floatingips",
        json={"floatingips": [{"floating_network_id": network_id}] * 2},
    )
    assert_error(bulk, 400)
    after = snapshot(api)
    assert after[0] == before[0]  # no floating IP, and no port but the networks' own
    assert set(after[1]) == set(before[1])


def test_a_full_external_subnet_is_409_and_a_deleted_address_comes_back(
    api: httpx.Client,
) -> None:
    external = external_network(api, "172.31.250.0/30")  # one address: .2 (.1 is the gateway)
    network_id = external["network"]["id"]
    fip = create_fip(api, floating_network_id=network_id)
    port = fip_port(api, fip)
    assert fip["floating_ip_address"] == "172.31.250.2"
    assert_error(post_fip(api, floating_network_id=network_id), 409, "IpAddressGenerationFailure")
    assert api.delete(f"/floatingips/{fip['id']}").status_code == 204
    assert_error(api.get(f"/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    assert_error(api.delete(f"/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    assert_error(api.get(f"/ports/{port['id']}"), 404, "PortNotFound")
    again = create_fip(api, floating_network_id=network_id)
    assert again["floating_ip_address"] == "172.31.250.2"


def test_update_description_if_match_and_read_only_attributes(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    fip = create_fip(api, floating_network_id=external["network"]["id"])
    url = f"/floatingips/{fip['id']}"
    updated = put_fip(api, fip["id"], description="changed")
    assert updated.status_code == 200, updated.text
    assert updated.json()["floatingip"]["description"] == "changed"
    assert updated.json()["floatingip"]["revision_number"] == 1
    stale = api.put(
        url, json={"floatingip": {"description": "x"}}, headers={"If-Match": "revision_number=0"}
    )
    assert_error(stale, 412)
    for attribute, value in (
        ("floating_network_id", fip["floating_network_id"]),
        ("floating_ip_address", fip["floating_ip_address"]),
        ("router_id", None),
        ("status", "ACTIVE"),
    ):
        assert_error(put_fip(api, fip["id"], **{attribute: value}), 400)
    assert api.get(url).json()["floatingip"]["description"] == "changed"
    stale_delete = api.delete(url, headers={"If-Match": "revision_number=0"})
    assert_error(stale_delete, 412)
    assert api.delete(url, headers={"If-Match": "revision_number=1"}).status_code == 204


def test_list_filters_sorts_pages_fields_and_tags(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    network_id = external["network"]["id"]
    made = [create_fip(api, floating_network_id=network_id) for _ in range(3)]
    ids = sorted(f["id"] for f in made)
    mine = {"floating_network_id": network_id, "sort_key": "id"}
    assert [f["id"] for f in api.get("/floatingips", params=mine).json()["floatingips"]] == ids
    page = api.get("/floatingips", params={**mine, "limit": 2}).json()
    assert [f["id"] for f in page["floatingips"]] == ids[:2]
    assert page["floatingips_links"][0]["rel"] == "next"
    by_address = api.get(
        "/floatingips",
        params={"floating_ip_address": made[1]["floating_ip_address"], "fields": ["id", "status"]},
    ).json()["floatingips"]
    assert by_address == [{"id": made[1]["id"], "status": "DOWN"}]
    unassociated = api.get("/floatingips", params={**mine, "status": "DOWN"}).json()
    assert len(unassociated["floatingips"]) == 3
    for bad in ("name", "port_details", "floating_port_id"):
        assert_error(api.get("/floatingips", params={bad: "x"}), 400)
    assert api.put(f"/floatingips/{made[0]['id']}/tags/blue").status_code == 201
    shown = api.get(f"/floatingips/{made[0]['id']}").json()["floatingip"]
    assert (shown["tags"], shown["revision_number"]) == (["blue"], 1)
    tagged = api.get("/floatingips", params={"tags": "blue"}).json()["floatingips"]
    assert [f["id"] for f in tagged] == [made[0]["id"]]


# --- association ------------------------------------------------------------------------


def test_associate_disassociate_and_reassociate(
    api: httpx.Client, external: dict[str, Any], inside: dict[str, Any]
) -> None:
    network_id = external["network"]["id"]
    port = create_port(api, inside["network"]["id"], name="vm-1", device_id="vm-1")
    fip = create_fip(api, floating_network_id=network_id, port_id=port["id"])
    assert fip["port_id"] == port["id"]
    assert fip["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    assert fip["router_id"] == inside["router"]["id"]  # derived, never sent
    details = fip["port_details"]
    assert list(details) == list(reference("fip.json")["floatingip"]["port_details"])
    assert details == {
        "name": "vm-1",
        "network_id": inside["network"]["id"],
        "mac_address": port["mac_address"],
        "admin_state_up": True,
        "status": "DOWN",
        "device_id": "vm-1",
        "device_owner": "",
    }
    kept = put_fip(api, fip["id"], description="kept").json()["floatingip"]
    assert (kept["port_id"], kept["router_id"]) == (port["id"], inside["router"]["id"])

    released = put_fip(api, fip["id"], port_id=None)
    assert released.status_code == 200, released.text
    body = released.json()["floatingip"]
    assert (body["port_id"], body["fixed_ip_address"], body["router_id"]) == (None, None, None)
    assert body["port_details"] is None

    other = create_port(api, inside["network"]["id"])
    moved = put_fip(api, fip["id"], port_id=port["id"]).json()["floatingip"]
    assert moved["port_id"] == port["id"]
    moved = put_fip(api, fip["id"], port_id=other["id"]).json()["floatingip"]
    assert moved["port_id"] == other["id"]
    assert moved["fixed_ip_address"] == other["fixed_ips"][0]["ip_address"]
    assert moved["revision_number"] == 4
    listed = api.get("/floatingips", params={"port_id": other["id"]}).json()["floatingips"]
    assert [f["id"] for f in listed] == [fip["id"]]
    routed_ = api.get("/floatingips", params={"router_id": inside["router"]["id"]}).json()
    assert [f["id"] for f in routed_["floatingips"]] == [fip["id"]]


def test_a_port_with_several_ipv4_addresses_needs_the_fixed_ip_chosen(
    api: httpx.Client, external: dict[str, Any], inside: dict[str, Any]
) -> None:
    network_id = external["network"]["id"]
    subnet = inside["subnet"]
    second = create_subnet(api, inside["network"]["id"], "10.254.0.0/24")
    v6 = create_subnet(api, inside["network"]["id"], "2001:db8:f3::/64", ip_version=6)
    port = create_port(
        api,
        inside["network"]["id"],
        fixed_ips=[
            {"subnet_id": subnet["id"]},
            {"subnet_id": second["id"]},
            {"subnet_id": v6["id"]},
        ],
    )
    address = {f["subnet_id"]: f["ip_address"] for f in port["fixed_ips"]}
    before = snapshot(api)
    several = post_fip(api, floating_network_id=network_id, port_id=port["id"])
    assert_error(several, 400, "BadRequest")
    not_v4 = post_fip(
        api, floating_network_id=network_id, port_id=port["id"], fixed_ip_address=address[v6["id"]]
    )
    assert_error(not_v4, 400, "BadRequest")
    not_its = post_fip(
        api, floating_network_id=network_id, port_id=port["id"], fixed_ip_address="10.1.2.3"
    )
    assert_error(not_its, 400, "BadRequest")
    malformed = post_fip(
        api, floating_network_id=network_id, port_id=port["id"], fixed_ip_address="zzz"
    )
    assert_error(malformed, 400)
    unrouted = post_fip(
        api,
        floating_network_id=network_id,
        port_id=port["id"],
        fixed_ip_address=address[second["id"]],
    )
    assert_error(unrouted, 404, "ExternalGatewayForFloatingIPNotFound")
    assert snapshot(api) == before  # no floating IP, no port, and the addresses are free
    fip = create_fip(
        api,
        floating_network_id=network_id,
        port_id=port["id"],
        fixed_ip_address=address[subnet["id"]],
    )
    assert fip["fixed_ip_address"] == address[subnet["id"]]
    again = put_fip(api, fip["id"], port_id=port["id"], fixed_ip_address=address[second["id"]])
    assert_error(again, 404, "ExternalGatewayForFloatingIPNotFound")
    assert api.get(f"/floatingips/{fip['id']}").json()["floatingip"] == fip


def test_association_rules(
    api: httpx.Client, external: dict[str, Any], inside: dict[str, Any]
) -> None:
    network_id = external["network"]["id"]
    port = create_port(api, inside["network"]["id"])
    first = create_fip(api, floating_network_id=network_id, port_id=port["id"])
    before = snapshot(api)
    twice = post_fip(api, floating_network_id=network_id, port_id=port["id"])
    assert_error(twice, 409, "FloatingIPPortAlreadyAssociated")
    without_port = post_fip(
        api, floating_network_id=network_id, fixed_ip_address=first["fixed_ip_address"]
    )
    assert_error(without_port, 400, "BadRequest")
    assert_error(
        post_fip(api, floating_network_id=network_id, port_id=MISSING), 404, "PortNotFound"
    )
    bare = create_port(api, inside["network"]["id"], fixed_ips=[])
    assert_error(
        post_fip(api, floating_network_id=network_id, port_id=bare["id"]), 400, "BadRequest"
    )
    dhcp = create_port(api, inside["network"]["id"], device_owner="network:dhcp")
    assert_error(
        post_fip(api, floating_network_id=network_id, port_id=dhcp["id"]), 400, "BadRequest"
    )
    on_external = create_port(api, network_id)
    response = post_fip(api, floating_network_id=network_id, port_id=on_external["id"])
    assert_error(response, 404, "ExternalGatewayForFloatingIPNotFound")
    unrouted_network = create_network(api)
    create_subnet(api, unrouted_network["id"], "10.253.0.0/24")
    unrouted = create_port(api, unrouted_network["id"])
    response = post_fip(api, floating_network_id=network_id, port_id=unrouted["id"])
    assert_error(response, 404, "ExternalGatewayForFloatingIPNotFound")
    after = snapshot(api)
    assert after[0] == before[0]
    assert set(before[1]) <= set(after[1])
    assert set(after[1]) - set(before[1]) == {
        bare["id"],
        dhcp["id"],
        on_external["id"],
        unrouted["id"],
    }  # only the ports this test made itself: no floating IP port was left
    spare = create_fip(api, floating_network_id=network_id)
    taken = put_fip(api, spare["id"], port_id=port["id"])
    assert_error(taken, 409, "FloatingIPPortAlreadyAssociated")
    no_port = put_fip(api, spare["id"], fixed_ip_address=first["fixed_ip_address"])
    assert_error(no_port, 400, "BadRequest")
    # Released, the fixed IP takes another floating IP.
    assert put_fip(api, first["id"], port_id=None).status_code == 200
    assert put_fip(api, spare["id"], port_id=port["id"]).status_code == 200


def test_deleting_the_associated_port_disassociates_as_neutron_does(
    api: httpx.Client, external: dict[str, Any], inside: dict[str, Any]
) -> None:
    port = create_port(api, inside["network"]["id"])
    fip = create_fip(api, floating_network_id=external["network"]["id"], port_id=port["id"])
    assert api.delete(f"/ports/{port['id']}").status_code == 204
    after = api.get(f"/floatingips/{fip['id']}").json()["floatingip"]
    assert (after["port_id"], after["fixed_ip_address"], after["router_id"]) == (None, None, None)
    assert after["revision_number"] == fip["revision_number"] + 1
    # The router's interface is no longer held.
    removed = api.put(
        f"/routers/{inside['router']['id']}/remove_router_interface",
        json={"subnet_id": inside["subnet"]["id"]},
    )
    assert removed.status_code == 200, removed.text


def test_the_port_s_associated_address_stays(
    api: httpx.Client, external: dict[str, Any], inside: dict[str, Any]
) -> None:
    port = create_port(api, inside["network"]["id"])
    fip = create_fip(api, floating_network_id=external["network"]["id"], port_id=port["id"])
    url = f"/ports/{port['id']}"
    moved = api.put(url, json={"port": {"fixed_ips": [{"subnet_id": inside["subnet"]["id"]}]}})
    assert_error(moved, 400, "BadRequest")
    assert api.get(url).json()["port"]["fixed_ips"] == port["fixed_ips"]
    kept = api.put(
        url,
        json={"port": {"fixed_ips": [{"ip_address": fip["fixed_ip_address"]}], "name": "kept"}},
    )
    assert kept.status_code == 200, kept.text


# --- what an association holds ------------------------------------------------------------


def test_a_floating_ip_holds_the_router_s_interface_and_gateway(
    api: httpx.Client, external: dict[str, Any], inside: dict[str, Any]
) -> None:
    router_id = inside["router"]["id"]
    port = create_port(api, inside["network"]["id"])
    fip = create_fip(api, floating_network_id=external["network"]["id"], port_id=port["id"])
    remove = api.put(
        f"/routers/{router_id}/remove_router_interface", json={"subnet_id": inside["subnet"]["id"]}
    )
    assert_error(remove, 409, "RouterInterfaceInUseByFloatingIP")
    url = f"/routers/{router_id}"
    cleared = api.put(url, json={"router": {"external_gateway_info": None}})
    assert_error(cleared, 409, "RouterExternalGatewayInUseByFloatingIp")
    elsewhere = external_network(api)
    changed = api.put(
        url,
        json={"router": {"external_gateway_info": {"network_id": elsewhere["network"]["id"]}}},
    )
    assert_error(changed, 409, "RouterExternalGatewayInUseByFloatingIp")
    assert_error(api.delete(url), 409, "RouterInUse")
    gateway = api.get(url).json()["router"]["external_gateway_info"]
    assert gateway == inside["router"]["external_gateway_info"]
    # As Neutron: the gateway may take another address on the same network.
    prefix = external["subnet"]["cidr"].rsplit(".", 1)[0]
    readdressed = api.put(
        url,
        json={
            "router": {
                "external_gateway_info": {
                    "network_id": external["network"]["id"],
                    "external_fixed_ips": [{"ip_address": f"{prefix}.200"}],
                }
            }
        },
    )
    assert readdressed.status_code == 200, readdressed.text
    assert api.get(f"/floatingips/{fip['id']}").json()["floatingip"]["router_id"] == router_id
    # Released, the floating IP holds nothing.
    assert put_fip(api, fip["id"], port_id=None).status_code == 200
    assert api.put(url, json={"router": {"external_gateway_info": None}}).status_code == 200


def test_the_external_network_and_subnet_are_in_use(api: httpx.Client) -> None:
    external = external_network(api)
    network_id = external["network"]["id"]
    fip = create_fip(api, floating_network_id=network_id)
    url = f"/networks/{network_id}"
    assert_error(api.delete(f"/subnets/{external['subnet']['id']}"), 409, "SubnetInUse")
    # Neutron checks gateway ports only; a floating IP holds the network external here too.
    internal = api.put(url, json={"network": {"router:external": False}})
    assert_error(internal, 409, "ExternalNetworkInUse")
    assert api.get(url).json()["network"]["router:external"] is True
    assert api.delete(f"/floatingips/{fip['id']}").status_code == 204
    router = api.post(
        "/routers", json={"router": {"external_gateway_info": {"network_id": network_id}}}
    ).json()["router"]
    internal = api.put(url, json={"network": {"router:external": False}})
    assert_error(internal, 409, "ExternalNetworkInUse")
    assert api.delete(f"/routers/{router['id']}").status_code == 204
    made_internal = api.put(url, json={"network": {"router:external": False}})
    assert made_internal.status_code == 200, made_internal.text
    assert api.delete(url).status_code == 204


def test_deleting_an_external_network_deletes_its_unassociated_floating_ips(
    api: httpx.Client,
) -> None:
    """Mirrors tempest admin/test_external_network_extension.ExternalNetworksTestJSON
    .test_delete_external_networks_with_floating_ip: as Neutron, a floating IP that maps to
    nothing goes with its external network (the reference Neutron answers 204); a router's
    gateway keeps the network (409), and then nothing is deleted (Neutron deletes the floating
    IPs all the same)."""
    external = external_network(api)
    network_id = external["network"]["id"]
    fip = create_fip(api, floating_network_id=network_id)
    port = fip_port(api, fip)
    router = api.post(
        "/routers", json={"router": {"external_gateway_info": {"network_id": network_id}}}
    ).json()["router"]
    assert_error(api.delete(f"/networks/{network_id}"), 409, "NetworkInUse")
    assert api.get(f"/floatingips/{fip['id']}").status_code == 200
    assert api.get(f"/ports/{port['id']}").status_code == 200
    assert api.delete(f"/routers/{router['id']}").status_code == 204
    assert api.delete(f"/networks/{network_id}").status_code == 204
    assert_error(api.get(f"/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    assert_error(api.get(f"/ports/{port['id']}"), 404, "PortNotFound")
    assert api.get("/floatingips", params={"floating_network_id": network_id}).json() == {
        "floatingips": []
    }


# --- the router's and the floating IP's ports under the port API --------------------------


def test_service_ports_are_changed_only_through_their_owner(
    api: httpx.Client, external: dict[str, Any], inside: dict[str, Any]
) -> None:
    fip = create_fip(api, floating_network_id=external["network"]["id"])
    own = fip_port(api, fip)
    interface = api.get(f"/ports/{inside['interface']['port_id']}").json()["port"]
    (gateway,) = api.get(
        "/ports",
        params={"device_id": inside["router"]["id"], "device_owner": "network:router_gateway"},
    ).json()["ports"]
    for port in (own, interface, gateway):
        url = f"/ports/{port['id']}"
        assert_error(api.delete(url), 409, "ServicePortInUse")
        assert_error(api.put(url, json={"port": {"device_owner": ""}}), 409, "ServicePortInUse")
        assert_error(api.put(url, json={"port": {"device_id": "x"}}), 409, "ServicePortInUse")
        same = {"device_owner": port["device_owner"], "device_id": port["device_id"]}
        renamed = api.put(url, json={"port": {"name": "renamed", **same}})
        assert renamed.status_code == 200, renamed.text
        shown = api.get(url).json()["port"]
        assert (shown["device_owner"], shown["device_id"]) == (
            port["device_owner"],
            port["device_id"],
        )
    for port in (own, interface):  # as Neutron for the interface: its IPv4 address stays
        (fixed,) = port["fixed_ips"]
        elsewhere = {"subnet_id": fixed["subnet_id"], "ip_address": _neighbour(fixed["ip_address"])}
        moved = api.put(f"/ports/{port['id']}", json={"port": {"fixed_ips": [elsewhere]}})
        assert_error(moved, 400, "BadRequest")
        assert api.get(f"/ports/{port['id']}").json()["port"]["fixed_ips"] == port["fixed_ips"]
    assert api.delete(f"/floatingips/{fip['id']}").status_code == 204


def _neighbour(address: str) -> str:
    prefix, last = address.rsplit(".", 1)
    return f"{prefix}.{int(last) + 100}"


def test_a_port_made_with_a_service_owner_is_an_ordinary_port(
    api: httpx.Client, inside: dict[str, Any]
) -> None:
    """As Neutron: only a port whose floating IP or router exists is protected."""
    port = create_port(
        api, inside["network"]["id"], device_owner="network:floatingip", device_id=MISSING
    )
    assert port["status"] == "N/A"
    assert api.put(f"/ports/{port['id']}", json={"port": {"device_id": "x"}}).status_code == 200
    assert api.delete(f"/ports/{port['id']}").status_code == 204


# --- projects -----------------------------------------------------------------------------


def test_another_project_s_floating_ip_does_not_exist(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    network_id = external["network"]["id"]
    mine = create_fip(api, MEMBER, floating_network_id=network_id)
    assert mine["project_id"] == "fip-a"
    url = f"/floatingips/{mine['id']}"
    assert api.get(url, headers=MEMBER).status_code == 200
    assert_error(api.get(url, headers=OTHER), 404, "FloatingIPNotFound")
    assert_error(api.put(url, json={"floatingip": {"description": "x"}}, headers=OTHER), 404)
    assert_error(api.delete(url, headers=OTHER), 404, "FloatingIPNotFound")
    assert_error(api.put(f"{url}/tags/t", headers=OTHER), 404)
    listed = api.get("/floatingips", headers=OTHER).json()["floatingips"]
    assert mine["id"] not in [f["id"] for f in listed]
    # The floating IP's port is nobody's: its project does not see it.
    assert api.get("/ports", params={"device_id": mine["id"]}, headers=MEMBER).json() == {
        "ports": []
    }
    chosen = post_fip(api, MEMBER, floating_network_id=network_id, floating_ip_address="172.99.0.9")
    assert_error(chosen, 403)
    other = post_fip(api, MEMBER, floating_network_id=network_id, project_id="fip-b")
    assert_error(other, 400, "HTTPBadRequest")  # Neutron's API layer refuses it first
    assert api.delete(url, headers=MEMBER).status_code == 204


def test_a_member_associates_only_its_own_ports(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    network_id = external["network"]["id"]
    theirs = routed(api, external, OTHER)
    their_port = api.post(
        "/ports", json={"port": {"network_id": theirs["network"]["id"]}}, headers=OTHER
    ).json()["port"]
    ours = routed(api, external, MEMBER)
    our_port = api.post(
        "/ports", json={"port": {"network_id": ours["network"]["id"]}}, headers=MEMBER
    ).json()["port"]
    fip = create_fip(api, MEMBER, floating_network_id=network_id)
    response = api.put(
        f"/floatingips/{fip['id']}",
        json={"floatingip": {"port_id": their_port["id"]}},
        headers=MEMBER,
    )
    assert_error(response, 404, "PortNotFound")
    response = api.put(
        f"/floatingips/{fip['id']}",
        json={"floatingip": {"port_id": our_port["id"]}},
        headers=MEMBER,
    )
    assert response.status_code == 200, response.text
    assert response.json()["floatingip"]["router_id"] == ours["router"]["id"]
    # As Neutron: an admin may associate a floating IP with another project's port.
    admins = create_fip(
        api, floating_network_id=network_id, project_id="fip-c", port_id=their_port["id"]
    )
    assert (admins["project_id"], admins["router_id"]) == ("fip-c", theirs["router"]["id"])


# --- discovery and the change log ----------------------------------------------------------


def test_floating_ips_are_listed_as_a_resource_with_their_extension(api: httpx.Client) -> None:
    aliases = [e["alias"] for e in api.get("/extensions").json()["extensions"]]
    assert aliases.count("fip-port-details") == 1
    assert api.get("/extensions/fip-port-details").status_code == 200
    resources = [r["collection"] for r in api.get("").json()["resources"]]
    assert "floatingips" in resources


def test_a_floating_ip_and_its_port_change_in_one_logged_write(
    api: httpx.Client, server: ServerProcess, external: dict[str, Any]
) -> None:
    fip = create_fip(api, floating_network_id=external["network"]["id"])
    port = fip_port(api, fip)
    assert api.delete(f"/floatingips/{fip['id']}").status_code == 204
    rows = server.query(
        "SELECT revision, resource_type, operation FROM change_log "
        "WHERE resource_id IN (:fip, :port) ORDER BY revision",
        fip=fip["id"],
        port=port["id"],
    )
    assert [(kind, operation) for _, kind, operation in rows] == [
        ("port", "create"),
        ("floatingip", "create"),
        ("floatingip", "delete"),
        ("port", "delete"),
    ]
    revisions = [row[0] for row in rows]
    assert revisions[1] == revisions[0] + 1
    assert revisions[3] == revisions[2] + 1


# --- as tempest and neutron-tempest-plugin assert ------------------------------------------


def test_an_empty_update_clears_the_association_and_a_partial_one_keeps_it(
    api: httpx.Client, external: dict[str, Any], inside: dict[str, Any]
) -> None:
    """Mirrors neutron_tempest_plugin test_floating_ips.FloatingIPTestJSON
    .test_blank_update_clears_association and .test_create_update_floatingip_description: as
    Neutron, ``{"floatingip": {}}`` disassociates; a body that names anything else keeps the
    association; ``fixed_ip_address`` without a port is a 400 that changes nothing."""
    port = api.post("/ports", json={"port": {"network_id": inside["network"]["id"]}}).json()
    fip = create_fip(api, floating_network_id=external["network"]["id"], port_id=port["port"]["id"])
    kept = put_fip(api, fip["id"], description="d2")
    assert kept.status_code == 200, kept.text
    assert kept.json()["floatingip"]["port_id"] == port["port"]["id"]
    address = port["port"]["fixed_ips"][0]["ip_address"]
    assert_error(put_fip(api, fip["id"], fixed_ip_address=address), 400, "BadRequest")
    assert api.get(f"/floatingips/{fip['id']}").json()["floatingip"] == kept.json()["floatingip"]
    cleared = put_fip(api, fip["id"])
    assert cleared.status_code == 200, cleared.text
    body = cleared.json()["floatingip"]
    assert (body["port_id"], body["fixed_ip_address"], body["router_id"]) == (None, None, None)
    assert body["description"] == "d2"
    assert body["port_details"] is None


def test_another_project_s_port_on_the_caller_s_network_is_a_400(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    """Mirrors neutron_tempest_plugin admin/test_floating_ips_admin_actions
    .FloatingIPAdminTestJSON.test_associate_floating_ip_with_port_from_another_project: a port
    an admin made for another project on the member's network is one the member may see in
    Neutron (``get_port`` lets a network's owner), so its association is Neutron's 400; a port
    on another project's network stays not found (existence does not leak)."""
    ours = routed(api, external, MEMBER)
    planted = api.post(
        "/ports", json={"port": {"network_id": ours["network"]["id"], "project_id": "fip-c"}}
    ).json()["port"]
    fip = create_fip(api, MEMBER, floating_network_id=external["network"]["id"])
    response = api.put(
        f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": planted["id"]}}, headers=MEMBER
    )
    assert_error(response, 400, "BadRequest")
    assert "owned by a different project" in response.json()["NeutronError"]["message"]
    theirs = routed(api, external, OTHER)
    their_port = api.post(
        "/ports", json={"port": {"network_id": theirs["network"]["id"]}}, headers=OTHER
    ).json()["port"]
    response = api.put(
        f"/floatingips/{fip['id']}",
        json={"floatingip": {"port_id": their_port["id"]}},
        headers=MEMBER,
    )
    assert_error(response, 404, "PortNotFound")
    assert api.get(f"/floatingips/{fip['id']}").json()["floatingip"]["port_id"] is None
