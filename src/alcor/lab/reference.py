"""The reference topology of Alcor's end-to-end tests, made through the API: one VPC of two
subnets joined by a router, a security group, and two endpoints per subnet, one of each subnet on
each of two hosts (``a1``/``b1`` on the first host, ``a2``/``b2`` on the second)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alcor.lab import hosts, neutron, traffic

CIDRS = ("10.0.1.0/24", "10.0.2.0/24")
ICMP_IN = ({"protocol": "icmp"},)  # ingress ICMP; the group's default rules let all out


@dataclass(frozen=True)
class Endpoint:
    name: str
    ip: str
    port_id: str
    host: hosts.Host
    netns: str


@dataclass(frozen=True)
class Vpc:
    networks: tuple[str, str]
    subnets: tuple[str, str]
    router: str
    group: str
    endpoints: tuple[Endpoint, ...]

    def ping_all(self, *, wait: float = 1.0) -> dict[tuple[str, str], bool]:
        """(from name, to name) -> answered, for every ordered pair of endpoints."""
        pairs = [(src, dst) for src in self.endpoints for dst in self.endpoints if src != dst]
        answered = traffic.pings([(src.netns, dst.ip) for src, dst in pairs], wait=wait)
        return {(src.name, dst.name): answered[(src.netns, dst.ip)] for src, dst in pairs}


def build(
    api: neutron.Neutron,
    first: hosts.Host,
    second: hosts.Host,
    *,
    name: str,
    cidrs: tuple[str, str] = CIDRS,
    rules: tuple[dict[str, Any], ...] = ICMP_IN,
    project: str = "",
) -> Vpc:
    """The topology, its resources named after ``name``, each port ACTIVE."""
    networks = (
        api.network(name=f"{name}-net-a", project=project),
        api.network(name=f"{name}-net-b", project=project),
    )
    subnets = (
        api.subnet(networks[0], cidrs[0], name=f"{name}-subnet-a", project=project),
        api.subnet(networks[1], cidrs[1], name=f"{name}-subnet-b", project=project),
    )
    router = api.router(*subnets, name=f"{name}-router", project=project)
    group = api.group(*rules, name=f"{name}-sg", project=project)
    endpoints = []
    for label, index, last, host in (
        ("a1", 0, 11, first),
        ("a2", 0, 12, second),
        ("b1", 1, 11, first),
        ("b2", 1, 12, second),
    ):
        ip = f"{cidrs[index].rsplit('.', 1)[0]}.{last}"
        port_id = api.port(
            subnets[index], ip, host.id, groups=[group], project=project, name=f"{name}-{label}"
        )
        endpoints.append(Endpoint(label, ip, port_id, host, host.endpoint(port_id)))
    return Vpc(networks, subnets, router, group, tuple(endpoints))
