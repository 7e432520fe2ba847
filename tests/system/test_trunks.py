"""Trunks proven with packets: a parent endpoint reaches a subport's network through a VLAN
sub-interface (``eth0.<vlan>``, its frames tagged on the parent's device and untagged into the
subport's segment on the host: ``agent/drivers/linux/vlans.py``), and no more once the subport
is removed. Hosts are namespaces with ``alcor agent --driver linux --endpoint-mode netns``,
driven through the controller's API; every test makes its own lab and removes it."""

from __future__ import annotations

import ast
import subprocess
import sys
from typing import Any

import pytest

from tests.system.lab import Lab, eventually, run, unusable

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
]

OPEN = ({"protocol": None},)
VLAN = 101


# A sniffer on a device (packet sockets see a frame before tc does): the VLAN and the IPv4
# destination of every tagged IPv4 frame the device receives, until its stdin closes.
SNIFFER = """
import select, socket, struct, sys
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
sock.bind((sys.argv[1], 0))
sock.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA: the tag the kernel took off
print("ready", flush=True)
seen = set()
while sys.stdin not in select.select([sock, sys.stdin], [], [])[0]:
    data, ancillary, _, _ = sock.recvmsg(65535, socket.CMSG_SPACE(20))
    for level, kind, value in ancillary:
        if (level, kind) != (263, 8):
            continue
        status, _, _, _, _, tci, _ = struct.unpack("IIIHHHH", value[:20])
        if status & 0x10 and data[12:14] == b"\\x08\\x00":  # VLAN valid, IPv4
            seen.add((tci & 0xFFF, socket.inet_ntoa(data[30:34])))
print(sorted(seen), flush=True)
"""


def _tagged_frames(lab: Lab, ns: str, device: str, ping: tuple[str, str]) -> set[tuple[int, str]]:
    """(VLAN, IPv4 destination) of the tagged frames ``device`` in ``ns`` receives while
    ``ping`` (namespace, address) pings once."""
    sniffer = subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, "-c", SNIFFER, device],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    lab.processes.append(sniffer)
    assert sniffer.stdout is not None
    assert sniffer.stdout.readline().strip() == "ready"
    assert lab.ping(*ping)
    out, _ = sniffer.communicate("\n", timeout=30)
    return set(ast.literal_eval(out.strip()))


def _trunk_status(lab: Lab, trunk_id: str) -> str:
    return str(lab.call("GET", f"/trunks/{trunk_id}")["trunk"]["status"])


def _subports(lab: Lab, trunk_id: str, action: str, body: list[dict[str, Any]]) -> None:
    lab.call("PUT", f"/trunks/{trunk_id}/{action}", {"sub_ports": body})


def test_a_trunk_parent_reaches_a_subports_network_through_a_vlan_subinterface(lab: Lab) -> None:
    h1, h2 = lab.add_hosts("h1", "h2")
    net_a, net_b = lab.network(), lab.network()
    sub_a, sub_b = lab.subnet(net_a, "10.0.1.0/24"), lab.subnet(net_b, "10.0.2.0/24")
    group = lab.group(*OPEN)
    parent = lab.port(sub_a, "10.0.1.11", h1, groups=[group])
    neighbour = lab.port(sub_a, "10.0.1.12", h2, groups=[group])  # the parent's own network
    remote = lab.port(sub_b, "10.0.2.12", h2, groups=[group])  # the subport's, on another host
    subport = lab.call(
        "POST",
        "/ports",
        {
            "port": {
                "network_id": net_b,
                "fixed_ips": [{"subnet_id": sub_b, "ip_address": "10.0.2.21"}],
                "security_groups": [group],
            }
        },
    )["port"]["id"]
    since = lab.revision()
    trunk = lab.call(
        "POST",
        "/trunks",
        {
            "trunk": {
                "port_id": parent,
                "sub_ports": [
                    {"port_id": subport, "segmentation_type": "vlan", "segmentation_id": VLAN}
                ],
            }
        },
    )["trunk"]
    lab.converge(since)
    eventually(lambda: _trunk_status(lab, trunk["id"]) == "ACTIVE", what="the trunk ACTIVE")
    shown = lab.call("GET", f"/ports/{subport}")["port"]
    assert (shown["binding:host_id"], shown["device_owner"]) == (h1.id, "trunk:subport")
    assert shown["status"] == "ACTIVE"

    ns, far = h1.endpoint(parent), h2.endpoint(remote)
    child = run("ip", "-n", ns, "-br", "addr", "show", "dev", f"eth0.{VLAN}").stdout
    assert "10.0.2.21/24" in child
    # the subport's network is reached through the sub-interface only: the parent's namespace
    # has no route to it but the sub-interface's, no router joins the networks, and the
    # parent's device on the host carries the VLAN splice
    routes = run("ip", "-n", ns, "route", "show", "10.0.2.0/24").stdout
    assert f"dev eth0.{VLAN}" in routes
    host_side = run(
        "ip", "netns", "exec", h1.ns, "tc", "filter", "show", "dev", f"tap{parent[:11]}", "ingress"
    )
    assert "bpf" in host_side.stdout
    answered = lab.pings(
        [
            (ns, "10.0.2.12"),
            (far, "10.0.2.21"),
            (ns, "10.0.1.12"),
            (h2.endpoint(neighbour), "10.0.1.11"),
        ]
    )
    assert all(answered.values()), answered
    # what leaves the endpoint for the subport's network is tagged on the parent's device
    tagged = _tagged_frames(lab, h1.ns, f"tap{parent[:11]}", (ns, "10.0.2.12"))
    assert (VLAN, "10.0.2.12") in tagged, tagged
    untagged = _tagged_frames(lab, h1.ns, f"tap{parent[:11]}", (ns, "10.0.1.12"))
    assert not any(ip == "10.0.1.12" for _, ip in untagged), untagged  # its own: untagged
    links = run("ip", "-n", ns, "-br", "link", "show").stdout.split("\n")
    assert {line.split()[0].partition("@")[0] for line in links if line} == {
        "lo",
        "eth0",
        f"eth0.{VLAN}",
        f"alvl{VLAN}",  # the sub-interface's peer: its only way out is the splice onto eth0
    }

    # an agent restarted over a trunk that is right changes nothing at all
    h1.stop_agent()
    h1.start_agent()
    lab.wait_connected(h1)
    timings = eventually(lambda: h1.status().get("model", {}).get("timings"), what="an apply")
    assert timings["operations"] == 0, timings
    assert h1.status()["model"]["failed"] == {}
    assert lab.ping(ns, "10.0.2.12")

    # removed from the trunk, the subport is unbound: the VLAN no longer reaches its network
    since = lab.revision()
    _subports(lab, trunk["id"], "remove_subports", [{"port_id": subport}])
    lab.converge(since)
    assert lab.call("GET", f"/ports/{subport}")["port"]["binding:host_id"] == ""
    gone = run("ip", "-n", ns, "link", "show", f"eth0.{VLAN}", check=False)
    assert gone.returncode != 0
    assert not lab.ping(ns, "10.0.2.12", count=2)
    assert not lab.ping(far, "10.0.2.21", count=2)
    assert lab.ping(ns, "10.0.1.12")  # the parent's own network is untouched
