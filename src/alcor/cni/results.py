"""The spec's ADD result (``prevResult`` to a chained plugin) in the version asked: 0.4.0's
addresses carry their IP version; 1.1.0's interfaces their MTU."""

from __future__ import annotations

from typing import Any

from alcor.cni import links
from alcor.cni.addressing import Plan


def added(version: str, *, device: str, netns: str, plan: Plan) -> dict[str, Any]:
    inside = plan.inside
    pod: dict[str, Any] = {"name": inside.name, "mac": inside.mac, "sandbox": netns}
    if version >= "1.1.0":
        pod["mtu"] = inside.mtu
    ips = []
    for cidr, gateway in zip(inside.addresses, plan.gateways, strict=True):
        ip: dict[str, Any] = {"address": cidr, "interface": 1}
        if gateway:
            ip["gateway"] = gateway
        if version < "1.0.0":
            ip["version"] = "6" if ":" in cidr else "4"
        ips.append(ip)
    found: dict[str, Any] = {
        "cniVersion": version,
        "interfaces": [{"name": device, "mac": links.host_mac(inside.mac)}, pod],
        "ips": ips,
        "routes": [{"dst": dst, "gw": via} for dst, via in inside.routes],
        "dns": {"nameservers": list(plan.nameservers)} if plan.nameservers else {},
    }
    return found
