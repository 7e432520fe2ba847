"""Several API processes writing to one store at once (a PostgreSQL database, or one SQLite
file): each keeps caches (free addresses, MACs, segment ids, quota counts, a project's default
group) that must follow what the others commit. Requests go to both processes side by side;
nothing may be handed out twice, no quota exceeded, no request refused for a stale cache. The
first process also serves the southbound: what is written through the other reaches the hosts
all the same, woken by the store's signal (its safety poll is set beyond the tests' length)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agents import NEVER_POLL, hosts_follow_writes, project_api, run
from tests.servers import Pki, ServerProcess

PROCESSES = 2


@pytest.fixture(scope="module")
def replicas(
    server_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServerProcess]]:
    url = server_database  # on SQLite every process opens the same file
    folder = Path(tmp_path_factory.mktemp("replicas"))
    started: list[ServerProcess] = []
    try:
        for number in range(PROCESSES):  # one at a time: the first migrates the schema
            # the first also serves the southbound (agents with its CA's certificates)
            pki = Pki(folder / "pki") if number == 0 else None
            southbound = None if number == 0 else "off"
            server = ServerProcess(
                folder / f"api{number}.db",
                *NEVER_POLL,
                db_url=url,
                southbound=southbound,
                pki=pki,
            )
            started.append(server.start())
        yield started
    finally:
        for server in started:
            server.stop()
    for server in started:
        assert "Traceback" not in server.errors_logged(), server.errors_logged()


def clients(replicas: list[ServerProcess], **headers: str) -> list[httpx.Client]:
    return [httpx.Client(base_url=s.url + "/v2.0", timeout=60.0, headers=headers) for s in replicas]


def side_by_side(
    apis: list[httpx.Client], calls: int, send: Callable[[httpx.Client, int], httpx.Response]
) -> list[httpx.Response]:
    """``calls`` requests, alternating between the processes, eight at a time."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda i: send(apis[i % len(apis)], i), range(calls)))


def created(response: httpx.Response, key: str) -> Any:
    assert response.status_code == 201, response.text
    return response.json()[key]


def test_ports_made_through_every_process_share_no_address_or_mac(
    replicas: list[ServerProcess],
) -> None:
    apis = clients(replicas)
    network = created(apis[0].post("/networks", json={"network": {"name": "r"}}), "network")
    created(
        apis[1].post(
            "/subnets",
            json={"subnet": {"network_id": network["id"], "cidr": "10.7.0.0/22", "ip_version": 4}},
        ),
        "subnet",
    )

    def port(api: httpx.Client, i: int) -> httpx.Response:
        if i % 5 == 0:
            bulk = {"ports": [{"network_id": network["id"]} for _ in range(10)]}
            return api.post("/ports", json=bulk)
        return api.post("/ports", json={"port": {"network_id": network["id"]}})

    responses = side_by_side(apis, 200, port)
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses][:3]
    ports = apis[0].get("/ports", params={"network_id": network["id"]}).json()["ports"]
    assert len(ports) == 160 + 40 * 10
    addresses = Counter(ip["ip_address"] for p in ports for ip in p["fixed_ips"])
    macs = Counter(p["mac_address"] for p in ports)
    assert [a for a, n in addresses.items() if n > 1] == []
    assert [m for m, n in macs.items() if n > 1] == []


def test_networks_made_through_every_process_get_distinct_segments(
    replicas: list[ServerProcess],
) -> None:
    apis = clients(replicas)
    responses = side_by_side(
        apis, 60, lambda api, i: api.post("/networks", json={"network": {"name": f"s{i}"}})
    )
    segments = [created(r, "network")["provider:segmentation_id"] for r in responses]
    assert len(set(segments)) == len(segments)


def test_a_projects_quota_holds_across_processes(replicas: list[ServerProcess]) -> None:
    admin = clients(replicas)
    network = created(
        admin[0].post("/networks", json={"network": {"name": "q", "shared": True}}), "network"
    )
    created(
        admin[0].post(
            "/subnets",
            json={"subnet": {"network_id": network["id"], "cidr": "10.8.0.0/24", "ip_version": 4}},
        ),
        "subnet",
    )
    project = "replica-quota"
    limit = admin[1].put(f"/quotas/{project}", json={"quota": {"port": 25}})
    assert limit.status_code == 200, limit.text
    members = clients(replicas, **{"X-Project-Id": project, "X-Roles": "member"})
    # each process counts the project's ports from its cache: the other's creates must show
    responses = side_by_side(
        members,
        60,
        lambda api, i: api.post("/ports", json={"port": {"network_id": network["id"]}}),
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 25, 409: 35}, statuses
    assert {r.json()["NeutronError"]["type"] for r in responses if r.status_code == 409} == {
        "OverQuota"
    }
    groups = members[0].get("/security-groups", params={"name": "default"}).json()
    assert len(groups["security_groups"]) == 1  # one default group, made by one process
    mine = members[1].get("/ports", params={"network_id": network["id"]}).json()["ports"]
    assert len(mine) == 25


def test_a_subnet_deleted_through_one_process_is_gone_for_the_other(
    replicas: list[ServerProcess],
) -> None:
    first, second = clients(replicas)[:2]
    network = created(first.post("/networks", json={"network": {"name": "d"}}), "network")
    body = {"subnet": {"network_id": network["id"], "cidr": "10.6.0.0/24", "ip_version": 4}}
    subnet = created(first.post("/subnets", json=body), "subnet")
    created(second.post("/ports", json={"port": {"network_id": network["id"]}}), "port")
    port = second.get("/ports", params={"network_id": network["id"]}).json()["ports"][0]
    assert second.delete(f"/ports/{port['id']}").status_code == 204
    assert first.delete(f"/subnets/{subnet['id']}").status_code == 204
    # the second process had the subnet cached: its next port must not get an address in it
    bare = created(second.post("/ports", json={"port": {"network_id": network["id"]}}), "port")
    assert bare["fixed_ips"] == []
    again = created(first.post("/subnets", json=body), "subnet")
    renewed = created(second.post("/ports", json={"port": {"network_id": network["id"]}}), "port")
    assert [ip["subnet_id"] for ip in renewed["fixed_ips"]] == [again["id"]]


def test_what_is_written_through_another_process_reaches_the_hosts(
    replicas: list[ServerProcess],
) -> None:
    """The southbound's own process writes nothing here: woken by the store's signal, it must
    read the others' commits from the store's log, and its hosts converge to exactly their goal
    state."""
    serving, writing = replicas[0], replicas[1]

    async def scenario() -> None:
        async with project_api(writing) as api:
            hosts = await hosts_follow_writes(api, serving, cidr="10.5.0.0/24")
            async with project_api(serving) as shown:  # status is the serving process's, for now
                for port in await api.listed("ports", "ports"):
                    await shown.until_status(port["id"], "ACTIVE")
            for host in hosts:
                await host.close()

    run(scenario)


def test_addresses_another_process_frees_are_handed_out_again(
    replicas: list[ServerProcess],
) -> None:
    """A /29 has five addresses to give. What the other process frees by deleting a port comes
    back at once. What it frees by an update that takes no other address (the log shows the
    port after, not before) comes back once the pool is read again: the request that finds the
    pool empty is refused, the next one gets it."""
    first, second = clients(replicas)[:2]
    network = created(first.post("/networks", json={"network": {"name": "f"}}), "network")
    body = {"subnet": {"network_id": network["id"], "cidr": "10.4.0.0/29", "ip_version": 4}}
    created(first.post("/subnets", json=body), "subnet")

    def port(api: httpx.Client) -> httpx.Response:
        return api.post("/ports", json={"port": {"network_id": network["id"]}})

    ports = [created(port(first), "port") for _ in range(5)]
    assert port(first).json()["NeutronError"]["type"] == "IpAddressGenerationFailure"
    assert second.delete(f"/ports/{ports[0]['id']}").status_code == 204
    again = created(port(first), "port")
    assert again["fixed_ips"] == ports[0]["fixed_ips"]
    emptied = second.put(f"/ports/{ports[1]['id']}", json={"port": {"fixed_ips": []}})
    assert emptied.status_code == 200, emptied.text
    refused = port(first)
    assert refused.json()["NeutronError"]["type"] == "IpAddressGenerationFailure", refused.text
    last = created(port(first), "port")
    assert last["fixed_ips"] == ports[1]["fixed_ips"]
    addresses = [
        ip["ip_address"]
        for p in first.get("/ports", params={"network_id": network["id"]}).json()["ports"]
        for ip in p["fixed_ips"]
    ]
    assert len(addresses) == len(set(addresses)) == 5
