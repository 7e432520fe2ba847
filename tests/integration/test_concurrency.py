"""Many clients racing for the last addresses of one subnet, over real HTTP.

32 clients (threads, each with its own keep-alive connection) create ports on one /24 until the
pool is exhausted. Every address of the pool is handed out exactly once, the requests past the
end fail cleanly with Neutron's 409 ``IpAddressGenerationFailure``, and nothing is a 5xx. A bulk
that does not fit any more is refused whole.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.servers import ServerProcess

CLIENTS = 32
Client = Callable[[httpx.Client, "Outcome", int], None]
POOL = [str(ipaddress.IPv4Address("10.31.0.0") + i) for i in range(2, 255)]  # .2 to .254


@dataclass
class Outcome:
    """What one client saw: the ports it created (per request) and every failure response."""

    created: list[list[dict[str, Any]]] = field(default_factory=list)
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


def network_with_subnet(api: httpx.Client, name: str, cidr: str) -> tuple[str, str]:
    network = api.post("/networks", json={"network": {"name": name}})
    assert network.status_code == 201, network.text
    network_id = network.json()["network"]["id"]
    subnet = api.post(
        "/subnets",
        json={"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": 4}},
    )
    assert subnet.status_code == 201, subnet.text
    return network_id, subnet.json()["subnet"]["id"]


def race(server: ServerProcess, client: Client) -> list[Outcome]:
    """Run ``client(http, outcome, index)`` in CLIENTS threads that start together."""
    outcomes = [Outcome() for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)

    def run(index: int) -> None:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=60.0) as http:
            http.get("/networks", params={"limit": 1})  # connect before the race starts
            start.wait()
            try:
                client(http, outcomes[index], index)
            except BaseException as error:
                outcomes[index].errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    errors = [error for outcome in outcomes for error in outcome.errors]
    assert not errors, errors
    return outcomes


def assert_pool_handed_out_once(
    api: httpx.Client, network_id: str, subnet_id: str, outcomes: list[Outcome]
) -> list[dict[str, Any]]:
    """Every pool address held by exactly one created port, and the store agrees."""
    created = [port for o in outcomes for request in o.created for port in request]
    addresses = [ip["ip_address"] for port in created for ip in port["fixed_ips"]]
    assert all([ip["subnet_id"] for ip in port["fixed_ips"]] == [subnet_id] for port in created)
    duplicates = [a for a, n in Counter(addresses).items() if n > 1]
    assert not duplicates, f"addresses handed out twice: {duplicates}"
    assert len(created) == len(POOL), f"{len(created)} ports created, pool has {len(POOL)}"
    assert sorted(addresses, key=ipaddress.IPv4Address) == POOL
    macs = Counter(port["mac_address"] for port in created)
    assert max(macs.values()) == 1, "a MAC handed out twice"

    listed = api.get("/ports", params={"network_id": network_id}).json()["ports"]
    assert {p["id"]: p["fixed_ips"] for p in listed} == {p["id"]: p["fixed_ips"] for p in created}
    return created


def assert_clean_failures(outcomes: list[Outcome]) -> None:
    failures = [failure for outcome in outcomes for failure in outcome.failures]
    assert not [f for f in failures if f[0] >= 500], f"server errors: {failures[:5]}"
    wrong = [
        f
        for f in failures
        if f[0] != 409 or f[1]["NeutronError"]["type"] != "IpAddressGenerationFailure"
    ]
    assert not wrong, f"failures other than IpAddressGenerationFailure: {wrong[:5]}"


def create(
    http: httpx.Client, outcome: Outcome, body: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """One POST /ports: the ports created, or None after recording the failure."""
    response = http.post("/ports", json=body)
    if response.status_code == 201:
        answer = response.json()
        ports: list[dict[str, Any]] = answer["ports"] if "ports" in answer else [answer["port"]]
        outcome.created.append(ports)
        return ports
    outcome.failures.append((response.status_code, response.json()))
    return None


@pytest.mark.slow
def test_32_clients_exhaust_a_24_each_address_once(
    server: ServerProcess, api: httpx.Client
) -> None:
    network_id, subnet_id = network_with_subnet(api, "race-single", "10.31.0.0/24")

    def client(http: httpx.Client, outcome: Outcome, index: int) -> None:
        while create(http, outcome, {"port": {"network_id": network_id}}) is not None:
            pass
        # exhausted for this client: a second try must fail the same way
        assert create(http, outcome, {"port": {"network_id": network_id}}) is None

    outcomes = race(server, client)
    assert_pool_handed_out_once(api, network_id, subnet_id, outcomes)
    assert_clean_failures(outcomes)
    assert all(len(o.failures) == 2 for o in outcomes), "every client stops on a 409"


@pytest.mark.slow
def test_bulks_racing_singles_are_all_or_nothing(server: ServerProcess, api: httpx.Client) -> None:
    """Clients send bulks of 2 to 7 ports until one no longer fits, then singles until a 409.
    A refused bulk leaves nothing behind, so singles fill the pool exactly."""
    network_id, subnet_id = network_with_subnet(api, "race-bulk", "10.31.0.0/24")
    sent: dict[str, int] = {}  # bulk name prefix -> ports asked for
    lock = threading.Lock()

    def client(http: httpx.Client, outcome: Outcome, index: int) -> None:
        for number in range(10_000):
            size = 2 + (index + number) % 6
            prefix = f"c{index}-b{number}-"
            with lock:
                sent[prefix] = size
            ports = [{"network_id": network_id, "name": f"{prefix}{k}"} for k in range(size)]
            created = create(http, outcome, {"ports": ports})
            if created is None:
                break
            assert [p["name"] for p in created] == [p["name"] for p in ports]
        while create(http, outcome, {"port": {"network_id": network_id}}) is not None:
            pass

    outcomes = race(server, client)
    created = assert_pool_handed_out_once(api, network_id, subnet_id, outcomes)
    assert_clean_failures(outcomes)
    names = Counter(port["name"].rpartition("-")[0] + "-" for port in created if port["name"])
    for prefix, size in sent.items():
        assert names.get(prefix, 0) in (0, size), f"bulk {prefix} half-written"
