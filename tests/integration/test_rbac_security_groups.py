"""Security groups shared by RBAC policies (``rbac-security-groups``) over real HTTP, each test
mirroring the neutron_tempest_plugin ``RbacSharedSecurityGroupTest`` test it names: the
target sees the group and its ports use it; a policy its ports need cannot go."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration import test_rbac_policies as rbac
from tests.integration.neutron import assert_error
from tests.integration.test_rbac_policies import ADMIN, ids, made, member, network, project


def group(api: httpx.Client, headers: dict[str, str]) -> Any:
    body = {"security_group": {"name": "shared-sg"}}
    return made(api.post("/security-groups", json=body, headers=headers), "security_group")


def post_policy(
    api: httpx.Client, headers: dict[str, str], group_id: str, target: str
) -> httpx.Response:
    return rbac.post_policy(api, headers, group_id, target, object_type="security_group")


def shared_to(api: httpx.Client, target: str) -> dict[str, Any]:
    sg = group(api, ADMIN)
    return {"group": sg, "policy": made(post_policy(api, ADMIN, sg["id"], target), "rbac_policy")}


def test_policy_target_update(api: httpx.Client) -> None:
    """Mirrors RbacSharedSecurityGroupTest test_policy_target_update."""
    p1, p2 = project(), project()
    res = shared_to(api, p1)
    url = f"/rbac-policies/{res['policy']['id']}"
    updated = api.put(url, json={"rbac_policy": {"target_tenant": p2}}, headers=ADMIN)
    assert updated.status_code == 200, updated.text
    assert updated.json()["rbac_policy"] == {**res["policy"], "target_tenant": p2}
    assert res["policy"]["object_type"] == "security_group"
    group_url = f"/security-groups/{res['group']['id']}"
    assert api.get(group_url, headers=member(p2)).status_code == 200
    assert_error(api.get(group_url, headers=member(p1)), 404, "SecurityGroupNotFound")


def test_port_presence_prevents_policy_rbac_policy_deletion(api: httpx.Client) -> None:
    """Mirrors RbacSharedSecurityGroupTest
    test_port_presence_prevents_policy_rbac_policy_deletion: the target's port uses the
    shared group, so the policy stays (409 RbacPolicyInUse) until the port goes."""
    p2 = project()
    res = shared_to(api, p2)
    net = network(api, member(p2))
    body = {"port": {"network_id": net["id"], "security_groups": [res["group"]["id"]]}}
    port = made(api.post("/ports", json=body, headers=member(p2)), "port")
    assert port["security_groups"] == [res["group"]["id"]]
    url = f"/rbac-policies/{res['policy']['id']}"
    refused = api.delete(url, headers=ADMIN)
    assert_error(refused, 409, "RbacPolicyInUse")
    assert refused.json()["NeutronError"]["message"].endswith(f"Details: project_id={p2}")
    moved = api.put(url, json={"rbac_policy": {"target_tenant": project()}}, headers=ADMIN)
    assert_error(moved, 409, "RbacPolicyInUse")
    assert api.delete(f"/ports/{port['id']}", headers=member(p2)).status_code == 204
    assert api.delete(url, headers=ADMIN).status_code == 204


def test_wildcard_policy_holds_the_ports_of_projects_without_their_own(api: httpx.Client) -> None:
    p2 = project()
    sg = group(api, ADMIN)
    star = made(post_policy(api, ADMIN, sg["id"], "*"), "rbac_policy")
    net = network(api, member(p2))
    body = {"port": {"network_id": net["id"], "security_groups": [sg["id"]]}}
    made(api.post("/ports", json=body, headers=member(p2)), "port")
    url = f"/rbac-policies/{star['id']}"
    assert_error(api.delete(url, headers=ADMIN), 409, "RbacPolicyInUse")
    made(post_policy(api, ADMIN, sg["id"], p2), "rbac_policy")
    assert api.delete(url, headers=ADMIN).status_code == 204


def test_regular_client_shares_to_another_regular_client(api: httpx.Client) -> None:
    """Mirrors RbacSharedSecurityGroupTest test_regular_client_shares_to_another_regular_client:
    the group is the target's to see (``shared`` true for it, in lists and filters), the
    policy is not."""
    p1, p2 = project(), project()
    sg = group(api, ADMIN)
    url = f"/security-groups/{sg['id']}"
    assert_error(api.get(url, headers=member(p1)), 404, "SecurityGroupNotFound")
    pol = made(post_policy(api, ADMIN, sg["id"], p1), "rbac_policy")
    shown = api.get(url, headers=member(p1))
    assert shown.status_code == 200
    assert shown.json()["security_group"]["shared"] is True
    assert api.get(url, headers=ADMIN).json()["security_group"]["shared"] is False
    assert sg["id"] in ids(api.get("/security-groups", headers=member(p1)), "security_groups")
    shared = api.get("/security-groups", params={"shared": True}, headers=member(p1))
    assert ids(shared, "security_groups") == {sg["id"]}
    assert sg["id"] not in ids(api.get("/security-groups", headers=member(p2)), "security_groups")
    assert pol in api.get("/rbac-policies", headers=ADMIN).json()["rbac_policies"]
    assert pol["id"] not in ids(api.get("/rbac-policies", headers=member(p2)), "rbac_policies")
    assert pol["id"] not in ids(api.get("/rbac-policies", headers=member(p1)), "rbac_policies")
    # the target uses it, but it stays its owner's to change
    assert_error(api.put(url, json={"security_group": {"name": "x"}}, headers=member(p1)), 403)
    rule = {"security_group_rule": {"security_group_id": sg["id"], "direction": "ingress"}}
    assert_error(api.post("/security-group-rules", json=rule, headers=member(p1)), 403)
    assert_error(api.delete(url, headers=member(p1)), 403)


def test_filter_and_show_rbac_policies(api: httpx.Client) -> None:
    """Mirrors RbacSharedSecurityGroupTest test_filter_fields, test_rbac_policy_show and
    test_filter_rbac_policies."""
    p2 = project()
    res = shared_to(api, p2)
    p2_star = made(post_policy(api, ADMIN, res["group"]["id"], "*"), "rbac_policy")
    for pol in (res["policy"], p2_star):
        assert api.get(f"/rbac-policies/{pol['id']}", headers=ADMIN).json()["rbac_policy"] == pol
        listed = api.get("/rbac-policies", params={"id": pol["id"]}, headers=ADMIN)
        assert listed.json()["rbac_policies"] == [pol]
    fields = [("fields", "project_id"), ("fields", "target_tenant")]
    listed = api.get("/rbac-policies", params=fields, headers=ADMIN).json()["rbac_policies"]
    assert {tuple(sorted(p)) for p in listed} == {("project_id", "target_tenant")}
    by_type = api.get(
        "/rbac-policies",
        params={"object_type": "security_group", "object_id": res["group"]["id"]},
        headers=ADMIN,
    )
    assert ids(by_type, "rbac_policies") == {res["policy"]["id"], p2_star["id"]}


def test_regular_client_blocked_from_sharing_anothers_policy(api: httpx.Client) -> None:
    """Mirrors RbacSharedSecurityGroupTest
    test_regular_client_blocked_from_sharing_anothers_policy: 400, and the target sees no
    policy."""
    p1, p2 = project(), project()
    sg = shared_to(api, p1)["group"]
    refused = post_policy(api, member(p1), sg["id"], p2)
    assert_error(refused, 400, "InvalidInput")
    assert refused.json()["NeutronError"]["message"] == (
        "Invalid input for operation: Only admins can manipulate policies on objects they do "
        "not own."
    )
    assert api.get("/rbac-policies", headers=member(p1)).json()["rbac_policies"] == []
    unseen = post_policy(api, member(p2), sg["id"], p2)
    assert_error(unseen, 400, "InvalidInput")


def test_access_as_external_is_no_action_for_groups(api: httpx.Client) -> None:
    sg = group(api, ADMIN)
    body = {
        "rbac_policy": {
            "object_type": "security_group",
            "object_id": sg["id"],
            "action": "access_as_external",
            "target_tenant": project(),
        }
    }
    refused = api.post("/rbac-policies", json=body, headers=ADMIN)
    assert_error(refused, 400, "InvalidActionForType")
    assert refused.json()["NeutronError"]["message"] == (
        "Invalid action 'access_as_external' for object type 'security_group'. Valid actions: "
        "('access_as_shared',)"
    )


def test_deleting_a_group_deletes_its_policies(api: httpx.Client) -> None:
    res = shared_to(api, project())
    assert api.delete(f"/security-groups/{res['group']['id']}", headers=ADMIN).status_code == 204
    gone = api.get(f"/rbac-policies/{res['policy']['id']}", headers=ADMIN)
    assert_error(gone, 404, "RbacPolicyNotFound")


def test_security_groups_shared_filtering(api: httpx.Client) -> None:
    """``security-groups-shared-filtering``, as neutron_tempest_plugin's shared-group tests use
    it: ``shared`` filters a project's list by the groups as it sees them (shared with it or
    with every project, or its own and unshared), and an admin's by its own project's view."""
    p1 = project()
    own = group(api, member(p1))
    to_p1 = shared_to(api, p1)["group"]
    to_all = shared_to(api, "*")["group"]
    elsewhere = shared_to(api, project())["group"]
    listed = {
        shared: ids(
            api.get("/security-groups", params={"shared": shared}, headers=member(p1)),
            "security_groups",
        )
        for shared in (True, False)
    }
    assert {to_p1["id"], to_all["id"]} <= listed[True]
    assert own["id"] not in listed[True]
    assert own["id"] in listed[False]
    assert not {to_p1["id"], to_all["id"], elsewhere["id"]} & listed[False]
    admin = ids(
        api.get("/security-groups", params={"shared": True}, headers=ADMIN), "security_groups"
    )
    assert to_all["id"] in admin
    assert not {to_p1["id"], elsewhere["id"]} & admin
