"""Subnets over real HTTP, compared with what Neutron answers: IPv4 and IPv6 defaults, gateways,
allocation pools and their errors, overlapping CIDRs, IPv6 address modes, host routes, DNS
servers, updates, and deleting a subnet that still has ports."""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.neutron import (
    REFERENCE,
    assert_error,
    create_network,
    create_port,
    create_subnet,
    eui64,
    post_port,
    post_subnet,
)
from tests.servers import ServerProcess


def pools(*ranges: tuple[str, str]) -> list[dict[str, str]]:
    return [{"start": start, "end": end} for start, end in ranges]


@pytest.fixture
def network(api: httpx.Client) -> dict[str, Any]:
    return create_network(api)


@pytest.fixture
def member_api(server: ServerProcess) -> Iterator[httpx.Client]:
    """A client acting as a member (not admin) of a project of its own."""
    headers = {"X-Project-Id": f"subnets-member-{uuid.uuid4().hex[:8]}", "X-Roles": "member"}
    with httpx.Client(base_url=server.url + "/v2.0", headers=headers, timeout=30.0) as client:
        yield client


def test_ipv4_defaults(api: httpx.Client, network: dict[str, Any]) -> None:
    subnet = create_subnet(api, network["id"], "10.1.0.0/24", ip_version=4, name="s4")
    assert subnet["name"] == "s4"
    assert subnet["network_id"] == network["id"]
    assert subnet["ip_version"] == 4
    assert subnet["cidr"] == "10.1.0.0/24"
    assert subnet["gateway_ip"] == "10.1.0.1"
    assert subnet["allocation_pools"] == pools(("10.1.0.2", "10.1.0.254"))
    assert subnet["enable_dhcp"] is True
    assert subnet["host_routes"] == []
    assert subnet["dns_nameservers"] == []
    assert subnet["ipv6_ra_mode"] is None
    assert subnet["ipv6_address_mode"] is None
    assert subnet["subnetpool_id"] is None
    assert subnet["router:external"] is False
    assert subnet["project_id"] == subnet["tenant_id"] == "admin"
    assert api.get(f"/subnets/{subnet['id']}").json()["subnet"] == subnet
    assert api.get(f"/networks/{network['id']}").json()["network"]["subnets"] == [subnet["id"]]


def test_response_has_exactly_the_keys_neutron_shows(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    expected = json.loads((REFERENCE / "subnet.json").read_text())["subnet"].keys()
    subnet = create_subnet(api, network["id"], "10.2.0.0/24", ip_version=4)
    assert set(subnet) == set(expected)
    assert set(api.get(f"/subnets/{subnet['id']}").json()["subnet"]) == set(expected)


def test_ip_version_is_taken_from_the_cidr_when_not_sent(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    assert create_subnet(api, network["id"], "10.3.0.0/24")["ip_version"] == 4


def test_subnet_on_an_external_network_shows_router_external(api: httpx.Client) -> None:
    external = create_network(api, **{"router:external": True})
    assert create_subnet(api, external["id"], "172.24.4.0/24")["router:external"] is True


def test_subnets_filter_on_their_networks_shared_and_router_external(
    api: httpx.Client, member_api: httpx.Client
) -> None:
    """Mirrors neutron-tempest-plugin test_subnets.SubnetsSearchCriteriaTest (every list of it
    carries ``shared=False`` and, with ``subnet-external-network``, ``router:external=False``)
    and tempest test_networks.NetworksTest.test_external_network_visibility: a subnet's
    ``shared`` and ``router:external`` are its network's, and a member sees the subnets of an
    external network it does not own."""
    own = create_network(member_api)
    mine = create_subnet(member_api, own["id"], "10.40.0.0/24")
    shared = create_network(api, shared=True)
    on_shared = create_subnet(api, shared["id"], "10.41.0.0/24")
    external = create_network(api, **{"router:external": True})
    on_external = create_subnet(api, external["id"], "172.25.4.0/24")

    def ids(client: httpx.Client, **params: Any) -> set[str]:
        response = client.get("/subnets", params=params)
        assert response.status_code == 200, response.text
        return {subnet["id"] for subnet in response.json()["subnets"]}

    plain = {"shared": "False", "router:external": "False"}
    assert mine["id"] in ids(member_api, **plain)
    assert not {on_shared["id"], on_external["id"]} & ids(member_api, **plain)
    assert on_shared["id"] in ids(member_api, shared="True")
    assert mine["id"] not in ids(member_api, shared="True")
    assert ids(member_api, network_id=external["id"]) == {on_external["id"]}
    assert ids(member_api, **{"router:external": "True", "network_id": external["id"]}) == {
        on_external["id"]
    }
    assert ids(api, shared="True", network_id=own["id"]) == set()
    assert_error(api.get("/subnets", params={"shared": "maybe"}), 400)
    assert_error(api.get("/subnets", params={"sort_key": "shared"}), 400)


def test_ip_version_given_as_a_string_is_converted(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    """Mirrors neutron-tempest-plugin admin test_quotas_negative.QuotasAdminNegativeTestJSON
    .test_create_subnet_when_quotas_is_full (``ip_version: "4"``), as Neutron's
    ``convert_to_int``: "4" is 4, "four" a 400."""
    assert create_subnet(api, network["id"], "10.42.0.0/24", ip_version="4")["ip_version"] == 4
    response = post_subnet(api, network["id"], "10.43.0.0/24", ip_version="four")
    assert_error(response, 400, "InvalidInput")


def test_update_subnet_bumps_network_revision(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_revisions.TestRevisions
    .test_update_subnet_bumps_network_revision: a subnet's creation and deletion are changes
    of its network."""
    network = create_network(api)
    subnet = create_subnet(api, network["id"], "10.44.0.0/24")
    created = api.get(f"/networks/{network['id']}").json()["network"]
    assert created["revision_number"] > network["revision_number"]
    assert api.delete(f"/subnets/{subnet['id']}").status_code == 204
    deleted = api.get(f"/networks/{network['id']}").json()["network"]
    assert deleted["revision_number"] > created["revision_number"]
    stale = {"If-Match": f"revision_number={network['revision_number']}"}
    response = api.put(f"/networks/{network['id']}", json={"network": {"name": "x"}}, headers=stale)
    assert_error(response, 412)


def test_allocate_ips_are_from_correct_subnet(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_subnets.SubnetServiceTypeTestJSON
    .test_allocate_ips_are_from_correct_subnet (``subnet-service-types``): a port takes its
    address from a subnet whose service types name its device owner; with none, 409
    IpAddressGenerationFailureNoMatchingSubnet and nothing is made, and a fixed IP on a
    subnet that does not serve it is a 400."""
    network = create_network(api)
    one = create_subnet(
        api, network["id"], "192.168.1.0/24", service_types=["test:type_1", "network:distributed"]
    )
    two = create_subnet(
        api, network["id"], "192.168.2.0/24", service_types=["test:type_2", "network:distributed"]
    )
    assert one["service_types"] == ["test:type_1", "network:distributed"]
    for device_owner, subnet in (("test:type_1", one), ("test:type_2", two)):
        port = create_port(api, network["id"], device_owner=device_owner)
        assert [ip["subnet_id"] for ip in port["fixed_ips"]] == [subnet["id"]]
        assert ipaddress.ip_address(port["fixed_ips"][0]["ip_address"]) in ipaddress.ip_network(
            subnet["cidr"]
        )
    before = api.get("/ports", params={"network_id": network["id"]}).json()
    assert_error(post_port(api, network["id"]), 409, "IpAddressGenerationFailureNoMatchingSubnet")
    wrong = [{"subnet_id": one["id"]}]
    response = post_port(api, network["id"], device_owner="test:type_2", fixed_ips=wrong)
    assert_error(response, 400, "InvalidInput")
    assert api.get("/ports", params={"network_id": network["id"]}).json() == before
    anyone = create_subnet(api, network["id"], "192.168.3.0/24")
    port = create_port(api, network["id"], device_owner="compute:nova")
    assert [ip["subnet_id"] for ip in port["fixed_ips"]] == [anyone["id"]]
    typed_first = create_port(api, network["id"], device_owner="test:type_1")
    assert [ip["subnet_id"] for ip in typed_first["fixed_ips"]] == [one["id"]]


def test_update_subnet_service_types_bumps_revisions(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    """Mirrors neutron-tempest-plugin test_revisions.TestRevisions
    .test_update_subnet_service_types_bumps_revisions."""
    subnet = create_subnet(api, network["id"], "10.45.0.0/24")
    url = f"/subnets/{subnet['id']}"
    typed = api.put(url, json={"subnet": {"service_types": ["compute:"]}}).json()["subnet"]
    assert typed["service_types"] == ["compute:"]
    assert typed["revision_number"] > subnet["revision_number"]
    cleared = api.put(url, json={"subnet": {"service_types": []}}).json()["subnet"]
    assert cleared["service_types"] == []
    assert cleared["revision_number"] > typed["revision_number"]
    assert_error(api.put(url, json={"subnet": {"service_types": [5]}}), 400)


def test_null_gateway_leaves_every_host_address_in_the_pool(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    subnet = create_subnet(api, network["id"], "10.4.0.0/24", ip_version=4, gateway_ip=None)
    assert subnet["gateway_ip"] is None
    assert subnet["allocation_pools"] == pools(("10.4.0.1", "10.4.0.254"))
    assert create_port(api, network["id"])["fixed_ips"][0]["ip_address"] == "10.4.0.1"


def test_gateway_in_the_middle_splits_the_default_pool(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    subnet = create_subnet(api, network["id"], "10.5.0.0/24", gateway_ip="10.5.0.100")
    assert subnet["gateway_ip"] == "10.5.0.100"
    assert subnet["allocation_pools"] == pools(
        ("10.5.0.1", "10.5.0.99"), ("10.5.0.101", "10.5.0.254")
    )


def test_custom_pools_are_kept_and_used(api: httpx.Client, network: dict[str, Any]) -> None:
    wanted = pools(("10.6.0.10", "10.6.0.19"), ("10.6.0.100", "10.6.0.100"))
    subnet = create_subnet(api, network["id"], "10.6.0.0/24", allocation_pools=wanted)
    assert subnet["allocation_pools"] == wanted
    assert subnet["gateway_ip"] == "10.6.0.1"
    assert api.get(f"/subnets/{subnet['id']}").json()["subnet"]["allocation_pools"] == wanted
    assert create_port(api, network["id"])["fixed_ips"][0]["ip_address"] == "10.6.0.10"


@pytest.mark.parametrize(
    ("attributes", "status", "error_type"),
    [
        ({"allocation_pools": pools(("10.7.1.2", "10.7.1.9"))}, 400, "InvalidAllocationPool"),
        ({"allocation_pools": pools(("10.7.0.200", "10.7.1.5"))}, 400, "InvalidAllocationPool"),
        ({"allocation_pools": pools(("10.7.0.0", "10.7.0.5"))}, 400, "InvalidAllocationPool"),
        ({"allocation_pools": pools(("10.7.0.250", "10.7.0.255"))}, 400, "InvalidAllocationPool"),
        ({"allocation_pools": pools(("10.7.0.9", "10.7.0.5"))}, 400, "InvalidAllocationPool"),
        ({"allocation_pools": pools(("10.7.0.5", "fd00::5"))}, 400, "InvalidAllocationPool"),
        (
            {"allocation_pools": pools(("10.7.0.2", "10.7.0.20"), ("10.7.0.20", "10.7.0.30"))},
            409,
            "OverlappingAllocationPools",
        ),
        (
            {"allocation_pools": pools(("10.7.0.1", "10.7.0.20"))},
            409,
            "GatewayConflictWithAllocationPools",
        ),
        (
            {"gateway_ip": "10.7.0.10", "allocation_pools": pools(("10.7.0.2", "10.7.0.20"))},
            409,
            "GatewayConflictWithAllocationPools",
        ),
        ({"allocation_pools": pools(("10.7.0.2", "banana"))}, 400, "HTTPBadRequest"),
        ({"allocation_pools": [{"start": "10.7.0.2"}]}, 400, "HTTPBadRequest"),
    ],
)
def test_invalid_pools(
    api: httpx.Client,
    network: dict[str, Any],
    attributes: dict[str, Any],
    status: int,
    error_type: str,
) -> None:
    response = post_subnet(api, network["id"], "10.7.0.0/24", **attributes)
    assert_error(response, status, error_type)
    assert api.get("/subnets", params={"network_id": network["id"]}).json()["subnets"] == []


def test_adjacent_pools_are_fine(api: httpx.Client, network: dict[str, Any]) -> None:
    wanted = pools(("10.8.0.2", "10.8.0.9"), ("10.8.0.10", "10.8.0.20"))
    subnet = create_subnet(api, network["id"], "10.8.0.0/24", allocation_pools=wanted)
    assert subnet["allocation_pools"] == wanted


@pytest.mark.parametrize(
    "gateway", ["10.9.1.1", "10.9.0.0", "10.9.0.255", "fd00::1", "not-an-address"]
)
def test_invalid_gateway_is_400(api: httpx.Client, network: dict[str, Any], gateway: str) -> None:
    assert_error(
        post_subnet(api, network["id"], "10.9.0.0/24", gateway_ip=gateway), 400, "HTTPBadRequest"
    )


def test_overlapping_cidr_in_one_network_is_400_in_another_is_fine(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    create_subnet(api, network["id"], "10.10.0.0/16")
    response = post_subnet(api, network["id"], "10.10.5.0/24")
    assert_error(response, 400, "InvalidInput")
    assert "overlaps" in response.json()["NeutronError"]["message"]
    assert_error(post_subnet(api, network["id"], "10.0.0.0/8"), 400, "InvalidInput")
    assert len(api.get("/subnets", params={"network_id": network["id"]}).json()["subnets"]) == 1
    other = create_network(api)
    assert create_subnet(api, other["id"], "10.10.5.0/24")["cidr"] == "10.10.5.0/24"
    assert create_subnet(api, network["id"], "10.11.0.0/24")["cidr"] == "10.11.0.0/24"


@pytest.mark.parametrize(
    ("cidr", "attributes"),
    [
        ("10.12.0.0/24", {"ip_version": 5}),
        ("10.12.0.0", {}),
        ("10.12.0.0/33", {}),
        ("bogus/24", {}),
        ("fd00:12::/64", {"ipv6_address_mode": "magic"}),  # the modes: test_ipv6_modes
        ("10.12.0.0/24", {"subnetpool_id": "x"}),
        ("10.12.0.0/24", {"segment_id": None}),
    ],
)
def test_bad_cidr_version_or_modes_are_400(
    api: httpx.Client, network: dict[str, Any], cidr: str, attributes: dict[str, Any]
) -> None:
    assert_error(post_subnet(api, network["id"], cidr, **attributes), 400, "HTTPBadRequest")
    assert api.get("/subnets", params={"network_id": network["id"]}).json()["subnets"] == []


def test_host_bits_are_cleared_as_neutron_does(api: httpx.Client, network: dict[str, Any]) -> None:
    subnet = create_subnet(api, network["id"], "10.13.0.5/24")
    assert (subnet["cidr"], subnet["gateway_ip"]) == ("10.13.0.0/24", "10.13.0.1")


@pytest.mark.parametrize(("cidr", "ip_version"), [("10.12.0.0/24", 6), ("fd00:12::/64", 4)])
def test_cidr_of_another_ip_version_is_400_as_neutron(
    api: httpx.Client, network: dict[str, Any], cidr: str, ip_version: int
) -> None:
    response = post_subnet(api, network["id"], cidr, ip_version=ip_version)
    assert_error(response, 400, "InvalidInput")
    assert response.json()["NeutronError"]["message"] == (
        f"Invalid input for operation: cidr '{cidr}' does not match the ip_version '{ip_version}'."
    )
    assert api.get("/subnets", params={"network_id": network["id"]}).json()["subnets"] == []


# The attack (issue 10): a member makes subnets of the reserved ranges with DHCP on.
# Neutron's answers, from the reference server (neutron 28.0.2).
RESERVED = [
    ("0.0.0.0/0", "First IP '0.0.0.0' of network is not supported if enable_dhcp is True.."),
    ("127.0.0.0/8", "Loopback IP subnet is not supported if enable_dhcp is True."),
    ("224.0.0.0/4", "Multicast IP subnet is not supported if enable_dhcp is True."),
    ("::/0", "IPv6 subnet '::' is not supported."),
    ("::1/128", "Subnet has a prefix length that is incompatible with DHCP service enabled."),
    ("ff00::/8", "Multicast IP subnet is not supported if enable_dhcp is True."),
]


@pytest.mark.parametrize(("cidr", "reason"), RESERVED)
def test_member_subnet_of_a_reserved_range_with_dhcp_is_400_and_nothing_is_made(
    member_api: httpx.Client, cidr: str, reason: str
) -> None:
    network = create_network(member_api)
    response = post_subnet(member_api, network["id"], cidr, enable_dhcp=True)
    assert_error(response, 400, "InvalidInput")
    assert response.json()["NeutronError"]["message"] == f"Invalid input for operation: {reason}"
    listed = member_api.get("/subnets", params={"network_id": network["id"]}).json()["subnets"]
    assert listed == []


@pytest.mark.parametrize(
    ("cidr", "status"),
    [("127.0.0.0/8", 201), ("224.0.0.0/4", 201), ("::1/128", 201), ("0.0.0.0/0", 400)],
)
def test_reserved_ranges_without_dhcp_are_as_neutron(
    api: httpx.Client, network: dict[str, Any], cidr: str, status: int
) -> None:
    """Neutron checks these ranges only for DHCP; a /0 it never takes."""
    response = post_subnet(api, network["id"], cidr, enable_dhcp=False)
    assert response.status_code == status, response.text


def test_turning_dhcp_on_checks_the_range(api: httpx.Client, network: dict[str, Any]) -> None:
    subnet = create_subnet(api, network["id"], "127.0.0.0/8", enable_dhcp=False)
    response = api.put(f"/subnets/{subnet['id']}", json={"subnet": {"enable_dhcp": True}})
    assert_error(response, 400, "InvalidInput")
    assert api.get(f"/subnets/{subnet['id']}").json()["subnet"]["enable_dhcp"] is False
    renamed = api.put(f"/subnets/{subnet['id']}", json={"subnet": {"name": "lo"}})
    assert renamed.status_code == 200, renamed.text


@pytest.mark.parametrize("cidr", ["10.14.0.0/30", "fd00:14::/126"])
def test_smallest_subnets_dhcp_can_serve_are_taken(
    api: httpx.Client, network: dict[str, Any], cidr: str
) -> None:
    assert create_subnet(api, network["id"], cidr)["enable_dhcp"] is True


@pytest.mark.parametrize(
    ("attribute", "items", "error_type"),
    [
        ("dns_nameservers", [f"10.15.0.{i}" for i in range(1, 7)], "DNSNameServersExhausted"),
        (
            "host_routes",
            [{"destination": f"10.{i}.0.0/16", "nexthop": "10.15.0.9"} for i in range(100, 121)],
            "HostRoutesExhausted",
        ),
    ],
)
def test_more_nameservers_or_host_routes_than_neutrons_limits_are_400(
    api: httpx.Client,
    network: dict[str, Any],
    attribute: str,
    items: list[Any],
    error_type: str,
) -> None:
    response = post_subnet(api, network["id"], "10.15.0.0/24", **{attribute: items})
    assert_error(response, 400, error_type)
    assert "Unable to complete operation for new subnet." in response.text
    subnet = create_subnet(api, network["id"], "10.15.0.0/24", **{attribute: items[:-1]})
    assert len(subnet[attribute]) == len(items) - 1
    update = api.put(f"/subnets/{subnet['id']}", json={"subnet": {attribute: items}})
    assert_error(update, 400, error_type)
    assert f"Unable to complete operation for {subnet['id']}." in update.text


def test_nameserver_of_the_other_ip_version_is_400(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    response = post_subnet(api, network["id"], "10.16.0.0/24", dns_nameservers=["::1"])
    assert_error(response, 400, "InvalidInput")
    assert "dns_nameserver '::1' does not match the ip_version '4'" in response.text


def test_subnet_on_unknown_network_is_404(api: httpx.Client) -> None:
    response = post_subnet(api, "00000000-0000-0000-0000-000000000000", "10.14.0.0/24")
    assert_error(response, 404, "NetworkNotFound")


def test_unknown_subnet_is_404(api: httpx.Client) -> None:
    missing = "00000000-0000-0000-0000-000000000001"
    assert_error(api.get(f"/subnets/{missing}"), 404, "SubnetNotFound")
    assert_error(api.delete(f"/subnets/{missing}"), 404, "SubnetNotFound")
    assert_error(
        api.put(f"/subnets/{missing}", json={"subnet": {"name": "x"}}), 404, "SubnetNotFound"
    )


def test_ipv6_defaults(api: httpx.Client, network: dict[str, Any]) -> None:
    subnet = create_subnet(api, network["id"], "fd00:1::/64", ip_version=6)
    assert subnet["ip_version"] == 6
    assert subnet["gateway_ip"] == "fd00:1::1"
    assert subnet["allocation_pools"] == pools(("fd00:1::2", "fd00:1::ffff:ffff:ffff:ffff"))
    port = create_port(api, network["id"])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "fd00:1::2"}]


@pytest.mark.parametrize(
    "modes",
    [
        {"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"},
        {"ipv6_address_mode": "slaac"},
        {"ipv6_ra_mode": "dhcpv6-stateless", "ipv6_address_mode": "dhcpv6-stateless"},
    ],
)
def test_slaac_subnet_gives_ports_their_eui64_address(
    api: httpx.Client, network: dict[str, Any], modes: dict[str, str]
) -> None:
    subnet = create_subnet(api, network["id"], "fd00:2::/64", ip_version=6, **modes)
    for mode in ("ipv6_ra_mode", "ipv6_address_mode"):
        assert subnet[mode] == modes.get(mode)
    port = create_port(api, network["id"], mac_address="fa:16:3e:12:34:56")
    assert port["fixed_ips"] == [
        {"subnet_id": subnet["id"], "ip_address": "fd00:2::f816:3eff:fe12:3456"}
    ]
    other = create_port(api, network["id"])
    mac = bytearray.fromhex(other["mac_address"].replace(":", ""))
    mac[0] ^= 0x02
    interface = int.from_bytes(bytes(mac[:3]) + b"\xff\xfe" + bytes(mac[3:]))
    expected = ipaddress.IPv6Address(int(ipaddress.IPv6Address("fd00:2::")) + interface)
    assert other["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": str(expected)}]


def test_dual_stack_port_gets_one_address_of_each_version(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    v4 = create_subnet(api, network["id"], "10.15.0.0/24")
    v6 = create_subnet(api, network["id"], "fd00:15::/64", ipv6_address_mode="slaac")
    port = create_port(api, network["id"], mac_address="fa:16:3e:00:00:01")
    assert port["fixed_ips"] == [
        {"subnet_id": v4["id"], "ip_address": "10.15.0.2"},
        {"subnet_id": v6["id"], "ip_address": "fd00:15::f816:3eff:fe00:1"},
    ]


def test_host_routes_and_nameservers_are_kept(api: httpx.Client, network: dict[str, Any]) -> None:
    routes = [
        {"destination": "192.168.0.0/16", "nexthop": "10.16.0.254"},
        {"destination": "0.0.0.0/0", "nexthop": "10.16.0.1"},
    ]
    subnet = create_subnet(
        api,
        network["id"],
        "10.16.0.0/24",
        host_routes=routes,
        dns_nameservers=["8.8.8.8", "1.1.1.1"],
    )
    assert subnet["host_routes"] == routes
    assert subnet["dns_nameservers"] == ["8.8.8.8", "1.1.1.1"]
    assert api.get(f"/subnets/{subnet['id']}").json()["subnet"] == subnet


@pytest.mark.parametrize(
    "attributes",
    [
        {"host_routes": [{"destination": "192.168.0.0/16", "nexthop": "bad"}]},
        {"host_routes": [{"destination": "192.168.0.5/16", "nexthop": "10.17.0.1"}]},
        {"host_routes": [{"destination": "fd00::/64", "nexthop": "10.17.0.1"}]},
        {"host_routes": [{"destination": "192.168.0.0/16"}]},
        {"host_routes": [{"destination": "192.168.0.0/16", "nexthop": "10.17.0.1", "x": 1}]},
        {
            "host_routes": [
                {"destination": "192.168.0.0/16", "nexthop": "10.17.0.1"},
                {"destination": "192.168.0.0/16", "nexthop": "10.17.0.1"},
            ]
        },
        {"dns_nameservers": ["8.8.8.8", "8.8.8.8"]},
        {"dns_nameservers": ["dns.example.com"]},
        {"dns_nameservers": "8.8.8.8"},
    ],
)
def test_bad_routes_or_nameservers_are_400(
    api: httpx.Client, network: dict[str, Any], attributes: dict[str, Any]
) -> None:
    assert_error(
        post_subnet(api, network["id"], "10.17.0.0/24", **attributes), 400, "HTTPBadRequest"
    )


def test_update_name_routes_nameservers_and_revision(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    subnet = create_subnet(api, network["id"], "10.18.0.0/24", name="old")
    routes = [{"destination": "192.168.0.0/24", "nexthop": "10.18.0.5"}]
    response = api.put(
        f"/subnets/{subnet['id']}",
        json={"subnet": {"name": "new", "host_routes": routes, "dns_nameservers": ["9.9.9.9"]}},
    )
    assert response.status_code == 200, response.text
    updated = response.json()["subnet"]
    assert (updated["name"], updated["host_routes"], updated["dns_nameservers"]) == (
        "new",
        routes,
        ["9.9.9.9"],
    )
    assert updated["revision_number"] == subnet["revision_number"] + 1
    assert updated["allocation_pools"] == subnet["allocation_pools"]
    assert api.get(f"/subnets/{subnet['id']}").json()["subnet"] == updated


def test_update_pools_changes_where_ports_are_allocated(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    subnet = create_subnet(api, network["id"], "10.19.0.0/24")
    first = create_port(api, network["id"])
    assert first["fixed_ips"][0]["ip_address"] == "10.19.0.2"
    wanted = pools(("10.19.0.50", "10.19.0.60"))
    response = api.put(f"/subnets/{subnet['id']}", json={"subnet": {"allocation_pools": wanted}})
    assert response.status_code == 200, response.text
    assert response.json()["subnet"]["allocation_pools"] == wanted
    assert api.get(f"/subnets/{subnet['id']}").json()["subnet"]["allocation_pools"] == wanted
    assert create_port(api, network["id"])["fixed_ips"][0]["ip_address"] == "10.19.0.50"
    assert api.get(f"/ports/{first['id']}").json()["port"]["fixed_ips"] == first["fixed_ips"]
    assert api.delete(f"/ports/{first['id']}").status_code == 204


def test_update_gateway_is_checked_against_the_pools(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    subnet = create_subnet(
        api, network["id"], "10.20.0.0/24", allocation_pools=pools(("10.20.0.10", "10.20.0.20"))
    )
    response = api.put(f"/subnets/{subnet['id']}", json={"subnet": {"gateway_ip": "10.20.0.15"}})
    assert_error(response, 409, "GatewayConflictWithAllocationPools")
    assert api.get(f"/subnets/{subnet['id']}").json()["subnet"] == subnet

    response = api.put(f"/subnets/{subnet['id']}", json={"subnet": {"gateway_ip": "10.20.0.254"}})
    assert response.status_code == 200, response.text
    assert response.json()["subnet"]["gateway_ip"] == "10.20.0.254"
    assert response.json()["subnet"]["allocation_pools"] == subnet["allocation_pools"]

    response = api.put(f"/subnets/{subnet['id']}", json={"subnet": {"gateway_ip": None}})
    assert response.status_code == 200, response.text
    assert api.get(f"/subnets/{subnet['id']}").json()["subnet"]["gateway_ip"] is None


@pytest.mark.parametrize(
    "change",
    [
        {"cidr": "10.21.0.0/16"},
        {"network_id": "00000000-0000-0000-0000-000000000000"},
        {"ip_version": 6},
        {"allocation_pools": pools(("10.21.1.2", "10.21.1.9"))},
        {"allocation_pools": pools(("10.21.0.1", "10.21.0.9"))},
        {"gateway_ip": "10.22.0.1"},
        {"dns_nameservers": ["x"]},
    ],
)
def test_bad_updates_change_nothing(
    api: httpx.Client, network: dict[str, Any], change: dict[str, Any]
) -> None:
    subnet = create_subnet(api, network["id"], "10.21.0.0/24")
    response = api.put(f"/subnets/{subnet['id']}", json={"subnet": change})
    assert response.status_code in (400, 409), response.text
    assert api.get(f"/subnets/{subnet['id']}").json()["subnet"] == subnet


def test_delete_with_ports_is_409_subnet_in_use(api: httpx.Client, network: dict[str, Any]) -> None:
    subnet = create_subnet(api, network["id"], "10.23.0.0/24")
    port = create_port(api, network["id"])
    assert_error(api.delete(f"/subnets/{subnet['id']}"), 409, "SubnetInUse")
    assert api.get(f"/subnets/{subnet['id']}").status_code == 200
    assert api.delete(f"/ports/{port['id']}").status_code == 204
    assert api.delete(f"/subnets/{subnet['id']}").status_code == 204
    assert_error(api.get(f"/subnets/{subnet['id']}"), 404, "SubnetNotFound")
    assert api.get(f"/networks/{network['id']}").json()["network"]["subnets"] == []


def test_a_port_on_another_subnet_does_not_hold_this_one(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    first = create_subnet(api, network["id"], "10.24.0.0/24")
    second = create_subnet(api, network["id"], "10.25.0.0/24")
    create_port(api, network["id"], fixed_ips=[{"subnet_id": first["id"]}])
    assert api.delete(f"/subnets/{second['id']}").status_code == 204


def test_recreated_subnet_allocates_from_the_start(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    subnet = create_subnet(api, network["id"], "10.26.0.0/24")
    port = create_port(api, network["id"])
    assert api.delete(f"/ports/{port['id']}").status_code == 204
    assert api.delete(f"/subnets/{subnet['id']}").status_code == 204
    create_subnet(api, network["id"], "10.26.0.0/24")
    assert create_port(api, network["id"])["fixed_ips"][0]["ip_address"] == "10.26.0.2"


def test_bulk_subnets_are_checked_against_each_other(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    body = {
        "subnets": [
            {"network_id": network["id"], "cidr": "10.27.0.0/24"},
            {"network_id": network["id"], "cidr": "10.27.0.0/25"},
        ]
    }
    assert_error(api.post("/subnets", json=body), 400, "InvalidInput")
    assert api.get("/subnets", params={"network_id": network["id"]}).json()["subnets"] == []
    body["subnets"][1]["cidr"] = "10.28.0.0/24"
    response = api.post("/subnets", json=body)
    assert response.status_code == 201, response.text
    assert [s["cidr"] for s in response.json()["subnets"]] == ["10.27.0.0/24", "10.28.0.0/24"]


def test_dhcp_cannot_be_turned_off_under_ipv6_modes(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    subnet = create_subnet(api, network["id"], "fd00:29::/64", ipv6_address_mode="slaac")
    response = api.put(f"/subnets/{subnet['id']}", json={"subnet": {"enable_dhcp": False}})
    assert_error(response, 400, "InvalidInput")  # its body: test_ipv6_modes
    assert api.get(f"/subnets/{subnet['id']}").json()["subnet"] == subnet
    plain = create_subnet(api, network["id"], "fd00:30::/64")
    response = api.put(f"/subnets/{plain['id']}", json={"subnet": {"enable_dhcp": False}})
    assert response.status_code == 200, response.text
    assert response.json()["subnet"]["enable_dhcp"] is False


def test_new_slaac_subnet_addresses_the_ports_already_there(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    v4 = create_subnet(api, network["id"], "10.31.0.0/24")
    port = create_port(api, network["id"])
    v6 = create_subnet(api, network["id"], "fd00:31::/64", ipv6_address_mode="slaac")
    shown = api.get(f"/ports/{port['id']}").json()["port"]
    assert shown["fixed_ips"] == [
        {"subnet_id": v4["id"], "ip_address": "10.31.0.2"},
        {"subnet_id": v6["id"], "ip_address": eui64("fd00:31::/64", port["mac_address"])},
    ]
    assert shown["revision_number"] == port["revision_number"] + 1
    stateful = create_subnet(api, network["id"], "fd00:32::/64")
    assert api.get(f"/ports/{port['id']}").json()["port"]["fixed_ips"] == shown["fixed_ips"]
    assert stateful["ipv6_address_mode"] is None


def test_slaac_subnet_with_ports_is_deleted_and_its_addresses_go(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    """Neutron: ports only hold EUI-64 addresses on an automatic-address subnet, so they do not
    keep it in use; the addresses are removed from the ports with it."""
    v4 = create_subnet(api, network["id"], "10.33.0.0/24")
    v6 = create_subnet(api, network["id"], "fd00:33::/64", ipv6_address_mode="slaac")
    port = create_port(api, network["id"])
    assert [f["subnet_id"] for f in port["fixed_ips"]] == [v4["id"], v6["id"]]
    assert api.delete(f"/subnets/{v6['id']}").status_code == 204
    shown = api.get(f"/ports/{port['id']}").json()["port"]
    assert shown["fixed_ips"] == [{"subnet_id": v4["id"], "ip_address": "10.33.0.2"}]
    assert shown["revision_number"] == port["revision_number"] + 1
    listed = api.get("/ports", params={"fixed_ips": f"subnet_id={v6['id']}"}).json()["ports"]
    assert listed == []
    assert_error(api.delete(f"/subnets/{v4['id']}"), 409, "SubnetInUse")
