"""Subnet pools over real HTTP (``subnet_allocation``, ``default-subnetpools``,
``subnetpool-prefix-ops``): what tempest's and neutron-tempest-plugin's subnet pool tests
assert, each test naming the one it mirrors, and the errors as the reference Neutron answers
them (compared side by side, ``AUTH=headers``)."""

from __future__ import annotations

import ipaddress
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.neutron import assert_error, create_network
from tests.servers import ServerProcess

_blocks = itertools.count(1)


def block(size: int = 16) -> str:
    """An IPv4 prefix no other test of this module uses (pools of one scope or none may
    overlap, but a test reads more clearly when they do not)."""
    return f"10.{next(_blocks)}.0.0/{size}"


def create_pool(api: httpx.Client, **attributes: Any) -> dict[str, Any]:
    body = {"name": f"pool-{uuid.uuid4().hex[:6]}", **attributes}
    response = api.post("/subnetpools", json={"subnetpool": body})
    assert response.status_code == 201, response.text
    pool: dict[str, Any] = response.json()["subnetpool"]
    return pool


def subnet_from(api: httpx.Client, network_id: str, **attributes: Any) -> httpx.Response:
    return api.post("/subnets", json={"subnet": {"network_id": network_id, **attributes}})


def same_addresses(a: list[str], b: list[str]) -> bool:
    """The two prefix lists cover the same addresses (as tempest compares them, by IPSet)."""

    def collapsed(texts: list[str]) -> list[Any]:
        return list(ipaddress.collapse_addresses(ipaddress.ip_network(t) for t in texts))

    return collapsed(a) == collapsed(b)


def made(response: httpx.Response) -> Any:
    assert response.status_code == 201, response.text
    return next(iter(response.json().values()))


@pytest.fixture
def member_api(server: ServerProcess) -> Iterator[httpx.Client]:
    """A member of a project of its own (Keystone's implied reader role included)."""
    headers = {"X-Project-Id": f"pools-{uuid.uuid4().hex[:8]}", "X-Roles": "member,reader"}
    with httpx.Client(base_url=server.url + "/v2.0", headers=headers, timeout=30.0) as client:
        yield client


# --- the resource -----------------------------------------------------------------------------


def test_create_list_show_update_delete_subnetpools(api: httpx.Client) -> None:
    """Mirrors tempest test_subnetpools_extensions.SubnetPoolsTestJSON
    .test_create_list_show_update_delete_subnetpools."""
    pool = create_pool(api, prefixes=[block()])
    assert api.get(f"/subnetpools/{pool['id']}").json()["subnetpool"] == pool
    assert pool["id"] in [p["id"] for p in api.get("/subnetpools").json()["subnetpools"]]
    renamed = api.put(f"/subnetpools/{pool['id']}", json={"subnetpool": {"name": "renamed"}})
    assert renamed.json()["subnetpool"]["name"] == "renamed"
    assert api.delete(f"/subnetpools/{pool['id']}").status_code == 204
    assert_error(api.get(f"/subnetpools/{pool['id']}"), 404, "SubnetPoolNotFound")


def test_a_pool_shows_what_neutron_shows(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools.SubnetPoolsTest.test_get_subnetpool:
    the prefix lengths are strings (Neutron's own), the default one is the minimum, and the
    prefixes sent are kept compact."""
    first = block(16)
    inside = str(next(ipaddress.ip_network(first).subnets(new_prefix=24)))
    pool = create_pool(api, prefixes=[inside, first], min_prefixlen="29")
    assert list(pool) == [
        "id",
        "name",
        "project_id",
        "default_prefixlen",
        "min_prefixlen",
        "max_prefixlen",
        "is_default",
        "shared",
        "prefixes",
        "ip_version",
        "default_quota",
        "address_scope_id",
        "description",
        "tags",
        "created_at",
        "updated_at",
        "revision_number",
        "tenant_id",
    ]
    assert (pool["min_prefixlen"], pool["default_prefixlen"], pool["max_prefixlen"]) == (
        "29",
        "29",
        "32",
    )
    assert pool["prefixes"] == [first]
    assert pool["ip_version"] == 4
    assert pool["shared"] is False
    assert pool["is_default"] is False
    assert pool["default_quota"] is None
    assert pool["address_scope_id"] is None
    assert pool["project_id"] == pool["tenant_id"] == "admin"
    v6 = create_pool(api, prefixes=["2001:db8:1::/48"])
    assert (v6["ip_version"], v6["min_prefixlen"], v6["max_prefixlen"]) == (6, "64", "128")


def test_adjacent_prefixes_are_merged(api: httpx.Client) -> None:
    """As the reference Neutron: 10.x.0.0/17 and 10.x.128.0/17 are one /16."""
    whole = ipaddress.ip_network(block(16))
    halves = [str(half) for half in whole.subnets()]
    assert create_pool(api, prefixes=halves)["prefixes"] == [str(whole)]


def test_create_update_subnetpool_description(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools.SubnetPoolsTest
    .test_create_update_subnetpool_description."""
    pool = create_pool(api, prefixes=[block()], description="d1")
    assert pool["description"] == "d1"
    body = {"subnetpool": {"description": "d2"}}
    assert api.put(f"/subnetpools/{pool['id']}", json=body).json()["subnetpool"]["description"] == (
        "d2"
    )


def test_project_update_subnetpool(member_api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools.SubnetPoolsTest
    .test_project_update_subnetpool: a member changes its pool's name and prefix lengths."""
    pool = create_pool(member_api, prefixes=[block()], min_prefixlen="29")
    changes = {"name": "new", "min_prefixlen": "28", "max_prefixlen": "30"}
    response = member_api.put(f"/subnetpools/{pool['id']}", json={"subnetpool": changes})
    assert response.status_code == 200, response.text
    shown = member_api.get(f"/subnetpools/{pool['id']}").json()["subnetpool"]
    assert (shown["name"], shown["min_prefixlen"], shown["max_prefixlen"]) == ("new", "28", "30")
    assert shown["revision_number"] > pool["revision_number"]
    assert shown["created_at"] == pool["created_at"]


def test_update_subnetpool_prefixes_append_and_extend(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools.SubnetPoolsTest
    .test_update_subnetpool_prefixes_append and .test_update_subnetpool_prefixes_extend."""
    pool = create_pool(api, prefixes=["10.200.12.0/24"])
    url = f"/subnetpools/{pool['id']}"
    appended = api.put(url, json={"subnetpool": {"prefixes": ["10.200.12.0/24", "10.200.15.0/24"]}})
    assert appended.json()["subnetpool"]["prefixes"] == ["10.200.12.0/24", "10.200.15.0/24"]
    extended = api.put(url, json={"subnetpool": {"prefixes": ["10.200.0.0/16"]}})
    assert extended.json()["subnetpool"]["prefixes"] == ["10.200.0.0/16"]


def test_update_subnetpool_prefixes_shrink(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools_negative
    .test_update_subnetpool_prefixes_shrink."""
    pool = create_pool(api, prefixes=["10.201.12.0/24"])
    body = {"subnetpool": {"prefixes": ["10.201.12.0/26"]}}
    response = api.put(f"/subnetpools/{pool['id']}", json=body)
    assert_error(response, 400, "IllegalSubnetPoolPrefixUpdate")
    assert api.get(f"/subnetpools/{pool['id']}").json()["subnetpool"] == pool


BOUNDS = "IllegalSubnetPoolPrefixBounds"


@pytest.mark.parametrize(
    ("attributes", "error_type"),
    [
        ({"prefixes": []}, "EmptySubnetPoolPrefixList"),
        ({"prefixes": ["10.202.0.0/16", "2001:db8::/64"]}, "PrefixVersionMismatch"),
        ({"prefixes": ["banana"]}, "HTTPBadRequest"),
        ({"prefixes": ["10.202.0.0/16"], "min_prefixlen": 20, "default_prefixlen": 18}, BOUNDS),
        ({"prefixes": ["10.202.0.0/16"], "min_prefixlen": 24, "max_prefixlen": 20}, BOUNDS),
        ({"prefixes": ["10.202.0.0/16"], "max_prefixlen": 33}, BOUNDS),
        ({"prefixes": ["10.202.0.0/16"], "min_prefixlen": "x"}, "InvalidInput"),
        ({"prefixes": ["10.202.0.0/16"], "default_quota": None}, "InvalidInput"),
        ({"prefixes": ["10.202.0.0/16"], "default_quota": -1}, "HTTPBadRequest"),
        ({"prefixes": ["10.202.0.0/16"], "address_scope_id": "foo-addr-scope"}, "HTTPBadRequest"),
    ],
)
def test_bad_pools_are_400(api: httpx.Client, attributes: dict[str, Any], error_type: str) -> None:
    """As the reference Neutron answers them (test_subnetpools_negative
    .test_create_subnetpool_associate_invalid_address_scope among them), and nothing is made."""
    before = api.get("/subnetpools").json()
    response = api.post("/subnetpools", json={"subnetpool": {"name": "bad", **attributes}})
    assert_error(response, 400, error_type)
    assert api.get("/subnetpools").json() == before


@pytest.mark.parametrize("attribute", ["shared", "ip_version", "project_id", "tenant_id"])
def test_read_only_attributes_are_refused_on_update(api: httpx.Client, attribute: str) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools_negative
    .test_update_subnetpool_not_modifiable_shared and .test_update_subnetpool_project_id."""
    pool = create_pool(api, prefixes=[block()])
    value = {"shared": True, "ip_version": 6}.get(attribute, "admin")
    response = api.put(f"/subnetpools/{pool['id']}", json={"subnetpool": {attribute: value}})
    assert_error(response, 400, "HTTPBadRequest")
    assert "read-only attribute" in response.json()["NeutronError"]["message"]


# --- policy -----------------------------------------------------------------------------------


@pytest.mark.parametrize("attribute", ["shared", "is_default"])
def test_project_create_shared_or_default_subnetpool(
    member_api: httpx.Client, attribute: str
) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools_negative
    .test_project_create_shared_subnetpool and .test_project_create_default_subnetpool."""
    body = {"name": "x", "prefixes": [block()], attribute: True}
    response = member_api.post("/subnetpools", json={"subnetpool": body})
    assert_error(response, 403, "PolicyNotAuthorized")
    assert f"rule:create_subnetpool:{attribute}" in response.json()["NeutronError"]["message"]
    assert member_api.get("/subnetpools", params={"name": "x"}).json()["subnetpools"] == []


def test_a_shared_pool_is_seen_and_used_by_a_member_not_changed(
    api: httpx.Client, member_api: httpx.Client
) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools.SubnetPoolsTest
    .test_admin_create_shared_subnetpool; the member takes a subnet from it, but may neither
    change nor delete it (403)."""
    pool = create_pool(api, prefixes=[block()], shared=True)
    assert member_api.get(f"/subnetpools/{pool['id']}").json()["subnetpool"]["shared"] is True
    network = create_network(member_api)
    subnet = made(subnet_from(member_api, network["id"], subnetpool_id=pool["id"], prefixlen=24))
    assert subnet["subnetpool_id"] == pool["id"]
    url = f"/subnetpools/{pool['id']}"
    assert_error(member_api.put(url, json={"subnetpool": {"name": "mine"}}), 403)
    assert_error(member_api.delete(url), 403)


def test_project_get_not_shared_admin_subnetpool(
    api: httpx.Client, member_api: httpx.Client
) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools_negative
    .test_project_get_not_shared_admin_subnetpool: another project's pool does not exist for
    a member (404), to read, list, change, delete, or take a subnet from."""
    pool = create_pool(api, prefixes=[block()])
    url = f"/subnetpools/{pool['id']}"
    assert_error(member_api.get(url), 404, "SubnetPoolNotFound")
    assert pool["id"] not in [p["id"] for p in member_api.get("/subnetpools").json()["subnetpools"]]
    assert_error(member_api.put(url, json={"subnetpool": {"name": "x"}}), 404)
    assert_error(member_api.delete(url), 404)
    network = create_network(member_api)
    response = subnet_from(member_api, network["id"], subnetpool_id=pool["id"], ip_version=4)
    assert_error(response, 404, "SubnetPoolNotFound")


# --- subnets from pools -----------------------------------------------------------------------


def test_create_subnet_from_pool_with_prefixlen_cidr_and_default(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools.SubnetPoolsTest
    .test_create_subnet_from_pool_with_prefixlen, ..._with_subnet_cidr and
    ..._with_default_prefixlen: a subnet takes the first free CIDR of the length asked (the
    pool's default when none), from the smallest free block that holds it, or the CIDR named."""
    pool = create_pool(api, prefixes=["10.210.12.0/24"], min_prefixlen="28")
    network = create_network(api)
    default = made(subnet_from(api, network["id"], subnetpool_id=pool["id"], ip_version="4"))
    assert (default["cidr"], default["subnetpool_id"]) == ("10.210.12.0/28", pool["id"])
    assert default["gateway_ip"] == "10.210.12.1"
    assert default["allocation_pools"] == [{"start": "10.210.12.2", "end": "10.210.12.14"}]
    small = made(subnet_from(api, network["id"], subnetpool_id=pool["id"], prefixlen=30))
    assert small["cidr"] == "10.210.12.16/30"
    again = made(subnet_from(api, network["id"], subnetpool_id=pool["id"], prefixlen="30"))
    assert again["cidr"] == "10.210.12.20/30"  # the /30s left of the /29 come first
    named = subnet_from(api, network["id"], subnetpool_id=pool["id"], cidr="10.210.12.128/28")
    assert made(named)["cidr"] == "10.210.12.128/28"
    taken = subnet_from(api, network["id"], subnetpool_id=pool["id"], cidr="10.210.12.128/29")
    assert_error(taken, 409, "SubnetAllocationError")
    outside = subnet_from(api, network["id"], subnetpool_id=pool["id"], cidr="10.211.0.0/28")
    assert_error(outside, 409, "SubnetAllocationError")


def test_subnets_of_a_pool_never_overlap_until_it_is_full(api: httpx.Client) -> None:
    """Every subnet a pool gives is inside it and apart from the others, until no room is left
    (409 SubnetAllocationError; Neutron answers that with a 500), and a deleted subnet's CIDR
    is given again."""
    pool = create_pool(api, prefixes=["10.212.0.0/26"], min_prefixlen="28")
    taken = []
    for _ in range(4):
        network = create_network(api)
        taken.append(made(subnet_from(api, network["id"], subnetpool_id=pool["id"])))
    cidrs = [ipaddress.ip_network(subnet["cidr"]) for subnet in taken]
    assert all(c.subnet_of(ipaddress.ip_network("10.212.0.0/26")) for c in cidrs)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(cidrs, 2))
    network = create_network(api)
    full = subnet_from(api, network["id"], subnetpool_id=pool["id"])
    assert_error(full, 409, "SubnetAllocationError")
    assert api.delete(f"/subnets/{taken[1]['id']}").status_code == 204
    again = made(subnet_from(api, network["id"], subnetpool_id=pool["id"]))
    assert again["cidr"] == taken[1]["cidr"]


def test_create_subnet_from_pool_with_quota(api: httpx.Client, member_api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools.SubnetPoolsTest
    .test_create_subnet_from_pool_with_quota: within ``default_quota`` (addresses, in /32s)
    a project's subnets are made; beyond it, 409 SubnetPoolQuotaExceeded, counted per
    project."""
    pool = create_pool(api, prefixes=[block()], default_quota=8, shared=True, min_prefixlen=24)
    network = create_network(api)
    first = made(subnet_from(api, network["id"], subnetpool_id=pool["id"], prefixlen=30))
    assert ipaddress.ip_network(first["cidr"]).prefixlen == 30
    response = subnet_from(api, network["id"], subnetpool_id=pool["id"], prefixlen=29)
    assert_error(response, 409, "SubnetPoolQuotaExceeded")
    made(subnet_from(api, network["id"], subnetpool_id=pool["id"], prefixlen=30))
    member_network = create_network(member_api)
    made(subnet_from(member_api, member_network["id"], subnetpool_id=pool["id"], prefixlen=29))


@pytest.mark.parametrize(
    ("attributes", "error_type"),
    [
        ({"prefixlen": 27}, "MinPrefixSubnetAllocationError"),
        ({"prefixlen": 31}, "MaxPrefixSubnetAllocationError"),
        ({"cidr": "10.213.0.0/29", "prefixlen": 29}, "BadRequest"),
        ({"ip_version": 6}, "BadRequest"),
        ({"allocation_pools": [{"start": "10.213.0.2", "end": "10.213.0.3"}]}, "BadRequest"),
        ({"use_default_subnetpool": True}, "BadRequest"),
        ({"prefixlen": "x"}, "InvalidInput"),
    ],
)
def test_bad_subnets_from_a_pool_are_400(
    api: httpx.Client, attributes: dict[str, Any], error_type: str
) -> None:
    """As the reference Neutron answers them, and nothing is made."""
    pool = create_pool(api, prefixes=["10.213.0.0/24"], min_prefixlen=28, max_prefixlen=30)
    network = create_network(api)
    response = subnet_from(api, network["id"], subnetpool_id=pool["id"], **attributes)
    assert_error(response, 400, error_type)
    assert api.get("/subnets", params={"subnetpool_id": pool["id"]}).json()["subnets"] == []
    assert api.delete(f"/subnetpools/{pool['id']}").status_code == 204


def test_a_subnet_needs_a_cidr_or_a_pool(api: httpx.Client) -> None:
    network = create_network(api)
    for attributes in ({"ip_version": 4}, {"ip_version": 4, "prefixlen": 24}):
        response = subnet_from(api, network["id"], **attributes)
        assert_error(response, 400, "BadRequest")
        assert "a subnetpool must be specified" in response.json()["NeutronError"]["message"]


def test_create_subnet_different_pools_same_network(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools_negative
    .test_create_subnet_different_pools_same_network: a network's subnets of one IP version
    come all from one pool or none (400 NetworkSubnetPoolAffinityError either way)."""
    pool = create_pool(api, prefixes=["192.168.0.0/16"], min_prefixlen="29")
    network = create_network(api)
    made(subnet_from(api, network["id"], cidr="10.214.10.0/24", ip_version=4))
    response = subnet_from(api, network["id"], subnetpool_id=pool["id"], ip_version=4)
    assert_error(response, 400, "NetworkSubnetPoolAffinityError")
    pooled = create_network(api)
    made(subnet_from(api, pooled["id"], subnetpool_id=pool["id"], prefixlen=29))
    response = subnet_from(api, pooled["id"], cidr="10.214.11.0/24")
    assert_error(response, 400, "NetworkSubnetPoolAffinityError")
    other = create_pool(api, prefixes=[block()])
    response = subnet_from(api, pooled["id"], subnetpool_id=other["id"], prefixlen=24)
    assert_error(response, 400, "NetworkSubnetPoolAffinityError")


def test_create_dual_stack_subnets_from_subnetpools(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools.SubnetPoolsTestV6
    .test_create_dual_stack_subnets_from_subnetpools."""
    v6 = create_pool(api, prefixes=["2001:db8:3::/48"], min_prefixlen="64")
    network = create_network(api)
    subnet_v6 = made(subnet_from(api, network["id"], subnetpool_id=v6["id"], ip_version=6))
    assert subnet_v6["cidr"] == "2001:db8:3::/64"
    assert subnet_v6["gateway_ip"] == "2001:db8:3::1"
    v4 = create_pool(api, prefixes=["192.169.0.0/16"], min_prefixlen=21, max_prefixlen=32)
    subnet_v4 = made(subnet_from(api, network["id"], subnetpool_id=v4["id"], ip_version=4))
    assert (subnet_v4["network_id"], subnet_v4["cidr"]) == (network["id"], "192.169.0.0/21")


def test_a_pool_with_subnets_cannot_be_deleted(api: httpx.Client) -> None:
    pool = create_pool(api, prefixes=[block()])
    network = create_network(api)
    subnet = made(subnet_from(api, network["id"], subnetpool_id=pool["id"], prefixlen=24))
    assert_error(api.delete(f"/subnetpools/{pool['id']}"), 400, "SubnetPoolDeleteError")
    assert api.delete(f"/subnets/{subnet['id']}").status_code == 204
    assert api.delete(f"/subnetpools/{pool['id']}").status_code == 204


def test_the_default_pool_serves_use_default_subnetpool(
    api: httpx.Client, member_api: httpx.Client
) -> None:
    """``default-subnetpools``: one default pool per IP version (a second is a 400); a subnet
    with ``use_default_subnetpool`` takes its CIDR there, if the caller sees the pool (a
    member does not see an admin's pool that is not shared); test_project_create_non_default
    _subnetpool: a pool is not the default unless made so."""
    assert create_pool(api, prefixes=[block()])["is_default"] is False
    default = create_pool(api, prefixes=["10.215.0.0/16"], is_default=True, shared=True)
    try:
        second = {"name": "second", "prefixes": [block()], "is_default": True}
        response = api.post("/subnetpools", json={"subnetpool": second})
        assert_error(response, 400, "InvalidInput")
        network = create_network(member_api)
        subnet = made(
            subnet_from(
                member_api, network["id"], use_default_subnetpool=True, ip_version=4, prefixlen=24
            )
        )
        assert (subnet["cidr"], subnet["subnetpool_id"]) == ("10.215.0.0/24", default["id"])
        response = subnet_from(member_api, network["id"], use_default_subnetpool=True, ip_version=6)
        assert_error(response, 400, "BadRequest")
        hidden = {"subnetpool": {"is_default": False}}
        url = f"/subnetpools/{default['id']}"
        assert_error(member_api.put(url, json=hidden), 403)
        assert api.put(url, json=hidden).json()["subnetpool"]["is_default"] is False
        other = create_network(member_api)
        response = subnet_from(member_api, other["id"], use_default_subnetpool=True, ip_version=4)
        assert_error(response, 400, "BadRequest")
    finally:
        api.put(f"/subnetpools/{default['id']}", json={"subnetpool": {"is_default": False}})


# --- prefix operations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefixes", "added", "overlapping"),
    [
        (["192.170.1.0/24", "10.216.10.0/24"], ["192.170.2.0/24"], ["10.216.0.0/16"]),
        (["2001:db8:1234::/48", "2001:db8:1235::/48"], ["2001:db8:4321::/48"], None),
    ],
)
def test_add_remove_prefix(
    api: httpx.Client, prefixes: list[str], added: list[str], overlapping: list[str] | None
) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpool_prefix_ops
    .SubnetPoolPrefixOpsIpv4Test/Ipv6Test.test_add_remove_prefix and
    .test_add_overlapping_prefix."""
    pool = create_pool(api, prefixes=prefixes)
    url = f"/subnetpools/{pool['id']}"
    grown = api.put(f"{url}/add_prefixes", json={"prefixes": added})
    assert grown.status_code == 200, grown.text
    assert same_addresses(grown.json()["prefixes"], [*prefixes, *added])
    shrunk = api.put(f"{url}/remove_prefixes", json={"prefixes": added})
    assert same_addresses(shrunk.json()["prefixes"], prefixes)
    assert api.get(url).json()["subnetpool"]["revision_number"] > pool["revision_number"]
    if overlapping:
        merged = api.put(f"{url}/add_prefixes", json={"prefixes": overlapping})
        assert merged.json()["prefixes"] == ["10.216.0.0/16", "192.170.1.0/24"]


def test_remove_prefixes_keeps_what_subnets_hold(api: httpx.Client) -> None:
    """As the reference Neutron: taking away a prefix a subnet holds is a 400 and changes
    nothing; a part of a prefix goes, the rest stays compact."""
    pool = create_pool(api, prefixes=["10.217.0.0/24"], min_prefixlen=26)
    network = create_network(api)
    made(subnet_from(api, network["id"], subnetpool_id=pool["id"], cidr="10.217.0.0/26"))
    url = f"/subnetpools/{pool['id']}"
    response = api.put(f"{url}/remove_prefixes", json={"prefixes": ["10.217.0.0/25"]})
    assert_error(response, 400, "IllegalSubnetPoolPrefixUpdate")
    left = api.put(f"{url}/remove_prefixes", json={"prefixes": ["10.217.0.128/26"]})
    assert left.json()["prefixes"] == ["10.217.0.0/25", "10.217.0.192/26"]
    assert api.get(url).json()["subnetpool"]["prefixes"] == left.json()["prefixes"]
    for action in ("add_prefixes", "remove_prefixes"):
        for body in ({"prefixes": []}, {}):
            assert_error(api.put(f"{url}/{action}", json=body), 400, "HTTPBadRequest")
    elsewhere = api.put(f"{url}/remove_prefixes", json={"prefixes": ["10.218.0.0/24"]})
    assert elsewhere.json()["prefixes"] == left.json()["prefixes"]


# --- standard attributes ----------------------------------------------------------------------


def test_subnetpool_tags(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin admin test_tag.TagSubnetPoolTestJSON.test_subnetpool_tags
    and TagFilterSubnetpoolTestJSON.test_filter_subnetpool_tags."""
    pool = create_pool(api, prefixes=[block()], tags=["red"])
    url = f"/subnetpools/{pool['id']}/tags"
    assert api.put(url, json={"tags": ["red", "blue"]}).json()["tags"] == ["blue", "red"]
    assert api.put(f"{url}/green").status_code == 201
    assert api.get(url).json()["tags"] == ["blue", "green", "red"]
    assert api.delete(f"{url}/red").status_code == 204
    assert_error(api.delete(f"{url}/red"), 404, "TagNotFound")
    listed = api.get("/subnetpools", params={"tags": "green"}).json()["subnetpools"]
    assert [p["id"] for p in listed] == [pool["id"]]
    shown = api.get(f"/subnetpools/{pool['id']}").json()["subnetpool"]
    assert shown["tags"] == ["blue", "green"]
    assert shown["revision_number"] > pool["revision_number"]


def test_update_subnetpool_bumps_revision(api: httpx.Client, member_api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_revisions.TestRevisions
    .test_update_subnetpool_bumps_revision: an admin renames a member's pool."""
    pool = create_pool(member_api, prefixes=["10.0.0.0/8"], default_prefixlen=24)
    response = api.put(f"/subnetpools/{pool['id']}", json={"subnetpool": {"name": "sp2"}})
    assert response.status_code == 200, response.text
    assert response.json()["subnetpool"]["revision_number"] > pool["revision_number"]


def test_update_subnetpool_with_timestamp(member_api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_timestamp.TestTimeStamp
    .test_update_subnetpool_with_timestamp (and the create and show ones)."""
    pool = create_pool(member_api, prefixes=["10.219.12.0/24"], min_prefixlen="29")
    assert pool["created_at"] is not None
    assert pool["updated_at"] is not None
    body = {"subnetpool": {"name": "new", "min_prefixlen": "28", "max_prefixlen": "31"}}
    response = member_api.put(f"/subnetpools/{pool['id']}", json=body)
    assert response.status_code == 200, response.text
    updated = response.json()["subnetpool"]
    assert updated["created_at"] == pool["created_at"]
    assert (updated["min_prefixlen"], updated["default_prefixlen"]) == ("28", "29")
    shown = member_api.get(f"/subnetpools/{pool['id']}").json()["subnetpool"]
    assert (shown["created_at"], shown["updated_at"]) == (
        updated["created_at"],
        updated["updated_at"],
    )


def test_subnetpools_sort_page_and_filter(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnetpools.SubnetPoolsSearchCriteriaTest (sorting,
    paging with the ``shared`` filter every request carries, and filter validation)."""
    prefix = f"search-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{letter}" for letter in "abcde"]
    for name in names:
        create_pool(api, name=name, prefixes=[block()])
    asc = api.get("/subnetpools", params={"sort_key": "name", "shared": "False"}).json()
    mine = [p["name"] for p in asc["subnetpools"] if p["name"] in names]
    assert mine == names
    page = api.get(
        "/subnetpools", params={"sort_key": "name", "sort_dir": "desc", "limit": 2, "shared": False}
    ).json()
    assert len(page["subnetpools"]) == 2
    assert page["subnetpools_links"][0]["rel"] == "next"
    assert_error(api.get("/subnetpools", params={"unknown_filter": "value"}), 400)


def test_subnetpool_quota_counts_a_projects_pools(
    api: httpx.Client, member_api: httpx.Client
) -> None:
    """Neutron's ``subnetpool`` quota (unlimited by default) counts a project's pools: beyond
    the project's limit a create is a 409 OverQuota, and quota details show the usage."""
    project = member_api.headers["X-Project-Id"]
    assert api.put(f"/quotas/{project}", json={"quota": {"subnetpool": 1}}).status_code == 200
    create_pool(member_api, prefixes=[block()])
    body = {"subnetpool": {"name": "one-too-many", "prefixes": [block()]}}
    assert_error(member_api.post("/subnetpools", json=body), 409, "OverQuota")
    details = api.get(f"/quotas/{project}/details.json").json()["quota"]["subnetpool"]
    assert (details["limit"], details["used"]) == (1, 1)


def test_a_bulk_of_subnets_from_one_pool_gets_distinct_cidrs(api: httpx.Client) -> None:
    """Each subnet of a bulk sees the CIDRs the ones before it took; a bulk that runs out of
    room leaves nothing."""
    pool = create_pool(api, prefixes=["10.220.0.0/26"], min_prefixlen=28)
    networks = [create_network(api) for _ in range(5)]
    bulk = [{"network_id": n["id"], "subnetpool_id": pool["id"]} for n in networks[:4]]
    response = api.post("/subnets", json={"subnets": bulk})
    assert response.status_code == 201, response.text
    cidrs = sorted(subnet["cidr"] for subnet in response.json()["subnets"])
    assert cidrs == [f"10.220.0.{n}/28" for n in (0, 16, 32, 48)]
    for subnet in response.json()["subnets"]:
        assert api.delete(f"/subnets/{subnet['id']}").status_code == 204
    too_many = [{"network_id": n["id"], "subnetpool_id": pool["id"]} for n in networks]
    assert_error(api.post("/subnets", json={"subnets": too_many}), 409, "SubnetAllocationError")
    assert api.get("/subnets", params={"subnetpool_id": pool["id"]}).json()["subnets"] == []
