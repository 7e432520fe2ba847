"""Address groups shared by RBAC policies (``rbac-address-group``) over real HTTP, each test
mirroring the neutron_tempest_plugin ``RbacAddressGroupTest`` test it names: the target sees
the group and names it in its rules, may not change it, and a policy its rules need cannot
go."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration import test_rbac_policies as rbac
from tests.integration.neutron import assert_error
from tests.integration.test_rbac_policies import ADMIN, ids, made, member, project


def address_group(api: httpx.Client, headers: dict[str, str]) -> Any:
    body = {"address_group": {"name": "rbac-ag", "addresses": ["10.0.0.0/24"]}}
    return made(api.post("/address-groups", json=body, headers=headers), "address_group")


def post_policy(
    api: httpx.Client, headers: dict[str, str], group_id: str, target: str
) -> httpx.Response:
    return rbac.post_policy(api, headers, group_id, target, object_type="address_group")


def shared_to(api: httpx.Client, target: str) -> dict[str, Any]:
    ag = address_group(api, ADMIN)
    return {"group": ag, "policy": made(post_policy(api, ADMIN, ag["id"], target), "rbac_policy")}


def test_policy_target_update(api: httpx.Client) -> None:
    """Mirrors RbacAddressGroupTest test_policy_target_update."""
    p1, p2 = project(), project()
    res = shared_to(api, p1)
    url = f"/rbac-policies/{res['policy']['id']}"
    updated = api.put(url, json={"rbac_policy": {"target_tenant": p2}}, headers=ADMIN)
    assert updated.status_code == 200, updated.text
    assert updated.json()["rbac_policy"] == {**res["policy"], "target_tenant": p2}
    group_url = f"/address-groups/{res['group']['id']}"
    assert api.get(group_url, headers=member(p2)).status_code == 200
    assert_error(api.get(group_url, headers=member(p1)), 404, "AddressGroupNotFound")


def test_secgrprule_presence_prevents_policy_rbac_policy_deletion(api: httpx.Client) -> None:
    """Mirrors RbacAddressGroupTest
    test_secgrprule_presence_prevents_policy_rbac_policy_deletion: the target's rule names the
    shared group, so the policy stays (409 RbacPolicyInUse) until the rule goes."""
    p2 = project()
    res = shared_to(api, p2)
    body = {"security_group": {"name": "uses-ag"}}
    sg = made(api.post("/security-groups", json=body, headers=member(p2)), "security_group")
    rule_body = {
        "security_group_rule": {
            "security_group_id": sg["id"],
            "direction": "ingress",
            "protocol": "tcp",
            "remote_address_group_id": res["group"]["id"],
        }
    }
    rule = made(
        api.post("/security-group-rules", json=rule_body, headers=member(p2)),
        "security_group_rule",
    )
    assert rule["remote_address_group_id"] == res["group"]["id"]
    url = f"/rbac-policies/{res['policy']['id']}"
    refused = api.delete(url, headers=ADMIN)
    assert_error(refused, 409, "RbacPolicyInUse")
    assert refused.json()["NeutronError"]["message"].endswith(f"Details: project_id={p2}")
    rule_url = f"/security-group-rules/{rule['id']}"
    assert api.delete(rule_url, headers=member(p2)).status_code == 204
    assert api.delete(url, headers=ADMIN).status_code == 204
    refused_rule = api.post("/security-group-rules", json=rule_body, headers=member(p2))
    assert_error(refused_rule, 404, "AddressGroupNotFound")


def test_regular_client_shares_to_another_regular_client(api: httpx.Client) -> None:
    """Mirrors RbacAddressGroupTest test_regular_client_shares_to_another_regular_client: the
    group is the target's to see (in lists too), the policy is not."""
    p1, p2 = project(), project()
    ag = address_group(api, ADMIN)
    url = f"/address-groups/{ag['id']}"
    assert_error(api.get(url, headers=member(p1)), 404, "AddressGroupNotFound")
    pol = made(post_policy(api, ADMIN, ag["id"], p1), "rbac_policy")
    shown = api.get(url, headers=member(p1))
    assert shown.status_code == 200, shown.text
    assert "shared" not in shown.json()["address_group"]  # Neutron does not show it
    assert ag["id"] in ids(api.get("/address-groups", headers=member(p1)), "address_groups")
    assert ag["id"] not in ids(api.get("/address-groups", headers=member(p2)), "address_groups")
    assert pol in api.get("/rbac-policies", headers=ADMIN).json()["rbac_policies"]
    assert pol["id"] not in ids(api.get("/rbac-policies", headers=member(p2)), "rbac_policies")


def test_filter_and_show_rbac_policies(api: httpx.Client) -> None:
    """Mirrors RbacAddressGroupTest test_filter_fields, test_rbac_policy_show and
    test_filter_rbac_policies."""
    owner, p2 = project(), project()
    ag = address_group(api, member(owner))
    p1 = made(post_policy(api, ADMIN, ag["id"], p2), "rbac_policy")
    star = made(post_policy(api, ADMIN, ag["id"], "*"), "rbac_policy")
    for policy in (p1, star):
        shown = api.get(f"/rbac-policies/{policy['id']}", headers=ADMIN)
        assert shown.json()["rbac_policy"] == policy
        found = api.get("/rbac-policies", params={"id": policy["id"]}, headers=ADMIN)
        assert ids(found, "rbac_policies") == {policy["id"]}
    fields = api.get("/rbac-policies", params={"fields": ["id", "action"]}, headers=ADMIN)
    assert set(fields.json()["rbac_policies"][0]) == {"id", "action"}
    assert api.get(f"/address-groups/{ag['id']}", headers=member(project())).status_code == 200


def test_regular_client_blocked_from_sharing_anothers_policy(api: httpx.Client) -> None:
    """Mirrors RbacAddressGroupTest test_regular_client_blocked_from_sharing_anothers_policy."""
    p1, p2 = project(), project()
    res = shared_to(api, p1)
    refused = post_policy(api, member(p1), res["group"]["id"], p2)
    assert_error(refused, 400, "InvalidInput")
    assert api.get("/rbac-policies", headers=member(p1)).json()["rbac_policies"] == []


def test_regular_client_blocked_from_updating_shared_address_group(api: httpx.Client) -> None:
    """Mirrors RbacAddressGroupTest
    test_regular_client_blocked_from_updating_shared_address_group: the target's update is
    not found (404); its other changes are refused by policy (403), as Neutron answers; the
    group is unchanged."""
    p1 = project()
    res = shared_to(api, p1)
    url = f"/address-groups/{res['group']['id']}"
    refused = api.put(url, json={"address_group": {"name": "new_name"}}, headers=member(p1))
    assert_error(refused, 404, "AddressGroupNotFound")
    addresses = {"addresses": ["10.1.0.0/24"]}
    for action in ("add_addresses", "remove_addresses"):
        denied = api.put(f"{url}/{action}", json=addresses, headers=member(p1))
        assert_error(denied, 403, "PolicyNotAuthorized")
        assert denied.json()["NeutronError"]["message"] == f"rule:{action} is disallowed by policy"
    assert_error(api.delete(url, headers=member(p1)), 403, "PolicyNotAuthorized")
    kept = api.get(url, headers=ADMIN).json()["address_group"]
    assert (kept["name"], kept["addresses"]) == ("rbac-ag", ["10.0.0.0/24"])


def test_deleting_a_group_deletes_its_policies(api: httpx.Client) -> None:
    res = shared_to(api, project())
    assert api.delete(f"/address-groups/{res['group']['id']}", headers=ADMIN).status_code == 204
    gone = api.get(f"/rbac-policies/{res['policy']['id']}", headers=ADMIN)
    assert_error(gone, 404, "RbacPolicyNotFound")
