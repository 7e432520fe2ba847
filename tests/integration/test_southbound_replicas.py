"""Southbound replicas sharing the hosts: one ``--role api`` process and two ``--role
southbound`` processes on one store (each dialect), recording agents given both southbound
addresses. Every host is served by the replica that owns it by rendezvous hashing over the
lease rows, and holds exactly its goal state. A replica killed with SIGKILL: its hosts are
served by the other once its lease runs out, resume with a delta (the recording agent keeps
every goal state: no snapshot), and follow the writes after. A replica that starts later takes
its share: only those hosts move, with a delta, and none misses a change made meanwhile. With
TLS, an agent given one replica's address only is sent to its owner, and follows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from alcor.southbound import owners
from tests.agents import Api, Host, project_api, run, until
from tests.servers import Pki, ServerProcess

LEASE = ("--southbound-lease", "2")
TAKEOVER = 60.0  # seconds allowed for a takeover: generous, not a measurement (bench/ has one)


class Region:
    """The processes of one test: an API process, and southbound replicas made on demand."""

    def __init__(self, folder: Path, url: str) -> None:
        self.folder = folder
        self.url = url
        self.api = ServerProcess(folder / "api.db", db_url=url, role="api")
        self.started: list[ServerProcess] = []

    def replica(self, name: str, *, pki: Pki | None = None) -> ServerProcess:
        return ServerProcess(
            self.folder / f"{name}.db", *LEASE, db_url=self.url, role="southbound", pki=pki
        )

    def start(self, server: ServerProcess) -> ServerProcess:
        self.started.append(server.start())
        return server

    def live(self) -> dict[str, str]:
        """Lease rows by replica id: their addresses (dead rows stay a while: see ``owned``)."""
        rows = self.api.query("SELECT replica_id, address FROM southbound_replicas")
        return {str(replica_id): str(address) for replica_id, address in rows}


@pytest.fixture
def region(store_url: str, tmp_path: Path) -> Iterator[Region]:
    found = Region(tmp_path, store_url)
    try:
        found.start(found.api)  # first: it migrates the store
        yield found
    finally:
        for server in found.started:
            server.stop()
    for server in found.started:
        assert "Traceback" not in server.errors_logged(), server.errors_logged()


def owner_address(host: str, replicas: dict[str, str]) -> str:
    owner = owners.owner(host, replicas)
    assert owner is not None
    return replicas[owner]


async def served_by_owners(hosts: list[Host], replicas: dict[str, str]) -> None:
    """Every host comes to be connected to the replica that owns it."""
    for host in hosts:
        wanted = owner_address(host.id, replicas)
        await until(
            lambda host=host, wanted=wanted: (  # type: ignore[misc]
                host.agent.status.connected and host.agent.status.controller == wanted
            ),
            f"{host.id} to be served by {wanted}, not {host.agent.status.controller}",
            timeout=TAKEOVER,
        )


async def both_live(region: Region, addresses: set[str]) -> dict[str, str]:
    await until(lambda: set(region.live().values()) == addresses, f"leases of {addresses}")
    return region.live()


async def ports_everywhere(api: Api, network: str, hosts: list[Host]) -> None:
    await api.ports(network, [host.id for host in hosts])


def snapshots(host: Host, since: int) -> list[int]:
    return [goal.revision for goal in host.received_since(since) if goal.snapshot]


def test_a_killed_replicas_hosts_resume_on_the_other_with_a_delta(region: Region) -> None:
    first = region.start(region.replica("first"))
    second = region.start(region.replica("second"))

    async def scenario() -> None:
        replicas = await both_live(region, {first.southbound, second.southbound})
        # hosts named so that each replica owns four
        names: list[str] = []
        shares = {first.southbound: 0, second.southbound: 0}
        while min(shares.values()) < 4:
            name = f"r-{uuid.uuid4().hex[:8]}"
            address = owner_address(name, replicas)
            if shares[address] < 4:
                shares[address] += 1
                names.append(name)
        async with project_api(region.api) as api:
            await api.nodes(*names)
            hosts = [Host(name, [first.southbound, second.southbound]).start() for name in names]
            network = await api.network()
            await api.subnet(network, "10.7.0.0/24")
            await ports_everywhere(api, network, hosts)
            await api.converged(*hosts)
            await served_by_owners(hosts, replicas)

            before = {host.id: len(host.agent.received) for host in hosts}
            streams = {host.id: host.agent.status.sessions for host in hosts}
            moved = [h for h in hosts if h.agent.status.controller == first.southbound]
            stayed = [h for h in hosts if h not in moved]
            first.kill()
            survivor = {k: v for k, v in replicas.items() if v == second.southbound}
            await served_by_owners(moved, survivor)
            await api.converged(*hosts)
            await ports_everywhere(api, network, hosts)  # writes after the takeover
            await api.converged(*hosts)
            for host in hosts:
                assert snapshots(host, before[host.id]) == [], host.id  # deltas only
            for host in stayed:  # the survivor's own hosts kept their streams
                assert host.agent.status.sessions == streams[host.id], host.id
            await api.settled(hosts, timeout=TAKEOVER)  # the API process shows them served
            for host in hosts:
                await host.close()

    run(scenario)


def test_a_replica_that_starts_later_takes_its_share_and_no_change_is_lost(
    region: Region,
) -> None:
    first = region.start(region.replica("first"))
    later = region.replica("later")  # its address is known before it runs

    async def scenario() -> None:
        async with project_api(region.api) as api:
            names = [f"l-{uuid.uuid4().hex[:8]}" for _ in range(16)]
            await api.nodes(*names)
            hosts = [Host(name, [first.southbound, later.southbound]).start() for name in names]
            network = await api.network()
            await api.subnet(network, "10.8.0.0/24")
            await ports_everywhere(api, network, hosts)
            await api.converged(*hosts)
            assert {host.agent.status.controller for host in hosts} == {first.southbound}

            before = {host.id: len(host.agent.received) for host in hosts}
            streams = {host.id: host.agent.status.sessions for host in hosts}
            region.start(later)
            await ports_everywhere(api, network, hosts)  # while the hosts move
            replicas = await both_live(region, {first.southbound, later.southbound})
            await served_by_owners(hosts, replicas)
            await ports_everywhere(api, network, hosts)
            await api.converged(*hosts)
            taken = [h for h in hosts if owner_address(h.id, replicas) == later.southbound]
            assert taken  # 16 hosts: all on one replica would be a 1 in 32,768 chance
            for host in hosts:
                assert snapshots(host, before[host.id]) == [], host.id
                if host not in taken:  # nothing moved but the newcomer's share
                    assert host.agent.status.sessions == streams[host.id], host.id
            # the newcomer wrote its share's status and left the first replica's alone
            await api.settled(hosts, timeout=TAKEOVER)
            for host in hosts:
                await host.close()

    run(scenario)


def test_with_tls_an_agent_given_one_address_is_sent_to_its_owner(
    region: Region, tmp_path: Path
) -> None:
    pki = Pki(tmp_path / "pki")
    first = region.start(region.replica("first", pki=pki))
    second = region.start(region.replica("second", pki=pki))

    async def scenario() -> None:
        replicas = await both_live(region, {first.southbound, second.southbound})
        name = next(
            name
            for name in (f"t-{uuid.uuid4().hex[:8]}" for _ in range(1000))
            if owner_address(name, replicas) == second.southbound
        )
        async with project_api(region.api) as api:
            await api.nodes(name)
            host = Host(name, first.southbound, tls=pki.host(name)).start()  # not its owner
            network = await api.network()
            await api.subnet(network, "10.9.0.0/24")
            await api.port(network, name)
            await served_by_owners([host], replicas)  # redirected at its Hello, or moved
            await api.converged(host)
            assert host.agent.status.redirects == 1
            assert snapshots(host, 0) == [host.agent.received[0].revision]  # its first only
            await host.close()

    run(scenario)
