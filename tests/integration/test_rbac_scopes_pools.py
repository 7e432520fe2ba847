"""Address scopes and subnet pools shared by RBAC policies (``rbac-address-scope``,
``rbac-subnetpool``) over real HTTP, each test mirroring the neutron_tempest_plugin
``RbacAddressScopeTest`` or ``RbacSubnetPoolTest`` test it names: the target sees the object
(``shared`` true to it) and uses it (a pool in the scope, a subnet from the pool), only the
owner changes it, a policy its users need cannot go, and ``shared: true`` is the ``*`` policy.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration import test_rbac_policies as rbac
from tests.integration.neutron import assert_error
from tests.integration.test_rbac_policies import ADMIN, ids, made, member, network, project

KINDS = {"address_scope": "address-scopes", "subnetpool": "subnetpools"}


def scope(api: httpx.Client, headers: dict[str, str], **attributes: Any) -> Any:
    body = {"address_scope": {"name": "rbac-scope", "ip_version": 4, **attributes}}
    return made(api.post("/address-scopes", json=body, headers=headers), "address_scope")


def pool(api: httpx.Client, headers: dict[str, str], **attributes: Any) -> Any:
    body = {
        "subnetpool": {
            "name": "rbac-pool",
            "prefixes": ["10.0.0.0/8"],
            "default_prefixlen": 24,
            **attributes,
        }
    }
    return made(api.post("/subnetpools", json=body, headers=headers), "subnetpool")


def post_policy(
    api: httpx.Client, headers: dict[str, str], object_type: str, object_id: str, target: str
) -> httpx.Response:
    return rbac.post_policy(api, headers, object_id, target, object_type=object_type)


def shared_to(api: httpx.Client, object_type: str, target: str) -> dict[str, Any]:
    made_object = scope(api, ADMIN) if object_type == "address_scope" else pool(api, ADMIN)
    response = post_policy(api, ADMIN, object_type, made_object["id"], target)
    return {"object": made_object, "policy": made(response, "rbac_policy")}


@pytest.mark.parametrize("object_type", list(KINDS))
def test_policy_target_update(api: httpx.Client, object_type: str) -> None:
    """Mirrors RbacAddressScopeTest and RbacSubnetPoolTest test_policy_target_update: only the
    target changes, and with it who sees the object."""
    p1, p2 = project(), project()
    res = shared_to(api, object_type, p1)
    url = f"/rbac-policies/{res['policy']['id']}"
    updated = api.put(url, json={"rbac_policy": {"target_tenant": p2}}, headers=ADMIN)
    assert updated.status_code == 200, updated.text
    assert updated.json()["rbac_policy"] == {**res["policy"], "target_tenant": p2}
    object_url = f"/{KINDS[object_type]}/{res['object']['id']}"
    assert api.get(object_url, headers=member(p2)).status_code == 200
    assert api.get(object_url, headers=member(p1)).status_code == 404


@pytest.mark.parametrize("object_type", list(KINDS))
def test_regular_client_shares_to_another_regular_client(
    api: httpx.Client, object_type: str
) -> None:
    """Mirrors RbacAddressScopeTest and RbacSubnetPoolTest
    test_regular_client_shares_to_another_regular_client: the object is the target's to see
    (``shared`` true to it alone, in lists and filters), the policy is not; the object stays
    its owner's to change."""
    p1, p2 = project(), project()
    collection = KINDS[object_type]
    key = collection.replace("-", "_")
    made_object = scope(api, ADMIN) if object_type == "address_scope" else pool(api, ADMIN)
    url = f"/{collection}/{made_object['id']}"
    assert api.get(url, headers=member(p1)).status_code == 404
    pol = made(post_policy(api, ADMIN, object_type, made_object["id"], p1), "rbac_policy")
    shown = api.get(url, headers=member(p1))
    assert shown.status_code == 200, shown.text
    assert shown.json()[object_type]["shared"] is True
    assert api.get(url, headers=ADMIN).json()[object_type]["shared"] is False
    assert made_object["id"] in ids(api.get(f"/{collection}", headers=member(p1)), key)
    shared = api.get(f"/{collection}", params={"shared": True}, headers=member(p1))
    assert ids(shared, key) == {made_object["id"]}
    unshared = api.get(f"/{collection}", params={"shared": False}, headers=member(p1))
    assert ids(unshared, key) == set()
    assert made_object["id"] not in ids(api.get(f"/{collection}", headers=member(p2)), key)
    assert pol in api.get("/rbac-policies", headers=ADMIN).json()["rbac_policies"]
    assert pol["id"] not in ids(api.get("/rbac-policies", headers=member(p2)), "rbac_policies")
    refused = api.put(url, json={object_type: {"name": "x"}}, headers=member(p1))
    assert refused.status_code == 403, refused.text
    assert api.delete(url, headers=member(p1)).status_code == 403


@pytest.mark.parametrize("object_type", list(KINDS))
def test_regular_client_blocked_from_sharing_anothers_policy(
    api: httpx.Client, object_type: str
) -> None:
    """Mirrors RbacAddressScopeTest and RbacSubnetPoolTest
    test_regular_client_blocked_from_sharing_anothers_policy: the target may not share on."""
    p1, p2 = project(), project()
    res = shared_to(api, object_type, p1)
    refused = post_policy(api, member(p1), object_type, res["object"]["id"], p2)
    assert_error(refused, 400, "InvalidInput")
    assert api.get("/rbac-policies", headers=member(p1)).json()["rbac_policies"] == []


@pytest.mark.parametrize("object_type", list(KINDS))
def test_filter_and_show_rbac_policies(api: httpx.Client, object_type: str) -> None:
    """Mirrors RbacAddressScopeTest and RbacSubnetPoolTest test_filter_fields,
    test_rbac_policy_show and test_filter_rbac_policies: an admin shares a member's object,
    with a project and with every project; each policy is shown and found by id."""
    owner, p2 = project(), project()
    made_object = (
        scope(api, member(owner)) if object_type == "address_scope" else pool(api, member(owner))
    )
    p1 = made(post_policy(api, ADMIN, object_type, made_object["id"], p2), "rbac_policy")
    star = made(post_policy(api, ADMIN, object_type, made_object["id"], "*"), "rbac_policy")
    assert p1["object_type"] == object_type
    for policy in (p1, star):
        shown = api.get(f"/rbac-policies/{policy['id']}", headers=ADMIN)
        assert shown.json()["rbac_policy"] == policy
        found = api.get("/rbac-policies", params={"id": policy["id"]}, headers=ADMIN)
        assert ids(found, "rbac_policies") == {policy["id"]}
    fields = api.get(
        "/rbac-policies", params={"fields": ["object_type", "object_id"]}, headers=ADMIN
    )
    assert set(fields.json()["rbac_policies"][0]) == {"object_type", "object_id"}
    # the * policy is the object's shared flag, as everyone sees it
    url = f"/{KINDS[object_type]}/{made_object['id']}"
    assert api.get(url, headers=member(project())).json()[object_type]["shared"] is True
    assert api.delete(f"/rbac-policies/{star['id']}", headers=ADMIN).status_code == 204
    assert api.get(url, headers=member(owner)).json()[object_type]["shared"] is False
    assert api.get(url, headers=member(project())).status_code == 404


def test_subnet_pool_presence_prevents_rbac_policy_deletion(api: httpx.Client) -> None:
    """Mirrors RbacAddressScopeTest test_subnet_pool_presence_prevents_rbac_policy_deletion:
    the target's pool in the shared scope holds the policy (409 RbacPolicyInUse), also against
    moving it elsewhere, until the pool goes."""
    p2 = project()
    res = shared_to(api, "address_scope", p2)
    snp = pool(api, member(p2), address_scope_id=res["object"]["id"])
    url = f"/rbac-policies/{res['policy']['id']}"
    refused = api.delete(url, headers=ADMIN)
    assert_error(refused, 409, "RbacPolicyInUse")
    assert refused.json()["NeutronError"]["message"].endswith(f"Details: project_id={p2}")
    moved = api.put(url, json={"rbac_policy": {"target_tenant": project()}}, headers=ADMIN)
    assert_error(moved, 409, "RbacPolicyInUse")
    assert api.delete(f"/subnetpools/{snp['id']}", headers=member(p2)).status_code == 204
    assert api.delete(url, headers=ADMIN).status_code == 204


def test_scope_not_shared_with_a_project_takes_none_of_its_pools(api: httpx.Client) -> None:
    """A member puts its pool only in a scope it sees (Neutron's AddressScopeNotFound)."""
    s = scope(api, ADMIN)
    body = {
        "subnetpool": {
            "name": "p",
            "prefixes": ["10.0.0.0/16"],
            "default_prefixlen": 24,
            "address_scope_id": s["id"],
        }
    }
    refused = api.post("/subnetpools", json=body, headers=member(project()))
    assert refused.status_code == 404, refused.text


def test_subnet_presence_prevents_rbac_policy_deletion(api: httpx.Client) -> None:
    """Mirrors RbacSubnetPoolTest test_subnet_presence_prevents_rbac_policy_deletion: the
    target allocates a subnet from the shared pool, which then holds the policy."""
    p2 = project()
    res = shared_to(api, "subnetpool", p2)
    net = network(api, member(p2))
    body = {
        "subnet": {"network_id": net["id"], "ip_version": 4, "subnetpool_id": res["object"]["id"]}
    }
    sub = made(api.post("/subnets", json=body, headers=member(p2)), "subnet")
    assert sub["subnetpool_id"] == res["object"]["id"]
    url = f"/rbac-policies/{res['policy']['id']}"
    assert_error(api.delete(url, headers=ADMIN), 409, "RbacPolicyInUse")
    assert api.delete(f"/subnets/{sub['id']}", headers=member(p2)).status_code == 204
    assert api.delete(url, headers=ADMIN).status_code == 204
    refused = api.post("/subnets", json=body, headers=member(p2))
    assert refused.status_code == 404, refused.text


def test_cannot_share_if_no_access_to_address_scope(api: httpx.Client) -> None:
    """Mirrors RbacSubnetPoolTest test_cannot_share_if_no_access_to_address_scope: a pool in a
    scope shared with its owner only is not shared further (400); an admin shares it with a
    project the scope is shared with."""
    p1, p2 = project(), project()
    s = scope(api, ADMIN)
    scope_policy = made(post_policy(api, ADMIN, "address_scope", s["id"], p1), "rbac_policy")
    snp = pool(api, member(p1), address_scope_id=s["id"])
    refused = post_policy(api, member(p1), "subnetpool", snp["id"], p2)
    assert_error(refused, 400, "InvalidInput")
    assert "doesn't have access to associated address scope" in refused.text
    assert_error(post_policy(api, ADMIN, "subnetpool", snp["id"], p2), 400, "InvalidInput")
    made(post_policy(api, ADMIN, "address_scope", s["id"], "*"), "rbac_policy")
    made(post_policy(api, ADMIN, "subnetpool", snp["id"], p2), "rbac_policy")
    assert api.get(f"/subnetpools/{snp['id']}", headers=member(p2)).status_code == 200
    assert api.delete(f"/subnetpools/{snp['id']}", headers=member(p1)).status_code == 204
    assert api.delete(f"/rbac-policies/{scope_policy['id']}", headers=ADMIN).status_code == 204


@pytest.mark.parametrize("object_type", list(KINDS))
def test_shared_flag_is_the_every_project_policy(api: httpx.Client, object_type: str) -> None:
    """Mirrors test_admin_create_shared_address_scope and the shared pools' tests: an admin's
    ``shared: true`` makes the ``*`` policy, so every project sees the object; deleting it
    deletes its policies."""
    made_object = (
        scope(api, ADMIN, shared=True)
        if object_type == "address_scope"
        else pool(api, ADMIN, shared=True)
    )
    assert made_object["shared"] is True
    found = api.get("/rbac-policies", params={"object_id": made_object["id"]}, headers=ADMIN)
    policies = found.json()["rbac_policies"]
    assert [(p["target_tenant"], p["action"], p["object_type"]) for p in policies] == [
        ("*", "access_as_shared", object_type)
    ]
    url = f"/{KINDS[object_type]}/{made_object['id']}"
    assert api.get(url, headers=member(project())).json()[object_type]["shared"] is True
    assert api.delete(url, headers=ADMIN).status_code == 204
    gone = api.get("/rbac-policies", params={"object_id": made_object["id"]}, headers=ADMIN)
    assert gone.json()["rbac_policies"] == []


def test_sharing_a_scope_by_update_makes_its_policy(api: httpx.Client) -> None:
    """Mirrors test_admin_update_shared_address_scope: ``shared`` set later makes the ``*``
    policy too; a shared scope is not unshared by update (400), only by its policy."""
    s = scope(api, ADMIN)
    url = f"/address-scopes/{s['id']}"
    shared = api.put(url, json={"address_scope": {"shared": True}}, headers=ADMIN)
    assert shared.json()["address_scope"]["shared"] is True
    found = api.get("/rbac-policies", params={"object_id": s["id"]}, headers=ADMIN)
    (star,) = found.json()["rbac_policies"]
    assert star["target_tenant"] == "*"
    refused = api.put(url, json={"address_scope": {"shared": False}}, headers=ADMIN)
    assert_error(refused, 400, "AddressScopeUpdateError")
    assert api.delete(f"/rbac-policies/{star['id']}", headers=ADMIN).status_code == 204
    assert api.get(url, headers=ADMIN).json()["address_scope"]["shared"] is False
