"""Internal DNS over real HTTP (``dns-integration``, ``dns-domain-ports``): ``dns_name`` and
``dns_domain`` on ports, ``dns_domain`` on networks, the read-only ``dns_assignment``, as the
reference Neutron (28.0.2 with the ``dns_domain_ports`` ML2 extension driver) answers them:
its bodies are copied here. This module's server runs with ``--dns-domain example.org``
(Neutron's ``dns_domain = example.org.``); the default domain, under which Neutron keeps no
port's name, is checked against a server of its own."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openstack
import pytest

from tests.integration.neutron import create_network, create_port, create_subnet, post_port
from tests.servers import ServerProcess

pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'service_type' parameter is unnecesary",
    "ignore:The _compute_attributes method is deprecated",
    "ignore:Support for InfluxDB requires",
)

SERVER_OPTIONS = ("--dns-domain", "example.org")  # as neutron.conf may give it: no dot
_octets = itertools.count(1)


def network_with_subnet(api: httpx.Client, **attributes: Any) -> tuple[dict[str, Any], str]:
    network = create_network(api, **attributes)
    cidr = f"10.{next(_octets)}.0.0/24"
    create_subnet(api, network["id"], cidr)
    return network, cidr


def error_of(response: httpx.Response, status: int = 400) -> dict[str, str]:
    assert response.status_code == status, response.text
    error: dict[str, str] = response.json()["NeutronError"]
    assert error["detail"] == ""
    return error


def bad_request(message: str) -> dict[str, str]:
    return {"type": "HTTPBadRequest", "message": message, "detail": ""}


def test_the_extensions_are_listed_as_neutron_names_them(api: httpx.Client) -> None:
    extensions = {e["alias"]: e for e in api.get("/extensions").json()["extensions"]}
    assert extensions["dns-integration"] == {
        "name": "DNS Integration",
        "alias": "dns-integration",
        "description": "Provides integration with DNS.",
        "updated": "2015-08-15T18:00:00-00:00",
        "links": [],
    }
    assert extensions["dns-domain-ports"] == {
        "name": "dns_domain for ports",
        "alias": "dns-domain-ports",
        "description": "Allows the DNS domain to be specified for a network port.",
        "updated": "2017-04-24T10:00:00-00:00",
        "links": [],
    }
    shown = api.get("/extensions/dns-domain-ports").json()["extension"]
    assert shown == extensions["dns-domain-ports"]


def test_a_port_is_named_by_its_name_under_the_servers_domain(api: httpx.Client) -> None:
    network, _ = network_with_subnet(api)
    port = create_port(api, network["id"], dns_name="VM1")
    address = port["fixed_ips"][0]["ip_address"]
    assert (port["dns_name"], port["dns_domain"]) == ("vm1", "")
    assert port["dns_assignment"] == [
        {"ip_address": address, "hostname": "vm1", "fqdn": "vm1.example.org."}
    ]
    shown = api.get(f"/ports/{port['id']}").json()["port"]
    assert shown["dns_assignment"] == port["dns_assignment"]
    # keys in Neutron's order: dns_name, dns_assignment, dns_domain
    keys = [key for key in shown if key.startswith("dns_")]
    assert keys == ["dns_name", "dns_assignment", "dns_domain"]


def test_a_port_without_a_name_is_named_by_its_addresses(api: httpx.Client) -> None:
    network, _ = network_with_subnet(api)
    create_subnet(api, network["id"], f"fd00:{next(_octets)}::/64")
    port = create_port(api, network["id"])
    assert port["dns_name"] == ""
    expected = []
    for fixed in port["fixed_ips"]:
        hostname = "host-" + fixed["ip_address"].replace(".", "-").replace(":", "-")
        expected.append(
            {
                "ip_address": fixed["ip_address"],
                "hostname": hostname,
                "fqdn": f"{hostname}.example.org.",
            }
        )
    assert port["dns_assignment"] == expected
    assert len(expected) == 2
    assert ":" in expected[1]["ip_address"]


def test_an_absolute_name_under_the_domain_is_its_own_fqdn(api: httpx.Client) -> None:
    network, _ = network_with_subnet(api)
    port = create_port(api, network["id"], dns_name="vm2.Example.org.")
    assert port["dns_name"] == "vm2.example.org."
    assert [(a["hostname"], a["fqdn"]) for a in port["dns_assignment"]] == [
        ("vm2.example.org.", "vm2.example.org.")
    ]
    several = create_port(api, network["id"], dns_name="a.b")
    assert several["dns_assignment"][0]["fqdn"] == "a.b.example.org."


def test_a_port_without_addresses_has_no_assignment(api: httpx.Client) -> None:
    network = create_network(api)
    port = create_port(api, network["id"], dns_name="lonely")
    assert (port["dns_name"], port["dns_assignment"]) == ("lonely", [])


FQDN_OUTSIDE = (
    "Invalid input for dns_name. Reason: The dns_name passed is a FQDN. Its higher level labels "
    "must be equal to the dns_domain option in neutron.conf, that has been set to "
    "'example.org.'. It must also include one or more valid DNS labels to the left of "
    "'example.org.'."
)
A60 = "a" * 60
A63 = "a" * 63


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("vm3.other.org.", FQDN_OUTSIDE),
        ("example.org.", FQDN_OUTSIDE),
        (
            "-bad",
            "Invalid input for dns_name. Reason: '-bad' not a valid PQDN or FQDN. Reason: "
            "Name '-bad' must not start or end with a hyphen.",
        ),
        (
            "bad_x",
            "Invalid input for dns_name. Reason: 'bad_x' not a valid PQDN or FQDN. Reason: "
            "Name 'bad_x' must be 1-63 characters long, each of which can only be "
            "alphanumeric or a hyphen.",
        ),
        (
            "a" * 64,
            f"Invalid input for dns_name. Reason: '{'a' * 64}' not a valid PQDN or FQDN. "
            f"Reason: Name '{'a' * 64}' must be 1-63 characters long, each of which can only "
            "be alphanumeric or a hyphen.",
        ),
        (
            "a.123",
            "Invalid input for dns_name. Reason: 'a.123' not a valid PQDN or FQDN. Reason: "
            "TLD '123' must not be all numeric.",
        ),
        (
            "a..b",
            "Invalid input for dns_name. Reason: 'a..b' not a valid PQDN or FQDN. Reason: "
            "Encountered an empty component.",
        ),
        (
            ".",
            "Invalid input for dns_name. Reason: '.' not a valid PQDN or FQDN. Reason: "
            "Encountered an empty component.",
        ),
        (
            ".".join([A60] * 4),
            "Invalid input for dns_name. Reason: The dns_name passed is a PQDN and its size is "
            "'243'. The dns_domain option in neutron.conf is set to example.org., with a length "
            "of '13'. When the two are concatenated to form a FQDN (with a '.' at the end), the "
            "resulting length exceeds the maximum size of '255'.",
        ),
        (
            ".".join([A63] * 4) + "a",
            f"Invalid input for dns_name. Reason: '{'.'.join([A63] * 4)}a' not a valid PQDN or "
            f"FQDN. Reason: '{'.'.join([A63] * 4)}a' exceeds the 255 character FQDN limit.",
        ),
    ],
)
def test_a_bad_name_is_refused_as_neutron_refuses_it(
    api: httpx.Client, name: str, message: str
) -> None:
    network, _ = network_with_subnet(api)
    assert error_of(post_port(api, network["id"], dns_name=name)) == bad_request(message)
    port = create_port(api, network["id"], dns_name="kept")
    response = api.put(f"/ports/{port['id']}", json={"port": {"dns_name": name}})
    assert error_of(response) == bad_request(message)
    # nothing half-written: the bad create made no port, the bad update changed nothing
    ports = api.get("/ports", params={"network_id": network["id"]}).json()["ports"]
    assert [(p["id"], p["dns_name"]) for p in ports] == [(port["id"], "kept")]


@pytest.mark.parametrize(("value", "shown"), [(12, "12"), (None, "None"), (True, "True")])
def test_a_name_or_domain_that_is_no_string_is_invalid_input(
    api: httpx.Client, value: object, shown: str
) -> None:
    network, _ = network_with_subnet(api)
    expected = {
        "type": "InvalidInput",
        "message": f"Invalid input for operation: Input value {shown} must be string type.",
        "detail": "",
    }
    for attribute in ("dns_name", "dns_domain"):
        assert error_of(post_port(api, network["id"], **{attribute: value})) == expected
    response = api.post("/networks", json={"network": {"dns_domain": value}})
    assert error_of(response) == expected


def test_a_renamed_port_is_named_anew(api: httpx.Client) -> None:
    network, _ = network_with_subnet(api)
    port = create_port(api, network["id"], dns_name="dup")
    twin = create_port(api, network["id"], dns_name="dup")  # Neutron allows the same name
    assert twin["dns_name"] == "dup"
    address = port["fixed_ips"][0]["ip_address"]
    response = api.put(f"/ports/{port['id']}", json={"port": {"dns_name": "Renamed"}})
    assert response.status_code == 200, response.text
    renamed = response.json()["port"]
    assert renamed["dns_name"] == "renamed"
    assert renamed["dns_assignment"][0]["fqdn"] == "renamed.example.org."
    assert renamed["revision_number"] == port["revision_number"] + 1
    response = api.put(f"/ports/{port['id']}", json={"port": {"dns_name": ""}})
    hostname = "host-" + address.replace(".", "-")
    assert response.json()["port"]["dns_assignment"] == [
        {"ip_address": address, "hostname": hostname, "fqdn": f"{hostname}.example.org."}
    ]


def test_the_assignment_is_read_only(api: httpx.Client) -> None:
    network, _ = network_with_subnet(api)
    response = post_port(api, network["id"], dns_assignment=[])
    assert error_of(response) == bad_request("Attribute 'dns_assignment' not allowed in POST")
    port = create_port(api, network["id"])
    response = api.put(f"/ports/{port['id']}", json={"port": {"dns_assignment": []}})
    assert error_of(response) == bad_request("Cannot update read-only attribute dns_assignment")


def test_a_ports_own_domain_is_kept_and_names_nothing(api: httpx.Client) -> None:
    network, _ = network_with_subnet(api)
    port = create_port(api, network["id"], dns_domain="Port.Example.Org.")
    assert port["dns_domain"] == "port.example.org."
    assert port["dns_assignment"][0]["fqdn"].endswith(".example.org.")
    assert not port["dns_assignment"][0]["fqdn"].endswith(".port.example.org.")
    response = api.put(f"/ports/{port['id']}", json={"port": {"dns_domain": "z.org."}})
    assert response.json()["port"]["dns_domain"] == "z.org."
    response = post_port(api, network["id"], dns_domain="port.example.org")
    assert error_of(response) == bad_request(
        "Invalid input for dns_domain. Reason: 'port.example.org' is not a FQDN."
    )


def test_a_networks_domain_is_kept_lower_cased(api: httpx.Client) -> None:
    network = create_network(api, dns_domain="Corp.Example.ORG.")
    assert network["dns_domain"] == "corp.example.org."
    response = api.put(f"/networks/{network['id']}", json={"network": {"dns_domain": "Upd.Org."}})
    assert response.json()["network"]["dns_domain"] == "upd.org."
    assert api.get(f"/networks/{network['id']}").json()["network"]["dns_domain"] == "upd.org."
    response = api.put(f"/networks/{network['id']}", json={"network": {"dns_domain": ""}})
    assert response.json()["network"]["dns_domain"] == ""
    assert create_network(api)["dns_domain"] == ""


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("example.org", "Invalid input for dns_domain. Reason: 'example.org' is not a FQDN."),
        (
            "a..b.",
            "Invalid input for dns_domain. Reason: 'a..b.' not a valid PQDN or FQDN. Reason: "
            "Encountered an empty component.",
        ),
        (
            "a.123.",
            "Invalid input for dns_domain. Reason: 'a.123.' not a valid PQDN or FQDN. Reason: "
            "TLD '123' must not be all numeric.",
        ),
        (
            "a_b.org.",
            "Invalid input for dns_domain. Reason: 'a_b.org.' not a valid PQDN or FQDN. Reason: "
            "Name 'a_b' must be 1-63 characters long, each of which can only be alphanumeric or "
            "a hyphen.",
        ),
        (
            f"{A63}." * 4,
            f"Invalid input for dns_domain. Reason: '{f'{A63}.' * 4}' contains 256 characters. "
            "Adding a sub-domain will cause it to exceed the maximum length of a FQDN of '255'.",
        ),
    ],
)
def test_a_bad_network_domain_is_refused(api: httpx.Client, domain: str, message: str) -> None:
    response = api.post("/networks", json={"network": {"name": "bad-domain", "dns_domain": domain}})
    assert error_of(response) == bad_request(message)
    assert api.get("/networks", params={"name": "bad-domain"}).json()["networks"] == []
    network = create_network(api, dns_domain="kept.org.")
    response = api.put(f"/networks/{network['id']}", json={"network": {"dns_domain": domain}})
    assert error_of(response) == bad_request(message)
    assert api.get(f"/networks/{network['id']}").json()["network"]["dns_domain"] == "kept.org."


def test_a_long_domain_within_the_limit_is_taken(api: httpx.Client) -> None:
    domain = f"{'a' * 60}." * 4 + "ab."
    assert create_network(api, dns_domain=domain)["dns_domain"] == domain


@pytest.mark.parametrize(
    ("collection", "attribute"),
    [("ports", "dns_name"), ("ports", "dns_domain"), ("ports", "dns_assignment"),
     ("networks", "dns_domain")],
)  # fmt: skip
def test_dns_attributes_do_not_filter_as_in_neutron(
    api: httpx.Client, collection: str, attribute: str
) -> None:
    response = api.get(f"/{collection}", params={attribute: "vm1"})
    assert error_of(response) == bad_request(f"['{attribute}'] is invalid attribute for filtering")
    response = api.get(f"/{collection}", params={"sort_key": attribute, "sort_dir": "asc"})
    assert error_of(response) == bad_request(f"['{attribute}'] is invalid attribute for sort_keys")


def test_fields_picks_the_assignment(api: httpx.Client) -> None:
    network, _ = network_with_subnet(api)
    port = create_port(api, network["id"], dns_name="picked")
    params = [("id", port["id"]), ("fields", "id"), ("fields", "dns_assignment")]
    shown = api.get("/ports", params=params).json()["ports"]
    assert shown == [{"id": port["id"], "dns_assignment": port["dns_assignment"]}]


@pytest.fixture
def default_api(tmp_path: Path) -> Iterator[httpx.Client]:
    """A server of Neutron's default domain, ``openstacklocal``."""
    process = ServerProcess(tmp_path / "alcor.db").start()
    try:
        with httpx.Client(base_url=process.url + "/v2.0", timeout=30.0) as client:
            yield client
    finally:
        process.stop()


def test_under_the_default_domain_ports_keep_no_name(default_api: httpx.Client) -> None:
    """As Neutron with ``dns_domain = openstacklocal``: a name and a port's domain are
    validated, then dropped; addresses are named ``host-<address>.openstacklocal.``."""
    api = default_api
    network, _ = network_with_subnet(api)
    port = create_port(api, network["id"], dns_name="vm1", dns_domain="port.example.org.")
    address = port["fixed_ips"][0]["ip_address"]
    hostname = "host-" + address.replace(".", "-")
    assert (port["dns_name"], port["dns_domain"]) == ("", "")
    assert port["dns_assignment"] == [
        {"ip_address": address, "hostname": hostname, "fqdn": f"{hostname}.openstacklocal."}
    ]
    response = api.put(f"/ports/{port['id']}", json={"port": {"dns_name": "other"}})
    assert response.json()["port"]["dns_name"] == ""
    # still validated; an absolute name outside the domain is no error here
    response = post_port(api, network["id"], dns_name="bad_")
    assert error_of(response)["type"] == "HTTPBadRequest"
    assert create_port(api, network["id"], dns_name="vm.other.org.")["dns_name"] == ""


def test_openstacksdk_reads_and_writes_the_dns_attributes(server: ServerProcess) -> None:
    conn = openstack.connect(auth_type="none", endpoint=server.url)
    try:
        network = conn.network.create_network(name="sdk-dns", dns_domain="sdk.example.org.")
        assert network.dns_domain == "sdk.example.org."
        conn.network.create_subnet(
            network_id=network.id, cidr=f"10.{next(_octets)}.0.0/24", ip_version=4
        )
        port = conn.network.create_port(
            network_id=network.id, dns_name="SdkVm", dns_domain="p.example.org."
        )
        address = port.fixed_ips[0]["ip_address"]
        assert (port.dns_name, port.dns_domain) == ("sdkvm", "p.example.org.")
        assert port.dns_assignment == [
            {"ip_address": address, "hostname": "sdkvm", "fqdn": "sdkvm.example.org."}
        ]
        port = conn.network.update_port(port, dns_name="again")
        assert conn.network.get_port(port.id).dns_assignment[0]["fqdn"] == "again.example.org."
        network = conn.network.update_network(network, dns_domain="")
        assert conn.network.get_network(network.id).dns_domain == ""
        with pytest.raises(openstack.exceptions.BadRequestException, match="not a FQDN"):
            conn.network.create_network(name="sdk-bad", dns_domain="nodot")
    finally:
        conn.close()
