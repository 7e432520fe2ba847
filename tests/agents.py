"""Recording agents on real gRPC, and the API as a project's admin, for tests of the
southbound end to end: what every host should hold is computed from the API's own listings,
independently of the goal-state engine (its own ports; their networks, subnets and the networks
one router away; every endpoint of those networks as a neighbor; the routers; its ports'
security groups, the members of every group their rules name as remote group and every address
group they name), and compared with what the agent holds."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx

from alcor.agent import stream
from alcor.agent.drivers.recording import RecordingDriver
from alcor.v1 import southbound_pb2 as pb
from tests.integration.neutron import underlay_ip
from tests.servers import ServerProcess

WAIT = 15.0  # seconds a host is given to come to what it should hold
# the southbound's safety poll of the change log, far beyond any test: only a wake-up (NOTIFY,
# SQLite's data_version) can bring it another process's commits
NEVER_POLL = ("--change-log-poll", "86400")

# --- agents ----------------------------------------------------------------------------------


def tls_of(controller: ServerProcess, host_id: str) -> stream.ClientTls | None:
    """The host's certificate from the controller's CA (None: a plaintext controller)."""
    return controller.pki.host(host_id) if controller.pki is not None else None


class Recorder(stream.Agent):
    """An agent that also keeps every goal state it was sent."""

    def __init__(self, **arguments: Any) -> None:
        super().__init__(**arguments)
        self.received: list[pb.GoalState] = []

    async def apply_all(self, goals: Sequence[pb.GoalState]) -> pb.AgentMessage:
        self.received.extend(goals)
        return await super().apply_all(goals)


class Host:
    """One host's recording agent on real gRPC, given one controller address or several
    (southbound replicas); ``stop`` and ``start`` again keep its state (as an agent that lost
    its stream); ``move_to`` takes that state to another controller."""

    def __init__(
        self,
        host_id: str,
        address: str | Sequence[str],
        *,
        fail_ports: str = "",
        physical_networks: tuple[str, ...] = (),
        tls: stream.ClientTls | None = None,
    ) -> None:
        self.id = host_id
        self.tls = tls
        self.serves: set[str] = set()  # routers whose gateway the test expects it to serve
        self.settings = stream.Settings(
            host_id=host_id,
            heartbeat_interval=0.5,
            retry_interval=0.2,
            backoff_initial=0.05,
            backoff_max=0.3,
            physical_networks=physical_networks,
        )
        self.driver = RecordingDriver(host_id, fail_ports=fail_ports)
        self._controllers = self._controllers_at(address)
        self.agent = Recorder(
            settings=self.settings, controllers=self._controllers, driver=self.driver
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Host:
        self._task = asyncio.create_task(self.agent.run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def close(self) -> None:
        await self.stop()
        await self._controllers.close()

    async def move_to(self, address: str) -> None:
        state = self.agent.state
        await self.close()
        self._controllers = self._controllers_at(address)
        self.agent = Recorder(
            settings=self.settings, controllers=self._controllers, driver=self.driver
        )
        self.agent.state = state

    def _controllers_at(self, address: str | Sequence[str]) -> stream.Controllers:
        addresses = [address] if isinstance(address, str) else list(address)
        return stream.Controllers(addresses, self.settings, tls=self.tls)

    def held(self) -> set[str]:
        return set(self.agent.state.live())

    def received_since(self, count: int) -> list[pb.GoalState]:
        return self.agent.received[count:]


async def until(check: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# --- the API, and what each host should hold ---------------------------------------------------


class Api:
    """The API as admin of one project of its own."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(self, method: str, path: str, status: int, body: Any = None) -> Any:
        response = await self.client.request(method, path, json=body)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    async def nodes(self, *hosts: str, physical_networks: list[str] | None = None) -> None:
        """The hosts as nodes, before their agents connect or ports are bound to them (these
        agents send no underlay address, so they could not register themselves)."""
        more = {} if physical_networks is None else {"physical_networks": physical_networks}
        body = {
            "nodes": [{"name": host, "underlay_ip": underlay_ip(host), **more} for host in hosts]
        }
        await self.call("POST", "/nodes", 201, body)

    async def network(self) -> str:
        found = await self.call("POST", "/networks", 201, {"network": {"name": "n"}})
        return str(found["network"]["id"])

    async def subnet(self, network_id: str, cidr: str, **more: Any) -> dict[str, Any]:
        body = {"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": 4, **more}}
        found: dict[str, Any] = (await self.call("POST", "/subnets", 201, body))["subnet"]
        return found

    async def port(self, network_id: str, host: str, **more: Any) -> dict[str, Any]:
        body = {"port": {"network_id": network_id, "binding:host_id": host, **more}}
        found: dict[str, Any] = (await self.call("POST", "/ports", 201, body))["port"]
        return found

    async def ports(self, network_id: str, hosts: list[str]) -> list[dict[str, Any]]:
        body = {"ports": [{"network_id": network_id, "binding:host_id": h} for h in hosts]}
        found: list[dict[str, Any]] = (await self.call("POST", "/ports", 201, body))["ports"]
        return found

    async def update(self, collection: str, resource_id: str, **changes: Any) -> dict[str, Any]:
        singular = collection.removesuffix("s").replace("-", "_")
        body = {singular: changes}
        found = await self.call("PUT", f"/{collection}/{resource_id}", 200, body)
        return dict(found[singular])

    async def delete(self, collection: str, resource_id: str) -> None:
        await self.call("DELETE", f"/{collection}/{resource_id}", 204)

    async def listed(self, collection: str, key: str) -> list[dict[str, Any]]:
        project = self.client.headers["x-project-id"]
        found: list[dict[str, Any]] = (
            await self.call("GET", f"/{collection}?project_id={project}", 200)
        )[key]
        return found

    async def until_status(self, port_id: str, wanted: str) -> None:
        deadline = time.monotonic() + WAIT
        while (status := await self.status_of(port_id)) != wanted:
            assert time.monotonic() < deadline, f"port {port_id} is {status}, not {wanted}"
            await asyncio.sleep(0.02)

    async def status_of(self, port_id: str) -> str:
        return str((await self.call("GET", f"/ports/{port_id}", 200))["port"]["status"])

    async def host_report(self, host: str) -> dict[str, Any]:
        found: dict[str, Any] = (await self.call("GET", f"/goalstate/hosts/{host}", 200))["host"]
        return found

    async def should_hold(self, host: str, serves: frozenset[str] = frozenset()) -> set[str]:
        """The keys the host should hold, from the API's listings (see the module docstring),
        ``serves`` naming the routers whose gateway the test knows it serves (with their
        networks and associated floating IPs)."""
        ports = await self.listed("ports", "ports")
        subnets = await self.listed("subnets", "subnets")
        rules = await self.listed("security-group-rules", "security_group_rules")
        routers = {router["id"] for router in await self.listed("routers", "routers")}
        endpoints = [
            p
            for p in ports
            if p["binding:host_id"] and not p["device_owner"].startswith("network:")
        ]
        own = [p for p in endpoints if p["binding:host_id"] == host]
        interfaces = [p for p in ports if p["device_owner"] == "network:router_interface"]
        networks = {p["network_id"] for p in own}
        routed = {i["device_id"] for i in interfaces if i["network_id"] in networks} & routers
        routed |= serves
        networks |= {i["network_id"] for i in interfaces if i["device_id"] in routed}
        floating = [
            f["id"]
            for f in await self.listed("floatingips", "floatingips")
            if f["port_id"] and f["router_id"] in serves
        ]
        groups = {g for p in own if p["port_security_enabled"] for g in p["security_groups"]}
        remote = {
            r["remote_group_id"]
            for r in rules
            if r["security_group_id"] in groups and r["remote_group_id"]
        }
        address_groups = {
            r["remote_address_group_id"]
            for r in rules
            if r["security_group_id"] in groups and r["remote_address_group_id"]
        }
        return {
            *(f"port:{p['id']}" for p in own),
            *(f"network:{n}" for n in networks),
            *(f"subnet:{s['id']}" for s in subnets if s["network_id"] in networks),
            *(f"neighbor:{p['id']}" for p in endpoints if p["network_id"] in networks),
            *(f"router:{r}" for r in routed),
            *(f"security_group:{g}" for g in groups),
            *(f"member:{g}/{p['id']}" for p in ports for g in p["security_groups"] if g in remote),
            *(f"floating_ip:{f}" for f in floating),
            *(f"address_group:{a}" for a in address_groups),
        }

    async def settled(self, hosts: Sequence[Host], *, timeout: float = WAIT) -> None:
        """Every bound port of the project ACTIVE and every host connected with no lag, as this
        API process shows them (from its own board, or the status rows of the others)."""
        names = {host.id for host in hosts}
        deadline = time.monotonic() + timeout
        while True:
            ports = await self.listed("ports", "ports")
            inactive = [p["id"] for p in ports if p["binding:host_id"] and p["status"] != "ACTIVE"]
            reports = (await self.call("GET", "/goalstate/hosts", 200))["hosts"]
            held = [r for r in reports if r["host"] in names]
            lagging = [r["host"] for r in held if not r["connected"] or r["lag"]]
            if not inactive and len(held) == len(names) and not lagging:
                return
            assert time.monotonic() < deadline, (
                f"not ACTIVE: {inactive[:5]}; lagging or away: {lagging[:5]}; "
                f"{len(held)} of {len(names)} hosts reported"
            )
            await asyncio.sleep(0.05)

    async def converged(self, *hosts: Host) -> None:
        """Every host comes to hold exactly what it should."""
        for host in hosts:
            wanted = await self.should_hold(host.id, frozenset(host.serves))
            await until(
                lambda host=host, wanted=wanted: host.held() == wanted,  # type: ignore[misc]
                f"{host.id} to hold {sorted(wanted - host.held())} "
                f"and drop {sorted(host.held() - wanted)}",
            )


async def hosts_follow_writes(api: Api, serving: ServerProcess, *, cidr: str) -> list[Host]:
    """Two hosts on ``serving``'s southbound, and ports coming and going through ``api`` (which
    may be another process's): a port, a bulk across both hosts, a delete. After each step the
    hosts hold exactly what they should; they are left connected, for the caller to close."""
    a, b = (Host(n, serving.southbound, tls=tls_of(serving, n)) for n in names("w", 2))
    await api.nodes(a.id, b.id)
    hosts = [a.start(), b.start()]
    network = await api.network()
    await api.subnet(network, cidr)
    first = await api.port(network, a.id)
    await api.ports(network, [a.id, b.id, b.id])
    await api.converged(*hosts)
    neighbor = b.agent.state.get("neighbor", first["id"])
    assert neighbor is not None
    assert neighbor.neighbor.host_id == a.id
    await api.delete("ports", first["id"])
    await api.converged(*hosts)
    return hosts


@asynccontextmanager
async def project_api(controller: ServerProcess) -> AsyncIterator[Api]:
    headers = {"X-Project-Id": "p-" + uuid.uuid4().hex[:12], "X-Roles": "admin"}
    async with httpx.AsyncClient(
        base_url=controller.url + "/v2.0", headers=headers, timeout=30.0
    ) as client:
        yield Api(client)


def names(prefix: str, count: int) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"{prefix}-{tag}-{i}" for i in range(count)]


def run(scenario: Callable[[], Any]) -> None:
    asyncio.run(scenario())
