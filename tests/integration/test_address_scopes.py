"""Address scopes over real HTTP (``address-scope``): the resource, who may share it, the pools
in it, and the scopes a network shows. Each test names the neutron-tempest-plugin test it
mirrors; errors as the reference Neutron answers them (``AUTH=headers``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.neutron import assert_error, create_network
from tests.servers import ServerProcess


def create_scope(api: httpx.Client, **attributes: Any) -> dict[str, Any]:
    body = {"name": f"scope-{uuid.uuid4().hex[:6]}", "ip_version": 4, **attributes}
    response = api.post("/address-scopes", json={"address_scope": body})
    assert response.status_code == 201, response.text
    scope: dict[str, Any] = response.json()["address_scope"]
    return scope


def post_pool(api: httpx.Client, **attributes: Any) -> httpx.Response:
    body = {"name": f"pool-{uuid.uuid4().hex[:6]}", "min_prefixlen": "29", **attributes}
    return api.post("/subnetpools", json={"subnetpool": body})


def create_pool(api: httpx.Client, **attributes: Any) -> dict[str, Any]:
    response = post_pool(api, **attributes)
    assert response.status_code == 201, response.text
    pool: dict[str, Any] = response.json()["subnetpool"]
    return pool


@pytest.fixture
def member_api(server: ServerProcess) -> Iterator[httpx.Client]:
    """A member of a project of its own (Keystone's implied reader role included)."""
    headers = {"X-Project-Id": f"scopes-{uuid.uuid4().hex[:8]}", "X-Roles": "member,reader"}
    with httpx.Client(base_url=server.url + "/v2.0", headers=headers, timeout=30.0) as client:
        yield client


def test_project_create_list_show_update_delete_address_scope(member_api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_address_scopes.AddressScopeTest
    .test_project_create_list_address_scope, .test_show_address_scope,
    .test_show_address_scope_project_id, .test_project_update_address_scope and
    .test_delete_address_scope; the body has exactly Neutron's keys (no standard attributes)."""
    scope = create_scope(member_api, ip_version="4")
    assert list(scope) == ["id", "project_id", "name", "shared", "ip_version", "tenant_id"]
    assert (scope["shared"], scope["ip_version"]) == (False, 4)
    assert scope["project_id"] == member_api.headers["X-Project-Id"]
    url = f"/address-scopes/{scope['id']}"
    assert member_api.get(url).json()["address_scope"] == scope
    listed = member_api.get("/address-scopes").json()["address_scopes"]
    assert scope in listed
    renamed = member_api.put(url, json={"address_scope": {"name": "new_name"}})
    assert renamed.json()["address_scope"]["name"] == "new_name"
    assert member_api.delete(url).status_code == 204
    assert_error(member_api.get(url), 404, "AddressScopeNotFound")


@pytest.mark.parametrize(
    ("attributes", "error_type"),
    [
        ({"description": "d"}, "HTTPBadRequest"),
        ({"tags": ["a"]}, "HTTPBadRequest"),
        ({"ip_version": 5}, "HTTPBadRequest"),
        ({"ip_version": "abc"}, "InvalidInput"),
    ],
)
def test_bad_address_scopes_are_400(
    api: httpx.Client, attributes: dict[str, Any], error_type: str
) -> None:
    body = {"name": "bad", "ip_version": 4, **attributes}
    response = api.post("/address-scopes", json={"address_scope": body})
    assert_error(response, 400, error_type)
    assert api.get("/address-scopes", params={"name": "bad"}).json()["address_scopes"] == []


def test_admin_create_and_update_shared_address_scope(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_address_scopes.AddressScopeTest
    .test_admin_create_shared_address_scope and .test_admin_update_shared_address_scope, and
    test_address_scopes_negative.test_update_shared_address_scope_to_unshare (400)."""
    shared = create_scope(api, shared=True)
    assert shared["shared"] is True
    url = f"/address-scopes/{shared['id']}"
    unshare = api.put(url, json={"address_scope": {"name": "new-name", "shared": False}})
    assert_error(unshare, 400, "AddressScopeUpdateError")
    assert api.get(url).json()["address_scope"] == shared
    scope = create_scope(api)
    body = {"address_scope": {"name": "new_name", "shared": True}}
    updated = api.put(f"/address-scopes/{scope['id']}", json=body).json()["address_scope"]
    assert (updated["name"], updated["shared"]) == ("new_name", True)


def test_project_cannot_share_address_scope(member_api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_address_scopes_negative
    .test_project_create_shared_address_scope, .test_project_update_address_scope_shared_true
    and ..._shared_false: a member sharing, or naming ``shared`` at all on update, is a 403."""
    body = {"name": "x", "ip_version": 4, "shared": True}
    response = member_api.post("/address-scopes", json={"address_scope": body})
    assert_error(response, 403, "PolicyNotAuthorized")
    scope = create_scope(member_api, shared=False)
    for shared in (True, False):
        body = {"address_scope": {"name": "new_name", "shared": shared}}
        response = member_api.put(f"/address-scopes/{scope['id']}", json=body)
        assert_error(response, 403, "PolicyNotAuthorized")
    assert member_api.get(f"/address-scopes/{scope['id']}").json()["address_scope"] == scope


def test_project_get_not_shared_admin_address_scope(
    api: httpx.Client, member_api: httpx.Client
) -> None:
    """Mirrors neutron-tempest-plugin test_address_scopes_negative
    .test_project_get_not_shared_admin_address_scope (and the non-existent ones): another
    project's scope is a 404 to read, change or delete; a shared one is seen, not changed."""
    hidden = create_scope(api)
    for response in (
        member_api.get(f"/address-scopes/{hidden['id']}"),
        member_api.put(f"/address-scopes/{hidden['id']}", json={"address_scope": {"name": "x"}}),
        member_api.delete(f"/address-scopes/{hidden['id']}"),
        member_api.get(f"/address-scopes/{uuid.uuid4()}"),
    ):
        assert_error(response, 404, "AddressScopeNotFound")
    shared = create_scope(api, shared=True)
    assert member_api.get(f"/address-scopes/{shared['id']}").status_code == 200
    body = {"address_scope": {"name": "x"}}
    assert_error(member_api.put(f"/address-scopes/{shared['id']}", json=body), 403)


def test_delete_address_scope_associated_with_subnetpool(member_api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_address_scopes_negative
    .test_delete_address_scope_associated_with_subnetpool (409 AddressScopeInUse)."""
    scope = create_scope(member_api)
    create_pool(member_api, prefixes=["10.230.12.0/24"], address_scope_id=scope["id"])
    response = member_api.delete(f"/address-scopes/{scope['id']}")
    assert_error(response, 409, "AddressScopeInUse")


# --- pools in scopes --------------------------------------------------------------------------


def test_create_update_disassociate_subnetpool_address_scope(member_api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools.SubnetPoolsTest
    .test_create_subnetpool_associate_address_scope, .test_update_subnetpool_associate
    _address_scope, ..._another_address_scope and ..._disassociate_address_scope."""
    scope, another = create_scope(member_api), create_scope(member_api)
    pool = create_pool(member_api, prefixes=["10.231.12.0/24"], address_scope_id=scope["id"])
    assert pool["address_scope_id"] == scope["id"]
    url = f"/subnetpools/{pool['id']}"
    for scope_id in (another["id"], None, scope["id"]):
        body = {"subnetpool": {"address_scope_id": scope_id}}
        response = member_api.put(url, json=body)
        assert response.status_code == 200, response.text
        assert member_api.get(url).json()["subnetpool"]["address_scope_id"] == scope_id


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (["10.232.12.0/24"], ["10.232.12.13/24"]),
        (["20.0.0.0/18", "30.0.0.0/18"], ["40.0.0.0/18", "50.0.0.0/18", "30.0.0.0/12"]),
    ],
)
def test_create_subnetpool_associate_address_scope_prefix_intersect(
    member_api: httpx.Client, first: list[str], second: list[str]
) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools_negative
    .test_create_subnetpool_associate_address_scope_prefix_intersect and
    .test_create_sp_associate_address_scope_multiple_prefix_intersect (409), while the same
    prefixes outside the scope are fine."""
    scope = create_scope(member_api)
    create_pool(member_api, prefixes=first, address_scope_id=scope["id"])
    response = post_pool(member_api, prefixes=second, address_scope_id=scope["id"])
    assert_error(response, 409, "AddressScopePrefixConflict")
    create_pool(member_api, prefixes=second)


@pytest.mark.parametrize(
    ("first", "second", "updated"),
    [
        (["20.0.0.0/18"], ["20.10.0.0/24"], ["20.0.0.0/12"]),
        (
            ["20.0.0.0/18", "30.0.0.0/18"],
            ["20.10.0.0/24", "40.0.0.0/18", "50.0.0.0/18"],
            ["20.0.0.0/18", "30.0.0.0/18", "50.0.0.0/12"],
        ),
    ],
)
def test_update_subnetpool_prefix_intersect(
    member_api: httpx.Client, first: list[str], second: list[str], updated: list[str]
) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools_negative
    .test_update_subnetpool_prefix_intersect and .test_update_subnetpool_multiple_prefix
    _intersect (409, and the pool is as it was)."""
    scope = create_scope(member_api)
    pool = create_pool(member_api, prefixes=first, address_scope_id=scope["id"])
    create_pool(member_api, prefixes=second, address_scope_id=scope["id"])
    url = f"/subnetpools/{pool['id']}"
    response = member_api.put(url, json={"subnetpool": {"prefixes": updated}})
    assert_error(response, 409, "AddressScopePrefixConflict")
    assert member_api.get(url).json()["subnetpool"]["prefixes"] == pool["prefixes"]


def test_subnetpool_and_address_scope_of_other_owner(
    api: httpx.Client, member_api: httpx.Client
) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools_negative
    .test_create_subnetpool_associate_address_scope_of_other_owner,
    .test_update_subnetpool_associate_address_scope_of_other_owner and
    .test_create_subnetpool_associate_non_exist_address_scope: a scope the member cannot see
    is a 404."""
    hidden = create_scope(api)
    for scope_id in (hidden["id"], str(uuid.uuid4())):
        response = post_pool(member_api, prefixes=["10.233.0.0/24"], address_scope_id=scope_id)
        assert_error(response, 404, "AddressScopeNotFound")
    pool = create_pool(member_api, prefixes=["10.233.0.0/24"])
    body = {"subnetpool": {"address_scope_id": hidden["id"]}}
    response = member_api.put(f"/subnetpools/{pool['id']}", json=body)
    assert_error(response, 404, "AddressScopeNotFound")


def test_update_subnetpool_associate_address_scope_wrong_ip_version(
    member_api: httpx.Client,
) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools_negative
    .test_update_subnetpool_associate_address_scope_wrong_ip_version (400)."""
    scope = create_scope(member_api, ip_version=6)
    pool = create_pool(member_api, prefixes=["10.234.0.0/24"])
    body = {"subnetpool": {"address_scope_id": scope["id"]}}
    response = member_api.put(f"/subnetpools/{pool['id']}", json=body)
    assert_error(response, 400, "IllegalSubnetPoolIpVersionAssociationToAddressScope")


def test_project_update_sp_prefix_associated_with_shared_addr_scope(
    api: httpx.Client, member_api: httpx.Client
) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools_negative
    .test_project_update_sp_prefix_associated_with_shared_addr_scope: once an admin puts a
    member's pool in the admin's shared scope, only an admin changes its prefixes."""
    scope = create_scope(api, shared=True)
    pool = create_pool(member_api, prefixes=["20.235.0.0/18", "30.235.0.0/18"])
    url = f"/subnetpools/{pool['id']}"
    moved = api.put(url, json={"subnetpool": {"address_scope_id": scope["id"]}})
    assert moved.json()["subnetpool"]["address_scope_id"] == scope["id"]
    grown = ["20.235.0.0/18", "30.235.0.0/18", "40.235.0.0/18"]
    response = member_api.put(url, json={"subnetpool": {"prefixes": grown}})
    assert_error(response, 400, "IllegalSubnetPoolUpdate")
    assert api.put(url, json={"subnetpool": {"prefixes": grown}}).status_code == 200
    assert api.get(url).json()["subnetpool"]["prefixes"] == grown


# --- networks in scopes -----------------------------------------------------------------------


def test_a_network_shows_the_scope_of_its_subnets(member_api: httpx.Client) -> None:
    """``ipv4_address_scope`` / ``ipv6_address_scope``: the scope of the pools the network's
    subnets of each IP version came from (null for none); a subnet of that version from
    outside the scope is a 400, and a pool whose subnets would leave their network in two
    scopes cannot move."""
    v4, v6 = create_scope(member_api), create_scope(member_api, ip_version=6)
    pool4 = create_pool(member_api, prefixes=["10.236.0.0/16"], address_scope_id=v4["id"])
    pool6 = create_pool(
        member_api, prefixes=["2001:db8:236::/48"], min_prefixlen=64, address_scope_id=v6["id"]
    )
    network = create_network(member_api)
    assert (network["ipv4_address_scope"], network["ipv6_address_scope"]) == (None, None)
    for pool, version in ((pool4, 4), (pool6, 6)):
        body = {"network_id": network["id"], "subnetpool_id": pool["id"], "ip_version": version}
        assert member_api.post("/subnets", json={"subnet": body}).status_code == 201
    shown = member_api.get(f"/networks/{network['id']}").json()["network"]
    assert (shown["ipv4_address_scope"], shown["ipv6_address_scope"]) == (v4["id"], v6["id"])
    listed = member_api.get("/networks", params={"id": network["id"]}).json()["networks"]
    assert listed[0]["ipv4_address_scope"] == v4["id"]
    other = create_pool(member_api, prefixes=["10.237.0.0/16"])
    body = {"network_id": network["id"], "subnetpool_id": other["id"], "ip_version": 4}
    response = member_api.post("/subnets", json={"subnet": body})
    assert_error(response, 400, "NetworkAddressScopeAffinityError")
    same_scope = create_pool(member_api, prefixes=["10.238.0.0/16"], address_scope_id=v4["id"])
    body = {**body, "subnetpool_id": same_scope["id"]}
    assert member_api.post("/subnets", json={"subnet": body}).status_code == 201
    moved = {"subnetpool": {"address_scope_id": None}}
    response = member_api.put(f"/subnetpools/{same_scope['id']}", json=moved)
    assert_error(response, 400, "NetworkAddressScopeAffinityError")
