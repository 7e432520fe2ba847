"""Trunks over real HTTP (``trunk``, ``trunk-details``), as the reference Neutron 28 answers with
its trunk plugin loaded: CRUD, add/remove/get subports, every 400/404/409 with Neutron's type,
``trunk_details`` on the parent port, the ports a trunk holds, and policy between projects.
Each test names the neutron-tempest-plugin test it mirrors (``api/test_trunk*.py``)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.neutron import assert_error, create_network, create_port, ensure_nodes

A = {"X-Project-Id": "trunk-a", "X-Roles": "member"}
B = {"X-Project-Id": "trunk-b", "X-Roles": "member"}


def port_of(api: httpx.Client, headers: dict[str, str] = A, **network: Any) -> dict[str, Any]:
    """A new port of the project on a new network of its own."""
    made = api.post("/networks", json={"network": network}, headers=headers)
    assert made.status_code == 201, made.text
    response = api.post(
        "/ports", json={"port": {"network_id": made.json()["network"]["id"]}}, headers=headers
    )
    assert response.status_code == 201, response.text
    port: dict[str, Any] = response.json()["port"]
    return port


def vlan(port: dict[str, Any], number: int) -> dict[str, Any]:
    return {"port_id": port["id"], "segmentation_type": "vlan", "segmentation_id": number}


def post_trunk(api: httpx.Client, headers: dict[str, str] = A, **attributes: Any) -> httpx.Response:
    return api.post("/trunks", json={"trunk": attributes}, headers=headers)


def create_trunk(
    api: httpx.Client, parent: dict[str, Any] | None = None, **attributes: Any
) -> dict[str, Any]:
    parent = parent or port_of(api)
    response = post_trunk(api, port_id=parent["id"], **attributes)
    assert response.status_code == 201, response.text
    trunk: dict[str, Any] = response.json()["trunk"]
    return trunk


def subports(
    api: httpx.Client, trunk_id: str, action: str, body: Any, headers: dict[str, str] = A
) -> httpx.Response:
    return api.put(f"/trunks/{trunk_id}/{action}", json={"sub_ports": body}, headers=headers)


def show(api: httpx.Client, trunk_id: str, headers: dict[str, str] = A) -> dict[str, Any]:
    response = api.get(f"/trunks/{trunk_id}", headers=headers)
    assert response.status_code == 200, response.text
    trunk: dict[str, Any] = response.json()["trunk"]
    return trunk


# --- test_trunk.py --------------------------------------------------------------------------


@pytest.mark.parametrize("sent", [[], None])
def test_a_trunk_shows_as_created(api: httpx.Client, sent: list[Any] | None) -> None:
    """Mirrors test_trunk.TrunkTestJSON.test_create_trunk_empty_subports_list and
    test_create_trunk_subports_not_specified: the created body is the shown body, the
    reference Neutron's keys in its order."""
    extra = {} if sent is None else {"sub_ports": sent}
    trunk = create_trunk(api, **extra)
    assert show(api, trunk["id"]) == trunk
    assert list(trunk) == [
        "admin_state_up",
        "id",
        "project_id",
        "name",
        "port_id",
        "status",
        "sub_ports",
        "revision_number",
        "description",
        "created_at",
        "updated_at",
        "tenant_id",
        "tags",
    ]
    assert (trunk["status"], trunk["sub_ports"], trunk["revision_number"]) == ("DOWN", [], 0)
    assert trunk["project_id"] == trunk["tenant_id"] == "trunk-a"


def test_create_show_delete_trunk(api: httpx.Client) -> None:
    """Mirrors test_trunk.TrunkTestJSON.test_create_show_delete_trunk."""
    trunk = create_trunk(api)
    assert api.delete(f"/trunks/{trunk['id']}", headers=A).status_code == 204
    assert_error(api.get(f"/trunks/{trunk['id']}", headers=A), 404, "TrunkNotFound")


def test_create_update_trunk(api: httpx.Client) -> None:
    """Mirrors test_trunk.TrunkTestJSON.test_create_update_trunk and
    test_create_update_trunk_with_description."""
    trunk = create_trunk(api, description="foo description")
    assert (trunk["admin_state_up"], trunk["name"]) == (True, "")
    assert trunk["description"] == "foo description"
    response = api.put(
        f"/trunks/{trunk['id']}",
        json={"trunk": {"name": "foo", "admin_state_up": False, "description": ""}},
        headers=A,
    )
    assert response.status_code == 200, response.text
    updated = response.json()["trunk"]
    assert (updated["name"], updated["admin_state_up"], updated["description"]) == (
        "foo",
        False,
        "",
    )
    assert updated["revision_number"] > trunk["revision_number"]


@pytest.mark.parametrize("attribute", ["port_id", "sub_ports", "status"])
def test_read_only_attributes_are_refused_on_update(api: httpx.Client, attribute: str) -> None:
    """As the reference Neutron: ``Cannot update read-only attribute ...`` (400)."""
    trunk = create_trunk(api)
    value: Any = {"port_id": trunk["port_id"], "sub_ports": [], "status": "ACTIVE"}[attribute]
    response = api.put(f"/trunks/{trunk['id']}", json={"trunk": {attribute: value}}, headers=A)
    assert_error(response, 400)
    assert show(api, trunk["id"]) == trunk


def test_list_trunks(api: httpx.Client) -> None:
    """Mirrors test_trunk.TrunkTestJSON.test_list_trunks: each listed as created."""
    made = {t["id"]: t for t in (create_trunk(api), create_trunk(api))}
    listed = api.get("/trunks", headers=A).json()["trunks"]
    assert {t["id"]: t for t in listed if t["id"] in made} == made


def test_add_subports(api: httpx.Client) -> None:
    """Mirrors test_trunk.TrunkTestJSON.test_add_subports: the answer is the bare trunk."""
    trunk = create_trunk(api)
    wanted = [vlan(port_of(api), 2)]
    response = subports(api, trunk["id"], "add_subports", wanted)
    assert response.status_code == 200, response.text
    assert response.json()["sub_ports"] == wanted
    assert response.json()["id"] == trunk["id"]
    assert show(api, trunk["id"])["sub_ports"] == wanted


def test_a_numeric_string_is_a_segmentation_id(api: httpx.Client) -> None:
    """As Neutron converts it."""
    trunk = create_trunk(api)
    port = port_of(api)
    sent = {"port_id": port["id"], "segmentation_type": "vlan", "segmentation_id": "11"}
    response = subports(api, trunk["id"], "add_subports", [sent])
    assert response.status_code == 200, response.text
    assert response.json()["sub_ports"] == [vlan(port, 11)]


def test_delete_trunk_with_subport_is_allowed(api: httpx.Client) -> None:
    """Mirrors test_trunk.TrunkTestJSON.test_delete_trunk_with_subport_is_allowed: and the
    ports are free again (deletable, usable in another trunk)."""
    subport = port_of(api)
    trunk = create_trunk(api, sub_ports=[vlan(subport, 2)])
    assert api.delete(f"/trunks/{trunk['id']}", headers=A).status_code == 204
    create_trunk(api, sub_ports=[vlan(subport, 3)])
    assert api.delete(f"/ports/{trunk['port_id']}", headers=A).status_code == 204


def test_remove_subport(api: httpx.Client) -> None:
    """Mirrors test_trunk.TrunkTestJSON.test_remove_subport."""
    first, second = vlan(port_of(api), 2), vlan(port_of(api), 4)
    trunk = create_trunk(api, sub_ports=[first, second])
    response = subports(api, trunk["id"], "remove_subports", [second])
    assert response.status_code == 200, response.text
    assert response.json()["sub_ports"] == [first]
    assert show(api, trunk["id"])["sub_ports"] == [first]
    # the removed port may be deleted now, the kept one not
    assert api.delete(f"/ports/{second['port_id']}", headers=A).status_code == 204
    assert_error(api.delete(f"/ports/{first['port_id']}", headers=A), 409, "PortInUseAsSubPort")


def test_get_subports(api: httpx.Client) -> None:
    """Mirrors test_trunk.TrunkTestJSON.test_get_subports."""
    wanted = [vlan(port_of(api), 2)]
    trunk = create_trunk(api, sub_ports=wanted)
    response = api.get(f"/trunks/{trunk['id']}/get_subports", headers=A)
    assert response.status_code == 200, response.text
    assert response.json() == {"sub_ports": wanted}


def test_subport_mtu_up_to_the_parents(api: httpx.Client) -> None:
    """Mirrors test_trunk.TrunkTestMtusJSON (a subport on a network of the parent's MTU or
    less is taken, on create and on add_subports) and test_trunk_negative.TrunkTestMtusJSON
    (one above it is a 409 ``SubPortMtuGreaterThanTrunkPortMtu``, leaving the trunk as it
    was)."""
    small, large = port_of(api, mtu=1400), port_of(api, mtu=1450)
    equal = port_of(api, mtu=1400)
    create_trunk(api, large, sub_ports=[vlan(small, 2)])
    create_trunk(api, equal, sub_ports=[vlan(port_of(api, mtu=1400), 2)])
    small = port_of(api, mtu=1400)
    refused = post_trunk(api, port_id=small["id"], sub_ports=[vlan(port_of(api), 2)])
    assert_error(refused, 409, "SubPortMtuGreaterThanTrunkPortMtu")
    assert api.get("/trunks", params={"port_id": small["id"]}).json()["trunks"] == []
    trunk = create_trunk(api, small)
    response = subports(api, trunk["id"], "add_subports", [vlan(port_of(api, mtu=1450), 2)])
    assert_error(response, 409, "SubPortMtuGreaterThanTrunkPortMtu")
    assert show(api, trunk["id"])["sub_ports"] == []


def test_trunks_sort_and_page_by_name(api: httpx.Client) -> None:
    """Mirrors test_trunk.TrunksSearchCriteriaTest (sorts and pages)."""
    names = [f"trunk-sort-{uuid.uuid4().hex[:6]}-{letter}" for letter in "cab"]
    for name in names:
        create_trunk(api, name=name)
    ours = {"name": names}
    ascending = api.get("/trunks", params={**ours, "sort_key": "name", "sort_dir": "asc"})
    assert [t["name"] for t in ascending.json()["trunks"]] == sorted(names)
    page = api.get("/trunks", params={**ours, "sort_key": "name", "limit": 2}).json()
    assert [t["name"] for t in page["trunks"]] == sorted(names)[:2]
    after = api.get(
        "/trunks",
        params={**ours, "sort_key": "name", "limit": 2, "marker": page["trunks"][-1]["id"]},
    )
    assert [t["name"] for t in after.json()["trunks"]] == sorted(names)[2:]


# --- test_trunk_details.py ------------------------------------------------------------------


def test_port_resource_trunk_details(api: httpx.Client) -> None:
    """Mirrors test_trunk_details.TestTrunkDetailsJSON.test_port_resource_trunk_details_no_subports,
    test_port_resource_trunk_details_with_subport and test_port_resource_empty_trunk_details:
    ``trunk_details`` on the parent (its subports with their MACs), on no other port."""
    bare = create_trunk(api)
    parent = api.get(f"/ports/{bare['port_id']}", headers=A).json()["port"]
    assert parent["trunk_details"] == {"trunk_id": bare["id"], "sub_ports": []}

    subport = port_of(api)
    trunk = create_trunk(api, sub_ports=[vlan(subport, 2)])
    parent = api.get(f"/ports/{trunk['port_id']}", headers=A).json()["port"]
    expected = {**vlan(subport, 2), "mac_address": subport["mac_address"]}
    assert parent["trunk_details"] == {"trunk_id": trunk["id"], "sub_ports": [expected]}
    listed = api.get("/ports", params={"id": trunk["port_id"]}, headers=A).json()["ports"]
    assert listed[0]["trunk_details"] == parent["trunk_details"]

    for plain in (subport, port_of(api)):
        shown = api.get(f"/ports/{plain['id']}", headers=A).json()["port"]
        assert "trunk_details" not in shown


# --- test_trunk_negative.py -----------------------------------------------------------------

MISSING = "4b6a1f52-9d1c-4a0e-8a0b-1d2a6b7e1c00"


def test_create_trunk_nonexistent_port_ids(api: httpx.Client) -> None:
    """Mirrors test_trunk_negative.TrunkTestJSON.test_create_trunk_nonexistent_port_id,
    test_create_trunk_nonexistent_subport_port_id and test_create_subport_nonexistent_port_id:
    404 ``PortNotFound``, nothing made."""
    assert_error(post_trunk(api, port_id=MISSING), 404, "PortNotFound")
    parent = port_of(api)
    missing = {"port_id": MISSING, "segmentation_type": "vlan", "segmentation_id": 2}
    assert_error(post_trunk(api, port_id=parent["id"], sub_ports=[missing]), 404, "PortNotFound")
    assert api.get("/trunks", params={"port_id": parent["id"]}).json()["trunks"] == []
    trunk = create_trunk(api)
    assert_error(subports(api, trunk["id"], "add_subports", [missing]), 404, "PortNotFound")


def test_create_subport_nonexistent_trunk(api: httpx.Client) -> None:
    """Mirrors test_trunk_negative.TrunkTestJSON.test_create_subport_nonexistent_trunk."""
    response = subports(api, MISSING, "add_subports", [vlan(port_of(api), 2)])
    assert_error(response, 404, "TrunkNotFound")


@pytest.mark.parametrize(
    ("subport", "reason"),
    [
        ({"port_id": MISSING, "segmentation_type": "vlan"}, "missing segmentation information"),
        ({"port_id": MISSING, "segmentation_id": 3}, "missing segmentation information"),
        ({"segmentation_type": "vlan", "segmentation_id": 3}, "A valid port UUID"),
        ({"port_id": "abc", "segmentation_type": "vlan", "segmentation_id": 3}, "Invalid UUID"),
    ],
)
def test_create_trunk_with_subport_missing_details(
    api: httpx.Client, subport: dict[str, Any], reason: str
) -> None:
    """Mirrors test_trunk_negative.TrunkTestJSON.test_create_trunk_with_subport_missing_
    segmentation_id, _missing_segmentation_type and _missing_port_id: 400 as the reference
    words it (``Invalid input for sub_ports``), before the ports are looked at."""
    parent = port_of(api)
    response = post_trunk(api, port_id=parent["id"], sub_ports=[subport])
    assert_error(response, 400)
    assert response.json()["NeutronError"]["message"].startswith("Invalid input for sub_ports.")
    assert reason in response.json()["NeutronError"]["message"]


def test_create_subport_missing_segmentation_id(api: httpx.Client) -> None:
    """Mirrors test_trunk_negative.TrunkTestJSON.test_create_subport_missing_segmentation_id."""
    trunk = create_trunk(api)
    sent = {"port_id": port_of(api)["id"], "segmentation_type": "vlan"}
    response = subports(api, trunk["id"], "add_subports", [sent])
    assert_error(response, 400, "InvalidInput")
    assert show(api, trunk["id"])["sub_ports"] == []


def test_create_trunk_duplicate_subport_segmentation_ids(api: httpx.Client) -> None:
    """Mirrors test_trunk_negative.TrunkTestJSON.test_create_trunk_duplicate_subport_
    segmentation_ids: the tempest test names a trunk's id as the parent; the subports are
    refused first (400), as by Neutron's API layer."""
    trunk = create_trunk(api)
    sent = [vlan(port_of(api), 2), vlan(port_of(api), 2)]
    response = post_trunk(api, port_id=trunk["id"], sub_ports=sent)
    assert_error(response, 400)
    assert "is not unique" in response.json()["NeutronError"]["message"]


@pytest.mark.parametrize(
    ("number", "kind", "message"),
    [
        (0, "vlan", "Segmentation ID '0' is not in range"),
        (4095, "vlan", "Segmentation ID '4095' is not in range"),
        ("x", "vlan", "Invalid subport details: segmentation_id 'x' is not an integer"),
        (10, "vxlan", "Unknown segmentation_type 'vxlan'"),
    ],
)
def test_segmentation_out_of_bounds(
    api: httpx.Client, number: Any, kind: str, message: str
) -> None:
    """As the reference Neutron: VLAN ids 1-4094, ``vlan`` the only type (400)."""
    trunk = create_trunk(api)
    sent = {"port_id": port_of(api)["id"], "segmentation_type": kind, "segmentation_id": number}
    response = subports(api, trunk["id"], "add_subports", [sent])
    assert_error(response, 400, "InvalidInput")
    assert response.json()["NeutronError"]["message"] == f"Invalid input for operation: {message}."


def test_add_subport_port_id_uses_parent_port_id(api: httpx.Client) -> None:
    """Mirrors test_trunk_negative.TrunkTestJSON.test_add_subport_port_id_uses_parent_port_id."""
    trunk = create_trunk(api)
    parent = {"port_id": trunk["port_id"], "segmentation_type": "vlan", "segmentation_id": 2}
    response = subports(api, trunk["id"], "add_subports", [parent])
    assert_error(response, 409, "ParentPortInUse")


def test_a_port_is_in_one_trunk_only(api: httpx.Client) -> None:
    """As the reference Neutron: a subport cannot be added twice nor be a parent (409
    ``TrunkPortInUse``), a parent cannot parent a second trunk nor be another's subport (409
    ``ParentPortInUse``)."""
    subport = port_of(api)
    trunk = create_trunk(api, sub_ports=[vlan(subport, 2)])
    other = create_trunk(api)
    again = subports(api, other["id"], "add_subports", [vlan(subport, 3)])
    assert_error(again, 409, "TrunkPortInUse")
    assert_error(post_trunk(api, port_id=subport["id"]), 409, "TrunkPortInUse")
    assert_error(post_trunk(api, port_id=trunk["port_id"]), 409, "ParentPortInUse")
    parent = {"port_id": trunk["port_id"], "segmentation_type": "vlan", "segmentation_id": 3}
    assert_error(subports(api, other["id"], "add_subports", [parent]), 409, "ParentPortInUse")


def test_a_port_with_a_device_is_no_subport(api: httpx.Client) -> None:
    """As Neutron's ``check_not_in_use``: 409 ``PortInUse``."""
    trunk = create_trunk(api)
    network = create_network(api)
    busy = create_port(api, network["id"], device_id="vm-1")
    response = subports(api, trunk["id"], "add_subports", [vlan(busy, 2)], headers={})
    assert_error(response, 409, "PortInUse")


@pytest.mark.parametrize("action", ["add_subports", "remove_subports", "delete"])
def test_a_disabled_trunk_takes_no_change(api: httpx.Client, action: str) -> None:
    """Mirrors test_trunk_negative.TrunkTestJSON.test_add_subport_port_id_disabled_trunk,
    test_remove_subport_port_id_disabled_trunk and test_delete_trunk_disabled_trunk: 409
    ``TrunkDisabled``; enabled again, it does."""
    subport = port_of(api)
    trunk = create_trunk(api, admin_state_up=False)
    if action == "delete":
        response = api.delete(f"/trunks/{trunk['id']}", headers=A)
    else:
        response = subports(api, trunk["id"], action, [vlan(subport, 2)])
    assert_error(response, 409, "TrunkDisabled")
    enable = api.put(f"/trunks/{trunk['id']}", json={"trunk": {"admin_state_up": True}}, headers=A)
    assert enable.status_code == 200, enable.text
    assert subports(api, trunk["id"], "add_subports", [vlan(subport, 2)]).status_code == 200


def test_add_subport_duplicate_segmentation_details(api: httpx.Client) -> None:
    """Mirrors test_trunk_negative.TrunkTestJSON.test_add_subport_duplicate_segmentation_details."""
    trunk = create_trunk(api)
    first, second = port_of(api), port_of(api)
    assert subports(api, trunk["id"], "add_subports", [vlan(first, 2)]).status_code == 200
    response = subports(api, trunk["id"], "add_subports", [vlan(second, 2)])
    assert_error(response, 409, "DuplicateSubPort")
    assert show(api, trunk["id"])["sub_ports"] == [vlan(first, 2)]


@pytest.mark.parametrize("action", ["add_subports", "remove_subports"])
def test_subports_passing_dict(api: httpx.Client, action: str) -> None:
    """Mirrors test_trunk_negative.TrunkTestJSON.test_add_subport_passing_dict and
    test_remove_subport_passing_dict: 400, not a list."""
    subport = port_of(api)
    trunk = create_trunk(api, sub_ports=[vlan(subport, 2)])
    response = subports(api, trunk["id"], action, vlan(subport, 2))
    assert_error(response, 400, "InvalidInput")
    assert "is not a list" in response.json()["NeutronError"]["message"]


def test_remove_subport_not_found(api: httpx.Client) -> None:
    """Mirrors test_trunk_negative.TrunkTestJSON.test_remove_subport_not_found."""
    trunk = create_trunk(api)
    response = subports(api, trunk["id"], "remove_subports", [vlan(port_of(api), 2)])
    assert_error(response, 404, "SubPortNotFound")


def test_delete_port_in_use_by_trunk(api: httpx.Client) -> None:
    """Mirrors test_trunk_negative.TrunkTestJSON.test_delete_port_in_use_by_trunk and
    test_delete_port_in_use_by_subport: 409, the port stays."""
    subport = port_of(api)
    trunk = create_trunk(api, sub_ports=[vlan(subport, 2)])
    parent = api.delete(f"/ports/{trunk['port_id']}", headers=A)
    assert_error(parent, 409, "PortInUseAsTrunkParent")
    assert trunk["id"] in parent.json()["NeutronError"]["message"]
    assert_error(api.delete(f"/ports/{subport['id']}", headers=A), 409, "PortInUseAsSubPort")
    assert api.get(f"/ports/{subport['id']}", headers=A).status_code == 200


# --- policy -----------------------------------------------------------------------------------


def test_another_projects_trunk_is_not_found(api: httpx.Client) -> None:
    """As the reference Neutron: another project's trunk is 404 ``TrunkNotFound`` to every
    operation, and not listed."""
    trunk = create_trunk(api)
    url = f"/trunks/{trunk['id']}"
    for response in (
        api.get(url, headers=B),
        api.put(url, json={"trunk": {"name": "mine"}}, headers=B),
        api.delete(url, headers=B),
        api.get(f"{url}/get_subports", headers=B),
        subports(api, trunk["id"], "add_subports", [], headers=B),
    ):
        assert_error(response, 404, "TrunkNotFound")
    assert trunk["id"] not in {t["id"] for t in api.get("/trunks", headers=B).json()["trunks"]}
    assert show(api, trunk["id"]) == trunk


def test_another_projects_port_is_no_parent_and_no_subport(api: httpx.Client) -> None:
    """The attack: project B trunks A's port, or takes A's port as a subport of its own trunk.
    Both are 404 ``PortNotFound`` (B cannot see A's ports) and leave A's port free; an admin
    may put any project's port in a trunk, as in Neutron."""
    theirs = port_of(api, A)
    assert_error(post_trunk(api, B, port_id=theirs["id"]), 404, "PortNotFound")
    own = post_trunk(api, B, port_id=port_of(api, B)["id"])
    assert own.status_code == 201, own.text
    trunk_id = own.json()["trunk"]["id"]
    stolen = subports(api, trunk_id, "add_subports", [vlan(theirs, 2)], B)
    assert_error(stolen, 404, "PortNotFound")
    assert show(api, trunk_id, B)["sub_ports"] == []
    assert api.delete(f"/ports/{theirs['id']}", headers=A).status_code == 204
    other = port_of(api, A)
    by_admin = subports(api, trunk_id, "add_subports", [vlan(other, 2)], headers={})
    assert by_admin.status_code == 200, by_admin.text


def test_trunk_status_follows_the_parents_host(api: httpx.Client) -> None:
    """DOWN while the parent is unbound or its host has not programmed it (no agent here)."""
    ensure_nodes(api, "trunk-host")
    parent = port_of(api)
    bound = api.put(f"/ports/{parent['id']}", json={"port": {"binding:host_id": "trunk-host"}})
    assert bound.status_code == 200, bound.text
    trunk = create_trunk(api, parent)
    assert trunk["status"] == "DOWN"
    listed = api.get("/trunks", params={"status": "DOWN", "id": trunk["id"]}, headers=A)
    assert [t["id"] for t in listed.json()["trunks"]] == [trunk["id"]]
    listed = api.get("/trunks", params={"status": "ACTIVE", "id": trunk["id"]}, headers=A)
    assert listed.json()["trunks"] == []


# --- the subports' ports ride on the parent ----------------------------------------------------


def test_subports_are_bound_where_the_parent_is_and_follow_it(api: httpx.Client) -> None:
    """As Neutron's trunk drivers bind them: a subport's port is bound to the parent's host,
    owned by ``trunk:subport``, its ``binding:profile`` naming the parent and VLAN (what the
    goal state carries to the host); it follows the parent's binding, and is unbound when it
    leaves the trunk (the rest of its profile kept)."""
    ensure_nodes(api, "trunk-h1", "trunk-h2")
    parent, subport = port_of(api), port_of(api)
    kept = {"binding:profile": {"keep": "me"}}
    assert api.put(f"/ports/{subport['id']}", json={"port": kept}).status_code == 200
    bind = {"port": {"binding:host_id": "trunk-h1"}}
    assert api.put(f"/ports/{parent['id']}", json=bind).status_code == 200
    trunk = create_trunk(api, parent, sub_ports=[vlan(subport, 7)])
    shown = api.get(f"/ports/{subport['id']}").json()["port"]
    assert shown["binding:host_id"] == "trunk-h1"
    assert shown["device_owner"] == "trunk:subport"
    assert shown["binding:profile"] == {"keep": "me", "parent_name": parent["id"], "tag": 7}
    # a member sees no binding of it, as of any port
    assert "binding:profile" not in api.get(f"/ports/{subport['id']}", headers=A).json()["port"]

    moved = {"port": {"binding:host_id": "trunk-h2"}}
    assert api.put(f"/ports/{parent['id']}", json=moved).status_code == 200
    assert api.get(f"/ports/{subport['id']}").json()["port"]["binding:host_id"] == "trunk-h2"

    response = subports(api, trunk["id"], "remove_subports", [{"port_id": subport["id"]}])
    assert response.status_code == 200, response.text
    shown = api.get(f"/ports/{subport['id']}").json()["port"]
    assert (shown["binding:host_id"], shown["device_owner"]) == ("", "")
    assert shown["binding:profile"] == {"keep": "me"}
