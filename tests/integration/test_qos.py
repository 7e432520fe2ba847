"""QoS over real HTTP and openstacksdk, as the reference Neutron (qos service plugin loaded)
answers: policies and their bandwidth-limit and DSCP rules, bodies key for key, Neutron's
validation errors word for word, one limit per direction, the rules alias, the project's
default policy, a policy in use, networks' policies inherited by their ports, and the rule
types the data plane cannot enforce refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openstack
import pytest
from openstack.connection import Connection

from tests.integration.neutron import assert_error, create_network, create_port
from tests.servers import ServerProcess

MEMBER = {"X-Project-Id": "qos-member", "X-Roles": "member"}


def create_policy(api: httpx.Client, **attributes: Any) -> dict[str, Any]:
    response = api.post("/qos/policies", json={"policy": attributes})
    assert response.status_code == 201, response.text
    policy: dict[str, Any] = response.json()["policy"]
    return policy


def post_rule(api: httpx.Client, policy_id: str, kind: str, **attributes: Any) -> httpx.Response:
    return api.post(f"/qos/policies/{policy_id}/{kind}_rules", json={f"{kind}_rule": attributes})


def create_rule(api: httpx.Client, policy_id: str, kind: str, **attributes: Any) -> Any:
    response = post_rule(api, policy_id, kind, **attributes)
    assert response.status_code == 201, response.text
    return response.json()[f"{kind}_rule"]


def message(response: httpx.Response) -> str:
    text: str = response.json()["NeutronError"]["message"]
    return text


def test_policy_lifecycle(api: httpx.Client) -> None:
    policy = create_policy(api, name="gold", description="d")
    assert list(policy) == [
        "id", "project_id", "name", "shared", "rules", "is_default", "revision_number",
        "description", "created_at", "updated_at", "tenant_id", "tags",
    ]  # fmt: skip
    assert (policy["rules"], policy["shared"], policy["is_default"]) == ([], False, False)
    assert policy["revision_number"] == 0
    limit = create_rule(api, policy["id"], "bandwidth_limit", max_kbps=10000)
    assert limit == {
        "max_kbps": 10000,
        "max_burst_kbps": 0,
        "direction": "egress",
        "id": limit["id"],
    }
    mark = create_rule(api, policy["id"], "dscp_marking", dscp_mark=14)
    assert mark == {"dscp_mark": 14, "id": mark["id"]}
    shown = api.get(f"/qos/policies/{policy['id']}").json()["policy"]
    assert shown["revision_number"] == 2
    assert shown["rules"] == [
        {**limit, "qos_policy_id": policy["id"], "type": "bandwidth_limit"},
        {**mark, "qos_policy_id": policy["id"], "type": "dscp_marking"},
    ]
    changed = api.put(
        f"/qos/policies/{policy['id']}/bandwidth_limit_rules/{limit['id']}",
        json={"bandwidth_limit_rule": {"max_kbps": 2000, "max_burst_kbps": 100}},
    )
    assert changed.json()["bandwidth_limit_rule"]["max_burst_kbps"] == 100
    renamed = api.put(f"/qos/policies/{policy['id']}", json={"policy": {"name": "silver"}})
    assert renamed.json()["policy"]["name"] == "silver"
    listed = api.get("/qos/policies", params={"name": "silver"}).json()["policies"]
    assert [p["id"] for p in listed] == [policy["id"]]
    gone = api.delete(f"/qos/policies/{policy['id']}/dscp_marking_rules/{mark['id']}")
    assert gone.status_code == 204
    assert api.get(f"/qos/policies/{policy['id']}/dscp_marking_rules").json() == {
        "dscp_marking_rules": []
    }
    assert api.delete(f"/qos/policies/{policy['id']}").status_code == 204
    missing = api.get(f"/qos/policies/{policy['id']}")
    assert_error(missing, 404, "QosPolicyNotFound")
    assert message(missing) == f"QoS policy {policy['id']} could not be found."


def test_one_bandwidth_limit_per_direction_and_one_dscp_mark(api: httpx.Client) -> None:
    policy = create_policy(api, name="limits")
    first = create_rule(api, policy["id"], "bandwidth_limit", max_kbps=10000)
    again = post_rule(api, policy["id"], "bandwidth_limit", max_kbps=20000)
    assert_error(again, 409, "QoSRulesConflict")
    assert message(again) == (
        f"Rule bandwidth_limit conflicts with rule {first['id']} which already exists in "
        f"QoS Policy {policy['id']}."
    )
    ingress = create_rule(
        api,
        policy["id"],
        "bandwidth_limit",
        max_kbps=20000,
        direction="ingress",
        max_burst_kbps=500,
    )
    assert (ingress["direction"], ingress["max_burst_kbps"]) == ("ingress", 500)
    moved = api.put(
        f"/qos/policies/{policy['id']}/bandwidth_limit_rules/{first['id']}",
        json={"bandwidth_limit_rule": {"direction": "ingress"}},
    )
    assert_error(moved, 409, "QoSRulesConflict")
    create_rule(api, policy["id"], "dscp_marking", dscp_mark=0)
    assert_error(post_rule(api, policy["id"], "dscp_marking", dscp_mark=8), 409, "QoSRulesConflict")


@pytest.mark.parametrize(
    ("kind", "attributes", "expected"),
    [
        ("bandwidth_limit", {"max_kbps": 1, "direction": "up"},
         "Invalid input for direction. Reason: up is not in valid_values."),
        ("bandwidth_limit", {"max_kbps": -1},
         "Invalid input for max_kbps. Reason: '-1' is too small - must be at least '0'."),
        ("bandwidth_limit", {"max_kbps": 2147483648},
         "Invalid input for max_kbps. Reason: '2147483648' is too large - must be no larger "
         "than '2147483647'."),
        ("bandwidth_limit", {},
         "Failed to parse request. Required attribute 'max_kbps' not specified"),
        ("bandwidth_limit", {"max_kbps": "x"},
         "Invalid input for operation: 'x' is not an integer."),
        ("dscp_marking", {"dscp_mark": 13},
         "Invalid input for dscp_mark. Reason: 13 is not in valid_values."),
        ("dscp_marking", {},
         "Failed to parse request. Required attribute 'dscp_mark' not specified"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_as_neutron_words_it(
    api: httpx.Client, kind: str, attributes: dict[str, Any], expected: str
) -> None:
    policy = create_policy(api, name="bad")
    response = post_rule(api, policy["id"], kind, **attributes)
    assert_error(response, 400)
    assert message(response) == expected
    assert api.get(f"/qos/policies/{policy['id']}").json()["policy"]["rules"] == []


@pytest.mark.parametrize(
    ("kind", "attributes"),
    [
        ("minimum_bandwidth", {"min_kbps": 1000}),
        ("minimum_packet_rate", {"min_kpps": 1000}),
        ("packet_rate_limit", {"max_kpps": 1000}),
    ],
)
def test_rules_the_data_plane_cannot_enforce_are_refused(
    api: httpx.Client, kind: str, attributes: dict[str, Any]
) -> None:
    policy = create_policy(api, name="unenforceable")
    assert_error(post_rule(api, policy["id"], kind, **attributes), 409, "QosRuleNotSupported")
    assert api.get(f"/qos/policies/{policy['id']}/{kind}_rules").json() == {f"{kind}_rules": []}
    assert api.get(f"/qos/policies/{policy['id']}").json()["policy"]["rules"] == []


def test_rule_types_are_those_enforced(api: httpx.Client) -> None:
    types = api.get("/qos/rule-types").json()["rule_types"]
    assert types == [{"type": "bandwidth_limit"}, {"type": "dscp_marking"}]
    every = api.get("/qos/rule-types", params={"all_rules": "true"}).json()["rule_types"]
    assert {t["type"] for t in every} >= {"minimum_bandwidth", "packet_rate_limit"}
    detail = api.get("/qos/rule-types/dscp_marking").json()["rule_type"]
    assert detail["drivers"][0]["supported_parameters"][0]["parameter_name"] == "dscp_mark"
    assert api.get("/qos/rule-types/minimum_bandwidth").json()["rule_type"]["drivers"] == []


def test_the_rules_alias_finds_a_rule_without_its_policy(api: httpx.Client) -> None:
    policy = create_policy(api, name="aliased")
    rule = create_rule(api, policy["id"], "bandwidth_limit", max_kbps=1000)
    alias = f"/qos/alias_bandwidth_limit_rules/{rule['id']}"
    assert api.get(alias).json() == {"alias_bandwidth_limit_rule": rule}
    wrong = api.put(alias, json={"bandwidth_limit_rule": {"max_kbps": 5}})
    assert_error(wrong, 400)
    assert message(wrong) == "Unable to find 'alias_bandwidth_limit_rule' in request body"
    changed = api.put(alias, json={"alias_bandwidth_limit_rule": {"max_kbps": 5}})
    assert changed.json()["alias_bandwidth_limit_rule"]["max_kbps"] == 5
    assert api.delete(alias).status_code == 204
    missing = api.get(alias)
    assert_error(missing, 404, "QosRuleNotFound")
    assert message(missing) == f"QoS rule {rule['id']} for policy  could not be found."


def test_one_default_policy_a_project_which_its_new_networks_get(api: httpx.Client) -> None:
    project = {"X-Project-Id": f"qos-{uuid.uuid4().hex[:8]}", "X-Roles": "admin"}
    made = api.post(
        "/qos/policies", json={"policy": {"name": "d", "is_default": True}}, headers=project
    )
    default = made.json()["policy"]
    assert (default["is_default"], default["revision_number"]) == (True, 1)
    second = api.post(
        "/qos/policies", json={"policy": {"name": "e", "is_default": True}}, headers=project
    )
    assert_error(second, 409, "QoSPolicyDefaultAlreadyExists")
    network = api.post("/networks", json={"network": {"name": "n"}}, headers=project).json()
    assert network["network"]["qos_policy_id"] == default["id"]


def test_ports_inherit_their_networks_policy_and_a_policy_in_use_stays(api: httpx.Client) -> None:
    net_policy = create_policy(api, name="net")
    port_policy = create_policy(api, name="port")
    network = create_network(api, qos_policy_id=net_policy["id"])
    assert network["qos_policy_id"] == net_policy["id"]
    inheriting = create_port(api, network["id"])
    own = create_port(api, network["id"], qos_policy_id=port_policy["id"])
    assert (inheriting["qos_policy_id"], inheriting["qos_network_policy_id"]) == (
        None,
        net_policy["id"],
    )
    assert (own["qos_policy_id"], own["qos_network_policy_id"]) == (
        port_policy["id"],
        net_policy["id"],
    )
    used = api.delete(f"/qos/policies/{port_policy['id']}")
    assert_error(used, 409, "QosPolicyInUse")
    assert message(used) == f"QoS Policy {port_policy['id']} is used by port {own['id']}."
    used = api.delete(f"/qos/policies/{net_policy['id']}")
    assert message(used) == f"QoS Policy {net_policy['id']} is used by network {network['id']}."
    cleared = api.put(f"/networks/{network['id']}", json={"network": {"qos_policy_id": None}})
    assert cleared.json()["network"]["qos_policy_id"] is None
    shown = api.get(f"/ports/{inheriting['id']}").json()["port"]
    assert shown["qos_network_policy_id"] is None
    assert shown["revision_number"] == inheriting["revision_number"]
    assert api.delete(f"/qos/policies/{net_policy['id']}").status_code == 204


def test_a_network_or_port_names_only_a_policy_there_is(api: httpx.Client) -> None:
    nothing = str(uuid.uuid4())
    response = api.post("/networks", json={"network": {"qos_policy_id": nothing}})
    assert_error(response, 404, "QosPolicyNotFound")
    response = api.post("/networks", json={"network": {"qos_policy_id": "bad"}})
    assert_error(response, 400)
    assert (
        message(response) == "Invalid input for qos_policy_id. Reason: 'bad' is not a valid UUID."
    )
    network = create_network(api)
    response = api.post(
        "/ports", json={"port": {"network_id": network["id"], "qos_policy_id": nothing}}
    )
    assert_error(response, 404, "QosPolicyNotFound")
    assert api.get("/ports", params={"network_id": network["id"]}).json()["ports"] == []


def test_a_member_sees_shared_policies_and_changes_none(api: httpx.Client) -> None:
    private = create_policy(api, name="private")
    shared = create_policy(api, name="shared", shared=True)
    seen = {p["id"] for p in api.get("/qos/policies", headers=MEMBER).json()["policies"]}
    assert shared["id"] in seen
    assert private["id"] not in seen
    refused = api.post("/qos/policies", json={"policy": {"name": "x"}}, headers=MEMBER)
    assert_error(refused, 403, "PolicyNotAuthorized")
    refused = api.post(
        f"/qos/policies/{shared['id']}/dscp_marking_rules",
        json={"dscp_marking_rule": {"dscp_mark": 8}},
        headers=MEMBER,
    )
    assert_error(refused, 403, "PolicyNotAuthorized")
    network = api.post(
        "/networks", json={"network": {"qos_policy_id": shared["id"]}}, headers=MEMBER
    )
    assert network.status_code == 201, network.text
    hidden = api.post(
        "/networks", json={"network": {"qos_policy_id": private["id"]}}, headers=MEMBER
    )
    assert_error(hidden, 404, "QosPolicyNotFound")


def test_the_extensions_are_listed(api: httpx.Client) -> None:
    aliases = {e["alias"] for e in api.get("/extensions").json()["extensions"]}
    assert {"qos", "qos-bw-limit-direction", "qos-default", "qos-rules-alias"} <= aliases


# --- openstacksdk -----------------------------------------------------------------------


@pytest.fixture
def conn(server: ServerProcess) -> Iterator[Connection]:
    connection = openstack.connect(auth_type="none", endpoint=server.url)
    yield connection
    connection.close()


def test_openstacksdk_drives_qos(conn: Connection) -> None:
    policy = conn.network.create_qos_policy(name="sdk", description="by the sdk")
    limit = conn.network.create_qos_bandwidth_limit_rule(
        policy, max_kbps=3000, max_burst_kbps=300, direction="ingress"
    )
    mark = conn.network.create_qos_dscp_marking_rule(policy, dscp_mark=26)
    found = conn.network.get_qos_policy(policy.id)
    assert {r["type"] for r in found.rules} == {"bandwidth_limit", "dscp_marking"}
    assert conn.network.get_qos_bandwidth_limit_rule(limit, policy).max_kbps == 3000
    conn.network.update_qos_dscp_marking_rule(mark, policy, dscp_mark=46)
    assert [r.dscp_mark for r in conn.network.qos_dscp_marking_rules(policy)] == [46]
    assert {t.type for t in conn.network.qos_rule_types()} == {"bandwidth_limit", "dscp_marking"}
    network = conn.network.create_network(name="sdk-qos", qos_policy_id=policy.id)
    assert network.qos_policy_id == policy.id
    conn.network.delete_network(network)
    conn.network.delete_qos_bandwidth_limit_rule(limit, policy, ignore_missing=False)
    conn.network.delete_qos_policy(policy, ignore_missing=False)
    assert conn.network.find_qos_policy(policy.id) is None


def test_what_neutron_refuses_in_a_policy_s_or_rule_s_body(api: httpx.Client) -> None:
    refused = api.post("/qos/policies", json={"policy": {"name": "x", "rules": []}})
    assert_error(refused, 400)
    assert message(refused) == "Attribute 'rules' not allowed in POST"
    policy = create_policy(api, name="bodies")
    null = post_rule(api, policy["id"], "dscp_marking", dscp_mark=None)
    assert_error(null, 400, "InvalidInput")
    assert message(null) == "Invalid input for operation: 'None' is not an integer."
    rule = create_rule(api, policy["id"], "bandwidth_limit", max_kbps=100)
    path = f"/qos/policies/{policy['id']}/bandwidth_limit_rules/{rule['id']}"
    renamed = api.put(path, json={"bandwidth_limit_rule": {"id": "x"}})
    assert_error(renamed, 400)
    assert message(renamed) == "Cannot update read-only attribute id"


def test_a_change_that_changes_nothing_is_no_new_revision(api: httpx.Client) -> None:
    policy = create_policy(api, name="same")
    rule = create_rule(api, policy["id"], "bandwidth_limit", max_kbps=100)
    path = f"/qos/policies/{policy['id']}/bandwidth_limit_rules/{rule['id']}"
    assert api.put(path, json={"bandwidth_limit_rule": {"max_kbps": 100}}).status_code == 200
    same = api.put(f"/qos/policies/{policy['id']}", json={"policy": {"name": "same"}})
    assert same.json()["policy"]["revision_number"] == 1  # the rule's creation only
    assert api.put(path, json={"bandwidth_limit_rule": {"max_kbps": 200}}).status_code == 200
    assert api.get(f"/qos/policies/{policy['id']}").json()["policy"]["revision_number"] == 2


def test_a_policy_is_shared_by_rbac_and_stays_shared_while_another_project_uses_it(
    api: httpx.Client,
) -> None:
    other = str(uuid.uuid4())
    member = {"X-Project-Id": other, "X-Roles": "member"}
    policy = create_policy(api, name="lent")
    grant = api.post(
        "/rbac-policies",
        json={
            "rbac_policy": {
                "object_type": "qos_policy",
                "object_id": policy["id"],
                "action": "access_as_shared",
                "target_tenant": other,
            }
        },
    )
    assert grant.status_code == 201, grant.text
    network = api.post(
        "/networks", json={"network": {"qos_policy_id": policy["id"]}}, headers=member
    )
    assert network.status_code == 201, network.text
    revoked = api.delete(f"/rbac-policies/{grant.json()['rbac_policy']['id']}")
    assert_error(revoked, 409, "RbacPolicyInUse")

    shared = create_policy(api, name="everyone's", shared=True)
    api.post("/networks", json={"network": {"qos_policy_id": shared["id"]}}, headers=member)
    unshared = api.put(f"/qos/policies/{shared['id']}", json={"policy": {"shared": False}})
    assert_error(unshared, 409, "RbacPolicyInUse")
    star = api.get("/rbac-policies", params={"object_id": shared["id"]}).json()["rbac_policies"]
    assert [p["target_tenant"] for p in star] == ["*"]

    alone = create_policy(api, name="alone", shared=True)
    (every,) = api.get("/rbac-policies", params={"object_id": alone["id"]}).json()["rbac_policies"]
    assert api.delete(f"/rbac-policies/{every['id']}").status_code == 204
    after = api.get(f"/qos/policies/{alone['id']}").json()["policy"]
    assert (after["shared"], after["revision_number"]) == (False, 0)  # as Neutron's


def test_a_project_s_manager_makes_and_changes_its_policies_only(api: httpx.Client) -> None:
    project = str(uuid.uuid4())
    manager = {"X-Project-Id": project, "X-Roles": "manager,member,reader"}
    made = api.post(
        "/qos/policies", json={"policy": {"name": "mine", "shared": True}}, headers=manager
    )
    assert made.status_code == 201, made.text
    policy = made.json()["policy"]
    assert policy["project_id"] == project
    rule = api.post(
        f"/qos/policies/{policy['id']}/dscp_marking_rules",
        json={"dscp_marking_rule": {"dscp_mark": 8}},
        headers=manager,
    )
    assert rule.status_code == 201, rule.text
    stranger = {"X-Project-Id": str(uuid.uuid4()), "X-Roles": "manager,member,reader"}
    # as the reference answers another project's manager, who sees the policy shared
    refused = api.put(
        f"/qos/policies/{policy['id']}", json={"policy": {"name": "theirs"}}, headers=stranger
    )
    assert_error(refused, 404, "HTTPNotFound")
    refused = api.delete(f"/qos/policies/{policy['id']}", headers=stranger)
    assert_error(refused, 403, "PolicyNotAuthorized")
    assert message(refused) == "rule:delete_policy is disallowed by policy"
    rules = f"/qos/policies/{policy['id']}/dscp_marking_rules"
    refused = api.post(rules, json={"dscp_marking_rule": {"dscp_mark": 10}}, headers=stranger)
    assert message(refused) == "rule:create_policy_dscp_marking_rule is disallowed by policy"
    one = f"{rules}/{rule.json()['dscp_marking_rule']['id']}"
    refused = api.put(one, json={"dscp_marking_rule": {"dscp_mark": 10}}, headers=stranger)
    assert_error(refused, 404, "HTTPNotFound")
    assert_error(api.delete(one, headers=stranger), 404, "HTTPNotFound")
    member = {"X-Project-Id": project, "X-Roles": "member,reader"}  # its own project's member
    refused = api.put(one, json={"dscp_marking_rule": {"dscp_mark": 10}}, headers=member)
    assert message(refused) == "rule:update_policy_dscp_marking_rule is disallowed by policy"


def test_another_projects_unshared_policy_is_not_found_and_not_usable(api: httpx.Client) -> None:
    """Project isolation, as tests/integration/test_isolation.py holds the other collections
    to it (a member makes no policy, so the policy is made here by an admin for project A)."""
    owner, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    policy = create_policy(api, name="a-only", project_id=owner)
    b = {"X-Project-Id": stranger, "X-Roles": "member,reader"}
    path = f"/qos/policies/{policy['id']}"
    assert_error(api.get(path, headers=b), 404, "QosPolicyNotFound")
    listed = api.get("/qos/policies", headers=b)
    assert policy["id"] not in {p["id"] for p in listed.json()["policies"]}
    for refused in (
        api.put(path, json={"policy": {"name": "b"}}, headers=b),
        api.delete(path, headers=b),
    ):
        assert refused.status_code == 404, refused.text
    network = api.post("/networks", json={"network": {"name": "b-net"}}, headers=b)
    assert network.status_code == 201, network.text
    port = api.post(
        "/ports",
        json={
            "port": {"network_id": network.json()["network"]["id"], "qos_policy_id": policy["id"]}
        },
        headers=b,
    )
    assert_error(port, 404, "QosPolicyNotFound")
    assert api.get(path).json()["policy"]["name"] == "a-only"  # untouched


def test_a_policy_is_tagged_where_neutrons_tag_extension_puts_it(api: httpx.Client) -> None:
    """``/v2.0/policies/{id}/tags``, as neutron-tempest-plugin's TagQosPolicyTestJSON asks."""
    policy = create_policy(api, name="tagged")
    tags = f"/policies/{policy['id']}/tags"
    replaced = api.put(tags, json={"tags": ["gold", "eu"]})
    assert replaced.status_code == 200, replaced.text
    assert sorted(replaced.json()["tags"]) == ["eu", "gold"]
    assert api.put(f"{tags}/silver").status_code == 201
    assert sorted(api.get(tags).json()["tags"]) == ["eu", "gold", "silver"]
    shown = api.get(f"/qos/policies/{policy['id']}").json()["policy"]
    assert sorted(shown["tags"]) == ["eu", "gold", "silver"]
    listed = api.get("/qos/policies", params={"tags": "silver"}).json()["policies"]
    assert [p["id"] for p in listed] == [policy["id"]]
    assert api.delete(tags).status_code == 204
    assert api.get(tags).json()["tags"] == []
    assert api.get(f"/qos/policies/{policy['id']}/tags").status_code == 404


def test_a_member_is_refused_rules_and_rule_type_details_before_any_lookup(
    api: httpx.Client,
) -> None:
    """As neutron-tempest-plugin asks: a member may make rules on no policy, so one of another
    project's policies it cannot see is a 403, not a 404; a rule type's details are an admin's."""
    policy = create_policy(api, name="theirs", project_id=str(uuid.uuid4()))
    member = {"X-Project-Id": str(uuid.uuid4()), "X-Roles": "member,reader"}
    refused = api.post(
        f"/qos/policies/{policy['id']}/bandwidth_limit_rules",
        json={"bandwidth_limit_rule": {"max_kbps": 1, "max_burst_kbps": 2}},
        headers=member,
    )
    assert_error(refused, 403, "PolicyNotAuthorized")
    assert message(refused) == "rule:create_policy_bandwidth_limit_rule is disallowed by policy"
    refused = api.get("/qos/rule-types/bandwidth_limit", headers=member)
    assert_error(refused, 403, "PolicyNotAuthorized")
    assert api.get("/qos/rule-types/bandwidth_limit").status_code == 200  # the admin
    assert api.get("/qos/rule-types", headers=member).status_code == 200
