"""Floating IP port forwarding proven with packets: a floating IP associated with no port
forwards a TCP port and a UDP port range to an endpoint behind a router whose gateway another
host serves; the outside (a namespace of the test's own on the gateway host's external bridge,
documentation addresses inside the lab only) reaches the forwarded ports through the floating
IP and nothing else, and no longer once the forwarding is deleted."""

from __future__ import annotations

import pytest

from alcor.lab import traffic
from tests.system.lab import Lab, unusable
from tests.system.test_external import OUTSIDE_IP, SNAT_IP, gatewayed
from tests.system.test_linux_dataplane import OPEN

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
]

FLOATING_IP = "203.0.113.30"


def test_forwarded_ports_of_a_floating_ip_reach_an_endpoint_behind_the_gateway_host(
    lab: Lab,
) -> None:
    _gateway, outside, external = gatewayed(lab)
    (compute,) = lab.add_hosts("c1")
    subnet = lab.subnet(lab.network(), "10.0.1.0/24")
    router = lab.router(subnet)
    gateway_info = {"network_id": external, "external_fixed_ips": [{"ip_address": SNAT_IP}]}
    lab.call("PUT", f"/routers/{router}", {"router": {"external_gateway_info": gateway_info}})
    port = lab.port(subnet, "10.0.1.11", compute, groups=[lab.group(*OPEN)])
    endpoint = compute.endpoint(port)  # on a host that does not serve the gateway
    lab.serve(endpoint, 8081, "forwarded-tcp")
    lab.serve(endpoint, 8082, "not-forwarded")
    for number in (7000, 7001):
        lab.serve(endpoint, number, f"forwarded-udp-{number}", protocol="udp")

    fip = lab.call(
        "POST",
        "/floatingips",
        {"floatingip": {"floating_network_id": external, "floating_ip_address": FLOATING_IP}},
    )["floatingip"]["id"]
    forwardings = f"/floatingips/{fip}/port_forwardings"
    tcp = lab.call(
        "POST",
        forwardings,
        {
            "port_forwarding": {
                "protocol": "tcp",
                "internal_port_id": port,
                "internal_ip_address": "10.0.1.11",
                "internal_port": 8081,
                "external_port": 2222,
            }
        },
    )["port_forwarding"]["id"]
    lab.call(
        "POST",
        forwardings,
        {
            "port_forwarding": {
                "protocol": "udp",
                "internal_port_id": port,
                "internal_ip_address": "10.0.1.11",
                "internal_port_range": "7000:7001",
                "external_port_range": "6000:6001",
            }
        },
    )

    # the forwarded ports answer through the floating IP, each from its own internal port
    assert lab.connect(outside, FLOATING_IP, 2222) == "forwarded-tcp"
    assert traffic.ask_udp(outside, FLOATING_IP, 6001) == "forwarded-udp-7001"
    assert traffic.ask_udp(outside, FLOATING_IP, 6000) == "forwarded-udp-7000"
    # a port that is not forwarded is not reached: not the internal port itself, nor another
    assert lab.connect(outside, FLOATING_IP, 8081) == ""
    assert lab.connect(outside, FLOATING_IP, 8082) == ""
    # the endpoint still goes out as the router (port forwarding is not a floating IP of its)
    lab.serve(outside, 8080, "$SOCAT_PEERADDR")
    assert lab.connect(endpoint, OUTSIDE_IP, 8080) == SNAT_IP

    # deleted: the TCP port is no longer forwarded, the UDP range still is
    lab.call("DELETE", f"{forwardings}/{tcp}")
    assert lab.connect(outside, FLOATING_IP, 2222) == ""
    assert traffic.ask_udp(outside, FLOATING_IP, 6000) == "forwarded-udp-7000"
