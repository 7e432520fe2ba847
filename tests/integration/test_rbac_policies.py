"""RBAC policies (``/v2.0/rbac-policies``) over real HTTP, each test mirroring the tempest or
neutron-tempest-plugin test it names: who may make, see and change a policy, what a policy
lets its target see and use, and what keeps a policy from going while it is needed. Statuses,
error types and messages are those of the reference Neutron (28.0.2, ``AUTH=headers``).

Projects are fresh UUIDs (hex) per test, as Keystone's are: a policy's target must look like
one (or be ``*``)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from keystoneauth1 import noauth, session
from openstack import exceptions
from openstack.connection import Connection

from tests.integration.neutron import assert_error
from tests.servers import ServerProcess

ADMIN = {"X-Project-Id": "admin", "X-User-Id": "admin", "X-Roles": "admin,member,reader"}


def project() -> str:
    return uuid.uuid4().hex


def member(project_id: str) -> dict[str, str]:
    return {"X-Project-Id": project_id, "X-User-Id": f"u-{project_id}", "X-Roles": "member"}


def made(response: httpx.Response, key: str) -> Any:
    assert response.status_code == 201, response.text
    return response.json()[key]


def network(api: httpx.Client, headers: dict[str, str], **attributes: Any) -> Any:
    return made(api.post("/networks", json={"network": attributes}, headers=headers), "network")


def subnet(api: httpx.Client, headers: dict[str, str], network_id: str, cidr: str) -> Any:
    body = {"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": 4}}
    return made(api.post("/subnets", json=body, headers=headers), "subnet")


def post_policy(
    api: httpx.Client,
    headers: dict[str, str],
    object_id: str,
    target: str,
    action: str = "access_as_shared",
    object_type: str = "network",
) -> httpx.Response:
    """``POST /rbac-policies``: share (or ``action``) object ``object_id`` with ``target``."""
    body = {
        "rbac_policy": {
            "object_type": object_type,
            "object_id": object_id,
            "action": action,
            "target_tenant": target,
        }
    }
    return api.post("/rbac-policies", json=body, headers=headers)


def policy(
    api: httpx.Client, headers: dict[str, str], object_id: str, target: str, **kw: Any
) -> Any:
    return made(post_policy(api, headers, object_id, target, **kw), "rbac_policy")


def shared_to(api: httpx.Client, target: str) -> dict[str, Any]:
    """An admin's network and subnet, shared with ``target`` (the plugin's
    ``_make_admin_net_and_subnet_shared_to_tenant_id``)."""
    net = network(api, ADMIN)
    sub = subnet(api, ADMIN, net["id"], "10.77.0.0/24")
    return {"network": net, "subnet": sub, "policy": policy(api, ADMIN, net["id"], target)}


def ids(response: httpx.Response, key: str) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()[key]}


def test_policy_body_is_neutrons(api: httpx.Client) -> None:
    """The keys and their order as the reference Neutron answers (no ``target_project``)."""
    p1 = project()
    net = network(api, member(p1))
    target = project()
    created = policy(api, member(p1), net["id"], target)
    assert list(created) == [
        "id",
        "project_id",
        "action",
        "object_id",
        "target_tenant",
        "object_type",
        "tenant_id",
    ]
    assert created["project_id"] == created["tenant_id"] == p1
    assert (created["object_id"], created["target_tenant"]) == (net["id"], target)
    assert (created["object_type"], created["action"]) == ("network", "access_as_shared")


def test_network_only_visible_to_policy_target(api: httpx.Client) -> None:
    """Mirrors neutron_tempest_plugin RBACSharedNetworksTest
    test_network_only_visible_to_policy_target and
    test_subnet_on_network_only_visible_to_policy_target: shown and listed to the target, a
    404 (and absent from lists) for another project."""
    p1, p2 = project(), project()
    res = shared_to(api, p1)
    net, sub = res["network"]["id"], res["subnet"]["id"]
    shown = api.get(f"/networks/{net}", headers=member(p1))
    assert shown.status_code == 200
    assert shown.json()["network"]["shared"] is True
    assert api.get(f"/subnets/{sub}", headers=member(p1)).status_code == 200
    assert net in ids(api.get("/networks", headers=member(p1)), "networks")
    assert sub in ids(api.get("/subnets", headers=member(p1)), "subnets")
    assert_error(api.get(f"/networks/{net}", headers=member(p2)), 404, "NetworkNotFound")
    assert_error(api.get(f"/subnets/{sub}", headers=member(p2)), 404, "SubnetNotFound")
    assert net not in ids(api.get("/networks", headers=member(p2)), "networks")
    assert sub not in ids(api.get("/subnets", headers=member(p2)), "subnets")
    # the admin that owns it sees it, and not as shared with its own project
    assert api.get(f"/networks/{net}", headers=ADMIN).json()["network"]["shared"] is False


def test_policy_target_update(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_policy_target_update: only the target changes, and
    the access moves with it."""
    p1, p2 = project(), project()
    res = shared_to(api, p1)
    url = f"/rbac-policies/{res['policy']['id']}"
    response = api.put(url, json={"rbac_policy": {"target_tenant": p2}}, headers=ADMIN)
    assert response.status_code == 200, response.text
    updated = response.json()["rbac_policy"]
    assert updated == {**res["policy"], "target_tenant": p2}
    net = res["network"]["id"]
    assert api.get(f"/networks/{net}", headers=member(p2)).status_code == 200
    assert api.get(f"/networks/{net}", headers=member(p1)).status_code == 404


def test_duplicate_policy_error(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_duplicate_policy_error."""
    p1 = project()
    res = shared_to(api, p1)
    assert_error(post_policy(api, ADMIN, res["network"]["id"], p1), 409, "DuplicateRbacPolicy")


def test_port_presence_prevents_network_rbac_policy_deletion(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_port_presence_prevents_network_rbac_policy_deletion:
    the target's port holds the policy (409 RbacPolicyInUse, Neutron's message), and the
    policy may go once the port went."""
    p1 = project()
    res = shared_to(api, p1)
    body = {"port": {"network_id": res["network"]["id"]}}
    port = made(api.post("/ports", json=body, headers=member(p1)), "port")
    url = f"/rbac-policies/{res['policy']['id']}"
    refused = api.delete(url, headers=ADMIN)
    assert_error(refused, 409, "RbacPolicyInUse")
    assert refused.json()["NeutronError"]["message"] == (
        f"RBAC policy on object {res['network']['id']} cannot be removed because other objects "
        f"depend on it.\nDetails: Unable to reconfigure sharing settings for network "
        f"{res['network']['id']}. Multiple projects are using it."
    )
    moved = api.put(url, json={"rbac_policy": {"target_tenant": project()}}, headers=ADMIN)
    assert_error(moved, 409, "RbacPolicyInUse")
    assert api.delete(f"/ports/{port['id']}", headers=member(p1)).status_code == 204
    assert api.delete(url, headers=ADMIN).status_code == 204
    assert api.get(f"/networks/{res['network']['id']}", headers=member(p1)).status_code == 404


def test_self_share_rule_goes_and_moves_with_the_owners_ports(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_delete_self_share_rule and
    test_update_self_share_rule: a policy to the network's own project holds nothing."""
    p1, p2 = project(), project()
    net = network(api, member(p1))
    own = policy(api, member(p1), net["id"], p1)
    port = made(
        api.post("/ports", json={"port": {"network_id": net["id"]}}, headers=member(p1)), "port"
    )
    url = f"/rbac-policies/{own['id']}"
    moved = api.put(url, json={"rbac_policy": {"target_tenant": p2}}, headers=member(p1))
    assert moved.status_code == 200, moved.text
    assert api.delete(url, headers=member(p1)).status_code == 204
    assert api.delete(f"/ports/{port['id']}", headers=member(p1)).status_code == 204


def test_tenant_can_delete_port_on_own_network(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_tenant_can_delete_port_on_own_network: the owner of
    a network sees (show, list) and deletes another project's port on it, but may not change
    it (Neutron: 403 on update)."""
    p1, p2 = project(), project()
    net = network(api, member(p1))
    policy(api, member(p1), net["id"], p2)
    body = {"port": {"network_id": net["id"]}}
    port = made(api.post("/ports", json=body, headers=member(p2)), "port")
    assert port["project_id"] == p2
    url = f"/ports/{port['id']}"
    assert api.get(url, headers=member(p1)).status_code == 200
    assert port["id"] in ids(api.get("/ports", headers=member(p1)), "ports")
    renamed = api.put(url, json={"port": {"name": "mine"}}, headers=member(p1))
    assert_error(renamed, 403)
    assert api.delete(url, headers=member(p1)).status_code == 204
    assert_error(api.get(url, headers=member(p2)), 404, "PortNotFound")


def test_tenant_cant_delete_other_tenants_ports(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_tenant_cant_delete_other_tenants_ports."""
    p1, p2 = project(), project()
    net = network(api, member(p1))
    port = made(
        api.post("/ports", json={"port": {"network_id": net["id"]}}, headers=member(p1)), "port"
    )
    assert_error(api.delete(f"/ports/{port['id']}", headers=member(p2)), 404, "PortNotFound")
    assert port["id"] not in ids(api.get("/ports", headers=member(p2)), "ports")


def test_regular_client_shares_to_another_regular_client(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_regular_client_shares_to_another_regular_client: the
    target sees the network, and the policy is its owner's only."""
    p1, p2 = project(), project()
    net = network(api, member(p1))
    assert_error(api.get(f"/networks/{net['id']}", headers=member(p2)), 404, "NetworkNotFound")
    pol = policy(api, member(p1), net["id"], p2)
    assert api.get(f"/networks/{net['id']}", headers=member(p2)).status_code == 200
    assert pol in api.get("/rbac-policies", headers=member(p1)).json()["rbac_policies"]
    assert pol["id"] not in ids(api.get("/rbac-policies", headers=member(p2)), "rbac_policies")
    url = f"/rbac-policies/{pol['id']}"
    for response in (
        api.get(url, headers=member(p2)),
        api.put(url, json={"rbac_policy": {"target_tenant": p2}}, headers=member(p2)),
        api.delete(url, headers=member(p2)),
    ):
        assert_error(response, 404, "RbacPolicyNotFound")
    assert api.get(url, headers=ADMIN).json()["rbac_policy"] == pol


def test_filter_fields_and_policies(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_filter_fields and test_filter_policies."""
    p1, p2 = project(), project()
    net = network(api, member(p1))
    pol1 = policy(api, member(p1), net["id"], p2)
    pol2 = policy(api, member(p1), net["id"], p1)
    for fields in (
        ("id",),
        ("id", "action"),
        ("object_type", "object_id"),
        ("tenant_id", "target_tenant"),
    ):
        listed = api.get(
            "/rbac-policies", params=[("fields", f) for f in fields], headers=member(p1)
        )
        assert {tuple(sorted(p)) for p in listed.json()["rbac_policies"]} == {tuple(sorted(fields))}
    for pol in (pol1, pol2):
        listed = api.get("/rbac-policies", params={"id": pol["id"]}, headers=member(p1))
        assert listed.json()["rbac_policies"] == [pol]
    by_target = api.get("/rbac-policies", params={"target_tenant": p2}, headers=member(p1))
    assert by_target.json()["rbac_policies"] == [pol1]
    unsorted = api.get("/rbac-policies", params={"sort_key": "target_tenant"}, headers=member(p1))
    assert_error(unsorted, 400)


def test_policy_show(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_policy_show."""
    res = shared_to(api, project())
    p2 = policy(api, ADMIN, res["network"]["id"], "*")
    for pol in (res["policy"], p2):
        assert api.get(f"/rbac-policies/{pol['id']}", headers=ADMIN).json()["rbac_policy"] == pol


def test_regular_client_blocked_from_sharing_anothers_network(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_regular_client_blocked_from_sharing_anothers_network
    (400, Neutron's InvalidInput), and a network the member cannot see at all."""
    p1 = project()
    net = shared_to(api, p1)["network"]
    refused = post_policy(api, member(p1), net["id"], p1)
    assert_error(refused, 400, "InvalidInput")
    assert refused.json()["NeutronError"]["message"] == (
        "Invalid input for operation: Only admins can manipulate policies on networks they do "
        "not own."
    )
    unseen = post_policy(api, member(project()), net["id"], p1)
    assert_error(unseen, 400, "InvalidInput")
    assert "could not be found" in unseen.json()["NeutronError"]["message"]


def test_regular_client_blocked_from_sharing_with_wildcard(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_regular_client_blocked_from_sharing_with_wildcard
    and ExternalNetworksRBACTestJSON
    test_regular_client_blocked_from_creating_external_wild_policies: 403 on create and on
    update."""
    p1 = project()
    net = network(api, member(p1))
    for action in ("access_as_shared", "access_as_external"):
        assert_error(
            post_policy(api, member(p1), net["id"], "*", action), 403, "PolicyNotAuthorized"
        )
    pol = policy(api, member(p1), net["id"], project())
    url = f"/rbac-policies/{pol['id']}"
    refused = api.put(url, json={"rbac_policy": {"target_tenant": "*"}}, headers=member(p1))
    assert_error(refused, 403, "PolicyNotAuthorized")
    assert refused.json()["NeutronError"]["message"] == (
        "(rule:update_rbac_policy and rule:update_rbac_policy:target_tenant) is disallowed by "
        "policy"
    )


@pytest.mark.parametrize(
    ("change", "error_type"),
    [
        ({"target_tenant": None}, None),
        ({"target_tenant": "1234" * 100}, None),
        ({"target_tenant": "not-a-project"}, "InvalidInput"),
        ({"object_type": "netw"}, "InvalidInput"),
        ({"action": "bogus"}, "InvalidActionForType"),
        ({"target_project": "*"}, None),
    ],
)
def test_create_rbac_policy_with_bad_values(
    api: httpx.Client, change: dict[str, Any], error_type: str | None
) -> None:
    """Mirrors RBACSharedNetworksTest test_create_rbac_policy_with_target_tenant_none and
    test_create_rbac_policy_with_target_tenant_too_long_id: 400, and nothing made."""
    net = network(api, ADMIN)
    body = {
        "object_type": "network",
        "object_id": net["id"],
        "action": "access_as_shared",
        "target_tenant": project(),
        **change,
    }
    assert_error(
        api.post("/rbac-policies", json={"rbac_policy": body}, headers=ADMIN), 400, error_type
    )
    listed = api.get("/rbac-policies", params={"object_id": net["id"]}, headers=ADMIN)
    assert listed.json()["rbac_policies"] == []


def test_object_type_is_normalized_as_neutron_does(api: httpx.Client) -> None:
    net = network(api, ADMIN)
    body = {
        "object_type": " Network ",
        "object_id": net["id"],
        "action": "access_as_shared",
        "target_tenant": project(),
    }
    assert (
        made(api.post("/rbac-policies", json={"rbac_policy": body}, headers=ADMIN), "rbac_policy")[
            "object_type"
        ]
        == "network"
    )


def test_rbac_policy_quota(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_rbac_policy_quota: beyond the project's
    ``rbac_policy`` quota a create is a 409 OverQuota."""
    owner = project()
    limit = {"quota": {"rbac_policy": 2}}
    assert api.put(f"/quotas/{owner}", json=limit, headers=ADMIN).status_code == 200
    net = network(api, member(owner))
    for _ in range(2):
        policy(api, member(owner), net["id"], project())
    assert_error(post_policy(api, member(owner), net["id"], project()), 409, "OverQuota")
    details = api.get(f"/quotas/{owner}/details", headers=ADMIN).json()["quota"]
    assert details["rbac_policy"] == {"limit": 2, "used": 2, "reserved": 0}


def test_rbac_bumps_network_revision(api: httpx.Client) -> None:
    """Mirrors RBACSharedNetworksTest test_rbac_bumps_network_revision."""
    p1 = project()
    net = shared_to(api, p1)["network"]
    before = api.get(f"/networks/{net['id']}", headers=member(p1)).json()["network"]
    policy(api, ADMIN, net["id"], "*")
    after = api.get(f"/networks/{net['id']}", headers=member(p1)).json()["network"]
    assert after["revision_number"] > before["revision_number"]


def test_shared_attribute_is_the_wildcard_policy(api: httpx.Client) -> None:
    """Mirrors SharedNetworksTest test_create_update_shared_network and
    test_create_bulk_shared_network and ExternalNetworksRBACTestJSON
    test_wildcard_policy_created_from_external_network_api:
    ``shared`` and ``router:external`` make and remove the ``*`` policies, owned by the
    network's project."""
    owner = project()
    nets = made(
        api.post(
            "/networks",
            json={"networks": [{"shared": True, "tenant_id": owner}] * 2},
            headers=ADMIN,
        ),
        "networks",
    )
    net = nets[0]
    assert all(n["shared"] for n in nets)
    listed = api.get("/rbac-policies", params={"object_id": net["id"]}, headers=ADMIN)
    [star] = listed.json()["rbac_policies"]
    assert (star["target_tenant"], star["action"], star["project_id"]) == (
        "*",
        "access_as_shared",
        owner,
    )
    # the owner sees the wildcard policy as its own
    assert star in api.get("/rbac-policies", headers=member(owner)).json()["rbac_policies"]
    url = f"/networks/{net['id']}"
    updated = api.put(
        url, json={"network": {"shared": False, "router:external": True}}, headers=ADMIN
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["network"]["shared"], updated.json()["network"]["router:external"]) == (
        False,
        True,
    )
    listed = api.get("/rbac-policies", params={"object_id": net["id"]}, headers=ADMIN)
    assert [(p["action"], p["target_tenant"]) for p in listed.json()["rbac_policies"]] == [
        ("access_as_external", "*")
    ]
    back = api.put(url, json={"network": {"router:external": False}}, headers=ADMIN)
    assert back.json()["network"]["router:external"] is False
    assert (
        api.get("/rbac-policies", params={"object_id": net["id"]}, headers=ADMIN).json()[
            "rbac_policies"
        ]
        == []
    )


def test_unsharing_a_network_in_use_by_another_project(api: httpx.Client) -> None:
    """``shared: false`` while another project has a port there and no policy of its own:
    409 InvalidSharedSetting, as in Neutron; with a policy of its own, fine."""
    p1 = project()
    net = network(api, ADMIN, shared=True, name="in-use")
    made(api.post("/ports", json={"port": {"network_id": net["id"]}}, headers=member(p1)), "port")
    url = f"/networks/{net['id']}"
    refused = api.put(url, json={"network": {"shared": False}}, headers=ADMIN)
    assert_error(refused, 409, "InvalidSharedSetting")
    assert refused.json()["NeutronError"]["message"] == (
        "Unable to reconfigure sharing settings for network in-use. Multiple projects are using it."
    )
    [star] = api.get("/rbac-policies", params={"object_id": net["id"]}, headers=ADMIN).json()[
        "rbac_policies"
    ]
    assert_error(api.delete(f"/rbac-policies/{star['id']}", headers=ADMIN), 409, "RbacPolicyInUse")
    policy(api, ADMIN, net["id"], p1)
    assert api.put(url, json={"network": {"shared": False}}, headers=ADMIN).status_code == 200
    assert api.get(url, headers=member(p1)).json()["network"]["shared"] is True


def test_filtering_shared_networks_and_subnets(api: httpx.Client) -> None:
    """Mirrors SharedNetworksTest test_filtering_shared_networks, test_filtering_shared_subnets
    and RBACSharedNetworksTest test_filtering_works_with_rbac_records_present: ``shared`` as
    the caller sees it, for networks and for the subnets on them, in SQL."""
    p1 = project()
    own = network(api, member(p1))
    own_sub = subnet(api, member(p1), own["id"], "10.78.0.0/24")
    res = shared_to(api, p1)
    star = network(api, ADMIN, shared=True)
    star_sub = subnet(api, ADMIN, star["id"], "10.79.0.0/24")
    for headers in (member(p1), ADMIN):
        for shared in (True, False):
            listed = api.get("/networks", params={"shared": shared}, headers=headers).json()[
                "networks"
            ]
            assert listed
            assert all(n["shared"] is shared for n in listed)
    shared_nets = ids(api.get("/networks", params={"shared": True}, headers=member(p1)), "networks")
    assert {res["network"]["id"], star["id"]} <= shared_nets
    assert own["id"] not in shared_nets
    admin_shared = ids(api.get("/networks", params={"shared": True}, headers=ADMIN), "networks")
    assert star["id"] in admin_shared
    assert res["network"]["id"] not in admin_shared
    subs = ids(api.get("/subnets", params={"shared": True}, headers=member(p1)), "subnets")
    assert {res["subnet"]["id"], star_sub["id"]} <= subs
    assert own_sub["id"] not in subs
    subs = ids(api.get("/subnets", params={"shared": False}, headers=member(p1)), "subnets")
    assert own_sub["id"] in subs
    assert not {res["subnet"]["id"], star_sub["id"]} & subs
    subs = ids(api.get("/subnets", params={"shared": False}, headers=ADMIN), "subnets")
    assert res["subnet"]["id"] in subs
    assert star_sub["id"] not in subs


def test_create_port_shared_network_as_non_admin_tenant(api: httpx.Client) -> None:
    """Mirrors SharedNetworksTest test_create_port_shared_network_as_non_admin_tenant, and a
    network shared with another project only: 403 as in Neutron."""
    p1, p2 = project(), project()
    res = shared_to(api, p1)
    body = {"port": {"network_id": res["network"]["id"]}}
    port = made(api.post("/ports", json=body, headers=member(p1)), "port")
    assert port["project_id"] == p1
    assert port["fixed_ips"][0]["subnet_id"] == res["subnet"]["id"]
    policy(api, ADMIN, res["network"]["id"], p2, action="access_as_external")
    assert_error(api.post("/ports", json=body, headers=member(p2)), 403)


# --- access_as_external ---------------------------------------------------------------------


def router(api: httpx.Client, headers: dict[str, str], network_id: str) -> httpx.Response:
    body = {"router": {"external_gateway_info": {"network_id": network_id}}}
    return api.post("/routers", json=body, headers=headers)


def external_net(api: httpx.Client, cidr: str = "172.31.0.0/24", **attributes: Any) -> Any:
    net = network(api, ADMIN, **attributes)
    body = {
        "subnet": {"network_id": net["id"], "cidr": cidr, "ip_version": 4, "enable_dhcp": False}
    }
    made(api.post("/subnets", json=body, headers=ADMIN), "subnet")
    return net


def test_regular_client_shares_with_another(api: httpx.Client) -> None:
    """Mirrors ExternalNetworksRBACTestJSON test_regular_client_shares_with_another: a member's
    ``access_as_external`` policy makes its network external for the target, which lists it and
    sets a router's gateway on it."""
    p1, p2 = project(), project()
    net = network(api, member(p1))  # no subnet, as in tempest: a gateway without addresses
    policy(api, member(p1), net["id"], p2, action="access_as_external")
    assert net["id"] in ids(api.get("/networks", headers=member(p2)), "networks")
    shown = api.get(f"/networks/{net['id']}", headers=member(p2)).json()["network"]
    assert (shown["router:external"], shown["shared"]) == (True, False)
    made(router(api, member(p2), net["id"]), "router")


def test_external_conversion_on_policy_create_and_delete(api: httpx.Client) -> None:
    """Mirrors ExternalNetworksRBACTestJSON test_external_conversion_on_policy_create,
    test_external_conversion_on_policy_delete, test_external_conversion_on_one_policy_delete
    and test_external_network_on_shared_policy_delete."""
    net = network(api, ADMIN)
    url = f"/networks/{net['id']}"
    star = policy(api, ADMIN, net["id"], "*", action="access_as_external")
    assert api.get(url, headers=ADMIN).json()["network"]["router:external"] is True
    assert api.delete(f"/rbac-policies/{star['id']}", headers=ADMIN).status_code == 204
    assert api.get(url, headers=ADMIN).json()["network"]["router:external"] is False
    policy(api, ADMIN, net["id"], project(), action="access_as_external")
    second = policy(api, ADMIN, net["id"], project(), action="access_as_external")
    assert api.delete(f"/rbac-policies/{second['id']}", headers=ADMIN).status_code == 204
    assert api.get(url, headers=ADMIN).json()["network"]["router:external"] is True
    shared = policy(api, ADMIN, net["id"], "*")
    assert api.delete(f"/rbac-policies/{shared['id']}", headers=ADMIN).status_code == 204
    assert api.get(url, headers=ADMIN).json()["network"]["router:external"] is True


def test_policy_allows_project_to_allocate_floatingip(api: httpx.Client) -> None:
    """Mirrors ExternalNetworksRBACTestJSON test_policy_allows_project_to_allocate_floatingip:
    a network external for another project is not found (404) until a policy targets one."""
    p2 = project()
    net = network(api, ADMIN)
    policy(api, ADMIN, net["id"], project(), action="access_as_external")
    body = {
        "subnet": {
            "network_id": net["id"],
            "cidr": "172.29.0.0/24",
            "ip_version": 4,
            "enable_dhcp": False,
        }
    }
    made(api.post("/subnets", json=body, headers=ADMIN), "subnet")
    fip = {"floatingip": {"floating_network_id": net["id"]}}
    assert_error(api.post("/floatingips", json=fip, headers=member(p2)), 404, "NetworkNotFound")
    policy(api, ADMIN, net["id"], p2, action="access_as_external")
    made(api.post("/floatingips", json=fip, headers=member(p2)), "floatingip")


def test_delete_policies_while_project_attached_to_net(api: httpx.Client) -> None:
    """Mirrors ExternalNetworksRBACTestJSON test_delete_policies_while_project_attached_to_net
    and test_policy_allows_project_to_attach_ext_gw."""
    p2 = project()
    net = external_net(api, "172.28.0.0/24")
    wildcard = policy(api, ADMIN, net["id"], "*", action="access_as_external")
    r = made(router(api, member(p2), net["id"]), "router")
    refused = api.delete(f"/rbac-policies/{wildcard['id']}", headers=ADMIN)
    assert_error(refused, 409, "RbacPolicyInUse")
    assert refused.json()["NeutronError"]["message"].endswith(
        "Details: There are routers attached to this network that depend on this policy for access."
    )
    own = policy(api, ADMIN, net["id"], p2, action="access_as_external")
    assert api.delete(f"/rbac-policies/{wildcard['id']}", headers=ADMIN).status_code == 204
    assert_error(api.delete(f"/rbac-policies/{own['id']}", headers=ADMIN), 409, "RbacPolicyInUse")
    wildcard = policy(api, ADMIN, net["id"], "*", action="access_as_external")
    assert api.delete(f"/rbac-policies/{own['id']}", headers=ADMIN).status_code == 204
    assert api.delete(f"/routers/{r['id']}", headers=ADMIN).status_code == 204
    assert api.delete(f"/rbac-policies/{wildcard['id']}", headers=ADMIN).status_code == 204
    assert_error(router(api, member(p2), net["id"]), 404, "NetworkNotFound")


def test_external_update_policy_from_wildcard_to_specific_project(api: httpx.Client) -> None:
    """Mirrors ExternalNetworksRBACTestJSON
    test_external_update_policy_from_wildcard_to_specific_project."""
    p2 = project()
    net = network(api, ADMIN, **{"router:external": True})
    [star] = api.get(
        "/rbac-policies",
        params={"object_id": net["id"], "action": "access_as_external", "target_tenant": "*"},
        headers=ADMIN,
    ).json()["rbac_policies"]
    made(router(api, member(p2), net["id"]), "router")
    url = f"/rbac-policies/{star['id']}"
    moved = api.put(url, json={"rbac_policy": {"target_tenant": p2}}, headers=ADMIN)
    assert moved.status_code == 200, moved.text
    assert api.get(f"/networks/{net['id']}", headers=member(project())).status_code == 404


def test_deleting_a_network_deletes_its_policies(api: httpx.Client) -> None:
    p1 = project()
    res = shared_to(api, p1)
    assert api.delete(f"/subnets/{res['subnet']['id']}", headers=ADMIN).status_code == 204
    assert api.delete(f"/networks/{res['network']['id']}", headers=ADMIN).status_code == 204
    gone = api.get(f"/rbac-policies/{res['policy']['id']}", headers=ADMIN)
    assert_error(gone, 404, "RbacPolicyNotFound")


def test_wildcard_policy_delete_blocked_on_default_ext(api: httpx.Client) -> None:
    """Mirrors ExternalNetworksRBACTestJSON test_wildcard_policy_delete_blocked_on_default_ext:
    the default external network keeps its ``*`` policy (409). ``is_default`` is an admin's
    to set, on one external network at a time (409 DefaultExternalNetworkExists), ignored on
    an internal one, and lost with ``router:external``."""
    owner = project()
    public = network(api, ADMIN, **{"router:external": True})
    url = f"/networks/{public['id']}"
    own = f"/networks/{network(api, member(owner))['id']}"
    refused = api.put(own, json={"network": {"is_default": True}}, headers=member(owner))
    assert_error(refused, 403, "PolicyNotAuthorized")
    made_default = api.put(url, json={"network": {"is_default": True}}, headers=ADMIN)
    assert made_default.status_code == 200, made_default.text
    assert made_default.json()["network"]["is_default"] is True
    try:
        other = network(api, ADMIN, **{"router:external": True})
        second = api.put(
            f"/networks/{other['id']}", json={"network": {"is_default": True}}, headers=ADMIN
        )
        assert_error(second, 409, "DefaultExternalNetworkExists")
        internal = network(api, ADMIN)
        ignored = api.put(
            f"/networks/{internal['id']}", json={"network": {"is_default": True}}, headers=ADMIN
        )
        assert ignored.json()["network"]["is_default"] is False
        [star] = api.get(
            "/rbac-policies",
            params={
                "object_id": public["id"],
                "action": "access_as_external",
                "target_tenant": "*",
            },
            headers=ADMIN,
        ).json()["rbac_policies"]
        blocked = api.delete(f"/rbac-policies/{star['id']}", headers=ADMIN)
        assert_error(blocked, 409, "RbacPolicyInUse")
        assert blocked.json()["NeutronError"]["message"].endswith(
            "Details: Default external networks must be shared to everyone."
        )
    finally:
        internal_now = api.put(url, json={"network": {"router:external": False}}, headers=ADMIN)
    assert internal_now.json()["network"]["is_default"] is False


def test_openstacksdk_shares_a_network_with_a_project(server: ServerProcess) -> None:
    """openstacksdk's ``rbac_policies`` proxy as a user would call it (``openstack network rbac
    create --target-project P --action access_as_shared --type network NET``)."""
    owner, target = project(), project()
    conns = {
        p: Connection(
            session=session.Session(
                auth=noauth.NoAuth(endpoint=server.url), additional_headers=member(p)
            )
        )
        for p in (owner, target)
    }
    try:
        net = conns[owner].network.create_network(name="sdk-shared")
        made_policy = conns[owner].network.create_rbac_policy(
            object_type="network",
            object_id=net.id,
            action="access_as_shared",
            target_project_id=target,
        )
        assert made_policy.target_project_id == target
        assert [p.id for p in conns[owner].network.rbac_policies()] == [made_policy.id]
        seen = conns[target].network.get_network(net.id)
        assert seen.is_shared
        conns[owner].network.delete_rbac_policy(made_policy.id)
        with pytest.raises(exceptions.NotFoundException):
            conns[target].network.get_network(net.id)
    finally:
        for conn in conns.values():
            conn.close()
