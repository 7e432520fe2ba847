"""``extraroute-atomic`` over real HTTP: ``PUT /v2.0/routers/{id}/add_extraroutes`` and
``remove_extraroutes`` change a router's extra routes on the server side, in one write, as the
reference Neutron does (its answers were taken with the same requests)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.neutron import assert_error

MEMBER = {"X-Project-Id": "routes-a", "X-Roles": "member"}


def routed_router(api: httpx.Client, headers: dict[str, str] | None = None) -> Any:
    """A router with an interface on 10.77.0.0/24 (its gateway address .1)."""
    headers = headers or {}
    network = api.post("/networks", json={"network": {}}, headers=headers).json()["network"]
    body = {"subnet": {"network_id": network["id"], "cidr": "10.77.0.0/24", "ip_version": 4}}
    subnet = api.post("/subnets", json=body, headers=headers).json()["subnet"]
    router = api.post("/routers", json={"router": {}}, headers=headers).json()["router"]
    added = api.put(
        f"/routers/{router['id']}/add_router_interface",
        json={"subnet_id": subnet["id"]},
        headers=headers,
    )
    assert added.status_code == 200, added.text
    return router


def change(
    api: httpx.Client,
    router_id: str,
    action: str,
    routes: list[tuple[str, str]],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = {"router": {"routes": [{"destination": d, "nexthop": n} for d, n in routes]}}
    return api.put(f"/routers/{router_id}/{action}_extraroutes", json=body, headers=headers or {})


def routes_of(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return [(r["destination"], r["nexthop"]) for r in response.json()["router"]["routes"]]


def test_routes_are_added_and_removed_atomically_as_neutron_does(api: httpx.Client) -> None:
    """Mirrors neutron_tempest_plugin test_routers.RoutersTest.test_extra_routes_atomic (and
    RoutersIpV6Test's): duplicates merge, one destination may have several nexthops, removing
    a route the router lacks is no error."""
    router = routed_router(api)
    rid = router["id"]
    assert routes_of(change(api, rid, "add", [("10.0.2.0/24", "10.77.0.2")])) == [
        ("10.0.2.0/24", "10.77.0.2")
    ]
    both = [("10.0.2.0/24", "10.77.0.2"), ("10.0.3.0/24", "10.77.0.3")]
    assert routes_of(change(api, rid, "add", both)) == both
    gone = change(api, rid, "remove", [("10.0.3.0/24", "10.77.0.3"), ("10.0.4.0/24", "10.77.0.4")])
    assert routes_of(gone) == [("10.0.2.0/24", "10.77.0.2")]
    second_hop = change(api, rid, "add", [("10.0.2.0/24", "10.77.0.5")])
    assert routes_of(second_hop) == [("10.0.2.0/24", "10.77.0.2"), ("10.0.2.0/24", "10.77.0.5")]
    assert routes_of(change(api, rid, "remove", [("10.0.2.0/24", "10.77.0.5")])) == [
        ("10.0.2.0/24", "10.77.0.2")
    ]
    every = [("10.0.2.0/24", "10.77.0.2"), ("10.0.3.0/24", "10.77.0.3")]
    assert routes_of(change(api, rid, "remove", every)) == []
    shown = api.get(f"/routers/{rid}").json()["router"]
    assert shown["routes"] == []
    assert shown["revision_number"] == router["revision_number"] + 7  # the interface, 6 changes


def test_the_whole_new_set_is_checked_and_a_refusal_changes_nothing(api: httpx.Client) -> None:
    router = routed_router(api)
    rid = router["id"]
    assert routes_of(change(api, rid, "add", [("10.0.2.0/24", "10.77.0.2")])) != []
    before = api.get(f"/routers/{rid}").json()["router"]
    unreachable = change(api, rid, "add", [("10.0.3.0/24", "192.168.5.5")])
    assert_error(unreachable, 400, "InvalidRoutes")
    message = unreachable.json()["NeutronError"]["message"]
    assert message == (
        "Invalid format for routes: [{'destination': '10.0.2.0/24', 'nexthop': '10.77.0.2'}, "
        "{'destination': '10.0.3.0/24', 'nexthop': '192.168.5.5'}], the nexthop is not "
        "connected with router."
    )
    assert_error(change(api, rid, "add", [("10.0.3.0/24", "10.77.0.1")]), 400, "InvalidRoutes")
    assert_error(change(api, rid, "add", [("not-a-cidr", "10.77.0.2")]), 400)
    many = [(f"10.1.{i}.0/24", "10.77.0.9") for i in range(30)]
    assert_error(change(api, rid, "add", many), 400, "RoutesExhausted")
    for body in ({"router": {}}, {"routes": []}, {"router": {"routes": [], "name": "x"}}):
        assert_error(api.put(f"/routers/{rid}/add_extraroutes", json=body), 400)
    assert api.get(f"/routers/{rid}").json()["router"] == before
    unchanged = change(api, rid, "add", [("10.0.2.0/24", "10.77.0.2")])
    assert unchanged.json()["router"] == before  # nothing new: no revision either


def test_a_member_changes_its_own_routers_and_sees_no_admin_attributes(
    api: httpx.Client,
) -> None:
    router = routed_router(api, MEMBER)
    added = change(api, router["id"], "add", [("10.0.2.0/24", "10.77.0.2")], MEMBER)
    assert routes_of(added) == [("10.0.2.0/24", "10.77.0.2")]
    assert "distributed" not in added.json()["router"]
    assert list(added.json()["router"]) == list(
        api.get(f"/routers/{router['id']}", headers=MEMBER).json()["router"]
    )
    other = {"X-Project-Id": "routes-b", "X-Roles": "member"}
    assert_error(change(api, router["id"], "remove", [], other), 404, "RouterNotFound")
    missing = "00000000-0000-0000-0000-000000000000"
    assert_error(change(api, missing, "add", []), 404, "RouterNotFound")
    assert "extraroute-atomic" in [e["alias"] for e in api.get("/extensions").json()["extensions"]]
