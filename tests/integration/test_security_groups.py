"""Security groups and rules over real HTTP, as Neutron has them: each project's default group and
its rules (made on first use), CRUD, every rule check with Neutron's status and error type, ports
joining and leaving groups with port security, groups in use, isolation between projects, and
the change log that the goal-state engine will follow."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.neutron import (
    REFERENCE,
    assert_error,
    create_network,
    create_port,
    create_subnet,
    post_port,
)
from tests.servers import ServerProcess

ANY = "0.0.0.0/0"


def as_member(project: str) -> dict[str, str]:
    return {"X-Project-Id": project, "X-Roles": "member"}


@pytest.fixture
def project() -> dict[str, str]:
    """The headers of a member of a fresh project: no default group yet."""
    return as_member(f"sg-{uuid.uuid4().hex[:8]}")


def groups_of(api: httpx.Client, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = api.get("/security-groups", params=params, headers=headers)
    assert response.status_code == 200, response.text
    groups: list[dict[str, Any]] = response.json()["security_groups"]
    return groups


def default_group(api: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    (group,) = groups_of(api, headers, name="default")
    return group


def post_group(api: httpx.Client, headers: dict[str, str], **attributes: Any) -> httpx.Response:
    return api.post("/security-groups", json={"security_group": attributes}, headers=headers)


def create_group(api: httpx.Client, headers: dict[str, str], **attributes: Any) -> dict[str, Any]:
    response = post_group(api, headers, **attributes)
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()["security_group"]
    return group


def post_rule(
    api: httpx.Client, headers: dict[str, str], group_id: str, **attributes: Any
) -> httpx.Response:
    body = {"security_group_rule": {"security_group_id": group_id, **attributes}}
    return api.post("/security-group-rules", json=body, headers=headers)


def create_rule(
    api: httpx.Client, headers: dict[str, str], group_id: str, **attributes: Any
) -> dict[str, Any]:
    response = post_rule(api, headers, group_id, **attributes)
    assert response.status_code == 201, response.text
    rule: dict[str, Any] = response.json()["security_group_rule"]
    return rule


def matching(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule["direction"], rule["ethertype"], rule["protocol"], rule["remote_group_id"])


def reference(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((REFERENCE / name).read_text())
    return body


# --- the default group -------------------------------------------------------------------


def test_a_project_gets_its_default_group_with_neutrons_rules_on_first_list(
    api: httpx.Client, project: dict[str, str]
) -> None:
    (group,) = groups_of(api, project)
    assert group["name"] == "default"
    assert group["description"] == "Default security group"
    assert group["project_id"] == group["tenant_id"] == project["X-Project-Id"]
    assert group["stateful"] is True
    assert group["shared"] is False
    assert sorted(matching(rule) for rule in group["security_group_rules"]) == [
        ("egress", "IPv4", None, None),
        ("egress", "IPv6", None, None),
        ("ingress", "IPv4", None, group["id"]),
        ("ingress", "IPv6", None, group["id"]),
    ]
    for rule in group["security_group_rules"]:
        assert rule["belongs_to_default_sg"] is True
        assert rule["remote_ip_prefix"] is None
        assert rule["security_group_id"] == group["id"]
        assert rule["project_id"] == project["X-Project-Id"]
    assert groups_of(api, project) == [group]  # made once


def test_responses_have_exactly_the_keys_neutron_shows(
    api: httpx.Client, project: dict[str, str]
) -> None:
    group = create_group(api, project, name="web")
    rule = create_rule(
        api,
        project,
        group["id"],
        direction="ingress",
        protocol="tcp",
        port_range_min=80,
        port_range_max=80,
        remote_ip_prefix=ANY,
    )
    expected_group = reference("sg.json")["security_group"]
    expected_rule = reference("sg_rule.json")["security_group_rule"]
    assert list(group) == list(expected_group)
    assert list(rule) == list(expected_rule)
    for listed in default_group(api, project)["security_group_rules"]:
        assert list(listed) == list(expected_rule)
    assert (rule["normalized_cidr"], rule["remote_address_group_id"]) == (ANY, None)
    assert rule["belongs_to_default_sg"] is False


def test_the_default_group_keeps_its_name_and_only_an_admin_deletes_it(
    api: httpx.Client, project: dict[str, str]
) -> None:
    group = default_group(api, project)
    url = f"/security-groups/{group['id']}"
    renamed = api.put(url, json={"security_group": {"name": "other"}}, headers=project)
    assert_error(renamed, 409, "SecurityGroupCannotUpdateDefault")
    assert_error(api.delete(url, headers=project), 409, "SecurityGroupCannotRemoveDefault")
    described = api.put(url, json={"security_group": {"description": "d"}}, headers=project)
    assert described.status_code == 200, described.text
    assert described.json()["security_group"]["name"] == "default"
    # Neutron lets an admin delete it; the project gets a new one on next use.
    assert api.delete(url).status_code == 204
    assert default_group(api, project)["id"] != group["id"]


@pytest.mark.parametrize("name", ["default", "Default"])
def test_no_other_group_may_be_called_default(
    api: httpx.Client, project: dict[str, str], name: str
) -> None:
    assert_error(post_group(api, project, name=name), 409, "SecurityGroupDefaultAlreadyExists")
    group = create_group(api, project, name="g")
    renamed = api.put(
        f"/security-groups/{group['id']}", json={"security_group": {"name": name}}, headers=project
    )
    assert_error(renamed, 409, "SecurityGroupDefaultAlreadyExists")
    assert [g["name"] for g in groups_of(api, project)].count("default") == 1


@pytest.mark.parametrize("name", ["x" * 256, True])
def test_renaming_the_default_group_to_a_bad_name_is_a_400_before_its_409(
    api: httpx.Client, project: dict[str, str], name: object
) -> None:
    """Mirrors neutron-tempest-plugin test_security_groups_negative.NegativeSecGroupTest
    .test_update_security_group_with_too_long_name and _with_boolean_type_name: the name is
    checked before the rule that the default group keeps its own."""
    group = default_group(api, project)
    renamed = api.put(
        f"/security-groups/{group['id']}", json={"security_group": {"name": name}}, headers=project
    )
    assert_error(renamed, 400)
    assert default_group(api, project)["name"] == "default"


def test_an_admin_listing_a_projects_groups_makes_its_default_group(api: httpx.Client) -> None:
    """As Neutron (and neutron-tempest-plugin's ``create_project``, which finds a new
    project's default group so): an admin's ``project_id`` filter names whose default group
    is made on first use."""
    project = f"sg-{uuid.uuid4().hex[:8]}"
    (group,) = groups_of(api, {}, project_id=project)
    assert (group["name"], group["project_id"]) == ("default", project)
    assert groups_of(api, as_member(project)) == [group]


# --- groups ------------------------------------------------------------------------------


def test_create_bulk_sec_groups_with_wrapped_items(
    api: httpx.Client, project: dict[str, str]
) -> None:
    """Mirrors neutron-tempest-plugin test_security_groups.StatefulSecGroupTest
    .test_create_bulk_sec_groups (and StatelessSecGroupTest's): its client sends each item
    wrapped in the singular key, which Neutron takes as it takes bare items."""
    items = [
        {"security_group": {"name": "wrapped-a", "stateful": False}},
        {"name": "bare-b", "stateful": False},
    ]
    response = api.post("/security-groups", json={"security_groups": items}, headers=project)
    assert response.status_code == 201, response.text
    made = response.json()["security_groups"]
    assert [(g["name"], g["stateful"]) for g in made] == [("wrapped-a", False), ("bare-b", False)]
    bad = [{"security_group": {"name": "ok"}}, {"security_group": {"name": "x", "color": "red"}}]
    assert_error(api.post("/security-groups", json={"security_groups": bad}, headers=project), 400)
    assert "ok" not in [g["name"] for g in groups_of(api, project)]


def test_a_new_group_may_reach_anywhere_and_is_stateful_unless_told(
    api: httpx.Client, project: dict[str, str]
) -> None:
    group = create_group(api, project, name="web", description="front", tags=["b", "a"])
    assert (group["name"], group["description"], group["stateful"]) == ("web", "front", True)
    assert group["tags"] == ["a", "b"]
    assert group["revision_number"] == 1
    assert sorted(matching(rule) for rule in group["security_group_rules"]) == [
        ("egress", "IPv4", None, None),
        ("egress", "IPv6", None, None),
    ]
    assert create_group(api, project, stateful=False)["stateful"] is False
    # creating a group also made the project's default one
    assert sorted(g["name"] for g in groups_of(api, project)) == ["", "default", "web"]


def test_show_update_delete(api: httpx.Client, project: dict[str, str]) -> None:
    group = create_group(api, project, name="g")
    url = f"/security-groups/{group['id']}"
    assert api.get(url, headers=project).json()["security_group"] == group
    change = {"name": "h", "description": "d", "stateful": False}
    response = api.put(url, json={"security_group": change}, headers=project)
    assert response.status_code == 200, response.text
    updated = response.json()["security_group"]
    assert {key: updated[key] for key in change} == change
    assert updated["revision_number"] == group["revision_number"] + 1
    rule_ids = [rule["id"] for rule in group["security_group_rules"]]
    assert api.delete(url, headers=project).status_code == 204
    assert_error(api.get(url, headers=project), 404, "SecurityGroupNotFound")
    assert_error(api.delete(url, headers=project), 404, "SecurityGroupNotFound")
    for rule_id in rule_ids:  # a group's rules go with it
        assert_error(api.get(f"/security-group-rules/{rule_id}"), 404, "SecurityGroupRuleNotFound")


@pytest.mark.parametrize(
    "body",
    [{"name": 3}, {"stateful": "maybe"}, {"security_group_rules": []}, {"shared": True}],
)
def test_bad_group_bodies_are_400(
    api: httpx.Client, project: dict[str, str], body: dict[str, Any]
) -> None:
    assert_error(post_group(api, project, **body), 400)


def test_list_filters_sorts_pages_and_picks_fields(
    api: httpx.Client, project: dict[str, str]
) -> None:
    for name in ("c", "a", "b"):
        create_group(api, project, name=name, tags=[name])
    stateless = create_group(api, project, name="s", stateful=False)
    names = [g["name"] for g in groups_of(api, project, sort_key="name", sort_dir="desc")]
    assert names == ["s", "default", "c", "b", "a"]
    assert [g["id"] for g in groups_of(api, project, stateful="false")] == [stateless["id"]]
    assert [g["name"] for g in groups_of(api, project, tags="b")] == ["b"]
    (shown,) = groups_of(api, project, name="a", fields=["id", "name"])
    assert set(shown) == {"id", "name"}
    page = api.get(
        "/security-groups", params={"limit": 2, "sort_key": "name"}, headers=project
    ).json()
    assert [g["name"] for g in page["security_groups"]] == ["a", "b"]
    assert [link["rel"] for link in page["security_groups_links"]] == ["next", "previous"]
    assert_error(api.get("/security-groups", params={"color": "red"}, headers=project), 400)


# --- rules -------------------------------------------------------------------------------


@pytest.fixture
def group(api: httpx.Client, project: dict[str, str]) -> dict[str, Any]:
    return create_group(api, project, name="rules")


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ({"protocol": "TCP", "port_range_min": 22, "port_range_max": 22}, {"protocol": "tcp"}),
        (
            {"protocol": 6, "port_range_min": 1, "port_range_max": 65535},
            {"protocol": "6", "port_range_min": None, "port_range_max": None},
        ),
        ({"protocol": "any"}, {"protocol": None}),
        ({"protocol": "icmp", "port_range_min": 8, "port_range_max": 0}, {"protocol": "icmp"}),
        ({"protocol": "132", "port_range_min": 5, "port_range_max": 9}, {"protocol": "132"}),
        ({"protocol": "gre"}, {"protocol": "gre"}),
        (
            {"ethertype": "ipv6", "protocol": "icmpv6"},
            {"ethertype": "IPv6", "protocol": "ipv6-icmp"},
        ),
        ({"ethertype": "IPv6", "protocol": "1"}, {"protocol": "58"}),
        (
            {"remote_ip_prefix": "10.0.0.7/24"},
            {"remote_ip_prefix": "10.0.0.7/24", "normalized_cidr": "10.0.0.0/24"},
        ),
        ({"remote_ip_prefix": "10.0.0.7"}, {"remote_ip_prefix": "10.0.0.7/32"}),
        (
            {"ethertype": "IPv6", "remote_ip_prefix": "2001:db8::1/64"},
            {"remote_ip_prefix": "2001:db8::1/64", "normalized_cidr": "2001:db8::/64"},
        ),
        ({"description": "ssh"}, {"description": "ssh", "ethertype": "IPv4"}),
    ],
)
def test_rules_are_stored_as_neutron_normalises_them(
    api: httpx.Client,
    project: dict[str, str],
    group: dict[str, Any],
    sent: dict[str, Any],
    stored: dict[str, Any],
) -> None:
    rule = create_rule(api, project, group["id"], direction="ingress", **sent)
    assert {key: rule[key] for key in stored} == stored
    assert api.get(f"/security-group-rules/{rule['id']}", headers=project).json() == {
        "security_group_rule": rule
    }


def test_a_project_listing_its_rules_first_gets_its_default_group(
    api: httpx.Client, project: dict[str, str]
) -> None:
    """As Neutron: listing rules makes the project's default group first (what
    neutron-tempest-plugin's rule quota tests count on: the rules they count before making
    theirs include the default group's)."""
    listed = api.get("/security-group-rules", headers=project).json()["security_group_rules"]
    default = default_group(api, project)
    assert {r["id"] for r in listed} == {r["id"] for r in default["security_group_rules"]}
    assert len(listed) == 4


def test_rules_filter_on_normalized_cidr_and_belonging_to_the_default_group(
    api: httpx.Client, project: dict[str, str], group: dict[str, Any]
) -> None:
    """``security-groups-normalized-cidr`` and ``security-groups-rules-belongs-to-default-sg``:
    both are attributes Neutron lets clients filter on (its own filters on them are ignored;
    here they select)."""
    rule = create_rule(
        api, project, group["id"], direction="ingress", remote_ip_prefix="10.4.0.9/16"
    )
    default = default_group(api, project)

    def listed(**params: Any) -> set[str]:
        response = api.get("/security-group-rules", params=params, headers=project)
        assert response.status_code == 200, response.text
        return {r["id"] for r in response.json()["security_group_rules"]}

    assert listed(normalized_cidr="10.4.0.0/16") == {rule["id"]}
    assert listed(remote_ip_prefix="10.4.0.9/16") == {rule["id"]}
    in_default = {r["id"] for r in default["security_group_rules"]}
    assert listed(belongs_to_default_sg="true") == in_default
    assert rule["id"] in listed(belongs_to_default_sg="false")
    assert not listed(belongs_to_default_sg="false") & in_default


@pytest.mark.parametrize(
    ("sent", "status", "error_type"),
    [
        ({"direction": "sideways"}, 400, None),
        ({"ethertype": "IPv5"}, 400, None),
        ({"protocol": "tcpp"}, 400, "SecurityGroupRuleInvalidProtocol"),
        ({"protocol": 256}, 400, "SecurityGroupRuleInvalidProtocol"),
        ({"protocol": -1}, 400, "SecurityGroupRuleInvalidProtocol"),
        ({"protocol": True}, 400, None),
        (
            {"port_range_min": 80, "port_range_max": 80},
            400,
            "SecurityGroupProtocolRequiredWithPorts",
        ),
        (
            {"protocol": "tcp", "port_range_min": 90, "port_range_max": 80},
            400,
            "SecurityGroupInvalidPortRange",
        ),
        ({"protocol": "tcp", "port_range_min": 80}, 400, "SecurityGroupInvalidPortRange"),
        (
            {"protocol": "udp", "port_range_min": 0, "port_range_max": 80},
            400,
            "SecurityGroupInvalidPortValue",
        ),
        (
            {"protocol": "tcp", "port_range_min": 1, "port_range_max": 65536},
            400,
            "SecurityGroupInvalidPortValue",
        ),
        (
            {"protocol": "tcp", "port_range_min": 2**70, "port_range_max": 2**70},
            400,
            None,
        ),
        (
            {"protocol": "icmp", "port_range_min": 256, "port_range_max": 0},
            400,
            "SecurityGroupInvalidIcmpValue",
        ),
        (
            {"protocol": "icmp", "port_range_min": 8, "port_range_max": 300},
            400,
            "SecurityGroupInvalidIcmpValue",
        ),
        ({"protocol": "icmp", "port_range_max": 0}, 400, "SecurityGroupMissingIcmpType"),
        (
            {"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
            400,
            "SecurityGroupInvalidProtocolForPortRange",
        ),
        ({"protocol": "icmpv6"}, 400, "SecurityGroupEthertypeConflictWithProtocol"),
        ({"remote_ip_prefix": "::/0"}, 400, "SecurityGroupRuleParameterConflict"),
        (
            {"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
            400,
            "SecurityGroupRuleParameterConflict",
        ),
        ({"remote_ip_prefix": "10.0.0.0/33"}, 400, None),
        ({"remote_ip_prefix": "nowhere"}, 400, None),
        (
            {"remote_ip_prefix": ANY, "remote_group_id": "SELF"},
            400,
            "SecurityGroupMultipleRemoteEntites",
        ),
        ({"remote_group_id": str(uuid.uuid4())}, 404, "SecurityGroupNotFound"),
        ({"remote_address_group_id": "x"}, 404, "AddressGroupNotFound"),
        ({"protocol": "ipv6-opts"}, 400, "SecurityGroupEthertypeConflictWithProtocol"),
        ({"protocol": "41"}, 400, "SecurityGroupEthertypeConflictWithProtocol"),
        ({"name": "r"}, 400, None),
        ({"tags": ["t"]}, 400, None),
    ],
)
def test_bad_rules_get_neutrons_error_and_change_nothing(
    api: httpx.Client,
    project: dict[str, str],
    group: dict[str, Any],
    sent: dict[str, Any],
    status: int,
    error_type: str | None,
) -> None:
    body = {"direction": "ingress", **sent}
    if body.get("remote_group_id") == "SELF":
        body["remote_group_id"] = group["id"]
    assert_error(post_rule(api, project, group["id"], **body), status, error_type)
    after = api.get(f"/security-groups/{group['id']}", headers=project).json()["security_group"]
    assert after == group


def test_a_rule_needs_an_existing_group_and_a_direction(
    api: httpx.Client, project: dict[str, str]
) -> None:
    missing = str(uuid.uuid4())
    assert_error(
        post_rule(api, project, missing, direction="ingress"), 404, "SecurityGroupNotFound"
    )
    body = {"security_group_rule": {"direction": "ingress"}}
    assert_error(api.post("/security-group-rules", json=body, headers=project), 400)
    group = create_group(api, project)
    assert_error(post_rule(api, project, group["id"]), 400)


def test_the_same_rule_twice_is_a_conflict(
    api: httpx.Client, project: dict[str, str], group: dict[str, Any]
) -> None:
    ssh = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
    rule = create_rule(api, project, group["id"], **ssh)
    again = post_rule(api, project, group["id"], **ssh)
    assert_error(again, 409, "SecurityGroupRuleExists")
    assert rule["id"] in again.json()["NeutronError"]["message"]
    # the same by protocol number, and a default egress rule sent again
    by_number = post_rule(api, project, group["id"], **{**ssh, "protocol": "6", "description": "x"})
    assert_error(by_number, 409, "SecurityGroupRuleExists")
    assert_error(post_rule(api, project, group["id"], direction="egress"), 409)
    # another port, another direction or another remote is another rule
    create_rule(api, project, group["id"], **{**ssh, "port_range_max": 23})
    create_rule(api, project, group["id"], **{**ssh, "direction": "egress"})
    create_rule(api, project, group["id"], **ssh, remote_group_id=group["id"])


def test_bulk_rules_are_all_or_nothing(
    api: httpx.Client, project: dict[str, str], group: dict[str, Any]
) -> None:
    icmp = {"security_group_id": group["id"], "direction": "ingress", "protocol": "icmp"}
    http = {**icmp, "protocol": "tcp", "port_range_min": 80, "port_range_max": 80}
    bad = api.post(
        "/security-group-rules", json={"security_group_rules": [icmp, http, icmp]}, headers=project
    )
    assert_error(bad, 409, "SecurityGroupRuleExists")
    assert (
        api.get(f"/security-groups/{group['id']}", headers=project).json()["security_group"]
        == group
    )
    good = api.post(
        "/security-group-rules", json={"security_group_rules": [icmp, http]}, headers=project
    )
    assert good.status_code == 201, good.text
    assert [r["protocol"] for r in good.json()["security_group_rules"]] == ["icmp", "tcp"]


def test_rules_change_their_groups_revision_and_cannot_be_updated(
    api: httpx.Client, project: dict[str, str], group: dict[str, Any]
) -> None:
    url = f"/security-groups/{group['id']}"
    rule = create_rule(api, project, group["id"], direction="ingress", protocol="udp")
    assert api.get(url, headers=project).json()["security_group"]["revision_number"] == 2
    rule_url = f"/security-group-rules/{rule['id']}"
    assert_error(
        api.put(rule_url, json={"security_group_rule": {"description": "x"}}, headers=project),
        405,
    )
    assert api.delete(rule_url, headers=project).status_code == 204
    assert_error(api.delete(rule_url, headers=project), 404, "SecurityGroupRuleNotFound")
    shown = api.get(url, headers=project).json()["security_group"]
    assert shown["revision_number"] == 3
    assert rule["id"] not in [r["id"] for r in shown["security_group_rules"]]


def test_rules_of_the_default_group_may_be_deleted(
    api: httpx.Client, project: dict[str, str]
) -> None:
    group = default_group(api, project)
    rule = group["security_group_rules"][0]
    deleted = api.delete(f"/security-group-rules/{rule['id']}", headers=project)
    assert deleted.status_code == 204
    assert len(default_group(api, project)["security_group_rules"]) == 3


def test_rule_list_filters_sorts_and_pages(
    api: httpx.Client, project: dict[str, str], group: dict[str, Any]
) -> None:
    for port in (443, 80, 8080):
        create_rule(
            api,
            project,
            group["id"],
            direction="ingress",
            protocol="tcp",
            port_range_min=port,
            port_range_max=port,
        )
    params: dict[str, Any] = {
        "security_group_id": group["id"],
        "direction": "ingress",
        "sort_key": "port_range_min",
    }
    listed = api.get("/security-group-rules", params=params, headers=project).json()
    assert [r["port_range_min"] for r in listed["security_group_rules"]] == [80, 443, 8080]
    page = api.get(
        "/security-group-rules", params={**params, "limit": 2, "fields": "id"}, headers=project
    ).json()
    assert [set(r) for r in page["security_group_rules"]] == [{"id"}, {"id"}]
    assert "security_group_rules_links" in page
    by_port = api.get(
        "/security-group-rules", params={"port_range_max": 443}, headers=project
    ).json()["security_group_rules"]
    assert len(by_port) == 1
    assert_error(api.get("/security-group-rules", params={"name": "x"}, headers=project), 400)


def test_deleting_a_group_deletes_the_rules_naming_it_as_remote(
    api: httpx.Client, project: dict[str, str]
) -> None:
    web, db = create_group(api, project, name="web"), create_group(api, project, name="db")
    rule = create_rule(
        api,
        project,
        db["id"],
        direction="ingress",
        protocol="tcp",
        port_range_min=5432,
        port_range_max=5432,
        remote_group_id=web["id"],
    )
    assert api.delete(f"/security-groups/{web['id']}", headers=project).status_code == 204
    assert_error(api.get(f"/security-group-rules/{rule['id']}", headers=project), 404)


# --- ports -------------------------------------------------------------------------------


@pytest.fixture
def network(api: httpx.Client, project: dict[str, str]) -> dict[str, Any]:
    network = create_network(api, project_id=project["X-Project-Id"])
    create_subnet(api, network["id"], "10.9.0.0/24", project_id=project["X-Project-Id"])
    return network


def test_a_port_joins_its_projects_default_group(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    port = create_port(api, network["id"], project_id=project["X-Project-Id"])
    assert port["security_groups"] == [default_group(api, project)["id"]]
    listed = groups_of(api, project)
    assert len(listed) == 1  # the port made it; listing did not make another


def test_without_port_security_a_port_has_no_groups(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    port = create_port(api, network["id"], port_security_enabled=False)
    assert port["security_groups"] == []
    insecure = create_network(api, port_security_enabled=False)
    assert create_port(api, insecure["id"])["security_groups"] == []
    dhcp = create_port(api, network["id"], device_owner="network:dhcp")
    assert dhcp["security_groups"] == []


def test_ports_name_groups_and_change_them(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    a, b = create_group(api, project, name="a"), create_group(api, project, name="b")
    twice = {"network_id": network["id"], "security_groups": [a["id"], b["id"], a["id"]]}
    assert_error(api.post("/ports", json={"port": twice}, headers=project), 400)  # as Neutron
    body = {"network_id": network["id"], "security_groups": [a["id"], b["id"]]}
    response = api.post("/ports", json={"port": body}, headers=project)
    assert response.status_code == 201, response.text
    port = response.json()["port"]
    assert port["security_groups"] == [a["id"], b["id"]]
    url = f"/ports/{port['id']}"
    moved = api.put(url, json={"port": {"security_groups": [b["id"]]}}, headers=project)
    assert moved.json()["port"]["security_groups"] == [b["id"]]
    assert api.delete(f"/security-groups/{a['id']}", headers=project).status_code == 204
    assert_error(api.delete(f"/security-groups/{b['id']}", headers=project), 409)
    renamed = api.put(url, json={"port": {"name": "kept"}}, headers=project).json()["port"]
    assert renamed["security_groups"] == [b["id"]]
    cleared = api.put(url, json={"port": {"security_groups": []}}, headers=project)
    assert cleared.json()["port"]["security_groups"] == []
    assert api.delete(f"/security-groups/{b['id']}", headers=project).status_code == 204


def test_a_group_in_use_cannot_be_deleted_nor_change_statefulness(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    group = create_group(api, project, name="used")
    port = create_port(api, network["id"], security_groups=[group["id"]])
    url = f"/security-groups/{group['id']}"
    assert_error(api.delete(url, headers=project), 409, "SecurityGroupInUse")
    stateless = api.put(url, json={"security_group": {"stateful": False}}, headers=project)
    assert_error(stateless, 409, "SecurityGroupInUse")
    renamed = api.put(url, json={"security_group": {"name": "still"}}, headers=project)
    assert renamed.status_code == 200, renamed.text
    assert api.delete(f"/ports/{port['id']}").status_code == 204
    assert api.delete(url, headers=project).status_code == 204


def test_a_port_has_stateful_or_stateless_groups_never_both(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    stateful = create_group(api, project, name="tracked")
    stateless = create_group(api, project, name="untracked", stateful=False)
    both = post_port(api, network["id"], security_groups=[stateful["id"], stateless["id"]])
    assert_error(both, 409, "SecurityGroupConflict")
    assert "both stateful and stateless" in both.json()["NeutronError"]["message"]
    port = create_port(api, network["id"], security_groups=[stateless["id"]])
    url = f"/ports/{port['id']}"
    mixed = api.put(url, json={"port": {"security_groups": [stateless["id"], stateful["id"]]}})
    assert_error(mixed, 409, "SecurityGroupConflict")
    assert api.get(url).json()["port"] == port  # nothing half-written
    swapped = api.put(url, json={"port": {"security_groups": [stateful["id"]]}})
    assert swapped.status_code == 200, swapped.text


def test_ports_name_only_groups_that_exist(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    missing = str(uuid.uuid4())
    created = post_port(api, network["id"], security_groups=[missing])
    assert_error(created, 404, "SecurityGroupNotFound")
    port = create_port(api, network["id"])
    updated = api.put(f"/ports/{port['id']}", json={"port": {"security_groups": [missing]}})
    assert_error(updated, 404, "SecurityGroupNotFound")
    assert api.get(f"/ports/{port['id']}").json()["port"] == port


def test_groups_need_port_security(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    group = create_group(api, project)
    both = post_port(api, network["id"], security_groups=[group["id"]], port_security_enabled=False)
    assert_error(both, 400, "PortSecurityAndIPRequiredForSecurityGroups")
    port = create_port(api, network["id"], security_groups=[group["id"]])
    url = f"/ports/{port['id']}"
    off = api.put(url, json={"port": {"port_security_enabled": False}})
    assert_error(off, 409, "PortSecurityPortHasSecurityGroup")
    off_with = {"port_security_enabled": False, "security_groups": [group["id"]]}
    assert_error(
        api.put(url, json={"port": off_with}), 400, "PortSecurityAndIPRequiredForSecurityGroups"
    )
    assert api.get(url).json()["port"] == port
    cleared = api.put(url, json={"port": {"port_security_enabled": False, "security_groups": []}})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["port"]["security_groups"] == []
    regroup = api.put(url, json={"port": {"security_groups": [group["id"]]}})
    assert_error(regroup, 400, "PortSecurityAndIPRequiredForSecurityGroups")


def test_address_pairs_need_port_security(api: httpx.Client, network: dict[str, Any]) -> None:
    pairs = [{"ip_address": "10.9.0.200"}]
    refused = post_port(
        api, network["id"], port_security_enabled=False, allowed_address_pairs=pairs
    )
    assert_error(refused, 409, "AddressPairAndPortSecurityRequired")
    port = create_port(api, network["id"], allowed_address_pairs=pairs)
    off = {"port_security_enabled": False, "security_groups": []}
    assert_error(api.put(f"/ports/{port['id']}", json={"port": off}), 409)


def test_a_failed_bulk_port_create_makes_no_default_group(
    api: httpx.Client, server: ServerProcess, project: dict[str, str], network: dict[str, Any]
) -> None:
    ports = [{"network_id": network["id"]}, {"network_id": str(uuid.uuid4())}]
    refused = api.post("/ports", json={"ports": ports}, headers=project)
    assert_error(refused, 404, "NetworkNotFound")
    # (listing groups or rules would make it: read the store)
    made = server.query(
        "SELECT id FROM security_groups WHERE project_id = :project",
        project=project["X-Project-Id"],
    )
    assert list(made) == []


def test_a_port_joins_the_new_default_group_after_an_admin_deleted_the_old_one(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    first = api.post("/ports", json={"port": {"network_id": network["id"]}}, headers=project)
    (old,) = first.json()["port"]["security_groups"]
    api.delete(f"/ports/{first.json()['port']['id']}", headers=project)
    assert api.delete(f"/security-groups/{old}").status_code == 204
    second = api.post("/ports", json={"port": {"network_id": network["id"]}}, headers=project)
    assert second.status_code == 201, second.text
    (new,) = second.json()["port"]["security_groups"]
    assert new != old
    assert new == default_group(api, project)["id"]


def test_security_group_recreated_on_port_update(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    """Mirrors neutron-tempest-plugin admin/test_security_groups.SecGroupAdminTest
    .test_security_group_recreated_on_port_update: a port update makes the project's default
    group again once an admin deleted it."""
    port = create_port(api, network["id"], project_id=project["X-Project-Id"], security_groups=[])
    assert api.delete(f"/security-groups/{default_group(api, project)['id']}").status_code == 204
    updated = api.put(f"/ports/{port['id']}", json={"port": {"name": "update"}}, headers=project)
    assert updated.status_code == 200, updated.text
    rows = api.get("/security-groups", params={"name": "default"}).json()["security_groups"]
    assert project["X-Project-Id"] in {g["project_id"] for g in rows}


def test_ports_are_filtered_by_their_security_groups(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    """``port-security-groups-filtering``, as Neutron's ``_get_ports_query``: the ports in any
    of the groups named, within what the caller sees."""
    a, b = create_group(api, project, name="a"), create_group(api, project, name="b")
    in_a = create_port(api, network["id"], project_id=project["X-Project-Id"],
                       security_groups=[a["id"]])  # fmt: skip
    in_both = create_port(api, network["id"], project_id=project["X-Project-Id"],
                          security_groups=[a["id"], b["id"]])  # fmt: skip
    create_port(api, network["id"], project_id=project["X-Project-Id"])  # the default group

    def listed(*groups: str, headers: dict[str, str] = project) -> set[str]:
        response = api.get("/ports", params={"security_groups": list(groups)}, headers=headers)
        assert response.status_code == 200, response.text
        return {port["id"] for port in response.json()["ports"]}

    assert listed(a["id"]) == {in_a["id"], in_both["id"]}
    assert listed(b["id"]) == {in_both["id"]}
    assert listed(a["id"], b["id"]) == {in_a["id"], in_both["id"]}
    assert listed(str(uuid.uuid4())) == set()
    assert listed(a["id"], headers=as_member("someone-else")) == set()
    paged = api.get(
        "/ports", params={"security_groups": a["id"], "limit": 1, "sort_key": "id"}, headers=project
    )
    assert len(paged.json()["ports"]) == 1


def test_assign_sec_group_twice(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    """Mirrors neutron-tempest-plugin test_security_groups_negative.NegativeSecGroupTest
    .test_assign_sec_group_twice: a group named twice is a 400 and changes nothing."""
    port = create_port(api, network["id"], project_id=project["X-Project-Id"])
    group = create_group(api, project, name="twice")
    body = {"port": {"security_groups": [group["id"], group["id"]]}}
    assert_error(api.put(f"/ports/{port['id']}", json=body, headers=project), 400)
    shown = api.get(f"/ports/{port['id']}", headers=project).json()["port"]
    assert shown["security_groups"] == port["security_groups"]


def test_after_a_failed_bulk_a_port_gets_a_default_group_that_exists(
    api: httpx.Client, project: dict[str, str], network: dict[str, Any]
) -> None:
    """The group a rolled-back create made is not remembered as the project's default."""
    elsewhere = {"fixed_ips": [{"ip_address": "10.99.0.5"}]}  # refused after the first port
    ports = [{"network_id": network["id"]}, {"network_id": network["id"], **elsewhere}]
    assert_error(api.post("/ports", json={"ports": ports}, headers=project), 400)
    made = api.post("/ports", json={"port": {"network_id": network["id"]}}, headers=project)
    assert made.status_code == 201, made.text
    (group_id,) = made.json()["port"]["security_groups"]
    assert api.get(f"/security-groups/{group_id}", headers=project).status_code == 200


# --- projects ----------------------------------------------------------------------------


def test_projects_see_and_use_only_their_own_groups(
    api: httpx.Client, project: dict[str, str]
) -> None:
    other = as_member(f"sg-{uuid.uuid4().hex[:8]}")
    mine = create_group(api, project, name="mine")
    theirs = create_group(api, other, name="theirs")
    assert {g["name"] for g in groups_of(api, other)} == {"default", "theirs"}
    assert_error(api.get(f"/security-groups/{mine['id']}", headers=other), 404)
    assert_error(api.delete(f"/security-groups/{mine['id']}", headers=other), 404)
    assert_error(post_rule(api, other, mine["id"], direction="ingress"), 404)
    remote = post_rule(api, project, mine["id"], direction="ingress", remote_group_id=theirs["id"])
    assert_error(remote, 404, "SecurityGroupNotFound")
    rule_id = mine["security_group_rules"][0]["id"]
    assert_error(api.get(f"/security-group-rules/{rule_id}", headers=other), 404)
    assert_error(api.delete(f"/security-group-rules/{rule_id}", headers=other), 404)
    other_rules = api.get("/security-group-rules", headers=other).json()["security_group_rules"]
    assert {r["project_id"] for r in other_rules} == {other["X-Project-Id"]}
    network = api.post("/networks", json={"network": {}}, headers=other).json()["network"]
    body = {"network_id": network["id"], "security_groups": [mine["id"]]}
    assert_error(api.post("/ports", json={"port": body}, headers=other), 404)
    # an admin sees them all and may use any
    assert api.get(f"/security-groups/{mine['id']}").status_code == 200


def test_a_member_may_not_create_for_another_project(
    api: httpx.Client, project: dict[str, str]
) -> None:
    refused = post_group(api, project, project_id="someone-else")
    assert_error(refused, 400, "HTTPBadRequest")  # Neutron's API layer refuses it first


# --- discovery and the change log --------------------------------------------------------


def test_extensions_are_listed(api: httpx.Client) -> None:
    aliases = {e["alias"] for e in api.get("/extensions").json()["extensions"]}
    assert {"security-group", "stateful-security-group", "port-security"} <= aliases
    resources = api.get("").json()["resources"]
    links = {r["collection"]: r["links"][0]["href"] for r in resources}
    assert links["security_groups"].endswith("/v2.0/security-groups")
    assert links["security_group_rules"].endswith("/v2.0/security-group-rules")


def test_rules_and_memberships_land_in_the_change_log(
    api: httpx.Client, server: ServerProcess, project: dict[str, str], network: dict[str, Any]
) -> None:
    group = create_group(api, project, name="logged")
    rule = create_rule(api, project, group["id"], direction="ingress", protocol="tcp")
    port = create_port(api, network["id"], security_groups=[group["id"]])
    api.put(f"/ports/{port['id']}", json={"port": {"security_groups": []}})
    rows = server.query(
        "SELECT resource_type, resource_id, operation, data FROM change_log "
        "WHERE resource_id IN (:group, :rule, :port) ORDER BY revision",
        group=group["id"],
        rule=rule["id"],
        port=port["id"],
    )
    logged = [(kind, operation) for kind, _id, operation, _data in rows]
    assert logged == [
        ("security_group", "create"),
        ("security_group_rule", "create"),
        ("security_group", "update"),  # the rule bumped its group's revision
        ("port", "create"),
        ("port", "update"),
    ]
    port_data = [json.loads(data)["security_groups"] for kind, _, _, data in rows if kind == "port"]
    assert port_data == [[group["id"]], []]
