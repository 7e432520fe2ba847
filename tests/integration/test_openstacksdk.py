"""The real openstacksdk, unchanged, against a real ``alcor server``: discovery with
``auth_type='none'``, then every capability a user reaches through ``conn.network`` (networks,
IPv4 and IPv6 subnets, ports and bulk ports, filters and pages, tags, conditional updates,
routers, security groups, floating IPs, quotas), and one end-to-end workflow as a member project.
Each test asserts the values the sdk hands back, as a user's code would read them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import openstack
import pytest
from keystoneauth1 import noauth, session
from openstack import exceptions
from openstack.connection import Connection

from alcor.api import discovery
from tests.servers import ServerProcess

pytestmark = pytest.mark.filterwarnings(
    # What the sdk warns about its own internals, not about how these tests call it.
    "ignore:The 'service_type' parameter is unnecesary",
    "ignore:The _compute_attributes method is deprecated",
    "ignore:Support for InfluxDB requires",
)

SERVED = {extension.alias for extension in discovery.EXTENSIONS}
needs_floating_ips = pytest.mark.skipif(
    "fip-port-details" not in SERVED, reason="floating IPs are not served yet"
)
needs_quotas = pytest.mark.skipif("quota_details" not in SERVED, reason="quotas are not served yet")

_second_octets = itertools.count(1)


def cidr() -> str:
    """A /24 no other test of this module uses, so routers never see overlapping subnets."""
    return f"10.{next(_second_octets)}.0.0/24"


def assert_gone(find: Callable[..., Any], name_or_id: str) -> None:
    """A ``find_*`` proxy method finds nothing by this name or id."""
    with pytest.raises(exceptions.NotFoundException):
        find(name_or_id, ignore_missing=False)


@pytest.fixture(scope="module")
def conn(server: ServerProcess) -> Iterator[Connection]:
    """The admin of the default project, exactly as the issue's users connect."""
    connection = openstack.connect(auth_type="none", endpoint=server.url)
    yield connection
    connection.close()


def member_of(server: ServerProcess, project: str) -> Connection:
    """A member of ``project``: keystoneauth's no-auth plugin with the identity headers that
    Keystone's middleware would pass on."""
    headers = {"X-Project-Id": project, "X-User-Id": f"user-of-{project}", "X-Roles": "member"}
    adapter = session.Session(auth=noauth.NoAuth(endpoint=server.url), additional_headers=headers)
    return Connection(session=adapter)


@pytest.fixture(scope="module")
def external(conn: Connection) -> dict[str, Any]:
    """The provider's external network with its subnet, made by the admin."""
    network = conn.network.create_network(name="public", is_router_external=True)
    subnet = conn.network.create_subnet(
        network_id=network.id,
        cidr="172.24.4.0/24",
        ip_version=4,
        is_dhcp_enabled=False,
        name="public-subnet",
    )
    return {"network": network, "subnet": subnet}


# --- discovery ------------------------------------------------------------------------------


def test_discovery_finds_the_network_api_and_its_extensions(
    conn: Connection, server: ServerProcess
) -> None:
    assert conn.network.get_endpoint().rstrip("/") == server.url + "/v2.0"
    aliases = {extension.alias for extension in conn.network.extensions()}
    assert aliases == SERVED
    assert conn.network.find_extension("router", ignore_missing=False).name == "Neutron L3 Router"
    assert_gone(conn.network.find_extension, "no-such-extension")


# --- networks, subnets, ports (issue 2) ------------------------------------------------------


def test_network_create_show_update_list_delete(conn: Connection) -> None:
    network = conn.network.create_network(name="sdk-net", description="made by the sdk")
    assert network.name == "sdk-net"
    assert network.description == "made by the sdk"
    assert network.status == "ACTIVE"
    assert network.is_admin_state_up is True
    assert network.is_shared is False
    assert network.is_router_external is False
    assert network.is_port_security_enabled is True
    assert network.mtu == 1450
    assert network.provider_network_type == "vxlan"
    assert isinstance(network.provider_segmentation_id, int)
    assert network.project_id == "admin"
    assert network.revision_number == 1
    assert conn.network.get_network(network.id).to_dict() == network.to_dict()
    assert conn.network.find_network("sdk-net", ignore_missing=False).id == network.id

    updated = conn.network.update_network(network, name="sdk-net-2", is_admin_state_up=False)
    assert (updated.name, updated.is_admin_state_up) == ("sdk-net-2", False)
    assert updated.revision_number == 2

    listed = list(conn.network.networks(name="sdk-net-2"))
    assert [n.id for n in listed] == [network.id]
    assert network.id not in {n.id for n in conn.network.networks(is_admin_state_up=True)}

    conn.network.delete_network(network, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_network(network.id)
    assert_gone(conn.network.find_network, "sdk-net-2")


def test_subnets_ipv4_and_ipv6(conn: Connection) -> None:
    network = conn.network.create_network(name="dual-stack")
    v4 = conn.network.create_subnet(
        network_id=network.id,
        cidr="10.200.0.0/24",
        ip_version=4,
        name="v4",
        allocation_pools=[{"start": "10.200.0.10", "end": "10.200.0.99"}],
        dns_nameservers=["10.200.0.2"],
        host_routes=[{"destination": "192.168.0.0/16", "nexthop": "10.200.0.254"}],
    )
    assert v4.gateway_ip == "10.200.0.1"
    assert v4.allocation_pools == [{"start": "10.200.0.10", "end": "10.200.0.99"}]
    assert v4.dns_nameservers == ["10.200.0.2"]
    assert v4.host_routes == [{"destination": "192.168.0.0/16", "nexthop": "10.200.0.254"}]
    assert v4.is_dhcp_enabled is True

    v6 = conn.network.create_subnet(
        network_id=network.id,
        cidr="fd00:200::/64",
        ip_version=6,
        name="v6",
        ipv6_address_mode="slaac",
        ipv6_ra_mode="slaac",
    )
    assert v6.ip_version == 6
    assert v6.gateway_ip == "fd00:200::1"
    assert v6.allocation_pools == [{"start": "fd00:200::2", "end": "fd00:200::ffff:ffff:ffff:ffff"}]
    assert (v6.ipv6_address_mode, v6.ipv6_ra_mode) == ("slaac", "slaac")
    assert set(conn.network.get_network(network.id).subnet_ids) == {v4.id, v6.id}

    assert [s.id for s in conn.network.subnets(network_id=network.id, ip_version=6)] == [v6.id]
    updated = conn.network.update_subnet(v4, gateway_ip=None, dns_nameservers=[])
    assert (updated.gateway_ip, updated.dns_nameservers) == (None, [])

    with pytest.raises(exceptions.BadRequestException, match=r"10\.300\.0\.0/24"):
        conn.network.create_subnet(network_id=network.id, cidr="10.300.0.0/24", ip_version=4)
    with pytest.raises(exceptions.BadRequestException):  # overlaps v4 on the same network
        conn.network.create_subnet(network_id=network.id, cidr="10.200.0.128/25", ip_version=4)

    for subnet in (v4, v6):
        conn.network.delete_subnet(subnet, ignore_missing=False)
    assert list(conn.network.subnets(network_id=network.id)) == []
    conn.network.delete_network(network)


def test_ports_with_fixed_ips(conn: Connection) -> None:
    network = conn.network.create_network(name="ports")
    subnet = conn.network.create_subnet(network_id=network.id, cidr=cidr(), ip_version=4)
    prefix = subnet.cidr.rsplit(".", 2)[0]
    chosen = f"{prefix}.0.50"

    made = conn.network.post(
        "/nodes", json={"node": {"name": "host-1", "underlay_ip": "198.19.0.1"}}
    )
    assert made.status_code == 201, made.text
    port = conn.network.create_port(
        network_id=network.id,
        name="vm-1",
        fixed_ips=[{"subnet_id": subnet.id, "ip_address": chosen}],
        device_id="instance-1",
        device_owner="compute:nova",
        binding_host_id="host-1",
    )
    assert port.fixed_ips == [{"subnet_id": subnet.id, "ip_address": chosen}]
    assert port.mac_address.startswith("fa:16:3e:")
    assert port.status == "DOWN"
    assert (port.device_id, port.device_owner, port.binding_host_id) == (
        "instance-1",
        "compute:nova",
        "host-1",
    )
    assert port.binding_vnic_type == "normal"

    automatic = conn.network.create_port(
        network_id=network.id, fixed_ips=[{"subnet_id": subnet.id}]
    )
    assert automatic.fixed_ips[0]["ip_address"] == f"{prefix}.0.2"

    with pytest.raises(exceptions.ConflictException, match=chosen):
        conn.network.create_port(network_id=network.id, fixed_ips=[{"ip_address": chosen}])

    moved = conn.network.update_port(port, fixed_ips=[{"ip_address": f"{prefix}.0.60"}])
    assert moved.fixed_ips == [{"subnet_id": subnet.id, "ip_address": f"{prefix}.0.60"}]
    assert moved.mac_address == port.mac_address
    # The address the port gave up is free again.
    reused = conn.network.create_port(network_id=network.id, fixed_ips=[{"ip_address": chosen}])
    assert reused.fixed_ips[0]["ip_address"] == chosen

    for each in (port, automatic, reused):
        conn.network.delete_port(each, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_port(port.id)
    conn.network.delete_network(network)


def test_agents_are_the_nodes_seen_through_the_agent_api(conn: Connection) -> None:
    body = {"node": {"name": "sdk-agent-host", "underlay_ip": "198.19.0.2"}}
    made = conn.network.post("/nodes", json=body)
    assert made.status_code == 201, made.text
    node = made.json()["node"]
    agents = list(conn.network.agents(host="sdk-agent-host"))
    assert [
        (a.id, a.host, a.agent_type, a.binary, a.is_alive, a.is_admin_state_up) for a in agents
    ] == [(node["id"], "sdk-agent-host", "Alcor agent", "alcor-agent", False, True)]
    assert node["id"] in {a.id for a in conn.network.agents()}
    assert list(conn.network.agents(host="sdk-agent-host", agent_type="DHCP agent")) == []
    agent = conn.network.get_agent(node["id"])
    assert agent.configuration["underlay_ip"] == "198.19.0.2"
    assert agent.last_heartbeat_at is None  # its agent never connected
    updated = conn.network.update_agent(agent, is_admin_state_up=False, description="drained")
    assert (updated.is_admin_state_up, updated.description) == (False, "drained")
    shown = conn.network.get("/nodes/" + node["id"]).json()["node"]
    assert (shown["admin_state_up"], shown["description"]) == (False, "drained")
    conn.network.delete_agent(agent)
    assert list(conn.network.agents(host="sdk-agent-host")) == []
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_agent(node["id"])


def test_bulk_ports_are_created_together_or_not_at_all(conn: Connection) -> None:
    network = conn.network.create_network(name="bulk")
    subnet = conn.network.create_subnet(network_id=network.id, cidr=cidr(), ip_version=4)
    prefix = subnet.cidr.rsplit(".", 2)[0]

    ports = list(
        conn.network.create_ports([{"network_id": network.id, "name": f"b{i}"} for i in range(5)])
    )
    assert [p.name for p in ports] == ["b0", "b1", "b2", "b3", "b4"]
    addresses = [p.fixed_ips[0]["ip_address"] for p in ports]
    assert addresses == [f"{prefix}.0.{host}" for host in range(2, 7)]
    assert len({p.mac_address for p in ports}) == 5

    taken = addresses[0]
    with pytest.raises(exceptions.ConflictException):
        list(
            conn.network.create_ports(
                [
                    {"network_id": network.id, "name": "fresh"},
                    {"network_id": network.id, "fixed_ips": [{"ip_address": taken}]},
                ]
            )
        )
    assert sorted(p.name for p in conn.network.ports(network_id=network.id)) == [
        "b0",
        "b1",
        "b2",
        "b3",
        "b4",
    ]

    for port in ports:
        conn.network.delete_port(port)
    conn.network.delete_network(network)


def test_lists_filter_sort_and_page(conn: Connection) -> None:
    network = conn.network.create_network(name="listing")
    conn.network.create_subnet(network_id=network.id, cidr=cidr(), ip_version=4)
    names = [f"p{i:02}" for i in range(7)]
    conn.network.create_ports(
        [
            {"network_id": network.id, "name": name, "device_owner": owner}
            for name, owner in zip(names, itertools.cycle(["compute:a", "compute:b"]), strict=False)
        ]
    )

    mine = conn.network.ports(network_id=network.id, sort_key="name", sort_dir="desc", limit=2)
    assert [p.name for p in mine] == sorted(names, reverse=True)  # four pages, followed
    owned = conn.network.ports(network_id=network.id, device_owner="compute:a")
    assert sorted(p.name for p in owned) == ["p00", "p02", "p04", "p06"]
    assert list(conn.network.ports(network_id=network.id, name="nobody")) == []

    for port in conn.network.ports(network_id=network.id):
        conn.network.delete_port(port)
    conn.network.delete_network(network)


def test_tags_through_the_sdk_tag_methods(conn: Connection) -> None:
    red = conn.network.create_network(name="tagged-red")
    blue = conn.network.create_network(name="tagged-blue")

    conn.network.set_tags(red, ["red", "shared-tag"])
    conn.network.set_tags(blue, ["blue", "shared-tag"])
    assert sorted(conn.network.get_network(red.id).tags) == ["red", "shared-tag"]
    conn.network.add_tag(red, "extra")
    assert conn.network.check_tag(red, "extra")
    conn.network.remove_tag(red, "extra")
    with pytest.raises(exceptions.NotFoundException):
        conn.network.check_tag(red, "extra")

    def named(**filters: str) -> set[str]:
        return {n.name for n in conn.network.networks(**filters)} & {red.name, blue.name}

    assert named(tags="red") == {"tagged-red"}
    assert named(tags="red,shared-tag") == {"tagged-red"}
    assert named(any_tags="red,blue") == {"tagged-red", "tagged-blue"}
    assert named(not_tags="red") == {"tagged-blue"}
    assert named(not_any_tags="red,blue") == set()

    conn.network.remove_all_tags(red)
    assert conn.network.get_network(red.id).tags == []
    assert conn.network.get_network(red.id).revision_number > red.revision_number

    port = conn.network.create_port(network_id=blue.id)
    conn.network.add_tag(port, "port-tag")
    assert [p.id for p in conn.network.ports(tags="port-tag")] == [port.id]
    conn.network.delete_port(port)
    for network in (red, blue):
        conn.network.delete_network(network)


def test_updates_and_deletes_can_be_conditional_on_the_revision(conn: Connection) -> None:
    # By id: the sdk sends If-Match only when it differs from the one the object last sent.
    network = conn.network.create_network(name="revisions").id
    updated = conn.network.update_network(network, name="rev-2", if_revision=1)
    assert updated.revision_number == 2
    with pytest.raises(exceptions.PreconditionFailedException):
        conn.network.update_network(network, name="rev-3", if_revision=1)
    assert conn.network.get_network(network).name == "rev-2"
    with pytest.raises(exceptions.PreconditionFailedException):
        conn.network.delete_network(network, if_revision=1)
    conn.network.delete_network(network, if_revision=2)
    assert_gone(conn.network.find_network, network)


# --- routers, security groups, floating IPs, quotas (issue 3) --------------------------------


def test_router_with_gateway_and_interface(conn: Connection, external: dict[str, Any]) -> None:
    network = conn.network.create_network(name="behind-router")
    subnet = conn.network.create_subnet(network_id=network.id, cidr=cidr(), ip_version=4)
    router = conn.network.create_router(
        name="r1", external_gateway_info={"network_id": external["network"].id}
    )
    gateway = router.external_gateway_info
    assert gateway["network_id"] == external["network"].id
    assert gateway["enable_snat"] is True
    [gateway_address] = gateway["external_fixed_ips"]
    assert gateway_address["subnet_id"] == external["subnet"].id

    interface = conn.network.add_interface_to_router(router, subnet=subnet.id)
    assert interface["subnet_id"] == subnet.id
    [router_port] = conn.network.ports(device_id=router.id, network_id=network.id)
    assert interface["port_id"] == router_port.id
    assert router_port.device_owner == "network:router_interface"
    assert router_port.fixed_ips == [{"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}]

    with pytest.raises(exceptions.ConflictException):
        conn.network.delete_router(router, ignore_missing=False)
    with pytest.raises(exceptions.ConflictException):
        conn.network.delete_subnet(subnet, ignore_missing=False)

    renamed = conn.network.update_router(router, name="r1-renamed")
    assert renamed.name == "r1-renamed"
    assert renamed.external_gateway_info == gateway

    conn.network.remove_interface_from_router(router, subnet=subnet.id)
    assert list(conn.network.ports(device_id=router.id, network_id=network.id)) == []
    cleared = conn.network.update_router(router, external_gateway_info={})
    assert cleared.external_gateway_info is None
    conn.network.delete_router(router, ignore_missing=False)
    assert_gone(conn.network.find_router, router.id)
    conn.network.delete_network(network)


def test_security_groups_rules_and_membership(conn: Connection) -> None:
    group = conn.network.create_security_group(name="web", description="web servers")
    assert (group.name, group.description, group.stateful) == ("web", "web servers", True)
    assert sorted((r["direction"], r["ethertype"]) for r in group.security_group_rules) == [
        ("egress", "IPv4"),
        ("egress", "IPv6"),
    ]

    https_in: dict[str, Any] = {
        "security_group_id": group.id,
        "direction": "ingress",
        "protocol": "tcp",
        "port_range_min": 443,
        "port_range_max": 443,
        "remote_ip_prefix": "0.0.0.0/0",
    }
    https = conn.network.create_security_group_rule(**https_in)
    assert (https.ether_type, https.protocol) == ("IPv4", "tcp")
    assert (https.port_range_min, https.port_range_max) == (443, 443)
    assert https.remote_ip_prefix == "0.0.0.0/0"
    peers = conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", remote_group_id=group.id
    )
    assert (peers.ether_type, peers.protocol, peers.remote_group_id) == ("IPv4", None, group.id)
    with pytest.raises(exceptions.ConflictException):
        conn.network.create_security_group_rule(**https_in, ether_type="IPv4")
    with pytest.raises(exceptions.BadRequestException):
        conn.network.create_security_group_rule(**{**https_in, "port_range_min": 444})
    rule_ids = {r.id for r in conn.network.security_group_rules(security_group_id=group.id)}
    assert {https.id, peers.id} <= rule_ids
    assert len(rule_ids) == 4

    network = conn.network.create_network(name="grouped")
    default = conn.network.find_security_group("default", ignore_missing=False)
    plain = conn.network.create_port(network_id=network.id)
    assert plain.security_group_ids == [default.id]
    member = conn.network.create_port(network_id=network.id, security_group_ids=[group.id])
    assert member.security_group_ids == [group.id]
    with pytest.raises(exceptions.ConflictException):
        conn.network.delete_security_group(group, ignore_missing=False)
    moved = conn.network.update_port(member, security_group_ids=[default.id])
    assert moved.security_group_ids == [default.id]

    conn.network.delete_security_group_rule(https, ignore_missing=False)
    assert_gone(conn.network.find_security_group_rule, https.id)
    conn.network.delete_security_group(group, ignore_missing=False)
    assert_gone(conn.network.find_security_group, "web")
    assert_gone(conn.network.find_security_group_rule, peers.id)
    for port in (plain, member):
        conn.network.delete_port(port)
    conn.network.delete_network(network)


@needs_floating_ips
def test_floating_ip_allocated_associated_and_released(
    conn: Connection, external: dict[str, Any]
) -> None:
    network = conn.network.create_network(name="fip-tenant")
    subnet = conn.network.create_subnet(network_id=network.id, cidr=cidr(), ip_version=4)
    router = conn.network.create_router(
        external_gateway_info={"network_id": external["network"].id}
    )
    port = conn.network.create_port(network_id=network.id)
    fixed_address = port.fixed_ips[0]["ip_address"]

    floating = conn.network.create_ip(floating_network_id=external["network"].id)
    assert floating.floating_network_id == external["network"].id
    assert floating.floating_ip_address.startswith("172.24.4.")
    assert (floating.port_id, floating.fixed_ip_address, floating.router_id) == (None, None, None)
    assert floating.status == "DOWN"

    # Without a router between the port's subnet and the external network: refused.
    with pytest.raises(exceptions.NotFoundException):
        conn.network.update_ip(floating, port_id=port.id)
    conn.network.add_interface_to_router(router, subnet=subnet.id)

    associated = conn.network.update_ip(floating, port_id=port.id)
    assert associated.port_id == port.id
    assert associated.fixed_ip_address == fixed_address
    assert associated.router_id == router.id
    assert associated.port_details["mac_address"] == port.mac_address
    assert [f.id for f in conn.network.ips(port_id=port.id)] == [floating.id]

    released = conn.network.update_ip(floating, port_id=None)
    assert (released.port_id, released.fixed_ip_address, released.router_id) == (None, None, None)
    assert released.floating_ip_address == floating.floating_ip_address

    conn.network.delete_ip(floating, ignore_missing=False)
    assert_gone(conn.network.find_ip, floating.id)
    conn.network.delete_port(port)
    conn.network.remove_interface_from_router(router, subnet=subnet.id)
    conn.network.delete_router(router)
    conn.network.delete_network(network)


@needs_quotas
def test_quotas_shown_set_and_enforced(server: ServerProcess, conn: Connection) -> None:
    project = "quota-project"
    tenant = member_of(server, project)
    network = tenant.network.create_network(name="counted")

    default_limit = conn.network.get_quota_default(project).networks
    details = conn.network.get_quota(project, details=True)
    assert details.networks == {"used": 1, "limit": default_limit, "reserved": 0}
    assert details.ports == {
        "used": 0,
        "limit": conn.network.get_quota(project).ports,
        "reserved": 0,
    }

    updated = conn.network.update_quota(project, networks=2, ports=3)
    assert (updated.networks, updated.ports) == (2, 3)
    assert conn.network.get_quota(project).networks == 2
    assert conn.network.get_quota_default(project).networks == default_limit

    tenant.network.create_network(name="second")
    with pytest.raises(exceptions.ConflictException, match=r"Quota exceeded .*'network'") as over:
        tenant.network.create_network(name="third")
    assert over.value.status_code == 409
    with pytest.raises(exceptions.ConflictException):  # a bulk over the limit: none of it
        list(tenant.network.create_ports([{"network_id": network.id}] * 4))
    assert list(tenant.network.ports(network_id=network.id)) == []
    assert len(list(tenant.network.create_ports([{"network_id": network.id}] * 3))) == 3

    conn.network.delete_quota(project)
    assert conn.network.get_quota(project).networks == default_limit
    tenant.close()


# --- the whole user workflow (issue 3's "done means") -----------------------------------------


@needs_floating_ips
@needs_quotas
def test_the_whole_user_workflow(
    server: ServerProcess, conn: Connection, external: dict[str, Any]
) -> None:
    """A member project builds a small tenant network behind a router with a floating IP, checks
    and hits its quota, then tears everything down; the admin provides the external network."""
    project = "workflow"
    user = member_of(server, project)
    net = user.network

    network = net.create_network(name="app")
    subnet = net.create_subnet(network_id=network.id, cidr="10.250.0.0/24", ip_version=4)
    subnet6 = net.create_subnet(
        network_id=network.id,
        cidr="fd00:250::/64",
        ip_version=6,
        ipv6_address_mode="slaac",
        ipv6_ra_mode="slaac",
    )
    assert network.project_id == subnet.project_id == project

    single = net.create_port(network_id=network.id, name="db")
    assert {ip["subnet_id"] for ip in single.fixed_ips} == {subnet.id, subnet6.id}
    bulk = list(net.create_ports([{"network_id": network.id, "name": f"web{i}"} for i in range(3)]))
    assert len({p.fixed_ips[0]["ip_address"] for p in [single, *bulk]}) == 4

    # A member sees the provider's external network but may not make one.
    assert net.get_network(external["network"].id).is_router_external is True
    with pytest.raises(exceptions.ForbiddenException):
        net.create_network(name="my-external", is_router_external=True)

    router = net.create_router(
        name="gw", external_gateway_info={"network_id": external["network"].id}
    )
    assert router.external_gateway_info["external_fixed_ips"][0]["subnet_id"] == (
        external["subnet"].id
    )
    net.add_interface_to_router(router, subnet=subnet.id)

    group = net.create_security_group(name="web")
    ssh = net.create_security_group_rule(
        security_group_id=group.id,
        direction="ingress",
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="192.0.2.0/24",
    )
    web = net.create_port(network_id=network.id, name="frontend", security_group_ids=[group.id])
    assert web.security_group_ids == [group.id]
    assert ssh.id in {rule["id"] for rule in net.get_security_group(group.id).security_group_rules}

    floating = net.create_ip(floating_network_id=external["network"].id)
    floating = net.update_ip(floating, port_id=web.id)
    assert floating.fixed_ip_address == web.fixed_ips[0]["ip_address"]
    assert floating.router_id == router.id
    floating = net.update_ip(floating, port_id=None)
    assert floating.port_id is None

    usage = conn.network.get_quota(project, details=True)
    assert usage.networks["used"] == 1
    assert usage.subnets["used"] == 2
    assert usage.ports["used"] == 6  # db, three web, frontend, the router's interface
    assert usage.routers["used"] == 1
    assert usage.floating_ips["used"] == 1
    assert usage.security_groups["used"] == 2  # web and the project's default
    conn.network.update_quota(project, routers=1)
    with pytest.raises(exceptions.HttpException) as over:
        net.create_router(name="one-too-many")
    assert over.value.status_code == 409
    assert [r.name for r in net.routers(project_id=project)] == ["gw"]

    net.delete_ip(floating, ignore_missing=False)
    for port in [single, *bulk, web]:
        net.delete_port(port, ignore_missing=False)
    net.delete_security_group_rule(ssh, ignore_missing=False)
    net.delete_security_group(group, ignore_missing=False)
    net.remove_interface_from_router(router, subnet=subnet.id)
    net.delete_router(router, ignore_missing=False)
    for each in (subnet, subnet6):
        net.delete_subnet(each, ignore_missing=False)
    net.delete_network(network, ignore_missing=False)
    conn.network.delete_quota(project)

    assert list(net.ips(project_id=project)) == []
    assert list(net.routers(project_id=project)) == []
    assert list(net.ports(project_id=project)) == []
    assert list(net.subnets(project_id=project)) == []
    assert list(net.networks(project_id=project)) == []
    assert [g.name for g in net.security_groups(project_id=project)] == ["default"]
    assert external["network"].id in {n.id for n in net.networks()}
    assert conn.network.get_quota(project, details=True).networks["used"] == 0
    user.close()
