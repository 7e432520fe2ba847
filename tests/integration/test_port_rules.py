"""Ports over real HTTP as tempest and neutron-tempest-plugin check them (issue 12): attribute
validation, the same security group twice, keeping an address on a subnet named again, an
admin's MAC change and regeneration, who may turn port security off on a shared network, a
member naming another project, and tags on each item of a bulk create (wrapped as tempest
sends them). Each test names the test it mirrors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.neutron import (
    assert_error,
    create_network,
    create_port,
    create_subnet,
    ensure_nodes,
    post_port,
)

OWNER = {"X-Project-Id": "port-rules-owner", "X-Roles": "member"}
OTHER = {"X-Project-Id": "port-rules-other", "X-Roles": "member"}


def ips(port: dict[str, Any]) -> list[str]:
    return [fixed["ip_address"] for fixed in port["fixed_ips"]]


@pytest.fixture
def network(api: httpx.Client) -> dict[str, Any]:
    return create_network(api)


@pytest.fixture
def subnet(api: httpx.Client, network: dict[str, Any]) -> Any:
    return create_subnet(api, network["id"], "10.0.0.0/24")


def group(api: httpx.Client, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = api.post(
        "/security-groups", json={"security_group": {"name": "g"}}, headers=headers or {}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["security_group"]
    return created


@pytest.mark.parametrize(
    ("attribute", "length"), [("name", 256), ("description", 256), ("description", 1025)]
)
def test_name_and_description_beyond_255_are_400(
    api: httpx.Client, network: dict[str, Any], attribute: str, length: int
) -> None:
    """Mirrors neutron-tempest-plugin test_ports_negative.PortsNegativeTestJSON
    .test_add_port_with_too_long_name and .test_add_port_with_too_long_description."""
    response = post_port(api, network["id"], **{attribute: "z" * length})
    assert_error(response, 400, "HTTPBadRequest")
    assert f"Invalid input for {attribute}" in response.json()["NeutronError"]["message"]
    assert api.get("/ports", params={"network_id": network["id"]}).json()["ports"] == []


def test_the_same_security_group_twice_is_400(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    """Mirrors neutron-tempest-plugin test_security_groups_negative.NegativeSecGroupTest
    .test_assign_sec_group_twice: Neutron refuses a duplicate in the list (no dedupe)."""
    sg = group(api)
    port = create_port(api, network["id"])
    twice = {"security_groups": [sg["id"], sg["id"]]}
    response = api.put(f"/ports/{port['id']}", json={"port": twice})
    assert_error(response, 400, "HTTPBadRequest")
    assert response.json()["NeutronError"]["message"] == (
        f"Invalid input for security_groups. Reason: Duplicate items in the list: '{sg['id']}'."
    )
    assert_error(post_port(api, network["id"], **twice), 400, "HTTPBadRequest")
    assert api.get(f"/ports/{port['id']}").json()["port"] == port


def test_a_subnet_named_again_keeps_the_address_held_on_it(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    """Mirrors tempest test_ports.PortsTestJSON.test_create_update_port_with_second_ip and
    .test_update_port_with_security_group_and_extra_attributes: as Neutron's
    ``_get_changed_ips_for_port``, ``fixed_ips: [{subnet_id: S}]`` on a port holding an
    address on S keeps that address; a second entry for S takes one more."""
    second = create_subnet(api, network["id"], "10.0.1.0/24")
    both = [{"subnet_id": subnet["id"]}, {"subnet_id": second["id"]}]
    port = create_port(api, network["id"], fixed_ips=both)
    first_ip = ips(port)[0]

    def update(fixed_ips: list[dict[str, str]]) -> list[str]:
        response = api.put(f"/ports/{port['id']}", json={"port": {"fixed_ips": fixed_ips}})
        assert response.status_code == 200, response.text
        return ips(response.json()["port"])

    assert update([{"subnet_id": subnet["id"]}]) == [first_ip]
    two = update(both)
    assert two[0] == first_ip
    assert len(two) == 2
    assert update(both) == two  # again: nothing moves
    three = update([*both, {"subnet_id": subnet["id"]}])
    assert three[:2] == two
    assert len(set(three)) == 3
    # the kept addresses are still held by the port
    for address in three:
        taken = post_port(api, network["id"], fixed_ips=[{"ip_address": address}])
        assert_error(taken, 409, "IpAddressAlreadyAllocated")


def test_an_admin_changes_or_regenerates_an_unbound_ports_mac(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    """Mirrors neutron-tempest-plugin admin.test_ports.PortTestCasesAdmin
    .test_update_mac_address and .test_regenerate_mac_address (``port-mac-address-
    regenerate``): a new MAC, or ``null`` for a fresh one, unique on the network."""
    port = create_port(api, network["id"])
    url = f"/ports/{port['id']}"
    changed = api.put(url, json={"port": {"mac_address": "12:34:56:78:BE:6D"}}).json()["port"]
    assert changed["mac_address"] == "12:34:56:78:be:6d"
    kept = api.put(url, json={"port": {"description": "d"}}).json()["port"]
    assert kept["mac_address"] == "12:34:56:78:be:6d"
    fresh = api.put(url, json={"port": {"mac_address": None}}).json()["port"]
    assert fresh["mac_address"] not in (port["mac_address"], "12:34:56:78:be:6d")
    assert fresh["mac_address"].startswith("fa:16:3e:")
    # the old MAC is free again, the new one is taken
    reuse = create_port(api, network["id"], mac_address="12:34:56:78:be:6d")
    assert reuse["mac_address"] == "12:34:56:78:be:6d"
    taken = api.put(url, json={"port": {"mac_address": "12:34:56:78:be:6d"}})
    assert_error(taken, 409, "MacAddressInUse")
    assert_error(api.put(url, json={"port": {"mac_address": "zz"}}), 400)
    assert api.get(url).json()["port"]["mac_address"] == fresh["mac_address"]


def test_a_bound_ports_mac_stays_and_a_member_may_not_change_one(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    """As Neutron's ML2 (``PortBound``, 409) and policy (``update_port:mac_address``)."""
    (node,) = ensure_nodes(api, "port-rules-host")
    bound = create_port(api, network["id"], **{"binding:host_id": node["name"]})
    assert bound["binding:vif_type"] == "tap"
    response = api.put(f"/ports/{bound['id']}", json={"port": {"mac_address": None}})
    assert_error(response, 409, "PortBound")
    waiting = create_port(api, network["id"], **{"binding:host_id": "port-rules-nowhere"})
    assert waiting["binding:vif_type"] == "binding_failed"
    moved = api.put(f"/ports/{waiting['id']}", json={"port": {"mac_address": None}})
    assert moved.status_code == 200, moved.text
    shared = create_network(api, shared=True)
    create_subnet(api, shared["id"], "10.5.0.0/24")
    made = api.post("/ports", json={"port": {"network_id": shared["id"]}}, headers=OWNER)
    mine = made.json()["port"]
    refused = api.put(
        f"/ports/{mine['id']}", json={"port": {"mac_address": "12:34:56:78:be:01"}}, headers=OWNER
    )
    assert_error(refused, 403, "PolicyNotAuthorized")
    assert api.get(f"/ports/{mine['id']}").json()["port"]["mac_address"] == mine["mac_address"]


def test_port_security_on_a_shared_network_is_its_owners(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin admin.test_extension_driver_port_security_admin
    .PortSecurityAdminTests.test_create_port_security_false_on_shared_network. The attack: a
    member of another project turns port security off on its port of a shared network, to
    spoof addresses there. Neutron's policy leaves ``port_security_enabled`` to the network's
    owner (and admins), on create and update."""
    shared = create_network(api, shared=True)
    create_subnet(api, shared["id"], "10.6.0.0/24")
    off = {"network_id": shared["id"], "port_security_enabled": False}
    refused = api.post("/ports", json={"port": off}, headers=OTHER)
    assert_error(refused, 403, "PolicyNotAuthorized")
    assert refused.json()["NeutronError"]["message"] == (
        "(rule:create_port and rule:create_port:port_security_enabled) is disallowed by policy"
    )
    assert api.get("/ports", params={"network_id": shared["id"]}).json()["ports"] == []
    made = api.post("/ports", json={"port": {"network_id": shared["id"]}}, headers=OTHER)
    mine = made.json()["port"]
    change = {"port_security_enabled": False, "security_groups": []}
    refused = api.put(f"/ports/{mine['id']}", json={"port": change}, headers=OTHER)
    assert_error(refused, 403, "PolicyNotAuthorized")
    assert api.get(f"/ports/{mine['id']}", headers=OTHER).json()["port"] == mine
    # on its own network the member may; and an admin may anywhere
    own = api.post("/networks", json={"network": {}}, headers=OTHER).json()["network"]
    own_subnet = {"network_id": own["id"], "cidr": "10.6.1.0/24", "ip_version": 4}
    made = api.post("/subnets", json={"subnet": own_subnet}, headers=OTHER)
    assert made.status_code == 201, made.text
    allowed = api.post("/ports", json={"port": {**off, "network_id": own["id"]}}, headers=OTHER)
    assert allowed.status_code == 201, allowed.text
    by_admin = api.put(f"/ports/{mine['id']}", json={"port": change})
    assert by_admin.json()["port"]["port_security_enabled"] is False, by_admin.text


def test_address_pairs_on_a_shared_network_are_its_owners(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin admin.test_shared_network_extension
    .AllowedAddressPairSharedNetworkTest.test_create_with_address_pair_blocked_on_other_network
    and test_update_with_address_pair_blocked_on_other_network. The attack: a member of another
    project claims an address on a shared network through its port's allowed address pairs
    (to take over a neighbour's VIP). Neutron leaves ``allowed_address_pairs`` to the network's
    owner (and admins), on create and update."""
    shared = create_network(api, shared=True)
    create_subnet(api, shared["id"], "10.7.0.0/24")
    pairs = [{"ip_address": "1.1.1.1"}]
    claim = {"network_id": shared["id"], "allowed_address_pairs": pairs}
    refused = api.post("/ports", json={"port": claim}, headers=OTHER)
    assert_error(refused, 403, "PolicyNotAuthorized")
    assert api.get("/ports", params={"network_id": shared["id"]}).json()["ports"] == []
    made = api.post("/ports", json={"port": {"network_id": shared["id"]}}, headers=OTHER)
    mine = made.json()["port"]
    refused = api.put(
        f"/ports/{mine['id']}", json={"port": {"allowed_address_pairs": pairs}}, headers=OTHER
    )
    assert_error(refused, 403, "PolicyNotAuthorized")
    assert api.get(f"/ports/{mine['id']}", headers=OTHER).json()["port"] == mine
    by_admin = api.put(f"/ports/{mine['id']}", json={"port": {"allowed_address_pairs": pairs}})
    assert by_admin.json()["port"]["allowed_address_pairs"][0]["ip_address"] == "1.1.1.1"


def test_tags_on_each_item_of_a_wrapped_bulk_create(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    """Mirrors neutron-tempest-plugin test_ports.PortsTaggingOnCreationTestJSON
    .test_tagging_ports_during_bulk_creation and ..._no_tags
    (``tag-ports-during-bulk-creation``), whose client wraps each item as
    ``{"ports": [{"port": {...}}, ...]}``, as Neutron takes it."""
    tags = [["tag-1", "tag-2", "tag-3"], ["tag-1", "tag-2"], ["tag-1", "tag-3"], []]
    items = [{"port": {"network_id": network["id"], "name": "-".join(t), "tags": t}} for t in tags]
    response = api.post("/ports", json={"ports": items})
    assert response.status_code == 201, response.text
    created = response.json()["ports"]
    assert [(p["name"], p["tags"]) for p in created] == [("-".join(t), t) for t in tags]
    for port in created:
        assert api.get(f"/ports/{port['id']}").json()["port"]["tags"] == port["tags"]
    # a wrapped bulk is decoded item by item: a bad one fails the whole, creating nothing
    bad = [items[0], {"port": {"network_id": network["id"], "colour": "blue"}}]
    assert_error(api.post("/ports", json={"ports": bad}), 400)
    listed = api.get("/ports", params={"network_id": network["id"]}).json()["ports"]
    assert len(listed) == len(tags)
    # bare and wrapped items may mix, as Neutron takes each either way
    mixed = [items[0]["port"], {"port": {"network_id": network["id"], "name": "wrapped"}}]
    response = api.post("/ports", json={"ports": mixed})
    assert response.status_code == 201, response.text
    assert [p["name"] for p in response.json()["ports"]] == ["tag-1-tag-2-tag-3", "wrapped"]


@pytest.mark.parametrize("cidr", ["10.0.0.0/24", "2001:db8:0:1::/64"])
def test_allowed_address_pairs_as_tempest_sets_them(api: httpx.Client, cidr: str) -> None:
    """Mirrors tempest test_allowed_address_pair.AllowedAddressPairTestJSON (and its IPv6
    twin): pairs of another port's address and MAC, of the next CIDR, several at once, read
    back as sent; the extension is listed."""
    network = create_network(api)
    version = 6 if ":" in cidr else 4
    create_subnet(api, network["id"], cidr, ip_version=version)
    other = create_port(api, network["id"])
    address, mac = other["fixed_ips"][0]["ip_address"], other["mac_address"]
    next_cidr = "10.0.1.0/24" if version == 4 else "2001:db8:0:2::/64"
    port = create_port(
        api, network["id"], allowed_address_pairs=[{"ip_address": address, "mac_address": mac}]
    )
    listed = api.get("/ports", params={"id": port["id"]}).json()["ports"]
    assert listed[0]["allowed_address_pairs"] == [{"ip_address": address, "mac_address": mac}]
    for pairs in (
        [{"ip_address": next_cidr, "mac_address": mac}],
        [
            {"ip_address": address, "mac_address": mac},
            {"ip_address": port["fixed_ips"][0]["ip_address"], "mac_address": port["mac_address"]},
        ],
    ):
        response = api.put(f"/ports/{port['id']}", json={"port": {"allowed_address_pairs": pairs}})
        assert response.status_code == 200, response.text
        assert response.json()["port"]["allowed_address_pairs"] == pairs
    listed_extension = api.get("/extensions/allowed-address-pairs").json()["extension"]
    assert listed_extension["name"] == "Allowed Address Pairs"


EXTRA = [
    {"opt_value": "pxelinux.0", "opt_name": "bootfile-name"},
    {"opt_value": "123.123.123.123", "opt_name": "tftp-server"},
    {"opt_value": "123.123.123.45", "opt_name": "server-ip-address"},
]


def test_extra_dhcp_options_are_created_listed_and_merged(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    """Mirrors tempest test_extra_dhcp_options.ExtraDHCPOptionsTestJSON
    .test_create_list_port_with_extra_dhcp_options and
    .test_update_show_port_with_extra_dhcp_options: options read back with their IP version
    (4 unless said); an update replaces by name and version, a null value removes one."""
    port = create_port(api, network["id"], extra_dhcp_opts=EXTRA)
    expected = [{**option, "ip_version": 4} for option in EXTRA]
    assert port["extra_dhcp_opts"] == expected
    listed = api.get("/ports", params={"id": port["id"]}).json()["ports"][0]
    assert listed["extra_dhcp_opts"] == expected
    plain = create_port(api, network["id"])
    assert plain["extra_dhcp_opts"] == []
    shown = api.put(f"/ports/{plain['id']}", json={"port": {"name": "n", "extra_dhcp_opts": EXTRA}})
    assert shown.json()["port"]["extra_dhcp_opts"] == expected
    change = [
        {"opt_name": "bootfile-name", "opt_value": None},
        {"opt_name": "tftp-server", "opt_value": "10.0.0.5"},
        {"opt_name": "tftp-server", "opt_value": "2001:db8::5", "ip_version": "6"},
    ]
    merged = api.put(f"/ports/{port['id']}", json={"port": {"extra_dhcp_opts": change}})
    assert merged.status_code == 200, merged.text
    assert merged.json()["port"]["extra_dhcp_opts"] == [
        {"opt_name": "tftp-server", "opt_value": "10.0.0.5", "ip_version": 4},
        expected[2],
        {"opt_name": "tftp-server", "opt_value": "2001:db8::5", "ip_version": 6},
    ]
    kept = api.put(f"/ports/{port['id']}", json={"port": {"extra_dhcp_opts": None}})
    assert kept.json()["port"]["extra_dhcp_opts"] == merged.json()["port"]["extra_dhcp_opts"]


@pytest.mark.parametrize(
    "options",
    [
        [{"opt_name": "", "opt_value": "a"}],
        [{"opt_name": "a"}],
        [{"opt_name": "a", "opt_value": ""}],
        [{"opt_name": "a", "opt_value": "b", "ip_version": 5}],
        [{"opt_name": "a", "opt_value": "b", "ip_version": "four"}],
        [{"opt_name": "a", "opt_value": "b", "x": 1}],
        [{"opt_name": "n" * 65, "opt_value": "b"}],
        # the attack: a second line in dnsmasq's options file, for every client of the host
        [{"opt_name": "domain-name", "opt_value": "x\noption:router,10.0.0.66"}],
        [{"opt_name": "domain-name\ntag:x", "opt_value": "x"}],
    ],
)
def test_bad_extra_dhcp_options_are_400(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any], options: Any
) -> None:
    assert_error(post_port(api, network["id"], extra_dhcp_opts=options), 400)
    port = create_port(api, network["id"])
    refused = api.put(f"/ports/{port['id']}", json={"port": {"extra_dhcp_opts": options}})
    assert_error(refused, 400)
    assert api.get(f"/ports/{port['id']}").json()["port"] == port


def test_an_extra_dhcp_option_twice_is_409(
    api: httpx.Client, network: dict[str, Any], subnet: dict[str, Any]
) -> None:
    twice = [{"opt_name": "a", "opt_value": "b"}, {"opt_name": "a", "opt_value": "c"}]
    response = post_port(api, network["id"], extra_dhcp_opts=twice)
    assert_error(response, 409, "NeutronDbObjectDuplicateEntry")
    assert api.get("/ports", params={"network_id": network["id"]}).json()["ports"] == []
