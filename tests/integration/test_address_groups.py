"""Address groups over real HTTP, as Neutron's ``address-group`` and
``security-groups-remote-address-group`` have them: CRUD, the ``add_addresses`` and
``remove_addresses`` actions with Neutron's errors, rules naming a group (exclusive of the other
remotes), a group in use, isolation between projects, and the change log the goal-state engine
follows. Each test mirrors the neutron-tempest-plugin test its docstring names."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.agents import Host, names, project_api, run, tls_of, until
from tests.integration.neutron import assert_error
from tests.servers import ServerProcess

ADDRESSES = ["10.10.10.3/32", "192.168.0.10/24", "2001:db8::f00/64"]
EXPECTED = ["10.10.10.3/32", "192.168.0.0/24", "2001:db8::/64"]


@pytest.fixture
def project() -> dict[str, str]:
    return {"X-Project-Id": f"ag-{uuid.uuid4().hex[:8]}", "X-Roles": "member"}


def post_group(api: httpx.Client, headers: dict[str, str], **attributes: Any) -> httpx.Response:
    return api.post("/address-groups", json={"address_group": attributes}, headers=headers)


def create_group(api: httpx.Client, headers: dict[str, str], **attributes: Any) -> dict[str, Any]:
    response = post_group(api, headers, **attributes)
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()["address_group"]
    return group


def show(api: httpx.Client, headers: dict[str, str], group_id: str) -> dict[str, Any]:
    response = api.get(f"/address-groups/{group_id}", headers=headers)
    assert response.status_code == 200, response.text
    group: dict[str, Any] = response.json()["address_group"]
    return group


def act(
    api: httpx.Client, headers: dict[str, str], group_id: str, action: str, addresses: list[Any]
) -> httpx.Response:
    return api.put(
        f"/address-groups/{group_id}/{action}", json={"addresses": addresses}, headers=headers
    )


def test_address_group_lifecycle(api: httpx.Client, project: dict[str, str]) -> None:
    """Mirrors neutron-tempest-plugin test_address_groups.AddressGroupTest
    .test_address_group_lifecycle."""
    group = create_group(
        api, project, name="office", description="Test AG description", addresses=ADDRESSES
    )
    assert list(group) == [
        "id",
        "name",
        "project_id",
        "addresses",
        "revision_number",
        "description",
        "created_at",
        "updated_at",
        "tenant_id",
    ]  # the reference Neutron's keys, in its order
    assert sorted(group["addresses"]) == sorted(EXPECTED)
    assert group["project_id"] == group["tenant_id"] == project["X-Project-Id"]
    url = f"/address-groups/{group['id']}"
    updated = api.put(url, json={"address_group": {"description": "New"}}, headers=project)
    assert updated.status_code == 200, updated.text
    assert (
        updated.json()["address_group"]["description"],
        updated.json()["address_group"]["name"],
    ) == ("New", "office")
    assert sorted(updated.json()["address_group"]["addresses"]) == sorted(EXPECTED)
    listed = api.get("/address-groups", params={"name": "office"}, headers=project).json()
    assert [g["id"] for g in listed["address_groups"]] == [group["id"]]
    assert api.delete(url, headers=project).status_code == 204
    assert_error(api.get(url, headers=project), 404, "AddressGroupNotFound")


def test_a_group_without_addresses_has_none(api: httpx.Client, project: dict[str, str]) -> None:
    assert create_group(api, project, name="empty")["addresses"] == []
    assert create_group(api, project, name="null", addresses=None)["addresses"] == []


@pytest.mark.parametrize(
    "addresses", [["10.20.30.40"], ["this is bad IP address"], ["10.0.0.0/8", "10.0.0.0/8"]]
)
def test_address_group_create_with_wrong_address(
    api: httpx.Client, project: dict[str, str], addresses: list[str]
) -> None:
    """Mirrors neutron-tempest-plugin test_address_groups.AddressGroupTest
    .test_address_group_create_with_wrong_address: a CIDR each (a length is required), no
    duplicates; nothing is made."""
    assert_error(post_group(api, project, name="bad", addresses=addresses), 400)
    assert api.get("/address-groups", headers=project).json()["address_groups"] == []


def test_edit_addresses_in_address_group(api: httpx.Client, project: dict[str, str]) -> None:
    """Mirrors neutron-tempest-plugin test_address_groups.AddressGroupTest
    .test_edit_addresses_in_address_group."""
    group = create_group(api, project, name="edited", addresses=ADDRESSES)
    added = act(api, project, group["id"], "add_addresses", ["10.20.30.40/32", "10.9.9.9"])
    assert added.status_code == 200, added.text
    body = added.json()["address_group"]  # the group, wrapped, as Neutron answers
    assert sorted(body["addresses"]) == sorted([*EXPECTED, "10.20.30.40/32", "10.9.9.9/32"])
    assert body["revision_number"] == group["revision_number"] + 1
    removed = act(api, project, group["id"], "remove_addresses", ["10.10.10.3/32", "10.9.9.9"])
    assert removed.status_code == 200, removed.text
    assert sorted(show(api, project, group["id"])["addresses"]) == sorted(
        ["192.168.0.0/24", "2001:db8::/64", "10.20.30.40/32"]
    )


def test_add_wrong_address_to_address_group(api: httpx.Client, project: dict[str, str]) -> None:
    """Mirrors neutron-tempest-plugin test_address_groups.AddressGroupTest
    .test_add_wrong_address_to_address_group; adding an address the group has is Neutron's
    400 AddressesAlreadyExist. Either leaves the group as it was."""
    group = create_group(api, project, name="kept", addresses=ADDRESSES)
    refused = act(api, project, group["id"], "add_addresses", ["this is bad IP address"])
    assert_error(refused, 400)
    held = act(api, project, group["id"], "add_addresses", ["10.1.1.1/32", "192.168.0.7/24"])
    assert_error(held, 400, "AddressesAlreadyExist")
    assert show(api, project, group["id"]) == group


def test_remove_wrong_address_from_address_group(
    api: httpx.Client, project: dict[str, str]
) -> None:
    """Mirrors neutron-tempest-plugin test_address_groups.AddressGroupTest
    .test_remove_wrong_address_from_address_group."""
    group = create_group(api, project, name="kept", addresses=ADDRESSES)
    missing = act(api, project, group["id"], "remove_addresses", ["10.200.200.200"])
    assert_error(missing, 404, "AddressesNotFound")
    assert "10.200.200.200/32" in missing.json()["NeutronError"]["message"]
    bad = act(api, project, group["id"], "remove_addresses", ["this is bad IP address"])
    assert_error(bad, 400)
    assert show(api, project, group["id"]) == group


def test_addresses_change_only_by_the_actions(api: httpx.Client, project: dict[str, str]) -> None:
    group = create_group(api, project, name="fixed", addresses=ADDRESSES)
    url = f"/address-groups/{group['id']}"
    refused = api.put(url, json={"address_group": {"addresses": []}}, headers=project)
    assert_error(refused, 400)
    assert (
        refused.json()["NeutronError"]["message"] == "Cannot update read-only attribute addresses"
    )
    assert show(api, project, group["id"]) == group
    assert_error(act(api, project, str(uuid.uuid4()), "add_addresses", ["10.0.0.0/8"]), 404)


def test_projects_see_and_change_only_their_own_groups(
    api: httpx.Client, project: dict[str, str]
) -> None:
    group = create_group(api, project, name="mine", addresses=["10.0.0.0/8"])
    other = {"X-Project-Id": f"ag-{uuid.uuid4().hex[:8]}", "X-Roles": "member"}
    url = f"/address-groups/{group['id']}"
    assert_error(api.get(url, headers=other), 404, "AddressGroupNotFound")
    assert api.get("/address-groups", headers=other).json()["address_groups"] == []
    assert_error(act(api, other, group["id"], "add_addresses", ["10.1.0.0/16"]), 404)
    assert_error(api.delete(url, headers=other), 404)
    assert_error(post_group(api, project, name="theirs", project_id="someone-else"), 400)
    assert api.get(url).status_code == 200  # an admin sees every project's


# --- rules naming address groups -----------------------------------------------------------


def create_security_group(api: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    body = {"security_group": {"name": "sg"}}
    response = api.post("/security-groups", json=body, headers=headers)
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()["security_group"]
    return group


def post_rule(
    api: httpx.Client, headers: dict[str, str], group_id: str, **attributes: Any
) -> httpx.Response:
    body = {"security_group_rule": {"security_group_id": group_id, "direction": "ingress"}}
    body["security_group_rule"].update(attributes)
    return api.post("/security-group-rules", json=body, headers=headers)


def test_a_rule_names_an_address_group_and_keeps_it_in_use(
    api: httpx.Client, project: dict[str, str]
) -> None:
    """A rule's ``remote_address_group_id`` (as neutron-tempest-plugin's
    RbacSharedAddressGroupTest makes one): shown, filtered on, and the group cannot be deleted
    while a rule names it (409 AddressGroupInUse)."""
    address_group = create_group(api, project, name="office", addresses=["192.0.2.0/24"])
    group = create_security_group(api, project)
    made = post_rule(api, project, group["id"], protocol="tcp",
                     remote_address_group_id=address_group["id"])  # fmt: skip
    assert made.status_code == 201, made.text
    rule = made.json()["security_group_rule"]
    assert rule["remote_address_group_id"] == address_group["id"]
    assert (rule["remote_ip_prefix"], rule["remote_group_id"], rule["normalized_cidr"]) == (
        None,
        None,
        None,
    )
    found = api.get(
        "/security-group-rules",
        params={"remote_address_group_id": address_group["id"]},
        headers=project,
    ).json()["security_group_rules"]
    assert [r["id"] for r in found] == [rule["id"]]
    again = post_rule(api, project, group["id"], protocol="tcp",
                      remote_address_group_id=address_group["id"])  # fmt: skip
    assert_error(again, 409, "SecurityGroupRuleExists")
    url = f"/address-groups/{address_group['id']}"
    assert_error(api.delete(url, headers=project), 409, "AddressGroupInUse")
    assert api.delete(f"/security-group-rules/{rule['id']}", headers=project).status_code == 204
    assert api.delete(url, headers=project).status_code == 204


@pytest.mark.parametrize(
    "other", [{"remote_ip_prefix": "10.0.0.0/8"}, {"remote_group_id": "GROUP"}]
)
def test_a_rule_has_one_remote_only(
    api: httpx.Client, project: dict[str, str], other: dict[str, str]
) -> None:
    address_group = create_group(api, project, name="office", addresses=["192.0.2.0/24"])
    group = create_security_group(api, project)
    other = {key: group["id"] if value == "GROUP" else value for key, value in other.items()}
    refused = post_rule(api, project, group["id"], remote_address_group_id=address_group["id"],
                        **other)  # fmt: skip
    assert_error(refused, 400, "SecurityGroupMultipleRemoteEntites")


def test_a_rule_names_only_an_address_group_its_project_sees(
    api: httpx.Client, project: dict[str, str]
) -> None:
    theirs = create_group(
        api, {"X-Project-Id": "someone-else", "X-Roles": "member"}, addresses=["10.0.0.0/8"]
    )
    group = create_security_group(api, project)
    refused = post_rule(api, project, group["id"], remote_address_group_id=theirs["id"])
    assert_error(refused, 404, "AddressGroupNotFound")


def test_address_group_changes_land_in_the_change_log(
    api: httpx.Client, server: ServerProcess, project: dict[str, str]
) -> None:
    group = create_group(api, project, name="logged", addresses=["10.0.0.0/8"])
    act(api, project, group["id"], "add_addresses", ["10.1.0.0/16"])
    api.delete(f"/address-groups/{group['id']}", headers=project)
    rows = server.query(
        "SELECT resource_type, operation FROM change_log WHERE resource_id = :id ORDER BY revision",
        id=group["id"],
    )
    assert [tuple(row) for row in rows] == [
        ("address_group", "create"),
        ("address_group", "update"),
        ("address_group", "delete"),
    ]


def test_extensions_are_listed(api: httpx.Client) -> None:
    aliases = {e["alias"] for e in api.get("/extensions").json()["extensions"]}
    assert {"address-group", "security-groups-remote-address-group"} <= aliases
    links = {r["collection"]: r["links"][0]["href"] for r in api.get("").json()["resources"]}
    assert links["address_groups"].endswith("/v2.0/address-groups")


# --- to the hosts ----------------------------------------------------------------------------


def test_an_address_group_reaches_the_hosts_whose_rules_name_it(server: ServerProcess) -> None:
    """Over real gRPC: the host holding a port whose group has a rule naming the address group
    gets the group's CIDRs, and every change of them; a host without such a rule does not."""

    async def scenario() -> None:
        async with project_api(server) as api:
            a, b = (Host(n, server.southbound, tls=tls_of(server, n)) for n in names("ag", 2))
            await api.nodes(a.id, b.id)
            hosts = [a.start(), b.start()]
            network = await api.network()
            await api.subnet(network, "10.71.0.0/24")
            body = {"address_group": {"name": "office", "addresses": ["192.0.2.0/24"]}}
            office = (await api.call("POST", "/address-groups", 201, body))["address_group"]
            made = await api.call("POST", "/security-groups", 201, {"security_group": {}})
            guarded = made["security_group"]
            await api.port(network, a.id, security_groups=[guarded["id"]])
            await api.port(network, b.id)
            rule = {"security_group_id": guarded["id"], "direction": "ingress",
                    "remote_address_group_id": office["id"]}  # fmt: skip
            await api.call("POST", "/security-group-rules", 201, {"security_group_rule": rule})
            await api.converged(*hosts)
            key = f"address_group:{office['id']}"
            assert key in a.held()
            assert key not in b.held()
            held = a.agent.state.get("address_group", office["id"])
            assert held is not None
            assert list(held.address_group.addresses) == ["192.0.2.0/24"]
            url = f"/address-groups/{office['id']}/add_addresses"
            await api.call("PUT", url, 200, {"addresses": ["198.51.100.7"]})

            def updated() -> bool:
                entry = a.agent.state.get("address_group", office["id"])
                return entry is not None and "198.51.100.7/32" in entry.address_group.addresses

            await until(updated, "the new address to reach the host")
            await api.converged(*hosts)
            for host in hosts:
                await host.close()

    run(scenario)
