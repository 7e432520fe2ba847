"""kill -9 under load: nothing acknowledged is lost, nothing is half-written, nothing is doubled.

Eight clients create ports (singles and small bulks, each bulk's ports named with a prefix of
their own) on one subnet; after about a second of load the server is killed with SIGKILL while
requests are in flight. Twice: the second time on the restarted server, whose address pools and
MAC sets were rebuilt from the store. A server restarted on the same SQLite file must then show:

* every acknowledged port (a 2xx was received) with the same id, MAC and fixed IPs;
* every bulk, acknowledged or not, either whole or absent;
* no address and no MAC on two ports, and the database's own indexes in step with the ports
  (``ip_allocations`` holds exactly the ports' addresses, every port has its change-log row);
* new creates working, with addresses no port holds (the pools were rebuilt from the store),
  and the global revision still growing.

A process crash, not a power loss: with ``--sync normal`` too nothing acknowledged may be lost.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import ServerProcess

CLIENTS = 8
LOAD_SECONDS = 1.0
CIDR = "10.40.0.0/16"  # 65,533 addresses: two rounds of load never exhaust it


@dataclass
class Sent:
    """One POST /ports as sent: the names of its ports, and the ports answered if acknowledged."""

    names: list[str]
    bulk: bool
    answered: list[dict[str, Any]] | None = None
    status: int | None = None  # None: no response (the server died first)


@dataclass
class Client:
    sent: list[Sent] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


def load(url: str, network_id: str, tag: str, client: Client, started: threading.Event) -> None:
    """Create ports until the server stops answering. Every third request is a bulk of 2-5."""
    with httpx.Client(base_url=url + "/v2.0", timeout=30.0) as http:
        for number in range(1_000_000):
            if number % 3 == 2:
                names = [f"{tag}-b{number}-{k}" for k in range(2 + number % 4)]
                body: dict[str, Any] = {
                    "ports": [{"network_id": network_id, "name": name} for name in names]
                }
            else:
                names = [f"{tag}-s{number}"]
                body = {"port": {"network_id": network_id, "name": names[0]}}
            sent = Sent(names, bulk="ports" in body)
            client.sent.append(sent)
            try:
                response = http.post("/ports", json=body)
            except httpx.TransportError:
                return  # killed: this request's fate is unknown, and it is the last one
            sent.status = response.status_code
            if response.status_code != 201:
                client.errors.append(AssertionError(f"{response.status_code} {response.text}"))
                return
            answer = response.json()
            sent.answered = answer["ports"] if sent.bulk else [answer["port"]]
            started.set()


def network_with_subnet(api: httpx.Client) -> tuple[str, str]:
    network = api.post("/networks", json={"network": {"name": "crash"}}).json()["network"]
    subnet = api.post(
        "/subnets", json={"subnet": {"network_id": network["id"], "cidr": CIDR, "ip_version": 4}}
    ).json()["subnet"]
    return network["id"], subnet["id"]


def ports_of(api: httpx.Client, network_id: str) -> list[dict[str, Any]]:
    response = api.get("/ports", params={"network_id": network_id})
    assert response.status_code == 200, response.text
    ports: list[dict[str, Any]] = response.json()["ports"]
    return ports


def assert_nothing_doubled(ports: list[dict[str, Any]]) -> None:
    addresses = Counter(ip["ip_address"] for p in ports for ip in p["fixed_ips"])
    macs = Counter(p["mac_address"] for p in ports)
    assert [a for a, n in addresses.items() if n > 1] == [], "an address on two ports"
    assert [m for m, n in macs.items() if n > 1] == [], "a MAC on two ports"
    assert all(len(p["fixed_ips"]) == 1 for p in ports)


def store_revision(db: Path) -> int:
    connection = sqlite3.connect(db)
    try:
        return int(connection.execute("SELECT revision FROM store_revision").fetchone()[0])
    finally:
        connection.close()


def assert_indexes_agree(db: Path, ports: list[dict[str, Any]]) -> None:
    """The database's derived rows match the ports: the address index, the change log."""
    connection = sqlite3.connect(db)
    try:
        allocations = set(
            connection.execute("SELECT subnet_id, ip_address, port_id FROM ip_allocations")
        )
        held = {
            (ip["subnet_id"], ip["ip_address"], p["id"]) for p in ports for ip in p["fixed_ips"]
        }
        assert allocations == held
        created = {
            row[0]
            for row in connection.execute(
                "SELECT resource_id FROM change_log WHERE resource_type = 'port' "
                "AND operation = 'create'"
            )
        }
        # no port is ever deleted here: the ports and the logged creates are the same set
        assert {p["id"] for p in ports} == created, "a port and its change-log row parted"
        revisions = [row[0] for row in connection.execute("SELECT revision FROM change_log")]
        top = connection.execute("SELECT revision FROM store_revision").fetchone()[0]
        assert len(revisions) == len(set(revisions))
        assert top == max(revisions), "store_revision is not the highest logged revision"
    finally:
        connection.close()


def crash_under_load(server: ServerProcess, network_id: str, round_: int) -> list[Sent]:
    """Load the server with CLIENTS creating ports, kill -9 it after LOAD_SECONDS of it."""
    clients = [Client() for _ in range(CLIENTS)]
    started = threading.Event()
    threads = [
        threading.Thread(
            target=load, args=(server.url, network_id, f"r{round_}c{i}", clients[i], started)
        )
        for i in range(CLIENTS)
    ]
    try:
        for thread in threads:
            thread.start()
        assert started.wait(timeout=10), "no create was acknowledged"
        time.sleep(LOAD_SECONDS)
    finally:
        server.kill()
        for thread in threads:
            thread.join(timeout=30)
    errors = [error for client in clients for error in client.errors]
    assert not errors, errors
    sent = [s for client in clients for s in client.sent]
    assert sum(len(s.answered or []) for s in sent) > 100, "too little load to test anything"
    assert [s for s in sent if s.status is None], "the kill did not interrupt any request"
    return sent


def assert_survived(api: httpx.Client, network_id: str, sent: list[Sent]) -> list[dict[str, Any]]:
    """Every acknowledged port as answered, every request whole or absent, nothing doubled."""
    ports = ports_of(api, network_id)
    by_id = {p["id"]: p for p in ports}
    for request in sent:
        for port in request.answered or []:
            assert port["id"] in by_id, f"acknowledged port {port['name']} lost"
            kept = by_id[port["id"]]
            assert (kept["name"], kept["mac_address"], kept["fixed_ips"]) == (
                port["name"],
                port["mac_address"],
                port["fixed_ips"],
            )
    names = Counter(p["name"] for p in ports)
    assert set(names) <= {name for s in sent for name in s.names}, "a port never asked for"
    assert max(names.values()) == 1, "a request's port written twice"
    for request in sent:
        found = sum(name in names for name in request.names)
        assert found in (0, len(request.names)), f"half-written bulk {request.names[0]}"
    assert_nothing_doubled(ports)
    return ports


@pytest.mark.slow
@pytest.mark.parametrize("sync", ["full", "normal"])
def test_kill_9_under_concurrent_creates(tmp_path: Path, sync: str) -> None:
    """Two crashes: the second on a store recovered from the first, its pools rebuilt from it."""
    db = tmp_path / "alcor.db"
    server = ServerProcess(db, "--sync", sync).start()
    with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as api:
        network_id, subnet_id = network_with_subnet(api)
    sent = crash_under_load(server, network_id, 1)

    server = ServerProcess(db, "--sync", sync).start()
    try:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as api:
            assert_survived(api, network_id, sent)
    except BaseException:
        server.kill()
        raise
    sent += crash_under_load(server, network_id, 2)

    server = ServerProcess(db, "--sync", sync).start()
    try:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as api:
            ports = assert_survived(api, network_id, sent)

            # The restarted server allocates around what the store holds, and revisions grow.
            held = {ip["ip_address"] for p in ports for ip in p["fixed_ips"]}
            macs = {p["mac_address"] for p in ports}
            before = store_revision(db)
            single = api.post("/ports", json={"port": {"network_id": network_id}})
            assert single.status_code == 201, single.text
            bulk = api.post("/ports", json={"ports": [{"network_id": network_id}] * 5})
            assert bulk.status_code == 201, bulk.text
            new = [single.json()["port"], *bulk.json()["ports"]]
            assert all(p["fixed_ips"][0]["subnet_id"] == subnet_id for p in new)
            assert not held & {p["fixed_ips"][0]["ip_address"] for p in new}
            assert not macs & {p["mac_address"] for p in new}
            assert store_revision(db) == before + len(new)
            after = ports_of(api, network_id)
            assert len(after) == len(ports) + len(new)
            assert_nothing_doubled(after)
    finally:
        server.stop()
    assert "Traceback" not in server.errors_logged(), server.errors_logged()
    assert_indexes_agree(db, after)
