"""Who may see and change what, over real HTTP, as Neutron's default policy has it: noauth acts as
admin of "admin"; members see and change only their project's resources (plus shared networks,
their subnets, and ports they create on them); admins see everything and may act for any project;
provider, external and binding attributes are admin-only."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.neutron import assert_error, ensure_nodes


def as_member(project: str) -> dict[str, str]:
    return {"X-Project-Id": project, "X-Roles": "member"}


def as_admin(project: str) -> dict[str, str]:
    return {"X-Project-Id": project, "X-Roles": "admin"}


def post(
    api: httpx.Client, singular: str, headers: dict[str, str] | None = None, **attributes: Any
) -> httpx.Response:
    return api.post(f"/{singular}s", json={singular: attributes}, headers=headers or {})


def create(
    api: httpx.Client, singular: str, headers: dict[str, str] | None = None, **attributes: Any
) -> dict[str, Any]:
    response = post(api, singular, headers, **attributes)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()[singular]
    return created


def listed_ids(api: httpx.Client, plural: str, headers: dict[str, str], **params: str) -> set[str]:
    response = api.get(f"/{plural}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()[plural]}


@pytest.fixture
def projects() -> tuple[str, str]:
    """Two fresh project ids, so no test sees another's resources by project."""
    return f"proj-a-{uuid.uuid4().hex[:8]}", f"proj-b-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def b_resources(api: httpx.Client, projects: tuple[str, str]) -> dict[str, dict[str, Any]]:
    """A network, subnet and port that project B's member created."""
    b = as_member(projects[1])
    network = create(api, "network", b, name="b-net")
    subnet = create(api, "subnet", b, network_id=network["id"], cidr="10.0.0.0/24")
    port = create(api, "port", b, network_id=network["id"])
    return {"network": network, "subnet": subnet, "port": port}


def test_no_headers_acts_as_admin_of_project_admin(api: httpx.Client) -> None:
    network = create(api, "network")
    assert network["project_id"] == network["tenant_id"] == "admin"
    admin_visible = create(api, "network", as_member("someone-else"))
    assert admin_visible["project_id"] == "someone-else"
    assert api.get(f"/networks/{admin_visible['id']}").status_code == 200
    shared_flag = create(api, "network", **{"provider:segmentation_id": 880_001})
    assert shared_flag["provider:segmentation_id"] == 880_001


def test_member_creates_in_own_project(api: httpx.Client, projects: tuple[str, str]) -> None:
    a = as_member(projects[0])
    network = create(api, "network", a)
    assert network["project_id"] == network["tenant_id"] == projects[0]
    subnet = create(api, "subnet", a, network_id=network["id"], cidr="10.1.0.0/24")
    assert subnet["project_id"] == projects[0]
    port = create(api, "port", a, network_id=network["id"])
    assert port["project_id"] == projects[0]
    same = create(api, "network", a, project_id=projects[0])
    assert same["project_id"] == projects[0]


def test_member_cannot_see_another_projects_resources(
    api: httpx.Client, projects: tuple[str, str], b_resources: dict[str, dict[str, Any]]
) -> None:
    a = as_member(projects[0])
    for singular, item in b_resources.items():
        response = api.get(f"/{singular}s/{item['id']}", headers=a)
        assert_error(response, 404, f"{singular.capitalize()}NotFound")
        assert item["id"] not in listed_ids(api, f"{singular}s", a)
        assert item["id"] not in listed_ids(api, f"{singular}s", a, id=item["id"])
        assert listed_ids(api, f"{singular}s", a, project_id=projects[1]) == set()
        tags = api.get(f"/{singular}s/{item['id']}/tags", headers=a)
        assert_error(tags, 404)


def test_member_cannot_change_another_projects_resources(
    api: httpx.Client, projects: tuple[str, str], b_resources: dict[str, dict[str, Any]]
) -> None:
    a = as_member(projects[0])
    for singular, item in b_resources.items():
        url = f"/{singular}s/{item['id']}"
        before = api.get(url).json()[singular]
        assert_error(api.put(url, json={singular: {"name": "mine"}}, headers=a), 404)
        assert_error(api.put(f"{url}/tags", json={"tags": ["x"]}, headers=a), 404)
        assert_error(api.put(f"{url}/tags/x", headers=a), 404)
        assert_error(api.delete(f"{url}/tags", headers=a), 404)
        assert api.get(url).json()[singular] == before
    for singular in ("port", "subnet", "network"):
        url = f"/{singular}s/{b_resources[singular]['id']}"
        assert_error(api.delete(url, headers=a), 404)
        assert api.get(url).status_code == 200


def test_member_cannot_use_another_projects_network(
    api: httpx.Client, projects: tuple[str, str], b_resources: dict[str, dict[str, Any]]
) -> None:
    a = as_member(projects[0])
    network_id = b_resources["network"]["id"]
    assert_error(post(api, "port", a, network_id=network_id), 404, "NetworkNotFound")
    assert_error(
        post(api, "subnet", a, network_id=network_id, cidr="10.9.0.0/24"), 404, "NetworkNotFound"
    )
    assert listed_ids(api, "ports", as_member(projects[1]), network_id=network_id) == {
        b_resources["port"]["id"]
    }


def test_owner_member_sees_and_changes_own_resources(
    api: httpx.Client, projects: tuple[str, str], b_resources: dict[str, dict[str, Any]]
) -> None:
    b = as_member(projects[1])
    for singular, item in b_resources.items():
        assert api.get(f"/{singular}s/{item['id']}", headers=b).status_code == 200
        assert listed_ids(api, f"{singular}s", b, project_id=projects[1]) == {item["id"]}
        response = api.put(
            f"/{singular}s/{item['id']}", json={singular: {"name": "renamed"}}, headers=b
        )
        assert response.status_code == 200, response.text
        assert response.json()[singular]["name"] == "renamed"
    for singular in ("port", "subnet", "network"):
        url = f"/{singular}s/{b_resources[singular]['id']}"
        assert api.delete(url, headers=b).status_code == 204


def test_admin_sees_and_changes_every_project(
    api: httpx.Client, projects: tuple[str, str], b_resources: dict[str, dict[str, Any]]
) -> None:
    admin = as_admin(projects[0])
    for singular, item in b_resources.items():
        assert api.get(f"/{singular}s/{item['id']}", headers=admin).status_code == 200
        assert item["id"] in listed_ids(api, f"{singular}s", admin, project_id=projects[1])
        response = api.put(
            f"/{singular}s/{item['id']}", json={singular: {"name": "by-admin"}}, headers=admin
        )
        assert response.status_code == 200, response.text
        assert response.json()[singular]["project_id"] == projects[1]
    assert api.delete(f"/ports/{b_resources['port']['id']}", headers=admin).status_code == 204


def test_admin_creates_for_another_project(api: httpx.Client, projects: tuple[str, str]) -> None:
    a, b = projects
    network = create(api, "network", project_id=b)
    assert network["project_id"] == network["tenant_id"] == b
    old_name = create(api, "network", as_admin(a), tenant_id=b)
    assert old_name["project_id"] == b
    subnet = create(api, "subnet", network_id=network["id"], cidr="10.2.0.0/24", project_id=b)
    port = create(api, "port", network_id=network["id"], project_id=b)
    assert (subnet["project_id"], port["project_id"]) == (b, b)
    assert listed_ids(api, "networks", as_member(b)) == {network["id"], old_name["id"]}
    assert listed_ids(api, "ports", as_member(b)) == {port["id"]}
    assert listed_ids(api, "networks", as_member(a)) == set()
    mismatch = post(api, "network", project_id=a, tenant_id=b)
    assert_error(mismatch, 400)


def test_member_cannot_create_for_another_project(
    api: httpx.Client, projects: tuple[str, str]
) -> None:
    """Mirrors neutron-tempest-plugin test_ports_negative.PortsNegativeTestJSON
    .test_add_port_with_nonexist_project_id: Neutron's API layer refuses a member's project_id
    or tenant_id other than its own with a 400, before any policy (and creates nothing)."""
    a, b = as_member(projects[0]), projects[1]
    assert_error(post(api, "network", a, name="not-mine", project_id=b), 400, "HTTPBadRequest")
    assert_error(post(api, "network", a, name="not-mine", tenant_id=b), 400, "HTTPBadRequest")
    network = create(api, "network", a)
    assert_error(
        post(api, "subnet", a, network_id=network["id"], cidr="10.3.0.0/24", project_id=b), 400
    )
    port = post(api, "port", a, network_id=network["id"], project_id=b)
    assert_error(port, 400, "HTTPBadRequest")
    assert "other than the authenticated project" in port.json()["NeutronError"]["message"]
    assert api.get("/networks", params={"name": "not-mine"}).json()["networks"] == []
    assert api.get("/ports", params={"network_id": network["id"]}).json()["ports"] == []


def test_shared_network_is_visible_and_usable_by_other_projects(
    api: httpx.Client, projects: tuple[str, str]
) -> None:
    a, b = as_member(projects[0]), as_member(projects[1])
    shared = create(api, "network", shared=True, name="shared-net")
    subnet = create(api, "subnet", network_id=shared["id"], cidr="10.4.0.0/24")
    admin_port = create(api, "port", network_id=shared["id"])

    assert api.get(f"/networks/{shared['id']}", headers=a).json()["network"]["shared"] is True
    assert shared["id"] in listed_ids(api, "networks", a)
    assert shared["id"] in listed_ids(api, "networks", a, shared="true")
    assert api.get(f"/subnets/{subnet['id']}", headers=a).status_code == 200
    assert subnet["id"] in listed_ids(api, "subnets", a)

    a_port = create(api, "port", a, network_id=shared["id"])
    b_port = create(api, "port", b, network_id=shared["id"])
    assert a_port["project_id"] == projects[0]
    assert a_port["fixed_ips"][0]["subnet_id"] == subnet["id"]
    assert listed_ids(api, "ports", a, network_id=shared["id"]) == {a_port["id"]}
    assert_error(api.get(f"/ports/{b_port['id']}", headers=a), 404, "PortNotFound")
    assert_error(api.get(f"/ports/{admin_port['id']}", headers=a), 404, "PortNotFound")
    assert listed_ids(api, "ports", {}, network_id=shared["id"]) == {
        admin_port["id"],
        a_port["id"],
        b_port["id"],
    }
    assert api.delete(f"/ports/{a_port['id']}", headers=a).status_code == 204


def test_only_the_owner_chooses_addresses_on_a_shared_network(
    api: httpx.Client, projects: tuple[str, str]
) -> None:
    """Neutron's policy: ``fixed_ips:ip_address`` and ``mac_address`` on create (and the address
    on update) are for the network's owner or an admin; a subnet_id alone is for anyone."""
    a = as_member(projects[0])
    shared = create(api, "network", shared=True)
    subnet = create(api, "subnet", network_id=shared["id"], cidr="10.7.0.0/24")
    mine = {"network_id": shared["id"]}
    assert_error(post(api, "port", a, **mine, fixed_ips=[{"ip_address": "10.7.0.9"}]), 403)
    assert_error(post(api, "port", a, **mine, mac_address="fa:16:3e:70:70:70"), 403)
    assert listed_ids(api, "ports", {}, network_id=shared["id"]) == set()
    port = create(api, "port", a, **mine, fixed_ips=[{"subnet_id": subnet["id"]}])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.7.0.2"}]
    url = f"/ports/{port['id']}"
    spoof = api.put(url, json={"port": {"fixed_ips": [{"ip_address": "10.7.0.50"}]}}, headers=a)
    assert_error(spoof, 403, "HTTPForbidden")
    assert api.get(url, headers=a).json()["port"] == port
    moved = api.put(url, json={"port": {"fixed_ips": [{"subnet_id": subnet["id"]}]}}, headers=a)
    assert moved.status_code == 200, moved.text
    by_admin = api.put(url, json={"port": {"fixed_ips": [{"ip_address": "10.7.0.50"}]}})
    assert by_admin.status_code == 200, by_admin.text
    owner = create(api, "port", **mine, fixed_ips=[{"ip_address": "10.7.0.9"}])
    assert owner["fixed_ips"][0]["ip_address"] == "10.7.0.9"


def test_shared_network_belongs_to_its_owner(api: httpx.Client, projects: tuple[str, str]) -> None:
    a = as_member(projects[0])
    shared = create(api, "network", shared=True)
    subnet = create(api, "subnet", network_id=shared["id"], cidr="10.5.0.0/24")
    url = f"/networks/{shared['id']}"
    assert_error(api.put(url, json={"network": {"name": "taken"}}, headers=a), 403)
    assert_error(api.delete(url, headers=a), 403)
    assert_error(api.delete(f"/subnets/{subnet['id']}", headers=a), 403)
    assert_error(
        post(api, "subnet", a, network_id=shared["id"], cidr="10.6.0.0/24"), 403, "HTTPForbidden"
    )
    # a subnet made on it bumps the network's revision, as in Neutron
    revised = {"subnets": [subnet["id"]], "revision_number": shared["revision_number"] + 1}
    assert api.get(url).json()["network"] == {**shared, **revised}


def test_external_network_is_visible_to_members(
    api: httpx.Client, projects: tuple[str, str]
) -> None:
    a = as_member(projects[0])
    external = create(api, "network", **{"router:external": True})
    assert api.get(f"/networks/{external['id']}", headers=a).status_code == 200
    assert external["id"] in listed_ids(api, "networks", a, **{"router:external": "true"})


@pytest.mark.parametrize(
    "attributes",
    [
        {"provider:network_type": "vxlan"},
        {"provider:segmentation_id": 880_002},
        {"provider:physical_network": "physnet1"},
        {"router:external": True},
        {"shared": True},
    ],
)
def test_member_cannot_set_admin_only_network_attributes(
    api: httpx.Client, projects: tuple[str, str], attributes: dict[str, Any]
) -> None:
    a = as_member(projects[0])
    assert_error(post(api, "network", a, **attributes), 403, "PolicyNotAuthorized")
    assert listed_ids(api, "networks", {}, project_id=projects[0]) == set()


def test_member_may_send_the_admin_only_flags_at_their_defaults(
    api: httpx.Client, projects: tuple[str, str]
) -> None:
    """Neutron's policy checks an attribute on create only when it differs from its default."""
    a = as_member(projects[0])
    network = create(api, "network", a, shared=False, **{"router:external": False})
    assert (network["shared"], network["router:external"]) == (False, False)


@pytest.mark.parametrize(
    "change",
    [{"router:external": True}, {"router:external": False}, {"shared": True}, {"shared": False}],
)
def test_member_cannot_update_admin_only_network_attributes(
    api: httpx.Client, projects: tuple[str, str], change: dict[str, Any]
) -> None:
    a = as_member(projects[0])
    network = create(api, "network", a)
    response = api.put(f"/networks/{network['id']}", json={"network": change}, headers=a)
    assert_error(response, 403, "PolicyNotAuthorized")
    assert api.get(f"/networks/{network['id']}", headers=a).json()["network"] == network


@pytest.mark.parametrize(
    "attributes", [{"binding:host_id": "compute-1"}, {"binding:profile": {"a": 1}}]
)
def test_member_cannot_set_port_binding(
    api: httpx.Client, projects: tuple[str, str], attributes: dict[str, Any]
) -> None:
    a = as_member(projects[0])
    network = create(api, "network", a)
    assert_error(post(api, "port", a, network_id=network["id"], **attributes), 403)
    port = create(api, "port", a, network_id=network["id"])
    response = api.put(f"/ports/{port['id']}", json={"port": attributes}, headers=a)
    assert_error(response, 403, "PolicyNotAuthorized")
    assert api.get(f"/ports/{port['id']}", headers=a).json()["port"] == port
    ensure_nodes(api, "compute-1")
    admin = api.put(f"/ports/{port['id']}", json={"port": attributes})
    assert admin.status_code == 200, admin.text


def test_roles_header_is_case_and_space_tolerant(
    api: httpx.Client, projects: tuple[str, str]
) -> None:
    headers = {"X-Project-Id": projects[0], "X-Roles": "reader, Admin"}
    network = create(api, "network", headers, **{"provider:segmentation_id": 880_003})
    assert network["project_id"] == projects[0]


def test_project_without_roles_is_a_member(api: httpx.Client, projects: tuple[str, str]) -> None:
    headers = {"X-Project-Id": projects[0]}
    response = post(api, "network", headers, **{"provider:segmentation_id": 880_004})
    assert_error(response, 403, "PolicyNotAuthorized")
    network = create(api, "network", headers)
    assert network["project_id"] == projects[0]
    assert_error(api.get(f"/networks/{network['id']}", headers=as_member(projects[1])), 404)
