"""The linux driver's pure parts below the driver: names, kernel objects, planning (diff and the
batches it renders), and reading iproute2's JSON."""

from __future__ import annotations

import json

from alcor.agent.drivers.linux import executing, names, observing, planning
from alcor.agent.drivers.linux import kernel as k

H = k.HOST


def bridge(vni: int) -> k.Link:
    return k.Link(ns=H, name=names.bridge(vni), kind="bridge", nf_call=True, ipv6_auto=False)


def vxlan(vni: int, local: str = "192.0.2.1") -> k.Link:
    return k.Link(
        ns=H,
        name=names.vxlan(vni),
        kind="vxlan",
        master=names.bridge(vni),
        mtu=1450,
        vxlan=k.Vxlan(vni=vni, local=local, port=4789),
        learning=False,
        ipv6_auto=False,
    )


def lines(stages: list[planning.Stage]) -> list[tuple[str, str, list[str]]]:
    return [
        (batch.tool, batch.ns, [line.text for line in batch.lines])
        for stage in stages
        for batch in stage
    ]


# --- names ----------------------------------------------------------------------------------------


def test_device_names_fit_the_kernels_limit_and_mark_ownership() -> None:
    port = "3f0d4c1e-aaaa-bbbb-cccc-123456789012"
    made = [names.bridge(16_777_215), names.vxlan(16_777_215), names.router_leg(port)]
    made += [names.tap(port), names.router_inside(port)]
    assert all(len(name) <= names.MAX_DEVICE for name in made)
    assert names.tap(port) == "tap3f0d4c1e-aa"  # as Nova names it
    assert all(names.owns_device(name) for name in made[:3])
    assert not names.owns_device(names.tap(port))
    assert names.segment_vni("albr-4242") == 4242
    assert names.segment_vni("eth0") is None


def test_namespace_ownership_needs_the_prefix_and_a_kind() -> None:
    assert names.owns_netns("alcor-h1-", names.endpoint_netns("alcor-h1-", "p"))
    assert names.owns_netns("alcor-h1-", names.router_netns("alcor-h1-", "r"))
    assert not names.owns_netns("alcor-h1-", "alcor-h1-x-ep-p")  # host h1-x's, not ours
    assert not names.owns_netns("alcor-h1-", "other")
    assert names.default_prefix("rack 1/h7") == "alcor-rack_1_h7-"


# --- diff -----------------------------------------------------------------------------------------


def test_what_is_held_as_wanted_is_not_touched() -> None:
    wanted = k.objects([bridge(7), vxlan(7)])
    held = k.objects(
        [
            k.Link(ns=H, name="albr-7", kind="bridge", mtu=1450, mac="aa:aa:aa:aa:aa:aa",
                   up=True, nf_call=True, ipv6_auto=False),
            k.Link(ns=H, name="alvx-7", kind="vxlan", master="albr-7", mtu=1450, up=True,
                   mac="aa:aa:aa:aa:aa:aa", vxlan=k.Vxlan(vni=7, local="192.0.2.1", port=4789),
                   learning=False, ipv6_auto=False),
        ]
    )  # fmt: skip
    assert planning.diff(held, wanted, {}) == []


def test_a_changed_attribute_is_set_and_a_changed_vxlan_is_made_again() -> None:
    neigh = k.Neigh(ns=H, dev="alvx-7", ip="10.0.0.5", mac="fa:16:3e:00:00:05")
    held = k.objects([bridge(7), vxlan(7, local="192.0.2.9"), neigh])
    down = k.Link(ns=H, name="tapx", kind="", master="albr-7", up=False)
    held[k.identity(down)] = down
    up = k.Link(ns=H, name="tapx", kind="", master="albr-7", up=True)
    wanted = k.objects([bridge(7), vxlan(7), neigh, up])
    ops = planning.diff(held, wanted, {})
    actions = [(op.action, k.identity(op.obj)) for op in ops]
    assert ("remove", ("link", H, "alvx-7")) in actions
    assert ("add", ("link", H, "alvx-7")) in actions
    assert ("add", k.identity(neigh)) in actions  # it went with the old device
    assert ("change", ("link", H, "tapx")) in actions
    rendered = lines(planning.stages(ops))
    host_ip = rendered[0][2]
    assert host_ip.index("link del dev alvx-7") < host_ip.index(
        "link add alvx-7 type vxlan id 7 local 192.0.2.1 dstport 4789 nolearning proxy"
    )
    assert "link set dev tapx up" in host_ip


def test_removals_go_last_and_skip_what_goes_with_a_namespace_or_device() -> None:
    ns = "alcor-h1-ep-p1"
    held = k.objects(
        [
            bridge(7),
            vxlan(7),
            k.Fdb(dev="alvx-7", mac="fa:16:3e:00:00:05", dst="192.0.2.2"),
            k.Netns(ns),
            k.Link(ns=H, name="tapp1", kind="veth", peer="eth0", peer_ns=ns, master="albr-7"),
            k.Address(ns, "eth0", "10.0.0.4/24"),
            k.Link(ns=H, name="tapnova", kind="", master="albr-7"),
        ]
    )
    ops = planning.diff(held, {}, {})
    rendered = lines(planning.stages(ops))
    assert rendered == [
        ("ip", H, ["link set dev tapnova nomaster", "link del dev tapp1", "link del dev alvx-7",
                   "link del dev albr-7"]),
        ("ip", H, [f"netns del {ns}"]),
    ]  # fmt: skip


def test_an_address_removed_sets_the_namespaces_routes_again() -> None:
    ns = "alcor-h1-ep-p1"
    route = k.Route(ns=ns, dst="0.0.0.0/0", via="10.0.0.1", dev="eth0")
    held = k.objects([k.Netns(ns), k.Address(ns, "eth0", "10.0.0.4/24"), route])
    wanted = k.objects([k.Netns(ns), k.Address(ns, "eth0", "10.0.0.5/24"), route])
    rendered = lines(planning.stages(planning.diff(held, wanted, {})))
    assert rendered == [
        ("ip", ns, ["addr del 10.0.0.4/24 dev eth0", "addr replace 10.0.0.5/24 dev eth0",
                    "route replace 0.0.0.0/0 via 10.0.0.1 dev eth0"]),
    ]  # fmt: skip


def test_making_an_endpoint_runs_in_order_and_every_line_names_its_owner() -> None:
    ns = "alcor-h1-ep-p1"
    owner = "port:p1"
    wanted = k.objects(
        [
            k.Netns(ns),
            k.Link(ns=H, name="tapp1", kind="veth", peer="eth0", peer_ns=ns, master="albr-7",
                   mtu=1450, ipv6_auto=False),
            k.Link(ns=ns, name="lo", kind=""),
            k.Link(ns=ns, name="eth0", kind=k.PEER, mac="fa:16:3e:00:00:01", mtu=1450),
            k.Address(ns, "eth0", "10.0.0.4/24"),
            k.Route(ns=ns, dst="0.0.0.0/0", via="10.0.0.1", dev="eth0"),
        ]
    )  # fmt: skip
    owners = dict.fromkeys(wanted, owner)
    stages = planning.stages(planning.diff({}, wanted, owners))
    assert lines(stages) == [
        ("ip", H, [f"netns add {ns}"]),
        ("ip", H, [f"link add tapp1 type veth peer name eth0 netns {ns}",
                   "link set dev tapp1 addrgenmode none",
                   "link set dev tapp1 master albr-7 mtu 1450 up"]),
        ("ip", ns, ["link set dev lo up", "link set dev eth0 mtu 1450 address fa:16:3e:00:00:01 up",
                    "addr replace 10.0.0.4/24 dev eth0",
                    "route replace 0.0.0.0/0 via 10.0.0.1 dev eth0"]),
    ]  # fmt: skip
    assert {line.owner for stage in stages for batch in stage for line in batch.lines} == {owner}


def test_segments_first_then_their_entries_side_by_side() -> None:
    neigh = k.Neigh(ns=H, dev="alvx-7", ip="10.0.0.5", mac="fa:16:3e:00:00:05")
    own = k.Fdb(dev="alvx-7", mac="fa:16:3e:00:00:05", dst="192.0.2.2")
    master = k.Fdb(dev="alvx-7", mac="fa:16:3e:00:00:05")
    wanted = k.objects([vxlan(7), bridge(7), neigh, own, master])
    devices, entries = planning.stages(planning.diff({}, wanted, {}))
    assert lines([devices]) == [
        ("ip", H, ["link add albr-7 type bridge nf_call_iptables 1 nf_call_ip6tables 1",
                   "link add alvx-7 type vxlan id 7 local 192.0.2.1 dstport 4789 nolearning proxy",
                   "link set dev alvx-7 addrgenmode none", "link set dev albr-7 addrgenmode none",
                   "link set dev alvx-7 master albr-7 mtu 1450 up", "link set dev albr-7 up"]),
    ]  # fmt: skip
    assert lines([entries]) == [
        ("ip", H, ["neigh replace 10.0.0.5 lladdr fa:16:3e:00:00:05 dev alvx-7 nud permanent"]),
        ("bridge", H, ["link set dev alvx-7 learning off",
                       "fdb replace fa:16:3e:00:00:05 dev alvx-7 dst 192.0.2.2 self permanent",
                       "fdb replace fa:16:3e:00:00:05 dev alvx-7 master static"]),
    ]  # fmt: skip
    removed = planning.stages(planning.diff(k.objects([own, master, neigh]), {}, {}))
    assert len(removed) == 1
    assert lines(removed) == [
        ("bridge", H, ["fdb del fa:16:3e:00:00:05 dev alvx-7 dst 192.0.2.2 self",
                       "fdb del fa:16:3e:00:00:05 dev alvx-7 master"]),
        ("ip", H, ["neigh del 10.0.0.5 dev alvx-7"]),
    ]  # fmt: skip


# --- failures -------------------------------------------------------------------------------------


def test_a_failing_batch_line_is_pinned_to_its_owner() -> None:
    batch = [planning.Line("link add a type bridge", "network:n"),
             planning.Line("link set dev tapx master albr-7 up", "port:p")]  # fmt: skip
    stderr = 'Cannot find device "tapx"\nCommand failed -:2\n'
    assert executing._failed_lines(stderr, batch) == [
        executing.Failed("port:p", 'Cannot find device "tapx" (link set dev tapx master albr-7 up)')
    ]


def test_detaching_from_a_device_already_gone_is_done_not_failed() -> None:
    """Nova or alcor-cni deleted the tap before the port's removal reached the agent."""
    batch = [planning.Line("link set dev tapx nomaster", "port:p"),
             planning.Line("fdb del fa:16:3e:00:00:05 dev tapx master", "port:p"),
             planning.Line("link set dev tapy master albr-7 up", "port:q"),
             planning.Line("link set dev albr-9 nomaster", "network:n")]  # fmt: skip
    stderr = (
        'Cannot find device "tapx"\nCommand failed -:1\n'
        'Cannot find device "tapx"\nCommand failed -:2\n'
        'Cannot find device "tapy"\nCommand failed -:3\n'
        "RTNETLINK answers: Operation not permitted\nCommand failed -:4\n"
    )
    assert [f.owner for f in executing._failed_lines(stderr, batch)] == ["port:q", "network:n"]


# --- observing ------------------------------------------------------------------------------------

LINKS = json.loads("""[
 {"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,"address":"00:00:00:00:00:00"},
 {"ifname":"eth0","flags":["UP"],"mtu":1500,"linkinfo":{"info_kind":"veth"}},
 {"ifname":"albr-100","flags":["BROADCAST","UP"],"mtu":1450,"address":"82:81:de:24:bb:fb",
  "inet6_addr_gen_mode":"none",
  "linkinfo":{"info_kind":"bridge","info_data":{"nf_call_iptables":1,"nf_call_ip6tables":1}}},
 {"ifname":"alvx-100","master":"albr-100","flags":["UP","LOWER_UP"],"mtu":1450,
  "inet6_addr_gen_mode":"none",
  "address":"82:81:de:24:bb:fb","linkinfo":{"info_kind":"vxlan","info_data":{"id":100,
  "local":"192.0.2.11","port":4789,"learning":false,"proxy":true},
  "info_slave_data":{"learning":false}}},
 {"ifname":"tap123","master":"albr-100","flags":["UP"],"mtu":1450,"address":"da:1b:98:44:e6:f8",
  "link_netnsid":0,"linkinfo":{"info_kind":"veth","info_slave_data":{"learning":true}}},
 {"ifname":"tapnova","master":"br-other","flags":["UP"],"mtu":1500,
  "linkinfo":{"info_kind":"tun"}}
]""")


def test_host_links_are_read_as_the_driver_wants_them() -> None:
    found = k.objects(observing.host_links(LINKS, endpoint_mode="netns"))
    assert set(found) == {("link", H, "albr-100"), ("link", H, "alvx-100"), ("link", H, "tap123")}
    assert k.satisfies(found[("link", H, "albr-100")], bridge(100))
    assert k.satisfies(found[("link", H, "alvx-100")], vxlan(100, local="192.0.2.11"))
    taps = observing.host_links(LINKS, endpoint_mode="tap")
    assert [(link.name, link.kind) for link in taps if isinstance(link, k.Link)][-1] == (
        "tap123",
        "",
    )  # attached to our bridge; the tap on another bridge is none of ours


def test_forwarding_and_neighbor_entries_on_our_vxlan_devices_are_read() -> None:
    fdb = json.loads("""[
     {"mac":"fa:16:3e:00:00:05","ifname":"alvx-100","flags":[],"master":"albr-100",
      "state":"static"},
     {"mac":"82:81:de:24:bb:fb","ifname":"alvx-100","flags":[],"master":"albr-100",
      "state":"permanent"},
     {"mac":"fa:16:3e:00:00:05","ifname":"alvx-100","dst":"192.0.2.12","flags":["self"],
      "state":"permanent"},
     {"mac":"33:33:00:00:00:01","ifname":"albr-100","flags":["self"],"state":"permanent"}
    ]""")
    assert observing.forwarding(fdb) == [
        k.Fdb(dev="alvx-100", mac="fa:16:3e:00:00:05"),
        k.Fdb(dev="alvx-100", mac="fa:16:3e:00:00:05", dst="192.0.2.12"),
    ]
    neighbors = json.loads("""[
     {"dst":"10.0.0.5","dev":"alvx-100","lladdr":"fa:16:3e:00:00:05","state":["PERMANENT"]},
     {"dst":"2001:db8:0::5","dev":"alvx-100","lladdr":"fa:16:3e:00:00:05","state":["PERMANENT"]},
     {"dst":"192.0.2.12","dev":"eth0","lladdr":"aa:aa:aa:aa:aa:aa","state":["REACHABLE"]}
    ]""")
    assert observing.neighbors(neighbors) == [
        k.Neigh(ns=H, dev="alvx-100", ip="10.0.0.5", mac="fa:16:3e:00:00:05"),
        k.Neigh(ns=H, dev="alvx-100", ip="2001:db8::5", mac="fa:16:3e:00:00:05"),
    ]


def test_a_namespace_is_read_without_the_kernels_own_routes_and_addresses() -> None:
    text = """[{"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,"address":"00:00:00:00:00:00",
      "addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host"}]},
     {"ifname":"eth0","flags":["UP"],"mtu":1450,"address":"fa:16:3e:00:00:01",
      "linkinfo":{"info_kind":"veth"},
      "addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24,"scope":"global"},
                   {"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]}]
    [{"type":"unicast","dst":"default","gateway":"10.0.0.254","dev":"eth0","protocol":"boot"},
     {"type":"unicast","dst":"10.0.0.0/24","dev":"eth0","protocol":"kernel"}]"""
    links, routes = observing.documents(text)
    v6 = [{"dst": "fe80::/64", "dev": "eth0", "protocol": "kernel"},
          {"dst": "default", "gateway": "2001:db8::fe", "dev": "eth0"}]  # fmt: skip
    found = observing.namespace("ns1", links, links, routes + v6)
    assert found == [
        k.Link(ns="ns1", name="lo", kind="", mtu=65536, mac="00:00:00:00:00:00", up=True),
        k.Link(ns="ns1", name="eth0", kind=k.PEER, mtu=1450, mac="fa:16:3e:00:00:01", up=True),
        k.Address("ns1", "eth0", "10.0.0.1/24"),
        k.Address("ns1", "eth0", "fe80::1/64"),
        k.Route(ns="ns1", dst="0.0.0.0/0", via="10.0.0.254", dev="eth0"),
        k.Route(ns="ns1", dst="::/0", via="2001:db8::fe", dev="eth0"),
    ]


def test_zones_are_read_back_from_the_ruleset() -> None:
    document = {"nftables": [{"metainfo": {}}, {"map": {"name": "zones", "elem": [
        ["albr-100", 7], ["albr-200", 8]]}}]}  # fmt: skip
    assert observing.zones(document) == {"albr-100": 7, "albr-200": 8}
