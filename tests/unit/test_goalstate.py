"""The goal-state engine: which hosts hear of a change, how much, and that what they hold always
equals what they should hold, however the deltas arrive (in order, replayed, reordered, or as a
resume from any earlier revision)."""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest

from alcor.agent.state import HostState
from alcor.goalstate import checkpoints
from alcor.goalstate.engine import Engine
from alcor.model import quotas, records
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

NOW = "2026-11-30T00:00:00Z"


class World:
    """Drives an engine with records as the store would log them, and keeps every host's state
    as an agent applying each delta in order would."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.revision = 0
        self.records: dict[str, records.Record] = {}
        self.log: list[tuple[int, dict[str, list[pb.Entry]]]] = []
        self.changes: list[tuple[int, str, str, records.Record]] = []  # the change log
        self.hosts: dict[str, HostState] = {}
        self.spoofed: set[str] = set()  # ports that name a router without being in its records

    def _emit(self, record: records.Record, operation: str) -> dict[str, list[pb.Entry]]:
        self.revision += 1
        self.changes.append((self.revision, record.kind, operation, record))
        deltas = self.engine.apply(self.revision, operation, record)
        self.log.append((self.revision, deltas))
        for host, entries in deltas.items():
            state = self.hosts.setdefault(host, HostState())
            state.apply(pb.GoalState(revision=self.revision, entries=entries))
        return deltas

    def put(self, record: records.Record) -> dict[str, list[pb.Entry]]:
        operation = "update" if record.id in self.records else "create"
        self.records[record.id] = record
        return self._emit(record, operation)

    def delete(self, record_id: str) -> dict[str, list[pb.Entry]]:
        return self._emit(self.records.pop(record_id), "delete")

    def change(self, record_id: str, **changes: Any) -> dict[str, list[pb.Entry]]:
        return self.put(msgspec.structs.replace(self.records[record_id], **changes))

    # --- resources ---------------------------------------------------------------------------

    def network(self, name: str, vni: int) -> str:
        self.put(
            records.Network(
                id=name, project_id="p", created_at=NOW, updated_at=NOW, segmentation_id=vni
            )
        )
        return name

    def subnet(self, name: str, network: str, cidr: str) -> str:
        self.put(
            records.Subnet(
                id=name,
                project_id="p",
                created_at=NOW,
                updated_at=NOW,
                network_id=network,
                ip_version=4,
                cidr=cidr,
                gateway_ip=cidr.rsplit(".", 1)[0] + ".1",
            )
        )
        return name

    def port(
        self,
        name: str,
        network: str,
        host: str,
        ip: str,
        *,
        groups: tuple[str, ...] = (),
        owner: str = "compute:nova",
        device: str = "",
        subnet: str = "",
        member: bool = True,
    ) -> dict[str, list[pb.Entry]]:
        """A port; one whose owner is a router's interface or gateway is the router's (as the
        router manager makes it) unless ``member`` is False: then it only names the router in
        its device fields, as any project may write them."""
        routed = member and owner in (records.ROUTER_INTERFACE, records.ROUTER_GATEWAY)
        if not member:
            self.spoofed.add(name)
        return self.put(
            records.Port(
                id=name,
                project_id="p",
                created_at=NOW,
                updated_at=NOW,
                network_id=network,
                mac_address=f"fa:16:3e:00:00:{len(self.records) % 256:02x}",
                fixed_ips=[records.FixedIp(subnet_id=subnet or network + "-s", ip_address=ip)],
                security_groups=list(groups),
                binding_host_id=host,
                device_owner=owner,
                device_id=device,
                router_id=device if routed else "",
                router_port_type=owner if routed else "",
            )
        )

    def router(self, name: str) -> str:
        self.put(records.Router(id=name, project_id="p", created_at=NOW, updated_at=NOW))
        return name

    def node(self, name: str, *, up: bool = True, physnets: tuple[str, ...] = ()) -> str:
        """A node (its id is its name) with underlay address 192.0.2.<n>."""
        self.put(
            records.Node(
                id=name,
                project_id="",
                name=name,
                created_at=NOW,
                updated_at=NOW,
                underlay_ip=f"192.0.2.{sum(map(ord, name)) % 250 + 1}",
                state="up" if up else "down",
                physical_networks=list(physnets),
            )
        )
        return name

    def external(self, name: str, physnet: str = "public", cidr: str = "203.0.113.0/24") -> str:
        """A flat external network with one subnet ``<name>-s``."""
        self.put(
            records.Network(
                id=name,
                project_id="admin",
                created_at=NOW,
                updated_at=NOW,
                router_external=True,
                network_type="flat",
                physical_network=physnet,
                mtu=1500,
            )
        )
        self.subnet(name + "-s", name, cidr)
        return name

    def gateway(self, router: str, network: str, ip: str) -> str:
        """The router's gateway port on an external network."""
        name = f"gw-{router}"
        self.port(name, network, "", ip, owner="network:router_gateway", device=router)
        return name

    def floating_ip(
        self, name: str, address: str, *, port: str | None = None, router: str | None = None
    ) -> dict[str, list[pb.Entry]]:
        fixed = None
        if port is not None:
            held = self.records[port]
            assert isinstance(held, records.Port)
            fixed = held.fixed_ips[0].ip_address
        return self.put(
            records.FloatingIp(
                id=name,
                project_id="p",
                created_at=NOW,
                updated_at=NOW,
                floating_network_id="ext",
                floating_ip_address=address,
                floating_port_id=f"fport-{name}",
                port_id=port,
                fixed_ip_address=fixed,
                router_id=router if port is not None else None,
            )
        )

    def group(self, name: str) -> str:
        self.put(records.SecurityGroup(id=name, project_id="p", created_at=NOW, updated_at=NOW))
        return name

    def address_group(self, name: str, *addresses: str) -> dict[str, list[pb.Entry]]:
        return self.put(
            records.AddressGroup(
                id=name,
                project_id="p",
                created_at=NOW,
                updated_at=NOW,
                addresses=list(addresses),
            )
        )

    def rule(
        self,
        name: str,
        group: str,
        *,
        remote_group: str | None = None,
        remote_address_group: str | None = None,
    ) -> dict[str, list[pb.Entry]]:
        return self.put(
            records.SecurityGroupRule(
                id=name,
                project_id="p",
                created_at=NOW,
                updated_at=NOW,
                security_group_id=group,
                direction="ingress",
                ethertype="IPv4",
                protocol="tcp",
                port_range_min=22,
                port_range_max=22,
                remote_group_id=remote_group,
                remote_address_group_id=remote_address_group,
            )
        )

    # --- what hosts hold ---------------------------------------------------------------------

    def held(self, host: str) -> dict[str, pb.Entry]:
        return self.hosts[host].live() if host in self.hosts else {}

    def should_hold(self, host: str) -> dict[str, pb.Entry]:
        return {keys.entry_key(entry): entry for entry in self.engine.snapshot(host)}


def contents(entries: dict[str, pb.Entry]) -> dict[str, bytes]:
    """Entries compared by what they hold, not by the revision they carry."""
    return {
        key: getattr(entry, entry.WhichOneof("resource") or "").SerializeToString(
            deterministic=True
        )
        for key, entry in entries.items()
    }


def assert_converged(world: World) -> None:
    for host in set(world.hosts) | set(world.engine.hosts()):
        assert contents(world.held(host)) == contents(world.should_hold(host)), host


def keys_of(entries: list[pb.Entry]) -> set[str]:
    return {keys.entry_key(entry) for entry in entries}


def vpc(world: World, hosts: int, ports_per_host: int, network: str = "n1") -> None:
    world.network(network, vni=100)
    world.subnet(network + "-s", network, "10.1.0.0/16")
    for h in range(hosts):
        for i in range(ports_per_host):
            world.port(f"{network}-h{h}-p{i}", network, f"h{h}", f"10.1.{h}.{i + 10}")


# --- who hears what ----------------------------------------------------------------------------


def test_a_hosts_first_port_brings_its_network_subnets_and_every_neighbor() -> None:
    world = World()
    vpc(world, hosts=3, ports_per_host=2)
    deltas = world.port("new", "n1", "h9", "10.1.9.9")
    assert keys_of(deltas["h9"]) == {
        "port:new",
        "network:n1",
        "subnet:n1-s",
        *(f"neighbor:n1-h{h}-p{i}" for h in range(3) for i in range(2)),
        "neighbor:new",
    }
    neighbor = world.hosts["h9"].get("neighbor", "n1-h1-p0")
    assert neighbor is not None
    assert (neighbor.neighbor.host_id, list(neighbor.neighbor.ip_addresses)) == (
        "h1",
        ["10.1.1.10"],
    )
    assert neighbor.neighbor.segmentation_id == 100
    assert_converged(world)


def test_a_port_create_costs_one_entry_per_other_host_whatever_the_vpc_size() -> None:
    world = World()
    vpc(world, hosts=20, ports_per_host=50)
    deltas = world.port("new", "n1", "h3", "10.1.3.200")
    others = {host: entries for host, entries in deltas.items() if host != "h3"}
    assert set(others) == {f"h{h}" for h in range(20)} - {"h3"}
    assert all(keys_of(entries) == {"neighbor:new"} for entries in others.values())
    assert keys_of(deltas["h3"]) == {"port:new", "neighbor:new"}


def test_hosts_without_ports_on_the_network_hear_nothing() -> None:
    world = World()
    vpc(world, hosts=2, ports_per_host=1, network="n1")
    vpc(world, hosts=0, ports_per_host=0, network="n2")
    world.port("other", "n2", "h7", "10.2.0.5", subnet="n2-s")
    deltas = world.port("new", "n1", "h0", "10.1.0.99")
    assert set(deltas) == {"h0", "h1"}


def test_port_delete_removes_its_neighbor_everywhere_and_the_port_from_its_host() -> None:
    world = World()
    vpc(world, hosts=4, ports_per_host=2)
    deltas = world.delete("n1-h2-p0")
    assert {
        host for host, entries in deltas.items() if "neighbor:n1-h2-p0" in keys_of(entries)
    } == {"h0", "h1", "h2", "h3"}
    assert all(
        e.WhichOneof("resource") == "removal" for entries in deltas.values() for e in entries
    )
    assert "port:n1-h2-p0" in keys_of(deltas["h2"])
    for host in ("h0", "h1", "h2", "h3"):
        assert world.hosts[host].get("neighbor", "n1-h2-p0") is None
    assert_converged(world)


def test_a_hosts_last_port_leaving_drops_the_network_from_it() -> None:
    world = World()
    vpc(world, hosts=2, ports_per_host=1)
    world.delete("n1-h1-p0")
    assert world.held("h1") == {}
    assert "h1" not in world.engine.hosts()
    assert world.engine.topics_of("h0") == {("network", "n1")}


def test_a_port_moving_hosts_moves_its_endpoint_and_updates_its_neighbor() -> None:
    world = World()
    vpc(world, hosts=3, ports_per_host=1)
    deltas = world.change("n1-h0-p0", binding_host_id="h2")
    assert world.hosts["h0"].get("port", "n1-h0-p0") is None
    assert world.hosts["h2"].get("port", "n1-h0-p0") is not None
    moved = world.hosts["h1"].get("neighbor", "n1-h0-p0")
    assert moved is not None
    assert moved.neighbor.host_id == "h2"
    assert keys_of(deltas["h1"]) == {"neighbor:n1-h0-p0"}
    assert_converged(world)


def test_a_ports_dns_name_reaches_every_host_of_its_network_in_its_neighbor() -> None:
    """Internal DNS: the network entry carries the controller's domain, a port's neighbor its
    name relative to it; a rename is one neighbor entry per host of the network."""
    world = World()
    world.engine = Engine(dns_domain="example.org.")
    vpc(world, hosts=3, ports_per_host=1)
    network = world.hosts["h1"].get("network", "n1")
    assert network is not None
    assert network.network.dns_domain == "example.org."
    deltas = world.change("n1-h0-p0", dns_name="web.example.org.")
    assert set(deltas) == {"h0", "h1", "h2"}
    assert all(keys_of(entries) == {"neighbor:n1-h0-p0"} for entries in deltas.values())
    for host in ("h0", "h1", "h2"):
        named = world.hosts[host].get("neighbor", "n1-h0-p0")
        assert named is not None
        assert named.neighbor.dns_name == "web"
    world.change("n1-h0-p0", dns_name="")
    unnamed = world.hosts["h2"].get("neighbor", "n1-h0-p0")
    assert unnamed is not None
    assert unnamed.neighbor.dns_name == ""
    assert_converged(world)


def pairs_of(world: World, host: str, port: str) -> list[tuple[str, str]]:
    held = world.hosts[host].get("neighbor", port)
    assert held is not None
    return [(p.ip_address, p.mac_address) for p in held.neighbor.allowed_address_pairs]


def test_a_ports_address_pairs_reach_every_host_of_its_network_as_candidates() -> None:
    """Virtual IPs across hosts: a port's allowed address pairs ride in its neighbor entry, so
    every host of the network (and of networks one router hop away) learns which ports may
    hold each VIP, and with which MAC (the port's own when the pair names none)."""
    world = World()
    two_subnets_one_router(world)
    mac0 = world.records["n1-h0-p0"].mac_address  # type: ignore[union-attr]
    vip = records.AddressPair(ip_address="10.1.9.9", mac_address=mac0)
    deltas = world.change("n1-h0-p0", allowed_address_pairs=[vip])
    assert set(deltas) == {"h0", "h1", "h5"}  # h5 routes to n1 through r1
    assert keys_of(deltas["h0"]) == {"port:n1-h0-p0", "neighbor:n1-h0-p0"}
    assert keys_of(deltas["h1"]) == keys_of(deltas["h5"]) == {"neighbor:n1-h0-p0"}
    world.change(
        "n1-h1-p0",
        allowed_address_pairs=[
            records.AddressPair(ip_address="10.1.9.9", mac_address="fa:16:3e:aa:bb:cc"),
            records.AddressPair(ip_address="10.1.8.0/28", mac_address=""),
        ],
    )
    mac1 = world.records["n1-h1-p0"].mac_address  # type: ignore[union-attr]
    for host in ("h0", "h1", "h5"):
        assert pairs_of(world, host, "n1-h0-p0") == [("10.1.9.9", mac0)]
        assert pairs_of(world, host, "n1-h1-p0") == [
            ("10.1.9.9", "fa:16:3e:aa:bb:cc"),
            ("10.1.8.0/28", mac1),
        ]
        neighbor = world.hosts[host].get("neighbor", "n1-h1-p0")
        assert neighbor is not None
        assert list(neighbor.neighbor.ip_addresses) == ["10.1.1.10"]  # pairs are not fixed IPs
    assert pairs_of(world, "h0", "n1-h0-p1") == []
    world.change("n1-h0-p0", allowed_address_pairs=[])
    assert pairs_of(world, "h5", "n1-h0-p0") == []
    assert_converged(world)


def test_a_change_nobody_holds_reaches_nobody() -> None:
    world = World()
    vpc(world, hosts=3, ports_per_host=1)
    assert world.change("n1-h0-p0", name="renamed", description="only the API shows this") == {}


def test_router_ports_are_not_endpoints_and_unbound_ports_are_nobodys() -> None:
    world = World()
    vpc(world, hosts=1, ports_per_host=1)
    assert world.port("unbound", "n1", "", "10.1.0.50") == {}
    world.router("r1")
    deltas = world.port(
        "r1-if", "n1", "", "10.1.0.1", owner="network:router_interface", device="r1"
    )
    assert "neighbor:r1-if" not in {k for entries in deltas.values() for k in keys_of(entries)}


# --- routers -----------------------------------------------------------------------------------


def two_subnets_one_router(world: World) -> None:
    vpc(world, hosts=2, ports_per_host=2, network="n1")
    world.network("n2", vni=200)
    world.subnet("n2-s", "n2", "10.2.0.0/16")
    world.port("n2-h5-p0", "n2", "h5", "10.2.5.10", subnet="n2-s")
    world.router("r1")
    world.port("r1-if1", "n1", "", "10.1.0.1", owner="network:router_interface", device="r1")
    world.port(
        "r1-if2", "n2", "", "10.2.0.1", owner="network:router_interface", device="r1", subnet="n2-s"
    )


def test_a_router_interface_gives_each_side_the_other_sides_neighbors() -> None:
    world = World()
    two_subnets_one_router(world)
    assert world.engine.topics_of("h0") == {("network", "n1"), ("network", "n2"), ("router", "r1")}
    assert world.hosts["h0"].get("neighbor", "n2-h5-p0") is not None
    assert world.hosts["h5"].get("neighbor", "n1-h1-p1") is not None
    router = world.hosts["h5"].get("router", "r1")
    assert router is not None
    assert sorted(
        (i.subnet_id, i.ip_address, i.prefix_length) for i in router.router.interfaces
    ) == [("n1-s", "10.1.0.1", 16), ("n2-s", "10.2.0.1", 16)]
    assert_converged(world)


def test_a_new_port_across_the_router_costs_one_entry_per_host() -> None:
    world = World()
    two_subnets_one_router(world)
    deltas = world.port("n2-h5-p1", "n2", "h5", "10.2.5.11", subnet="n2-s")
    assert keys_of(deltas["h0"]) == keys_of(deltas["h1"]) == {"neighbor:n2-h5-p1"}


def test_removing_the_interface_takes_the_other_network_away() -> None:
    world = World()
    two_subnets_one_router(world)
    world.delete("r1-if2")
    assert world.engine.topics_of("h0") == {("network", "n1"), ("router", "r1")}
    assert world.hosts["h0"].get("neighbor", "n2-h5-p0") is None
    assert world.hosts["h5"].get("router", "r1") is None
    assert world.hosts["h5"].get("neighbor", "n1-h0-p0") is None
    assert_converged(world)


# --- gateways and floating IPs -----------------------------------------------------------------


def gatewayed(world: World, *nodes: str) -> None:
    """Two subnets joined by router r1 with a gateway on the flat external network "ext"
    (physical network "public"), and nodes that map "public"."""
    for node in nodes:
        world.node(node, physnets=("public",))
    two_subnets_one_router(world)
    world.external("ext")
    world.gateway("r1", "ext", "203.0.113.10")


def gateway_host(world: World, router: str = "r1") -> str:
    """The gateway host every holder of the router is told of (checked to agree)."""
    told = set()
    for host in world.hosts:
        entry = world.hosts[host].get("router", router)
        if entry is not None:
            told.add((entry.router.gateway_host_id, entry.router.gateway_host_ip))
    assert len(told) == 1, told
    return told.pop()[0]


def test_a_gateway_is_served_by_an_up_node_mapping_its_physical_network() -> None:
    world = World()
    world.node("g-down", up=False, physnets=("public",))
    world.node("g-other", physnets=("elsewhere",))
    gatewayed(world, "g1")
    assert gateway_host(world) == "g1"
    router = world.hosts["h0"].get("router", "r1")
    assert router is not None
    assert router.router.gateway_host_ip == world.engine.intent.host_ips["g1"]
    gateway = router.router.gateway
    assert (gateway.network_type, gateway.physical_network, gateway.mtu) == ("flat", "public", 1500)
    assert [(a.ip_address, a.prefix_length, a.gateway_ip) for a in gateway.addresses] == [
        ("203.0.113.10", 24, "203.0.113.1")
    ]
    # the gateway host holds the router and every network behind it, though it has no port
    assert world.engine.topics_of("g1") == {
        ("router", "r1"),
        ("gateway", "r1"),
        ("network", "n1"),
        ("network", "n2"),
    }
    assert world.hosts["g1"].get("neighbor", "n2-h5-p0") is not None
    assert world.hosts["g1"].get("port", "n1-h0-p0") is None
    assert_converged(world)


def test_a_port_that_only_names_a_router_changes_no_hosts_goal_state() -> None:
    """Issue 10's attack on the engine: another project's ports whose device_owner and
    device_id say "interface of r1" (on its own network, bound or not) and "gateway of r1" are
    in no record of r1. No host hears of them, made, changed or deleted: r1 keeps its
    interfaces and gateway, and the other network's host gets nothing of r1's."""
    world = World()
    gatewayed(world, "g1")
    world.network("nb", vni=300)
    world.subnet("nb-s", "nb", "10.9.0.0/16")
    world.port("nb-h7-p0", "nb", "h7", "10.9.7.10", subnet="nb-s")
    before = {host: contents(world.should_hold(host)) for host in world.engine.known_hosts()}
    spoofs = {
        "spoof-if": ("nb", "", "10.9.0.1", "network:router_interface"),
        "spoof-bound-if": ("nb", "h7", "10.9.0.2", "network:router_interface"),
        "spoof-gw": ("ext", "", "203.0.113.66", "network:router_gateway"),
    }
    for name, (network, host, ip, owner) in spoofs.items():
        deltas = world.port(
            name, network, host, ip, owner=owner, device="r1", subnet=network + "-s", member=False
        )
        assert deltas == {}, name
    assert world.change("spoof-if", fixed_ips=[records.FixedIp("nb-s", "10.9.0.3")]) == {}
    assert world.change("spoof-gw", device_id="r1", network_id="nb") == {}
    for name in spoofs:
        assert world.delete(name) == {}, name
    assert {h: contents(world.should_hold(h)) for h in world.engine.known_hosts()} == before
    assert world.hosts["h7"].get("router", "r1") is None
    router = world.hosts["h0"].get("router", "r1")
    assert router is not None
    assert router.router.gateway.port_id == "gw-r1"
    assert {i.port_id for i in router.router.interfaces} == {"r1-if1", "r1-if2"}
    assert_converged(world)


def test_a_gateway_moves_when_its_host_goes_down_and_the_old_host_lets_go() -> None:
    world = World()
    gatewayed(world, "g1", "g2", "g3")
    first = gateway_host(world)
    world.change(first, state="down")
    second = gateway_host(world)
    assert second not in ("", first)
    assert world.engine.topics_of(first) == set()
    assert world.hosts[first].get("router", "r1") is None
    assert world.hosts[first].get("neighbor", "n1-h0-p0") is None
    assert world.hosts[second].get("router", "r1") is not None
    # coming back up, it ranks first for the router again: the gateway returns to it
    world.change(first, state="up")
    assert gateway_host(world) == first
    assert world.engine.topics_of(second) == set()
    assert_converged(world)


def test_nodes_that_do_not_rank_first_move_no_gateway() -> None:
    world = World()
    gatewayed(world, "g1", "g2")
    first = gateway_host(world)
    other = "g2" if first == "g1" else "g1"
    deltas = world.change(other, state="down")
    assert gateway_host(world) == first
    assert deltas == {}


def test_a_gateway_on_a_vxlan_network_or_without_a_mapping_node_has_no_host() -> None:
    world = World()
    two_subnets_one_router(world)
    world.network("tenant-ext", vni=999)
    world.gateway("r1", "tenant-ext", "10.9.0.5")
    assert gateway_host(world) == ""
    world.delete("gw-r1")
    world.external("ext", physnet="nowhere")
    world.gateway("r1", "ext", "203.0.113.10")
    assert gateway_host(world) == ""
    world.node("g1", physnets=("nowhere",))
    assert gateway_host(world) == "g1"
    assert_converged(world)


def test_a_gateway_host_follows_interfaces_added_and_removed() -> None:
    world = World()
    gatewayed(world, "g1")
    world.delete("r1-if2")
    assert world.engine.topics_of("g1") == {("router", "r1"), ("gateway", "r1"), ("network", "n1")}
    assert world.hosts["g1"].get("neighbor", "n2-h5-p0") is None
    world.delete("gw-r1")
    assert world.engine.topics_of("g1") == set()
    assert gateway_host(world) == ""
    assert_converged(world)


def test_floating_ips_reach_only_the_gateway_host_of_their_router() -> None:
    world = World()
    gatewayed(world, "g1")
    deltas = world.floating_ip("f1", "203.0.113.20", port="n2-h5-p0", router="r1")
    assert {host: keys_of(entries) for host, entries in deltas.items()} == {
        "g1": {"floating_ip:f1"}
    }
    held = world.hosts["g1"].get("floating_ip", "f1")
    assert held is not None
    assert (held.floating_ip.floating_ip_address, held.floating_ip.fixed_ip_address) == (
        "203.0.113.20",
        "10.2.5.10",
    )
    world.floating_ip("f2", "203.0.113.21")  # not associated: nobody holds it
    assert world.hosts["g1"].get("floating_ip", "f2") is None
    deltas = world.floating_ip("f1", "203.0.113.20")  # disassociated
    assert world.hosts["g1"].get("floating_ip", "f1") is None
    world.floating_ip("f1", "203.0.113.20", port="n1-h0-p0", router="r1")
    world.change("g1", state="down")
    world.node("g2", physnets=("public",))
    assert world.hosts["g2"].get("floating_ip", "f1") is not None
    assert_converged(world)


# --- security groups ---------------------------------------------------------------------------


def test_remote_group_members_reach_the_hosts_whose_rules_name_the_group() -> None:
    world = World()
    vpc(world, hosts=0, ports_per_host=0)
    world.group("web")
    world.group("db")
    world.rule("db-from-web", "db", remote_group="web")
    world.port("db1", "n1", "h1", "10.1.1.5", groups=("db",))
    world.port("web1", "n1", "h2", "10.1.2.5", groups=("web",))
    assert world.hosts["h1"].get("member", "web/web1") is not None  # h1 enforces db's rule
    assert world.hosts["h2"].get("member", "web/web1") is None  # no rule on h2 names web
    deltas = world.port("web2", "n1", "h3", "10.1.3.5", groups=("web",))
    assert "member:web/web2" in keys_of(deltas["h1"])
    world.change("web2", security_groups=[])
    assert world.hosts["h1"].get("member", "web/web2") is None
    assert_converged(world)


def test_a_rule_naming_a_remote_group_subscribes_its_holders_and_removing_it_unsubscribes() -> None:
    world = World()
    vpc(world, hosts=0, ports_per_host=0)
    world.group("web")
    world.group("db")
    world.port("db1", "n1", "h1", "10.1.1.5", groups=("db",))
    world.port("web1", "n1", "h2", "10.1.2.5", groups=("web",))
    deltas = world.rule("db-from-web", "db", remote_group="web")
    assert keys_of(deltas["h1"]) == {"security_group:db", "member:web/web1"}
    assert "h2" not in deltas
    group = world.hosts["h1"].get("security_group", "db")
    assert group is not None
    assert [
        (r.protocol, r.port_range_min, r.remote_group_id) for r in group.security_group.rules
    ] == [("tcp", 22, "web")]
    world.delete("db-from-web")
    assert world.hosts["h1"].get("member", "web/web1") is None
    assert_converged(world)


def test_an_address_group_reaches_the_hosts_whose_rules_name_it_and_follows_its_changes() -> None:
    world = World()
    vpc(world, hosts=0, ports_per_host=0)
    world.group("db")
    world.group("web")
    world.address_group("office", "192.0.2.0/24")
    world.port("db1", "n1", "h1", "10.1.1.5", groups=("db",))
    world.port("web1", "n1", "h2", "10.1.2.5", groups=("web",))
    deltas = world.rule("db-from-office", "db", remote_address_group="office")
    assert keys_of(deltas["h1"]) == {"security_group:db", "address_group:office"}
    assert "h2" not in deltas  # no rule on h2 names it
    group = world.hosts["h1"].get("security_group", "db")
    assert group is not None
    assert [r.remote_address_group_id for r in group.security_group.rules] == ["office"]
    deltas = world.change("office", addresses=["192.0.2.0/24", "198.51.100.7/32"])
    assert set(deltas) == {"h1"}
    held = world.hosts["h1"].get("address_group", "office")
    assert held is not None
    assert list(held.address_group.addresses) == ["192.0.2.0/24", "198.51.100.7/32"]
    world.delete("db-from-office")
    assert world.hosts["h1"].get("address_group", "office") is None
    assert_converged(world)


def test_rules_of_icmp_type_zero_keep_their_zero() -> None:
    world = World()
    world.group("g")
    world.put(
        records.SecurityGroupRule(
            id="echo-reply",
            project_id="p",
            created_at=NOW,
            updated_at=NOW,
            security_group_id="g",
            direction="ingress",
            ethertype="IPv4",
            protocol="icmp",
            port_range_min=0,
            port_range_max=0,
        )
    )
    vpc(world, hosts=0, ports_per_host=0)
    world.port("p", "n1", "h1", "10.1.1.5", groups=("g",))
    entry = world.hosts["h1"].get("security_group", "g")
    assert entry is not None
    rule = entry.security_group.rules[0]
    assert rule.HasField("port_range_min")
    assert rule.port_range_min == 0


# --- convergence however deltas arrive ---------------------------------------------------------


def random_world(seed: int, steps: int = 160) -> World:
    """Random intent over a small world: ports appear, move, change groups and vanish; routers
    join and leave networks; rules name remote groups or an address group (whose addresses
    change) and are dropped; the router's gateway comes and goes, its hosts go down and up,
    floating IPs are associated and not; ports that only name the router as their device (in
    none of its records) come and go."""
    rng = random.Random(seed)
    world = World()
    for n in range(3):
        world.network(f"n{n}", vni=100 + n)
        world.subnet(f"n{n}-s", f"n{n}", f"10.{n}.0.0/16")
    for g in ("a", "b", "c"):
        world.group(g)
    world.address_group("ag", "192.0.2.0/24")
    world.router("r")
    world.external("ext")
    for g in ("g0", "g1", "g2"):
        world.node(g, physnets=("public",))
    ports: list[str] = []
    interfaces: dict[str, str] = {}
    spoofs: list[str] = []
    rules: list[str] = []
    for step in range(steps):
        action = rng.random()
        if action < 0.06:
            if "gw-r" in world.records:
                world.delete("gw-r")
            else:
                world.gateway("r", "ext", "203.0.113.10")
        elif action < 0.1:
            node = world.records[f"g{rng.randrange(3)}"]
            assert isinstance(node, records.Node)
            world.change(node.id, state="down" if node.state == "up" else "up")
        elif action < 0.14 and ports:
            world.floating_ip(
                f"f{rng.randrange(3)}",
                f"203.0.113.{rng.randrange(20, 23)}",
                port=rng.choice([None, *ports]),
                router="r",
            )
        elif action < 0.35 or not ports:
            n = rng.randrange(3)
            name = f"p{step}"
            world.port(
                name,
                f"n{n}",
                f"h{rng.randrange(5)}",
                f"10.{n}.0.{step % 250 + 2}",
                groups=tuple(rng.sample(["a", "b", "c"], rng.randrange(3))),
                subnet=f"n{n}-s",
            )
            ports.append(name)
        elif action < 0.5:
            world.change(
                rng.choice(ports), binding_host_id=rng.choice(["", "h0", "h1", "h2", "h3", "h4"])
            )
        elif action < 0.6:
            world.change(
                rng.choice(ports), security_groups=rng.sample(["a", "b", "c"], rng.randrange(3))
            )
        elif action < 0.72:
            world.delete(ports.pop(rng.randrange(len(ports))))
        elif action < 0.82:
            n = f"n{rng.randrange(3)}"
            if n in interfaces:
                world.delete(interfaces.pop(n))
            else:
                interfaces[n] = f"if-{n}-{step}"
                world.port(
                    interfaces[n],
                    n,
                    "",
                    f"10.{n[1]}.0.1",
                    owner="network:router_interface",
                    device="r",
                    subnet=f"{n}-s",
                )
        elif action < 0.84:
            if spoofs and rng.random() < 0.4:
                world.delete(spoofs.pop(rng.randrange(len(spoofs))))
            else:
                n = rng.choice(["n0", "n1", "n2", "ext"])
                spoofs.append(f"spoof{step}")
                world.port(
                    spoofs[-1],
                    n,
                    rng.choice(["", "h0", "h3"]),
                    f"10.{step % 250}.9.9",
                    owner=rng.choice(["network:router_interface", "network:router_gateway"]),
                    device="r",
                    subnet=f"{n}-s",
                    member=False,
                )
        elif action < 0.86:
            world.change(f"n{rng.randrange(3)}", mtu=rng.choice([1400, 1450]))
            world.change("ag", addresses=[f"192.0.2.{step % 4}/32"])
        elif action < 0.92 or not rules:
            rules.append(f"rule{step}")
            group = rng.choice("abc")
            remote = rng.choice(["a", "b", "c", None])
            world.rule(
                rules[-1],
                group,
                remote_group=remote,
                remote_address_group="ag" if remote is None and step % 2 else None,
            )
        else:
            world.delete(rules.pop(rng.randrange(len(rules))))
    return world


@pytest.mark.parametrize("seed", range(12))
def test_deltas_in_order_converge_to_the_snapshot(seed: int) -> None:
    assert_converged(random_world(seed))


@pytest.mark.parametrize("seed", range(12))
def test_ports_that_only_name_a_router_leave_every_host_as_without_them(seed: int) -> None:
    """An engine fed the same log without the ports that name the router in none of its
    records (issue 10's spoofs) holds the same for every host: they have no router meaning."""
    world = random_world(seed)
    assert world.spoofed
    engine = Engine()
    for revision, _, operation, record in world.changes:
        if record.id not in world.spoofed:
            engine.apply(revision, operation, record)
    assert engine.known_hosts() == world.engine.known_hosts()
    for host in world.engine.known_hosts():
        assert contents({keys.entry_key(x): x for x in engine.snapshot(host)}) == contents(
            world.should_hold(host)
        ), host


@pytest.mark.parametrize("seed", range(12))
def test_replayed_and_reordered_deltas_converge_to_the_same_state(seed: int) -> None:
    world = random_world(seed)
    rng = random.Random(seed)
    goals = [
        (host, pb.GoalState(revision=revision, entries=entries))
        for revision, deltas in world.log
        for host, entries in deltas.items()
    ]
    shuffled = goals + rng.sample(goals, len(goals) // 3)  # some delivered twice
    rng.shuffle(shuffled)
    states: dict[str, HostState] = {}
    for host, goal in shuffled:
        states.setdefault(host, HostState()).apply(goal)
    for host, state in states.items():
        assert contents(state.live()) == contents(world.should_hold(host)), host


@pytest.mark.parametrize("seed", range(6))
def test_a_host_resuming_from_any_revision_gets_exactly_what_it_lacks(seed: int) -> None:
    """Replay the log up to revision R for a host, then apply delta_since(R): the host holds
    its snapshot. This is a controller restart or a reconnect after a partition."""
    world = random_world(seed)
    for host in {h for _, deltas in world.log for h in deltas}:
        for resume_at in range(0, world.revision + 1, 7):
            state = HostState()
            for revision, deltas in world.log:
                if revision <= resume_at and host in deltas:
                    state.apply(pb.GoalState(revision=revision, entries=deltas[host]))
            missing = world.engine.delta_since(host, resume_at)
            assert missing is not None
            assert all(entry.revision > resume_at for entry in missing)
            state.apply(pb.GoalState(revision=world.revision, entries=missing))
            assert contents(state.live()) == contents(world.should_hold(host)), (host, resume_at)


def compacted(
    changes: list[tuple[int, str, str, records.Record]], floor: int
) -> list[tuple[int, str, str, records.Record]]:
    """The change log compacted through ``floor``: of the rows up to it, only each live
    resource's last one; every row after it."""
    last: dict[tuple[str, str], tuple[int, str, str, records.Record]] = {}
    for change in changes:
        if change[0] <= floor:
            last[change[1], change[3].id] = change
    kept = [change for change in last.values() if change[2] != "delete"]
    return sorted(kept) + [change for change in changes if change[0] > floor]


@pytest.mark.parametrize("seed", range(6))
def test_a_compacted_log_replays_to_an_engine_every_host_above_the_floor_resumes_from(
    seed: int,
) -> None:
    """A controller restarted on a compacted log (each resource's last change up to the floor,
    in revision order, whatever order that puts them in) serves every host that had applied
    at least the floor the same resume as the engine that saw every change."""
    world = random_world(seed)
    floor = world.revision // 2
    engine = Engine()
    for revision, _, operation, record in compacted(world.changes, floor):
        engine.apply(revision, operation, record)
    engine.compact(floor)
    assert engine.delta_since("h0", floor - 1) is None
    for host in {h for _, deltas in world.log for h in deltas}:
        assert contents({keys.entry_key(x): x for x in engine.snapshot(host)}) == contents(
            world.should_hold(host)
        ), host
        for resume_at in range(floor, world.revision + 1, 5):
            state = HostState()
            for revision, deltas in world.log:
                if revision <= resume_at and host in deltas:
                    state.apply(pb.GoalState(revision=revision, entries=deltas[host]))
            missing = engine.delta_since(host, resume_at)
            assert missing is not None
            state.apply(pb.GoalState(revision=world.revision, entries=missing))
            assert contents(state.live()) == contents(world.should_hold(host)), (host, resume_at)


def assert_same_engine(engine: Engine, expected: Engine, label: object) -> None:
    """The two engines serve every host the same: snapshot, topics, and the resume from every
    revision (None below the floor alike)."""
    assert engine.revision == expected.revision
    assert engine.floor == expected.floor
    assert engine.hosts() == expected.hosts()
    assert engine.known_hosts() == expected.known_hosts()
    assert sorted(engine.programmed()) == sorted(expected.programmed())
    for host in expected.known_hosts():
        assert engine.snapshot(host) == expected.snapshot(host), (label, host)
        assert engine.topics_of(host) == expected.topics_of(host)
        for resume_at in range(0, expected.revision + 1, 9):
            found, wanted = (
                engine.delta_since(host, resume_at),
                expected.delta_since(host, resume_at),
            )
            assert (found is None) == (wanted is None), (label, host, resume_at)
            assert sorted(found or [], key=pb.Entry.SerializeToString) == sorted(
                wanted or [], key=pb.Entry.SerializeToString
            ), (label, host, resume_at)


@pytest.mark.parametrize("seed", range(6))
def test_an_engine_fed_quietly_then_loudly_is_the_engine_fed_loudly_throughout(seed: int) -> None:
    """A restart's replay builds no deltas: the engine it leaves holds the same topics,
    subscriptions, removals and own ports, so every host's snapshot and every resume are the
    same, and the changes after it produce the same deltas."""
    world = random_world(seed)
    for split in (0, 1, world.revision // 3, world.revision // 2, world.revision):
        engine = Engine()
        for revision, _, operation, record in world.changes[:split]:
            assert engine.apply(revision, operation, record, quiet=True) == {}
        for (revision, _, operation, record), (logged_at, deltas) in zip(
            world.changes[split:], world.log[split:], strict=True
        ):
            assert revision == logged_at
            assert engine.apply(revision, operation, record) == deltas, (split, revision)
        assert_same_engine(engine, world.engine, split)


@pytest.mark.parametrize("seed", range(6))
def test_an_engine_restored_from_a_checkpoint_then_fed_the_rest_is_the_engine_fed_it_all(
    seed: int,
) -> None:
    """A restart from a checkpoint at any revision (its floor wherever compaction left it):
    the restored engine, fed the log after the checkpoint, produces the same deltas as the
    engine that saw everything, and ends serving every host the same. The checkpoint is of the
    revision it was captured at, whatever the engine applied while it was encoded."""
    world = random_world(seed)
    for split in (0, 1, world.revision // 3, world.revision // 2, world.revision):
        floor = split // 2
        live = Engine()
        for revision, _, operation, record in world.changes[:split]:
            live.apply(revision, operation, record)
        live.compact(floor)
        captured = checkpoints.capture(live)
        for revision, _, operation, record in world.changes[split:]:  # the engine goes on
            live.apply(revision, operation, record)
        restored = checkpoints.restore(checkpoints.encoded(captured, size=7))
        assert restored.revision == split
        for (revision, _, operation, record), (_, deltas) in zip(
            world.changes[split:], world.log[split:], strict=True
        ):
            assert restored.apply(revision, operation, record) == deltas, (split, revision)
        world.engine.compact(floor)  # what the live engine forgot, the restored forgot too
        assert_same_engine(restored, world.engine, split)
        assert_same_engine(live, world.engine, split)


def test_a_checkpoint_that_does_not_make_an_engine_is_refused() -> None:
    world = random_world(1)
    pieces = list(checkpoints.encoded(checkpoints.capture(world.engine)))
    with pytest.raises(checkpoints.Unusable, match="first"):
        checkpoints.restore(pieces[1:])
    with pytest.raises(checkpoints.Unusable, match="once"):
        checkpoints.restore([pieces[0], *pieces])
    with pytest.raises(checkpoints.Unusable, match="decode"):
        checkpoints.restore([pieces[0], b"\x93not a piece"])
    foreign = checkpoints.encode(checkpoints.Names(name="intent.__class__", items={}))
    with pytest.raises(checkpoints.Unusable, match=r"intent\.__class__"):
        checkpoints.restore([pieces[0], foreign])
    with pytest.raises(checkpoints.Unusable, match="no piece"):
        checkpoints.restore([])


def test_programmed_lists_each_hosts_own_ports_with_the_revision_of_their_entry() -> None:
    world = World()
    vpc(world, hosts=2, ports_per_host=2)  # revisions 1, 2, then ports at 3..6
    world.change("n1-h0-p0", binding_host_id="h1")  # 7
    world.delete("n1-h1-p1")  # 8
    world.change("n1-h0-p1", binding_host_id="")  # 9
    assert sorted(world.engine.programmed()) == [
        ("n1-h0-p0", "h1", 7),
        ("n1-h1-p0", "h1", 5),
    ]
    assert world.engine.known_hosts() == ["h0", "h1"]
    assert world.engine.hosts() == ["h1"]


def test_a_resume_from_the_current_revision_is_empty_and_below_the_floor_is_a_snapshot() -> None:
    world = random_world(3)
    host = world.engine.hosts()[0]
    assert world.engine.delta_since(host, world.revision) == []
    world.engine.compact(world.revision - 10)
    assert world.engine.delta_since(host, world.revision - 11) is None
    assert world.engine.delta_since(host, world.revision - 10) is not None


def test_a_snapshot_after_deltas_drops_what_the_host_should_no_longer_hold() -> None:
    world = World()
    vpc(world, hosts=2, ports_per_host=2)
    state = HostState()
    state.apply(pb.GoalState(revision=1, entries=[keys.removal("port:x", 1)]))
    stale = pb.Entry(revision=2, neighbor=pb.Neighbor(port_id="gone", network_id="n1"))
    state.apply(pb.GoalState(revision=2, entries=[stale]))
    changes = state.apply(
        pb.GoalState(revision=world.revision, snapshot=True, entries=world.engine.snapshot("h0"))
    )
    assert "neighbor:gone" in changes.removed
    assert contents(state.live()) == contents(world.should_hold("h0"))
    # a delta older than the snapshot cannot bring back what the snapshot left out
    state.apply(pb.GoalState(revision=3, entries=[stale]))
    assert state.get("neighbor", "gone") is None


def test_changes_go_in_revision_order() -> None:
    engine = Engine()
    group = records.SecurityGroup(id="g", project_id="p", created_at=NOW, updated_at=NOW)
    engine.apply(5, "create", group)
    with pytest.raises(ValueError, match="in order"):
        engine.apply(5, "update", group)


def test_a_change_no_host_holds_only_moves_the_revision() -> None:
    """A quota's limits go through the change log like any change: the engine takes their
    revision (the next change must come after it) and no host hears of them."""
    world = World()
    vpc(world, hosts=2, ports_per_host=1)
    before = {host: world.engine.snapshot(host) for host in world.engine.known_hosts()}
    limits = quotas.Overrides(project_id="p", limits={"port": 5})
    assert world.engine.apply(world.revision + 1, "create", limits) == {}
    assert world.engine.revision == world.revision + 1
    assert {host: world.engine.snapshot(host) for host in world.engine.known_hosts()} == before
    with pytest.raises(ValueError, match="in order"):
        world.engine.apply(world.revision + 1, "update", limits)
