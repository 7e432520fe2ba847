"""Quotas over real HTTP (``quotas``, ``quota_details``), as the reference Neutron answers: the
defaults and their order, overrides and reset, usage that follows creates and deletes, creates
(single and bulk) refused whole at the limit, -1 unlimited, who may read and change what, bad
values, the default security group's place in all this, and defaults set on the command line."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from alcor.model import errors
from alcor.model.records import Network
from alcor.store.committing import SqlStore
from alcor.store.interface import Writer
from tests.integration.neutron import assert_error, create_network, create_subnet
from tests.servers import ServerProcess

SERVER_QUOTAS: tuple[str, ...] = ()  # this module's server keeps Neutron's defaults

# GET /v2.0/quotas/{project} of a fresh project on the reference Neutron (Neutron's defaults),
# keys in its order.
NEUTRON_QUOTA = {
    "network": 100,
    "subnet": 100,
    "subnetpool": -1,
    "port": 500,
    "router": 10,
    "floatingip": 50,
    "rbac_policy": 10,
    "security_group": 10,
    "security_group_rule": 100,
    # neutron-fwaas's, registered by its extension after the core resources
    "firewall_group": 10,
    "firewall_policy": 10,
    "firewall_rule": 100,
}

_cidrs = (f"10.{a}.{b}.0/24" for a, b in itertools.product(range(100, 200), range(256)))


def as_member(project: str) -> dict[str, str]:
    return {"X-Project-Id": project, "X-Roles": "member"}


@pytest.fixture
def project() -> str:
    return f"quota-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def member(project: str) -> dict[str, str]:
    return as_member(project)


def set_quota(api: httpx.Client, project: str, **limits: Any) -> dict[str, int]:
    response = api.put(f"/quotas/{project}", json={"quota": limits})
    assert response.status_code == 200, response.text
    quota: dict[str, int] = response.json()["quota"]
    return quota


def used(api: httpx.Client, project: str) -> dict[str, int]:
    """The resources the project uses (those it uses none of left out)."""
    response = api.get(f"/quotas/{project}/details.json")
    assert response.status_code == 200, response.text
    return {
        name: shown["used"] for name, shown in response.json()["quota"].items() if shown["used"]
    }


def post(api: httpx.Client, plural: str, headers: dict[str, str], *bodies: Any) -> httpx.Response:
    """A create of one resource (one body) or a bulk (several)."""
    singular = plural.removesuffix("s").replace("-", "_")
    if plural == "security-group-rules":
        singular = "security_group_rule"
    envelope = {singular: bodies[0]} if len(bodies) == 1 else {plural.replace("-", "_"): bodies}
    return api.post(f"/{plural}", json=envelope, headers=headers)


def created(response: httpx.Response) -> Any:
    assert response.status_code == 201, response.text
    return next(iter(response.json().values()))


# --- showing, setting, resetting -------------------------------------------------------


def test_a_project_without_overrides_has_neutron_s_defaults(
    api: httpx.Client, project: str
) -> None:
    shown = api.get(f"/quotas/{project}").json()["quota"]
    assert shown == NEUTRON_QUOTA
    assert list(shown) == list(NEUTRON_QUOTA), "Neutron's key order"
    assert api.get(f"/quotas/{project}/default").json() == {"quota": NEUTRON_QUOTA}
    assert api.get(f"/quotas/{project}.json").json() == {"quota": NEUTRON_QUOTA}
    details = api.get(f"/quotas/{project}/details").json()["quota"]
    assert list(details) == list(NEUTRON_QUOTA)
    assert details["port"] == {"limit": 500, "used": 0, "reserved": 0}
    assert list(details["port"]) == ["limit", "used", "reserved"]


def test_overrides_are_shown_listed_and_reset(api: httpx.Client, project: str) -> None:
    assert set_quota(api, project, network=5, port=-1) == {
        **NEUTRON_QUOTA,
        "network": 5,
        "port": -1,
    }
    assert set_quota(api, project, router=0) == {
        **NEUTRON_QUOTA,
        "network": 5,
        "port": -1,
        "router": 0,
    }, "a PUT changes only what it names"
    assert api.get(f"/quotas/{project}").json()["quota"]["router"] == 0
    assert api.get(f"/quotas/{project}/default").json()["quota"] == NEUTRON_QUOTA
    listed = {q["project_id"]: q for q in api.get("/quotas").json()["quotas"]}
    assert listed[project] == {
        **NEUTRON_QUOTA,
        "network": 5,
        "port": -1,
        "router": 0,
        "project_id": project,
        "tenant_id": project,
    }
    assert list(listed[project])[-2:] == ["project_id", "tenant_id"]

    assert api.delete(f"/quotas/{project}").status_code == 204
    assert api.get(f"/quotas/{project}").json()["quota"] == NEUTRON_QUOTA
    assert project not in {q["project_id"] for q in api.get("/quotas.json").json()["quotas"]}
    assert_error(api.delete(f"/quotas/{project}"), 404, "TenantQuotaNotFound")


def test_an_empty_put_sets_nothing(api: httpx.Client, project: str) -> None:
    assert set_quota(api, project) == NEUTRON_QUOTA
    assert project not in {q["project_id"] for q in api.get("/quotas").json()["quotas"]}


def test_subnetpool_and_rbac_policy_limits_are_kept_though_nothing_uses_them(
    api: httpx.Client, project: str
) -> None:
    shown = set_quota(api, project, subnetpool=3, rbac_policy=-1)
    assert (shown["subnetpool"], shown["rbac_policy"]) == (3, -1)


def test_an_override_is_a_logged_change(
    api: httpx.Client, server: ServerProcess, project: str
) -> None:
    set_quota(api, project, network=7)
    set_quota(api, project, port=9)
    assert api.delete(f"/quotas/{project}").status_code == 204
    rows = server.query(
        "SELECT operation, data FROM change_log WHERE resource_type = 'quota' "
        "AND resource_id = :project ORDER BY revision",
        project=project,
    )
    assert [(operation, json.loads(data)["limits"]) for operation, data in rows] == [
        ("create", {"network": 7}),
        ("update", {"network": 7, "port": 9}),
        ("delete", {"network": 7, "port": 9}),
    ]


# --- usage -------------------------------------------------------------------------------


def test_usage_follows_creates_and_deletes(
    api: httpx.Client, project: str, member: dict[str, str]
) -> None:
    network = create_network(api, project_id=project)
    subnet = create_subnet(api, network["id"], next(_cidrs), project_id=project)
    port = created(post(api, "ports", member, {"network_id": network["id"]}))
    assert used(api, project) == {
        "network": 1,
        "subnet": 1,
        "port": 1,
        "security_group": 1,  # the default group, made for the port, counts as in Neutron
        "security_group_rule": 4,  # and so do its rules
    }
    group = created(post(api, "security-groups", member, {"name": "web"}))
    created(
        post(
            api,
            "security-group-rules",
            member,
            {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp"},
        )
    )
    router = created(post(api, "routers", member, {"name": "r"}))
    interface = api.put(
        f"/routers/{router['id']}/add_router_interface",
        json={"subnet_id": subnet["id"]},
        headers=member,
    )
    assert interface.status_code == 200, interface.text
    assert used(api, project) == {
        "network": 1,
        "subnet": 1,
        "port": 2,  # the router's interface is the project's port
        "router": 1,
        "security_group": 2,
        "security_group_rule": 7,  # a new group comes with two egress rules
    }

    assert api.delete(f"/ports/{port['id']}", headers=member).status_code == 204
    assert api.delete(f"/security-groups/{group['id']}", headers=member).status_code == 204
    assert used(api, project) == {
        "network": 1,
        "subnet": 1,
        "port": 1,
        "router": 1,
        "security_group": 1,
        "security_group_rule": 4,
    }


# --- enforcement -------------------------------------------------------------------------


def _network_for(api: httpx.Client, project: str) -> dict[str, Any]:
    network = create_network(api, project_id=project)
    create_subnet(api, network["id"], next(_cidrs), project_id=project)
    return network


Bodies = Callable[[httpx.Client, str, int], list[dict[str, Any]]]


def _networks(_api: httpx.Client, _project: str, count: int) -> list[dict[str, Any]]:
    return [{"name": f"n{i}"} for i in range(count)]


def _subnets(api: httpx.Client, project: str, count: int) -> list[dict[str, Any]]:
    network = create_network(api, project_id=project)
    return [{"network_id": network["id"], "cidr": next(_cidrs)} for _ in range(count)]


def _ports(api: httpx.Client, project: str, count: int) -> list[dict[str, Any]]:
    return [{"network_id": _network_for(api, project)["id"]}] * count


def _routers(_api: httpx.Client, _project: str, count: int) -> list[dict[str, Any]]:
    return [{"name": f"r{i}"} for i in range(count)]


def _groups(api: httpx.Client, project: str, count: int) -> list[dict[str, Any]]:
    listed = api.get("/security-groups", headers=as_member(project))  # makes the default group
    assert listed.status_code == 200, listed.text
    return [{"name": f"g{i}"} for i in range(count)]


def _rules(api: httpx.Client, project: str, count: int) -> list[dict[str, Any]]:
    group = created(post(api, "security-groups", as_member(project), {"name": "g"}))
    return [
        {
            "security_group_id": group["id"],
            "direction": "ingress",
            "protocol": "tcp",
            "port_range_min": port,
            "port_range_max": port,
        }
        for port in range(1, count + 1)
    ]


KINDS: list[tuple[str, str, Bodies]] = [
    ("network", "networks", _networks),
    ("subnet", "subnets", _subnets),
    ("port", "ports", _ports),
    ("router", "routers", _routers),
    ("security_group", "security-groups", _groups),
    ("security_group_rule", "security-group-rules", _rules),
]


@pytest.mark.parametrize(("resource", "plural", "bodies"), KINDS, ids=[k[0] for k in KINDS])
def test_a_create_beyond_the_limit_is_refused_whole(
    api: httpx.Client,
    project: str,
    member: dict[str, str],
    resource: str,
    plural: str,
    bodies: Bodies,
) -> None:
    three = bodies(api, project, 3)
    before = used(api, project)
    set_quota(api, project, **{resource: before.get(resource, 0) + 2})

    refused = post(api, plural, member, *three)
    assert_error(refused, 409, "OverQuota")
    assert refused.json()["NeutronError"]["message"] == (
        f"Quota exceeded for resources: ['{resource}']."
    )
    assert used(api, project) == before, "a refused bulk leaves nothing behind"

    assert len(created(post(api, plural, member, *three[:2]))) == 2
    assert_error(post(api, plural, member, three[2]), 409, "OverQuota")
    assert used(api, project)[resource] == before.get(resource, 0) + 2


def test_a_bulk_that_fails_midway_gives_its_usage_back(api: httpx.Client, project: str) -> None:
    """Networks of a bulk are written one by one: the second is refused after the first was
    written, and the first's count goes with it, or the next bulk would not fit."""
    set_quota(api, project, network=2)
    bulk = [{"project_id": project}, {"project_id": project, "mtu": -1}]
    assert_error(api.post("/networks", json={"networks": bulk}), 400)
    assert used(api, project) == {}
    assert len(created(api.post("/networks", json={"networks": bulk[:1] * 2}))) == 2
    assert_error(api.post("/networks", json={"network": bulk[0]}), 409, "OverQuota")


def test_the_writer_s_counts_follow_commits_and_rollbacks(tmp_path: Path) -> None:
    def network(network_id: str) -> Network:
        return Network(id=network_id, project_id="p", created_at="t", updated_at="t")

    def insert_then_fail(writer: Writer) -> None:
        writer.insert([network("n3")])
        assert writer.usage("p", "network") == 3
        raise errors.Conflict("changed my mind")

    async def scenario() -> None:
        store = SqlStore(f"sqlite:///{tmp_path / 's.db'}")
        await store.write(lambda w: w.insert([network("n1")]))  # before anyone counted
        assert await store.write(lambda w: w.usage("p", "network")) == 1
        await store.write(lambda w: w.insert([network("n2")]))
        with pytest.raises(errors.Conflict):
            await store.write(insert_then_fail)
        assert await store.write(lambda w: w.usage("p", "network")) == 2
        await store.write(lambda w: w.delete([network("n1")]))
        counted = await store.write(lambda w: (w.usage("p", "network"), w.usage("q", "port")))
        assert counted == (1, 0)
        assert (await store.read(lambda r: r.resource_counts("p")))["network"] == 1
        await store.close()

    asyncio.run(scenario())


def test_a_freed_resource_makes_room(
    api: httpx.Client, project: str, member: dict[str, str]
) -> None:
    network = _network_for(api, project)
    set_quota(api, project, port=1)
    port = created(post(api, "ports", member, {"network_id": network["id"]}))
    assert_error(post(api, "ports", member, {"network_id": network["id"]}), 409, "OverQuota")
    assert api.delete(f"/ports/{port['id']}", headers=member).status_code == 204
    created(post(api, "ports", member, {"network_id": network["id"]}))


def test_a_refused_bulk_gives_its_addresses_back(
    api: httpx.Client, project: str, member: dict[str, str]
) -> None:
    network = create_network(api, project_id=project)
    create_subnet(api, network["id"], "10.250.0.0/29", project_id=project)  # 5 addresses
    set_quota(api, project, port=4)
    assert_error(post(api, "ports", member, *[{"network_id": network["id"]}] * 5), 409)
    ports = created(post(api, "ports", member, *[{"network_id": network["id"]}] * 4))
    assert len({p["fixed_ips"][0]["ip_address"] for p in ports}) == 4


def test_an_admin_s_create_for_a_project_counts_against_that_project(
    api: httpx.Client, project: str
) -> None:
    set_quota(api, project, network=1)
    create_network(api, project_id=project)
    assert_error(api.post("/networks", json={"network": {"project_id": project}}), 409, "OverQuota")
    create_network(api)  # the admin's own project is not that one


def test_minus_one_is_unlimited(api: httpx.Client, project: str, member: dict[str, str]) -> None:
    network = create_network(api, project_id=project)
    create_subnet(api, network["id"], "10.251.0.0/22", project_id=project)
    set_quota(api, project, port=-1)
    ports = created(post(api, "ports", member, *[{"network_id": network["id"]}] * 501))
    assert len(ports) == 501, "more than Neutron's default of 500"
    details = api.get(f"/quotas/{project}/details").json()["quota"]["port"]
    assert details == {"limit": -1, "used": 501, "reserved": 0}


def test_a_router_interface_port_counts_but_is_never_refused(
    api: httpx.Client, project: str, member: dict[str, str]
) -> None:
    """As Neutron: the ports a router makes are the project's, and not checked."""
    network = create_network(api, project_id=project)
    subnet = create_subnet(api, network["id"], next(_cidrs), project_id=project)
    router = created(post(api, "routers", member, {"name": "r"}))
    set_quota(api, project, port=0)
    added = api.put(
        f"/routers/{router['id']}/add_router_interface",
        json={"subnet_id": subnet["id"]},
        headers=member,
    )
    assert added.status_code == 200, added.text
    assert used(api, project)["port"] == 1


def test_a_floating_ip_beyond_the_limit_is_refused(
    api: httpx.Client, project: str, member: dict[str, str]
) -> None:
    public = create_network(api, **{"router:external": True})
    create_subnet(api, public["id"], next(_cidrs), enable_dhcp=False)
    set_quota(api, project, floatingip=1)
    body = {"floating_network_id": public["id"]}
    created(post(api, "floatingips", member, body))
    assert_error(post(api, "floatingips", member, body), 409, "OverQuota")
    assert used(api, project) == {"floatingip": 1}


# --- the default security group ----------------------------------------------------------


def test_the_default_group_is_made_beyond_the_group_quota(
    api: httpx.Client, project: str, member: dict[str, str]
) -> None:
    """As Neutron: a create checks the usage before the default group is made, and the default
    group is never refused for the group quota."""
    set_quota(api, project, security_group=1)
    created(post(api, "security-groups", member, {"name": "web"}))
    assert used(api, project)["security_group"] == 2
    assert_error(post(api, "security-groups", member, {"name": "db"}), 409, "OverQuota")


def test_a_group_needs_room_for_its_rules(
    api: httpx.Client, project: str, member: dict[str, str]
) -> None:
    """As Neutron: making a group (the default one too) checks the rule quota for its template
    rules: four for the default group, two for another."""
    network = _network_for(api, project)
    set_quota(api, project, security_group_rule=3)
    refused = post(api, "ports", member, {"network_id": network["id"]})
    assert_error(refused, 409, "OverQuota")
    assert "security_group_rule" in refused.json()["NeutronError"]["message"]
    assert used(api, project) == {"network": 1, "subnet": 1}

    set_quota(api, project, security_group_rule=5)
    created(post(api, "ports", member, {"network_id": network["id"]}))
    assert_error(post(api, "security-groups", member, {"name": "web"}), 409, "OverQuota")
    assert used(api, project)["security_group_rule"] == 4


# --- limits below usage ------------------------------------------------------------------


def test_a_limit_below_usage_needs_force(api: httpx.Client, project: str) -> None:
    create_network(api, project_id=project)
    create_network(api, project_id=project)
    response = api.put(f"/quotas/{project}", json={"quota": {"network": 1}})
    assert_error(response, 400)
    assert response.json()["NeutronError"]["message"] == (
        "Quota limit 1 for network must be greater than or equal to already used 2"
    )
    checked = api.put(f"/quotas/{project}", json={"quota": {"network": 1, "check_limit": True}})
    assert_error(checked, 400)
    assert set_quota(api, project, network=2, check_limit=False)["network"] == 2
    assert set_quota(api, project, network=1, force=True)["network"] == 1
    assert_error(api.post("/networks", json={"network": {"project_id": project}}), 409)


# --- who may ---------------------------------------------------------------------------------


def test_a_member_reads_only_its_own_project_s_quota(
    api: httpx.Client, project: str, member: dict[str, str]
) -> None:
    for path in ("", "/default", "/details"):
        assert api.get(f"/quotas/{project}{path}", headers=member).status_code == 200
    other = f"/quotas/other-{project}"
    assert_error(api.get(other, headers=member), 403, "PolicyNotAuthorized")
    assert_error(api.get(other + "/default", headers=member), 403, "PolicyNotAuthorized")
    assert_error(api.get(other + "/details", headers=member), 403, "AdminRequired")
    assert_error(api.get("/quotas", headers=member), 403, "PolicyNotAuthorized")
    assert api.get("/quotas/tenant", headers=member).json() == {"tenant": {"tenant_id": project}}
    assert api.get("/quotas/project", headers=member).json() == {"project": {"project_id": project}}


def test_only_an_admin_changes_a_quota(
    api: httpx.Client, project: str, member: dict[str, str]
) -> None:
    change = {"quota": {"network": 1}}
    assert_error(api.put(f"/quotas/{project}", json=change, headers=member), 403)
    set_quota(api, project, network=3)
    assert_error(api.delete(f"/quotas/{project}", headers=member), 403, "PolicyNotAuthorized")
    assert api.get(f"/quotas/{project}", headers=member).json()["quota"]["network"] == 3
    admin = {"X-Project-Id": f"ops-{project}", "X-Roles": "admin"}
    assert api.put(f"/quotas/{project}", json=change, headers=admin).status_code == 200
    assert api.get(f"/quotas/{project}/details", headers=admin).status_code == 200
    assert api.delete(f"/quotas/{project}", headers=admin).status_code == 204


def test_post_is_not_allowed(api: httpx.Client) -> None:
    # Neutron answers 501 HTTPNotImplemented; a client's mistake is no server error here.
    assert_error(api.post("/quotas", json={"quota": {"network": 1}}), 405)


# --- bad values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"quota": {"network": "abc"}},
        {"quota": {"network": -2}},
        {"quota": {"network": 2**31}},
        {"quota": {"network": None}},
        {"quota": {"network": []}},
        {"quota": {"network": 7.5}},
        {"quota": {"network": True}},
        {"quota": {"network": "0x10"}},
        {"quota": {"bogus": 5}},
        {"quota": {"network": 1, "force": "yes"}},
        {"quota": 5},
        {"quotas": {"network": 1}},
        {},
    ],
    ids=repr,
)
def test_a_bad_value_is_a_400_and_changes_nothing(
    api: httpx.Client, project: str, body: dict[str, Any]
) -> None:
    assert_error(api.put(f"/quotas/{project}", json=body), 400)
    assert api.get(f"/quotas/{project}").json()["quota"] == NEUTRON_QUOTA


def test_malformed_json_is_a_400(api: httpx.Client, project: str) -> None:
    assert_error(api.put(f"/quotas/{project}", content=b"{not json"), 400)


@pytest.mark.parametrize(
    ("sent", "kept"), [("7", 7), (" 8 ", 8), (9.0, 9), (2**31 - 1, 2**31 - 1), (-1, -1), (0, 0)]
)
def test_a_limit_is_an_integer_or_a_string_of_one(
    api: httpx.Client, project: str, sent: Any, kept: int
) -> None:
    assert set_quota(api, project, router=sent)["router"] == kept


# --- configured defaults and restarts ----------------------------------------------------


def test_defaults_come_from_the_command_line_and_overrides_survive_a_restart(
    tmp_path: Path,
) -> None:
    db = tmp_path / "quotas.db"
    server = ServerProcess(db, "--quota", "network=1", "--quota", "port=-1", quotas=()).start()
    try:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as api:
            expected = {**NEUTRON_QUOTA, "network": 1, "port": -1}
            assert api.get("/quotas/p1/default").json()["quota"] == expected
            assert api.get("/quotas/p1").json()["quota"] == expected
            create_network(api, project_id="p1")
            assert_error(api.post("/networks", json={"network": {"project_id": "p1"}}), 409)
            set_quota(api, "p2", network=2)
            create_network(api, project_id="p2")
    finally:
        server.stop()
    server = ServerProcess(db, port=server.port, quotas=()).start()  # Neutron's defaults now
    try:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as api:
            assert api.get("/quotas/p1").json()["quota"] == NEUTRON_QUOTA
            assert api.get("/quotas/p2").json()["quota"]["network"] == 2
            create_network(api, project_id="p2")
            assert_error(api.post("/networks", json={"network": {"project_id": "p2"}}), 409)
    finally:
        server.stop()
    assert "Traceback" not in server.errors_logged()


def test_a_bad_default_on_the_command_line_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="--quota"):
        ServerProcess(tmp_path / "bad.db", "--quota", "ports=5").start()
