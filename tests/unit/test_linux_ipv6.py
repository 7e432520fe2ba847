"""IPv6 on a host: router advertisements (radvd in the router's namespace), DHCPv6 from the
network's dnsmasq, endpoints that configure themselves, and IPv6 routed (not translated)
through the router's gateway host."""

from __future__ import annotations

import msgspec

from alcor.agent.drivers.linux import (
    advertisements,
    dhcp,
    dhcpv6,
    executing,
    layouts,
    names,
    nft,
)
from alcor.agent.drivers.linux import kernel as k
from alcor.model import records
from alcor.v1 import southbound_pb2 as pb
from tests.goalstates import Cloud
from tests.unit.test_linux_driver import IP, Agent

HOST = layouts.HostSettings(host_id="h1", underlay_ip=IP["h1"], endpoint_mode="netns")
SELF_CONFIGURING = msgspec.structs.replace(HOST, endpoint_addressing="dhcp")
NET = pb.Network(id="n1", network_type="vxlan", segmentation_id=100, mtu=1450)


class Lookup:
    def __init__(self, *subnets: pb.Subnet, routers: tuple[pb.Router, ...] = ()) -> None:
        self.subnets = {subnet.id: subnet for subnet in subnets}
        self.routers = {router.id: router for router in routers}

    def network(self, network_id: str) -> pb.Network | None:
        return NET if network_id == NET.id else None

    def router(self, router_id: str) -> pb.Router | None:
        return self.routers.get(router_id)

    def subnet(self, subnet_id: str) -> pb.Subnet | None:
        return self.subnets.get(subnet_id)


def v6(subnet_id: str, cidr: str, mode: str, *, dns: tuple[str, ...] = ()) -> pb.Subnet:
    """An IPv6 subnet whose two modes are ``mode`` ('' : neither)."""
    return pb.Subnet(
        id=subnet_id,
        network_id="n1",
        ip_version=6,
        cidr=cidr,
        gateway_ip=cidr.replace("::/64", "::1"),
        enable_dhcp=True,
        dns_nameservers=list(dns),
        ipv6_ra_mode=mode,
        ipv6_address_mode=mode,
    )


def router(*interfaces: tuple[str, str]) -> pb.Router:
    """A router with an interface (port, subnet) per pair, at the subnet's ::1."""
    return pb.Router(
        id="r1",
        interfaces=[
            pb.RouterInterface(
                port_id=port_id,
                network_id="n1",
                subnet_id=subnet_id,
                ip_address="2001:db8:1::1",
                mac_address="fa:16:3e:00:00:01",
                prefix_length=64,
            )
            for port_id, subnet_id in interfaces
        ],
    )


def sections(text: str) -> dict[str, list[str]]:
    """radvd's configuration: interface -> its lines, stripped."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("interface "):
            current = found.setdefault(line.split()[1], [])
        else:
            current.append(line.strip())
    return found


# --- router advertisements: Neutron's ra.py, mode by mode ---------------------------------------


def test_slaac_advertises_an_autonomous_prefix_and_the_slaac_dns_servers() -> None:
    subnet = v6("s1", "2001:db8:1::/64", "slaac", dns=("2001:db8::53", "192.0.2.53"))
    text = advertisements.config(router(("qp1", "s1")), Lookup(subnet))
    [lines] = sections(text).values()
    assert "AdvSendAdvert on;" in lines
    assert "AdvLinkMTU 1450;" in lines
    assert "AdvManagedFlag on;" not in lines
    assert "AdvOtherConfigFlag on;" not in lines
    assert "RDNSS 2001:db8::53 {};" in lines  # IPv6 servers only
    prefix = lines.index("prefix 2001:db8:1::/64")
    assert lines[prefix + 2 : prefix + 4] == ["AdvOnLink on;", "AdvAutonomous on;"]


def _advertised(mode: str) -> list[str]:
    """The lines of the one leg's section for a subnet in ``mode``."""
    text = advertisements.config(router(("qp1", "s1")), Lookup(v6("s1", "2001:db8:1::/64", mode)))
    [lines] = sections(text).values()
    return lines


def test_stateless_sets_the_o_flag_and_stateful_the_m_flag_without_autonomy() -> None:
    stateless = _advertised("dhcpv6-stateless")
    assert "AdvOtherConfigFlag on;" in stateless
    assert "AdvManagedFlag on;" not in stateless
    assert "AdvAutonomous on;" in stateless
    stateful = _advertised("dhcpv6-stateful")
    assert "AdvManagedFlag on;" in stateful
    assert "AdvOtherConfigFlag on;" not in stateful
    assert "AdvAutonomous off;" in stateful
    assert not any(line.startswith("RDNSS") for line in stateful)  # only slaac subnets' servers


def test_without_ra_mode_the_router_advertises_itself_but_no_prefix() -> None:
    lines = _advertised("")
    assert not any(line.startswith(("prefix", "AdvManagedFlag", "AdvOther")) for line in lines)


def test_each_leg_with_an_ipv6_subnet_is_advertised_on_its_own_device() -> None:
    a, b = v6("s1", "2001:db8:1::/64", "slaac"), v6("s2", "2001:db8:2::/64", "slaac")
    ipv4 = pb.Subnet(id="s3", network_id="n1", ip_version=4, cidr="10.0.3.0/24")
    text = advertisements.config(
        router(("qp1", "s1"), ("qp2", "s2"), ("qp3", "s3")), Lookup(a, b, ipv4)
    )
    assert set(sections(text)) == {names.router_inside("qp1"), names.router_inside("qp2")}


def test_no_daemon_for_a_router_without_an_ipv6_subnet() -> None:
    ipv4 = pb.Subnet(id="s3", network_id="n1", ip_version=4, cidr="10.0.3.0/24")
    assert (
        advertisements.daemons(routers=[router(("qp3", "s3"))], lookup=Lookup(ipv4), host=HOST)
        == {}
    )


def test_the_daemon_runs_in_the_routers_namespace_and_rereads() -> None:
    made = advertisements.daemons(
        routers=[router(("qp1", "s1"))],
        lookup=Lookup(v6("s1", "2001:db8:1::/64", "slaac")),
        host=HOST,
    )["r1"]
    assert made.netns == names.router_netns(HOST.prefix, "r1")
    assert made.argv[0] == "radvd"
    assert made.rereads


# --- DHCPv6 from the network's dnsmasq ----------------------------------------------------------


PORT = pb.Port(
    id="p1",
    network_id="n1",
    mac_address="FA:16:3E:00:00:11",
    fixed_ips=[
        pb.FixedIp(subnet_id="s4", ip_address="10.0.1.11"),
        pb.FixedIp(subnet_id="s1", ip_address="2001:db8:1::11"),
    ],
)
IPV4 = pb.Subnet(id="s4", network_id="n1", ip_version=4, cidr="10.0.1.0/24", enable_dhcp=True)


def _server(*subnets: pb.Subnet) -> dict[str, str]:
    lookup = Lookup(*subnets)
    [service] = dhcp.services(
        ports=[PORT], subnets=subnets, dns_names=dhcp.Names(), lookup=lookup, host=HOST
    ).values()
    files = {file.name: file.text for file in service.daemon.files}
    addresses = [obj.cidr for obj in service.layout.objects if isinstance(obj, k.Address)]
    return {"argv": "\n".join(service.daemon.argv), "addresses": " ".join(addresses), **files}


def test_a_stateful_subnet_leases_the_ports_address_by_its_mac() -> None:
    served = _server(IPV4, v6("s1", "2001:db8:1::/64", "dhcpv6-stateful", dns=("2001:db8::53",)))
    assert "--dhcp-range=set:subnet-s1,2001:db8:1::,static,64,86400s" in served["argv"]
    assert "2001:db8:1::/64" in served["addresses"].split()  # so that dnsmasq serves the prefix
    assert served["hosts"].splitlines() == [
        "fa:16:3e:00:00:11,10.0.1.11,host-10-0-1-11",
        "fa:16:3e:00:00:11,[2001:db8:1::11],host-2001-db8-1--11",
    ]
    assert "tag:subnet-s1,option6:dns-server,[2001:db8::53]" in served["opts"].splitlines()


def test_a_stateless_subnet_gives_options_but_no_address() -> None:
    served = _server(IPV4, v6("s1", "2001:db8:1::/64", "dhcpv6-stateless", dns=("2001:db8::53",)))
    assert "--dhcp-range=set:subnet-s1,2001:db8:1::,static,64,86400s" in served["argv"]
    assert "2001:db8:1::11" not in served["hosts"]
    assert "tag:subnet-s1,option6:dns-server,[2001:db8::53]" in served["opts"]


def test_a_slaac_subnet_is_not_served_and_neither_alone_makes_a_server() -> None:
    served = _server(IPV4, v6("s1", "2001:db8:1::/64", "slaac"))
    assert "2001:db8:1::" not in served["argv"] + served["hosts"]
    slaac = v6("s1", "2001:db8:1::/64", "slaac")
    assert (
        dhcp.services(
            ports=[PORT], subnets=[slaac], dns_names=dhcp.Names(), lookup=Lookup(slaac), host=HOST
        )
        == {}
    )


def test_dhcp_modes_follow_neutrons_dnsmasq_driver() -> None:
    assert dhcpv6.served(v6("s", "2001:db8::/64", ""))  # no mode: served, as Neutron's
    off = v6("s", "2001:db8::/64", "dhcpv6-stateful")
    off.enable_dhcp = False
    assert not dhcpv6.served(off)
    only_ra = v6("s", "2001:db8::/64", "")
    only_ra.ipv6_ra_mode = "slaac"  # addresses not by OpenStack
    assert not dhcpv6.served(only_ra)


# --- endpoints that configure themselves --------------------------------------------------------


def test_a_self_configuring_endpoint_gets_no_ipv6_address_but_takes_advertisements() -> None:
    for mode in ("slaac", "dhcpv6-stateless", "dhcpv6-stateful"):
        lookup = Lookup(IPV4, v6("s1", "2001:db8:1::/64", mode))
        ns = names.endpoint_netns(HOST.prefix, "p1")
        static = k.objects(layouts.of_port(PORT, lookup, HOST).objects)
        configuring = k.objects(layouts.of_port(PORT, lookup, SELF_CONFIGURING).objects)
        assert ("address", ns, "eth0", "2001:db8:1::11/64") in static
        assert ("address", ns, "eth0", "2001:db8:1::11/64") not in configuring
        assert ("route", ns, "::/0") not in configuring  # the router's advertisement gives it
        assert configuring[("sysctl", ns, "net.ipv6.conf.eth0.accept_ra")] == k.Sysctl(
            ns, "net.ipv6.conf.eth0.accept_ra", "2"
        )
        assert ("sysctl", ns, "net.ipv6.conf.eth0.autoconf") in configuring


def test_a_dhcpv6_client_runs_for_an_address_or_for_options() -> None:
    def argv(mode: str) -> tuple[str, ...] | None:
        lookup = Lookup(IPV4, v6("s1", "2001:db8:1::/64", mode))
        made = dhcp.clients6(ports=[PORT], lookup=lookup, host=SELF_CONFIGURING).get("p1")
        return made.argv if made is not None else None

    stateful, stateless = argv("dhcpv6-stateful"), argv("dhcpv6-stateless")
    assert stateful is not None
    assert stateful[:2] == ("dhclient", "-6")
    assert "-S" not in stateful
    assert stateless is not None
    assert "-S" in stateless  # an information request
    assert argv("slaac") is None
    lookup = Lookup(IPV4, v6("s1", "2001:db8:1::/64", "dhcpv6-stateful"))
    assert dhcp.clients6(ports=[PORT], lookup=lookup, host=HOST) == {}  # static addressing


def test_ports_pass_dhcpv6_to_the_client_and_drop_it_from_a_rogue_server() -> None:
    chain = nft._port_chain([], "ingress")
    assert "meta nfproto ipv6 udp sport 547 udp dport 546 accept" in chain
    assert "meta nfproto ipv6 udp sport 546 udp dport 547 return" in nft._port_chain([], "egress")
    spoofing = nft._anti_spoofing_of("fa:16:3e:00:00:11", (("fa:16:3e:00:00:11", "10.0.1.11"),))
    assert "ether type ip6 udp sport 547 udp dport 546 drop" in spoofing


# --- IPv6 routed through the gateway host -------------------------------------------------------


def gatewayed(*, gateway_host: str) -> pb.Router:
    """A router with an IPv4 and an IPv6 interface whose gateway (an IPv4 and an IPv6 address
    on a flat external network) ``gateway_host`` serves."""
    ipv4 = pb.RouterInterface(
        port_id="qp4", network_id="n1", subnet_id="s4", ip_address="10.0.1.1",
        mac_address="fa:16:3e:00:00:04", prefix_length=24,
    )  # fmt: skip
    ipv6 = pb.RouterInterface(
        port_id="qp6", network_id="n1", subnet_id="s1", ip_address="2001:db8:1::1",
        mac_address="fa:16:3e:00:00:06", prefix_length=64,
    )  # fmt: skip
    gateway = pb.RouterGateway(
        network_id="ext", port_id="gw", mac_address="fa:16:3e:00:00:99", enable_snat=True,
        network_type="flat", physical_network="public", mtu=1500,
        addresses=[
            pb.GatewayAddress(subnet_id="e4", ip_address="203.0.113.10", prefix_length=24,
                              gateway_ip="203.0.113.1"),
            pb.GatewayAddress(subnet_id="e6", ip_address="2001:db8:ff::10", prefix_length=64,
                              gateway_ip="2001:db8:ff::1"),
        ],
    )  # fmt: skip
    return pb.Router(
        id="r1", interfaces=[ipv4, ipv6], gateway=gateway,
        gateway_host_id=gateway_host, gateway_host_ip=IP[gateway_host],
    )  # fmt: skip


MAPPED = msgspec.structs.replace(HOST, bridge_mappings={"public": "br-public"})


def test_the_gateway_host_routes_ipv6_out_by_the_external_gateway_and_translates_only_ipv4() -> (
    None
):
    found = layouts.of_router(gatewayed(gateway_host="h1"), Lookup(), MAPPED).objects
    ns, qg = names.router_netns(HOST.prefix, "r1"), names.gateway_inside("gw")
    routes = {(obj.dst, obj.via) for obj in found if isinstance(obj, k.Route)}
    assert ("::/0", "2001:db8:ff::1") in routes
    assert ("0.0.0.0/0", "203.0.113.1") in routes
    assert k.Address(ns, qg, "2001:db8:ff::10/64") in found
    [table] = [obj for obj in found if isinstance(obj, k.Nftables)]
    assert table.table.startswith("ip ")  # IPv4's family alone: no NAT66
    assert "2001:db8" not in table.text


def test_other_hosts_send_ipv6_out_to_the_gateway_hosts_transit_leg() -> None:
    found = layouts.of_router(gatewayed(gateway_host="h2"), Lookup(), HOST).objects
    transit = layouts.link_local(layouts.shared_mac("r1"))
    [route] = [obj for obj in found if isinstance(obj, k.Route) and obj.dst == "::/0"]
    assert route.via == transit
    assert any(isinstance(obj, k.Neigh) and obj.ip == transit for obj in found)
    assert any(isinstance(obj, k.Route) and obj.dst == "0.0.0.0/0" for obj in found)  # unchanged


def test_a_gateway_without_an_ipv6_address_adds_no_ipv6_route() -> None:
    router = gatewayed(gateway_host="h2")
    del router.gateway.addresses[1]
    found = layouts.of_router(router, Lookup(), HOST).objects
    assert not any(isinstance(obj, k.Route) and obj.dst == "::/0" for obj in found)
    router = gatewayed(gateway_host="h1")
    router.routes.append(pb.Route(destination="::/0", nexthop="2001:db8:1::99"))
    found = layouts.of_router(router, Lookup(), MAPPED).objects
    assert [obj.via for obj in found if isinstance(obj, k.Route) and obj.dst == "::/0"] == [
        "2001:db8:1::99"
    ]  # the router's own default stands


# --- the driver: daemons follow the goal state --------------------------------------------------


def test_the_driver_runs_radvd_for_a_router_of_an_ipv6_subnet_and_a_client_per_endpoint() -> None:
    c = Cloud(vni_base=7100)
    for host, ip in IP.items():
        c.host(host, ip)
    net = c.network()
    subnet_id = c.subnet(net, "2001:db8:1::/64", dhcp=True)
    subnet = c.records[subnet_id]
    assert isinstance(subnet, records.Subnet)
    c.put(
        msgspec.structs.replace(
            subnet, ipv6_ra_mode="dhcpv6-stateful", ipv6_address_mode="dhcpv6-stateful"
        )
    )
    port = c.port(subnet_id, "2001:db8:1::11", host="h1")
    h1 = Agent(c, "h1", executing.InMemory(), addressing="dhcp")
    assert h1.start() == []
    assert f"dhcp/{net}" in h1.daemons.running
    assert f"endpoints6/{port}" in h1.daemons.running
    assert not any(name.startswith("advertisements/") for name in h1.daemons.running)
    router = c.router()
    c.interface(router, subnet_id)
    assert h1.follow() == []
    radvd = h1.daemons.running[f"advertisements/{router}"]
    assert "AdvManagedFlag on;" in radvd.files[0].text
    c.put(msgspec.structs.replace(subnet, ipv6_ra_mode="slaac", ipv6_address_mode="slaac"))
    assert h1.follow() == []
    assert "AdvAutonomous on;" in h1.daemons.running[f"advertisements/{router}"].files[0].text
    assert f"endpoints6/{port}" not in h1.daemons.running  # SLAAC needs no client
    c.delete(router)
    assert h1.follow() == []
    assert f"advertisements/{router}" not in h1.daemons.running


def test_a_router_of_ipv6_subnets_alone_sends_ipv6_out_over_its_first_interface() -> None:
    router = gatewayed(gateway_host="h2")
    del router.interfaces[0]  # no IPv4 interface: the transit rides the IPv6 one's network
    found = layouts.of_router(router, Lookup(), HOST).objects
    [route] = [obj for obj in found if isinstance(obj, k.Route) and obj.dst == "::/0"]
    assert route.dev == names.router_inside("qp6")
    assert route.via == layouts.link_local(layouts.shared_mac("r1"))
