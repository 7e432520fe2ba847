"""Routers over real HTTP (``router``, ``extraroute``, ``ext-gw-mode``), compared with what Neutron
answers: the router body, the external gateway and its allocated address, interfaces by subnet
and by port, the conflicts around them, extra routes, and isolation between projects."""

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

MEMBER = {"X-Project-Id": "project-a", "X-Roles": "member"}
OTHER = {"X-Project-Id": "project-b", "X-Roles": "member"}

_third_octets = itertools.count(1)


def reference(name: str) -> Any:
    return json.loads((REFERENCE / name).read_text())


def create_router(
    api: httpx.Client, headers: dict[str, str] | None = None, **attributes: Any
) -> Any:
    response = api.post("/routers", json={"router": attributes}, headers=headers or {})
    assert response.status_code == 201, response.text
    return response.json()["router"]


def put_interface(
    api: httpx.Client, router_id: str, action: str = "add", **body: str
) -> httpx.Response:
    return api.put(f"/routers/{router_id}/{action}_router_interface", json=body)


def ports_of(api: httpx.Client, router_id: str) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = api.get("/ports", params={"device_id": router_id}).json()["ports"]
    return ports


def tenant_subnet(api: httpx.Client, cidr: str | None = None, **attributes: Any) -> Any:
    network = create_network(api, **attributes.pop("network", {}))
    cidr = cidr or f"10.{next(_third_octets)}.0.0/24"
    return create_subnet(api, network["id"], cidr, **attributes)


@pytest.fixture
def external(api: httpx.Client) -> dict[str, Any]:
    network = create_network(api, name="public", **{"router:external": True})
    subnet = create_subnet(api, network["id"], "172.24.4.0/24", enable_dhcp=False)
    return {"network": network, "subnet": subnet}


# --- the router itself ----------------------------------------------------------------


def test_a_router_has_neutron_s_keys_and_defaults(api: httpx.Client) -> None:
    router = create_router(api, name="r1")
    assert list(router) == list(reference("router.json")["router"])
    assert router["name"] == "r1"
    assert router["project_id"] == router["tenant_id"] == "admin"
    assert router["admin_state_up"] is True
    assert router["status"] == "ACTIVE"
    assert router["external_gateway_info"] is None
    assert router["routes"] == []
    assert (router["distributed"], router["ha"], router["flavor_id"]) == (True, False, None)
    assert router["revision_number"] == 1
    assert api.get(f"/routers/{router['id']}").json()["router"] == router


def test_update_delete_and_if_match(api: httpx.Client) -> None:
    router = create_router(api, name="before")
    url = f"/routers/{router['id']}"
    response = api.put(url, json={"router": {"name": "after", "admin_state_up": False}})
    assert response.status_code == 200, response.text
    updated = response.json()["router"]
    assert (updated["name"], updated["admin_state_up"]) == ("after", False)
    assert updated["revision_number"] == 2
    stale = api.put(url, json={"router": {"name": "x"}}, headers={"If-Match": "revision_number=1"})
    assert_error(stale, 412)
    assert_error(api.put(url, json={"router": {"status": "DOWN"}}), 400)
    assert api.delete(url).status_code == 204
    assert_error(api.get(url), 404, "RouterNotFound")
    assert_error(api.delete(url), 404, "RouterNotFound")


def test_routes_cannot_be_given_on_create(api: httpx.Client) -> None:
    response = api.post(
        "/routers",
        json={"router": {"routes": [{"destination": "10.0.0.0/8", "nexthop": "1.1.1.1"}]}},
    )
    assert_error(response, 400)


def test_list_filters_sorts_pages_and_tags(api: httpx.Client) -> None:
    made = [create_router(api, name=f"listed-{i}", tags=["listed"]) for i in range(3)]
    ids = sorted(r["id"] for r in made)
    listed = api.get("/routers", params={"tags": "listed", "sort_key": "id"}).json()["routers"]
    assert [r["id"] for r in listed] == ids
    page = api.get("/routers", params={"tags": "listed", "sort_key": "id", "limit": 2}).json()
    assert [r["id"] for r in page["routers"]] == ids[:2]
    assert page["routers_links"][0]["rel"] == "next"
    named = api.get("/routers", params={"name": "listed-1", "fields": ["id", "name"]}).json()
    assert named["routers"] == [{"id": made[1]["id"], "name": "listed-1"}]
    assert_error(api.get("/routers", params={"flavor": "x"}), 400)
    assert api.put(f"/routers/{made[0]['id']}/tags/extra").status_code == 201
    assert api.get(f"/routers/{made[0]['id']}").json()["router"]["tags"] == ["extra", "listed"]


# --- the external gateway ------------------------------------------------------------------


def test_a_gateway_takes_an_address_of_the_external_network(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    network_id = external["network"]["id"]
    router = create_router(api, external_gateway_info={"network_id": network_id})
    info = router["external_gateway_info"]
    assert list(info) == list(reference("router.json")["router"]["external_gateway_info"])
    assert info["network_id"] == network_id
    assert info["enable_snat"] is True
    [fixed] = info["external_fixed_ips"]
    assert fixed == {"subnet_id": external["subnet"]["id"], "ip_address": "172.24.4.2"}
    [port] = ports_of(api, router["id"])
    assert port["device_owner"] == "network:router_gateway"
    assert port["network_id"] == network_id
    assert port["fixed_ips"] == [fixed]
    assert port["project_id"] == ""  # as Neutron: the gateway port belongs to no project
    assert api.get(f"/routers/{router['id']}").json()["router"] == router


def test_admin_chooses_the_gateway_address_and_snat(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    subnet_id = external["subnet"]["id"]
    router = create_router(
        api,
        external_gateway_info={
            "network_id": external["network"]["id"],
            "enable_snat": False,
            "external_fixed_ips": [{"subnet_id": subnet_id, "ip_address": "172.24.4.100"}],
        },
    )
    info = router["external_gateway_info"]
    assert info["enable_snat"] is False
    assert info["external_fixed_ips"] == [{"subnet_id": subnet_id, "ip_address": "172.24.4.100"}]
    taken = api.post(
        "/routers",
        json={
            "router": {
                "external_gateway_info": {
                    "network_id": external["network"]["id"],
                    "external_fixed_ips": [{"ip_address": "172.24.4.100"}],
                }
            }
        },
    )
    assert_error(taken, 409, "IpAddressAlreadyAllocated")


def test_members_may_set_a_gateway_but_not_snat_or_addresses(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    network_id = external["network"]["id"]
    router = create_router(api, MEMBER, external_gateway_info={"network_id": network_id})
    assert router["project_id"] == "project-a"
    assert router["external_gateway_info"]["external_fixed_ips"]
    for gateway in (
        {"network_id": network_id, "enable_snat": False},
        {"network_id": network_id, "external_fixed_ips": [{"ip_address": "172.24.4.50"}]},
    ):
        response = api.post(
            "/routers", json={"router": {"external_gateway_info": gateway}}, headers=MEMBER
        )
        assert_error(response, 403)
    # The gateway port is nobody's: a member does not see it among its ports.
    assert api.get("/ports", params={"device_id": router["id"]}, headers=MEMBER).json() == {
        "ports": []
    }


def test_a_gateway_needs_an_external_network(api: httpx.Client) -> None:
    internal = tenant_subnet(api)
    before = len(api.get("/routers").json()["routers"])
    response = api.post(
        "/routers",
        json={"router": {"external_gateway_info": {"network_id": internal["network_id"]}}},
    )
    assert_error(response, 400, "BadRequest")
    missing = {"external_gateway_info": {"network_id": "00000000-0000-0000-0000-000000000000"}}
    assert_error(api.post("/routers", json={"router": missing}), 404, "NetworkNotFound")
    assert len(api.get("/routers").json()["routers"]) == before  # nothing was created


def test_changing_and_clearing_the_gateway_moves_its_port(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    router = create_router(api)
    url = f"/routers/{router['id']}"
    network_id = external["network"]["id"]
    set_ = api.put(url, json={"router": {"external_gateway_info": {"network_id": network_id}}})
    assert set_.status_code == 200, set_.text
    first = set_.json()["router"]["external_gateway_info"]["external_fixed_ips"]
    snat = api.put(
        url,
        json={
            "router": {"external_gateway_info": {"network_id": network_id, "enable_snat": False}}
        },
    ).json()["router"]["external_gateway_info"]
    assert snat["enable_snat"] is False
    assert snat["external_fixed_ips"] == first  # the same port, only SNAT changed
    cleared = api.put(url, json={"router": {"external_gateway_info": None}})
    assert cleared.json()["router"]["external_gateway_info"] is None
    assert ports_of(api, router["id"]) == []
    again = api.put(url, json={"router": {"external_gateway_info": {"network_id": network_id}}})
    assert again.json()["router"]["external_gateway_info"]["external_fixed_ips"] == first
    empty = api.put(url, json={"router": {"external_gateway_info": {}}})
    assert empty.json()["router"]["external_gateway_info"] is None


def test_deleting_a_router_removes_its_gateway_port(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    network_id = external["network"]["id"]
    router = create_router(api, external_gateway_info={"network_id": network_id})
    [port] = ports_of(api, router["id"])
    assert_error(api.delete(f"/ports/{port['id']}"), 409, "ServicePortInUse")
    assert_error(api.delete(f"/networks/{network_id}"), 409, "NetworkInUse")
    assert api.delete(f"/routers/{router['id']}").status_code == 204
    assert_error(api.get(f"/ports/{port['id']}"), 404)
    # Its address went back to the pool.
    reuse = create_router(api, external_gateway_info={"network_id": network_id})
    assert reuse["external_gateway_info"]["external_fixed_ips"] == port["fixed_ips"]


# --- interfaces -------------------------------------------------------------------------


def test_an_interface_by_subnet_takes_the_subnet_s_gateway(api: httpx.Client) -> None:
    subnet = tenant_subnet(api)
    router = create_router(api)
    response = put_interface(api, router["id"], subnet_id=subnet["id"])
    assert response.status_code == 200, response.text
    info = response.json()
    assert set(info) - set(reference("add_router_interface.json")) == {"tenant_id"}
    assert set(reference("add_router_interface.json")) <= set(info)
    assert info["id"] == router["id"]
    assert info["project_id"] == info["tenant_id"] == "admin"
    assert (info["subnet_id"], info["subnet_ids"]) == (subnet["id"], [subnet["id"]])
    assert info["network_id"] == subnet["network_id"]
    port = api.get(f"/ports/{info['port_id']}").json()["port"]
    assert port["device_owner"] == "network:router_interface"
    assert port["device_id"] == router["id"]
    assert port["network_id"] == subnet["network_id"]
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}]
    assert port["security_groups"] == []
    assert api.get(f"/routers/{router['id']}").json()["router"]["revision_number"] == 2


def test_an_interface_needs_a_gateway_and_one_router(api: httpx.Client) -> None:
    router, other = create_router(api), create_router(api)
    no_gateway = tenant_subnet(api, gateway_ip=None)
    assert_error(put_interface(api, router["id"], subnet_id=no_gateway["id"]), 400, "BadRequest")
    subnet = tenant_subnet(api)
    assert put_interface(api, router["id"], subnet_id=subnet["id"]).status_code == 200
    assert_error(put_interface(api, router["id"], subnet_id=subnet["id"]), 400, "BadRequest")
    assert_error(
        put_interface(api, other["id"], subnet_id=subnet["id"]), 409, "IpAddressAlreadyAllocated"
    )
    assert_error(put_interface(api, router["id"]), 400)
    both = put_interface(api, router["id"], subnet_id=subnet["id"], port_id=subnet["id"])
    assert_error(both, 400)
    missing = "00000000-0000-0000-0000-000000000000"
    assert_error(put_interface(api, router["id"], subnet_id=missing), 404, "SubnetNotFound")
    assert_error(put_interface(api, missing, subnet_id=subnet["id"]), 404, "RouterNotFound")
    assert_error(api.put(f"/routers/{router['id']}/add_router_interface", json={"x": 1}), 400)
    assert len(ports_of(api, router["id"])) == 1
    assert ports_of(api, other["id"]) == []


def test_the_subnets_of_a_router_do_not_overlap(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    router = create_router(api)
    first = tenant_subnet(api, "10.200.0.0/24")
    overlapping = tenant_subnet(api, "10.200.0.0/25")
    clash_with_gateway = tenant_subnet(api, "172.24.4.0/26")
    assert put_interface(api, router["id"], subnet_id=first["id"]).status_code == 200
    revision = api.get(f"/routers/{router['id']}").json()["router"]["revision_number"]
    assert_error(put_interface(api, router["id"], subnet_id=overlapping["id"]), 400, "BadRequest")
    # A failed request changed nothing: no port was made, the router kept its revision.
    assert api.get("/ports", params={"network_id": overlapping["network_id"]}).json()["ports"] == []
    assert api.get(f"/routers/{router['id']}").json()["router"]["revision_number"] == revision
    gateway = {"network_id": external["network"]["id"]}
    routed = create_router(api, external_gateway_info=gateway)
    assert_error(
        put_interface(api, routed["id"], subnet_id=clash_with_gateway["id"]), 400, "BadRequest"
    )


def test_an_interface_by_port(api: httpx.Client) -> None:
    subnet = tenant_subnet(api)
    router = create_router(api)
    port = create_port(api, subnet["network_id"], fixed_ips=[{"subnet_id": subnet["id"]}])
    response = put_interface(api, router["id"], port_id=port["id"])
    assert response.status_code == 200, response.text
    info = response.json()
    assert (info["port_id"], info["subnet_id"]) == (port["id"], subnet["id"])
    shown = api.get(f"/ports/{port['id']}").json()["port"]
    assert (shown["device_owner"], shown["device_id"]) == ("network:router_interface", router["id"])
    assert shown["fixed_ips"] == port["fixed_ips"]
    assert_error(put_interface(api, router["id"], port_id=port["id"]), 409, "PortInUse")


def test_a_port_must_be_free_addressed_and_the_router_s_project_s(api: httpx.Client) -> None:
    subnet = tenant_subnet(api)
    router = create_router(api)
    network_id = subnet["network_id"]
    bound = create_port(api, network_id, device_id="vm-1", device_owner="compute:nova")
    assert_error(put_interface(api, router["id"], port_id=bound["id"]), 409, "PortInUse")
    bare = create_port(api, network_id, fixed_ips=[])
    assert_error(put_interface(api, router["id"], port_id=bare["id"]), 400, "BadRequest")
    foreign = create_port(api, network_id, project_id="someone-else")
    assert_error(put_interface(api, router["id"], port_id=foreign["id"]), 400, "BadRequest")
    missing = "00000000-0000-0000-0000-000000000000"
    assert_error(put_interface(api, router["id"], port_id=missing), 404, "PortNotFound")
    for port in (bound, bare, foreign):
        assert api.get(f"/ports/{port['id']}").json()["port"]["device_id"] == port["device_id"]


def test_removing_interfaces_by_subnet_and_by_port(api: httpx.Client) -> None:
    router = create_router(api)
    by_subnet, by_port = tenant_subnet(api), tenant_subnet(api)
    added = put_interface(api, router["id"], subnet_id=by_subnet["id"]).json()
    port = create_port(api, by_port["network_id"])
    assert put_interface(api, router["id"], port_id=port["id"]).status_code == 200

    removed = put_interface(api, router["id"], "remove", subnet_id=by_subnet["id"])
    assert removed.status_code == 200, removed.text
    assert removed.json() == added
    assert_error(api.get(f"/ports/{added['port_id']}"), 404)
    again = put_interface(api, router["id"], "remove", subnet_id=by_subnet["id"])
    assert_error(again, 404, "RouterInterfaceNotFoundForSubnet")

    removed = put_interface(api, router["id"], "remove", port_id=port["id"])
    assert removed.status_code == 200, removed.text
    assert removed.json()["port_id"] == port["id"]
    assert_error(api.get(f"/ports/{port['id']}"), 404)
    again = put_interface(api, router["id"], "remove", port_id=port["id"])
    assert_error(again, 404, "RouterInterfaceNotFound")
    assert ports_of(api, router["id"]) == []
    # The gateway address is free again: the subnet can go to another router.
    other = create_router(api)
    assert put_interface(api, other["id"], subnet_id=by_subnet["id"]).status_code == 200


def test_in_use_rules(api: httpx.Client) -> None:
    router = create_router(api)
    subnet = tenant_subnet(api)
    info = put_interface(api, router["id"], subnet_id=subnet["id"]).json()
    assert_error(api.delete(f"/routers/{router['id']}"), 409, "RouterInUse")
    assert_error(api.delete(f"/subnets/{subnet['id']}"), 409, "SubnetInUse")
    assert_error(api.delete(f"/ports/{info['port_id']}"), 409, "ServicePortInUse")
    assert_error(api.delete(f"/networks/{subnet['network_id']}"), 409, "NetworkInUse")
    assert put_interface(api, router["id"], "remove", port_id=info["port_id"]).status_code == 200
    assert api.delete(f"/routers/{router['id']}").status_code == 204
    assert api.delete(f"/subnets/{subnet['id']}").status_code == 204


def test_a_slaac_subnet_with_an_interface_is_in_use(api: httpx.Client) -> None:
    subnet = tenant_subnet(
        api,
        "2001:db8:77::/64",
        ip_version=6,
        ipv6_ra_mode="slaac",
        ipv6_address_mode="slaac",
    )
    router = create_router(api)
    info = put_interface(api, router["id"], subnet_id=subnet["id"]).json()
    port = api.get(f"/ports/{info['port_id']}").json()["port"]
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "2001:db8:77::1"}]
    assert_error(api.delete(f"/subnets/{subnet['id']}"), 409, "SubnetInUse")


# --- extra routes -----------------------------------------------------------------------


def test_extra_routes_need_a_nexthop_on_the_router_s_subnets(api: httpx.Client) -> None:
    router = create_router(api)
    subnet = tenant_subnet(api, "10.250.0.0/24")
    put_interface(api, router["id"], subnet_id=subnet["id"])
    url = f"/routers/{router['id']}"

    def set_routes(*routes: tuple[str, str]) -> httpx.Response:
        body = [{"destination": d, "nexthop": n} for d, n in routes]
        return api.put(url, json={"router": {"routes": body}})

    ok = set_routes(("192.168.0.0/16", "10.250.0.10"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["router"]["routes"] == [
        {"destination": "192.168.0.0/16", "nexthop": "10.250.0.10"}
    ]
    assert_error(set_routes(("192.168.0.0/16", "10.9.9.9")), 400, "InvalidRoutes")
    assert_error(set_routes(("192.168.0.0/16", "10.250.0.1")), 400, "InvalidRoutes")
    assert_error(set_routes(("192.168.0.1/16", "10.250.0.10")), 400)
    assert_error(set_routes(("not-a-cidr", "10.250.0.10")), 400)
    assert_error(set_routes(("192.168.0.0/16", "nope")), 400)
    assert_error(set_routes(("2001:db8::/64", "10.250.0.10")), 400, "InvalidRoutes")
    twice = ("192.168.0.0/16", "10.250.0.10")
    assert_error(set_routes(twice, twice), 400)
    many = [(f"192.168.{i}.0/24", "10.250.0.10") for i in range(31)]
    assert_error(set_routes(*many), 400, "RoutesExhausted")
    # Failed updates changed nothing.
    assert api.get(url).json()["router"]["routes"] == ok.json()["router"]["routes"]

    remove = put_interface(api, router["id"], "remove", subnet_id=subnet["id"])
    assert_error(remove, 409, "RouterInterfaceInUseByRoute")
    cleared = api.put(url, json={"router": {"routes": None}})
    assert cleared.json()["router"]["routes"] == []
    assert put_interface(api, router["id"], "remove", subnet_id=subnet["id"]).status_code == 200


def test_a_route_through_the_gateway_keeps_the_gateway(
    api: httpx.Client, external: dict[str, Any]
) -> None:
    gateway = {"network_id": external["network"]["id"]}
    router = create_router(api, external_gateway_info=gateway)
    url = f"/routers/{router['id']}"
    routes = [{"destination": "198.51.100.0/24", "nexthop": "172.24.4.254"}]
    response = api.put(url, json={"router": {"routes": routes}})
    assert response.status_code == 200, response.text
    assert_error(api.put(url, json={"router": {"external_gateway_info": None}}), 409)
    assert api.get(url).json()["router"]["external_gateway_info"] == router["external_gateway_info"]


# --- projects -----------------------------------------------------------------------------


def test_another_project_s_router_does_not_exist(api: httpx.Client) -> None:
    mine = create_router(api, MEMBER, name="mine")
    url = f"/routers/{mine['id']}"
    assert api.get(url, headers=MEMBER).status_code == 200
    assert_error(api.get(url, headers=OTHER), 404, "RouterNotFound")
    assert_error(api.put(url, json={"router": {"name": "x"}}, headers=OTHER), 404)
    assert_error(api.delete(url, headers=OTHER), 404)
    listed = api.get("/routers", headers=OTHER).json()["routers"]
    assert mine["id"] not in [r["id"] for r in listed]
    theirs = tenant_subnet(api)  # the admin project's, on a network not shared
    other_subnet = api.post("/networks", json={"network": {}}, headers=OTHER).json()["network"]
    subnet = api.post(
        "/subnets",
        json={"subnet": {"network_id": other_subnet["id"], "cidr": "10.77.0.0/24"}},
        headers=OTHER,
    ).json()["subnet"]
    response = api.put(
        f"{url}/add_router_interface", json={"subnet_id": subnet["id"]}, headers=OTHER
    )
    assert_error(response, 404, "RouterNotFound")
    response = api.put(
        f"{url}/add_router_interface", json={"subnet_id": theirs["id"]}, headers=MEMBER
    )
    assert_error(response, 404, "SubnetNotFound")
    own_network = api.post("/networks", json={"network": {}}, headers=MEMBER).json()["network"]
    own = api.post(
        "/subnets",
        json={"subnet": {"network_id": own_network["id"], "cidr": "10.78.0.0/24"}},
        headers=MEMBER,
    ).json()["subnet"]
    response = api.put(f"{url}/add_router_interface", json={"subnet_id": own["id"]}, headers=MEMBER)
    assert response.status_code == 200, response.text
    assert response.json()["project_id"] == "project-a"
    port = api.get(f"/ports/{response.json()['port_id']}", headers=MEMBER).json()["port"]
    assert port["project_id"] == "project-a"


# --- discovery and the change log ----------------------------------------------------------


def test_the_router_extensions_are_listed_once(api: httpx.Client) -> None:
    aliases = [e["alias"] for e in api.get("/extensions").json()["extensions"]]
    for alias in ("router", "extraroute", "ext-gw-mode"):
        assert aliases.count(alias) == 1
        assert api.get(f"/extensions/{alias}").status_code == 200
    resources = [r["collection"] for r in api.get("").json()["resources"]]
    assert "routers" in resources


def test_a_router_and_its_ports_change_in_one_logged_write(
    api: httpx.Client, server: ServerProcess, external: dict[str, Any]
) -> None:
    gateway = {"network_id": external["network"]["id"]}
    router = create_router(api, external_gateway_info=gateway)
    subnet = tenant_subnet(api)
    info = put_interface(api, router["id"], subnet_id=subnet["id"]).json()
    rows = server.query(
        "SELECT revision, resource_type, resource_id, operation, committed_at FROM change_log "
        "WHERE resource_id IN (:router, :port) OR data LIKE :device ORDER BY revision",
        router=router["id"],
        port=info["port_id"],
        device=f'%"device_id":"{router["id"]}"%',
    )
    changes = [(kind, operation) for _, kind, _, operation, _ in rows]
    assert changes == [
        ("router", "create"),
        ("port", "create"),  # the gateway port, in the router's write
        ("port", "create"),  # the interface port ...
        ("router", "update"),  # ... and the router, in one write
    ]
    revisions = [row[0] for row in rows]
    assert revisions[1] == revisions[0] + 1
    assert revisions[3] == revisions[2] + 1


# --- as tempest and neutron-tempest-plugin assert ------------------------------------------


def test_a_port_id_that_is_no_uuid_is_a_400(api: httpx.Client) -> None:
    """Mirrors neutron_tempest_plugin test_routers_negative.RoutersNegativePolicyTest
    .test_add_interface_port_nonexist: the reference Neutron answers "Bad router request:
    'port-x' is not a valid UUID." (400) for either id, and a well-formed unknown one is 404."""
    router = create_router(api)
    for key in ("port_id", "subnet_id"):
        for action in ("add", "remove"):
            response = put_interface(api, router["id"], action, **{key: "port-x"})
            assert_error(response, 400, "BadRequest")
            message = response.json()["NeutronError"]["message"]
            assert message == "Bad router request: 'port-x' is not a valid UUID."
    missing = "00000000-0000-0000-0000-000000000000"
    assert_error(put_interface(api, router["id"], port_id=missing), 404, "PortNotFound")


def test_a_subnet_is_attached_by_ports_to_two_routers(api: httpx.Client) -> None:
    """Mirrors neutron_tempest_plugin test_routers.RoutersTest (and RoutersIpV6Test)
    .test_network_attached_with_two_routers: as Neutron, two routers each take a port of one
    subnet; the subnet's gateway address is the first router's, so a second router's
    interface by subnet finds it taken (Neutron's IpAddressAlreadyAllocated)."""
    subnet = tenant_subnet(api)
    first, second, third = create_router(api), create_router(api), create_router(api)
    port1 = create_port(api, subnet["network_id"])
    port2 = create_port(api, subnet["network_id"])
    assert put_interface(api, first["id"], port_id=port1["id"]).status_code == 200
    assert put_interface(api, second["id"], port_id=port2["id"]).status_code == 200
    shown = [api.get(f"/ports/{p['id']}").json()["port"] for p in (port1, port2)]
    assert [p["device_id"] for p in shown] == [first["id"], second["id"]]
    assert [p["device_owner"] for p in shown] == ["network:router_interface"] * 2
    assert_error(put_interface(api, first["id"], subnet_id=subnet["id"]), 400, "BadRequest")
    by_subnet = put_interface(api, third["id"], subnet_id=subnet["id"])
    assert by_subnet.status_code == 200, by_subnet.text
    fourth = create_router(api)
    taken = put_interface(api, fourth["id"], subnet_id=subnet["id"])
    assert_error(taken, 409, "IpAddressAlreadyAllocated")
    for router, port in ((first, port1), (second, port2)):
        removed = put_interface(api, router["id"], "remove", port_id=port["id"])
        assert removed.status_code == 200, removed.text


def test_every_router_is_distributed_and_only_an_admin_says_so(api: httpx.Client) -> None:
    """Mirrors tempest admin/test_routers_dvr.RoutersTestDVR.test_distributed_router_creation,
    test_routers_negative.DvrRoutersNegativeTest.test_router_create_tenant_distributed_returns_
    forbidden and neutron_tempest_plugin test_routers.DvrRoutersTest
    .test_create_distributed_router and test_routers_negative.DvrRoutersNegativeTest: ``dvr``'s
    ``distributed`` is seen and set by admins only (Neutron's policy and its 403 text); every
    router is distributed, so ``distributed: false`` is refused (400) and changes nothing.
    (tempest's test_centralized_router_creation expects a centralized router: not ours.)"""
    aliases = [e["alias"] for e in api.get("/extensions").json()["extensions"]]
    assert "dvr" in aliases
    router = create_router(api, distributed=True)
    assert router["distributed"] is True
    member = create_router(api, MEMBER)
    assert "distributed" not in member
    assert "distributed" not in api.get(f"/routers/{member['id']}", headers=MEMBER).json()["router"]
    assert api.get(f"/routers/{member['id']}").json()["router"]["distributed"] is True
    refused = api.post("/routers", json={"router": {"distributed": True}}, headers=MEMBER)
    assert_error(refused, 403, "PolicyNotAuthorized")
    assert refused.json()["NeutronError"]["message"] == (
        "(rule:create_router and rule:create_router:distributed) is disallowed by policy"
    )
    update = {"router": {"distributed": True}}
    refused = api.put(f"/routers/{member['id']}", json=update, headers=MEMBER)
    assert_error(refused, 403, "PolicyNotAuthorized")
    assert "rule:update_router:distributed" in refused.json()["NeutronError"]["message"]
    before = len(api.get("/routers").json()["routers"])
    assert_error(api.post("/routers", json={"router": {"distributed": False}}), 400, "BadRequest")
    assert len(api.get("/routers").json()["routers"]) == before
    centralized = api.put(f"/routers/{router['id']}", json={"router": {"distributed": False}})
    assert_error(centralized, 400, "BadRequest")
    kept = api.put(f"/routers/{router['id']}", json=update)
    assert kept.status_code == 200, kept.text
    assert kept.json()["router"]["distributed"] is True


def test_a_subnet_keeps_its_gateway_address_while_a_router_holds_it(api: httpx.Client) -> None:
    """Mirrors neutron_tempest_plugin test_routers.RoutersTest
    .test_router_interface_update_and_remove_gateway_ip: before a router's interface the
    gateway moves freely; while one holds it, moving or clearing it is Neutron's 409
    GatewayIpInUse; a router's port on another address of the subnet does not hold it."""
    subnet = tenant_subnet(
        api, "10.99.0.0/24", allocation_pools=[{"start": "10.99.0.250", "end": "10.99.0.254"}]
    )
    url = f"/subnets/{subnet['id']}"
    moved = api.put(url, json={"subnet": {"gateway_ip": "10.99.0.2"}})
    assert moved.status_code == 200, moved.text
    by_port = create_port(api, subnet["network_id"], fixed_ips=[{"ip_address": "10.99.0.9"}])
    assert put_interface(api, create_router(api)["id"], port_id=by_port["id"]).status_code == 200
    assert api.put(url, json={"subnet": {"gateway_ip": "10.99.0.3"}}).status_code == 200
    router = create_router(api)
    info = put_interface(api, router["id"], subnet_id=subnet["id"]).json()
    for gateway in ("10.99.0.4", None):
        refused = api.put(url, json={"subnet": {"gateway_ip": gateway}})
        assert_error(refused, 409, "GatewayIpInUse")
        assert refused.json()["NeutronError"]["message"] == (
            f"Current gateway ip 10.99.0.3 already in use by port {info['port_id']}. "
            "Unable to update."
        )
    assert api.put(url, json={"subnet": {"gateway_ip": "10.99.0.3"}}).status_code == 200
    assert api.get(url).json()["subnet"]["gateway_ip"] == "10.99.0.3"
    assert put_interface(api, router["id"], "remove", subnet_id=subnet["id"]).status_code == 200
    assert api.put(url, json={"subnet": {"gateway_ip": None}}).status_code == 200
