"""A subnet's IPv6 modes as Neutron 28 takes and refuses them (bodies checked against the
reference Neutron): which ipv6_ra_mode x ipv6_address_mode combinations are accepted, the
errors of the others, and the modes being read-only once the subnet exists."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import openstack
import pytest
from openstack.connection import Connection

from tests.integration.neutron import create_network, create_subnet, post_subnet
from tests.servers import ServerProcess

MODES = (None, "slaac", "dhcpv6-stateful", "dhcpv6-stateless")


@pytest.fixture
def network(api: httpx.Client) -> dict[str, Any]:
    return create_network(api, name="ipv6")


def _modes(ra: str | None, address: str | None) -> dict[str, str]:
    return {
        name: mode
        for name, mode in (("ipv6_ra_mode", ra), ("ipv6_address_mode", address))
        if mode is not None
    }


def _error(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["NeutronError"]
    return response.status_code, error["type"], error["message"]


def test_the_modes_are_accepted_alone_or_equal(api: httpx.Client, network: dict[str, Any]) -> None:
    for number, (ra, address) in enumerate(itertools.product(MODES, MODES)):
        cidr = f"2001:db8:{number + 1:x}::/64"
        response = post_subnet(api, network["id"], cidr, ip_version=6, **_modes(ra, address))
        if ra and address and ra != address:
            assert _error(response) == (
                400,
                "InvalidInput",
                f"Invalid input for operation: ipv6_ra_mode set to '{ra}' with "
                f"ipv6_address_mode set to '{address}' is not valid. If both attributes are "
                "set, they must be the same value.",
            )
            continue
        assert response.status_code == 201, response.text
        subnet = response.json()["subnet"]
        assert (subnet["ipv6_ra_mode"], subnet["ipv6_address_mode"]) == (ra, address)
        assert api.delete(f"/subnets/{subnet['id']}").status_code == 204


@pytest.mark.parametrize(
    ("cidr", "attributes", "expected"),
    [
        (
            "10.12.0.0/24",
            {"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"},
            ("InvalidInput", "Invalid input for operation: ipv6_ra_mode is not valid when "
             "ip_version is 4."),
        ),
        (
            "10.12.0.0/24",
            {"ipv6_address_mode": "slaac", "enable_dhcp": False},
            ("InvalidInput", "Invalid input for operation: ipv6_address_mode is not valid when "
             "ip_version is 4."),
        ),
        (
            "fd00:12::/64",
            {"ipv6_ra_mode": "dhcpv6-stateful", "enable_dhcp": False},
            ("InvalidInput", "Invalid input for operation: ipv6_ra_mode or ipv6_address_mode "
             "cannot be set when enable_dhcp is set to False."),
        ),
        (
            "fd00:12::/80",
            {"ipv6_ra_mode": "dhcpv6-stateless"},
            ("InvalidInput", "Invalid input for operation: Invalid CIDR fd00:12::/80 for IPv6 "
             "address mode. OpenStack uses the EUI-64 address format, which requires the "
             "prefix to be /64."),
        ),
        (
            "fd00:12::/64",
            {"ipv6_ra_mode": "bogus"},
            ("HTTPBadRequest", "Invalid input for ipv6_ra_mode. Reason: bogus is not in "
             "valid_values."),
        ),
        (
            "fd00:12::/64",
            {"ipv6_ra_mode": "slaac", "ipv6_address_mode": "bogus"},
            ("HTTPBadRequest", "Invalid input for ipv6_address_mode. Reason: bogus is not in "
             "valid_values."),
        ),
        (
            "fd00:12::/64",
            {"ipv6_address_mode": None},
            ("HTTPBadRequest", "Invalid input for ipv6_address_mode. Reason: None is not in "
             "valid_values."),
        ),
    ],
)  # fmt: skip
def test_refused_modes_answer_as_neutron(
    api: httpx.Client,
    network: dict[str, Any],
    cidr: str,
    attributes: dict[str, Any],
    expected: tuple[str, str],
) -> None:
    assert _error(post_subnet(api, network["id"], cidr, **attributes)) == (400, *expected)
    assert api.get("/subnets", params={"network_id": network["id"]}).json()["subnets"] == []


def test_the_modes_are_read_only_and_keep_dhcp_on(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    subnet = create_subnet(
        api, network["id"], "fd00:13::/64", ipv6_ra_mode="slaac", ipv6_address_mode="slaac"
    )
    path = f"/subnets/{subnet['id']}"
    for body, message in (
        ({"ipv6_ra_mode": "dhcpv6-stateful"}, "Cannot update read-only attribute ipv6_ra_mode"),
        (
            {"ipv6_address_mode": "dhcpv6-stateless", "ipv6_ra_mode": "dhcpv6-stateless"},
            "Cannot update read-only attribute ipv6_ra_mode",
        ),
        ({"ipv6_address_mode": None}, "Cannot update read-only attribute ipv6_address_mode"),
    ):
        assert _error(api.put(path, json={"subnet": body})) == (400, "HTTPBadRequest", message)
    assert _error(api.put(path, json={"subnet": {"enable_dhcp": False}})) == (
        400,
        "InvalidInput",
        "Invalid input for operation: Cannot disable enable_dhcp with ipv6 attributes set.",
    )
    shown = api.get(path).json()["subnet"]
    assert (shown["ipv6_ra_mode"], shown["enable_dhcp"]) == ("slaac", True)


@pytest.fixture
def conn(server: ServerProcess) -> Iterator[Connection]:
    connection = openstack.connect(auth_type="none", endpoint=server.url)
    yield connection
    connection.close()


def test_openstacksdk_creates_each_mode(conn: Connection, network: dict[str, Any]) -> None:
    for number, mode in enumerate(MODES[1:]):
        subnet = conn.network.create_subnet(
            network_id=network["id"],
            ip_version=6,
            cidr=f"fd00:14:{number}::/64",
            ipv6_ra_mode=mode,
            ipv6_address_mode=mode,
        )
        assert (subnet.ipv6_ra_mode, subnet.ipv6_address_mode) == (mode, mode)
