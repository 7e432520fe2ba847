"""The first path every client takes: discovery, then a network, a subnet and a port."""

from __future__ import annotations

import httpx


def test_versions_and_a_port_on_a_new_subnet(api: httpx.Client) -> None:
    versions = httpx.get(str(api.base_url).removesuffix("/v2.0/") + "/").json()
    assert versions["versions"][0]["id"] == "v2.0"

    network = api.post("/networks", json={"network": {"name": "smoke"}}).json()["network"]
    subnet = api.post(
        "/subnets",
        json={"subnet": {"network_id": network["id"], "cidr": "10.9.0.0/24", "ip_version": 4}},
    ).json()["subnet"]
    assert subnet["allocation_pools"] == [{"start": "10.9.0.2", "end": "10.9.0.254"}]

    response = api.post("/ports", json={"port": {"network_id": network["id"]}})
    assert response.status_code == 201
    port = response.json()["port"]
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.9.0.2"}]
    assert port["status"] == "DOWN"
    assert api.get(f"/ports/{port['id']}").json()["port"] == port
