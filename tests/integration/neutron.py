"""What integration tests do to the API again and again: create resources over HTTP (asserting
the 201) and check Neutron error bodies. The EUI-64 computation is an independent oracle, not
the product's own."""

from __future__ import annotations

import hashlib
import ipaddress
from pathlib import Path
from typing import Any

import httpx

REFERENCE = Path("/work/shared/neutron-reference/responses")


def create_network(api: httpx.Client, **attributes: Any) -> dict[str, Any]:
    response = api.post("/networks", json={"network": attributes})
    assert response.status_code == 201, response.text
    network: dict[str, Any] = response.json()["network"]
    return network


def post_subnet(api: httpx.Client, network_id: str, cidr: str, **attributes: Any) -> httpx.Response:
    return api.post(
        "/subnets", json={"subnet": {"network_id": network_id, "cidr": cidr, **attributes}}
    )


def create_subnet(api: httpx.Client, network_id: str, cidr: str, **attributes: Any) -> Any:
    response = post_subnet(api, network_id, cidr, **attributes)
    assert response.status_code == 201, response.text
    return response.json()["subnet"]


def post_port(api: httpx.Client, network_id: str, **attributes: Any) -> httpx.Response:
    return api.post("/ports", json={"port": {"network_id": network_id, **attributes}})


def create_port(api: httpx.Client, network_id: str, **attributes: Any) -> Any:
    response = post_port(api, network_id, **attributes)
    assert response.status_code == 201, response.text
    return response.json()["port"]


def underlay_ip(name: str) -> str:
    """An underlay address for a test host, derived from its name (in 198.18.0.0/15)."""
    number = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4]) % (2**17 - 2) + 1
    return str(ipaddress.IPv4Address("198.18.0.0") + number)


def ensure_nodes(api: httpx.Client, *names: str) -> list[dict[str, Any]]:
    """The nodes of these host names, created (in one bulk) where missing: ports may be bound
    only to known nodes."""
    query = [("name", name) for name in names]
    existing = {n["name"]: n for n in api.get("/nodes", params=query).json()["nodes"]}
    missing = [{"name": n, "underlay_ip": underlay_ip(n)} for n in names if n not in existing]
    if missing:
        response = api.post("/nodes", json={"nodes": missing})
        assert response.status_code == 201, response.text
        existing.update({n["name"]: n for n in response.json()["nodes"]})
    return [existing[name] for name in names]


def assert_error(response: httpx.Response, status: int, error_type: str | None = None) -> None:
    """A Neutron error body with this status (and type), and a message for the user."""
    assert response.status_code == status, response.text
    error = response.json()["NeutronError"]
    assert error["message"], error
    if error_type is not None:
        assert error["type"] == error_type, error


def eui64(prefix: str, mac: str) -> str:
    octets = bytearray.fromhex(mac.replace(":", ""))
    octets[0] ^= 0x02
    interface = int.from_bytes(bytes(octets[:3]) + b"\xff\xfe" + bytes(octets[3:]))
    return str(ipaddress.IPv6Network(prefix).network_address + interface)
