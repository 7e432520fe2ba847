"""The isolation matrix, over real HTTP in the default noauth mode with the identity headers
Keystone's middleware passes on: two member projects, A and B, and an admin.

Every (resource, operation) pair comes from two tables, ``KINDS`` x ``OPERATIONS``: project B
can neither see A's resource (404 on show, absent from lists whatever the filter, fields or
marker) nor update, delete or tag it (404), while the admin sees it with the same filters (so
each filter would have matched). ``USES`` lists what B might try with A's resources from its
own: a port or subnet on A's network, bulk creates into it, a rule in A's group, A's group on a
port, router interfaces and gateways on A's subnets, networks and routers (404 or 403 as
Neutron). ``ADMIN_ONLY`` lists what a member may not set. After every case, all of A's
resources are exactly as before. Adding a collection (floating IPs, quotas) is one row.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from alcor.api import discovery
from alcor.api.collections import COLLECTIONS
from tests.integration.neutron import assert_error
from tests.servers import ServerProcess

Headers = dict[str, str]
Resources = dict[str, dict[str, Any]]
SUFFIX = uuid.uuid4().hex[:8]
A = {"X-Project-Id": f"iso-a-{SUFFIX}", "X-Roles": "member"}
B = {"X-Project-Id": f"iso-b-{SUFFIX}", "X-Roles": "member,reader"}
ADMIN = {"X-Project-Id": f"iso-admin-{SUFFIX}", "X-Roles": "admin"}
SERVED = {collection.url_name for collection in COLLECTIONS if not collection.admin_only} | {
    "quotas" for extension in discovery.EXTENSIONS if extension.alias == "quotas"
}
# Collections of no project (nodes): every request of a member is refused (403), whoever owns
# what, so they are not in the project matrix; test_admin_only_collections_refuse_members.
ADMIN_ONLY = sorted(collection.url_name for collection in COLLECTIONS if collection.admin_only)
TAG = f"a-tag-{SUFFIX}"


@dataclass(frozen=True)
class Kind:
    """A collection: its URL and body names, its NotFound type, a change B might try, whether
    it takes tags, and which of A's attributes to filter by besides id, name and project."""

    path: str
    singular: str
    not_found: str
    change: dict[str, Any] | None = None  # None: no PUT
    taggable: bool = True
    filters: tuple[str, ...] = ()

    @property
    def plural(self) -> str:
        return self.path.replace("-", "_")


KINDS = [
    Kind("networks", "network", "NetworkNotFound", {"name": "b"}, filters=("mtu", "shared")),
    Kind("subnets", "subnet", "SubnetNotFound", {"name": "b"}, filters=("network_id", "cidr")),
    Kind("ports", "port", "PortNotFound", {"name": "b"}, filters=("network_id", "mac_address")),
    Kind("security-groups", "security_group", "SecurityGroupNotFound", {"name": "b"}),
    Kind(
        "security-group-rules",
        "security_group_rule",
        "SecurityGroupRuleNotFound",
        taggable=False,
        filters=("security_group_id", "direction"),
    ),
    Kind("routers", "router", "RouterNotFound", {"name": "b"}, filters=("admin_state_up",)),
    Kind("address-groups", "address_group", "AddressGroupNotFound", {"name": "b"}, taggable=False),
    Kind(
        "floatingips",
        "floatingip",
        "FloatingIPNotFound",
        {"port_id": None},
        filters=("floating_network_id", "port_id", "router_id"),
    ),
    Kind(
        "subnetpools",
        "subnetpool",
        "SubnetPoolNotFound",
        {"name": "b"},
        filters=("ip_version", "address_scope_id"),
    ),
    Kind(
        "address-scopes",
        "address_scope",
        "AddressScopeNotFound",
        {"name": "b"},
        taggable=False,
        filters=("ip_version",),
    ),
    Kind("trunks", "trunk", "TrunkNotFound", {"name": "b"}, filters=("port_id", "admin_state_up")),
    Kind(
        "rbac-policies",
        "rbac_policy",
        "RbacPolicyNotFound",
        {"target_tenant": uuid.uuid4().hex},
        taggable=False,
        filters=("object_id", "action", "target_tenant"),
    ),
]
SERVED_KINDS = [kind for kind in KINDS if kind.path in SERVED]
A_QUOTA = {"network": 77, "port": 777}


def kind_of(path: str) -> Kind:
    return next(kind for kind in KINDS if kind.path == path)


# --- the world: A's resources, B's own, shared and external networks ------------------------


def post(api: httpx.Client, path: str, headers: Headers, body: dict[str, Any]) -> httpx.Response:
    return api.post(f"/{path}", json=body, headers=headers)


def make(api: httpx.Client, path: str, headers: Headers, **attributes: Any) -> Any:
    singular = kind_of(path).singular
    response = post(api, path, headers, {singular: attributes})
    assert response.status_code == 201, response.text
    return response.json()[singular]


def action(api: httpx.Client, router: str, name: str, headers: Headers, **body: Any) -> Any:
    return api.put(f"/routers/{router}/{name}", json=body, headers=headers)


@dataclass
class World:
    a: Resources = field(default_factory=dict)  # one of each kind, A's
    b: Resources = field(default_factory=dict)  # B's own network, subnet, port, group, router
    shared: Resources = field(default_factory=dict)  # the admin's shared and external networks


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    """The module's client: each request says who it acts as."""
    with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as client:
        yield client


@pytest.fixture(scope="module")
def world(api: httpx.Client) -> World:
    w = World()
    ext = make(api, "networks", ADMIN, name="iso-ext", **{"router:external": True})
    w.shared["external"] = ext
    w.shared["external_subnet"] = make(
        api, "subnets", ADMIN, network_id=ext["id"], cidr="172.31.60.0/24"
    )
    w.shared["network"] = make(api, "networks", ADMIN, name="iso-shared", shared=True)
    w.shared["subnet"] = make(
        api, "subnets", ADMIN, network_id=w.shared["network"]["id"], cidr="10.63.0.0/24"
    )
    for side, headers, second in (("a", A, 61), ("b", B, 62)):
        own = w.a if side == "a" else w.b
        tags = [TAG] if side == "a" else []
        net = make(api, "networks", headers, name=f"{side}-net", tags=tags)
        own["network"] = net
        own["subnet"] = make(
            api,
            "subnets",
            headers,
            name=f"{side}-subnet",
            network_id=net["id"],
            cidr=f"10.{second}.0.0/24",
            tags=tags,
        )
        own["security_group"] = make(
            api, "security-groups", headers, name=f"{side}-group", tags=tags
        )
        own["port"] = make(
            api,
            "ports",
            headers,
            name=f"{side}-port",
            network_id=net["id"],
            security_groups=[own["security_group"]["id"]],
            tags=tags,
        )
        own["security_group_rule"] = make(
            api,
            "security-group-rules",
            headers,
            security_group_id=own["security_group"]["id"],
            direction="ingress",
            protocol="tcp",
            port_range_min=22,
            port_range_max=22,
        )
        if "subnetpools" in SERVED:
            own["address_scope"] = make(
                api, "address-scopes", headers, name=f"{side}-scope", ip_version=4
            )
            own["subnetpool"] = make(
                api,
                "subnetpools",
                headers,
                name=f"{side}-pool",
                prefixes=[f"10.{second + 100}.0.0/16"],
                address_scope_id=own["address_scope"]["id"],
                tags=tags,
            )
        if "address-groups" in SERVED:
            own["address_group"] = make(
                api, "address-groups", headers, name=f"{side}-ag", addresses=["192.0.2.0/24"]
            )
        own["router"] = make(
            api,
            "routers",
            headers,
            name=f"{side}-router",
            tags=tags,
            external_gateway_info={"network_id": ext["id"]},
        )
    response = action(
        api, w.a["router"]["id"], "add_router_interface", A, subnet_id=w.a["subnet"]["id"]
    )
    assert response.status_code == 200, response.text
    if "floatingips" in SERVED:
        w.a["floatingip"] = make(
            api,
            "floatingips",
            A,
            floating_network_id=ext["id"],
            port_id=w.a["port"]["id"],
        )
        url = f"/floatingips/{w.a['floatingip']['id']}/tags/{TAG}"
        assert api.put(url, headers=A).status_code == 201
    if "trunks" in SERVED:
        for side, headers in (("a", A), ("b", B)):
            own = w.a if side == "a" else w.b
            ports = [make(api, "ports", headers, network_id=own["network"]["id"]) for _ in range(2)]
            own["trunk_subport"] = ports[1]
            subport = {"port_id": ports[1]["id"], "segmentation_type": "vlan", "segmentation_id": 5}
            own["trunk"] = make(
                api,
                "trunks",
                headers,
                name=f"{side}-trunk",
                port_id=ports[0]["id"],
                sub_ports=[subport],
                tags=[TAG] if side == "a" else [],
            )
    if "rbac-policies" in SERVED:  # A shares its network with a third project
        w.a["rbac_policy"] = make(
            api,
            "rbac-policies",
            A,
            object_type="network",
            object_id=w.a["network"]["id"],
            action="access_as_shared",
            target_tenant=uuid.uuid4().hex,
        )
    if "quotas" in SERVED:
        url = f"/quotas/{A['X-Project-Id']}"
        assert api.put(url, json={"quota": A_QUOTA}, headers=ADMIN).status_code == 200
    return w


def snapshot(api: httpx.Client, world: World) -> Resources:
    """What the admin sees of A's resources (and their tags, and A's quotas)."""
    seen = {}
    if "quotas" in SERVED:
        seen["quota"] = api.get(f"/quotas/{A['X-Project-Id']}", headers=ADMIN).json()
    for kind in SERVED_KINDS:
        url = f"/{kind.path}/{world.a[kind.singular]['id']}"
        response = api.get(url, headers=ADMIN)
        assert response.status_code == 200, response.text
        seen[kind.singular] = response.json()[kind.singular]
    return seen


def listed(api: httpx.Client, kind: Kind, headers: Headers, **params: Any) -> list[str]:
    response = api.get(f"/{kind.path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()[kind.plural]]


# --- B against each of A's resources: one case per (kind, operation) -----------------------

Operation = Callable[[httpx.Client, Kind, dict[str, Any]], None]


def _show(api: httpx.Client, kind: Kind, item: dict[str, Any]) -> None:
    url = f"/{kind.path}/{item['id']}"
    assert_error(api.get(url, headers=B), 404, kind.not_found)
    assert_error(api.get(url, params={"fields": "id"}, headers=B), 404, kind.not_found)
    assert_error(api.get(f"{url}.json", headers=B), 404, kind.not_found)


def _list(api: httpx.Client, kind: Kind, item: dict[str, Any]) -> None:
    assert item["id"] not in listed(api, kind, B)
    assert item["id"] in listed(api, kind, ADMIN)
    assert item["id"] not in listed(api, kind, B, fields=["id", "name"])
    assert item["id"] not in listed(api, kind, B, sort_key="id", sort_dir="desc", limit=1000)


def _filtered(api: httpx.Client, kind: Kind, item: dict[str, Any]) -> None:
    names = ["id", "project_id", "tenant_id", "name", *kind.filters]
    cases = [{name: item[name]} for name in names if item.get(name) not in (None, "")]
    if kind.taggable:
        cases += [{"tags": TAG}, {"tags-any": TAG}]
    for params in cases:
        assert item["id"] in listed(api, kind, ADMIN, **params), params  # the filter matches
        assert item["id"] not in listed(api, kind, B, **params), params


def _marker(api: httpx.Client, kind: Kind, item: dict[str, Any]) -> None:
    """A's resource as a page marker is as unknown to B as one that never existed."""
    params = {"marker": item["id"], "limit": 1, "sort_key": "id", "sort_dir": "asc"}
    assert api.get(f"/{kind.path}", params=params, headers=ADMIN).status_code == 200
    never = api.get(f"/{kind.path}", params={**params, "marker": str(uuid.uuid4())}, headers=B)
    hidden = api.get(f"/{kind.path}", params=params, headers=B)
    assert_error(never, 400)
    assert_error(hidden, 400, never.json()["NeutronError"]["type"])


def _update(api: httpx.Client, kind: Kind, item: dict[str, Any]) -> None:
    body = {kind.singular: kind.change}
    assert_error(api.put(f"/{kind.path}/{item['id']}", json=body, headers=B), 404, kind.not_found)
    revision = item.get("revision_number", 1)  # address scopes show none
    conditional = {**B, "If-Match": f"revision_number={revision}"}
    response = api.put(f"/{kind.path}/{item['id']}", json=body, headers=conditional)
    assert_error(response, 404, kind.not_found)


def _delete(api: httpx.Client, kind: Kind, item: dict[str, Any]) -> None:
    assert_error(api.delete(f"/{kind.path}/{item['id']}", headers=B), 404, kind.not_found)


def _tags(api: httpx.Client, kind: Kind, item: dict[str, Any]) -> None:
    url = f"/{kind.path}/{item['id']}/tags"
    for response in (
        api.get(url, headers=B),
        api.get(f"{url}/{TAG}", headers=B),
        api.put(url, json={"tags": ["b"]}, headers=B),
        api.put(f"{url}/b", headers=B),
        api.delete(f"{url}/{TAG}", headers=B),
        api.delete(url, headers=B),
    ):
        assert_error(response, 404, kind.not_found)


OPERATIONS: dict[str, tuple[Operation, Callable[[Kind], bool]]] = {
    "show": (_show, lambda kind: True),
    "list": (_list, lambda kind: True),
    "filtered-list": (_filtered, lambda kind: True),
    "marker": (_marker, lambda kind: True),
    "update": (_update, lambda kind: kind.change is not None),
    "delete": (_delete, lambda kind: True),
    "tags": (_tags, lambda kind: kind.taggable),
}

MATRIX = [
    pytest.param(kind, name, id=f"{kind.path}-{name}")
    for kind in SERVED_KINDS
    for name, (_, applies) in OPERATIONS.items()
    if applies(kind)
]


@pytest.mark.parametrize(("kind", "operation"), MATRIX)
def test_another_project_cannot_reach(
    api: httpx.Client, world: World, kind: Kind, operation: str
) -> None:
    before = snapshot(api, world)
    OPERATIONS[operation][0](api, kind, before[kind.singular])
    assert snapshot(api, world) == before


# Templates of no project, which every member reads and only admins change (the admin-only
# part: tests/integration/test_default_security_group_rules.py)
UNOWNED = {"quotas", "default-security-group-rules"}
# Firewalls (fwaas_v2): a project's lists hold its default group's resources and every shared
# one; their isolation (another project's are not found, shared ones not changed) is
# tests/integration/test_firewalls.py's
FIREWALLS = {"fwaas/firewall_rules", "fwaas/firewall_policies", "fwaas/firewall_groups"}
# QoS policies: a member makes none (an admin's or the project manager's), so the matrix's
# world cannot hold A's; their isolation is tests/integration/test_qos.py's
QOS = {"qos/policies"}


def test_the_matrix_covers_every_collection_served() -> None:
    assert {kind.path for kind in SERVED_KINDS} == SERVED - UNOWNED - FIREWALLS - QOS


@pytest.mark.parametrize("path", ADMIN_ONLY)
def test_admin_only_collections_refuse_members(api: httpx.Client, path: str) -> None:
    listed_by_admin = api.get(f"/{path}", headers=ADMIN).json()
    valid = {"nodes": {"name": f"iso-{SUFFIX}", "underlay_ip": "192.0.2.1"}}[path]
    for headers in (A, B):
        for method, url, body in (
            ("GET", f"/{path}", None),
            ("GET", f"/{path}/some-id", None),
            ("POST", f"/{path}", {path.removesuffix("s"): valid}),
            ("PUT", f"/{path}/some-id", {path.removesuffix("s"): {"name": "x"}}),
            ("DELETE", f"/{path}/some-id", None),
        ):
            response = api.request(method, url, json=body, headers=headers)
            assert_error(response, 403, "HTTPForbidden")
    assert api.get(f"/{path}", headers=ADMIN).json() == listed_by_admin


QUOTAS = {  # project A's quotas, by B: Neutron's policy refuses them all (403)
    "list": ("GET", "/quotas", None),
    "show": ("GET", "/quotas/{a}", None),
    "details": ("GET", "/quotas/{a}/details.json", None),
    "defaults": ("GET", "/quotas/{a}/default", None),
    "update": ("PUT", "/quotas/{a}", {"quota": {"network": 1000}}),
    "reset": ("DELETE", "/quotas/{a}", None),
}


@pytest.mark.skipif("quotas" not in SERVED, reason="quotas are not served yet")
@pytest.mark.parametrize("operation", list(QUOTAS))
def test_another_project_cannot_reach_quotas(
    api: httpx.Client, world: World, operation: str
) -> None:
    method, path, body = QUOTAS[operation]
    before = snapshot(api, world)
    url = path.format(a=A["X-Project-Id"])
    assert_error(api.request(method, url, json=body, headers=B), 403)
    assert snapshot(api, world) == before
    assert before["quota"]["quota"].items() >= A_QUOTA.items()


# --- B using A's resources from its own ----------------------------------------------------


@dataclass(frozen=True)
class Use:
    """A request of B's; ``@a.network`` (``@b.router``, ``@shared.subnet``...) in its path or
    body stands for the id of that resource of the world."""

    method: str
    path: str
    body: Any
    status: int
    error_type: str | None


def resolve(value: Any, world: World) -> Any:
    if isinstance(value, dict):
        return {key: resolve(item, world) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, world) for item in value]
    if isinstance(value, str):
        return re.sub(r"@(a|b|shared)\.(\w+)", lambda m: getattr(world, m[1])[m[2]]["id"], value)
    return value


def _rule(group: str, **more: Any) -> dict[str, Any]:
    return {"security_group_id": group, "direction": "egress", **more}


def _gateway(network: str) -> dict[str, Any]:
    return {"router": {"external_gateway_info": {"network_id": network}}}


def _policy(shared: str, object_type: str = "network") -> dict[str, Any]:
    return {
        "rbac_policy": {
            "object_type": object_type,
            "object_id": shared,
            "action": "access_as_shared",
            "target_tenant": uuid.uuid4().hex,
        }
    }


ADD, REMOVE = (
    "/routers/@b.router/add_router_interface",
    "/routers/@b.router/remove_router_interface",
)
USES = {
    "subnet-from-a-pool": Use(
        "POST",
        "/subnets",
        {"subnet": {"network_id": "@b.network", "subnetpool_id": "@a.subnetpool"}},
        404,
        "SubnetPoolNotFound",
    ),
    "pool-in-a-scope": Use(
        "POST",
        "/subnetpools",
        {
            "subnetpool": {
                "name": "b",
                "prefixes": ["10.99.0.0/16"],
                "address_scope_id": "@a.address_scope",
            }
        },
        404,
        "AddressScopeNotFound",
    ),
    "pool-moved-into-a-scope": Use(
        "PUT",
        "/subnetpools/@b.subnetpool",
        {"subnetpool": {"address_scope_id": "@a.address_scope"}},
        404,
        "AddressScopeNotFound",
    ),
    "port-on-a-network": Use(
        "POST", "/ports", {"port": {"network_id": "@a.network"}}, 404, "NetworkNotFound"
    ),
    "subnet-on-a-network": Use(
        "POST",
        "/subnets",
        {"subnet": {"network_id": "@a.network", "cidr": "10.9.0.0/24"}},
        404,
        "NetworkNotFound",
    ),
    "bulk-ports-into-a-network": Use(
        "POST",
        "/ports",
        {"ports": [{"network_id": "@b.network"}, {"network_id": "@a.network"}]},
        404,
        "NetworkNotFound",
    ),
    "bulk-subnets-into-a-network": Use(
        "POST",
        "/subnets",
        {
            "subnets": [
                {"network_id": "@b.network", "cidr": "10.62.1.0/24"},
                {"network_id": "@a.network", "cidr": "10.61.1.0/24"},
            ]
        },
        404,
        "NetworkNotFound",
    ),
    "rule-in-a-group": Use(
        "POST",
        "/security-group-rules",
        {"security_group_rule": _rule("@a.security_group")},
        404,
        "SecurityGroupNotFound",
    ),
    "bulk-rules-into-a-group": Use(
        "POST",
        "/security-group-rules",
        {
            "security_group_rules": [
                _rule("@b.security_group", protocol="udp"),
                _rule("@a.security_group", protocol="udp"),
            ]
        },
        404,
        "SecurityGroupNotFound",
    ),
    "rule-naming-a-group-as-remote": Use(
        "POST",
        "/security-group-rules",
        {"security_group_rule": _rule("@b.security_group", remote_group_id="@a.security_group")},
        404,
        "SecurityGroupNotFound",
    ),
    "port-with-a-group": Use(
        "POST",
        "/ports",
        {"port": {"network_id": "@b.network", "security_groups": ["@a.security_group"]}},
        404,
        "SecurityGroupNotFound",
    ),
    "port-update-to-a-group": Use(
        "PUT",
        "/ports/@b.port",
        {"port": {"security_groups": ["@a.security_group"]}},
        404,
        "SecurityGroupNotFound",
    ),
    "interface-to-a-subnet": Use("PUT", ADD, {"subnet_id": "@a.subnet"}, 404, "SubnetNotFound"),
    "interface-with-a-port": Use("PUT", ADD, {"port_id": "@a.port"}, 404, "PortNotFound"),
    "interface-on-a-router": Use(
        "PUT",
        "/routers/@a.router/add_router_interface",
        {"subnet_id": "@b.subnet"},
        404,
        "RouterNotFound",
    ),
    "interface-off-a-router": Use(
        "PUT",
        "/routers/@a.router/remove_router_interface",
        {"subnet_id": "@a.subnet"},
        404,
        "RouterNotFound",
    ),
    "interface-off-own-router-by-a-subnet": Use(
        "PUT", REMOVE, {"subnet_id": "@a.subnet"}, 404, "SubnetNotFound"
    ),
    "gateway-on-a-network": Use(
        "PUT", "/routers/@b.router", _gateway("@a.network"), 404, "NetworkNotFound"
    ),
    "router-created-on-a-network": Use(
        "POST", "/routers", _gateway("@a.network"), 404, "NetworkNotFound"
    ),
    "gateway-of-a-router": Use(
        "PUT", "/routers/@a.router", _gateway("@b.network"), 404, "RouterNotFound"
    ),
    # A shared network is for ports, its subnets are its owner's: Neutron's BadRequest.
    "interface-to-a-shared-subnet": Use(
        "PUT", ADD, {"subnet_id": "@shared.subnet"}, 400, "BadRequest"
    ),
    # An external network that is not shared is not B's to take addresses from.
    "port-on-an-external-network": Use(
        "POST", "/ports", {"port": {"network_id": "@shared.external"}}, 403, "HTTPForbidden"
    ),
    "port-on-shared-network-in-a-subnet": Use(
        "POST",
        "/ports",
        {"port": {"network_id": "@shared.network", "fixed_ips": [{"subnet_id": "@a.subnet"}]}},
        400,
        None,
    ),
    # B shares A's network (or the admin's shared one) with itself: Neutron's 400
    "policy-on-a-network": Use(
        "POST", "/rbac-policies", _policy("@a.network"), 400, "InvalidInput"
    ),
    "policy-on-a-shared-network": Use(
        "POST", "/rbac-policies", _policy("@shared.network"), 400, "InvalidInput"
    ),
    "policy-on-a-group": Use(
        "POST",
        "/rbac-policies",
        _policy("@a.security_group", "security_group"),
        400,
        "InvalidInput",
    ),
    "floatingip-to-a-port": Use(
        "POST",
        "/floatingips",
        {"floatingip": {"floating_network_id": "@shared.external", "port_id": "@a.port"}},
        404,
        "PortNotFound",
    ),
    "trunk-on-a-port": Use(
        "POST", "/trunks", {"trunk": {"port_id": "@a.port"}}, 404, "PortNotFound"
    ),
    "subport-of-a-port": Use(
        "PUT",
        "/trunks/@b.trunk/add_subports",
        {"sub_ports": [{"port_id": "@a.port", "segmentation_type": "vlan", "segmentation_id": 7}]},
        404,
        "PortNotFound",
    ),
    "subports-into-a-trunk": Use(
        "PUT",
        "/trunks/@a.trunk/add_subports",
        {"sub_ports": [{"port_id": "@b.port", "segmentation_type": "vlan", "segmentation_id": 7}]},
        404,
        "TrunkNotFound",
    ),
    "subports-out-of-a-trunk": Use(
        "PUT",
        "/trunks/@a.trunk/remove_subports",
        {"sub_ports": [{"port_id": "@a.trunk_subport"}]},
        404,
        "TrunkNotFound",
    ),
    "subports-of-a-trunk": Use("GET", "/trunks/@a.trunk/get_subports", None, 404, "TrunkNotFound"),
    "delete-a-subport": Use("DELETE", "/ports/@a.trunk_subport", None, 404, "PortNotFound"),
}


def _needs(use: str) -> list[pytest.MarkDecorator]:
    served = "floatingips" in SERVED or not use.startswith("floatingip")
    return [] if served else [pytest.mark.skip(reason="floating IPs are not served yet")]


@pytest.mark.parametrize("use", [pytest.param(use, id=use, marks=_needs(use)) for use in USES])
def test_another_project_cannot_use(api: httpx.Client, world: World, use: str) -> None:
    attempt = USES[use]
    before = snapshot(api, world)
    b_before = {kind.path: listed(api, kind, B) for kind in SERVED_KINDS}
    url, body = resolve(attempt.path, world), resolve(attempt.body, world)
    response = api.request(attempt.method, url, json=body, headers=B)
    assert_error(response, attempt.status, attempt.error_type)
    assert snapshot(api, world) == before
    # a refused bulk leaves nothing behind, not even the part on B's own resources
    assert {kind.path: listed(api, kind, B) for kind in SERVED_KINDS} == b_before


def test_a_port_naming_a_router_is_not_the_routers(api: httpx.Client, world: World) -> None:
    """As Neutron, B may not make its port name A's router as its device (409
    DeviceIDNotOwnedByTenant). A port of B's that names it all the same (an admin's, or one
    made before the check) is not A's router's port: it neither blocks the router's deletion
    nor goes with it, and B deletes it as any port of its own."""
    router = make(api, "routers", A, name="a-spare-router")
    owners = ("network:router_interface", "network:router_gateway")
    for owner in owners:
        body = {"network_id": world.b["network"]["id"], "device_id": router["id"]}
        response = post(api, "ports", B, {"port": {**body, "device_owner": owner}})
        assert_error(response, 409, "DeviceIDNotOwnedByTenant")
    spoofs = [
        make(
            api,
            "ports",
            ADMIN,
            project_id=B["X-Project-Id"],
            network_id=world.b["network"]["id"],
            device_id=router["id"],
            device_owner=owner,
        )
        for owner in owners
    ]
    response = action(api, router["id"], "remove_router_interface", A, port_id=spoofs[0]["id"])
    assert_error(response, 404, "RouterInterfaceNotFound")
    if "floatingips" in SERVED:  # nor does it route B's floating IPs through A's router
        gateway = {"external_gateway_info": {"network_id": world.shared["external"]["id"]}}
        assert api.put(f"/routers/{router['id']}", json={"router": gateway}, headers=A).is_success
        fip = {
            "floating_network_id": world.shared["external"]["id"],
            "port_id": world.b["port"]["id"],
        }
        response = post(api, "floatingips", B, {"floatingip": fip})
        assert_error(response, 404, "ExternalGatewayForFloatingIPNotFound")
        router = api.get(f"/routers/{router['id']}", headers=A).json()["router"]
    assert api.get(f"/routers/{router['id']}", headers=A).json()["router"] == router
    assert api.delete(f"/routers/{router['id']}", headers=A).status_code == 204
    for spoof in spoofs:
        assert api.get(f"/ports/{spoof['id']}", headers=B).status_code == 200
        assert api.delete(f"/ports/{spoof['id']}", headers=B).status_code == 204


# --- what everyone sees, what only the admin does ------------------------------------------


def test_shared_and_external_networks_are_visible_to_all(api: httpx.Client, world: World) -> None:
    for headers in (A, B):
        for name, path in (
            ("network", "networks"),
            ("subnet", "subnets"),
            ("external", "networks"),
            ("external_subnet", "subnets"),
        ):
            item = world.shared[name]
            response = api.get(f"/{path}/{item['id']}", headers=headers)
            assert response.status_code == 200, response.text
            assert item["id"] in listed(api, kind_of(path), headers)
        networks = kind_of("networks")
        external = listed(api, networks, headers, **{"router:external": "true"})
        assert world.shared["external"]["id"] in external
        assert world.shared["network"]["id"] in listed(api, networks, headers, shared="true")
        url = f"/networks/{world.shared['network']['id']}"
        assert_error(api.put(url, json={"network": {"name": "x"}}, headers=headers), 403)
        assert_error(api.put(f"{url}/tags/x", headers=headers), 403)
        assert_error(api.delete(url, headers=headers), 403)


def test_the_admin_sees_everything(api: httpx.Client, world: World) -> None:
    for kind in SERVED_KINDS:
        for item in [own[kind.singular] for own in (world.a, world.b) if kind.singular in own]:
            assert api.get(f"/{kind.path}/{item['id']}", headers=ADMIN).status_code == 200
            assert item["id"] in listed(api, kind, ADMIN, project_id=item["project_id"])
    assert api.get(f"/routers/{world.a['router']['id']}").status_code == 200  # noauth admin


def _of_a(attributes: dict[str, Any]) -> dict[str, Any]:
    return {**attributes, "project_id": A["X-Project-Id"]}


ADMIN_ONLY: dict[str, tuple[str, Callable[[World], dict[str, Any]]]] = {
    "network-provider-type": ("networks", lambda w: {"provider:network_type": "vxlan"}),
    "network-provider-segment": ("networks", lambda w: {"provider:segmentation_id": 870_001}),
    "network-provider-physnet": ("networks", lambda w: {"provider:physical_network": "p1"}),
    "network-external": ("networks", lambda w: {"router:external": True}),
    "network-shared": ("networks", lambda w: {"shared": True}),
    "port-binding-host": (
        "ports",
        lambda w: {"network_id": w.b["network"]["id"], "binding:host_id": "compute-1"},
    ),
    "port-binding-profile": (
        "ports",
        lambda w: {"network_id": w.b["network"]["id"], "binding:profile": {"x": 1}},
    ),
    "router-gateway-snat": (
        "routers",
        lambda w: {
            "external_gateway_info": {
                "network_id": w.shared["external"]["id"],
                "enable_snat": False,
            }
        },
    ),
    "router-gateway-address": (
        "routers",
        lambda w: {
            "external_gateway_info": {
                "network_id": w.shared["external"]["id"],
                "external_fixed_ips": [{"ip_address": "172.31.60.99"}],
            }
        },
    ),
    "networks-of-project-a": ("networks", lambda w: _of_a({})),
    "subnets-of-project-a": (
        "subnets",
        lambda w: _of_a({"network_id": w.b["network"]["id"], "cidr": "10.62.9.0/24"}),
    ),
    "ports-of-project-a": ("ports", lambda w: _of_a({"network_id": w.b["network"]["id"]})),
    "security-groups-of-project-a": ("security-groups", lambda w: _of_a({"name": "x"})),
    "security-group-rules-of-project-a": (
        "security-group-rules",
        lambda w: _of_a(_rule(w.b["security_group"]["id"], protocol="icmp")),
    ),
    "routers-of-project-a": ("routers", lambda w: _of_a({"name": "x"})),
    "floatingips-of-project-a": (
        "floatingips",
        lambda w: _of_a({"floating_network_id": w.shared["external"]["id"]}),
    ),
}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=[] if path in SERVED else [pytest.mark.skip(reason="not served")])
        for case, (path, _) in ADMIN_ONLY.items()
    ],
)
def test_a_member_cannot_set_admin_only_attributes(
    api: httpx.Client, world: World, case: str
) -> None:
    path, attributes = ADMIN_ONLY[case]
    kind = kind_of(path)
    before = {k.path: listed(api, k, B) for k in SERVED_KINDS}
    response = post(api, path, B, {kind.singular: attributes(world)})
    if case.endswith("-of-project-a"):  # Neutron's API layer refuses it first: a 400
        assert_error(response, 400, "HTTPBadRequest")
    else:
        assert_error(response, 403, "PolicyNotAuthorized")
    assert {k.path: listed(api, k, B) for k in SERVED_KINDS} == before
    assert listed(api, kind, ADMIN, project_id=A["X-Project-Id"]) == listed(
        api, kind, A, project_id=A["X-Project-Id"]
    )


ADMIN_ONLY_CHANGES: dict[str, tuple[str, Callable[[World], dict[str, Any]]]] = {
    "network-external": ("networks", lambda w: {"router:external": True}),
    "network-shared": ("networks", lambda w: {"shared": True}),
    "port-binding-host": ("ports", lambda w: {"binding:host_id": "compute-1"}),
    "port-binding-profile": ("ports", lambda w: {"binding:profile": {"x": 1}}),
    "router-gateway-snat": (
        "routers",
        lambda w: {
            "external_gateway_info": {
                "network_id": w.shared["external"]["id"],
                "enable_snat": False,
            }
        },
    ),
}


@pytest.mark.parametrize("case", list(ADMIN_ONLY_CHANGES))
def test_a_member_cannot_update_admin_only_attributes(
    api: httpx.Client, world: World, case: str
) -> None:
    path, change = ADMIN_ONLY_CHANGES[case]
    kind = kind_of(path)
    url = f"/{path}/{world.b[kind.singular]['id']}"
    before = api.get(url, headers=B).json()
    response = api.put(url, json={kind.singular: change(world)}, headers=B)
    assert_error(response, 403, "PolicyNotAuthorized")
    assert api.get(url, headers=B).json() == before


@pytest.mark.parametrize(
    "kind", [k for k in SERVED_KINDS if k.change is not None], ids=lambda k: k.path
)
def test_nobody_moves_a_resource_to_another_project(
    api: httpx.Client, world: World, kind: Kind
) -> None:
    item = world.b[kind.singular] if kind.singular in world.b else world.a[kind.singular]
    headers = B if kind.singular in world.b else A
    for attribute in ("project_id", "tenant_id"):
        body = {kind.singular: {attribute: ADMIN["X-Project-Id"]}}
        assert_error(api.put(f"/{kind.path}/{item['id']}", json=body, headers=headers), 400)
