"""Allowed address pairs (virtual IPs) over real HTTP and openstacksdk, as the reference Neutron
(28.0.2) answers them: a pair's address may be a CIDR with host bits set, its MAC is the port's
unless given; a duplicate pair, a pair without an address, a bad address or MAC are 400s with
Neutron's types and messages; turning port security off on a port with pairs is refused for
the pairs first. Pairs that are refused leave the port as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openstack
import pytest
from openstack.connection import Connection

from tests.integration.neutron import assert_error, create_network, create_port, create_subnet
from tests.servers import ServerProcess


@pytest.fixture
def network(api: httpx.Client) -> dict[str, Any]:
    made = create_network(api)
    create_subnet(api, made["id"], "10.9.0.0/24")
    return made


def post(api: httpx.Client, network: dict[str, Any], pairs: Any) -> httpx.Response:
    body = {"port": {"network_id": network["id"], "allowed_address_pairs": pairs}}
    return api.post("/ports", json=body)


def message(response: httpx.Response) -> str:
    return str(response.json()["NeutronError"]["message"])


@pytest.mark.parametrize(
    "address", ["10.9.0.96/28", "0.0.0.0/0", "10.9.0.5/24", "fd00::5", "fd00::/64"]
)
def test_a_pair_may_be_an_address_or_a_cidr_host_bits_and_all(
    api: httpx.Client, network: dict[str, Any], address: str
) -> None:
    response = post(api, network, [{"ip_address": address}])
    assert response.status_code == 201, response.text
    port = response.json()["port"]
    assert port["allowed_address_pairs"] == [
        {"ip_address": address, "mac_address": port["mac_address"]}
    ]


def test_bad_pairs_are_refused_as_neutron_refuses_them(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    bad_ip = post(api, network, [{"ip_address": "foo"}])
    assert_error(bad_ip, 400, "HTTPBadRequest")
    assert message(bad_ip) == "'foo' is not a valid IP address"
    bad_cidr = post(api, network, [{"ip_address": "10.9.0.0/99"}])
    assert_error(bad_cidr, 400, "HTTPBadRequest")
    assert message(bad_cidr) == "'10.9.0.0/99' is not a valid IP subnet"
    bad_mac = post(api, network, [{"ip_address": "10.9.0.5", "mac_address": "zz"}])
    assert_error(bad_mac, 400, "HTTPBadRequest")
    assert message(bad_mac) == "'zz' is not a valid MAC address"
    missing = post(api, network, [{"mac_address": "fa:16:3e:00:00:01"}])
    assert_error(missing, 400, "AllowedAddressPairsMissingIP")
    assert message(missing) == "AllowedAddressPair must contain ip_address"
    twice = post(api, network, [{"ip_address": "10.9.0.5"}, {"ip_address": "10.9.0.5"}])
    assert_error(twice, 400, "DuplicateAddressPairInRequest")
    assert message(twice) == (
        "Request contains duplicate address pair: mac_address None ip_address 10.9.0.5."
    )
    given = [{"ip_address": "10.9.0.5", "mac_address": "fa:16:3e:00:00:01"}] * 2
    assert message(post(api, network, given)) == (
        "Request contains duplicate address pair: mac_address fa:16:3e:00:00:01 "
        "ip_address 10.9.0.5."
    )
    # the same address with and without a MAC are two pairs to Neutron
    both = post(api, network, [{"ip_address": "10.9.0.5"}, given[0]])
    assert both.status_code == 201, both.text
    listed = api.get("/ports", params={"network_id": network["id"]}).json()["ports"]
    assert len(listed) == 1  # nothing refused was made


def test_pairs_refused_on_update_leave_the_port_as_it_was(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    port = create_port(api, network["id"], allowed_address_pairs=[{"ip_address": "10.9.0.5"}])
    path = f"/ports/{port['id']}"
    twice = [{"ip_address": "10.9.0.6"}, {"ip_address": "10.9.0.6"}]
    response = api.put(path, json={"port": {"allowed_address_pairs": twice, "name": "x"}})
    assert_error(response, 400, "DuplicateAddressPairInRequest")
    kept = api.get(path).json()["port"]
    assert (kept["name"], kept["revision_number"]) == (port["name"], port["revision_number"])
    assert kept["allowed_address_pairs"] == port["allowed_address_pairs"]
    # port security off with pairs (and the default group): the pairs are named, as Neutron does
    off = api.put(path, json={"port": {"port_security_enabled": False}})
    assert_error(off, 409, "AddressPairAndPortSecurityRequired")


@pytest.fixture
def conn(server: ServerProcess) -> Iterator[Connection]:
    connection = openstack.connect(auth_type="none", endpoint=server.url)
    yield connection
    connection.close()


def test_openstacksdk_sets_and_clears_a_ports_pairs(
    conn: Connection, network: dict[str, Any]
) -> None:
    port = conn.network.create_port(
        network_id=network["id"],
        allowed_address_pairs=[{"ip_address": "10.9.0.100"}, {"ip_address": "10.9.0.112/28"}],
    )
    assert [p["ip_address"] for p in port.allowed_address_pairs] == ["10.9.0.100", "10.9.0.112/28"]
    assert {p["mac_address"] for p in port.allowed_address_pairs} == {port.mac_address}
    cleared = conn.network.update_port(port, allowed_address_pairs=[])
    assert cleared.allowed_address_pairs == []


@pytest.mark.parametrize(
    ("pairs", "said"),
    [
        ({"ip_address": "10.9.0.5"}, "Allowed address pairs must be a list."),
        ("abc", "Allowed address pairs must be a list."),
        (
            ["10.9.0.5"],
            "Invalid input for allowed_address_pairs. Reason: '10.9.0.5' is not a dictionary.",
        ),
        ([None], "Invalid input for allowed_address_pairs. Reason: 'None' is not a dictionary."),
    ],
)
def test_pairs_of_the_wrong_shape_are_named_as_neutron_names_them(
    api: httpx.Client, network: dict[str, Any], pairs: Any, said: str
) -> None:
    response = post(api, network, pairs)
    assert_error(response, 400, "HTTPBadRequest")
    assert message(response) == said


def test_null_pairs_are_none(api: httpx.Client, network: dict[str, Any]) -> None:
    response = post(api, network, None)
    assert response.status_code == 201, response.text
    port = response.json()["port"]
    assert port["allowed_address_pairs"] == []
    path = f"/ports/{port['id']}"
    api.put(path, json={"port": {"allowed_address_pairs": [{"ip_address": "10.9.0.5"}]}})
    cleared = api.put(path, json={"port": {"allowed_address_pairs": None}})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["port"]["allowed_address_pairs"] == []
