"""External connectivity proven with packets: a router's gateway on a flat external network,
served by the one host that maps its physical network, SNAT for the VPC and floating IPs, all
driven through the Neutron API. The "outside" is a namespace of the test's own on that host's
external bridge (203.0.113.0/24, documentation addresses, inside the lab only)."""

from __future__ import annotations

import pytest

from tests.system.lab import Host, Lab, eventually, run, unusable
from tests.system.test_linux_dataplane import OPEN

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
]

OUTSIDE_IP = "203.0.113.1"  # the external subnet's gateway: the outside's own address
SNAT_IP = "203.0.113.10"
FLOATING_IP = "203.0.113.20"


def outside_world(lab: Lab, gateway: Host) -> str:
    """The host's external bridge ``br-ex`` and a namespace on it holding OUTSIDE_IP."""
    outside = f"{lab.tag}-outside"
    run("ip", "netns", "add", outside)
    run("ip", "-n", gateway.ns, "link", "add", "br-ex", "type", "bridge")
    run("ip", "-n", gateway.ns, "link", "set", "br-ex", "up")
    run(
        "ip", "-n", outside, "link", "add", "eth0", "type", "veth",
        "peer", "name", "ex-outside", "netns", gateway.ns,
    )  # fmt: skip
    run("ip", "-n", gateway.ns, "link", "set", "ex-outside", "master", "br-ex", "up")
    run("ip", "-n", outside, "addr", "add", f"{OUTSIDE_IP}/24", "dev", "eth0")
    run("ip", "-n", outside, "link", "set", "eth0", "up")
    run("ip", "-n", outside, "link", "set", "lo", "up")
    return outside


def gatewayed(lab: Lab) -> tuple[Host, str, str]:
    """A host serving gateways on physical network "public" (its bridge ``br-ex`` with the
    outside on it), and the flat external network "public" with its subnet 203.0.113.0/24:
    the host, the outside's namespace and the external network's id."""
    (gateway,) = lab.add_hosts(
        "gw",
        args=("--bridge-mapping=public:br-ex",),
        physical_networks=("public",),  # its certificate says so; its node is registered so
        start=False,
    )
    outside = outside_world(lab, gateway)
    gateway.start_agent()
    lab.wait_connected(gateway)
    external = lab.call(
        "POST",
        "/networks",
        {
            "network": {
                "name": f"{lab.tag}-public",
                "router:external": True,
                "provider:network_type": "flat",
                "provider:physical_network": "public",
            }
        },
    )["network"]["id"]
    lab.call(
        "POST",
        "/subnets",
        {
            "subnet": {
                "network_id": external,
                "cidr": "203.0.113.0/24",
                "ip_version": 4,
                "gateway_ip": OUTSIDE_IP,
                "enable_dhcp": False,
                "allocation_pools": [{"start": "203.0.113.10", "end": "203.0.113.99"}],
            }
        },
    )
    return gateway, outside, external


def test_snat_and_a_floating_ip_reach_the_outside_through_the_gateway_host(lab: Lab) -> None:
    gateway, outside, external = gatewayed(lab)
    (compute,) = lab.add_hosts("c1")
    net_a, net_b = lab.network(), lab.network()
    sub_a, sub_b = lab.subnet(net_a, "10.0.1.0/24"), lab.subnet(net_b, "10.0.2.0/24")
    router = lab.router(sub_a, sub_b)
    gateway_info = {"network_id": external, "external_fixed_ips": [{"ip_address": SNAT_IP}]}
    lab.call("PUT", f"/routers/{router}", {"router": {"external_gateway_info": gateway_info}})
    group = lab.group(*OPEN)
    # endpoints on the compute host (which routes out through the gateway host) and on the
    # gateway host itself, on both subnets
    endpoints = {
        "a-compute": (lab.port(sub_a, "10.0.1.11", compute, groups=[group]), compute),
        "b-compute": (lab.port(sub_b, "10.0.2.11", compute, groups=[group]), compute),
        "a-gateway": (lab.port(sub_a, "10.0.1.12", gateway, groups=[group]), gateway),
    }
    namespaces = {name: host.endpoint(port) for name, (port, host) in endpoints.items()}

    # SNAT: every endpoint reaches the outside, which sees the router's gateway address
    answered = lab.pings([(ns, OUTSIDE_IP) for ns in namespaces.values()])
    assert all(answered.values()), answered
    lab.serve(outside, 8080, "$SOCAT_PEERADDR")
    for name, ns in namespaces.items():
        assert lab.connect(ns, OUTSIDE_IP, 8080) == SNAT_IP, name

    # a floating IP: the outside reaches the port through it, and the port goes out as it
    port_b = endpoints["b-compute"][0]
    floating = lab.call(
        "POST",
        "/floatingips",
        {
            "floatingip": {
                "floating_network_id": external,
                "floating_ip_address": FLOATING_IP,
                "port_id": port_b,
            }
        },
    )["floatingip"]["id"]
    assert lab.ping(outside, FLOATING_IP, count=2)
    lab.serve(namespaces["b-compute"], 8081, "behind-the-floating-ip")
    assert lab.connect(outside, FLOATING_IP, 8081) == "behind-the-floating-ip"
    assert lab.connect(namespaces["b-compute"], OUTSIDE_IP, 8080) == FLOATING_IP
    assert lab.connect(namespaces["a-compute"], OUTSIDE_IP, 8080) == SNAT_IP

    # disassociated: the outside loses it, the port goes out by SNAT again
    lab.call("PUT", f"/floatingips/{floating}", {"floatingip": {"port_id": None}})
    assert not lab.ping(outside, FLOATING_IP, wait=0.5)
    assert lab.connect(namespaces["b-compute"], OUTSIDE_IP, 8080) == SNAT_IP

    # the gateway cleared: nothing leaves, and the gateway host keeps no external leg
    router_ns = f"{gateway.prefix}qr-{router}"
    assert "qg-" in run("ip", "-n", router_ns, "-br", "link").stdout
    lab.call("PUT", f"/routers/{router}", {"router": {"external_gateway_info": {}}})
    assert not lab.ping(namespaces["a-compute"], OUTSIDE_IP, wait=0.5)

    def external_leg_gone() -> bool:
        inside = run("ip", "-n", router_ns, "-br", "link").stdout
        on_bridge = run("ip", "-n", gateway.ns, "-br", "link", "show", "master", "br-ex").stdout
        return "qg-" not in inside and "alqr-" not in on_bridge

    eventually(external_leg_gone, what="the gateway host to drop its external leg")
    assert "qr-" in run("ip", "-n", router_ns, "-br", "link").stdout  # the router itself stays
