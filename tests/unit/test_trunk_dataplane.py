"""Trunks from the goal state to the kernel, over an in-memory kernel fed by the real engine: a
subport's entry names its parent and VLAN, the host makes the subport's leg and (netns mode)
the parent's VLAN sub-interface, and splices them onto the parent's device; a restart changes
nothing; a subport that leaves takes all of it away. The packets are tests/system/test_trunks.py.
"""

from __future__ import annotations

import struct
from typing import Any

from alcor.agent.drivers.linux import executing, names, observing, planning, vlans
from alcor.agent.drivers.linux import kernel as k
from alcor.model import records, trunks
from alcor.v1 import southbound_pb2 as pb
from tests.goalstates import Cloud
from tests.unit.test_linux_driver import IP, Agent

VLAN = 101


class Trunked:
    """Networks A and B; the parent on A and the subport on B, both bound to h1 (the subport
    riding on the parent with VLAN 101, as the trunk service binds it); an endpoint on B on h2."""

    def __init__(self, *, dhcp: bool = False) -> None:
        self.cloud = c = Cloud(vni_base=6000)
        for host, ip in IP.items():
            c.host(host, ip)
        group = c.open_group()
        self.net_a, self.net_b = c.network(), c.network()
        self.sub_a = c.subnet(self.net_a, "10.0.1.0/24", dhcp=dhcp)
        self.sub_b = c.subnet(self.net_b, "10.0.2.0/24", dhcp=dhcp)
        self.parent = c.port(self.sub_a, "10.0.1.11", host="h1", groups=(group,))
        self.subport = c.port(self.sub_b, "10.0.2.21", host="h1", groups=(group,))
        self.remote = c.port(self.sub_b, "10.0.2.12", host="h2", groups=(group,))
        self.ride()

    def ride(self, parent: str | None = None) -> None:
        profile: dict[str, Any] = {trunks.PARENT_KEY: parent or self.parent, trunks.TAG_KEY: VLAN}
        self.cloud.change(self.subport, binding_profile=profile, device_owner="trunk:subport")

    def alight(self) -> None:
        self.cloud.change(self.subport, binding_profile={}, binding_host_id="", device_owner="")

    def mac(self, port_id: str) -> str:
        record = self.cloud.records[port_id]
        assert isinstance(record, records.Port)
        return record.mac_address


def test_a_subports_entry_names_its_parent_and_vlan() -> None:
    world = Trunked()
    entry = next(e.port for e in world.cloud.snapshot("h1").entries if e.port.id == world.subport)
    assert (entry.trunk_parent_id, entry.vlan_id) == (world.parent, VLAN)
    parent = next(e.port for e in world.cloud.snapshot("h1").entries if e.port.id == world.parent)
    assert (parent.trunk_parent_id, parent.vlan_id) == ("", 0)


def test_the_profile_names_a_parent_only_with_a_vlan_in_range() -> None:
    assert trunks.riding({"parent_name": "p", "tag": 7}) == ("p", 7)
    for profile in (
        {},
        {"parent_name": "p"},
        {"parent_name": "p", "tag": 0},
        {"parent_name": "p", "tag": 4095},
        {"parent_name": "p", "tag": "7"},
        {"parent_name": "p", "tag": True},
        {"parent_name": "", "tag": 7},
    ):
        assert trunks.riding(profile) is None, profile


def test_the_subport_is_spliced_onto_the_parents_device_and_its_namespace() -> None:
    world = Trunked()
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    assert h1.start() == []
    objects = h1.kernel.objects
    tap, leg = names.tap(world.subport), names.trunk_leg(world.subport)
    on_bridge = objects[("link", k.HOST, tap)]
    assert isinstance(on_bridge, k.Link)
    assert (on_bridge.kind, on_bridge.peer, on_bridge.master) == ("veth", leg, "albr-6001")
    assert ("link", k.HOST, leg) in objects
    # no namespace of its own: the subport is the parent endpoint's eth0.101
    assert ("netns", h1.ns(world.subport)) not in objects
    ns = h1.ns(world.parent)
    child = objects[("link", ns, f"eth0.{VLAN}")]
    assert isinstance(child, k.Link)
    assert (child.kind, child.peer, child.mac) == ("veth", f"alvl{VLAN}", world.mac(world.subport))
    assert ("address", ns, f"eth0.{VLAN}", "10.0.2.21/24") in objects
    routes = [o for o in objects.values() if isinstance(o, k.Route) and o.ns == ns]
    assert [r.dev for r in routes if r.dst == "0.0.0.0/0"] == ["eth0"]  # the parent's only
    assert h1.kernel.splices == {
        (k.HOST, names.tap(world.parent)): vlans.Splice(
            ns=k.HOST,
            trunk=names.tap(world.parent),
            children=((VLAN, leg),),
            parent=world.parent,
            owners=(f"port:{world.subport}",),
        ),
        (ns, "eth0"): vlans.Splice(
            ns=ns,
            trunk="eth0",
            children=((VLAN, f"alvl{VLAN}"),),
            parent=world.parent,
            owners=(f"port:{world.subport}",),
        ),
    }
    # the subport's reported namespace is the parent's, where its sub-interface is
    assert h1.driver.bindings()[world.subport] == {"netns": ns}
    # the other host sends the subport's traffic to h1, as any port's
    h2 = Agent(world.cloud, "h2", executing.InMemory())
    assert h2.start() == []
    fdb = {(f.mac, f.dst) for f in h2.kernel.objects.values() if isinstance(f, k.Fdb)}
    assert (world.mac(world.subport), IP["h1"]) in fdb


def test_a_subport_gets_no_dhcp_client_of_its_own() -> None:
    """Its address is static on the parent's eth0.<vlan>: there is no namespace of its own to
    run a client in (endpoints by DHCP)."""
    world = Trunked(dhcp=True)
    h1 = Agent(world.cloud, "h1", executing.InMemory(), addressing="dhcp")
    assert h1.start() == []
    running = {daemon.netns for daemon in h1.daemons.running.values()}
    assert h1.ns(world.parent) in running
    assert h1.ns(world.subport) not in running


def test_tap_mode_splices_on_the_host_only() -> None:
    world = Trunked()
    h1 = Agent(world.cloud, "h1", executing.InMemory(devices=[names.tap(world.parent)]), mode="tap")
    assert h1.start() == []
    assert list(h1.kernel.splices) == [(k.HOST, names.tap(world.parent))]
    assert not [o for o in h1.kernel.objects.values() if isinstance(o, k.Netns)]


def test_a_restart_and_deltas_leave_the_same_kernel_and_splices() -> None:
    world = Trunked()
    kernel = executing.InMemory()
    following = Agent(world.cloud, "h1", kernel)
    assert following.follow() == []
    again = Agent(world.cloud, "h1", kernel)
    before = (dict(kernel.objects), dict(kernel.splices))
    assert again.start() == []
    assert again.last_ops() == []
    assert (kernel.objects, kernel.splices) == before


def test_only_a_change_of_a_trunks_ports_programs_its_splices_again() -> None:
    world = Trunked()
    kernel = executing.InMemory()
    h1 = Agent(world.cloud, "h1", kernel)
    assert h1.start() == []
    calls = len(kernel.spliced)
    other = world.cloud.network()
    world.cloud.port(world.cloud.subnet(other, "10.0.9.0/24"), "10.0.9.5", host="h1")
    assert h1.follow() == []
    assert len(kernel.spliced) == calls  # a port of no trunk: nothing spliced again
    second = world.cloud.port(world.sub_b, "10.0.2.22", host="h1")
    world.cloud.change(second, binding_profile={trunks.PARENT_KEY: world.parent, trunks.TAG_KEY: 7})
    assert h1.follow() == []
    (host, _) = kernel.spliced[-1]
    assert host.children == ((7, names.trunk_leg(second)), (VLAN, names.trunk_leg(world.subport)))


def test_a_subport_that_leaves_takes_its_devices_and_splices_along() -> None:
    world = Trunked()
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    assert h1.start() == []
    world.alight()
    assert h1.follow() == []
    objects = h1.kernel.objects
    assert ("link", k.HOST, names.tap(world.subport)) not in objects
    assert ("link", h1.ns(world.parent), f"eth0.{VLAN}") not in objects
    assert h1.kernel.splices == {}
    assert ("link", h1.ns(world.parent), "eth0") in objects  # the parent stays


def test_a_subport_of_a_parent_not_held_is_not_spliced() -> None:
    world = Trunked()
    world.ride(parent="not-a-port-here")
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    h1.start()
    assert h1.kernel.splices == {}


# --- planning and observing the VLAN sub-interface's veth --------------------------------------


def test_a_veth_with_both_ends_in_a_namespace_is_made_there_before_its_settings() -> None:
    ns = "alcor-h1-ep-x"
    child = k.Link(ns=ns, name="eth0.7", kind="veth", peer="alvl7", peer_ns=ns, mtu=1450)
    ops = [planning.Op(action=planning.ADD, obj=child, owner="port:s")]
    batches = [batch for stage in planning.stages(ops) for batch in stage]
    (batch,) = [b for b in batches if b.ns == ns]
    lines = [line.text for line in batch.lines]
    assert lines[0] == "link add eth0.7 type veth peer name alvl7"
    assert lines[1:] == ["link set dev eth0.7 mtu 1450 up"]
    gone = planning.stages([planning.Op(action=planning.REMOVE, obj=child, owner="port:s")])
    assert [(b.ns, [line.text for line in b.lines]) for stage in gone for b in stage] == [
        (ns, ["link del dev eth0.7"])
    ]


def test_the_trunk_devices_are_read_back_as_made() -> None:
    inside = observing.namespace(
        "ns",
        [{"ifname": "eth0"}, {"ifname": "eth0.7"}, {"ifname": "alvl7"}, {"ifname": "lo"}],
        [],
        [],
    )
    kinds = {o.name: o.kind for o in inside if isinstance(o, k.Link)}
    assert kinds == {"eth0": k.PEER, "eth0.7": "veth", "alvl7": k.PEER, "lo": ""}
    veth = {"linkinfo": {"info_kind": "veth"}, "master": "albr-1"}
    host = observing.host_links(
        [
            {"ifname": "tapsubport-12", "link": "altv-subport-1", **veth},
            {"ifname": "tapnova-tap-1", **veth},
            {"ifname": "altv-subport-1", "linkinfo": {"info_kind": "veth"}},
        ],
        endpoint_mode="tap",
    )
    assert {o.name: o.kind for o in host if isinstance(o, k.Link)} == {
        "tapsubport-12": "veth",  # a subport's leg pair: ours
        "tapnova-tap-1": "",  # Nova's, only attached
        "altv-subport-1": "veth",
    }


# --- the programs ---------------------------------------------------------------------------------


def _decoded(code: bytes) -> list[tuple[int, int, int, int, int]]:
    assert len(code) % 8 == 0
    found = []
    for offset in range(0, len(code), 8):
        op, regs, off, imm = struct.unpack("<BBhi", code[offset : offset + 8])
        found.append((op, regs & 0x0F, regs >> 4, off, imm))
    return found


def _walk(code: bytes, *, present: int, tci: int) -> list[tuple[int, int]]:
    """The helper calls (helper, r1) the program makes for a packet, and its verdict as
    (-1, r0): a small interpreter of the few instructions the programs use."""
    program = _decoded(code)
    regs = [0] * 11
    packet = {20: present, 24: tci}
    calls: list[tuple[int, int]] = []
    pc = 0
    while True:
        op, dst, src, off, imm = program[pc]
        pc += 1
        if op == 0xBF:
            regs[dst] = regs[src]
        elif op == 0xB7:
            regs[dst] = imm
        elif op == 0x61:
            regs[dst] = packet[off]
        elif op == 0x57:
            regs[dst] &= imm
        elif op in (0x15, 0x55):
            if (regs[dst] == imm) == (op == 0x15):
                pc += off
        elif op == 0x85:
            calls.append((imm, regs[1]))
            regs[0] = 7 if imm == 23 else 0  # redirect: TC_ACT_REDIRECT
        elif op == 0x95:
            return [*calls, (-1, regs[0])]
        else:
            raise AssertionError(f"unknown opcode {op:#x}")


def test_untag_sends_each_vlan_to_its_child_drops_others_and_passes_untagged() -> None:
    code = vlans.untag([(5, 11), (7, 12)])
    assert _walk(code, present=1, tci=0x2005) == [(19, 0), (23, 11), (-1, 7)]  # priority bits
    assert _walk(code, present=1, tci=7) == [(19, 0), (23, 12), (-1, 7)]
    assert _walk(code, present=1, tci=9) == [(-1, vlans.TC_ACT_SHOT)]
    assert _walk(code, present=0, tci=0) == [(-1, vlans.TC_ACT_OK)]


def test_tag_pushes_the_vlan_and_sends_out_of_the_trunk() -> None:
    program = _decoded(vlans.tag(101, 3))
    assert (0xB7, 2, 0, 0, 0x0081) in program  # 802.1Q, in network order
    assert (0xB7, 3, 0, 0, 101) in program
    assert _walk(vlans.tag(101, 3), present=0, tci=0) == [(18, 0), (23, 3), (-1, 7)]


def test_the_splices_pair_each_parent_with_its_subports_by_vlan() -> None:
    def port(port_id: str, parent: str = "", vlan: int = 0) -> pb.Port:
        return pb.Port(id=port_id, trunk_parent_id=parent, vlan_id=vlan)

    found = vlans.splices(
        [port("p1"), port("s2", "p1", 20), port("s1", "p1", 10), port("s3", "gone", 30)],
        netns=False,
        prefix="x-",
    )
    assert [(s.trunk, s.children, s.owners) for s in found] == [
        (
            names.tap("p1"),
            ((10, names.trunk_leg("s1")), (20, names.trunk_leg("s2"))),
            ("port:s1", "port:s2"),
        )
    ]
