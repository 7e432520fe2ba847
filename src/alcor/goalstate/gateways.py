"""Gateway placement: which host serves each router's external gateway.

A router's external gateway on a flat network is served by one host: of the up nodes that map
the network's physical network, the one that ranks first for the router (rendezvous hashing: a
node that comes or goes moves only the routers it wins or held, and every process ranks the
same). That host holds the router, its floating IPs and every network of the router, whether or
not it has ports there: its subscriptions for a router are held by a *gateway holder*
(``holder``) as its own ports hold theirs.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from alcor.goalstate.topics import Topic
from alcor.model import records

_GATEWAY = "gateway:"


def holder(router_id: str) -> str:
    """The holder of the subscriptions a host keeps for serving the router's gateway."""
    return _GATEWAY + router_id


def served_by(holder_id: str) -> str:
    """The router a gateway holder serves, or '' when the holder is an own port."""
    return holder_id.removeprefix(_GATEWAY) if holder_id.startswith(_GATEWAY) else ""


def rank(router_id: str, host: str) -> bytes:
    """A host's rank for serving a router's gateway (the same in every process)."""
    return hashlib.blake2b(f"{router_id}/{host}".encode(), digest_size=8).digest()


def serving(node: records.Node) -> frozenset[str]:
    """The physical networks a node can serve gateways on now."""
    if node.state != "up" or not node.admin_state_up:
        return frozenset()
    return frozenset(node.physical_networks)


def topics(router_id: str, networks: Iterable[str]) -> frozenset[Topic]:
    """What the host serving a router's gateway holds for it: the router, its floating IPs
    and the router's ``networks``."""
    held: set[Topic] = {("router", router_id), ("gateway", router_id)}
    held.update(("network", network_id) for network_id in networks)
    return frozenset(held)


class Gateways:
    """The nodes that can serve gateways, by physical network, and where each gateway is."""

    def __init__(self) -> None:
        self.physnet_hosts: defaultdict[str, set[str]] = defaultdict(set)  # serving now
        self.node_serves: dict[str, frozenset[str]] = {}  # host -> its physical networks
        self.hosts: dict[str, str] = {}  # router -> the host serving its gateway
        self.hosted: defaultdict[str, set[str]] = defaultdict(set)  # host -> those routers

    def choose(self, router_id: str, network: records.Network | None) -> str:
        """The host to serve the gateway of a router on the external ``network``: '' when it
        has none (or the router is gone), or it is not flat, or no up node maps its physical
        network."""
        if network is None or network.network_type != "flat" or not network.physical_network:
            return ""
        candidates = self.physnet_hosts.get(network.physical_network, ())
        return max(candidates, key=lambda host: rank(router_id, host), default="")

    def place(self, router_id: str, host: str) -> str:
        """Serve the router's gateway on ``host`` ('' for none); the host that served it."""
        old = self.hosts.get(router_id, "")
        if old == host:
            return old
        if old:
            self.hosted[old].discard(router_id)
            del self.hosts[router_id]
        if host:
            self.hosted[host].add(router_id)
            self.hosts[router_id] = host
        return old

    def set_serving(self, host: str, physnets: frozenset[str]) -> frozenset[str]:
        """A node's gateway duty (the physical networks it serves now); the physical networks
        whose gateways must be placed again."""
        old = self.node_serves.pop(host, frozenset())
        if physnets:
            self.node_serves[host] = physnets
        for physnet in old - physnets:
            self.physnet_hosts[physnet].discard(host)
        for physnet in physnets - old:
            self.physnet_hosts[physnet].add(host)
        return old ^ physnets
