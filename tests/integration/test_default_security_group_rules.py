"""The templates of new groups' rules (``security-groups-default-rules``) over real HTTP: the four
Neutron seeds, admin-only create and delete, Neutron's duplicate checks, and new default and
other groups made from them. Each test mirrors the neutron-tempest-plugin test its docstring
names (``admin/test_default_security_group_rules.DefaultSecurityGroupRuleTest``)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.neutron import assert_error

KEYS = [
    "direction",
    "ethertype",
    "remote_group_id",
    "protocol",
    "remote_ip_prefix",
    "remote_address_group_id",
    "port_range_max",
    "port_range_min",
    "used_in_default_sg",
    "used_in_non_default_sg",
    "description",
]
LEGACY_EGRESS = "Legacy default SG rule for egress traffic"
LEGACY_INGRESS = "Legacy default SG rule for ingress traffic"


def relevant(rule: dict[str, Any], keys: list[str] = KEYS) -> dict[str, Any]:
    return {key: rule[key] for key in keys}


def templates(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/default-security-group-rules", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["default_security_group_rules"]
    return found


def post_template(
    api: httpx.Client, headers: dict[str, str] | None = None, **rule: Any
) -> httpx.Response:
    body = {"default_security_group_rule": rule}
    return api.post("/default-security-group-rules", json=body, headers=headers or {})


@pytest.fixture
def made(api: httpx.Client) -> Iterator[list[str]]:
    """Templates a test makes, deleted after it (the server is shared by the module)."""
    ids: list[str] = []
    yield ids
    for template_id in ids:
        api.delete(f"/default-security-group-rules/{template_id}")


def create_template(api: httpx.Client, made: list[str], **rule: Any) -> dict[str, Any]:
    response = post_template(api, **rule)
    assert response.status_code == 201, response.text
    template: dict[str, Any] = response.json()["default_security_group_rule"]
    made.append(template["id"])
    return template


def tcp(port: int, *, in_default: bool, in_others: bool) -> dict[str, Any]:
    return {
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "port_range_min": port,
        "port_range_max": port,
        "used_in_default_sg": in_default,
        "used_in_non_default_sg": in_others,
    }


def test_legacy_default_sg_rules_created_by_default(api: httpx.Client) -> None:
    """Mirrors test_legacy_default_sg_rules_created_by_default: the four rules every group got
    before templates existed, with their descriptions."""
    none = dict.fromkeys(
        ["protocol", "remote_ip_prefix", "remote_address_group_id", "port_range_max",
         "port_range_min"]
    )  # fmt: skip
    expected = [
        {**none, "direction": "egress", "ethertype": ethertype, "remote_group_id": None,
         "used_in_default_sg": True, "used_in_non_default_sg": True, "description": LEGACY_EGRESS}
        for ethertype in ("IPv4", "IPv6")
    ] + [
        {**none, "direction": "ingress", "ethertype": ethertype, "remote_group_id": "PARENT",
         "used_in_default_sg": True, "used_in_non_default_sg": False,
         "description": LEGACY_INGRESS}
        for ethertype in ("IPv4", "IPv6")
    ]  # fmt: skip
    listed = [relevant(t) for t in templates(api)]
    for rule in expected:
        assert rule in listed


def test_default_security_group_rule_lifecycle(api: httpx.Client, made: list[str]) -> None:
    """Mirrors test_default_security_group_rule_lifecycle."""
    port = random.randint(1, 65535)
    rule = {**tcp(port, in_default=False, in_others=True), "description": f"tcp {port}"}
    template = create_template(api, made, **rule)
    expected = {**rule, "remote_group_id": None, "remote_ip_prefix": None,
                "remote_address_group_id": None}  # fmt: skip
    assert relevant(template) == expected
    url = f"/default-security-group-rules/{template['id']}"
    shown = api.get(url).json()["default_security_group_rule"]
    assert shown == template
    assert list(shown) == [
        "id",
        "ethertype",
        "direction",
        "protocol",
        "port_range_min",
        "port_range_max",
        "remote_ip_prefix",
        "remote_address_group_id",
        "remote_group_id",
        "description",
        "used_in_default_sg",
        "used_in_non_default_sg",
    ]  # the reference Neutron's keys, in its order
    assert api.delete(url).status_code == 204
    assert_error(api.get(url), 404, "DefaultSecurityGroupRuleNotFound")
    assert_error(api.delete(url), 404, "DefaultSecurityGroupRuleNotFound")


def test_create_duplicate_default_security_group_rule_different_templates(
    api: httpx.Client, made: list[str]
) -> None:
    """Mirrors test_create_duplicate_default_security_group_rule_different_templates: a rule
    already used for the same kind of group is a 409, whatever the other flag says."""
    port = random.randint(1, 65535)
    create_template(api, made, **tcp(port, in_default=True, in_others=True))
    for in_default, in_others in ((True, False), (False, True)):
        again = post_template(api, **tcp(port, in_default=in_default, in_others=in_others))
        assert_error(again, 409, "DefaultSecurityGroupRuleExists")


def test_create_same_default_security_group_rule_for_different_templates(
    api: httpx.Client, made: list[str]
) -> None:
    """Mirrors test_create_same_default_security_group_rule_for_different_templates."""
    port = random.randint(1, 65535)
    create_template(api, made, **tcp(port, in_default=True, in_others=False))
    create_template(api, made, **tcp(port, in_default=False, in_others=True))
    listed = [relevant(t) for t in templates(api)]
    for in_default in (True, False):
        rule = {**tcp(port, in_default=in_default, in_others=not in_default), "description": "",
                "remote_group_id": None, "remote_ip_prefix": None,
                "remote_address_group_id": None}  # fmt: skip
        assert rule in listed


def test_security_group_rules_created_from_default_sg_rules_template(
    api: httpx.Client, made: list[str]
) -> None:
    """Mirrors test_security_group_rules_created_from_default_sg_rules_template: a new project's
    default group (made when an admin lists its groups) and its other new groups get a rule
    like each template for their kind; ``PARENT`` is the group itself."""
    port = random.randint(1, 65535)
    create_template(api, made, **tcp(port, in_default=True, in_others=False))
    create_template(api, made, **{**tcp(port + 1 if port < 65535 else 1, in_default=False,
                                        in_others=True), "remote_group_id": "PARENT"})  # fmt: skip
    project = f"tpl-{uuid.uuid4().hex[:8]}"
    listed = api.get("/security-groups", params={"project_id": project, "name": "default"})
    (default,) = listed.json()["security_groups"]
    assert default["project_id"] == project
    keys = ["remote_group_id", "direction", "ethertype", "protocol", "remote_ip_prefix",
            "remote_address_group_id", "port_range_min", "port_range_max"]  # fmt: skip

    def expected(group: dict[str, Any], **kind: bool) -> list[dict[str, Any]]:
        rules = []
        for template in templates(api, **kind):
            if template["remote_group_id"] == "PARENT":
                template["remote_group_id"] = group["id"]
            rules.append(relevant(template, keys))
        return rules

    def rules_of(group: dict[str, Any]) -> list[dict[str, Any]]:
        return sorted((relevant(r, keys) for r in group["security_group_rules"]), key=repr)

    assert rules_of(default) == sorted(expected(default, used_in_default_sg=True), key=repr)
    created = api.post(
        "/security-groups", json={"security_group": {"name": "web", "project_id": project}}
    )
    assert created.status_code == 201, created.text
    group = created.json()["security_group"]
    assert rules_of(group) == sorted(expected(group, used_in_non_default_sg=True), key=repr)
    assert any(r["remote_group_id"] == group["id"] for r in group["security_group_rules"])


def test_only_admins_change_templates_and_anyone_reads_them(
    api: httpx.Client, made: list[str]
) -> None:
    member = {"X-Project-Id": "tpl-member", "X-Roles": "member"}
    refused = post_template(api, member, **tcp(22, in_default=True, in_others=True))
    assert_error(refused, 403, "PolicyNotAuthorized")
    template = templates(api)[0]
    url = f"/default-security-group-rules/{template['id']}"
    assert_error(api.delete(url, headers=member), 403, "PolicyNotAuthorized")
    seen = api.get("/default-security-group-rules", headers=member)
    assert seen.status_code == 200
    assert template in seen.json()["default_security_group_rules"]


@pytest.mark.parametrize(
    ("rule", "error_type"),
    [
        ({"direction": "ingress", "used_in_default_sg": True}, None),  # both flags required
        ({**tcp(80, in_default=True, in_others=True), "port_range_max": 79},
         "SecurityGroupInvalidPortRange"),
        ({**tcp(80, in_default=True, in_others=True), "protocol": "ipv6-icmp"},
         "SecurityGroupEthertypeConflictWithProtocol"),
        ({**tcp(80, in_default=True, in_others=True), "remote_ip_prefix": "10.0.0.0/8",
          "remote_group_id": "PARENT"}, "SecurityGroupMultipleRemoteEntites"),
    ],
)  # fmt: skip
def test_a_template_is_checked_as_a_rule(
    api: httpx.Client, rule: dict[str, Any], error_type: str | None
) -> None:
    before = templates(api)
    assert_error(post_template(api, **rule), 400, error_type)
    assert templates(api) == before


def test_the_extension_is_listed(api: httpx.Client) -> None:
    listed = {e["alias"]: e for e in api.get("/extensions").json()["extensions"]}
    assert listed["security-groups-default-rules"]["name"] == "Default rules for security groups"
