"""Floating IP port forwardings over real HTTP (``floating-ip-port-forwarding`` with
``-description``, ``-port-ranges``, ``-detail`` and ``expose-port-forwarding-in-fip``): every
operation, and every refusal with the status, type and message the reference Neutron (28.0.2,
its port_forwarding plugin loaded) answers, run side by side when these tests were written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openstack
import pytest
from openstack.connection import Connection

from tests.integration.neutron import assert_error, create_port
from tests.integration.test_floating_ips import (
    MEMBER,
    MISSING,
    OTHER,
    create_fip,
    external_network,
    put_fip,
    routed,
)
from tests.servers import ServerProcess

KEYS = [
    "id",
    "external_port",
    "external_port_range",
    "protocol",
    "internal_port_id",
    "internal_ip_address",
    "internal_port",
    "internal_port_range",
    "description",
]


def member_port(api: httpx.Client, network_id: str) -> Any:
    response = api.post("/ports", json={"port": {"network_id": network_id}}, headers=MEMBER)
    assert response.status_code == 201, response.text
    return response.json()["port"]


@pytest.fixture
def world(api: httpx.Client) -> dict[str, Any]:
    """A member's network behind a router with a gateway, a port on it, a floating IP."""
    external = external_network(api)
    inside = routed(api, external, MEMBER)
    port = member_port(api, inside["network"]["id"])
    fip = create_fip(api, MEMBER, floating_network_id=external["network"]["id"])
    return {"external": external, "inside": inside, "port": port, "fip": fip}


def url(world: dict[str, Any], forwarding_id: str = "") -> str:
    base = f"/floatingips/{world['fip']['id']}/port_forwardings"
    return f"{base}/{forwarding_id}" if forwarding_id else base


def body(
    world: dict[str, Any], *, port: dict[str, Any] | None = None, **attributes: Any
) -> dict[str, Any]:
    """A forwarding to ``port`` (the world's port by default) and its first address."""
    port = port or world["port"]
    return {
        "port_forwarding": {
            "protocol": "tcp",
            "internal_port_id": port["id"],
            "internal_ip_address": port["fixed_ips"][0]["ip_address"],
            **attributes,
        }
    }


def post(api: httpx.Client, world: dict[str, Any], **attributes: Any) -> httpx.Response:
    return api.post(url(world), json=body(world, **attributes), headers=MEMBER)


def create(api: httpx.Client, world: dict[str, Any], **attributes: Any) -> Any:
    response = post(api, world, **attributes)
    assert response.status_code == 201, response.text
    return response.json()["port_forwarding"]


def message(response: httpx.Response) -> str:
    return str(response.json()["NeutronError"]["message"])


def test_a_forwarding_is_made_shown_listed_changed_and_deleted(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    made = create(api, world, internal_port=22, external_port=2222, description="ssh")
    assert list(made) == KEYS
    address = world["port"]["fixed_ips"][0]["ip_address"]
    assert made["external_port"] == 2222
    assert made["external_port_range"] == "2222:2222"
    assert made["internal_port"] == 22
    assert made["internal_port_range"] == "22:22"
    assert (made["internal_ip_address"], made["description"]) == (address, "ssh")

    fip = api.get(f"/floatingips/{world['fip']['id']}", headers=MEMBER).json()["floatingip"]
    assert fip["router_id"] == world["inside"]["router"]["id"]  # its router, chosen now
    assert fip["port_id"] is None
    assert fip["port_forwardings"] == [
        {
            "id": made["id"],
            "protocol": "tcp",
            "internal_ip_address": address,
            "internal_port_id": world["port"]["id"],
            "internal_port": 22,
            "external_port": 2222,
        }
    ]

    shown = api.get(url(world, made["id"]), headers=MEMBER)
    assert shown.status_code == 200
    assert shown.json()["port_forwarding"] == made
    picked = api.get(url(world, made["id"]), params={"fields": "external_port"}, headers=MEMBER)
    assert picked.json() == {"port_forwarding": {"external_port": 2222}}

    changed = api.put(
        url(world, made["id"]),
        json={"port_forwarding": {"internal_port": 2000, "description": "new"}},
        headers=MEMBER,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["port_forwarding"]["internal_port_range"] == "2000:2000"
    assert changed.json()["port_forwarding"]["description"] == "new"

    deleted = api.delete(url(world, made["id"]), headers=MEMBER)
    assert deleted.status_code == 204
    assert_error(api.get(url(world, made["id"]), headers=MEMBER), 404, "PortForwardingNotFound")
    fip = api.get(f"/floatingips/{world['fip']['id']}", headers=MEMBER).json()["floatingip"]
    assert (fip["router_id"], fip["port_forwardings"]) == (None, [])  # its last one gone


def test_ranges_are_n_to_n_or_n_to_one_and_lists_leave_a_range_s_single_port_out(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    ranged = create(
        api, world, protocol="udp", internal_port_range="100:110", external_port_range="200:210"
    )
    assert (ranged["external_port"], ranged["internal_port"]) == (None, None)
    to_one = create(api, world, internal_port=30, external_port_range="30:35")
    assert (to_one["internal_port_range"], to_one["external_port_range"]) == ("30:30", "30:35")
    listed = api.get(url(world), params={"protocol": "udp"}, headers=MEMBER).json()
    assert listed == {"port_forwardings": [{k: v for k, v in ranged.items() if v is not None}]}
    by_range = api.get(url(world), params={"external_port_range": "30:35"}, headers=MEMBER)
    assert [f["id"] for f in by_range.json()["port_forwardings"]] == [to_one["id"]]
    fip = api.get(f"/floatingips/{world['fip']['id']}", headers=MEMBER).json()["floatingip"]
    shown = {f["id"]: f for f in fip["port_forwardings"]}
    assert "external_port" not in shown[ranged["id"]]
    assert "internal_port" not in shown[ranged["id"]]
    assert shown[to_one["id"]]["internal_port"] == 30

    wrong = post(api, world, internal_port_range="10:12", external_port_range="20:25")
    assert_error(wrong, 400, "BadRequest")
    assert message(wrong) == (
        "Bad port_forwarding request: Invalid ranges of internal and/or external ports. The "
        "relation between internal and external ports must be N-N or 1-N."
    )
    assert_error(post(api, world, internal_port_range="40:45", external_port=46), 400, "BadRequest")


@pytest.mark.parametrize(
    ("attributes", "error_type", "text"),
    [
        (
            {"internal_port": 0, "external_port": 1},
            "HTTPBadRequest",
            "Invalid input for internal_port. Reason: '0' is too small - must be at least '1'.",
        ),
        (
            {"internal_port": 65536, "external_port": 1},
            "HTTPBadRequest",
            "Invalid input for internal_port. Reason: '65536' is too large - must be no larger "
            "than '65535'.",
        ),
        (
            {"internal_port": "x", "external_port": 1},
            "HTTPBadRequest",
            "Invalid input for internal_port. Reason: 'x' is not an integer.",
        ),
        (
            {"internal_port_range": "a:b", "external_port_range": "72:73"},
            "HTTPBadRequest",
            "Invalid input for internal_port_range. Reason: Invalid port: a.",
        ),
        (
            {"internal_port_range": "75:74", "external_port_range": "75:74"},
            "HTTPBadRequest",
            "Invalid input for external_port_range. Reason: First port in a port range must be "
            "lower than the second port.",
        ),
        (
            {"internal_port_range": "0:5", "external_port_range": "0:5"},
            "HTTPBadRequest",
            "Invalid input for external_port_range. Reason: Invalid port: 0, the port must be "
            "in the range [1, 65535].",
        ),
        (
            {"internal_port_range": "80:90000", "external_port_range": "80:90000"},
            "HTTPBadRequest",
            "Invalid input for external_port_range. Reason: Invalid port: 90000.",
        ),
        (
            {"protocol": "foo", "internal_port": 1, "external_port": 1},
            "InvalidInput",
            "Invalid input for operation: IP protocol 'foo' is not supported. Only protocol "
            "names and their integer representation (0 to 255) are supported.",
        ),
        (
            {"protocol": "TCP", "internal_port": 1, "external_port": 1},
            "HTTPBadRequest",
            "Invalid input for protocol. Reason: TCP is not in valid_values.",
        ),
        (
            {"internal_ip_address": "10.0.1.x", "internal_port": 1, "external_port": 1},
            "HTTPBadRequest",
            "Invalid input for internal_ip_address. Reason: '10.0.1.x' is not a valid IP address.",
        ),
        (
            {"foo": 1, "internal_port": 1, "external_port": 1},
            "HTTPBadRequest",
            "Unrecognized attribute(s) 'foo'",
        ),
    ],
)
def test_bad_attributes_are_refused_as_neutron_refuses_them(
    api: httpx.Client, world: dict[str, Any], attributes: dict[str, Any], error_type: str, text: str
) -> None:
    response = post(api, world, **attributes)
    assert_error(response, 400, error_type)
    assert message(response) == text
    assert api.get(url(world), headers=MEMBER).json() == {"port_forwardings": []}


@pytest.mark.parametrize("missing", ["protocol", "internal_ip_address", "internal_port_id"])
def test_a_required_attribute_left_out_is_named(
    api: httpx.Client, world: dict[str, Any], missing: str
) -> None:
    sent = body(world, internal_port=1, external_port=1)
    del sent["port_forwarding"][missing]
    response = api.post(url(world), json=sent, headers=MEMBER)
    assert_error(response, 400, "HTTPBadRequest")
    assert (
        message(response)
        == f"Failed to parse request. Required attribute '{missing}' not specified"
    )


def test_a_protocol_without_ports_is_refused_rather_than_ignored_by_the_data_plane(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    # Neutron takes icmp with ports that mean nothing; the gateway host could not forward it
    response = post(api, world, protocol="icmp", internal_port=24, external_port=2225)
    assert_error(response, 400, "BadRequest")
    assert "icmp cannot be enforced" in message(response)


def test_colliding_ranges_are_refused_outside_by_floating_ip_inside_by_address(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    create(api, world, internal_port=22, external_port=2222)
    outside = post(api, world, internal_port=23, external_port=2222)
    assert_error(outside, 400, "BadRequest")
    assert message(outside) == (
        "Bad port_forwarding request: There is a port collision with the external_port_range. "
        "The following ranges collide: 2222:2222 and 2222:2222."
    )
    overlapping = post(api, world, internal_port=55, external_port_range="2220:2230")
    assert "ranges collide: 2222:2222 and 2220:2230." in message(overlapping)
    inside = post(api, world, internal_port=22, external_port=2223)
    assert message(inside) == (
        "Bad port_forwarding request: There is a port collision with the internal_port_range. "
        "The following ranges collide: 22:22 and 22:22."
    )
    # another protocol is another socket
    assert post(api, world, protocol="udp", internal_port=22, external_port=2222).status_code == 201


def test_the_internal_address_must_be_the_port_s_and_reachable_from_the_floating_ip(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    port = world["port"]
    fixed = [
        {"subnet_id": f["subnet_id"], "ip_address": f["ip_address"]} for f in port["fixed_ips"]
    ]
    stranger = post(api, world, internal_ip_address="10.99.0.9", internal_port=1, external_port=1)
    assert_error(stranger, 400, "BadRequest")
    assert message(stranger) == (
        "Bad port_forwarding request: Requested internal IP address 10.99.0.9 is not suitable "
        f"for internal neutron port {port['id']}, as its fixed_ips are {fixed}."
    )
    # a network no router links to the floating IP's network
    lonely = api.post("/networks", json={"network": {}}, headers=MEMBER).json()["network"]
    subnet = api.post(
        "/subnets",
        json={"subnet": {"network_id": lonely["id"], "cidr": "10.251.0.0/24"}},
        headers=MEMBER,
    ).json()["subnet"]
    far = member_port(api, lonely["id"])
    unreachable = api.post(
        url(world),
        json=body(world, port=far, internal_port=1, external_port=1),
        headers=MEMBER,
    )
    assert_error(unreachable, 400, "BadRequest")
    assert message(unreachable) == (
        f"Bad port_forwarding request: External network {world['external']['network']['id']} "
        f"is not reachable from subnet {subnet['id']}. Cannot set Port forwarding for port "
        f"{far['id']} with Floating IP {world['fip']['id']}."
    )
    missing = post(api, world, internal_port_id=MISSING, internal_port=1, external_port=1)
    assert_error(missing, 404, "PortNotFound")
    assert api.get(url(world), headers=MEMBER).json() == {"port_forwardings": []}
    fip = api.get(f"/floatingips/{world['fip']['id']}", headers=MEMBER).json()["floatingip"]
    assert fip["router_id"] is None  # nothing half-written


def test_a_floating_ip_with_forwardings_is_neither_associated_nor_deleted(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    made = create(api, world, internal_port=80, external_port=8080)
    fip_id = world["fip"]["id"]
    associate = api.put(
        f"/floatingips/{fip_id}",
        json={"floatingip": {"port_id": world["port"]["id"]}},
        headers=MEMBER,
    )
    assert_error(associate, 400, "PortHasPortForwarding")  # the port is forwarded to
    other_port = member_port(api, world["inside"]["network"]["id"])
    in_use = put_fip(api, fip_id, port_id=other_port["id"])
    assert_error(in_use, 409, "FipInUseByPortForwarding")
    assert message(in_use) == f"Floating IP {fip_id} in use by Port Forwarding resources."
    assert_error(api.delete(f"/floatingips/{fip_id}"), 409, "FipInUseByPortForwarding")
    kept = put_fip(api, fip_id, port_id=None)  # nothing to disassociate: the router stays
    assert kept.status_code == 200
    assert kept.json()["floatingip"]["router_id"]

    # a floating IP associated with a port takes no forwarding, nor a port with its own
    other_fip = create_fip(api, MEMBER, floating_network_id=world["external"]["network"]["id"])
    assert put_fip(api, other_fip["id"], port_id=other_port["id"]).status_code == 200
    on_associated = api.post(
        f"/floatingips/{other_fip['id']}/port_forwardings",
        json=body(world, internal_port=81, external_port=81),
        headers=MEMBER,
    )
    assert_error(on_associated, 409, "FloatingIPPortAlreadyAssociated")
    bound = api.post(
        url(world),
        json=body(world, port=other_port, internal_port=82, external_port=82),
        headers=MEMBER,
    )
    assert_error(bound, 409, "PortHasBindingFloatingIP")

    # deleting the internal port deletes its forwardings, and the floating IP its router
    assert api.delete(f"/ports/{world['port']['id']}", headers=MEMBER).status_code == 204
    assert_error(api.get(url(world, made["id"]), headers=MEMBER), 404, "PortForwardingNotFound")
    fip = api.get(f"/floatingips/{fip_id}", headers=MEMBER).json()["floatingip"]
    assert (fip["router_id"], fip["port_forwardings"]) == (None, [])
    assert api.delete(f"/floatingips/{fip_id}", headers=MEMBER).status_code == 204


def test_not_found_read_only_and_filters(api: httpx.Client, world: dict[str, Any]) -> None:
    made = create(api, world, internal_port=22, external_port=2222)
    missing = api.get(url(world, MISSING), headers=MEMBER)
    assert_error(missing, 404, "PortForwardingNotFound")
    assert message(missing) == f"Port Forwarding {MISSING} could not be found."
    assert_error(
        api.put(
            url(world, MISSING), json={"port_forwarding": {"description": "x"}}, headers=MEMBER
        ),
        404,
        "PortForwardingNotFound",
    )
    assert_error(api.delete(url(world, MISSING), headers=MEMBER), 404, "PortForwardingNotFound")
    no_fip = api.post(
        f"/floatingips/{MISSING}/port_forwardings",
        json=body(world, internal_port=1, external_port=1),
    )
    assert_error(no_fip, 404, "FloatingIPNotFound")
    assert message(no_fip) == f"Floating IP {MISSING} could not be found"
    read_only = api.put(
        url(world, made["id"]), json={"port_forwarding": {"id": "x"}}, headers=MEMBER
    )
    assert_error(read_only, 400, "HTTPBadRequest")
    assert message(read_only) == "Cannot update read-only attribute id"
    unknown = api.get(url(world), params={"internal_port_range": "22:22"}, headers=MEMBER)
    assert message(unknown) == "['internal_port_range'] is invalid attribute for filtering"
    found = api.get(url(world), params={"external_port": 2222, "fields": "id"}, headers=MEMBER)
    assert found.json() == {"port_forwardings": [{"id": made["id"]}]}
    assert api.get(url(world), params={"external_port": 1}, headers=MEMBER).json() == {
        "port_forwardings": []
    }


def test_only_the_floating_ip_s_project_and_admins_see_and_change_its_forwardings(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    made = create(api, world, internal_port=22, external_port=2222)
    for method in ("GET", "PUT", "DELETE"):
        response = api.request(
            method,
            url(world, made["id"]),
            headers=OTHER,
            json={"port_forwarding": {"description": "x"}} if method == "PUT" else None,
        )
        assert_error(response, 404, "FloatingIPNotFound")
    assert_error(api.get(url(world), headers=OTHER), 404, "FloatingIPNotFound")
    foreign = api.post(
        url(world), json=body(world, internal_port=1, external_port=1), headers=OTHER
    )
    assert_error(foreign, 404, "FloatingIPNotFound")
    assert [f["id"] for f in api.get(url(world)).json()["port_forwardings"]] == [made["id"]]


def test_a_bulk_create_makes_all_or_nothing(api: httpx.Client, world: dict[str, Any]) -> None:
    items = [body(world, internal_port=p, external_port=p)["port_forwarding"] for p in (1, 2)]
    made = api.post(url(world), json={"port_forwardings": items}, headers=MEMBER)
    assert made.status_code == 201, made.text
    assert [f["external_port"] for f in made.json()["port_forwardings"]] == [1, 2]
    clash = [body(world, internal_port=p, external_port=p)["port_forwarding"] for p in (3, 1)]
    refused = api.post(url(world), json={"port_forwardings": clash}, headers=MEMBER)
    assert_error(refused, 400, "BadRequest")
    listed = api.get(url(world), headers=MEMBER).json()["port_forwardings"]
    assert sorted(f["external_port"] for f in listed) == [1, 2]


# --- openstacksdk -----------------------------------------------------------------------


@pytest.fixture
def conn(server: ServerProcess) -> Iterator[Connection]:
    connection = openstack.connect(auth_type="none", endpoint=server.url)
    yield connection
    connection.close()


def test_openstacksdk_drives_port_forwardings(api: httpx.Client, conn: Connection) -> None:
    external = external_network(api)
    inside = routed(api, external)
    port = create_port(api, inside["network"]["id"])
    fip = create_fip(api, floating_network_id=external["network"]["id"])
    address = port["fixed_ips"][0]["ip_address"]
    made = conn.network.create_floating_ip_port_forwarding(
        fip["id"],
        internal_port_id=port["id"],
        internal_ip_address=address,
        internal_port=8080,
        external_port=80,
        protocol="tcp",
        description="web",
    )
    assert (made.internal_port, made.external_port, made.description) == (8080, 80, "web")
    shown = conn.network.get_floating_ip_port_forwarding(fip["id"], made.id)
    assert shown.internal_ip_address == address
    listed = list(conn.network.floating_ip_port_forwardings(fip["id"]))
    assert [f.id for f in listed] == [made.id]
    changed = conn.network.update_floating_ip_port_forwarding(
        fip["id"], made.id, internal_port=8081
    )
    assert changed.internal_port == 8081
    conn.network.delete_floating_ip_port_forwarding(fip["id"], made.id, ignore_missing=False)
    assert list(conn.network.floating_ip_port_forwardings(fip["id"])) == []


def test_the_extensions_are_listed_as_the_reference_lists_them(api: httpx.Client) -> None:
    listed = {e["alias"]: e for e in api.get("/extensions").json()["extensions"]}
    assert listed["floating-ip-port-forwarding"]["name"] == "Floating IP Port Forwarding"
    for alias in (
        "floating-ip-port-forwarding-description",
        "floating-ip-port-forwarding-detail",
        "floating-ip-port-forwarding-port-ranges",
        "expose-port-forwarding-in-fip",
    ):
        assert alias in listed, alias
    assert api.get("/extensions/expose-port-forwarding-in-fip").status_code == 200


def test_what_a_forwarding_goes_through_stays_and_an_address_it_lost_takes_it_away(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    made = create(api, world, internal_port=22, external_port=2222)
    router, subnet = world["inside"]["router"]["id"], world["inside"]["subnet"]["id"]
    removed = api.put(
        f"/routers/{router}/remove_router_interface", json={"subnet_id": subnet}, headers=MEMBER
    )
    assert_error(removed, 409, "RouterInterfaceInUseByFloatingIP")
    assert message(removed) == (
        f"Router interface for subnet {subnet} on router {router} cannot be deleted, as it is "
        "required by one or more floating IPs."
    )
    cleared = api.put(
        f"/routers/{router}", json={"router": {"external_gateway_info": {}}}, headers=MEMBER
    )
    assert_error(cleared, 409, "RouterExternalGatewayInUseByFloatingIp")

    # the port's address changes: the forwarding to its old address goes, as in Neutron
    other = world["inside"]["subnet"]["cidr"].rsplit(".", 1)[0] + ".200"
    moved = api.put(
        f"/ports/{world['port']['id']}",
        json={"port": {"fixed_ips": [{"subnet_id": subnet, "ip_address": other}]}},
        headers=MEMBER,
    )
    assert moved.status_code == 200, moved.text
    assert_error(api.get(url(world, made["id"]), headers=MEMBER), 404, "PortForwardingNotFound")
    fip = api.get(f"/floatingips/{world['fip']['id']}", headers=MEMBER).json()["floatingip"]
    assert fip["router_id"] is None
    # and with no forwarding left, the interface and the gateway may go
    removed = api.put(
        f"/routers/{router}/remove_router_interface", json={"subnet_id": subnet}, headers=MEMBER
    )
    assert removed.status_code == 200, removed.text


def test_an_update_is_refused_as_neutron_refuses_it(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    first = create(api, world, internal_port=500, external_port=5000)
    second = create(api, world, internal_port=501, external_port=5001)
    port, address = world["port"], first["internal_ip_address"]

    def put(**attributes: Any) -> httpx.Response:
        sent = {"port_forwarding": attributes}
        return api.put(url(world, second["id"]), json=sent, headers=MEMBER)

    socket = put(internal_port=500)
    assert_error(socket, 400, "BadRequest")
    assert message(socket) == (
        "Bad port_forwarding request: Another port forwarding entry with the same attributes "
        f"already exists, conflicting values are {{'internal_port_id': '{port['id']}', "
        f"'internal_ip_address': '{address}', 'internal_port': 500}}."
    )
    outside = put(external_port=5000)
    assert message(outside) == (
        "Bad port_forwarding request: Another port forwarding entry with the same attributes "
        "already exists, conflicting values are {'floating_ip_address': "
        f"'{world['fip']['floating_ip_address']}', 'external_port': 5000}}."
    )
    stranger = put(internal_ip_address="10.250.0.99")
    fixed = [
        {"subnet_id": f["subnet_id"], "ip_address": f["ip_address"]} for f in port["fixed_ips"]
    ]
    assert message(stranger) == (
        "Bad port_forwarding request: The internal IP does not correspond to an address on the "
        f"internal port, which has fixed_ips {fixed}."
    )
    assert_error(put(internal_port=0), 400, "HTTPBadRequest")
    assert_error(put(external_port=108343), 400, "HTTPBadRequest")
    shown = api.get(url(world, second["id"]), headers=MEMBER).json()["port_forwarding"]
    assert shown == second  # every refusal left it as it was
