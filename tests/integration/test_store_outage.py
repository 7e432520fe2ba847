"""A database that goes away: every request gets a prompt 503 in Neutron's body with a retry hint
(never a hang, never a 500), nothing is half-written, and the server serves again by itself when
the database is back. Run on a PostgreSQL cluster of its own, which the test stops and starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import databases
from tests.integration.neutron import create_network, create_subnet
from tests.servers import ServerProcess


@pytest.fixture
def cluster() -> Iterator[databases.PostgresCluster]:
    """A cluster of this test's own: it stops and starts it."""
    yield from databases.private_cluster()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["NeutronError"]
    assert error["type"] == "ServiceUnavailable"
    assert "try again" in error["message"]
    assert int(response.headers["Retry-After"]) >= 1


def test_a_lost_database_is_a_503_with_a_retry_hint_and_the_server_recovers_by_itself(
    cluster: databases.PostgresCluster, tmp_path: Path
) -> None:
    url = cluster.create_database("outage")
    server = ServerProcess(tmp_path / "alcor.db", db_url=url, southbound="off").start()
    try:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=20.0) as api:
            kept = create_network(api, name="kept")
            create_subnet(api, kept["id"], "10.9.0.0/24")
            cluster.halt()
            for _ in range(3):  # reads and writes, more than once: none hangs, none is a 500
                assert_unavailable(api.get("/networks"))
                assert_unavailable(api.get(f"/networks/{kept['id']}"))
                assert_unavailable(api.post("/networks", json={"network": {"name": "lost"}}))
                assert_unavailable(
                    api.post("/ports", json={"ports": [{"network_id": kept["id"]}] * 3})
                )
            cluster.start()
            made = api.post("/networks", json={"network": {"name": "after"}})
            for _ in range(50):  # the writer reconnects with a growing pause (at most 2 s)
                if made.status_code != 503:
                    break
                made = api.post("/networks", json={"network": {"name": "after"}})
            assert made.status_code == 201, made.text
            names = sorted(n["name"] for n in api.get("/networks").json()["networks"])
            assert names == ["after", "kept"]  # nothing of the refused writes
            assert api.get("/ports").json()["ports"] == []
            port = api.post("/ports", json={"port": {"network_id": kept["id"]}})
            assert port.status_code == 201, port.text
    finally:
        server.stop()
    assert "Traceback" not in "\n".join(
        line for line in server.errors_logged().splitlines() if "alcor.api" in line
    )
