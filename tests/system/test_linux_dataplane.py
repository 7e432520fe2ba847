"""The linux driver proven with packets: hosts are namespaces on an underlay bridge, each with
``alcor agent --driver linux --endpoint-mode netns``, all driven through the Neutron API of a
real controller. Every test makes its own lab (names with a random tag) and removes it, even
when it fails."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest

from tests.system.lab import Host, Lab, eventually, run, unusable

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
]

OPEN = ({"protocol": None},)  # ingress: anything (the group's default rules let all out)


# Where a VPC's endpoints go: name -> host. The letter is the subnet (a or b), the number n
# gives the address .10+n in it.
TWO_HOSTS = {"a1": "h1", "a2": "h2", "b1": "h1", "b2": "h2"}


class Vpc:
    """One VPC: two subnets joined by a router, endpoints placed on the lab's hosts. By default
    two endpoints per subnet, one of each subnet on each of two hosts (the reference topology
    of Alcor's end-to-end tests)."""

    def __init__(
        self,
        lab: Lab,
        *,
        project: str = "",
        cidrs: tuple[str, str] = ("", ""),
        placement: dict[str, str] | None = None,
    ) -> None:
        self.lab = lab
        a, b = cidrs if all(cidrs) else ("10.0.1.0/24", "10.0.2.0/24")
        self.net_a = lab.network(project=project)
        self.net_b = lab.network(project=project)
        self.sub_a = lab.subnet(self.net_a, a, project=project)
        self.sub_b = lab.subnet(self.net_b, b, project=project)
        self.router = lab.router(self.sub_a, self.sub_b, project=project)
        self.group = lab.group(*OPEN, project=project)
        subnets = {"a": (self.sub_a, a.rsplit(".", 1)[0]), "b": (self.sub_b, b.rsplit(".", 1)[0])}
        self.endpoints: dict[str, tuple[str, str, Host]] = {}  # name -> (port, ip, host)
        for name, host_name in (placement or TWO_HOSTS).items():
            subnet, base = subnets[name[0]]
            ip, host = f"{base}.{10 + int(name[1:])}", lab.hosts[host_name]
            port = lab.port(subnet, ip, host, groups=[self.group], project=project)
            self.endpoints[name] = (port, ip, host)

    def ns(self, name: str) -> str:
        port, _, host = self.endpoints[name]
        return host.endpoint(port)

    def ip(self, name: str) -> str:
        return self.endpoints[name][1]

    def all_pairs(self, names: list[str] | None = None) -> dict[tuple[str, str], bool]:
        names = names or list(self.endpoints)
        pairs = [(src, dst) for src in names for dst in names if src != dst]
        answered = self.lab.pings([(self.ns(src), self.ip(dst)) for src, dst in pairs])
        return {(src, dst): answered[(self.ns(src), self.ip(dst))] for src, dst in pairs}


def _two_hosts(lab: Lab) -> tuple[Host, Host]:
    h1, h2 = lab.add_hosts("h1", "h2")
    return h1, h2


def fdb_and_neighbors(host: Host) -> str:
    """Every forwarding and neighbor entry of the host (its own namespace)."""
    fdb = run("ip", "netns", "exec", host.ns, "bridge", "fdb", "show").stdout
    neigh = run("ip", "-n", host.ns, "neigh", "show").stdout
    return fdb + neigh


# --- (1) one VPC, two subnets, two hosts: all pairs ping ----------------------------------------


def test_one_vpc_two_subnets_on_two_hosts_all_pairs_ping(lab: Lab) -> None:
    _two_hosts(lab)
    vpc = Vpc(lab)
    results = vpc.all_pairs()
    assert all(results.values()), {pair: ok for pair, ok in results.items() if not ok}
    # the endpoint namespaces are what the agents report
    for name in vpc.endpoints:
        port, ip, host = vpc.endpoints[name]
        reported = eventually(
            lambda port=port, host=host: _model(host).get("endpoints", {}).get(port),
            what="the status file",
        )
        assert reported["netns"] == vpc.ns(name)
        # ... and what the API shows in the port's binding:vif_details (the namespace pinged from)
        details = lab.call("GET", f"/ports/{port}")["port"]["binding:vif_details"]
        assert details["netns"] == vpc.ns(name)
        shown = run("ip", "-n", vpc.ns(name), "-br", "addr", "show", "dev", "eth0").stdout
        assert f"{ip}/24" in shown
    # no flooding: no all-zero (head-end replication) entries, learning off on the VXLAN ports
    for host in lab.hosts.values():
        assert "00:00:00:00:00:00" not in fdb_and_neighbors(host)
        links = run("ip", "netns", "exec", host.ns, "bridge", "-d", "link", "show").stdout
        assert all("learning off" in line for line in links.split("alvx-")[1:])


# --- (2) one VPC, two subnets, four endpoints each, on four hosts ---------------------------------


def test_one_vpc_two_subnets_on_four_hosts_all_pairs_ping(lab: Lab) -> None:
    hosts = lab.add_hosts("h1", "h2", "h3", "h4")
    # a<i> on h<i>, b<i> on the next host: every host has one endpoint of each subnet, so
    # pairs cross hosts within a subnet and between subnets, and are routed on one host too
    placement = {f"a{i}": f"h{i}" for i in range(1, 5)}
    placement |= {f"b{i}": f"h{i % 4 + 1}" for i in range(1, 5)}
    vpc = Vpc(lab, placement=placement)
    results = vpc.all_pairs()
    assert len(results) == 56
    assert all(results.values()), {pair: ok for pair, ok in results.items() if not ok}
    # the router is distributed: every host has its namespace
    for host in hosts:
        routers = eventually(lambda host=host: _model(host).get("routers"), what="routers")
        assert vpc.router in routers, host.name


def test_dual_stack_endpoints_reach_each_other_over_ipv6_too(lab: Lab) -> None:
    h1, h2 = _two_hosts(lab)
    net_a, net_b = lab.network(), lab.network()
    a4, a6 = lab.subnet(net_a, "10.0.1.0/24"), lab.subnet(net_a, "2001:db8:1::/64")
    b6 = lab.subnet(net_b, "2001:db8:2::/64")
    lab.router(a6, b6)
    group = lab.group(*OPEN, {"protocol": None, "ethertype": "IPv6"})
    a1 = lab.port(a4, "10.0.1.11", h1, groups=[group], more_ips=[(a6, "2001:db8:1::11")])
    lab.port(a4, "10.0.1.12", h2, groups=[group], more_ips=[(a6, "2001:db8:1::12")])
    lab.port(b6, "2001:db8:2::12", h2, groups=[group])
    answered = lab.pings(
        [(h1.endpoint(a1), ip) for ip in ("10.0.1.12", "2001:db8:1::12", "2001:db8:2::12")]
    )
    assert all(answered.values()), answered


# --- (3) port delete ------------------------------------------------------------------------------


def test_deleting_a_port_removes_its_endpoint_and_every_hosts_entries(lab: Lab) -> None:
    h1, h2 = _two_hosts(lab)
    vpc = Vpc(lab)
    port, ip, _ = vpc.endpoints["a2"]
    mac = lab.call("GET", f"/ports/{port}")["port"]["mac_address"]
    assert mac in fdb_and_neighbors(h1)
    lab.call("DELETE", f"/ports/{port}")
    assert vpc.ns("a2") not in lab.namespaces()
    for host in (h1, h2):
        entries = fdb_and_neighbors(host)
        assert mac not in entries, host.name
        assert f"{ip} " not in entries, host.name
    rest = vpc.all_pairs(["a1", "b1", "b2"])
    assert all(rest.values()), rest


# --- (4) security groups --------------------------------------------------------------------------


def test_security_groups_filter_statefully_and_follow_changes(lab: Lab) -> None:
    h1, h2 = _two_hosts(lab)
    net = lab.network()
    sub = lab.subnet(net, "10.0.1.0/24")
    web = lab.group({"protocol": "tcp", "port_range_min": 8080, "port_range_max": 8080})
    client = lab.group()  # nothing in, everything out
    app = lab.group()
    db = lab.group()
    lab.rule(db, protocol="tcp", port_range_min=5432, port_range_max=5432, remote_group_id=app)
    server = lab.port(sub, "10.0.1.10", h1, groups=[web, db])
    remote = lab.port(sub, "10.0.1.20", h2, groups=[client])
    local = lab.port(sub, "10.0.1.21", h1, groups=[client])
    s_ns, c_ns, l_ns = h1.endpoint(server), h2.endpoint(remote), h1.endpoint(local)
    for port in (8080, 9090, 5432):
        lab.serve(s_ns, port, f"server-{port}")

    # an allowed port connects, from another host and from the same one; the replies come back
    # although the clients let nothing in (state)
    assert lab.connect(c_ns, "10.0.1.10", 8080) == "server-8080"
    assert lab.connect(l_ns, "10.0.1.10", 8080) == "server-8080"
    # another port and ping are dropped; the clients' default deny keeps the server out
    assert lab.connect(c_ns, "10.0.1.10", 9090) == ""
    assert not lab.ping(c_ns, "10.0.1.10")
    assert not lab.ping(s_ns, "10.0.1.20")
    # a spoofed source is dropped ...
    for ns in (c_ns, l_ns):
        run("ip", "-n", ns, "addr", "add", "10.0.1.99/24", "dev", "eth0")
        assert lab.connect(ns, "10.0.1.10", 8080, source="10.0.1.99") == ""
    # ... unless it is an allowed address pair of the port (on the server's host: the goal
    # state's neighbor entries carry fixed addresses only, so no other host answers ARP for it)
    lab.call("PUT", f"/ports/{local}", {"port": {"allowed_address_pairs": [
        {"ip_address": "10.0.1.99"}]}})  # fmt: skip
    assert lab.connect(l_ns, "10.0.1.10", 8080, source="10.0.1.99") == "server-8080"
    # a rule added later takes effect
    lab.rule(web, protocol="tcp", port_range_min=9090, port_range_max=9090)
    assert lab.connect(c_ns, "10.0.1.10", 9090) == "server-9090"
    # remote_group_id follows membership
    assert lab.connect(c_ns, "10.0.1.10", 5432) == ""
    lab.call("PUT", f"/ports/{remote}", {"port": {"security_groups": [client, app]}})
    assert lab.connect(c_ns, "10.0.1.10", 5432) == "server-5432"
    assert lab.connect(l_ns, "10.0.1.10", 5432) == ""  # not a member
    lab.call("PUT", f"/ports/{remote}", {"port": {"security_groups": [client]}})
    assert lab.connect(c_ns, "10.0.1.10", 5432) == ""


def test_port_security_disabled_is_not_filtered(lab: Lab) -> None:
    h1, h2 = _two_hosts(lab)
    net = lab.network()
    sub = lab.subnet(net, "10.0.1.0/24")
    closed = lab.group()
    guarded = lab.port(sub, "10.0.1.10", h1, groups=[closed])
    free = lab.port(sub, "10.0.1.20", h2, groups=[], port_security_enabled=False)
    near = lab.port(sub, "10.0.1.21", h1, groups=[], port_security_enabled=False)
    assert not lab.ping(h2.endpoint(free), "10.0.1.10")  # the guarded port lets nothing in
    assert lab.ping(h1.endpoint(guarded), "10.0.1.20")  # the free ones let everything in
    assert lab.ping(h1.endpoint(guarded), "10.0.1.21")
    # and send what they like: a source that is not theirs
    lab.rule(closed)
    lab.serve(h1.endpoint(guarded), 7000, "guarded")
    run("ip", "-n", h1.endpoint(near), "addr", "add", "10.0.1.98/24", "dev", "eth0")
    assert lab.connect(h1.endpoint(near), "10.0.1.10", 7000, source="10.0.1.98") == "guarded"


# --- (8) two projects with the same CIDRs --------------------------------------------------------


def test_two_projects_with_the_same_cidrs_stay_isolated(lab: Lab) -> None:
    _two_hosts(lab)
    one = Vpc(lab, project=f"{lab.tag}-one", cidrs=("10.9.1.0/24", "10.9.2.0/24"))
    two = Vpc(lab, project=f"{lab.tag}-two", cidrs=("10.9.1.0/24", "10.9.2.0/24"))
    for vpc, name in ((one, "one"), (two, "two")):
        for endpoint in vpc.endpoints:
            lab.serve(vpc.ns(endpoint), 7000, f"{name}-{endpoint}")
    for vpc, name in ((one, "one"), (two, "two")):
        results = vpc.all_pairs()
        assert all(results.values()), (name, results)
        # the same address answers as this project's endpoint, routed and on the same subnet
        assert lab.connect(vpc.ns("a1"), "10.9.2.12", 7000) == f"{name}-b2"
        assert lab.connect(vpc.ns("a1"), "10.9.1.12", 7000) == f"{name}-a2"


# --- reconcile: an agent restarted changes nothing that is right ---------------------------------


def _model(host: Host) -> dict[str, Any]:
    return dict(host.status().get("model", {}))


def test_a_restarted_agent_reconciles_without_touching_traffic(lab: Lab) -> None:
    h1, h2 = _two_hosts(lab)
    vpc = Vpc(lab)
    gone, _, _ = vpc.endpoints["a2"]
    pinger = subprocess.Popen(
        ["ip", "netns", "exec", vpc.ns("a1"), "ping", "-n", "-q", "-i", "0.01", "-c", "500",
         "-W", "1", vpc.ip("b2")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lab.processes.append(pinger)
    try:
        time.sleep(0.5)
        h1.stop_agent(kill=True)
        h2.stop_agent(kill=True)
        lab.api.delete(f"/ports/{gone}").raise_for_status()  # while h2's agent is away
        h1.start_agent()
        h2.start_agent()
        for host in (h1, h2):
            lab.wait_connected(host)
            eventually(lambda host=host: _model(host).get("timings"), what="a first apply")
        out, _ = pinger.communicate(timeout=30)
    finally:
        if pinger.poll() is None:
            pinger.kill()
            pinger.wait()
    assert " 0% packet loss" in out, out
    # h1 had nothing to change but a2's entries; h2 removed a2's namespace and nothing else
    assert vpc.ns("a2") not in lab.namespaces()
    assert _model(h1)["failed"] == {}
    assert _model(h2)["failed"] == {}
    results = vpc.all_pairs(["a1", "b1", "b2"])
    assert all(results.values()), results
    # restarted over a data plane that is right, an agent changes nothing at all
    h1.stop_agent()
    h1.start_agent()
    lab.wait_connected(h1)
    timings = eventually(lambda: _model(h1).get("timings"), what="a first apply")
    assert timings["operations"] == 0, timings


# --- tap mode: attaching what exists, and failing what does not ----------------------------------


def _vm(lab: Lab, host: Host, name: str, port: dict[str, Any]) -> str:
    """A VM as Nova would plug it: a namespace whose eth0 is the far end of tap<port:11>."""
    ns = f"{lab.tag}-{name}"
    tap = "tap" + port["id"][:11]
    run("ip", "netns", "add", ns)
    run("ip", "-n", host.ns, "link", "add", tap, "type", "veth", "peer", "name", "eth0",
        "netns", ns)  # fmt: skip
    ip = port["fixed_ips"][0]["ip_address"]
    run("ip", "-n", ns, "link", "set", "eth0", "address", port["mac_address"], "up")
    run("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
    return ns


def test_tap_mode_attaches_novas_tap_and_fails_a_port_without_one(lab: Lab) -> None:
    h1, h2 = lab.add_hosts("h1", "h2", mode="tap")
    net = lab.network()
    sub = lab.subnet(net, "10.0.1.0/24")
    group = lab.group(*OPEN)
    first = lab.port(sub, "10.0.1.10", h1, groups=[group], active=False)
    # no tap yet: the port is ERROR, and the host's report says why
    eventually(
        lambda: lab.call("GET", f"/ports/{first}")["port"]["status"] == "ERROR", what="ERROR"
    )
    failures = lab.call("GET", f"/goalstate/hosts/{h1.id}")["host"]["failures"]
    assert [f["id"] for f in failures] == [first]
    assert "tap" + first[:11] in failures[0]["message"]
    vm1 = _vm(lab, h1, "vm1", lab.call("GET", f"/ports/{first}")["port"])
    # a port whose tap exists when it is bound is attached at once
    second_port = lab.call("POST", "/ports", {"port": {
        "network_id": net, "fixed_ips": [{"subnet_id": sub, "ip_address": "10.0.1.20"}],
        "security_groups": [group]}})["port"]  # fmt: skip
    vm2 = _vm(lab, h2, "vm2", second_port)
    lab.call("PUT", f"/ports/{second_port['id']}", {"port": {"binding:host_id": h2.id}})
    eventually(
        lambda: lab.call("GET", f"/ports/{second_port['id']}")["port"]["status"] == "ACTIVE",
        what="ACTIVE",
    )
    # nothing changes in the API: the agent's retry finds the tap Nova made and plugs it
    eventually(
        lambda: lab.call("GET", f"/ports/{first}")["port"]["status"] == "ACTIVE", what="ACTIVE"
    )
    assert lab.call("GET", f"/goalstate/hosts/{h1.id}")["host"]["failures"] == []
    assert lab.ping(vm1, "10.0.1.20")
    assert lab.ping(vm2, "10.0.1.10")
    # deleting the port detaches the tap and leaves it to Nova
    lab.call("DELETE", f"/ports/{first}")
    shown = run("ip", "-n", h1.ns, "-d", "link", "show", "tap" + first[:11]).stdout
    assert "master" not in shown


# --- the rendered rulesets load into the real nftables --------------------------------------------


def test_rulesets_of_every_kind_of_rule_load_into_nftables(lab: Lab) -> None:
    from alcor.agent.drivers.linux import nft
    from alcor.v1 import southbound_pb2 as pb

    rules = [
        pb.Rule(id="1", direction="ingress", ethertype="IPv4", protocol="tcp",
                port_range_min=22, port_range_max=22, remote_ip_prefix="10.0.0.0/8"),
        pb.Rule(id="2", direction="ingress", ethertype="IPv6", protocol="icmp",
                port_range_min=128, port_range_max=0),
        pb.Rule(id="3", direction="egress", ethertype="IPv4", protocol="udp",
                port_range_min=1000, port_range_max=2000, remote_group_id="g2"),
        pb.Rule(id="4", direction="ingress", ethertype="IPv6", remote_group_id="g2"),
        pb.Rule(id="5", direction="egress", ethertype="IPv4", protocol="gre"),
        pb.Rule(id="6", direction="ingress", ethertype="IPv4", protocol="132",
                port_range_min=9, port_range_max=9),
        pb.Rule(id="7", direction="egress", ethertype="IPv6", remote_ip_prefix="2001:db8::/32"),
    ]  # fmt: skip
    port = pb.Port(
        id="p1", mac_address="fa:16:3e:00:00:01", port_security_enabled=True,
        security_group_ids=["g1"],
        fixed_ips=[pb.FixedIp(ip_address="10.0.0.4"), pb.FixedIp(ip_address="2001:db8::4")],
        allowed_address_pairs=[pb.AddressPair(ip_address="10.1.0.0/16"),
                               pb.AddressPair(ip_address="10.2.0.1", mac_address="fa:16:3e:0:0:9")],
    )  # fmt: skip
    groups = {"g1": pb.SecurityGroup(id="g1", rules=rules)}
    members = {"g2": ["10.0.0.5", "10.0.0.0/24", "2001:db8::5", "2001:db8::/64"]}
    before = nft.ruleset(ports=[nft.PortPolicy(port, 1)], groups=groups, members=members,
                         zones={"albr-100": 100})  # fmt: skip
    after = nft.ruleset(ports=[], groups={}, members={}, zones={"albr-200": 200})
    ns = f"{lab.tag}-nft"
    run("ip", "netns", "add", ns)
    for text in (nft.full(before), nft.delta(before, after), nft.delta(after, before)):
        loaded = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text,
                                capture_output=True, text=True, check=False)  # fmt: skip
        assert loaded.returncode == 0, loaded.stderr + text
