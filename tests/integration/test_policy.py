"""Neutron's default policy on admin-only attributes, tried as a member would: ``provider:*`` on
networks, ``binding:*`` (but ``binding:vnic_type``) and ``resource_request`` on ports,
``segment_id`` on subnets, ``distributed`` and ``ha`` on routers are never shown to a member
(show, list, ``fields=``, create, bulk create, update), cannot be filtered or sorted on by one,
and ``provider:*``, ``binding:host_id`` and ``binding:profile`` cannot be set by one. Admins
keep all of it (Nova binds ports as one).

The expected bodies, status codes and messages are those of the reference Neutron (28.0.2, run
with ``AUTH=headers``), except filtering: Neutron applies a member's ``binding:host_id=H``
filter, so which of its ports come back says which run on H; here it is refused, as a filter
on an attribute a member cannot filter on, whatever the host."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.neutron import assert_error, ensure_nodes

# An admin's keys less a member's, for the same resource, in the reference Neutron.
NEUTRON_ADMIN_ONLY = {
    "network": {"provider:network_type", "provider:physical_network", "provider:segmentation_id"},
    "port": {
        "binding:host_id",
        "binding:profile",
        "binding:vif_type",
        "binding:vif_details",
        "resource_request",
    },
    "subnet": {"segment_id"},
    "router": {"distributed", "ha"},
}
HIDDEN = set().union(*NEUTRON_ADMIN_ONLY.values())


def member(project: str) -> dict[str, str]:
    return {"X-Project-Id": project, "X-User-Id": f"user-{project}", "X-Roles": "member,reader"}


def created(response: httpx.Response, key: str) -> Any:
    assert response.status_code == 201, response.text
    return response.json()[key]


def shown_hidden(item: dict[str, Any]) -> set[str]:
    return set(item) & HIDDEN


@pytest.fixture
def world(api: httpx.Client) -> dict[str, Any]:
    """Project P's network, subnet, router and port, the port bound by an admin (as Nova binds)
    to a host whose id is what the attack is after; a shared network and an external flat one."""
    project = f"policy-{uuid.uuid4().hex[:8]}"
    m = member(project)
    host = f"secret-host-{uuid.uuid4().hex[:6]}"
    ensure_nodes(api, host)
    network = created(api.post("/networks", json={"network": {"name": "p"}}, headers=m), "network")
    subnet = created(
        api.post(
            "/subnets",
            json={"subnet": {"network_id": network["id"], "cidr": "10.77.0.0/24", "ip_version": 4}},
            headers=m,
        ),
        "subnet",
    )
    router = created(api.post("/routers", json={"router": {"name": "r"}}, headers=m), "router")
    port = created(
        api.post("/ports", json={"port": {"network_id": network["id"]}}, headers=m), "port"
    )
    bound = api.put(f"/ports/{port['id']}", json={"port": {"binding:host_id": host}})
    assert bound.status_code == 200, bound.text
    assert bound.json()["port"]["binding:host_id"] == host
    shared = created(
        api.post("/networks", json={"network": {"name": "shared", "shared": True}}), "network"
    )
    external = created(
        api.post(
            "/networks",
            json={
                "network": {
                    "name": "public",
                    "router:external": True,
                    "provider:network_type": "flat",
                    "provider:physical_network": f"physnet-{project}",
                }
            },
        ),
        "network",
    )
    return {
        "headers": m,
        "project": project,
        "host": host,
        "network": network,
        "subnet": subnet,
        "router": router,
        "port": port,
        "shared": shared,
        "external": external,
    }


@pytest.mark.parametrize("singular", ["network", "subnet", "router", "port"])
def test_member_shown_its_resource_without_admin_only_attributes(
    api: httpx.Client, world: dict[str, Any], singular: str
) -> None:
    url = f"/{singular}s/{world[singular]['id']}"
    as_member = api.get(url, headers=world["headers"])
    as_admin = api.get(url)
    assert as_member.status_code == as_admin.status_code == 200
    seen, everything = as_member.json()[singular], as_admin.json()[singular]
    assert shown_hidden(seen) == set()
    assert set(everything) - set(seen) == NEUTRON_ADMIN_ONLY[singular]
    assert set(seen) <= set(everything)
    if singular == "port":
        assert seen["binding:vnic_type"] == "normal"  # Neutron shows it to the owner
        assert everything["binding:host_id"] == world["host"]


@pytest.mark.parametrize("plural", ["networks", "subnets", "routers", "ports"])
def test_member_lists_without_admin_only_attributes(
    api: httpx.Client, world: dict[str, Any], plural: str
) -> None:
    listed = api.get(f"/{plural}", headers=world["headers"])
    assert listed.status_code == 200, listed.text
    items = listed.json()[plural]
    assert items
    assert [shown_hidden(item) for item in items] == [set()] * len(items)


def test_shared_and_external_networks_show_members_no_provider_attributes(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    m = world["headers"]
    for network in (world["shared"], world["external"]):
        seen = api.get(f"/networks/{network['id']}", headers=m).json()["network"]
        assert shown_hidden(seen) == set()
    listed = {n["id"]: n for n in api.get("/networks", headers=m).json()["networks"]}
    assert {world["shared"]["id"], world["external"]["id"]} <= set(listed)
    admin_view = api.get(f"/networks/{world['external']['id']}").json()["network"]
    assert admin_view["provider:physical_network"] == f"physnet-{world['project']}"


def test_fields_naming_a_hidden_attribute_pick_nothing(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    """As Neutron: ``{"port": {}}``, and only ``id`` beside it."""
    m = world["headers"]
    port_url, network_url = f"/ports/{world['port']['id']}", f"/networks/{world['network']['id']}"
    assert api.get(port_url, params={"fields": "binding:host_id"}, headers=m).json() == {"port": {}}
    both = api.get(port_url, params=[("fields", "binding:host_id"), ("fields", "id")], headers=m)
    assert both.json() == {"port": {"id": world["port"]["id"]}}
    segment = {"fields": "provider:segmentation_id"}
    assert api.get(network_url, params=segment, headers=m).json() == {"network": {}}
    listed = api.get("/ports", params={"fields": "binding:host_id"}, headers=m).json()["ports"]
    assert listed
    assert all(item == {} for item in listed)
    listed = api.get(
        "/networks", params=[("fields", "id"), ("fields", "provider:physical_network")], headers=m
    ).json()["networks"]
    assert listed
    assert all(set(item) == {"id"} for item in listed)
    admin = api.get(port_url, params={"fields": "binding:host_id"})
    assert admin.json() == {"port": {"binding:host_id": world["host"]}}


def test_member_filtering_ports_by_host_learns_nothing(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    """The attack: ``GET /v2.0/ports?binding:host_id=H`` for the real host and for another
    answer the same refusal, so the answer says nothing about where the ports run."""
    m = world["headers"]
    answers = [
        api.get("/ports", params={"binding:host_id": host, **extra}, headers=m)
        for host in (world["host"], "no-such-host", "")
        for extra in ({}, {"fields": "id"})
    ]
    for answer in answers:
        assert_error(answer, 400, "HTTPBadRequest")
    assert {answer.text for answer in answers} == {answers[0].text}
    assert answers[0].json()["NeutronError"]["message"] == (
        "['binding:host_id'] is invalid attribute for filtering"
    )


def test_member_filtering_networks_by_segment_learns_nothing(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    m = world["headers"]
    real = api.get(f"/networks/{world['network']['id']}").json()["network"]
    for attribute, values in (
        ("provider:segmentation_id", (real["provider:segmentation_id"], 1)),
        ("provider:network_type", ("vxlan", "flat")),
        ("provider:physical_network", (f"physnet-{world['project']}", "other")),
    ):
        answers = [api.get("/networks", params={attribute: v}, headers=m) for v in values]
        for answer in answers:
            assert_error(answer, 400, "HTTPBadRequest")
        assert answers[0].text == answers[1].text


@pytest.mark.parametrize(
    ("plural", "key"), [("ports", "binding:host_id"), ("networks", "provider:segmentation_id")]
)
def test_member_cannot_sort_by_a_hidden_attribute(
    api: httpx.Client, world: dict[str, Any], plural: str, key: str
) -> None:
    """Sorting would order a member's ports by host: refused as Neutron refuses it."""
    params = {"sort_key": key, "sort_dir": "asc"}
    answer = api.get(f"/{plural}", params=params, headers=world["headers"])
    assert_error(answer, 400, "HTTPBadRequest")
    assert (
        answer.json()["NeutronError"]["message"] == f"['{key}'] is invalid attribute for sort_keys"
    )


def test_member_writes_answer_without_admin_only_attributes(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    m, network_id = world["headers"], world["network"]["id"]
    one = created(api.post("/ports", json={"port": {"network_id": network_id}}, headers=m), "port")
    many = created(
        api.post("/ports", json={"ports": [{"network_id": network_id}] * 2}, headers=m), "ports"
    )
    updated = api.put(f"/ports/{world['port']['id']}", json={"port": {"name": "x"}}, headers=m)
    assert updated.status_code == 200, updated.text
    network = created(api.post("/networks", json={"network": {}}, headers=m), "network")
    renamed = api.put(f"/networks/{network['id']}", json={"network": {"name": "y"}}, headers=m)
    for item in (one, *many, updated.json()["port"], network, renamed.json()["network"]):
        assert shown_hidden(item) == set()


@pytest.mark.parametrize(
    "attribute",
    [
        ("provider:network_type", "vxlan"),
        ("provider:segmentation_id", 4444),
        ("provider:physical_network", "physnet1"),
    ],
)
def test_member_cannot_create_a_provider_network(
    api: httpx.Client, world: dict[str, Any], attribute: tuple[str, Any]
) -> None:
    name, value = attribute
    before = api.get("/networks", params={"project_id": world["project"]}).json()["networks"]
    answer = api.post("/networks", json={"network": {name: value}}, headers=world["headers"])
    assert_error(answer, 403, "PolicyNotAuthorized")
    assert answer.json()["NeutronError"]["message"] == (
        f"(rule:create_network and rule:create_network:{name}) is disallowed by policy"
    )
    after = api.get("/networks", params={"project_id": world["project"]}).json()["networks"]
    assert after == before


@pytest.mark.parametrize(
    "name", ["provider:network_type", "provider:segmentation_id", "provider:physical_network"]
)
def test_member_cannot_update_provider_attributes(
    api: httpx.Client, world: dict[str, Any], name: str
) -> None:
    """Not even to the values the network has (Neutron checks the rule, not the change)."""
    url = f"/networks/{world['network']['id']}"
    current = api.get(url).json()["network"]
    answer = api.put(url, json={"network": {name: current[name]}}, headers=world["headers"])
    assert_error(answer, 403, "PolicyNotAuthorized")
    assert answer.json()["NeutronError"]["message"] == (
        f"(rule:update_network and rule:update_network:{name}) is disallowed by policy"
    )
    assert api.get(url).json()["network"] == current


def test_admin_may_repeat_but_not_change_a_segment(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    """As the reference Neutron's ML2: only VLAN networks' segments change."""
    url = f"/networks/{world['network']['id']}"
    current = api.get(url).json()["network"]
    same = api.put(url, json={"network": {"provider:network_type": "vxlan"}})
    assert same.status_code == 200, same.text
    assert same.json()["network"]["provider:segmentation_id"] == current["provider:segmentation_id"]
    other = current["provider:segmentation_id"] + 1
    changed = api.put(url, json={"network": {"provider:segmentation_id": other}})
    assert_error(changed, 400, "InvalidInput")
    assert "Only VLAN type networks can be updated" in changed.json()["NeutronError"]["message"]


@pytest.mark.parametrize(
    "attribute", [("binding:host_id", "compute-1"), ("binding:profile", {"a": 1})]
)
def test_member_cannot_bind_a_port(
    api: httpx.Client, world: dict[str, Any], attribute: tuple[str, Any]
) -> None:
    name, value = attribute
    m, network_id, port = world["headers"], world["network"]["id"], world["port"]
    before = api.get("/ports", params={"network_id": network_id}).json()["ports"]
    one = api.post("/ports", json={"port": {"network_id": network_id, name: value}}, headers=m)
    assert_error(one, 403, "PolicyNotAuthorized")
    assert one.json()["NeutronError"]["message"] == (
        f"(rule:create_port and rule:create_port:{name}) is disallowed by policy"
    )
    bulk = [{"network_id": network_id}, {"network_id": network_id, name: value}]
    assert_error(api.post("/ports", json={"ports": bulk}, headers=m), 403, "PolicyNotAuthorized")
    assert api.get("/ports", params={"network_id": network_id}).json()["ports"] == before
    moved = api.put(f"/ports/{port['id']}", json={"port": {name: value}}, headers=m)
    assert_error(moved, 403, "PolicyNotAuthorized")
    assert moved.json()["NeutronError"]["message"] == (
        f"(rule:update_port and rule:update_port:{name}) is disallowed by policy"
    )
    assert api.get(f"/ports/{port['id']}").json()["port"]["binding:host_id"] == world["host"]


@pytest.mark.parametrize("name", ["binding:vif_type", "binding:vif_details"])
def test_read_only_binding_attributes_are_refused_to_anyone(
    api: httpx.Client, world: dict[str, Any], name: str
) -> None:
    network_id = world["network"]["id"]
    value = "ovs" if name == "binding:vif_type" else {}
    for headers in (world["headers"], {}):
        body = {"port": {"network_id": network_id, name: value}}
        assert_error(api.post("/ports", json=body, headers=headers), 400)


def test_member_may_choose_its_vnic_type(api: httpx.Client, world: dict[str, Any]) -> None:
    body = {"port": {"network_id": world["network"]["id"], "binding:vnic_type": "normal"}}
    port = created(api.post("/ports", json=body, headers=world["headers"]), "port")
    assert port["binding:vnic_type"] == "normal"


@pytest.mark.parametrize(
    "headers", [{}, {"X-Project-Id": "another-admin-project", "X-Roles": "admin"}]
)
def test_admins_see_filter_sort_and_set_them(
    api: httpx.Client, world: dict[str, Any], headers: dict[str, str]
) -> None:
    """Regression: what members may not, admins (noauth's, or any project's) still may."""
    host = world["host"]
    on_host = api.get("/ports", params={"binding:host_id": host}, headers=headers)
    assert on_host.status_code == 200, on_host.text
    assert [p["id"] for p in on_host.json()["ports"]] == [world["port"]["id"]]
    assert on_host.json()["ports"][0]["binding:vif_type"] != "unbound"
    by_host = api.get(
        "/ports",
        params={"sort_key": "binding:host_id", "sort_dir": "asc", "fields": "binding:host_id"},
        headers=headers,
    )
    assert by_host.status_code == 200, by_host.text
    assert {"binding:host_id": host} in by_host.json()["ports"]
    network = created(
        api.post(
            "/networks",
            json={"network": {"provider:network_type": "vxlan"}},
            headers=headers,
        ),
        "network",
    )
    assert network["provider:network_type"] == "vxlan"
    assert isinstance(network["provider:segmentation_id"], int)
    segment = {"provider:segmentation_id": network["provider:segmentation_id"]}
    found = api.get("/networks", params=segment, headers=headers).json()["networks"]
    assert [n["id"] for n in found] == [network["id"]]
    router = api.get(f"/routers/{world['router']['id']}", headers=headers).json()["router"]
    assert (router["distributed"], router["ha"]) == (True, False)  # dvr: every router is
