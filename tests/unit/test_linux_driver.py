"""The linux driver over an in-memory kernel (``executing.InMemory``), fed by the real goal-state
engine: what a host's kernel holds after a goal state, that replaying or restarting changes
nothing, that leftovers go and foreign state stays, and that failures name their resource."""

from __future__ import annotations

import asyncio
import re

import pytest

from alcor.agent import drivers
from alcor.agent.drivers.linux import (
    executing,
    layouts,
    names,
    nft,
    observing,
    planning,
    supervising,
)
from alcor.agent.drivers.linux import kernel as k
from alcor.agent.drivers.linux.driver import LinuxDriver
from alcor.agent.state import HostState
from alcor.v1 import southbound_pb2 as pb
from tests.goalstates import Cloud

IP = {"h1": "192.0.2.11", "h2": "192.0.2.12"}


class Agent:
    """One host's state and linux driver over a kernel, applying the cloud's goal states."""

    def __init__(
        self,
        cloud: Cloud,
        host: str,
        kernel: executing.InMemory,
        *,
        mode: str = "netns",
        addressing: str = "static",
        daemons: supervising.InMemory | None = None,
    ) -> None:
        self.cloud = cloud
        self.host = host
        self.kernel = kernel
        self.daemons = daemons if daemons is not None else supervising.InMemory()
        self.settings = layouts.HostSettings(
            host_id=host, underlay_ip=IP[host], endpoint_mode=mode, endpoint_addressing=addressing
        )
        self.driver = LinuxDriver(self.settings, kernel, self.daemons)
        self.state = HostState()
        self.seen = 0
        self.failures: list[drivers.Failure] = []

    def apply(self, goal: pb.GoalState) -> list[drivers.Failure]:
        changes = self.state.apply(goal)
        self.failures = asyncio.run(self.driver.apply(changes, self.state)) if changes else []
        return self.failures

    def start(self) -> list[drivers.Failure]:
        """A new agent process: a snapshot."""
        self.seen = len(self.cloud.sent[self.host])
        return self.apply(self.cloud.snapshot(self.host))

    def follow(self) -> list[drivers.Failure]:
        """The deltas sent since, in order."""
        failures = []
        for goal in self.cloud.sent[self.host][self.seen :]:
            failures += self.apply(goal)
        self.seen = len(self.cloud.sent[self.host])
        return failures

    def last_ops(self) -> list[planning.Op]:
        return self.kernel.executed[-1] if self.kernel.executed else []

    def ns(self, port_id: str) -> str:
        return names.endpoint_netns(self.settings.prefix, port_id)


class World:
    """One VPC: subnets A and B joined by a router, endpoints a1, b1 on h1 and a2, b2 on h2."""

    def __init__(self) -> None:
        self.cloud = c = Cloud(vni_base=5000)
        for host, ip in IP.items():
            c.host(host, ip)
        self.group = c.open_group()
        self.net_a, self.net_b = c.network(), c.network()
        self.sub_a, self.sub_b = (
            c.subnet(self.net_a, "10.0.1.0/24"),
            c.subnet(self.net_b, "10.0.2.0/24"),
        )
        self.router = c.router()
        c.interface(self.router, self.sub_a)
        c.interface(self.router, self.sub_b)
        self.a1 = c.port(self.sub_a, "10.0.1.11", host="h1", groups=(self.group,))
        self.a2 = c.port(self.sub_a, "10.0.1.12", host="h2", groups=(self.group,))
        self.b1 = c.port(self.sub_b, "10.0.2.11", host="h1", groups=(self.group,))
        self.b2 = c.port(self.sub_b, "10.0.2.12", host="h2", groups=(self.group,))

    def mac(self, port_id: str) -> str:
        return self.cloud.records[port_id].mac_address  # type: ignore[attr-defined,no-any-return]


def held(kernel: executing.InMemory, kind: type[k.Object]) -> list[k.Object]:
    return [obj for obj in kernel.objects.values() if isinstance(obj, kind)]


def unmarked(rules: nft.Ruleset | None) -> list[tuple[str, str]]:
    """A ruleset's rules and elements, with the port numbers (marks: arrival order) left out."""
    assert rules is not None
    return sorted(
        (name, re.sub(r"0x[0-9a-f]{8}", "MARK", rule))
        for table in rules.tables
        for name, chain in table.chains.items()
        for rule in chain.rules
    ) + sorted(
        (name, re.sub(r"0x[0-9a-f]{8}", "MARK", element))
        for table in rules.tables
        for name, container in table.containers.items()
        for element in container.elements
    )


# --- what a host holds -------------------------------------------------------------------------


def test_a_snapshot_programs_segments_neighbors_endpoints_and_the_router() -> None:
    world = World()
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    assert h1.start() == []
    objects = h1.kernel.objects
    for vni in (5000, 5001):
        assert ("link", k.HOST, names.bridge(vni)) in objects
        vx = objects[("link", k.HOST, names.vxlan(vni))]
        assert isinstance(vx, k.Link)
        assert vx.vxlan == k.Vxlan(vni=vni, local=IP["h1"], port=4789)
        assert vx.learning is False
    # remote ports: a VXLAN forwarding entry and an ARP entry each; no flooding. The bridge
    # holds static entries for the local MACs only (endpoints, router legs), and only the
    # VXLAN port gets unknown unicast: what is not local goes out to its host
    fdb = {(f.dev, f.mac, f.dst) for f in held(h1.kernel, k.Fdb) if isinstance(f, k.Fdb)}
    assert {entry for entry in fdb if entry[0].startswith("alvx-")} == {
        ("alvx-5000", world.mac(world.a2), "192.0.2.12"),
        ("alvx-5001", world.mac(world.b2), "192.0.2.12"),
    }
    pinned = {(dev, mac) for dev, mac, dst in fdb if not dev.startswith("alvx-")}
    assert {
        (names.tap(world.a1), world.mac(world.a1)),
        (names.tap(world.b1), world.mac(world.b1)),
    } <= pinned
    assert len(pinned) == 4  # and the router's two legs
    flooded = {
        obj.name for obj in held(h1.kernel, k.Link)
        if isinstance(obj, k.Link) and obj.master.startswith("albr-") and obj.flood is not False
    }  # fmt: skip
    assert flooded == {"alvx-5000", "alvx-5001"}
    assert {(n.dev, n.ip) for n in held(h1.kernel, k.Neigh) if isinstance(n, k.Neigh)} == {
        ("alvx-5000", "10.0.1.12"),
        ("alvx-5001", "10.0.2.12"),
    }
    # the endpoint: its namespace, MAC, address and default route via its gateway
    ns = h1.ns(world.a1)
    eth0 = objects[("link", ns, "eth0")]
    assert isinstance(eth0, k.Link)
    assert eth0.mac == world.mac(world.a1)
    assert ("address", ns, "eth0", "10.0.1.11/24") in objects
    assert objects[("route", ns, "0.0.0.0/0")] == k.Route(
        ns=ns, dst="0.0.0.0/0", via="10.0.1.1", dev="eth0"
    )
    tap = objects[("link", k.HOST, names.tap(world.a1))]
    assert isinstance(tap, k.Link)
    assert tap.master == "albr-5000"
    # the router: both gateways in one namespace, legs on both bridges, forwarding on
    router_ns = names.router_netns(h1.settings.prefix, world.router)
    addresses = {a.cidr for a in held(h1.kernel, k.Address) if a.ns == router_ns}  # type: ignore[union-attr]
    assert {a for a in addresses if not a.startswith("fe80:")} == {"10.0.1.1/24", "10.0.2.1/24"}
    legs = [
        obj for obj in held(h1.kernel, k.Link)
        if isinstance(obj, k.Link) and obj.name.startswith(names.ROUTER_LEG)
    ]  # fmt: skip
    assert sorted(leg.master for leg in legs) == ["albr-5000", "albr-5001"]
    assert (k.Sysctl(router_ns, "net.ipv4.ip_forward", "1")) in held(h1.kernel, k.Sysctl)


def test_deltas_and_a_snapshot_leave_the_same_kernel() -> None:
    world = World()
    following = Agent(world.cloud, "h2", executing.InMemory())
    assert following.follow() == []
    started = Agent(world.cloud, "h2", executing.InMemory())
    assert started.start() == []
    assert following.kernel.objects == started.kernel.objects
    assert unmarked(following.kernel.rules) == unmarked(started.kernel.rules)


def test_a_restarted_agent_changes_nothing_that_is_right() -> None:
    world = World()
    kernel = executing.InMemory()
    Agent(world.cloud, "h1", kernel).start()
    before = dict(kernel.objects)
    again = Agent(world.cloud, "h1", kernel)
    assert again.start() == []
    assert again.last_ops() == []
    assert kernel.objects == before


def test_leftovers_go_and_what_is_not_ours_stays() -> None:
    world = World()
    kernel = executing.InMemory()
    h1 = Agent(world.cloud, "h1", kernel)
    stale_ns = h1.ns("gone-port")
    foreign = [
        k.Netns("someone-elses"),
        k.Link(ns=k.HOST, name="eth0", kind="veth"),
        k.Link(ns="someone-elses", name="eth0", kind=k.PEER),
    ]
    stale = [
        k.Netns(stale_ns),
        k.Link(ns=stale_ns, name="eth0", kind=k.PEER),
        k.Link(ns=k.HOST, name="albr-9", kind="bridge"),
    ]
    for obj in foreign + stale:
        kernel.objects[k.identity(obj)] = obj
    h1.start()
    vx = names.vxlan(5000)
    kernel.objects[("fdb-self", vx, "fa:16:3e:ff:ff:ff")] = k.Fdb(
        dev=vx, mac="fa:16:3e:ff:ff:ff", dst="192.0.2.99"
    )
    Agent(world.cloud, "h1", kernel).start()
    assert all(k.identity(obj) in kernel.objects for obj in foreign)
    assert not any(k.identity(obj) in kernel.objects for obj in stale)
    assert ("fdb-self", vx, "fa:16:3e:ff:ff:ff") not in kernel.objects


# --- changes -----------------------------------------------------------------------------------


def test_deleting_a_port_removes_exactly_its_state_on_every_host() -> None:
    world = World()
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    h2 = Agent(world.cloud, "h2", executing.InMemory())
    h1.start()
    h2.start()
    before1, before2 = dict(h1.kernel.objects), dict(h2.kernel.objects)
    mac = world.mac(world.a1)
    world.cloud.delete(world.a1)
    h1.follow()
    h2.follow()
    gone1 = before1.keys() - h1.kernel.objects.keys()
    tap = names.tap(world.a1)
    assert gone1 == {i for i, obj in before1.items() if world.a1 in str(obj) or
                     (isinstance(obj, k.Link) and obj.name == tap) or
                     (isinstance(obj, k.Fdb) and obj.dev == tap)}  # fmt: skip
    assert h1.kernel.objects.keys() <= before1.keys()
    gone2 = before2.keys() - h2.kernel.objects.keys()
    assert {ident[0] for ident in gone2} == {"fdb-self", "neigh"}
    assert all(mac in str(before2[i]) for i in gone2)
    assert len(gone2) == 2
    assert h2.kernel.objects.keys() <= before2.keys()


def test_a_membership_change_is_one_set_in_one_transaction() -> None:
    c = Cloud()
    c.host("h1", IP["h1"])
    c.host("h2", IP["h2"])
    app, db = c.group(), c.group()
    c.rule(db, "ingress", protocol="tcp", ports=(5432, 5432), remote_group=app)
    net = c.network()
    sub = c.subnet(net, "10.0.0.0/24")
    c.port(sub, "10.0.0.10", host="h1", groups=(db,))
    h1 = Agent(c, "h1", executing.InMemory())
    h1.start()
    transactions = len(h1.kernel.transactions)
    c.port(sub, "10.0.0.20", host="h2", groups=(app,))
    h1.follow()
    new = h1.kernel.transactions[transactions:]
    assert len(new) == 1  # the member entry; the neighbor needs no nftables
    assert new[0].splitlines() == [
        f"flush set inet alcor rg4-{app}",
        f"add element inet alcor rg4-{app} {{ 10.0.0.20 }}",
    ]


def test_a_network_given_another_vni_moves_everything_on_it() -> None:
    world = World()
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    h1.start()
    world.cloud.change(world.net_a, segmentation_id=7777)
    assert h1.follow() == []
    objects = h1.kernel.objects
    assert ("link", k.HOST, "albr-5000") not in objects
    assert ("link", k.HOST, "albr-7777") in objects
    assert ("neigh", k.HOST, "alvx-7777", "10.0.1.12") in objects
    tap = objects[("link", k.HOST, names.tap(world.a1))]
    assert isinstance(tap, k.Link)
    assert tap.master == "albr-7777"
    assert h1.driver.model()["segments"][world.net_a] == "albr-7777"


def test_zones_outlive_a_restart_even_when_vnis_share_their_low_bits() -> None:
    c = Cloud(vni_base=5)
    c.host("h1", IP["h1"])
    first = c.network()
    c.port(c.subnet(first, "10.0.1.0/24"), "10.0.1.5", host="h1")
    c.change(first, segmentation_id=5 + 65536)
    second = c.network()  # VNI 6
    c.change(second, segmentation_id=5)
    c.port(c.subnet(second, "10.0.2.0/24"), "10.0.2.5", host="h1")
    kernel = executing.InMemory()
    Agent(c, "h1", kernel).start()
    zones = asyncio.run(kernel.observe(Agent(c, "h1", kernel).settings)).zones
    assert sorted(zones) == ["albr-5", "albr-65541"]
    assert len(set(zones.values())) == 2
    Agent(c, "h1", kernel).start()
    assert asyncio.run(kernel.observe(Agent(c, "h1", kernel).settings)).zones == zones


# --- failures ----------------------------------------------------------------------------------


def test_a_tap_that_is_not_there_fails_its_port_alone() -> None:
    world = World()
    kernel = executing.InMemory(devices=[names.tap(world.b1)])
    h1 = Agent(world.cloud, "h1", kernel, mode="tap")
    failures = h1.start()
    assert [(f.kind, f.id) for f in failures] == [("port", world.a1)]
    assert names.tap(world.a1) in failures[0].message
    tap = kernel.objects[("link", k.HOST, names.tap(world.b1))]
    assert isinstance(tap, k.Link)
    assert tap.master == "albr-5001"
    # the tap appears: the next message (any) reconciles, and the port is attached
    kernel.devices.add(names.tap(world.a1))
    world.cloud.port(world.sub_b, "10.0.2.13", host="h2")
    assert h1.follow() == []
    assert ("link", k.HOST, names.tap(world.a1)) in kernel.objects
    # removing the port detaches the tap, never deletes it
    world.cloud.delete(world.a1)
    h1.follow()
    removed = [op for op in h1.last_ops() if op.action == planning.REMOVE]
    lines = [
        line.text for stage in planning.stages(removed) for batch in stage for line in batch.lines
    ]
    assert f"link set dev {names.tap(world.a1)} nomaster" in lines
    assert not [line for line in lines if line.startswith("link del")]


@pytest.mark.parametrize("owner", ["compute:kubernetes", "compute:kubernetes-node"])
def test_a_netns_agent_attaches_a_pods_device_and_never_deletes_it(owner: str) -> None:
    """A pod's port (``compute:kubernetes``), or a Kubernetes node's own port for reaching its
    pods (``compute:kubernetes-node``): alcor-cni made its veth; the agent attaches it as a
    tap-mode agent attaches Nova's, makes no namespace for it, reports no binding for it."""
    world = World()
    pod = world.cloud.port(world.sub_a, "10.0.1.21", host="h1", owner=owner)
    kernel = executing.InMemory(devices=[names.tap(pod)])
    h1 = Agent(world.cloud, "h1", kernel)
    assert h1.start() == []
    tap = kernel.objects[("link", k.HOST, names.tap(pod))]
    assert isinstance(tap, k.Link)
    assert (tap.kind, tap.master) == ("", "albr-5000")
    assert ("netns", "", h1.ns(pod)) not in kernel.objects
    assert h1.ns(world.a1) in [obj.name for obj in held(kernel, k.Netns)]
    assert pod not in h1.driver.bindings()
    assert h1.driver.model()["endpoints"][pod]["netns"] == ""
    world.cloud.delete(pod)
    h1.follow()
    removed = [op for op in h1.last_ops() if op.action == planning.REMOVE]
    texts = [line.text for stage in planning.stages(removed) for b in stage for line in b.lines]
    assert f"link set dev {names.tap(pod)} nomaster" in texts
    assert not [text for text in texts if text.startswith("link del")]


def test_a_pods_device_is_read_back_as_attached_in_netns_mode() -> None:
    """What the observer reads: the agent's own veths, and a pod's (alias ``alcor-cni:``) or a
    node's (``alcor-cni-node:``) as a device it only attached."""
    links = [
        {"ifname": "tapown", "master": "albr-1", "linkinfo": {"info_kind": "veth"}},
        {"ifname": "tappod", "master": "albr-1", "ifalias": "alcor-cni:c1:eth0",
         "linkinfo": {"info_kind": "veth"}},
        {"ifname": "tapnode", "master": "albr-1", "ifalias": "alcor-cni-node:n1",
         "linkinfo": {"info_kind": "veth"}},
        {"ifname": "tapelse", "master": "br-other", "ifalias": "alcor-cni:c2:eth0",
         "linkinfo": {"info_kind": "veth"}},
    ]  # fmt: skip
    found = observing.host_links(links, endpoint_mode="netns")
    assert [(link.name, link.kind) for link in found if isinstance(link, k.Link)] == [
        ("tapown", "veth"),
        ("tappod", ""),
        ("tapnode", ""),
    ]


def test_a_port_whose_rules_cannot_be_loaded_fails_and_is_not_plugged() -> None:
    world = World()
    kernel = executing.InMemory()
    h1 = Agent(world.cloud, "h1", kernel)
    h1.start()
    kernel.fail_nft = "Error: Could not process rule: No such file or directory"
    port = world.cloud.port(world.sub_a, "10.0.1.13", host="h1", groups=(world.group,))
    failures = h1.follow()
    assert [(f.kind, f.id) for f in failures] == [("port", port)]
    assert "security groups" in failures[0].message
    assert ("link", k.HOST, names.tap(port)) not in kernel.objects
    kernel.fail_nft = ""
    world.cloud.change(port, admin_state_up=True, device_id="again")
    assert h1.follow() == []
    assert ("link", k.HOST, names.tap(port)) in kernel.objects


def test_counts_and_model_describe_what_is_programmed() -> None:
    world = World()
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    h1.start()
    counts = h1.driver.counts()
    assert counts["ports"] == 2
    assert counts["networks"] == 2
    assert counts["routers"] == 1
    assert counts["failed"] == 0
    model = h1.driver.model()
    assert model["endpoints"][world.a1] == {
        "device": names.tap(world.a1),
        "netns": h1.ns(world.a1),
    }
    assert model["routers"] == {world.router: names.router_netns(h1.settings.prefix, world.router)}
    assert "endpoint-mode:netns" in h1.driver.capabilities


def test_netns_endpoints_report_their_namespace_and_taps_report_nothing() -> None:
    world = World()
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    h1.start()
    assert h1.driver.bindings() == {
        world.a1: {"netns": h1.ns(world.a1)},
        world.b1: {"netns": h1.ns(world.b1)},
    }
    world.cloud.delete(world.a1)
    h1.follow()
    assert h1.driver.bindings() == {world.b1: {"netns": h1.ns(world.b1)}}
    taps = executing.InMemory(devices=[names.tap(world.b1)])
    tap = Agent(world.cloud, "h1", taps, mode="tap")
    tap.start()
    assert tap.driver.bindings() == {}


def test_an_object_two_entries_want_stays_while_one_still_wants_it() -> None:
    c = Cloud()
    c.host("h1", IP["h1"])
    c.host("h2", IP["h2"])
    net = c.network()
    sub = c.subnet(net, "10.0.0.0/24")
    c.port(sub, "10.0.0.10", host="h1")
    twin = c.port(sub, "10.0.0.20", host="h2")
    other = c.port(sub, "10.0.0.21", host="h2")
    c.change(other, mac_address=c.records[twin].mac_address)  # the same MAC, twice
    h1 = Agent(c, "h1", executing.InMemory())
    h1.start()
    mac = c.records[twin].mac_address  # type: ignore[attr-defined]
    vni = c.records[net].segmentation_id  # type: ignore[attr-defined]
    fdb = ("fdb-self", names.vxlan(vni), mac)
    assert fdb in h1.kernel.objects
    c.delete(twin)
    h1.follow()
    assert fdb in h1.kernel.objects  # the other port still has it
    c.delete(other)
    h1.follow()
    assert fdb not in h1.kernel.objects


def test_an_empty_snapshot_still_clears_what_a_previous_agent_left() -> None:
    import grpc

    from alcor.agent import stream

    kernel = executing.InMemory()
    settings = layouts.HostSettings(host_id="h1", underlay_ip=IP["h1"], endpoint_mode="netns")
    left = k.Netns(names.endpoint_netns(settings.prefix, "deleted-while-away"))
    kernel.objects[k.identity(left)] = left

    async def scenario() -> None:
        channel = grpc.aio.insecure_channel("unix:/nonexistent")
        agent = stream.Agent(
            settings=stream.Settings(host_id="h1"),
            channel=channel,
            driver=LinuxDriver(settings, kernel, supervising.InMemory()),
        )
        await agent.apply(pb.GoalState(revision=3, store_id="s", snapshot=True))
        await channel.close()

    asyncio.run(scenario())
    assert k.identity(left) not in kernel.objects
