"""Firewalls (``fwaas_v2``) over real HTTP and through openstacksdk: rules, ordered policies with
``insert_rule``/``remove_rule``, groups bound to ports, each project's ``default`` group, and
every refusal with the status, type and message neutron-fwaas answers (its database layer and
plugin, neutron-lib's definition and exceptions: the reference Neutron does not load it)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import openstack
import pytest
from openstack.connection import Connection

from tests.integration.neutron import create_port
from tests.servers import ServerProcess

RULES = "/fwaas/firewall_rules"
POLICIES = "/fwaas/firewall_policies"
GROUPS = "/fwaas/firewall_groups"
MISSING = "00000000-0000-0000-0000-000000000000"
_projects = itertools.count(1)


@pytest.fixture
def member() -> dict[str, str]:
    """A project of its own for each test (its default group is made on first use)."""
    return {"X-Project-Id": f"fw-{next(_projects)}", "X-Roles": "member"}


@pytest.fixture
def other() -> dict[str, str]:
    return {"X-Project-Id": f"fw-other-{next(_projects)}", "X-Roles": "member"}


def create(api: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    singular = {RULES: "firewall_rule", POLICIES: "firewall_policy", GROUPS: "firewall_group"}
    key = singular[path]
    response = api.post(path, json={key: body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()[key]


def rule(api: httpx.Client, headers: dict[str, str], **body: Any) -> Any:
    return create(api, RULES, body, headers)


def policy(api: httpx.Client, headers: dict[str, str], **body: Any) -> Any:
    return create(api, POLICIES, body, headers)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["NeutronError"]
    return response.status_code, error["type"], error["message"]


# --- rules ------------------------------------------------------------------------------


def test_a_rule_has_neutron_fwaas_defaults(api: httpx.Client, member: dict[str, str]) -> None:
    made = rule(api, member)
    assert {k: v for k, v in made.items() if k not in ("id", "created_at", "updated_at")} == {
        "name": "",
        "description": "",
        "project_id": member["X-Project-Id"],
        "tenant_id": member["X-Project-Id"],
        "protocol": None,
        "ip_version": 4,
        "source_ip_address": None,
        "destination_ip_address": None,
        "source_port": None,
        "destination_port": None,
        "action": "deny",
        "enabled": True,
        "shared": False,
        "firewall_policy_id": None,
        "tags": [],
        "revision_number": 1,
    }


def test_a_rule_keeps_what_it_was_given(api: httpx.Client, member: dict[str, str]) -> None:
    made = rule(
        api,
        member,
        name="web",
        protocol="tcp",
        action="ALLOW",
        source_ip_address="10.0.1.0/24",
        destination_ip_address="10.0.2.5",
        source_port=1024,
        destination_port="80:88",
        enabled=False,
    )
    assert (made["action"], made["source_port"], made["destination_port"]) == (
        "allow",
        "1024",
        "80:88",
    )
    assert (made["source_ip_address"], made["destination_ip_address"]) == (
        "10.0.1.0/24",
        "10.0.2.5",
    )
    assert made["enabled"] is False
    six = rule(api, member, ip_version=6, source_ip_address="2001:db8::/64", protocol="ipv6-icmp")
    assert (six["ip_version"], six["protocol"]) == (6, "ipv6-icmp")
    changed = api.put(
        f"{RULES}/{made['id']}", json={"firewall_rule": {"destination_port": "443"}}, headers=member
    ).json()["firewall_rule"]
    assert (changed["destination_port"], changed["revision_number"]) == ("443", 2)


@pytest.mark.parametrize(
    ("body", "status", "error_type", "message"),
    [
        (
            {"action": "drop"},
            400,
            "HTTPBadRequest",
            "Invalid input for action. Reason: drop is not in valid_values.",
        ),
        (
            {"protocol": "TCP"},
            400,
            "HTTPBadRequest",
            "Invalid input for protocol. Reason: TCP is not in valid_values.",
        ),
        (
            {"protocol": "foo"},
            400,
            "InvalidInput",
            "Invalid input for operation: IP protocol 'foo' is not supported. Only protocol "
            "names and their integer representation (0 to 255) are supported.",
        ),
        (
            {"ip_version": 5},
            400,
            "HTTPBadRequest",
            "Invalid input for ip_version. Reason: 5 is not in valid_values.",
        ),
        (
            {"source_ip_address": "10.0.0.300"},
            400,
            "HTTPBadRequest",
            "Invalid input for source_ip_address. Reason: '10.0.0.300' is neither a valid IP "
            "address, nor is it a valid IP subnet.",
        ),
        (
            {"protocol": "tcp", "destination_port": "70000"},
            400,
            "HTTPBadRequest",
            "Invalid input for destination_port. Reason: Invalid port: 70000.",
        ),
        (
            {"protocol": "tcp", "source_port": "1:2:3"},
            400,
            "HTTPBadRequest",
            "Invalid input for source_port. Reason: Port range must be two integers separated "
            "by a colon.",
        ),
        (
            {"protocol": "icmp", "destination_port": "80"},
            400,
            "FirewallRuleInvalidICMPParameter",
            "Source, destination port are not allowed when protocol is set to ICMP.",
        ),
        (
            {"destination_port": "80"},
            400,
            "FirewallRuleWithPortWithoutProtocolInvalid",
            "Source/destination port requires a protocol.",
        ),
        (
            {"ip_version": 6, "source_ip_address": "10.0.0.0/8"},
            400,
            "FirewallIpAddressConflict",
            "Invalid input - IP addresses do not agree with IP Version.",
        ),
        (
            {"protocol": "udp", "source_port": "90:80"},
            400,
            "FirewallRuleInvalidPortValue",
            "Invalid value for port 90:80.",
        ),
        (
            {"shared": True},
            403,
            "PolicyNotAuthorized",
            "(rule:create_firewall_rule and rule:create_firewall_rule:shared) is disallowed "
            "by policy",
        ),
    ],
)
def test_a_rule_is_refused_as_neutron_fwaas_refuses_it(
    api: httpx.Client,
    member: dict[str, str],
    body: dict[str, Any],
    status: int,
    error_type: str,
    message: str,
) -> None:
    before = api.get(RULES, headers=member).json()["firewall_rules"]
    response = api.post(RULES, json={"firewall_rule": body}, headers=member)
    assert error_of(response) == (status, error_type, message)
    assert api.get(RULES, headers=member).json()["firewall_rules"] == before


def test_an_update_is_checked_with_what_the_rule_holds(
    api: httpx.Client, member: dict[str, str]
) -> None:
    made = rule(api, member, protocol="tcp", destination_port="22")
    url = f"{RULES}/{made['id']}"
    response = api.put(url, json={"firewall_rule": {"protocol": "icmp"}}, headers=member)
    assert error_of(response)[1] == "FirewallRuleInvalidICMPParameter"
    response = api.put(url, json={"firewall_rule": {"protocol": None}}, headers=member)
    assert error_of(response)[1] == "FirewallRuleWithPortWithoutProtocolInvalid"
    response = api.put(url, json={"firewall_rule": {"shared": False}}, headers=member)
    assert error_of(response) == (
        403,
        "PolicyNotAuthorized",
        "(rule:update_firewall_rule and rule:update_firewall_rule:shared) is disallowed by policy",
    )
    fine = {"protocol": "icmp", "destination_port": None, "action": "reject"}
    changed = api.put(url, json={"firewall_rule": fine}, headers=member).json()["firewall_rule"]
    assert (changed["protocol"], changed["destination_port"], changed["action"]) == (
        "icmp",
        None,
        "reject",
    )


def test_rules_are_seen_by_their_project_and_when_shared_by_all(
    api: httpx.Client, member: dict[str, str], other: dict[str, str]
) -> None:
    own = rule(api, member, name="own")
    shared = create(api, RULES, {"name": "everyone's", "shared": True}, {})
    response = api.get(f"{RULES}/{own['id']}", headers=other)
    assert error_of(response) == (
        404,
        "FirewallRuleNotFound",
        f"Firewall rule {own['id']} could not be found.",
    )
    seen = {r["id"] for r in api.get(RULES, headers=other).json()["firewall_rules"]}
    assert shared["id"] in seen
    assert own["id"] not in seen
    response = api.put(
        f"{RULES}/{shared['id']}", json={"firewall_rule": {"name": "mine"}}, headers=other
    )
    assert error_of(response) == (
        403,
        "PolicyNotAuthorized",
        "rule:update_firewall_rule is disallowed by policy",
    )
    response = api.delete(f"{RULES}/{shared['id']}", headers=other)
    assert error_of(response)[:2] == (403, "PolicyNotAuthorized")
    assert api.delete(f"{RULES}/{shared['id']}").status_code == 204


# --- policies and their rules -----------------------------------------------------------


def test_insert_and_remove_rule_order_a_policy(api: httpx.Client, member: dict[str, str]) -> None:
    a, b, c, d = (rule(api, member, name=n)["id"] for n in "abcd")
    made = policy(api, member, name="p", firewall_rules=[a, b], audited=True)
    assert (made["firewall_rules"], made["audited"]) == ([a, b], True)
    url = f"{POLICIES}/{made['id']}"

    def insert(**info: Any) -> Any:
        response = api.put(f"{url}/insert_rule", json=info, headers=member)
        assert response.status_code == 200, response.text
        return response.json()

    assert insert(firewall_rule_id=c, insert_after=a)["firewall_rules"] == [a, c, b]
    answered = insert(firewall_rule_id=d, insert_before=a, insert_after=b)
    assert (answered["firewall_rules"], answered["audited"]) == ([d, a, c, b], False)
    removed = api.put(f"{url}/remove_rule", json={"firewall_rule_id": a}, headers=member)
    assert removed.json()["firewall_rules"] == [d, c, b]
    shown_rule = api.get(f"{RULES}/{c}", headers=member).json()["firewall_rule"]
    assert shown_rule["firewall_policy_id"] == [made["id"]]
    assert error_of(api.delete(f"{RULES}/{c}", headers=member)) == (
        409,
        "FirewallRuleInUse",
        f"Firewall rule {c} is being used.",
    )
    listed = api.get(POLICIES, params={"firewall_rules": c}, headers=member).json()
    assert [p["id"] for p in listed["firewall_policies"]] == [made["id"]]
    # insert with neither reference: first
    insert(firewall_rule_id=a)
    assert api.get(url, headers=member).json()["firewall_policy"]["firewall_rules"] == [a, d, c, b]


def test_insert_and_remove_rule_refusals(
    api: httpx.Client, member: dict[str, str], other: dict[str, str]
) -> None:
    a, b = (rule(api, member)["id"] for _ in range(2))
    made = policy(api, member, firewall_rules=[a])
    url = f"{POLICIES}/{made['id']}"
    cases: list[tuple[str, dict[str, Any], tuple[int, str, str]]] = [
        (
            "insert_rule",
            {},
            (
                400,
                "FirewallRuleInfoMissing",
                "Missing rule info argument for insert/remove rule operation.",
            ),
        ),
        (
            "insert_rule",
            {"firewall_rule_id": "nope"},
            (404, "FirewallRuleNotFound", "Firewall rule nope could not be found."),
        ),
        (
            "insert_rule",
            {"firewall_rule_id": a},
            (
                409,
                "FirewallRuleAlreadyAssociated",
                f"Operation cannot be performed since firewall rule {a} is already associated "
                f"with firewall policy {made['id']}.",
            ),
        ),
        (
            "insert_rule",
            {"firewall_rule_id": b, "insert_before": MISSING},
            (
                400,
                "FirewallRuleNotAssociatedWithPolicy",
                f"Firewall rule {MISSING} is not associated with firewall policy {made['id']}.",
            ),
        ),
        (
            "remove_rule",
            {"firewall_rule_id": b},
            (
                400,
                "FirewallRuleNotAssociatedWithPolicy",
                f"Firewall rule {b} is not associated with firewall policy {made['id']}.",
            ),
        ),
        (
            "remove_rule",
            {"firewall_rule_id": MISSING},
            (404, "FirewallRuleNotFound", f"Firewall rule {MISSING} could not be found."),
        ),
    ]
    for action, body, expected in cases:
        assert error_of(api.put(f"{url}/{action}", json=body, headers=member)) == expected
    response = api.put(f"{url}/insert_rule", json={"firewall_rule_id": b}, headers=other)
    assert error_of(response)[:2] == (404, "FirewallPolicyNotFound")
    foreign = rule(api, other)["id"]
    response = api.put(f"{url}/insert_rule", json={"firewall_rule_id": foreign})  # as admin
    assert error_of(response) == (
        409,
        "FirewallRuleConflict",
        f"Operation cannot be performed since firewall rule {foreign} is not shared and "
        f"belongs to another project {other['X-Project-Id']}.",
    )
    assert api.get(url, headers=member).json()["firewall_policy"]["firewall_rules"] == [a]


def test_policy_refusals(api: httpx.Client, member: dict[str, str], other: dict[str, str]) -> None:
    own = rule(api, member)["id"]
    foreign = rule(api, other)["id"]
    response = api.post(
        POLICIES, json={"firewall_policy": {"firewall_rules": [foreign]}}, headers=member
    )
    assert error_of(response) == (
        404,
        "FirewallRuleNotFound",
        f"Firewall rule {foreign} could not be found.",
    )
    response = api.post(
        POLICIES, json={"firewall_policy": {"firewall_rules": [own, own]}}, headers=member
    )
    assert error_of(response) == (
        400,
        "HTTPBadRequest",
        f"Invalid input for firewall_rules. Reason: Duplicate items in the list: '{own}'.",
    )
    response = api.post(
        POLICIES, json={"firewall_policy": {"name": "default ingress"}}, headers=member
    )
    assert error_of(response) == (
        409,
        "FirewallDefaultParameterExists",
        "Operation cannot be performed since 'default ingress' is a reserved name for "
        "Firewall Policy.",
    )
    response = api.post(
        POLICIES, json={"firewall_policy": {"firewall_rules": [own], "shared": True}}
    )
    assert error_of(response)[:2] == (404, "FirewallRuleSharingConflict")
    made = policy(api, member, firewall_rules=[own])
    response = api.put(f"{POLICIES}/{made['id']}", json={"firewall_policy": {"shared": True}})
    assert error_of(response) == (
        409,
        "FirewallPolicySharingConflict",
        f"Operation cannot be performed. Before sharing firewall policy {made['id']}, share "
        f"associated firewall rule {own}.",
    )
    response = api.put(
        f"{POLICIES}/{made['id']}", json={"firewall_policy": {"firewall_rules": [foreign]}}
    )
    assert error_of(response)[:2] == (409, "FirewallRuleConflict")


# --- groups and the default group -------------------------------------------------------


def test_each_project_has_a_default_group(api: httpx.Client, member: dict[str, str]) -> None:
    groups = api.get(GROUPS, headers=member).json()["firewall_groups"]
    assert [(g["name"], g["status"], g["ports"]) for g in groups] == [("default", "INACTIVE", [])]
    default = groups[0]
    ingress = api.get(f"{POLICIES}/{default['ingress_firewall_policy_id']}", headers=member)
    rules = [
        api.get(f"{RULES}/{r}", headers=member).json()["firewall_rule"]
        for r in ingress.json()["firewall_policy"]["firewall_rules"]
    ]
    assert [(r["name"], r["action"], r["ip_version"]) for r in rules] == [
        ("default ingress ipv4", "deny", 4),
        ("default ingress ipv6", "deny", 6),
    ]
    egress = api.get(f"{POLICIES}/{default['egress_firewall_policy_id']}", headers=member).json()
    assert egress["firewall_policy"]["name"] == "default egress"
    url = f"{GROUPS}/{default['id']}"
    for body in ({"description": "x"}, {"ingress_firewall_policy_id": None}):
        response = api.put(url, json={"firewall_group": body}, headers=member)
        assert error_of(response) == (
            409,
            "FirewallDefaultObjectUpdateRestricted",
            f"Operation cannot be performed on default object '{default['id']}' of type "
            "Firewall Group.",
        )
    response = api.put(
        f"{POLICIES}/{default['egress_firewall_policy_id']}",
        json={"firewall_policy": {"description": "x"}},
        headers=member,
    )
    assert error_of(response)[:2] == (409, "FirewallDefaultObjectUpdateRestricted")
    assert error_of(api.delete(url, headers=member)) == (
        409,
        "FirewallGroupCannotRemoveDefault",
        "Deleting default firewall group not allowed.",
    )
    response = api.post(GROUPS, json={"firewall_group": {"name": "default"}}, headers=member)
    assert error_of(response) == (
        409,
        "FirewallDefaultParameterExists",
        "Operation cannot be performed since 'default' is a reserved name for Firewall Group.",
    )
    assert api.delete(url).status_code == 204  # an admin may, and its policies go with it
    gone = api.get(f"{POLICIES}/{default['egress_firewall_policy_id']}")
    assert gone.status_code == 404
    again = api.get(GROUPS, headers=member).json()["firewall_groups"]
    assert [g["name"] for g in again] == ["default"]
    assert again[0]["id"] != default["id"]


@pytest.fixture
def routed_ports(api: httpx.Client, member: dict[str, str]) -> dict[str, Any]:
    """A member's network, its router interface and a VM port bound to a host."""
    network = api.post("/networks", json={"network": {}}, headers=member).json()["network"]
    subnet = api.post(
        "/subnets",
        json={"subnet": {"network_id": network["id"], "cidr": "10.9.0.0/24"}},
        headers=member,
    ).json()["subnet"]
    router = api.post("/routers", json={"router": {}}, headers=member).json()["router"]
    added = api.put(
        f"/routers/{router['id']}/add_router_interface",
        json={"subnet_id": subnet["id"]},
        headers=member,
    ).json()
    vm = create_port(
        api, network["id"], device_owner="compute:nova", **{"binding:host_id": "fw-host"}
    )
    unbound = create_port(api, network["id"], device_owner="compute:nova")
    unsecured = create_port(
        api,
        network["id"],
        device_owner="compute:nova",
        port_security_enabled=False,
        **{"binding:host_id": "fw-host"},
    )
    dhcp = create_port(api, network["id"], device_owner="network:dhcp")
    return {
        "interface": added["port_id"],
        "vm": vm["id"],
        "unbound": unbound["id"],
        "unsecured": unsecured["id"],
        "dhcp": dhcp["id"],
        "router": router["id"],
        "subnet": subnet["id"],
    }


def test_a_group_binds_router_interfaces_and_vm_ports(
    api: httpx.Client, member: dict[str, str], routed_ports: dict[str, Any]
) -> None:
    ingress = policy(api, member, firewall_rules=[rule(api, member)["id"]])
    made = create(
        api,
        GROUPS,
        {"ports": [routed_ports["interface"]], "ingress_firewall_policy_id": ingress["id"]},
        member,
    )
    assert (made["status"], made["admin_state_up"], made["egress_firewall_policy_id"]) == (
        "ACTIVE",
        True,
        None,
    )
    url = f"{GROUPS}/{made['id']}"
    assert error_of(api.delete(f"{POLICIES}/{ingress['id']}", headers=member)) == (
        409,
        "FirewallPolicyInUse",
        f"Firewall policy {ingress['id']} is being used.",
    )
    assert error_of(api.delete(url, headers=member)) == (
        409,
        "FirewallGroupInUse",
        f"Firewall group {made['id']} is still active.",
    )
    taken = [routed_ports["interface"]]
    response = api.post(GROUPS, json={"firewall_group": {"ports": taken}}, headers=member)
    assert error_of(response) == (
        409,
        "FirewallGroupPortInUse",
        f"Port(s) {taken!r} provided already associated with other firewall group(s).",
    )
    for port, expected in (
        (
            "dhcp",
            (
                "FirewallGroupPortInvalid",
                f"Port {routed_ports['dhcp']} of firewall group is invalid.",
            ),
        ),
        (
            "unbound",
            (
                "FirewallGroupPortNotSupported",
                f"Port {routed_ports['unbound']} is not supported by firewall driver 'alcor'.",
            ),
        ),
        (
            "unsecured",
            (
                "FirewallGroupPortNotSupported",
                f"Port {routed_ports['unsecured']} is not supported by firewall driver 'alcor'.",
            ),
        ),
    ):
        body = {"firewall_group": {"ports": [routed_ports[port]]}}
        assert error_of(api.put(url, json=body, headers=member)) == (409, *expected)
    both = [routed_ports["interface"], routed_ports["vm"]]
    changed = api.put(url, json={"firewall_group": {"ports": both}}, headers=member)
    assert changed.json()["firewall_group"]["ports"] == both
    # a VM port's host cannot reject: a reject rule in the group's policies is refused
    reject = rule(api, member, action="reject")
    response = api.put(
        f"{POLICIES}/{ingress['id']}/insert_rule",
        json={"firewall_rule_id": reject["id"]},
        headers=member,
    )
    assert error_of(response) == (
        400,
        "FirewallRuleInvalidAction",
        "Action reject is not supported. Only action values ['allow', 'deny'] are supported.",
    )
    held = api.get(f"{POLICIES}/{ingress['id']}", headers=member).json()["firewall_policy"]
    assert reject["id"] not in held["firewall_rules"]
    first = held["firewall_rules"][0]
    response = api.put(
        f"{RULES}/{first}", json={"firewall_rule": {"action": "reject"}}, headers=member
    )
    assert error_of(response)[:2] == (400, "FirewallRuleInvalidAction")
    assert api.get(f"{RULES}/{first}", headers=member).json()["firewall_rule"]["action"] == "deny"
    # the VM port's host filters it with its port security: it cannot be turned off meanwhile
    response = api.put(
        f"/ports/{routed_ports['vm']}",
        json={"port": {"port_security_enabled": False, "security_groups": []}},
    )
    assert error_of(response)[:2] == (409, "FirewallGroupPortNotSupported")
    assert api.get(f"/ports/{routed_ports['vm']}").json()["port"]["port_security_enabled"]
    listed = api.get(GROUPS, params={"ports": routed_ports["vm"]}, headers=member).json()
    assert [g["id"] for g in listed["firewall_groups"]] == [made["id"]]
    # a deleted port leaves the group; the router interface's removal takes its port away too
    assert api.delete(f"/ports/{routed_ports['vm']}").status_code == 204
    api.put(
        f"/routers/{routed_ports['router']}/remove_router_interface",
        json={"subnet_id": routed_ports["subnet"]},
        headers=member,
    )
    emptied = api.get(url, headers=member).json()["firewall_group"]
    assert (emptied["ports"], emptied["status"]) == ([], "INACTIVE")
    assert api.delete(url, headers=member).status_code == 204


def test_group_refusals(api: httpx.Client, member: dict[str, str], other: dict[str, str]) -> None:
    foreign = policy(api, other)
    response = api.post(
        GROUPS,
        json={"firewall_group": {"ingress_firewall_policy_id": foreign["id"]}},
        headers=member,
    )
    assert error_of(response) == (
        404,
        "FirewallPolicyNotFound",
        f"Firewall policy {foreign['id']} could not be found.",
    )
    response = api.post(
        GROUPS,
        json={
            "firewall_group": {
                "egress_firewall_policy_id": foreign["id"],
                "project_id": member["X-Project-Id"],
            }
        },
    )
    assert error_of(response)[:2] == (404, "FirewallPolicyConflict")
    response = api.post(GROUPS, json={"firewall_group": {"ports": ["x"]}}, headers=member)
    assert error_of(response) == (
        400,
        "HTTPBadRequest",
        "Invalid input for ports. Reason: 'x' is not a valid UUID.",
    )
    response = api.post(GROUPS, json={"firewall_group": {"ports": [MISSING]}}, headers=member)
    assert error_of(response)[:2] == (404, "PortNotFound")
    assert error_of(api.get(f"{GROUPS}/{MISSING}", headers=member)) == (
        404,
        "FirewallGroupNotFound",
        f"Firewall group {MISSING} could not be found.",
    )


def test_quotas_count_the_default_groups_resources(
    api: httpx.Client, member: dict[str, str]
) -> None:
    limits = {"firewall_rule": 6, "firewall_policy": 3}
    put = api.put(f"/quotas/{member['X-Project-Id']}", json={"quota": limits})
    assert put.status_code == 200, put.text
    quota = api.get(f"/quotas/{member['X-Project-Id']}").json()["quota"]
    assert (quota["firewall_rule"], quota["firewall_policy"]) == (6, 3)
    api.get(GROUPS, headers=member)  # the default group: 4 rules, 2 policies
    rule(api, member)
    rule(api, member)
    response = api.post(RULES, json={"firewall_rule": {}}, headers=member)
    assert error_of(response) == (
        409,
        "OverQuota",
        "Quota exceeded for resources: ['firewall_rule'].",
    )
    policy(api, member)
    assert error_of(api.post(POLICIES, json={"firewall_policy": {}}, headers=member))[:2] == (
        409,
        "OverQuota",
    )


def test_the_extension_is_listed(api: httpx.Client) -> None:
    aliases = {e["alias"] for e in api.get("/extensions").json()["extensions"]}
    assert {"fwaas_v2", "standard-attr-fwaas-v2"} <= aliases


# --- openstacksdk -----------------------------------------------------------------------


@pytest.fixture
def conn(server: ServerProcess) -> Iterator[Connection]:
    connection = openstack.connect(auth_type="none", endpoint=server.url)
    yield connection
    connection.close()


def test_openstacksdk_drives_firewalls(conn: Connection) -> None:
    deny = conn.network.create_firewall_rule(name="deny-ssh", protocol="tcp", destination_port="22")
    allow = conn.network.create_firewall_rule(name="allow", action="allow")
    made = conn.network.create_firewall_policy(name="sdk", firewall_rules=[allow.id])
    conn.network.insert_rule_into_policy(made.id, deny.id, insert_before=allow.id)
    assert conn.network.get_firewall_policy(made.id).firewall_rules == [deny.id, allow.id]
    conn.network.remove_rule_from_policy(made.id, allow.id)
    assert conn.network.get_firewall_policy(made.id).firewall_rules == [deny.id]
    group = conn.network.create_firewall_group(name="sdk", egress_firewall_policy_id=made.id)
    assert (group.status, group.egress_firewall_policy_id) == ("INACTIVE", made.id)
    names = {g.name for g in conn.network.firewall_groups()}
    assert {"sdk", "default"} <= names
    assert conn.network.update_firewall_rule(deny, action="reject").action == "reject"
    conn.network.delete_firewall_group(group)
    conn.network.delete_firewall_policy(made)
    conn.network.delete_firewall_rule(deny)
    conn.network.delete_firewall_rule(allow)
    assert conn.network.find_firewall_rule("deny-ssh") is None
