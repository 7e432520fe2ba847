"""A region in miniature, and two of its processes killed under load: three ``--role api``
processes and two ``--role southbound`` replicas on one PostgreSQL database, 100 recording agents
given both southbound addresses, ports created through every API process at once. One API
process and one southbound replica are killed with SIGKILL while the creates go on (the clients
of the dead API process go on through the others, as behind a load balancer). Afterwards:

- every port an API process acknowledged exists, exactly once, and no two ports share an
  address in a subnet or a MAC on a network;
- every host holds exactly its goal state, as computed from the API's listings (not by the
  goal-state engine): the dead replica's hosts included, now on the other;
- every bound port is ACTIVE and every host connected with no lag, as every surviving API
  process shows them (status crosses processes through the store)."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import databases
from tests.agents import Api, Host, names, run, until
from tests.servers import ServerProcess

HOSTS = 100
NETWORKS = 4
BEFORE_KILL = 120  # ports acknowledged before the kills
AFTER_KILL = 120  # and after them
LEASE = ("--southbound-lease", "2")
SETTLE = 120.0  # seconds allowed for everything to settle: generous, not a measurement


class Region:
    def __init__(self, folder: Path, url: str) -> None:
        self.apis = [
            ServerProcess(folder / f"api-{n}.db", db_url=url, role="api") for n in range(3)
        ]
        self.replicas = [
            ServerProcess(folder / f"sb-{n}.db", *LEASE, db_url=url, role="southbound")
            for n in range(2)
        ]
        self.started: list[ServerProcess] = []

    def start(self) -> None:
        for server in (*self.apis, *self.replicas):  # one at a time: the first migrates
            self.started.append(server.start())

    def stop(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture
def region(postgres: databases.PostgresCluster, tmp_path: Path) -> Iterator[Region]:
    made = Region(tmp_path, postgres.create_database("alcor_region"))
    try:
        made.start()
        yield made
    finally:
        made.stop()
    for server in made.started:
        assert "Traceback" not in server.errors_logged(), server.errors_logged()


class Load:
    """Creates through every API process at once: one client each, single ports and bulks of
    three on random hosts and networks; a client whose process is gone moves to the next one."""

    def __init__(
        self, urls: list[str], project: str, networks: list[str], hosts: list[str]
    ) -> None:
        headers = {"X-Project-Id": project, "X-Roles": "admin"}
        self.clients = [
            httpx.AsyncClient(base_url=url + "/v2.0", headers=headers, timeout=30.0) for url in urls
        ]
        self.networks = networks
        self.hosts = hosts
        self.acknowledged: list[str] = []
        self.refused: Counter[int] = Counter()  # status codes answered but not 201
        self.stopping = asyncio.Event()

    def body(self, rng: random.Random) -> dict[str, Any]:
        def port() -> dict[str, Any]:
            return {
                "network_id": rng.choice(self.networks),
                "binding:host_id": rng.choice(self.hosts),
            }

        if rng.random() < 0.5:
            return {"port": port()}
        return {"ports": [port() for _ in range(3)]}

    async def client(self, first: int) -> None:
        rng = random.Random(first)
        turns = itertools.cycle(range(first, first + len(self.clients)))
        current = next(turns) % len(self.clients)
        while not self.stopping.is_set():
            try:
                response = await self.clients[current].post("/ports", json=self.body(rng))
            except httpx.TransportError:  # its process is gone: the balancer takes another
                current = next(turns) % len(self.clients)
                continue
            if response.status_code != 201:
                assert response.status_code == 503, response.text  # never a 500
                self.refused[response.status_code] += 1
                continue
            found = response.json()
            made = found["ports"] if "ports" in found else [found["port"]]
            self.acknowledged.extend(port["id"] for port in made)

    async def until_acknowledged(self, count: int) -> None:
        await until(lambda: len(self.acknowledged) >= count, f"{count} ports", timeout=SETTLE)

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()


def distinct_addresses(ports: list[dict[str, Any]]) -> None:
    addresses = Counter(
        (fixed["subnet_id"], fixed["ip_address"]) for p in ports for fixed in p["fixed_ips"]
    )
    macs = Counter((p["network_id"], p["mac_address"]) for p in ports)
    assert [a for a, n in addresses.items() if n > 1] == []
    assert [m for m, n in macs.items() if n > 1] == []


def test_killing_an_api_process_and_a_southbound_replica_under_load_loses_nothing(
    region: Region,
) -> None:
    project = "p-region"
    headers = {"X-Project-Id": project, "X-Roles": "admin"}

    async def scenario() -> None:
        first = region.apis[0]
        async with httpx.AsyncClient(
            base_url=first.url + "/v2.0", headers=headers, timeout=30.0
        ) as client:
            api = Api(client)
            host_ids = names("region", HOSTS)
            await api.nodes(*host_ids)
            addresses = [replica.southbound for replica in region.replicas]
            hosts = [Host(host_id, addresses).start() for host_id in host_ids]
            networks = []
            for n in range(NETWORKS):
                networks.append(await api.network())
                await api.subnet(networks[-1], f"10.{60 + n}.0.0/22")

            load = Load([server.url for server in region.apis], project, networks, host_ids)
            clients = [asyncio.create_task(load.client(n)) for n in range(len(region.apis))]
            try:
                await load.until_acknowledged(BEFORE_KILL)
                region.apis[1].kill()
                region.replicas[0].kill()
                await load.until_acknowledged(BEFORE_KILL + AFTER_KILL)
            finally:
                load.stopping.set()
                await asyncio.gather(*clients)
                await load.close()

            ports = await api.listed("ports", "ports")
            ids = Counter(p["id"] for p in ports)
            assert [i for i, n in ids.items() if n > 1] == []
            assert set(load.acknowledged) <= set(ids)
            assert len(load.acknowledged) == len(set(load.acknowledged))
            distinct_addresses(ports)

            await api.converged(*hosts)
            for survivor in (region.apis[0], region.apis[2]):
                async with httpx.AsyncClient(
                    base_url=survivor.url + "/v2.0", headers=headers, timeout=30.0
                ) as other:
                    await Api(other).settled(hosts, timeout=SETTLE)
            alive = region.replicas[1].southbound
            assert {host.agent.status.controller for host in hosts} == {alive}
            for host in hosts:
                await host.close()

    run(scenario)
