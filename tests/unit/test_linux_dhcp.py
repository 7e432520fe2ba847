"""DHCP in the linux driver: the dnsmasq configuration worked out from the goal state (pure),
and the driver keeping servers and clients as the goal state wants over an in-memory kernel and
in-memory daemons (``supervising.InMemory``)."""

from __future__ import annotations

from alcor.agent.drivers.linux import (
    dhcp,
    executing,
    layouts,
    names,
    nft,
    observing,
    planning,
    supervising,
)
from alcor.agent.drivers.linux import kernel as k
from alcor.v1 import southbound_pb2 as pb
from tests.goalstates import Cloud
from tests.unit.test_linux_driver import IP, Agent

HOST = layouts.HostSettings(host_id="h1", underlay_ip=IP["h1"], endpoint_mode="netns")


class Lookup:
    def __init__(self, *networks: pb.Network, subnets: tuple[pb.Subnet, ...] = ()) -> None:
        self.networks = {network.id: network for network in networks}
        self.subnets = {subnet.id: subnet for subnet in subnets}

    def network(self, network_id: str) -> pb.Network | None:
        return self.networks.get(network_id)

    def subnet(self, subnet_id: str) -> pb.Subnet | None:
        return self.subnets.get(subnet_id)


NET = pb.Network(id="n1", network_type="vxlan", segmentation_id=100, mtu=1400)
SUB = pb.Subnet(
    id="s1",
    network_id="n1",
    ip_version=4,
    cidr="10.0.1.0/24",
    gateway_ip="10.0.1.1",
    enable_dhcp=True,
    dns_nameservers=["192.0.2.53", "2001:db8::53"],
    host_routes=[pb.Route(destination="10.9.0.0/16", nexthop="10.0.1.254")],
)
PORT = pb.Port(
    id="p1",
    network_id="n1",
    mac_address="FA:16:3E:00:00:11",
    fixed_ips=[pb.FixedIp(subnet_id="s1", ip_address="10.0.1.11")],
)


def _services(
    *,
    subnets: tuple[pb.Subnet, ...] = (SUB,),
    ports: tuple[pb.Port, ...] = (PORT,),
    neighbors: tuple[pb.Neighbor, ...] = (),
    network: pb.Network = NET,
) -> dict[str, dhcp.Service]:
    lookup = Lookup(network, subnets=subnets)
    names = dhcp.Names()
    for neighbor in neighbors:
        names.put(neighbor.port_id, neighbor)
    return dhcp.services(ports=ports, subnets=subnets, dns_names=names, lookup=lookup, host=HOST)


def _files(daemon: supervising.Daemon) -> dict[str, str]:
    return {file.name: file.text for file in daemon.files}


# --- what a server is, from the goal state (pure) ----------------------------------------------


def test_a_network_with_a_dhcp_subnet_and_a_port_here_gets_a_server() -> None:
    service = _services()["n1"]
    ns = names.dhcp_netns(HOST.prefix, "n1")
    objects = k.objects(service.layout.objects)
    leg = objects[("link", k.HOST, "aldh-100")]
    assert isinstance(leg, k.Link)
    assert (leg.kind, leg.master, leg.peer, leg.peer_ns, leg.mtu) == (
        "veth", "albr-100", "dh0", ns, 1400,
    )  # fmt: skip
    inside = objects[("link", ns, "dh0")]
    assert isinstance(inside, k.Link)
    assert inside.mac == layouts.shared_mac("n1")
    assert ("address", ns, "dh0", "169.254.169.254/32") in objects
    assert objects[("route", ns, "10.0.1.0/24")] == k.Route(ns=ns, dst="10.0.1.0/24", dev="dh0")
    daemon = service.daemon
    assert daemon.netns == ns
    assert daemon.rereads
    folder = f"{HOST.state}/dhcp/n1"
    assert daemon.argv[0] == "dnsmasq"
    for word in (
        "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--bind-interfaces",
        "--interface=dh0", "--except-interface=lo", f"--pid-file={folder}/pid",
        f"--dhcp-hostsfile={folder}/hosts", f"--dhcp-optsfile={folder}/opts",
        f"--dhcp-leasefile={folder}/leases", "--shared-network=dh0,10.0.1.0",
        "--dhcp-range=set:subnet-s1,10.0.1.0,static,255.255.255.0,86400s",
    ):  # fmt: skip
        assert word in daemon.argv, word
    assert not any(word.startswith("--port") for word in daemon.argv)  # DNS on 53
    assert _files(daemon) == {
        "names": "",  # no neighbor entries held (yet)
        "hosts": "fa:16:3e:00:00:11,10.0.1.11,host-10-0-1-11\n",
        "opts": "tag:subnet-s1,option:classless-static-route,169.254.169.254/32,0.0.0.0,"
        "0.0.0.0/0,10.0.1.1,10.9.0.0/16,10.0.1.254\n"
        "tag:subnet-s1,option:router,10.0.1.1\n"
        "tag:subnet-s1,option:dns-server,192.0.2.53\n"
        "tag:subnet-s1,option:mtu,1400\n",
    }


def neighbor(port_id: str, *addresses: str, name: str = "", host: str = "h2") -> pb.Neighbor:
    return pb.Neighbor(
        port_id=port_id, network_id="n1", ip_addresses=list(addresses), dns_name=name, host_id=host
    )


def test_the_server_answers_the_names_of_every_port_of_the_network() -> None:
    """Internal DNS: every neighbor of the network (on any host; this host's ports are
    neighbors too) is named in ``names``, by its ``dns_name`` or its addresses, under the
    network entry's domain, which is also the DHCP domain and answered locally."""
    network = pb.Network(
        id="n1", network_type="vxlan", segmentation_id=100, mtu=1400, dns_domain="example.org."
    )
    neighbors = (
        neighbor("p1", "10.0.1.11", name="web", host="h1"),
        neighbor("p9", "10.0.1.19", "fd00::19"),
        neighbor("p8", "10.0.1.18", name="a.b"),
        neighbor("p7", "10.0.1.17", name="bad name\n10.6.6.6 evil"),
        pb.Neighbor(port_id="px", network_id="n2", ip_addresses=["10.2.0.5"], dns_name="other"),
    )
    daemon = _services(neighbors=neighbors, network=network)["n1"].daemon
    assert "--domain=example.org" in daemon.argv
    assert "--local=/example.org/" in daemon.argv
    files = _files(daemon)
    assert files["names"] == (
        "10.0.1.11 web.example.org web\n"
        "10.0.1.17 host-10-0-1-17.example.org host-10-0-1-17\n"
        "10.0.1.18 a.b.example.org a.b\n"
        "10.0.1.19 host-10-0-1-19.example.org host-10-0-1-19\n"
        "fd00::19 host-fd00--19.example.org host-fd00--19\n"
    )
    # the DHCP hostname of an own port is its name
    assert files["hosts"] == "fa:16:3e:00:00:11,10.0.1.11,web\n"


def test_a_renamed_port_is_reread_not_restarted() -> None:
    network = pb.Network(
        id="n1", network_type="vxlan", segmentation_id=100, mtu=1400, dns_domain="example.org."
    )
    before = _services(neighbors=(neighbor("p9", "10.0.1.19", name="old"),), network=network)
    after = _services(neighbors=(neighbor("p9", "10.0.1.19", name="new"),), network=network)
    old, new = before["n1"].daemon, after["n1"].daemon
    assert old.argv == new.argv  # same command line: a SIGHUP rereads the files
    assert _files(new)["names"] == "10.0.1.19 new.example.org new\n"


def test_the_names_follow_the_neighbors_as_they_come_and_go() -> None:
    names = dhcp.Names()
    names.put("p1", neighbor("p1", "10.0.1.11", name="a"))
    names.put("q1", pb.Neighbor(port_id="q1", network_id="n2", ip_addresses=["10.2.0.1"]))
    assert names.file("n1", "x.org.") == "10.0.1.11 a.x.org a\n"
    names.put("p1", neighbor("p1", "10.0.1.21", name="b"))  # renamed and readdressed
    names.put("p2", neighbor("p2", "10.0.1.12"))
    assert names.file("n1", "x.org.") == (
        "10.0.1.21 b.x.org b\n10.0.1.12 host-10-0-1-12.x.org host-10-0-1-12\n"
    )
    assert names.file("n1", "") == "10.0.1.21 b\n10.0.1.12 host-10-0-1-12\n"
    assert (names.name_of("p1"), names.name_of("p2"), names.name_of("gone")) == ("b", "", "")
    names.drop("p1")
    names.drop("p2")
    assert names.file("n1", "x.org.") == ""
    assert names.file("n2", "x.org.") == "10.2.0.1 host-10-2-0-1.x.org host-10-2-0-1\n"


def test_without_a_domain_names_are_bare() -> None:
    daemon = _services(neighbors=(neighbor("p9", "10.0.1.19", name="vm"),))["n1"].daemon
    assert not any(word.startswith(("--domain", "--local")) for word in daemon.argv)
    assert _files(daemon)["names"] == "10.0.1.19 vm\n"


def test_a_ports_own_options_are_tagged_with_the_port() -> None:
    """``extra_dhcp_opts``: the port's MAC sets its tag, its IPv4 options name it (by
    dnsmasq name or number), IPv6 ones are not this server's, and one holding a newline is
    left out whole (it would be an option for every client of the server)."""
    port = pb.Port(
        id="p2",
        network_id="n1",
        mac_address="fa:16:3e:00:00:12",
        fixed_ips=[pb.FixedIp(subnet_id="s1", ip_address="10.0.1.12")],
        extra_dhcp_opts=[
            pb.DhcpOption(name="bootfile-name", value="pxelinux.0", ip_version=4),
            pb.DhcpOption(name="66", value="10.0.1.5", ip_version=4),
            pb.DhcpOption(name="tftp-server", value="2001:db8::5", ip_version=6),
            pb.DhcpOption(name="domain-name", value="x\noption:router,10.0.1.66", ip_version=4),
        ],
    )
    daemon = _services(ports=(PORT, port))["n1"].daemon
    files = _files(daemon)
    assert files["hosts"] == (  # no set: here: dnsmasq 2.90 crashes on a SIGHUP after it
        "fa:16:3e:00:00:11,10.0.1.11,host-10-0-1-11\nfa:16:3e:00:00:12,10.0.1.12,host-10-0-1-12\n"
    )
    assert [w for w in daemon.argv if w.startswith("--dhcp-mac")] == [
        "--dhcp-mac=set:port-p2,fa:16:3e:00:00:12"
    ]
    own = [line for line in files["opts"].splitlines() if not line.startswith("tag:subnet-")]
    assert own == ["tag:port-p2,option:bootfile-name,pxelinux.0", "tag:port-p2,66,10.0.1.5"]


def test_the_servers_mac_is_the_same_everywhere_local_and_unicast() -> None:
    assert layouts.shared_mac("n1") == layouts.shared_mac("n1") != layouts.shared_mac("n2")
    assert layouts.shared_mac("n1").startswith("fa:16:3f:")
    first = int(layouts.shared_mac("n1")[:2], 16)
    assert first & 0x02  # locally administered
    assert not first & 0x01  # unicast


def test_no_gateway_means_no_router_and_a_default_host_route_replaces_the_gateway() -> None:
    bare = pb.Subnet(id="s1", network_id="n1", cidr="10.0.1.0/24", enable_dhcp=True)
    assert dhcp.subnet_options(bare, tag="t", mtu=1450) == [
        "tag:t,option:classless-static-route,169.254.169.254/32,0.0.0.0",
        "tag:t,option:router",  # empty: dnsmasq would name itself the router
        "tag:t,option:mtu,1450",
    ]
    routed = pb.Subnet(
        id="s1", network_id="n1", cidr="10.0.1.0/24", enable_dhcp=True, gateway_ip="10.0.1.1",
        host_routes=[pb.Route(destination="0.0.0.0/0", nexthop="10.0.1.2")],
    )  # fmt: skip
    assert dhcp.subnet_options(routed, tag="t", mtu=1450)[0] == (
        "tag:t,option:classless-static-route,169.254.169.254/32,0.0.0.0,0.0.0.0/0,10.0.1.2"
    )


def test_no_server_without_a_dhcp_subnet_or_a_port_here() -> None:
    off = pb.Subnet(id="s1", network_id="n1", cidr="10.0.1.0/24", enable_dhcp=False)
    v6 = pb.Subnet(  # SLAAC: no DHCP (test_linux_ipv6 has what DHCPv6 serves)
        id="s1", network_id="n1", cidr="2001:db8::/64", enable_dhcp=True, ipv6_address_mode="slaac"
    )
    assert _services(subnets=(off,)) == {}
    assert _services(subnets=(v6,)) == {}
    assert _services(ports=()) == {}


def test_two_subnets_share_one_server_and_each_address_has_its_line() -> None:
    other = pb.Subnet(id="s2", network_id="n1", cidr="10.0.2.0/24", enable_dhcp=True)
    port = pb.Port(
        id="p1", network_id="n1", mac_address="fa:16:3e:00:00:11",
        fixed_ips=[pb.FixedIp(subnet_id="s1", ip_address="10.0.1.11"),
                   pb.FixedIp(subnet_id="s2", ip_address="10.0.2.11")],
    )  # fmt: skip
    service = _services(subnets=(SUB, other), ports=(port,))["n1"]
    assert "--shared-network=dh0,10.0.2.0" in service.daemon.argv
    assert _files(service.daemon)["hosts"].splitlines() == [
        "fa:16:3e:00:00:11,10.0.1.11,host-10-0-1-11",
        "fa:16:3e:00:00:11,10.0.2.11,host-10-0-2-11",
    ]
    assert ("route", service.daemon.netns, "10.0.2.0/24") in k.objects(service.layout.objects)


def test_dhcp_addressing_leaves_the_address_to_a_client_in_the_endpoint() -> None:
    dhcp_host = layouts.HostSettings(
        host_id="h1", underlay_ip=IP["h1"], endpoint_mode="netns", endpoint_addressing="dhcp"
    )
    lookup = Lookup(NET, subnets=(SUB,))
    ns = names.endpoint_netns(dhcp_host.prefix, "p1")
    static = k.objects(layouts.of_port(PORT, lookup, HOST).objects)
    given = k.objects(layouts.of_port(PORT, lookup, dhcp_host).objects)
    assert ("address", ns, "eth0", "10.0.1.11/24") in static
    assert static.keys() - given.keys() == {
        ("address", ns, "eth0", "10.0.1.11/24"),
        ("route", ns, "0.0.0.0/0"),
        ("route", ns, "10.9.0.0/16"),
    }
    client = dhcp.clients(ports=[PORT], lookup=lookup, host=dhcp_host)["p1"]
    assert client.netns == ns
    assert client.argv[:2] == ("busybox", "udhcpc")
    assert client.argv[client.argv.index("-r") + 1] == "10.0.1.11"
    assert "/etc/resolv.conf" not in _files(client)["script"].replace("never /etc", "")
    assert dhcp.clients(ports=[PORT], lookup=lookup, host=HOST) == {}


def test_a_lease_file_is_read() -> None:
    assert dhcp.lease("ip=10.0.1.11/24\nmtu=1400\nbroken\n") == {
        "ip": "10.0.1.11/24",
        "mtu": "1400",
    }


def test_a_route_without_a_gateway_is_on_link() -> None:
    route = k.Route(ns="x", dst="10.0.1.0/24", dev="dh0")
    [[batch]] = planning.stages([planning.Op(action="add", obj=route)])
    assert [line.text for line in batch.lines] == ["route replace 10.0.1.0/24 dev dh0"]


def test_what_a_dhcp_client_set_is_not_read_as_the_drivers() -> None:
    addresses = [
        {"ifname": "eth0", "addr_info": [
            {"local": "10.0.1.11", "prefixlen": 24, "scope": "global", "dynamic": True},
            {"local": "10.0.2.11", "prefixlen": 24, "scope": "global"}]},
    ]  # fmt: skip
    routes = [
        {"dst": "default", "gateway": "10.0.1.1", "dev": "eth0", "protocol": "dhcp"},
        {"dst": "169.254.169.254", "dev": "eth0", "protocol": "dhcp", "scope": "link"},
        {"dst": "10.0.1.0/24", "dev": "dh0", "protocol": "boot", "scope": "link"},
    ]
    found = observing.namespace("x", [], addresses, routes)
    assert found == [
        k.Address("x", "eth0", "10.0.2.11/24"),
        k.Route(ns="x", dst="10.0.1.0/24", dev="dh0"),
    ]


def test_ports_accept_dhcp_replies_before_their_rules() -> None:
    rules = nft.ruleset(
        ports=[nft.PortPolicy(PORT, 1)], groups={}, members={}, zones={"albr-100": 100}
    )
    ingress = rules.tables[1].chains["ing-p1"].rules
    assert ingress.index("meta nfproto ipv4 udp sport 67 udp dport 68 accept") < ingress.index(
        "drop"
    )
    out = rules.tables[0].chains["out-p1"].rules
    assert "ether type ip udp sport 68 udp dport 67 accept" in out  # requests from 0.0.0.0
    assert "arp saddr ip != { 0.0.0.0, 10.0.1.11 } drop" in out  # address-less probes pass


# --- the driver keeps servers and clients as wanted --------------------------------------------


class DhcpWorld:
    """A network with a DHCP subnet: port a1 on h1, a2 on h2; another without DHCP."""

    def __init__(self) -> None:
        self.cloud = c = Cloud(vni_base=6000)
        for host, ip in IP.items():
            c.host(host, ip)
        self.net = c.network()
        self.sub = c.subnet(self.net, "10.0.1.0/24", dhcp=True, dns=("192.0.2.53",))
        self.a1 = c.port(self.sub, "10.0.1.11", host="h1")
        self.a2 = c.port(self.sub, "10.0.1.12", host="h2")
        self.quiet = c.network()
        self.quiet_sub = c.subnet(self.quiet, "10.0.2.0/24")
        c.port(self.quiet_sub, "10.0.2.11", host="h1")


def _server(agent: Agent, network_id: str) -> supervising.Daemon | None:
    return agent.daemons.running.get(f"dhcp/{network_id}")


def test_each_host_serves_its_own_ports_only() -> None:
    world = DhcpWorld()
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    h2 = Agent(world.cloud, "h2", executing.InMemory())
    assert h1.start() == []
    assert h2.start() == []
    for agent, mine, theirs in ((h1, "10.0.1.11", "10.0.1.12"), (h2, "10.0.1.12", "10.0.1.11")):
        server = _server(agent, world.net)
        assert server is not None
        hosts = _files(server)["hosts"]
        assert mine in hosts
        assert theirs not in hosts
        assert ("netns", server.netns) in agent.kernel.objects
    assert _server(h1, world.quiet) is None  # no DHCP on that subnet
    assert list(h1.daemons.running) == [f"dhcp/{world.net}"]
    assert h1.driver.model()["dhcp"] == {world.net: names.dhcp_netns(h1.settings.prefix, world.net)}
    # no flooding towards the other host's server: no all-zero entries anywhere
    assert not any("00:00:00:00:00:00" in str(obj) for obj in h1.kernel.objects.values())


def test_a_new_port_is_a_reread_and_the_last_port_gone_stops_the_server() -> None:
    world = DhcpWorld()
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    h1.start()
    more = world.cloud.port(world.sub, "10.0.1.21", host="h1")
    assert h1.follow() == []
    assert h1.daemons.reread == [f"dhcp/{world.net}"]
    assert h1.daemons.started == [f"dhcp/{world.net}"]  # once, at the start
    server = _server(h1, world.net)
    assert server is not None
    assert "10.0.1.21" in _files(server)["hosts"]
    world.cloud.delete(more)
    world.cloud.delete(world.a1)
    assert h1.follow() == []
    assert h1.daemons.stopped == [f"dhcp/{world.net}"]
    ns = names.dhcp_netns(h1.settings.prefix, world.net)
    assert not any(
        k.namespace(obj) == ns or obj == k.Netns(ns) for obj in h1.kernel.objects.values()
    )
    assert ("link", k.HOST, names.dhcp_leg(6000)) not in h1.kernel.objects


def test_a_server_names_the_other_hosts_ports_and_follows_a_rename() -> None:
    """The driver gives its server the names of every port of the network (the neighbor
    entries, this host's and the others'); a rename on another host is a reread."""
    world = DhcpWorld()
    world.cloud.change(world.a2, dns_name="web")
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    h1.start()
    server = _server(h1, world.net)
    assert server is not None
    assert set(_files(server)["names"].splitlines()) == {  # in the order of the ports' ids
        "10.0.1.11 host-10-0-1-11.openstacklocal host-10-0-1-11",
        "10.0.1.12 web.openstacklocal web",
    }
    world.cloud.change(world.a2, dns_name="api")
    assert h1.follow() == []
    assert h1.daemons.reread == [f"dhcp/{world.net}"]
    server = _server(h1, world.net)
    assert server is not None
    assert "10.0.1.12 api.openstacklocal api\n" in _files(server)["names"]
    assert "web" not in _files(server)["names"]


def test_a_subnet_change_restarts_and_dhcp_turned_off_stops_the_server() -> None:
    world = DhcpWorld()
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    h1.start()
    world.cloud.change(world.sub, gateway_ip="10.0.1.254")
    h1.follow()
    assert h1.daemons.reread == [f"dhcp/{world.net}"]  # options only: reread
    world.cloud.subnet(world.net, "10.0.3.0/24", dhcp=True)
    h1.follow()
    assert h1.daemons.started == [f"dhcp/{world.net}"] * 2  # another range: started again
    for subnet_id in list(world.cloud.records):
        record = world.cloud.records[subnet_id]
        if getattr(record, "enable_dhcp", False):
            world.cloud.change(subnet_id, enable_dhcp=False)
    h1.follow()
    assert h1.daemons.running == {}


def test_a_restarted_agent_keeps_the_servers_and_removes_the_stale_ones() -> None:
    world = DhcpWorld()
    kernel, daemons = executing.InMemory(), supervising.InMemory()
    Agent(world.cloud, "h1", kernel, daemons=daemons).start()
    stale = supervising.Daemon(name="dhcp/gone", netns="x", argv=("dnsmasq",))
    daemons.running[stale.name] = stale
    again = Agent(world.cloud, "h1", kernel, daemons=daemons)
    assert again.start() == []
    assert again.last_ops() == []
    assert daemons.started == [f"dhcp/{world.net}"]  # not started again
    assert daemons.stopped == ["dhcp/gone"]


def test_deltas_and_a_snapshot_leave_the_same_servers() -> None:
    world = DhcpWorld()
    following = Agent(world.cloud, "h1", executing.InMemory())
    following.follow()
    started = Agent(world.cloud, "h1", executing.InMemory())
    started.start()
    assert following.kernel.objects == started.kernel.objects
    assert following.daemons.running == started.daemons.running


def test_a_server_that_cannot_start_fails_its_network_and_is_retried() -> None:
    world = DhcpWorld()
    daemons = supervising.InMemory()
    daemons.fail[f"dhcp/{world.net}"] = "dnsmasq is not installed"
    h1 = Agent(world.cloud, "h1", executing.InMemory(), daemons=daemons)
    failures = h1.start()
    assert [(f.kind, f.id) for f in failures] == [("network", world.net)]
    assert "dnsmasq is not installed" in failures[0].message
    del daemons.fail[f"dhcp/{world.net}"]
    world.cloud.port(world.sub, "10.0.1.21", host="h1")
    assert h1.follow() == []
    assert f"dhcp/{world.net}" in daemons.running


def test_dhcp_addressed_endpoints_run_a_client_after_the_server() -> None:
    world = DhcpWorld()
    h1 = Agent(world.cloud, "h1", executing.InMemory(), addressing="dhcp")
    assert h1.start() == []
    client = f"endpoints/{world.a1}"
    assert h1.daemons.started == [f"dhcp/{world.net}", client]
    assert ("address", h1.ns(world.a1), "eth0", "10.0.1.11/24") not in h1.kernel.objects
    h1.daemons.files[(client, "lease")] = "ip=10.0.1.11/24\n"
    world.cloud.port(world.sub, "10.0.1.21", host="h1")
    h1.follow()
    assert h1.driver.bindings()[world.a1] == {
        "netns": h1.ns(world.a1),
        "dhcp_address": "10.0.1.11/24",
    }
    world.cloud.delete(world.a1)
    h1.follow()
    assert client in h1.daemons.stopped
    assert world.a1 not in h1.driver.bindings()
