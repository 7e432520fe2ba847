"""IPv6 proven with endpoints that configure themselves (``--endpoint-addressing dhcp``): the
kernel's SLAAC from the router's advertisements (radvd in the router's namespace on each
host), DHCPv6 addresses and options from the network's dnsmasq (``dhclient -6``), each
endpoint holding exactly the address its port shows, and pings across the router and the
hosts; then IPv6 routed, not translated, out through the gateway host."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from alcor.agent.drivers.linux import dhcp, layouts
from tests.system.lab import Host, Lab, eventually, run, unusable
from tests.system.test_dhcp import STATE_ROOT, _restart_with
from tests.system.test_external import gatewayed

MISSING = [tool for tool in ("dnsmasq", "radvd", "dhclient") if shutil.which(tool) is None]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"IPv6 tests need {', '.join(MISSING)} (dnsmasq-base, radvd, isc-dhcp-client)",
    ),
]

OPEN6 = ({"protocol": None, "ethertype": "IPv6"},)
ADVERTISED = 60.0  # seconds: radvd's first advertisements come within 16 s, a solicited one at once


def _subnet(lab: Lab, network_id: str, cidr: str, mode: str | None, **more: Any) -> str:
    body: dict[str, Any] = {"network_id": network_id, "cidr": cidr, "ip_version": 6, **more}
    if mode is not None:
        body |= {"ipv6_ra_mode": mode, "ipv6_address_mode": mode}
    return str(lab.call("POST", "/subnets", {"subnet": body})["subnet"]["id"])


def _port(lab: Lab, subnet_id: str, host: Host, group: str, ip: str = "") -> dict[str, Any]:
    """A port on the subnet bound to ``host`` (its address Neutron's choice unless ``ip``: an
    automatic-address subnet takes none asked for), once ACTIVE."""
    network_id = lab.call("GET", f"/subnets/{subnet_id}")["subnet"]["network_id"]
    fixed: dict[str, str] = {"subnet_id": subnet_id} | ({"ip_address": ip} if ip else {})
    port = lab.call(
        "POST",
        "/ports",
        {
            "port": {
                "network_id": network_id,
                "fixed_ips": [fixed],
                "binding:host_id": host.id,
                "device_owner": "compute:nova",
                "security_groups": [group],
            }
        },
    )["port"]
    lab.neutron.wait_status(port["id"], "ACTIVE")
    return dict(port)


def _global_addresses(ns: str) -> list[str]:
    """The endpoint's global IPv6 addresses that are usable (DAD done)."""
    shown = run("ip", "-6", "-n", ns, "-o", "addr", "show", "dev", "eth0", "scope", "global")
    return sorted(
        line.split()[3]
        for line in shown.stdout.splitlines()
        if "tentative" not in line and "dadfailed" not in line
    )


def _address(port: dict[str, Any]) -> str:
    [fixed] = port["fixed_ips"]
    return str(fixed["ip_address"])


def _lease(host: Host, port_id: str) -> dict[str, str]:
    path = STATE_ROOT / host.id / "endpoints6" / port_id / "lease"
    return dhcp.lease(path.read_text() if path.exists() else "")


def test_slaac_and_dhcpv6_endpoints_get_their_ports_addresses_and_ping_across_the_router(
    lab: Lab,
) -> None:
    h1, h2 = lab.add_hosts("h1", "h2")
    for host in (h1, h2):
        _restart_with(host, "--endpoint-addressing=dhcp")
    net_a, net_b, net_c = lab.network(), lab.network(), lab.network()
    sub_a = _subnet(lab, net_a, "2001:db8:a::/64", "slaac")
    sub_b = _subnet(lab, net_b, "2001:db8:b::/64", "dhcpv6-stateful")
    sub_c = _subnet(
        lab, net_c, "2001:db8:c::/64", "dhcpv6-stateless", dns_nameservers=["2001:db8::53"]
    )
    router = lab.router(sub_a, sub_b, sub_c)
    group = lab.group(*OPEN6)
    a1, a2 = _port(lab, sub_a, h1, group), _port(lab, sub_a, h2, group)
    b2 = _port(lab, sub_b, h2, group, ip="2001:db8:b::12")
    c1 = _port(lab, sub_c, h1, group)
    endpoints = {"a1": (a1, h1), "a2": (a2, h2), "b2": (b2, h2), "c1": (c1, h1)}
    namespaces = {name: host.endpoint(port["id"]) for name, (port, host) in endpoints.items()}

    # SLAAC (a1, a2, c1: EUI-64 as Neutron computes it) and DHCPv6 (b2: the /128 leased)
    for name, (port, _) in endpoints.items():
        length = 128 if name == "b2" else 64
        wanted = [f"{_address(port)}/{length}"]
        eventually(
            lambda ns=namespaces[name], wanted=wanted: _global_addresses(ns) == wanted,
            timeout=ADVERTISED,
            what=f"{name}'s address {wanted}",
        )
    assert _lease(h2, b2["id"])["ip"] == _address(b2)
    # stateless DHCPv6: options only (the subnet's DNS server), no address
    stateless = eventually(lambda: _lease(h1, c1["id"]), timeout=ADVERTISED, what="c1's options")
    assert stateless["dns"] == "2001:db8::53"
    assert stateless["ip"] == ""

    # the default route is the router's advertisement, from the gateway's link-local address
    interfaces = lab.call("GET", f"/ports?device_id={router}")["ports"]
    gateway_b = next(p for p in interfaces if p["network_id"] == net_b)
    routes = run("ip", "-6", "-n", namespaces["b2"], "route", "show", "default").stdout
    assert f"via {layouts.link_local(gateway_b['mac_address'])} dev eth0 proto ra" in routes

    # on one subnet across hosts, across the router on one host and across both
    pairs = [
        (namespaces["a1"], _address(a2)),
        (namespaces["a1"], _address(b2)),
        (namespaces["b2"], _address(c1)),
        (namespaces["c1"], _address(a2)),
        (namespaces["c1"], _address(a1)),
    ]
    answered = lab.pings(pairs)
    assert all(answered.values()), answered


OUTSIDE6 = "2001:db8:ff::1"  # the external IPv6 subnet's gateway: the outside's own address


def test_ipv6_is_routed_out_through_the_gateway_host_without_translation(lab: Lab) -> None:
    gateway, outside, external = gatewayed(lab)
    (compute,) = lab.add_hosts("c1")
    for host in (gateway, compute):
        _restart_with(host, "--endpoint-addressing=dhcp")
    external6 = lab.call(
        "POST",
        "/subnets",
        {
            "subnet": {
                "network_id": external, "cidr": "2001:db8:ff::/64", "ip_version": 6,
                "gateway_ip": OUTSIDE6, "enable_dhcp": False,
            }
        },
    )["subnet"]["id"]  # fmt: skip
    run("ip", "-n", outside, "addr", "add", f"{OUTSIDE6}/64", "dev", "eth0", "nodad")
    net4, net6 = lab.network(), lab.network()
    sub4 = lab.subnet(net4, "10.0.1.0/24")
    sub6 = _subnet(lab, net6, "2001:db8:a::/64", "slaac")
    router = lab.router(sub4, sub6)
    info = {"network_id": external, "external_fixed_ips": [{"subnet_id": external6}]}
    shown = lab.call("PUT", f"/routers/{router}", {"router": {"external_gateway_info": info}})
    [gateway_ip] = [
        fixed["ip_address"]
        for fixed in shown["router"]["external_gateway_info"]["external_fixed_ips"]
        if ":" in fixed["ip_address"]
    ]
    # the outside routes the tenant prefix to the router's gateway address (no NAT66)
    run("ip", "-n", outside, "-6", "route", "add", "2001:db8:a::/64", "via", gateway_ip)
    group = lab.group(*OPEN6)
    on_compute = _port(lab, sub6, compute, group)
    on_gateway = _port(lab, sub6, gateway, group)
    for port, host in ((on_compute, compute), (on_gateway, gateway)):
        ns = host.endpoint(port["id"])
        wanted = [f"{_address(port)}/64"]
        eventually(
            lambda ns=ns, wanted=wanted: _global_addresses(ns) == wanted,
            timeout=ADVERTISED,
            what=f"the address {wanted} by SLAAC",
        )
    # out and back: the outside reaches each endpoint at its own address, so nothing translates
    pairs = [
        (compute.endpoint(on_compute["id"]), OUTSIDE6),
        (gateway.endpoint(on_gateway["id"]), OUTSIDE6),
        (outside, _address(on_compute)),
        (outside, _address(on_gateway)),
    ]
    answered = lab.pings(pairs)
    assert all(answered.values()), answered
    neighbors = run("ip", "-n", outside, "-6", "neigh", "show", "dev", "eth0").stdout
    assert "2001:db8:a:" not in neighbors  # the endpoints are routed to, never on the link
