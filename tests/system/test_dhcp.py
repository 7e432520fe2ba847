"""DHCP proven with real clients: every host runs a dnsmasq per network with a DHCP subnet and a
port of its own, answering only its own ports; endpoints (``--endpoint-addressing dhcp``) get
their address from it with busybox's udhcpc. The lab's fixture ends the daemons the agents
leave running and checks that none survives a test (``conftest.daemons``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.system.lab import Host, Lab, eventually, run, unusable

MISSING = [tool for tool in ("dnsmasq", "busybox") if shutil.which(tool) is None]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
    pytest.mark.skipif(
        bool(MISSING), reason=f"DHCP tests need {', '.join(MISSING)} (dnsmasq-base, busybox)"
    ),
]

OPEN = ({"protocol": None},)
STATE_ROOT = Path("/run/alcor-agent")
DUMP_SCRIPT = '#!/bin/sh\nenv > "$(dirname "$0")/lease.$1"\n'  # a client that changes nothing


def _restart_with(host: Host, *options: str) -> None:
    """Start the host's agent again with more options than the lab gives it."""
    assert host.agent is not None
    command = [str(word) for word in host.agent.args] + list(options)  # type: ignore[union-attr]
    host.stop_agent()
    with host.log_path.open("ab") as log:
        host.agent = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    host.lab.wait_connected(host)


def _server_folder(host: Host, network_id: str) -> Path:
    return STATE_ROOT / host.id / "dhcp" / network_id


def _server_pid(host: Host, network_id: str) -> int:
    try:
        return int((_server_folder(host, network_id) / "pid").read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _alive(pid: int) -> bool:
    try:
        return b"dnsmasq" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _model(host: Host) -> dict[str, Any]:
    return dict(host.status().get("model", {}))


def _dhcp_subnet(lab: Lab, network_id: str, cidr: str, *, enabled: bool = True) -> str:
    body = {
        "subnet": {"network_id": network_id, "cidr": cidr, "ip_version": 4,
                   "enable_dhcp": enabled},
    }  # fmt: skip
    return str(lab.call("POST", "/subnets", body)["subnet"]["id"])


def _client(lab: Lab, tmp: Path, host: Host, network_id: str, mac: str) -> str:
    """A namespace of the test on the network's bridge of ``host`` (no port: nothing filters
    it) whose ``eth0`` has ``mac``."""
    vni = lab.call("GET", f"/networks/{network_id}")["network"]["provider:segmentation_id"]
    ns = f"{lab.tag}-client"
    if ns not in lab.namespaces():
        run("ip", "netns", "add", ns)
    run("ip", "-n", ns, "link", "del", "eth0", check=False)
    run("ip", "-n", host.ns, "link", "del", "dhcp-client", check=False)
    run("ip", "-n", host.ns, "link", "add", "dhcp-client", "type", "veth",
        "peer", "name", "eth0", "netns", ns)  # fmt: skip
    run("ip", "-n", host.ns, "link", "set", "dhcp-client", "master", f"albr-{vni}", "up")
    run("ip", "-n", ns, "link", "set", "eth0", "address", mac, "up")
    return ns


def _ask(ns: str, tmp: Path) -> dict[str, str]:
    """One DHCP exchange from ``ns`` by a client that changes nothing: the lease it was
    offered ({} when none)."""
    script = tmp / "dump.sh"
    script.write_text(DUMP_SCRIPT)
    script.chmod(0o755)
    (tmp / "lease.bound").unlink(missing_ok=True)
    run("ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n",
        "-t", "3", "-T", "1", "-s", str(script), "-O", "mtu", "-O", "staticroutes",
        check=False, timeout=20)  # fmt: skip
    try:
        text = (tmp / "lease.bound").read_text()
    except FileNotFoundError:
        return {}
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


# --- (5a) an endpoint obtains its port's address, routes and MTU, then reaches the others -------


def test_an_endpoint_gets_its_address_by_dhcp_and_reaches_other_hosts_and_subnets(
    lab: Lab,
) -> None:
    h1, h2 = lab.add_hosts("h1", "h2")
    for host in (h1, h2):
        _restart_with(host, "--endpoint-addressing=dhcp")
    net_a, net_b = lab.network(), lab.network()
    sub_a, sub_b = lab.subnet(net_a, "10.0.1.0/24"), lab.subnet(net_b, "10.0.2.0/24")
    lab.router(sub_a, sub_b)
    group = lab.group(*OPEN)
    lab.port(sub_a, "10.0.1.11", h1, groups=[group])
    a2 = lab.port(sub_a, "10.0.1.12", h2, groups=[group])
    lab.port(sub_b, "10.0.2.11", h1, groups=[group])
    mtu = lab.call("GET", f"/networks/{net_a}")["network"]["mtu"]
    ns = h2.endpoint(a2)

    def lease() -> dict[str, str]:
        path = STATE_ROOT / h2.id / "endpoints" / a2 / "lease"
        text = path.read_text() if path.exists() else ""
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    got = eventually(lease, what="a2's lease")
    assert got["ip"] == "10.0.1.12/24"
    assert got["router"] == "10.0.1.1"
    assert got["mtu"] == str(mtu)
    assert got["server"] == "169.254.169.254"
    # exactly that address (a dynamic one: the lease's), the routes of option 121, the MTU
    shown = run("ip", "-4", "-n", ns, "-o", "addr", "show", "dev", "eth0").stdout
    assert [line.split()[3] for line in shown.splitlines()] == ["10.0.1.12/24"]
    assert "dynamic" in shown
    routes = run("ip", "-4", "-n", ns, "route", "show", "proto", "dhcp").stdout
    assert "default via 10.0.1.1 dev eth0" in routes
    assert "169.254.169.254 dev eth0" in routes
    assert f"mtu {mtu}" in run("ip", "-n", ns, "link", "show", "dev", "eth0").stdout
    details = lab.call("GET", f"/ports/{a2}")["port"]["binding:vif_details"]
    assert details == {"netns": ns, "dhcp_address": "10.0.1.12/24"}
    # on the same subnet on another host, and across the router
    answered = lab.pings([(ns, "10.0.1.11"), (ns, "10.0.2.11")])
    assert all(answered.values()), answered
    # a renewal goes to the server by unicast and is answered
    pid = int((STATE_ROOT / h2.id / "endpoints" / a2 / "pid").read_text())
    before = (STATE_ROOT / h2.id / "dhcp" / net_a / "log").read_text().count("DHCPACK")
    run("kill", "-USR1", str(pid))
    eventually(
        lambda: (STATE_ROOT / h2.id / "dhcp" / net_a / "log").read_text().count("DHCPACK") > before,
        what="the renewal's DHCPACK",
    )


# --- (5b) a port deleted: its host entry goes --------------------------------------------------


def test_a_deleted_ports_mac_gets_no_lease(lab: Lab, tmp_path: Path) -> None:
    (h1,) = lab.add_hosts("h1")
    net = lab.network()
    sub = lab.subnet(net, "10.0.1.0/24")
    group = lab.group(*OPEN)
    gone = lab.port(sub, "10.0.1.20", h1, groups=[group])
    kept = lab.port(sub, "10.0.1.21", h1, groups=[group])
    gone_mac = lab.call("GET", f"/ports/{gone}")["port"]["mac_address"]
    kept_mac = lab.call("GET", f"/ports/{kept}")["port"]["mac_address"]
    hosts = _server_folder(h1, net) / "hosts"
    assert gone_mac in hosts.read_text()
    lab.call("DELETE", f"/ports/{gone}")
    assert gone_mac not in hosts.read_text()
    # a client of the test with the kept port's MAC (its endpoint quiet) gets that port's
    # address; with the deleted port's MAC, nothing
    run("ip", "-n", h1.endpoint(kept), "link", "set", "eth0", "down")
    client = _client(lab, tmp_path, h1, net, kept_mac)
    assert _ask(client, tmp_path).get("ip") == "10.0.1.21"
    client = _client(lab, tmp_path, h1, net, gone_mac)
    assert _ask(client, tmp_path) == {}


# --- (5c) an agent restarted keeps dnsmasq running ----------------------------------------------


def test_a_restarted_agent_keeps_its_dhcp_server(lab: Lab) -> None:
    (h1,) = lab.add_hosts("h1")
    net = lab.network()
    sub = lab.subnet(net, "10.0.1.0/24")
    lab.port(sub, "10.0.1.11", h1, groups=[lab.group(*OPEN)])
    pid = eventually(lambda: _server_pid(h1, net), what="dnsmasq's pidfile")
    assert _alive(pid)
    served = eventually(lambda: _model(h1).get("dhcp"), what="the status file")
    assert served == {net: f"{h1.prefix}dh-{net}"}
    h1.stop_agent()
    h1.start_agent()
    lab.wait_connected(h1)
    timings = eventually(lambda: _model(h1).get("timings"), what="a first apply")
    assert timings["operations"] == 0, timings
    assert _model(h1)["failed"] == {}
    assert _server_pid(h1, net) == pid
    assert _alive(pid)


# --- (5d) no DHCP, no server ----------------------------------------------------------------------


def test_a_subnet_without_dhcp_gets_no_server_until_dhcp_is_enabled(lab: Lab) -> None:
    (h1,) = lab.add_hosts("h1")
    net = lab.network()
    sub = _dhcp_subnet(lab, net, "10.0.1.0/24", enabled=False)
    lab.port(sub, "10.0.1.11", h1, groups=[lab.group(*OPEN)])
    server_ns = f"{h1.prefix}dh-{net}"
    assert server_ns not in lab.namespaces()
    assert _server_pid(h1, net) == 0
    assert eventually(lambda: "dhcp" in _model(h1), what="the status file")
    assert _model(h1)["dhcp"] == {}
    lab.call("PUT", f"/subnets/{sub}", {"subnet": {"enable_dhcp": True}})
    assert server_ns in lab.namespaces()
    pid = eventually(lambda: _server_pid(h1, net), what="dnsmasq's pidfile")
    lab.call("PUT", f"/subnets/{sub}", {"subnet": {"enable_dhcp": False}})
    assert server_ns not in lab.namespaces()
    assert not _alive(pid)
    assert not _server_folder(h1, net).exists()


# --- (5d) a port's own DHCP options reach its client, and only its client ------------------------


def test_a_ports_extra_dhcp_options_are_handed_to_its_client_only(lab: Lab, tmp_path: Path) -> None:
    """``extra_dhcp_opt``: the options go through the goal state to the host's dnsmasq, which
    gives them to that port's client (udhcpc asks for the domain name; the server address is
    in every reply's header); another port's client gets none, and an option removed by an
    update is no longer given."""
    (h1,) = lab.add_hosts("h1")
    net = lab.network()
    sub = lab.subnet(net, "10.0.1.0/24")
    group = lab.group(*OPEN)
    options = [
        {"opt_name": "domain-name", "opt_value": "alcor.test"},
        {"opt_name": "server-ip-address", "opt_value": "10.0.1.5"},
        {"opt_name": "domain-name", "opt_value": "v6.alcor.test", "ip_version": 6},
    ]
    tuned = lab.port(sub, "10.0.1.31", h1, groups=[group], extra_dhcp_opts=options)
    plain = lab.port(sub, "10.0.1.32", h1, groups=[group])
    macs = {p: lab.call("GET", f"/ports/{p}")["port"]["mac_address"] for p in (tuned, plain)}
    for port in (tuned, plain):  # the test's clients answer for them
        run("ip", "-n", h1.endpoint(port), "link", "set", "eth0", "down")
    client = _client(lab, tmp_path, h1, net, macs[tuned])
    got = _ask(client, tmp_path)
    assert (got.get("ip"), got.get("domain"), got.get("siaddr")) == (
        "10.0.1.31",
        "alcor.test",
        "10.0.1.5",
    )
    client = _client(lab, tmp_path, h1, net, macs[plain])
    got = _ask(client, tmp_path)
    assert got.get("ip") == "10.0.1.32"
    assert got.get("domain") == "openstacklocal"  # the network's (internal DNS), not alcor.test
    assert got.get("siaddr") != "10.0.1.5"
    change = {"extra_dhcp_opts": [{"opt_name": "domain-name", "opt_value": None}]}
    lab.call("PUT", f"/ports/{tuned}", {"port": change})
    opts = _server_folder(h1, net) / "opts"
    eventually(lambda: "alcor.test" not in opts.read_text(), what="the option removed")
    assert _alive(_server_pid(h1, net)), "dnsmasq survives the reread (it would not with set:)"
    client = _client(lab, tmp_path, h1, net, macs[tuned])
    got = _ask(client, tmp_path)
    assert (got.get("ip"), got.get("siaddr")) == ("10.0.1.31", "10.0.1.5")
    assert got.get("domain") == "openstacklocal"
