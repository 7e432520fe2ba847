"""Virtual IPs across hosts proven with packets: a VIP listed as an allowed address pair of two
ports on two hosts is reached by an endpoint on a third host (and through the router from
another subnet, on a fourth host) wherever it is held; it moves between the hosts by a
gratuitous ARP under a continuous ping, and the loss is counted in packets: nothing sent after
the new holder's announcement is lost (no controller round trip), nothing at all when the new
holder claims it before the old one lets go. A port without the pair cannot take it, an
address of a CIDR pair is reached once the port takes it, and ports whose pairs are removed no
longer answer for it. keepalived fails a VIP over the same way."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from alcor.lab import processes, traffic
from tests.system.lab import Lab, eventually, run, unusable
from tests.system.test_linux_dataplane import OPEN

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
    pytest.mark.skipif(not shutil.which("arping"), reason="arping (iputils-arping) is missing"),
]

VIP = "10.0.1.100"


def claim(ns: str) -> None:
    """The endpoint takes the VIP and says so: a gratuitous ARP (sent at once; arping returns
    a second later)."""
    run("ip", "-n", ns, "addr", "add", f"{VIP}/24", "dev", "eth0")
    run("ip", "netns", "exec", ns, "arping", "-U", "-c", "1", "-I", "eth0", VIP)


def release(ns: str) -> None:
    run("ip", "-n", ns, "addr", "del", f"{VIP}/24", "dev", "eth0")


def cached(ns: str) -> str:
    """The MAC an endpoint's ARP cache holds for the VIP ('' for none)."""
    words = run("ip", "-n", ns, "neigh", "show", VIP, "dev", "eth0").stdout.split()
    return words[words.index("lladdr") + 1] if "lladdr" in words else ""


def mac(lab: Lab, port_id: str) -> str:
    return str(lab.call("GET", f"/ports/{port_id}")["port"]["mac_address"])


def test_a_vip_moves_between_hosts_by_gratuitous_arp_under_a_ping(lab: Lab) -> None:
    h1, h2, h3, h4 = lab.add_hosts("h1", "h2", "h3", "h4")
    group = lab.group(*OPEN)
    subnet = lab.subnet(lab.network(), "10.0.1.0/24")
    other = lab.subnet(lab.network(), "10.0.2.0/24")
    lab.router(subnet, other)
    pair = [{"ip_address": VIP}]  # the port's own MAC
    wide = [*pair, {"ip_address": "10.0.1.96/28"}]  # and any address of a CIDR
    first = lab.port(subnet, "10.0.1.11", h1, groups=[group], allowed_address_pairs=wide)
    second = lab.port(subnet, "10.0.1.12", h2, groups=[group], allowed_address_pairs=pair)
    pinger = h3.endpoint(lab.port(subnet, "10.0.1.13", h3, groups=[group]))
    spoofer = h1.endpoint(lab.port(subnet, "10.0.1.14", h1, groups=[group]))
    # on a host with no port on the VIP's network: its router namespace reaches the VIP
    routed = h4.endpoint(lab.port(other, "10.0.2.14", h4, groups=[group]))
    one, two = h1.endpoint(first), h2.endpoint(second)

    # held by the first port: the third host resolves it to that port's MAC (no proxy answer)
    claim(one)
    eventually(lambda: lab.ping(pinger, VIP), what="the VIP on h1 reached from h3")
    assert cached(pinger) == mac(lab, first)
    assert lab.ping(routed, VIP)  # and through the router from the other subnet

    pinging = traffic.Pinging(pinger, VIP)
    try:
        eventually(lambda: pinging.answered_after(0) >= 10, what="the ping going")
        before = pinging.last()
        # break, then make: the old holder lets go, the new one claims it
        release(one)
        claim(two)
        eventually(lambda: cached(pinger) == mac(lab, second), what="the GARP from h2 heard")
        announced = pinging.last()
        eventually(lambda: pinging.answered_after(announced) >= 10, what="the VIP on h2 answering")
        moved = pinging.lost()
        # lost: only what was sent between the release and the announcement (and one in flight)
        assert all(before < seq <= announced + 1 for seq in moved), (before, announced, moved)
        assert lab.ping(routed, VIP)  # h4's router heard the announcement too
        # make, then break: claimed by the first before the second lets go: nothing is lost
        claim(one)
        eventually(lambda: cached(pinger) == mac(lab, first), what="the GARP from h1 heard")
        release(two)
        after = pinging.last()
        eventually(lambda: pinging.answered_after(after) >= 10, what="the VIP back on h1")
        assert pinging.lost() == moved
    finally:
        pinging.stop()
    print(f"VIP move, break then make: {len(moved)} of {before}..{announced} lost; "
          f"make then break: 0 lost")  # fmt: skip
    assert lab.ping(routed, VIP)

    # anti-spoofing: a port without the pair cannot take the VIP over
    claim(spoofer)
    assert cached(pinger) == mac(lab, first)
    assert lab.ping(pinger, VIP)
    release(spoofer)

    # a CIDR pair: whichever of its addresses the port takes is reached from the other hosts
    run("ip", "-n", one, "addr", "add", "10.0.1.97/24", "dev", "eth0")
    assert lab.ping(pinger, "10.0.1.97")
    assert lab.ping(routed, "10.0.1.97")
    assert not lab.ping(pinger, "10.0.1.98")  # nobody holds this one

    # the pairs removed: the holder's answers are spoofing now, and dropped
    since = lab.revision()
    for port_id in (first, second):
        lab.call("PUT", f"/ports/{port_id}", {"port": {"allowed_address_pairs": []}})
    lab.converge(since)
    run("ip", "-n", pinger, "neigh", "flush", "dev", "eth0")
    assert not lab.ping(pinger, VIP)


KEEPALIVED = """vrrp_instance alcor {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    unicast_src_ip {me}
    unicast_peer {{
        {peer}
    }}
    virtual_ipaddress {{
        {vip}/24 dev eth0
    }}
}}
"""


def keepalived(lab: Lab, ns: str, *, me: str, peer: str, priority: int) -> subprocess.Popen[bytes]:
    """keepalived's VRRP in an endpoint, to its peer by unicast (the multicast of VRRP does
    not cross hosts here, as it would not on most clouds)."""
    folder = Path(lab.tmp) / f"keepalived-{me}"
    folder.mkdir()
    config = folder / "keepalived.conf"
    config.write_text(KEEPALIVED.format(priority=priority, me=me, peer=peer, vip=VIP))
    process = processes.start(
        ["ip", "netns", "exec", ns, "keepalived", "--dont-fork", "--log-console", "--vrrp",
         f"--use-file={config}", f"--pid={folder}/keepalived.pid",
         f"--vrrp_pid={folder}/vrrp.pid", f"--checkers_pid={folder}/checkers.pid"],
        log=folder / "keepalived.log",
    )  # fmt: skip
    lab.processes.append(process)
    return process


@pytest.mark.skipif(not shutil.which("keepalived"), reason="keepalived is missing")
def test_keepalived_fails_a_vip_over_between_hosts_under_a_ping(lab: Lab) -> None:
    """VRRP between two ports on two hosts: the master stops, the backup takes the VIP and
    announces it, and the pinger on a third host follows at once."""
    h1, h2, h3 = lab.add_hosts("h1", "h2", "h3")
    group = lab.group(*OPEN)
    subnet = lab.subnet(lab.network(), "10.0.1.0/24")
    pair = [{"ip_address": VIP}]
    first = lab.port(subnet, "10.0.1.11", h1, groups=[group], allowed_address_pairs=pair)
    second = lab.port(subnet, "10.0.1.12", h2, groups=[group], allowed_address_pairs=pair)
    pinger = h3.endpoint(lab.port(subnet, "10.0.1.13", h3, groups=[group]))
    master = keepalived(lab, h1.endpoint(first), me="10.0.1.11", peer="10.0.1.12", priority=150)
    keepalived(lab, h2.endpoint(second), me="10.0.1.12", peer="10.0.1.11", priority=100)
    eventually(lambda: lab.ping(pinger, VIP), what="the VIP held by keepalived on h1")
    eventually(lambda: cached(pinger) == mac(lab, first), what="h1 the master")

    pinging = traffic.Pinging(pinger, VIP)
    try:
        eventually(lambda: pinging.answered_after(0) >= 10, what="the ping going")
        before = pinging.last()
        processes.stop(master)  # it releases the VIP and tells its peer (priority 0)
        eventually(lambda: cached(pinger) == mac(lab, second), what="the backup's GARP heard")
        announced = pinging.last()
        eventually(lambda: pinging.answered_after(announced) >= 10, what="the VIP on h2")
        lost = pinging.lost()
    finally:
        pinging.stop()
    assert all(before < seq <= announced + 1 for seq in lost), (before, announced, lost)
    print(f"keepalived failover: {len(lost)} of {before}..{announced} lost")
