"""Limits on what one request may ask for, written as the attacks of issue 10 against a real
server: a body too large (413, never held whole), strings longer than Neutron's 255 characters,
too many fixed IPs, allowed address pairs or bulk items, and bodies that do not decode (nested
too deep, not UTF-8), each refused with Neutron's error body and nothing stored. Then that
legitimate requests at the limits still work, and that the limits follow the server's flags."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.neutron import (
    assert_error,
    create_network,
    create_port,
    create_subnet,
    post_port,
    post_subnet,
)
from tests.servers import ServerProcess

MiB = 1024 * 1024
MEMBER = {"X-Project-Id": f"limits-member-{uuid.uuid4().hex[:8]}", "X-Roles": "member"}


def streamed(head: bytes, filler: int, tail: bytes) -> Iterator[bytes]:
    """A body of ``filler`` x's between head and tail, sent in 1 MiB chunks, never held whole."""
    chunk = b"x" * MiB
    yield head
    for start in range(0, filler, MiB):
        yield chunk[: min(MiB, filler - start)]
    yield tail


def peak_rss(server: ServerProcess) -> int:
    """The server process's peak resident memory (VmHWM), in bytes."""
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def store_bytes(server: ServerProcess) -> int:
    """The SQLite store's size on disk, its write-ahead log included."""
    files = [server.db_path, server.db_path.with_name(server.db_path.name + "-wal")]
    return sum(path.stat().st_size for path in files if path.exists())


def networks(api: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get("/networks").json()["networks"]
    return found


# --- the body limit ----------------------------------------------------------------------


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_network_with_a_200_mb_name_is_413_and_never_held_whole(
    api: httpx.Client, server: ServerProcess, declared: bool
) -> None:
    before, peak_before = networks(api), peak_rss(server)
    size = 200 * MiB
    head, tail = b'{"network": {"name": "', b'"}}'
    headers = {"content-type": "application/json"}
    if declared:
        headers["content-length"] = str(len(head) + size + len(tail))
    response = api.post("/networks", content=streamed(head, size, tail), headers=headers)
    assert_error(response, 413, "HTTPRequestEntityTooLarge")
    assert response.json()["NeutronError"]["message"] == (
        f"Request is too large. Larger than {4 * MiB}."
    )
    assert networks(api) == before
    assert peak_rss(server) - peak_before < 100 * MiB  # the body is 200 MiB


def test_member_updating_a_description_with_20_mb_is_413_and_the_store_is_unchanged(
    api: httpx.Client, server: ServerProcess
) -> None:
    network = create_network(api, name="kept", project_id=MEMBER["X-Project-Id"])
    size = store_bytes(server)
    for _ in range(10):
        body = {"network": {"description": "d" * 20 * MiB}}
        response = api.put(f"/networks/{network['id']}", json=body, headers=MEMBER)
        assert_error(response, 413, "HTTPRequestEntityTooLarge")
    kept = api.get(f"/networks/{network['id']}", headers=MEMBER).json()["network"]
    assert (kept["description"], kept["revision_number"]) == ("", network["revision_number"])
    assert store_bytes(server) == size


def test_bulk_of_1000_ports_with_realistic_attributes_fits_the_body_limit(
    api: httpx.Client,
) -> None:
    network = create_network(api)
    subnet = create_subnet(api, network["id"], "10.40.0.0/20")
    group = api.post("/security-groups", json={"security_group": {"name": "web"}}).json()
    ports = [
        {
            "network_id": network["id"],
            "name": f"instance-{i:06d}-port-eth0",
            "description": f"Port of instance web-frontend-{i} in availability zone nova",
            "device_id": str(uuid.uuid4()),
            "device_owner": "compute:nova",
            "fixed_ips": [{"subnet_id": subnet["id"]}],
            "security_groups": [group["security_group"]["id"]],
            "allowed_address_pairs": [{"ip_address": "10.40.15.0/24"}],
            "tags": ["tenant-web", "env-production"],
        }
        for i in range(1000)
    ]
    response = api.post("/ports", json={"ports": ports}, timeout=120.0)
    assert response.status_code == 201, response.text[:500]
    assert len(response.json()["ports"]) == 1000
    assert len(response.request.content) > 400_000  # a realistic bulk, well under 4 MiB


# --- attribute lengths (Neutron's 255) ---------------------------------------------------


def test_name_of_256_characters_is_400_as_neutron_and_nothing_is_made(api: httpx.Client) -> None:
    before = networks(api)
    response = api.post("/networks", json={"network": {"name": "n" * 256}}, headers=MEMBER)
    assert_error(response, 400, "HTTPBadRequest")
    assert response.json()["NeutronError"]["message"] == (
        f"Invalid input for name. Reason: '{'n' * 256}' exceeds maximum length of 255."
    )
    assert networks(api) == before


def test_name_of_255_characters_is_taken(api: httpx.Client) -> None:
    assert create_network(api, name="n" * 255)["name"] == "n" * 255


def test_a_long_value_is_not_sent_back_whole(api: httpx.Client) -> None:
    response = api.post("/networks", json={"network": {"name": "n" * 3 * MiB}})
    assert_error(response, 400, "HTTPBadRequest")
    assert len(response.content) < 2000
    assert response.json()["NeutronError"]["message"].endswith(
        "...' exceeds maximum length of 255."
    )


@pytest.mark.parametrize(
    ("attribute", "where"),
    [
        ("name", "port"),
        ("description", "port"),
        ("device_id", "port"),
        ("device_owner", "port"),
        ("binding:host_id", "port"),
        ("name", "router"),
        ("description", "security_group"),
        ("name", "subnet"),
    ],
)
def test_strings_beyond_255_are_400_naming_the_attribute(
    api: httpx.Client, attribute: str, where: str
) -> None:
    network = create_network(api)
    bodies: dict[str, tuple[str, dict[str, Any]]] = {
        "port": ("/ports", {"network_id": network["id"]}),
        "router": ("/routers", {}),
        "security_group": ("/security-groups", {"name": "g"}),
        "subnet": ("/subnets", {"network_id": network["id"], "cidr": "10.41.0.0/24"}),
    }
    path, body = bodies[where]
    response = api.post(path, json={where: {**body, attribute: "v" * 256}})
    assert_error(response, 400, "HTTPBadRequest")
    assert response.json()["NeutronError"]["message"].startswith(
        f"Invalid input for {attribute}. Reason: 'vvv"
    )
    assert api.get(path, params={"name": "v" * 256}).json()[f"{where}s"] == []


def test_security_group_rule_description_and_bulk_item_beyond_255_are_400(
    api: httpx.Client,
) -> None:
    group = api.post("/security-groups", json={"security_group": {"name": "r"}}).json()
    rule = {"security_group_id": group["security_group"]["id"], "direction": "ingress"}
    single = {"security_group_rule": {**rule, "description": "d" * 256}}
    assert_error(api.post("/security-group-rules", json=single), 400, "HTTPBadRequest")
    bulk = {"networks": [{"name": "fine"}, {"name": "ok"}, {"description": "d" * 256}]}
    response = api.post("/networks", json=bulk)
    assert_error(response, 400, "HTTPBadRequest")
    assert response.json()["NeutronError"]["message"].startswith(
        "Invalid input for description. Reason: 'ddd"
    )
    assert api.get("/networks", params={"name": "fine"}).json()["networks"] == []


def test_tag_beyond_255_is_400_as_neutron(api: httpx.Client) -> None:
    network = create_network(api)
    response = api.put(f"/networks/{network['id']}/tags", json={"tags": ["t" * 256]})
    assert_error(response, 400, "InvalidInput")
    assert response.json()["NeutronError"]["message"] == (
        f"Invalid input for operation: '{'t' * 256}' exceeds maximum length of 255."
    )
    assert api.get(f"/networks/{network['id']}/tags").json()["tags"] == []


# --- counts: fixed IPs, allowed address pairs, bulk ---------------------------------------


@pytest.fixture
def network(api: httpx.Client) -> dict[str, Any]:
    network = create_network(api)
    create_subnet(api, network["id"], "10.42.0.0/23")
    return network


def test_port_with_101_fixed_ips_is_400_and_100_are_taken(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    fixed = [{"ip_address": f"10.42.1.{i}"} for i in range(1, 102)]
    response = post_port(api, network["id"], fixed_ips=fixed)
    assert_error(response, 400, "InvalidInput")
    assert response.json()["NeutronError"]["message"] == (
        "Invalid input for operation: Exceeded maximum amount of fixed ips per port."
    )
    assert api.get("/ports", params={"network_id": network["id"]}).json()["ports"] == []
    port = create_port(api, network["id"], fixed_ips=fixed[:100])
    assert len(port["fixed_ips"]) == 100
    update = api.put(f"/ports/{port['id']}", json={"port": {"fixed_ips": fixed}})
    assert_error(update, 400, "InvalidInput")


def test_port_with_11_allowed_address_pairs_is_400_as_neutron_and_10_are_taken(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    pairs = [{"ip_address": f"10.43.0.{i}"} for i in range(11)]
    response = post_port(api, network["id"], allowed_address_pairs=pairs)
    assert_error(response, 400, "AllowedAddressPairExhausted")
    assert response.json()["NeutronError"]["message"] == (
        "The number of allowed address pair exceeds the maximum 10."
    )
    assert api.get("/ports", params={"network_id": network["id"]}).json()["ports"] == []
    port = create_port(api, network["id"], allowed_address_pairs=pairs[:10])
    assert len(port["allowed_address_pairs"]) == 10
    update = api.put(f"/ports/{port['id']}", json={"port": {"allowed_address_pairs": pairs}})
    assert_error(update, 400, "AllowedAddressPairExhausted")
    shown = api.get(f"/ports/{port['id']}").json()["port"]
    assert len(shown["allowed_address_pairs"]) == 10


def test_bulk_beyond_1000_items_is_400_and_nothing_is_made(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    ports = [{"network_id": network["id"], "name": f"b{i}"} for i in range(1001)]
    response = api.post("/ports", json={"ports": ports})
    assert_error(response, 400)
    assert "at most 1000" in response.json()["NeutronError"]["message"]
    assert api.get("/ports", params={"network_id": network["id"]}).json()["ports"] == []


def test_router_with_31_routes_is_400_as_neutron(api: httpx.Client) -> None:
    router = api.post("/routers", json={"router": {"name": "r"}}).json()["router"]
    routes = [{"destination": f"10.{i}.0.0/16", "nexthop": "10.0.0.9"} for i in range(31)]
    response = api.put(f"/routers/{router['id']}", json={"router": {"routes": routes}})
    assert_error(response, 400, "RoutesExhausted")
    assert response.json()["NeutronError"]["message"] == (
        f"Unable to complete operation for {router['id']}. "
        "The number of routes exceeds the maximum 30."
    )


# --- bodies that do not decode -----------------------------------------------------------

DEEP = b'{"network": {"name": ' + b"[" * 1000 + b"]" * 1000 + b"}}"
NOT_UTF8 = b'{"network": {"name": "\xff\xfe"}}'


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/networks", DEEP),
        ("POST", "/networks", NOT_UTF8),
        ("POST", "/networks", b'{"networks": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("PUT", "/networks/{id}", DEEP),
        ("PUT", "/networks/{id}", NOT_UTF8),
        (
            "POST",
            "/ports",
            b'{"port": {"binding:profile": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}}",
        ),
        ("PUT", "/networks/{id}/tags", b'{"tags": ["\xc3"]}'),
        (
            "PUT",
            "/routers/{router}/add_router_interface",
            b'{"subnet_id": "\xff"}',
        ),
        ("PUT", "/quotas/p", b'{"quota": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
        ("PUT", "/quotas/p", b'{"quota": {"port": "\xff"}}'),
        ("PUT", "/agents/{id}", b'{"agent": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
        ("PUT", "/agents/{id}", b'{"agent": {"description": "\xff"}}'),
    ],
)
def test_body_nested_too_deep_or_not_utf8_is_400_malformed(
    api: httpx.Client, server: ServerProcess, method: str, path: str, body: bytes
) -> None:
    network = create_network(api, name="undecodable")
    router = api.post("/routers", json={"router": {"name": "r"}}).json()["router"]
    url = path.format(id=network["id"], router=router["id"])
    response = api.request(method, url, content=body)
    assert_error(response, 400, "HTTPBadRequest")
    assert response.json()["NeutronError"]["message"].startswith("Malformed request body")
    assert api.get(f"/networks/{network['id']}").json()["network"]["name"] == "undecodable"
    assert "Traceback" not in server.errors_logged()


# --- the limits follow the server's flags ------------------------------------------------


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = Path(tmp_path_factory.mktemp("tight")) / "alcor.db"
    flags = ("--max-body-size", "2000", "--max-allowed-address-pair", "2", "--max-bulk", "3")
    flags += ("--max-fixed-ips-per-port", "2", "--max-dns-nameservers", "1")
    process = ServerProcess(db, *flags).start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


def test_limits_are_the_servers_flags(tight: ServerProcess) -> None:
    with httpx.Client(base_url=tight.url + "/v2.0", timeout=30.0) as api:
        network = create_network(api)
        create_subnet(api, network["id"], "10.44.0.0/24", dns_nameservers=["10.0.0.53"])
        dns = ["10.0.0.53", "10.0.0.54"]
        response = post_subnet(api, network["id"], "10.45.0.0/24", dns_nameservers=dns)
        assert_error(response, 400, "DNSNameServersExhausted")
        pairs = [{"ip_address": f"10.44.0.{i}"} for i in range(10, 13)]
        response = post_port(api, network["id"], allowed_address_pairs=pairs)
        assert_error(response, 400, "AllowedAddressPairExhausted")
        assert "maximum 2." in response.text
        create_port(api, network["id"], allowed_address_pairs=pairs[:2])
        fixed = [{"ip_address": f"10.44.0.{i}"} for i in range(20, 23)]
        assert_error(post_port(api, network["id"], fixed_ips=fixed), 400, "InvalidInput")
        bulk = {"networks": [{"name": str(i)} for i in range(4)]}
        assert_error(api.post("/networks", json=bulk), 400)
        large = api.post("/networks", json={"network": {"description": "d" * 2000}})
        assert_error(large, 413, "HTTPRequestEntityTooLarge")
        assert "Larger than 2000." in large.text
