"""Virtual IPs across hosts on the linux driver: which hosts carry a network's pairs' ARP, to
whom, for which addresses (``vips``), and that the driver follows the pairs as they come and go
(over the in-memory kernel, fed by the real goal-state engine)."""

from __future__ import annotations

from alcor.agent.drivers.linux import executing, layouts, names, planning, vips
from alcor.agent.drivers.linux import kernel as k
from alcor.model import records
from alcor.v1 import southbound_pb2 as pb
from tests.unit.test_linux_driver import IP, Agent, World

HOST = layouts.HostSettings(host_id="h1", underlay_ip="192.0.2.11")
NETWORK = pb.Network(id="n", network_type="vxlan", segmentation_id=77, mtu=1450)


def neighbor(
    port: str, host: str, host_ip: str, *pairs: tuple[str, str], mac: str = "fa:16:3e:00:00:01"
) -> pb.Neighbor:
    return pb.Neighbor(
        port_id=port,
        network_id="n",
        segmentation_id=77,
        mac_address=mac,
        ip_addresses=["10.0.0.5"],
        host_id=host,
        host_ip=host_ip,
        allowed_address_pairs=[pb.AddressPair(ip_address=a, mac_address=m) for a, m in pairs],
    )


def test_a_networks_pairs_get_a_device_without_proxy_flooding_to_every_other_host() -> None:
    holder = neighbor("p1", "h2", "192.0.2.12", ("10.0.0.100", "fa:16:3e:00:00:01"))
    standby = neighbor("p2", "h3", "192.0.2.13", ("10.0.0.100", "fa:16:3e:00:00:02"),
                       mac="fa:16:3e:00:00:02")  # fmt: skip
    plain = neighbor("p3", "h4", "192.0.2.14", mac="fa:16:3e:00:00:03")
    mine = neighbor("p4", "h1", "192.0.2.11", mac="fa:16:3e:00:00:04")
    path = vips.path(NETWORK, [holder, standby, plain, mine], HOST)
    assert path is not None
    found = k.objects(path.objects)
    device = found[("link", k.HOST, "alvp-77")]
    assert isinstance(device, k.Link)
    assert device.master == "albr-77"
    assert device.learning is False
    assert device.vxlan == k.Vxlan(vni=77, local="192.0.2.11", port=4790, learning=True,
                                   proxy=False)  # fmt: skip
    flooded = {obj.dst for obj in path.objects if isinstance(obj, k.Fdb) and obj.dev == "alvp-77"}
    assert flooded == {"192.0.2.12", "192.0.2.13", "192.0.2.14"}  # not this host
    table = found[("nftables", k.HOST, "bridge alcor_vip_77")]
    assert isinstance(table, k.Nftables)
    assert "elements = { 10.0.0.100/32 }" in table.text
    assert 'oifname "alvp-77" drop' in table.text
    assert not [obj for obj in path.objects if isinstance(obj, k.Neigh)]  # never proxied


def test_nothing_without_an_ipv4_pair_or_without_another_host() -> None:
    assert vips.path(NETWORK, [neighbor("p1", "h2", "192.0.2.12")], HOST) is None
    v6 = neighbor("p1", "h2", "192.0.2.12", ("fd00::5", "fa:16:3e:00:00:01"))
    assert vips.path(NETWORK, [v6], HOST) is None
    alone = neighbor("p1", "h1", "192.0.2.11", ("10.0.0.100", "fa:16:3e:00:00:01"))
    assert vips.path(NETWORK, [alone], HOST) is None
    assert vips.path(None, [alone], HOST) is None


def test_cidr_pairs_are_merged_into_the_fewest_intervals() -> None:
    wide = neighbor("p1", "h2", "192.0.2.12", ("10.0.0.96/28", ""), ("10.0.0.100", ""),
                    ("10.0.0.112/28", ""))  # fmt: skip
    assert vips.pairs([wide]) == ["10.0.0.96/27"]
    path = vips.path(NETWORK, [wide], HOST)
    assert path is not None
    table = next(obj for obj in path.objects if isinstance(obj, k.Nftables))
    assert "elements = { 10.0.0.96/27 }" in table.text


def test_a_pairs_own_mac_is_pinned_on_its_tap_here_and_sent_to_its_host_elsewhere() -> None:
    here = neighbor("p-local-1234", "h1", "192.0.2.11", ("10.0.0.100", "fa:16:3e:aa:00:01"))
    there = neighbor("p-remote-123", "h2", "192.0.2.12", ("10.0.0.101", "fa:16:3e:aa:00:02"),
                     mac="fa:16:3e:00:00:02")  # fmt: skip
    path = vips.path(NETWORK, [here, there], HOST)
    assert path is not None
    macs = {(o.dev, o.mac, o.dst) for o in path.objects if isinstance(o, k.Fdb) and o.mac[0] != "0"}
    assert macs == {
        (names.tap("p-local-1234"), "fa:16:3e:aa:00:01", ""),
        ("alvx-77", "fa:16:3e:aa:00:02", "192.0.2.12"),
    }


def test_flood_entries_are_appended_one_per_host_and_removed_one_by_one() -> None:
    one = k.Fdb(dev="alvp-77", mac=vips.FLOOD_MAC, dst="192.0.2.12")
    two = k.Fdb(dev="alvp-77", mac=vips.FLOOD_MAC, dst="192.0.2.13")
    assert k.identity(one) != k.identity(two)
    ops = planning.diff(k.objects([one]), k.objects([two]), {})
    lines = [line.text for stage in planning.stages(ops) for b in stage for line in b.lines]
    assert lines == [
        "fdb append 00:00:00:00:00:00 dev alvp-77 dst 192.0.2.13 self permanent",
        "fdb del 00:00:00:00:00:00 dev alvp-77 dst 192.0.2.12 self",
    ]


def test_the_driver_follows_pairs_as_they_come_and_go_on_every_host() -> None:
    world = World()
    agents = {host: Agent(world.cloud, host, executing.InMemory()) for host in IP}
    for agent in agents.values():
        assert agent.start() == []
        assert not [o for o in agent.kernel.objects if o[:3] == ("link", k.HOST, "alvp-5000")]
    world.cloud.change(world.a1, allowed_address_pairs=[_pair("10.0.1.100", world.mac(world.a1))])
    world.cloud.change(world.a2, allowed_address_pairs=[_pair("10.0.1.100", world.mac(world.a2))])
    for host, agent in agents.items():
        assert agent.follow() == []
        objects = agent.kernel.objects
        assert ("link", k.HOST, "alvp-5000") in objects
        assert ("link", k.HOST, "alvp-5001") not in objects  # network B has no pairs
        other = IP["h2" if host == "h1" else "h1"]
        assert ("fdb-self", "alvp-5000", vips.FLOOD_MAC, other) in objects
        assert ("neigh", k.HOST, "alvx-5000", "10.0.1.100") not in objects
    # a restarted agent reads the device and its entries back and changes nothing
    again = Agent(world.cloud, "h1", agents["h1"].kernel)
    assert again.start() == []
    assert [op for op in again.last_ops() if not isinstance(op.obj, k.Nftables)] == []
    world.cloud.change(world.a1, allowed_address_pairs=[])
    world.cloud.change(world.a2, allowed_address_pairs=[])
    for agent in (again, agents["h2"]):
        assert agent.follow() == []
        assert ("link", k.HOST, "alvp-5000") not in agent.kernel.objects
        assert not [o for o in agent.kernel.objects if o[:2] == ("fdb-self", "alvp-5000")]


def _pair(ip: str, mac: str) -> records.AddressPair:
    return records.AddressPair(ip_address=ip, mac_address=mac)


def test_a_local_holders_replies_to_a_router_are_copied_to_the_other_hosts() -> None:
    """A distributed router's MAC is the same on every host: a reply to it stays on the
    holder's host unless copied out of the VIP device, and only the port's own pairs from its
    own MACs, unicast to a router, are."""
    mine = neighbor("p-local-1234", "h1", "192.0.2.11", ("10.0.0.100", ""), ("10.0.0.8/29", ""))
    theirs = neighbor("p-remote-123", "h2", "192.0.2.12", ("10.0.0.200", ""))
    without = vips.path(NETWORK, [mine, theirs], HOST)
    assert without is not None
    assert not [o for o in without.objects if isinstance(o, k.Nftables) and "netdev" in o.table]
    path = vips.path(NETWORK, [mine, theirs], HOST, router_macs=["FA:16:3E:00:00:FE"])
    assert path is not None
    (copies,) = [o for o in path.objects if isinstance(o, k.Nftables) and "netdev" in o.table]
    tap = names.tap("p-local-1234")
    assert f'hook ingress device "{tap}"' in copies.text
    assert "ether daddr { fa:16:3e:00:00:fe }" in copies.text
    assert "arp operation reply arp saddr ip { 10.0.0.8/29, 10.0.0.100/32 }" in copies.text
    assert 'dup to "alvp-77"' in copies.text
    assert "10.0.0.200" not in copies.text  # another port's pair, on another host
    # no local holder: nothing to copy
    remote_only = vips.path(NETWORK, [theirs], HOST, router_macs=["fa:16:3e:00:00:fe"])
    assert remote_only is not None
    assert not [o for o in remote_only.objects if isinstance(o, k.Nftables) and "netdev" in o.table]


def test_a_router_joining_the_network_brings_the_copies_on_the_holders_host() -> None:
    world = World()
    agents = {host: Agent(world.cloud, host, executing.InMemory()) for host in IP}
    world.cloud.change(world.a1, allowed_address_pairs=[_pair("10.0.1.100", world.mac(world.a1))])
    for agent in agents.values():
        assert agent.start() == []
    held = agents["h1"].kernel.objects
    assert ("nftables", k.HOST, "netdev alcor_vipr_5000") in held  # the router is on A already
    assert ("nftables", k.HOST, "netdev alcor_vipr_5000") not in agents["h2"].kernel.objects
    interface = next(
        port_id
        for port_id, record in world.cloud.records.items()
        if isinstance(record, records.Port)
        and record.router_id == world.router
        and record.network_id == world.net_a
    )
    world.cloud.delete(interface)
    assert agents["h1"].follow() == []
    assert ("nftables", k.HOST, "netdev alcor_vipr_5000") not in agents["h1"].kernel.objects
    assert ("link", k.HOST, "alvp-5000") in agents["h1"].kernel.objects


def test_hosts_one_router_hop_away_hear_the_networks_vip_arp() -> None:
    """A host with ports only on the other side of the router routes to the VIP from its own
    router namespace: the holder's announcements must reach it too."""
    world = World()
    world.cloud.host("h3", "192.0.2.13")
    world.cloud.port(world.sub_b, "10.0.2.13", host="h3", groups=(world.group,))
    world.cloud.change(world.a1, allowed_address_pairs=[_pair("10.0.1.100", world.mac(world.a1))])
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    assert h1.start() == []
    flooded = {
        o[3] for o in h1.kernel.objects if o[:3] == ("fdb-self", "alvp-5000", vips.FLOOD_MAC)
    }
    assert flooded == {"192.0.2.12", "192.0.2.13"}
    # a new port one hop away is one more destination, followed as it comes
    world.cloud.host("h4", "192.0.2.14")
    world.cloud.port(world.sub_b, "10.0.2.14", host="h4", groups=(world.group,))
    assert h1.follow() == []
    assert ("fdb-self", "alvp-5000", vips.FLOOD_MAC, "192.0.2.14") in h1.kernel.objects


def test_routed_hosts_and_gateway_hosts_are_flooded_to_but_never_this_one() -> None:
    holder = neighbor("p1", "h2", "192.0.2.12", ("10.0.0.100", ""))
    path = vips.path(
        NETWORK, [holder], HOST, routed_hosts=["192.0.2.13", "", "192.0.2.11", "192.0.2.12"]
    )  # a host across the router, a router without gateway, this host, the holder's again
    assert path is not None
    flooded = sorted(o.dst for o in path.objects if isinstance(o, k.Fdb) and o.dev == "alvp-77")
    assert flooded == ["192.0.2.12", "192.0.2.13"]
