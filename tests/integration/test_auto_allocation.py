"""Get me a network (``auto-allocated-topology``) over real HTTP, as the reference Neutron
answers: a project's network, subnets from the default pools and a router to the default
external network, made once. The tests run in order on the module's server: first without
the defaults a topology needs, then with them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openstack
import pytest

from tests.integration.neutron import assert_error, create_network, create_subnet
from tests.servers import ServerProcess

MEMBER = {"X-Project-Id": "gman-member", "X-Roles": "member"}
OTHER = {"X-Project-Id": "gman-other", "X-Roles": "member"}
TOPOLOGY = "/auto-allocated-topology"


def topology(api: httpx.Client, project: str = "None", **kwargs: Any) -> httpx.Response:
    return api.get(f"{TOPOLOGY}/{project}", **kwargs)


def auto_allocated(api: httpx.Client, headers: dict[str, str]) -> tuple[int, int, int]:
    """The project's resources named ``auto_allocated_*``, counted as the plugin's test does."""

    def count(collection: str, **params: Any) -> int:
        response = api.get(f"/{collection}", params=params, headers=headers)
        assert response.status_code == 200, response.text
        listed = response.json()[collection]
        return sum(1 for item in listed if item["name"].startswith("auto_allocated_"))

    up = {"admin_state_up": "true"}
    return count("networks", **up), count("subnets"), count("routers", **up)


def make_defaults(api: httpx.Client) -> str:
    """A default external network with a subnet and default IPv4 and IPv6 pools, shared."""
    public = create_network(api, name="public", **{"router:external": True})
    create_subnet(api, public["id"], "172.24.4.0/24")
    made = api.put(f"/networks/{public['id']}", json={"network": {"is_default": True}})
    assert made.status_code == 200, made.text
    for prefix, length in (("10.128.0.0/16", 26), ("fd00:128::/48", 64)):
        pool = {"name": f"default-{prefix}", "prefixes": [prefix], "is_default": True}
        pool |= {"default_prefixlen": length, "shared": True}
        made = api.post("/subnetpools", json={"subnetpool": pool})
        assert made.status_code == 201, made.text
    return str(public["id"])


def test_without_a_default_external_network_a_topology_is_a_deployment_error(
    api: httpx.Client,
) -> None:
    for fields in ({"fields": "dry-run"}, {}):
        refused = topology(api, params=fields, headers=MEMBER)
        assert_error(refused, 409, "AutoAllocationFailure")
        message = refused.json()["NeutronError"]["message"]
        assert message == "Deployment error: No default router:external network."
    # Neutron's DELETE gets the topology first: it is refused alike
    assert_error(api.delete(f"{TOPOLOGY}/None", headers=MEMBER), 409, "AutoAllocationFailure")
    assert auto_allocated(api, MEMBER) == (0, 0, 0)


def test_dry_run_passes_with_the_defaults(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_auto_allocated_topology.TestAutoAllocatedTopology
    .test_check_requirements_for_auto_allocate_net_topology; first without default pools."""
    public = create_network(api, name="public-first", **{"router:external": True})
    api.put(f"/networks/{public['id']}", json={"network": {"is_default": True}})
    refused = topology(api, params={"fields": "dry-run"}, headers=MEMBER)
    assert_error(refused, 409, "AutoAllocationFailure")
    message = refused.json()["NeutronError"]["message"]
    assert message == "Deployment error: No default subnetpools defined."
    assert api.put(f"/networks/{public['id']}", json={"network": {"is_default": False}}).is_success
    make_defaults(api)

    passed = topology(api, params={"fields": "dry-run"}, headers=MEMBER)
    assert passed.status_code == 200, passed.text
    assert passed.json() == {
        "auto_allocated_topology": {
            "id": "dry-run=pass",
            "tenant_id": "gman-member",
            "project_id": "gman-member",
        }
    }
    assert auto_allocated(api, MEMBER) == (0, 0, 0)  # a dry run makes nothing
    unknown = topology(api, params={"fields": "id"}, headers=MEMBER)
    assert_error(unknown, 400, "BadRequest")
    message = unknown.json()["NeutronError"]["message"]
    assert message == "Bad auto_allocate request: Unrecognized field."


def test_get_allocated_net_topology_as_project(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_auto_allocated_topology.TestAutoAllocatedTopology
    .test_get_allocated_net_topology_as_project: one network (up), a subnet from each default
    pool and a router, the same on every ask, under the project's own id or ``None``."""
    assert auto_allocated(api, MEMBER) == (0, 0, 0)
    first = topology(api, headers=MEMBER)
    assert first.status_code == 200, first.text
    body = first.json()["auto_allocated_topology"]
    assert (body["project_id"], body["tenant_id"]) == ("gman-member", "gman-member")
    network = api.get(f"/networks/{body['id']}", headers=MEMBER).json()["network"]
    assert (network["name"], network["admin_state_up"]) == ("auto_allocated_network", True)
    assert auto_allocated(api, MEMBER) == (1, 2, 1)

    again = topology(api, "gman-member", headers=MEMBER)
    assert again.json() == first.json()
    assert auto_allocated(api, MEMBER) == (1, 2, 1)

    subnets = api.get("/subnets", params={"network_id": body["id"]}, headers=MEMBER).json()
    by_name = {s["name"]: s for s in subnets["subnets"]}
    assert set(by_name) == {"auto_allocated_subnet_v4", "auto_allocated_subnet_v6"}
    assert by_name["auto_allocated_subnet_v4"]["cidr"].endswith("/26")
    assert by_name["auto_allocated_subnet_v6"]["cidr"].startswith("fd00:128:")
    routers = api.get("/routers", params={"name": "auto_allocated_router"}, headers=MEMBER)
    (router,) = routers.json()["routers"]
    defaults = api.get("/networks", params={"name": "public"}).json()["networks"]
    assert router["external_gateway_info"]["network_id"] == defaults[0]["id"]
    ports = api.get("/ports", params={"device_id": router["id"]}, headers=MEMBER).json()
    interfaces = {
        ip["subnet_id"]
        for port in ports["ports"]
        if port["device_owner"] == "network:router_interface"
        for ip in port["fixed_ips"]
    }
    assert interfaces == {s["id"] for s in by_name.values()}


def test_delete_allocated_net_topology_as_project(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_auto_allocated_topology.TestAutoAllocatedTopology
    .test_delete_allocated_net_topology_as_project; as Neutron, a DELETE with no topology
    (which gets one first) is a 204 too and leaves nothing."""
    assert auto_allocated(api, OTHER) == (0, 0, 0)
    made = topology(api, headers=OTHER)
    assert made.status_code == 200, made.text
    assert auto_allocated(api, OTHER) == (1, 2, 1)
    assert api.delete(f"{TOPOLOGY}/None", headers=OTHER).status_code == 204
    assert auto_allocated(api, OTHER) == (0, 0, 0)
    assert api.get(f"/networks/{made.json()['auto_allocated_topology']['id']}").status_code == 404
    assert api.delete(f"{TOPOLOGY}/gman-other", headers=OTHER).status_code == 204
    assert auto_allocated(api, OTHER) == (0, 0, 0)
    assert api.get("/routers", params={"project_id": "gman-other"}).json()["routers"] == []


def test_a_member_cannot_get_or_delete_another_projects_topology(api: httpx.Client) -> None:
    """The attack: a member asks for (and so would make, or remove) another project's
    topology; Neutron's 403 ``NotAuthorized``, and nothing is made or removed."""
    mine = topology(api, headers=MEMBER).json()["auto_allocated_topology"]["id"]
    for response in (
        topology(api, "gman-victim", headers=OTHER),
        topology(api, "gman-victim", params={"fields": "dry-run"}, headers=OTHER),
        api.delete(f"{TOPOLOGY}/gman-member", headers=OTHER),
    ):
        assert_error(response, 403, "NotAuthorized")
        assert response.json()["NeutronError"]["message"] == "Not authorized."
    assert api.get("/networks", params={"project_id": "gman-victim"}).json()["networks"] == []
    assert topology(api, headers=MEMBER).json()["auto_allocated_topology"]["id"] == mine


def test_an_admin_allocates_for_any_project(api: httpx.Client) -> None:
    made = topology(api, "gman-admin-made")
    assert made.status_code == 200, made.text
    body = made.json()["auto_allocated_topology"]
    assert body["project_id"] == "gman-admin-made"
    assert api.get(f"/networks/{body['id']}").json()["network"]["project_id"] == "gman-admin-made"
    owner = {"X-Project-Id": "gman-admin-made", "X-Roles": "member"}
    assert topology(api, headers=owner).json() == made.json()
    assert api.delete(f"{TOPOLOGY}/gman-admin-made").status_code == 204
    assert auto_allocated(api, owner) == (0, 0, 0)


def test_a_topology_is_quota_free(api: httpx.Client) -> None:
    """As the reference Neutron: a project that may make no network, subnet or router still
    gets its topology (Neutron makes it inside the plugin, where quotas are not counted)."""
    project = "gman-no-quota"
    limits = {"network": 0, "subnet": 0, "router": 0}
    assert api.put(f"/quotas/{project}", json={"quota": limits}).status_code == 200
    headers = {"X-Project-Id": project, "X-Roles": "member"}
    made = topology(api, headers=headers)
    assert made.status_code == 200, made.text
    assert auto_allocated(api, headers) == (1, 2, 1)
    assert_error(api.post("/networks", json={"network": {}}, headers=headers), 409, "OverQuota")


@pytest.mark.filterwarnings(
    # What the sdk warns about its own internals, not about how this test calls it.
    "ignore:The 'service_type' parameter is unnecesary",
    "ignore:The _compute_attributes method is deprecated",
    "ignore:Support for InfluxDB requires",
)
def test_openstacksdk_gets_validates_and_deletes_a_topology(server: ServerProcess) -> None:
    """The sdk's ``validate_auto_allocated_topology``, ``get_auto_allocated_topology`` and
    ``delete_auto_allocated_topology`` (as ``openstack network auto allocated topology``)."""
    conn = openstack.connect(auth_type="none", endpoint=server.url)
    try:
        checked = conn.network.validate_auto_allocated_topology(project="gman-sdk")
        assert (checked.id, checked.project_id) == ("dry-run=pass", "gman-sdk")
        made = conn.network.get_auto_allocated_topology(project="gman-sdk")
        assert made.project_id == "gman-sdk"
        assert conn.network.get_network(made.id).name == "auto_allocated_network"
        conn.network.delete_auto_allocated_topology(project="gman-sdk")
        assert list(conn.network.networks(project_id="gman-sdk")) == []
    finally:
        conn.close()


def test_asks_at_once_leave_one_topology(api: httpx.Client, server: ServerProcess) -> None:
    """Several first asks of one project at once: one topology, the same answer to all, and
    nothing left of the others (as Neutron's duplicate entry on saving, then its clean-up)."""
    headers = {"X-Project-Id": "gman-racing", "X-Roles": "member"}

    def ask(_: int) -> str:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as client:
            response = topology(client, headers=headers)
            assert response.status_code == 200, response.text
            return str(response.json()["auto_allocated_topology"]["id"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = set(pool.map(ask, range(4)))
    assert len(answers) == 1
    assert auto_allocated(api, headers) == (1, 2, 1)
    assert len(api.get("/networks", params={"project_id": "gman-racing"}).json()["networks"]) == 1
    assert len(api.get("/routers", params={"project_id": "gman-racing"}).json()["routers"]) == 1


def test_a_failed_allocation_leaves_nothing(api: httpx.Client) -> None:
    """A default IPv6 pool with room for one subnet: the first project takes it, the next
    one's IPv6 subnet cannot be had, so its network and IPv4 subnet made before go, and the
    answer is Neutron's 409 (as the reference Neutron answers with such a pool)."""
    pools = api.get("/subnetpools", params={"name": "default-fd00:128::/48"}).json()
    (old,) = pools["subnetpools"]
    unset = api.put(f"/subnetpools/{old['id']}", json={"subnetpool": {"is_default": False}})
    assert unset.status_code == 200, unset.text
    tiny = {"name": "tiny", "prefixes": ["fd00:129::/64"], "default_prefixlen": 64}
    tiny |= {"is_default": True, "shared": True}
    assert api.post("/subnetpools", json={"subnetpool": tiny}).status_code == 201
    first = {"X-Project-Id": "gman-first", "X-Roles": "member"}
    assert topology(api, headers=first).status_code == 200
    assert auto_allocated(api, first) == (1, 2, 1)

    late = {"X-Project-Id": "gman-late", "X-Roles": "member"}
    refused = topology(api, headers=late)
    assert_error(refused, 409, "AutoAllocationFailure")
    message = refused.json()["NeutronError"]["message"]
    assert message == "Deployment error: Unable to provide project private network."
    for collection in ("networks", "subnets", "routers", "ports"):
        left = api.get(f"/{collection}", params={"project_id": "gman-late"}).json()
        assert left[collection] == [], collection
    # nothing of the failed ask holds a prefix: with the first topology gone, there is room
    assert api.delete(f"{TOPOLOGY}/gman-first", headers=first).status_code == 204
    again = topology(api, headers=late)
    assert again.status_code == 200, again.text
