"""What the linux driver calls the things it makes, and how it knows them again.

Devices live in the agent's own network namespace (the host's) and their names are bounded by
the kernel to 15 characters (``IFNAMSIZ`` - 1), so they are derived from short ids:

==================  =========================  ======================================
``albr-<vni>``      a segment's Linux bridge   at most 13 characters (VNI < 2**24)
``alvx-<vni>``      a segment's VXLAN device   same
``alqr-<port:10>``  a router leg (host side)   the router interface (or gateway) port's
``alsg-<rtr:10>``   a gateway's transit leg    the router's first 10 (on its gateway host)
``tap<port:11>``    an endpoint (host side)    as Nova names a port's tap device
``aldh-<vni>``      a DHCP server's leg        at most 13 characters
``altv-<port:10>``  a subport's trunk leg      the peer of its ``tap<port:11>`` (trunks)
``alvp-<vni>``      a segment's VIP device     its virtual IPs' ARP between hosts (``vips``)
==================  =========================  ======================================

Namespaces share one directory (``/run/netns``) per machine, so theirs carry a prefix of the
agent's (``--netns-prefix``; by default ``alcor-<host id>-``, which keeps the simulated hosts of
a test apart): ``<prefix>qr-<router id>`` holds a router, ``<prefix>ep-<port id>`` an endpoint
(``--endpoint-mode netns``), whose interface is ``eth0``, ``<prefix>dh-<network id>`` a
network's DHCP server (its leg inside is ``dh0``); a router's leg inside its namespace is
``qr-<port:11>``, its external gateway ``qg-<port:11>`` and, on the host serving the gateway,
the transit leg the other hosts send outbound traffic to ``sg-<router:11>``.

Ownership: the driver removes only what these names mark as its own (``albr-``, ``alvx-``,
``alqr-``, ``aldh-`` devices, namespaces ``<prefix>qr-``/``<prefix>ep-``/``<prefix>dh-``); an
endpoint's ``tap`` device is its own only in netns mode (it made it), otherwise it is attached
and detached, never deleted; so is a pod's in either mode (``alcor-cni`` made it, and marked it
with the alias ``PLUGGED``).
"""

from __future__ import annotations

import re

BRIDGE = "albr-"
VXLAN = "alvx-"
ROUTER_LEG = "alqr-"
TRANSIT_LEG = "alsg-"
TAP = "tap"
ROUTER_NETNS = "qr-"
ENDPOINT_NETNS = "ep-"
ENDPOINT_DEVICE = "eth0"
DHCP_LEG = "aldh-"
DHCP_NETNS = "dh-"
DHCP_DEVICE = "dh0"
TRUNK_LEG = "altv-"
PLUGGED = "alcor-cni"  # how the alias alcor-cni gives a pod's tap begins: attached, never deleted
VLAN_LEG = "alvl"
VIP_VXLAN = "alvp-"
OWNED_NETNS = (ROUTER_NETNS, ENDPOINT_NETNS, DHCP_NETNS)
OWNED_DEVICES = (BRIDGE, VXLAN, ROUTER_LEG, TRANSIT_LEG, DHCP_LEG, TRUNK_LEG, VIP_VXLAN)
MAX_DEVICE = 15

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def bridge(vni: int) -> str:
    return f"{BRIDGE}{vni}"


def vxlan(vni: int) -> str:
    return f"{VXLAN}{vni}"


def vip_vxlan(vni: int) -> str:
    """A segment's second VXLAN device, for its virtual IPs' ARP (``vips``)."""
    return f"{VIP_VXLAN}{vni}"


def router_leg(port_id: str) -> str:
    """A router interface's leg on the segment's bridge."""
    return ROUTER_LEG + port_id[:10]


def router_inside(port_id: str) -> str:
    """The same leg inside the router's namespace."""
    return "qr-" + port_id[:11]


def gateway_inside(port_id: str) -> str:
    """A router's external gateway leg inside its namespace."""
    return "qg-" + port_id[:11]


def transit_leg(router_id: str) -> str:
    """The gateway host's leg for a router's outbound traffic from other hosts."""
    return TRANSIT_LEG + router_id[:10]


def transit_inside(router_id: str) -> str:
    return "sg-" + router_id[:11]


def tap(port_id: str) -> str:
    """The endpoint's device on the host, as Nova names it."""
    return TAP + port_id[:11]


def trunk_leg(port_id: str) -> str:
    """A subport's leg on the host: the peer of its ``tap`` (which is on its segment's
    bridge), spliced to the parent's device with the subport's VLAN (``vlans``)."""
    return TRUNK_LEG + port_id[:10]


def vlan_child(vlan: int) -> str:
    """A parent endpoint's VLAN sub-interface in its namespace (netns mode), as ``ip link add
    link eth0 name eth0.<vlan> type vlan`` would name it."""
    return f"{ENDPOINT_DEVICE}.{vlan}"


def vlan_leg(vlan: int) -> str:
    """The peer of ``vlan_child(vlan)``, spliced to ``eth0`` with the VLAN."""
    return f"{VLAN_LEG}{vlan}"


def file_safe(text: str) -> str:
    """An id as part of a file or namespace name."""
    return _UNSAFE.sub("_", text)


def default_prefix(host_id: str) -> str:
    return "alcor-" + file_safe(host_id) + "-"


def router_netns(prefix: str, router_id: str) -> str:
    return prefix + ROUTER_NETNS + router_id


def endpoint_netns(prefix: str, port_id: str) -> str:
    return prefix + ENDPOINT_NETNS + port_id


def dhcp_leg(vni: int) -> str:
    """A network's DHCP server's leg on the segment's bridge."""
    return f"{DHCP_LEG}{vni}"


def dhcp_netns(prefix: str, network_id: str) -> str:
    return prefix + DHCP_NETNS + network_id


def owns_device(name: str) -> bool:
    return name.startswith(OWNED_DEVICES)


def owns_netns(prefix: str, name: str) -> bool:
    """Whether a namespace is one this agent made: its prefix, then a router, an endpoint or
    a DHCP server."""
    return name.startswith(prefix) and name[len(prefix) :].startswith(OWNED_NETNS)


def pins_macs(device: str) -> bool:
    """Whether the driver keeps static forwarding entries on a device: a VXLAN device, or a
    port of a segment bridge (its legs, an endpoint's tap)."""
    return owns_device(device) or device.startswith(TAP)


def segment_vni(name: str) -> int | None:
    """The VNI in a bridge's or VXLAN device's name."""
    for prefix in (BRIDGE, VXLAN):
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            return int(name[len(prefix) :])
    return None
