"""The first path every client takes: discovery, then a network, a subnet and a port."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.servers import ServerProcess


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


def test_sigterm_stops_the_server_cleanly(tmp_path: Path) -> None:
    """A SIGTERM (what systemd and Kubernetes send) ends the server with status 0, the
    southbound stopped and the store closed: SQLite checkpoints and removes its WAL file."""
    server = ServerProcess(tmp_path / "alcor.db").start()
    try:
        with httpx.Client(base_url=server.url + "/v2.0") as api:
            assert api.post("/networks", json={"network": {"name": "n"}}).status_code == 201
    finally:
        server.stop()
    assert server.process is not None
    assert server.process.returncode == 0, server.log_path.read_text()
    assert not (tmp_path / "alcor.db-wal").exists()
    assert "Traceback" not in server.log_path.read_text()
