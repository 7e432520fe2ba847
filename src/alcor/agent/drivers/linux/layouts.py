"""What the kernel must hold for each goal-state entry: pure functions, entry -> kernel objects.

The host's data plane, per kind of entry:

- **network** (a segment): a Linux bridge and a VXLAN device on it (VNI from the network,
  learning off on the device and on its bridge port, ``proxy``: ARP/ND requests for remote
  addresses are answered on the host from the static neighbor entries, so nothing floods the
  underlay). The bridge hands IPv4/IPv6 to the inet hooks (``nf_call_iptables``), where the
  security groups are.
- **neighbor** on another host: a static VXLAN forwarding entry (MAC -> that host's underlay
  address) and a permanent neighbor entry per address (what the proxy answers). The bridge
  needs no entry for it: every other port of a segment bridge (endpoints' taps, router, DHCP
  and transit legs) has unknown-unicast flooding off and a static entry for its own MAC, so
  a frame for a MAC the bridge does not hold goes to the VXLAN port alone, which sends it to
  the right host (or drops it). Two kernel entries a neighbor, not three; and no endpoint
  sees another's unknown unicast. Neighbors on this host need nothing: their endpoints are
  plugged here. No all-zero (head-end replication) entries are made: nothing here needs
  broadcast to leave the host (DHCP is answered by every host for its own ports: ``dhcp``).
  Virtual IPs (allowed address pairs) are the exception, on a device of their own: ``vips``.
- **port** (an endpoint bound here): in ``tap`` mode the existing ``tap<port:11>`` device is
  attached to the segment's bridge, and so is a pod's (``device_owner`` ``compute:kubernetes``:
  ``alcor-cni`` made its veth, ``names.PLUGGED`` in its alias), and a Kubernetes node's own
  (``compute:kubernetes-node``), in either mode; in ``netns``
  mode a namespace per port with a veth pair (``tap<port:11>`` on the bridge, ``eth0`` inside
  with the port's MAC and MTU, its fixed addresses, a default route via each subnet's gateway
  and the subnets' host routes). With
  ``--endpoint-addressing dhcp`` the port's first IPv4 address on a subnet with DHCP (and that
  subnet's routes) is left to DHCP: ``dhcp`` runs a client in the namespace; and its IPv6
  addresses on SLAAC and DHCPv6 subnets are left to router advertisements and DHCPv6
  (``dhcpv6``: ``accept_ra``/``autoconf`` on, a ``dhclient -6``).
- **router** (distributed): a namespace per router holding its interfaces' addresses and MACs,
  the same on every host, each on a veth leg into the segment's bridge, with forwarding on and
  the router's routes. Routing between subnets happens on the sending host; two projects with
  the same CIDRs have different routers, hence different namespaces.
- **router gateway**, on the one host serving it (``Router.gateway_host_id``): the ``qg`` leg
  on the host's bridge for the external (flat) network's physical network
  (``--bridge-mapping``), with the gateway port's MAC and addresses, the default route via the
  external subnet's gateway, and SNAT of what leaves through it (``enable_snat``). A *transit*
  leg ``sg`` on the bridge of the router's first IPv4 interface network takes what the other
  hosts send out: its MAC (``shared_mac``, the same everywhere) is where their router
  namespaces route anything their subnets do not hold (``default via 169.254.0.1 onlink``,
  the next hop a permanent neighbor entry for that MAC, reached over VXLAN by static
  forwarding entries towards the gateway host). No address is allocated for it.
- **floating IP**, on its router's gateway host: its address on the ``qg`` leg and a table of
  its own that DNATs what arrives for it and SNATs what its port sends out (before the
  router's SNAT).
- **firewall group** (``fwaas_v2``) on a router's interfaces, on every host holding the router
  (``firewalls``): a table of its own in the router's namespace filtering what its interfaces
  route in and out.
- **port forwarding** of a floating IP, on its router's gateway host (``forwardings``): the
  floating IP's address on the ``qg`` leg and a table of its own that DNATs what arrives for
  it on the forwarded protocol and ports; replies are translated back by conntrack.

Each function also says which networks (or, for a floating IP or a port forwarding, which
router) its objects depend on (a network's VNI and MTU name and size the devices), so the
driver recomputes them when such a network or one of its subnets (or the router) changes.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from typing import Protocol

import msgspec

from alcor.agent.drivers.linux import dhcpv6, firewalls, forwardings, names
from alcor.agent.drivers.linux import kernel as k
from alcor.v1 import southbound_pb2 as pb

FORWARDING = ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding")
DEFAULT_MTU = 1450  # 1500 less the VXLAN overhead, when a network does not say
VXLAN_PORT = 4789
ENDPOINT_MODES = ("tap", "netns")
TRANSIT_NEXT_HOP = "169.254.0.1"  # where non-gateway hosts route outbound traffic (onlink)
SNAT_TABLE = "ip alcor_snat"
EXTERNAL_MTU = 1500
ENDPOINT_ADDRESSING = ("static", "dhcp")
POD_OWNER = "compute:kubernetes"  # a pod's port: alcor-cni makes its device (docs/kubernetes.md)
NODE_OWNER = "compute:kubernetes-node"  # a node's own port for its pods: alcor-cni's device too
PLUGGED_OWNERS = (POD_OWNER, NODE_OWNER)
STATE_ROOT = "/run/alcor-agent"


class HostSettings(msgspec.Struct, frozen=True, kw_only=True):
    host_id: str
    underlay_ip: str
    endpoint_mode: str = "tap"
    netns_prefix: str = ""  # "" : names.default_prefix(host_id)
    vxlan_port: int = VXLAN_PORT
    bridge_mappings: dict[str, str] = {}  # physical network -> the host's bridge for it
    endpoint_addressing: str = "static"  # netns endpoints: "static" or "dhcp"
    state_dir: str = ""  # "" : STATE_ROOT/<host id>; the DHCP servers' and clients' files

    @property
    def prefix(self) -> str:
        return self.netns_prefix or names.default_prefix(self.host_id)

    @property
    def state(self) -> str:
        return self.state_dir or f"{STATE_ROOT}/{names.file_safe(self.host_id)}"


class Lookup(Protocol):
    def network(self, network_id: str) -> pb.Network | None: ...

    def router(self, router_id: str) -> pb.Router | None: ...

    def subnet(self, subnet_id: str) -> pb.Subnet | None: ...


class Layout(msgspec.Struct, frozen=True):
    objects: list[k.Object]
    networks: frozenset[str]  # the networks these objects depend on


def segment(network: pb.Network) -> int:
    """The VNI of a network the host can carry (0: none: not a VXLAN network)."""
    if network.network_type not in ("", "vxlan"):
        return 0
    return network.segmentation_id


def mtu(network: pb.Network) -> int:
    return network.mtu or DEFAULT_MTU


def of_network(network: pb.Network, host: HostSettings) -> Layout:
    vni = segment(network)
    if not vni:
        return Layout([], frozenset())
    bridge = names.bridge(vni)
    return Layout(
        [
            k.Link(ns=k.HOST, name=bridge, kind="bridge", nf_call=True, ipv6_auto=False),
            k.Link(
                ns=k.HOST,
                name=names.vxlan(vni),
                kind="vxlan",
                master=bridge,
                mtu=mtu(network),
                vxlan=k.Vxlan(vni=vni, local=host.underlay_ip, port=host.vxlan_port),
                learning=False,
                ipv6_auto=False,
            ),
        ],
        frozenset(),
    )


def of_neighbor(neighbor: pb.Neighbor, lookup: Lookup, host: HostSettings) -> Layout:
    depends = frozenset([neighbor.network_id])
    network = lookup.network(neighbor.network_id)
    remote = neighbor.host_ip and neighbor.host_ip != host.underlay_ip
    if network is None or not segment(network) or not remote or neighbor.host_id == host.host_id:
        return Layout([], depends)
    device = names.vxlan(segment(network))
    mac = neighbor.mac_address.lower()
    found: list[k.Object] = [k.Fdb(dev=device, mac=mac, dst=neighbor.host_ip)]
    found += [
        k.Neigh(ns=k.HOST, dev=device, ip=canonical(ip), mac=mac) for ip in neighbor.ip_addresses
    ]
    return Layout(found, depends)


def canonical(ip: str) -> str:
    """An address as the kernel shows it (IPv4 from the controller already is)."""
    return str(ipaddress.ip_address(ip)) if ":" in ip else ip


def of_port(port: pb.Port, lookup: Lookup, host: HostSettings) -> Layout:
    depends = frozenset([port.network_id])
    network = lookup.network(port.network_id)
    if network is None or not segment(network):
        return Layout([], depends)
    bridge, size = names.bridge(segment(network)), mtu(network)
    tap = names.tap(port.id)
    pinned = k.Fdb(dev=tap, mac=port.mac_address.lower())
    if port.trunk_parent_id:
        return Layout([*_subport(port, bridge, size, lookup, host), pinned], depends)
    if not plugs(port, host):
        attached = k.Link(
            ns=k.HOST,
            name=tap,
            kind="",
            master=bridge,
            mtu=size,
            up=port.admin_state_up,
            flood=False,
        )
        return Layout([attached, pinned], depends)
    ns = names.endpoint_netns(host.prefix, port.id)
    inside = names.ENDPOINT_DEVICE
    found: list[k.Object] = [
        k.Netns(ns),
        k.Link(
            ns=k.HOST,
            name=tap,
            kind="veth",
            peer=inside,
            peer_ns=ns,
            master=bridge,
            mtu=size,
            ipv6_auto=False,
            flood=False,
        ),
        pinned,
        k.Link(ns=ns, name="lo", kind=""),
        *veth_inside(ns, inside, port.mac_address, size, up=port.admin_state_up),
    ]
    fixed = list(port.fixed_ips)
    if host.endpoint_addressing == "dhcp":  # left to its DHCP clients and to SLAAC
        obtained = dhcp_address(port, lookup)
        subnets = port_subnets(port, lookup)
        fixed = [
            ip
            for ip in fixed
            if ip != obtained
            and not (ip.subnet_id in subnets and dhcpv6.self_configured(subnets[ip.subnet_id]))
        ]
        found += dhcpv6.endpoint_settings(ns, subnets.values())
    found += _addressing(ns, inside, fixed, lookup)
    return Layout(found, depends)


def port_subnets(port: pb.Port, lookup: Lookup) -> dict[str, pb.Subnet]:
    """The subnets of a port's fixed addresses that the host holds, by id."""
    found = {}
    for fixed in port.fixed_ips:
        subnet = lookup.subnet(fixed.subnet_id)
        if subnet is not None:
            found[subnet.id] = subnet
    return found


def plugs(port: pb.Port, host: HostSettings) -> bool:
    """Whether the agent makes the port's endpoint itself: in netns mode, unless it is a pod's
    or a Kubernetes node's own (whose veth ``alcor-cni`` made, as Nova makes a VM's tap in tap
    mode)."""
    return host.endpoint_mode == "netns" and port.device_owner not in PLUGGED_OWNERS


def _subport(
    port: pb.Port, bridge: str, size: int, lookup: Lookup, host: HostSettings
) -> list[k.Object]:
    """A trunk's subport: its ``tap`` on its segment's bridge is one end of a veth whose other
    end (``trunk_leg``) the driver splices to the parent's device with the subport's VLAN
    (``vlans``). In netns mode the parent's namespace also gets the VLAN sub-interface
    ``eth0.<vlan>`` (a veth whose peer is spliced to ``eth0``: the kernel here has no 802.1Q
    devices) with the subport's MAC and addresses, and no default route (the parent's is the
    namespace's)."""
    tap, leg = names.tap(port.id), names.trunk_leg(port.id)
    found: list[k.Object] = [
        k.Link(
            ns=k.HOST,
            name=tap,
            kind="veth",
            peer=leg,
            master=bridge,
            mtu=size,
            ipv6_auto=False,
            flood=False,
        ),
        k.Link(ns=k.HOST, name=leg, kind=k.PEER, mtu=size, up=port.admin_state_up, ipv6_auto=False),
    ]
    if host.endpoint_mode != "netns":
        return found
    ns = names.endpoint_netns(host.prefix, port.trunk_parent_id)
    child, inside = names.vlan_child(port.vlan_id), names.vlan_leg(port.vlan_id)
    mac = port.mac_address.lower()
    found += [
        k.Link(
            ns=ns,
            name=child,
            kind="veth",
            peer=inside,
            peer_ns=ns,
            mac=mac,
            mtu=size,
            up=port.admin_state_up,
            ipv6_auto=False,
        ),
        k.Address(ns, child, f"{link_local(mac)}/64"),
        k.Link(ns=ns, name=inside, kind=k.PEER, mtu=size, up=True, ipv6_auto=False),
    ]
    for fixed in port.fixed_ips:
        subnet = lookup.subnet(fixed.subnet_id)
        if subnet is not None:
            length = ipaddress.ip_network(subnet.cidr, strict=False).prefixlen
            found.append(k.Address(ns, child, f"{ipaddress.ip_address(fixed.ip_address)}/{length}"))
    return found


def dhcp_given(subnet: pb.Subnet) -> bool:
    """Whether a subnet's IPv4 addresses are served by DHCP here (IPv6's: ``dhcpv6``)."""
    return subnet.enable_dhcp and ":" not in subnet.cidr


def dhcp_address(port: pb.Port, lookup: Lookup) -> pb.FixedIp | None:
    """The address a DHCP client on the port obtains: its first on a subnet with DHCP."""
    for fixed in port.fixed_ips:
        subnet = lookup.subnet(fixed.subnet_id)
        if subnet is not None and dhcp_given(subnet):
            return fixed
    return None


def veth_inside(ns: str, name: str, mac: str, size: int, *, up: bool) -> list[k.Object]:
    """A veth's end in a namespace with its MAC, and the link-local address that MAC gives,
    made without duplicate address detection (the kernel's would be unusable for a second or
    more after the link comes up, and a router's is the same on every host by design)."""
    mac = mac.lower()
    return [
        k.Link(ns=ns, name=name, kind=k.PEER, mac=mac, mtu=size, up=up, ipv6_auto=False),
        k.Address(ns, name, f"{link_local(mac)}/64"),
    ]


def link_local(mac: str) -> str:
    """The EUI-64 link-local address of a MAC."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    return str(ipaddress.IPv6Address(bytes([0xFE, 0x80, 0, 0, 0, 0, 0, 0, *eui])))


def _addressing(
    ns: str, dev: str, fixed_ips: Iterable[pb.FixedIp], lookup: Lookup
) -> list[k.Object]:
    """An endpoint's addresses with its subnets' prefix lengths, a default route per address
    family via the first subnet's gateway that has one, and the subnets' host routes."""
    found: list[k.Object] = []
    defaults: dict[int, str] = {}
    for fixed in fixed_ips:
        subnet = lookup.subnet(fixed.subnet_id)
        if subnet is None:
            continue
        network = ipaddress.ip_network(subnet.cidr, strict=False)
        address = ipaddress.ip_address(fixed.ip_address)
        found.append(k.Address(ns, dev, f"{address}/{network.prefixlen}"))
        if subnet.gateway_ip and subnet.gateway_ip != fixed.ip_address:
            defaults.setdefault(network.version, subnet.gateway_ip)
        found += [_route(ns, r) for r in subnet.host_routes]
    found += [
        k.Route(ns=ns, dst="0.0.0.0/0" if version == 4 else "::/0", via=gateway, dev=dev)
        for version, gateway in defaults.items()
    ]
    return found


def of_router(router: pb.Router, lookup: Lookup, host: HostSettings) -> Layout:
    ns = names.router_netns(host.prefix, router.id)
    depends = frozenset(i.network_id for i in router.interfaces)
    found: list[k.Object] = [
        k.Netns(ns),
        k.Link(ns=ns, name="lo", kind=""),
        *(k.Sysctl(ns, key, "1") for key in FORWARDING),
    ]
    legs: set[str] = set()
    for interface in router.interfaces:
        network = lookup.network(interface.network_id)
        if network is None or not segment(network):
            continue
        inside = names.router_inside(interface.port_id)
        if interface.port_id not in legs:
            legs.add(interface.port_id)
            found += leg(
                names.router_leg(interface.port_id),
                names.bridge(segment(network)),
                ns,
                inside,
                interface.mac_address,
                mtu(network),
            )
        address = ipaddress.ip_address(interface.ip_address)
        length = interface.prefix_length or address.max_prefixlen
        found.append(k.Address(ns, inside, f"{address}/{length}"))
    found += [_route(ns, r) for r in router.routes]
    transit = _transit(router, lookup)
    if _serves(router, host):
        found += _gateway(router, ns, transit, host)
    elif router.gateway_host_ip and transit is not None:
        found += _toward_gateway(router, ns, transit)
    return Layout(found, depends)


def shared_mac(resource_id: str) -> str:
    """A MAC that is the same on every host for one resource (a router's transit leg, a
    network's DHCP server): locally administered, outside the range ports get theirs from
    (fa:16:3e), 3 bytes of the id's hash."""
    digest = hashlib.sha256(resource_id.encode()).digest()
    return "fa:16:3f:" + ":".join(f"{byte:02x}" for byte in digest[:3])


def _serves(router: pb.Router, host: HostSettings) -> bool:
    return router.gateway_host_id == host.host_id and router.HasField("gateway")


def _external_bridge(gateway: pb.RouterGateway, host: HostSettings) -> str:
    """The host's bridge for the external network ('' when it maps none)."""
    if gateway.network_type != "flat":
        return ""
    return host.bridge_mappings.get(gateway.physical_network, "")


def _has_default(router: pb.Router, version: int = 4) -> bool:
    return any(
        ipaddress.ip_network(r.destination, strict=False).prefixlen == 0
        and (":" in r.destination) == (version == 6)
        for r in router.routes
    )


def _routed_v6(router: pb.Router) -> bool:
    """Whether the router's gateway routes IPv6 out (it has an IPv6 address, no NAT66) and no
    route of the router's own is the IPv6 default."""
    addresses = router.gateway.addresses if router.HasField("gateway") else ()
    return any(":" in a.ip_address for a in addresses) and not _has_default(router, 6)


Transit = tuple[pb.RouterInterface, pb.Network]


def _transit(router: pb.Router, lookup: Lookup) -> Transit | None:
    """The interface whose segment carries the router's outbound traffic between hosts: its
    first IPv4 interface (by port) on a network the host carries, else (a router of IPv6
    subnets alone) its first interface there."""
    carried = [
        (interface, network)
        for interface in sorted(router.interfaces, key=lambda i: (i.port_id, i.ip_address))
        if (network := lookup.network(interface.network_id)) is not None and segment(network)
    ]
    return next(
        (found for found in carried if ":" not in found[0].ip_address),
        carried[0] if carried else None,
    )


def _toward_gateway(router: pb.Router, ns: str, transit: Transit) -> list[k.Object]:
    """On a host that does not serve the gateway: out through the gateway host's transit leg
    (IPv6 too when the gateway routes it: to the leg's link-local address)."""
    interface, network = transit
    inside = names.router_inside(interface.port_id)
    mac = shared_mac(router.id)
    device = names.vxlan(segment(network))
    found: list[k.Object] = []
    if not _has_default(router):
        found += [
            k.Route(ns=ns, dst="0.0.0.0/0", via=TRANSIT_NEXT_HOP, dev=inside, onlink=True),
            k.Neigh(ns=ns, dev=inside, ip=TRANSIT_NEXT_HOP, mac=mac),
        ]
    if _routed_v6(router):
        found += [
            k.Route(ns=ns, dst="::/0", via=link_local(mac), dev=inside),
            k.Neigh(ns=ns, dev=inside, ip=link_local(mac), mac=mac),
        ]
    if found:  # as a neighbor's: no bridge entry
        found.append(k.Fdb(dev=device, mac=mac, dst=router.gateway_host_ip))
    return found


def _gateway(
    router: pb.Router, ns: str, transit: Transit | None, host: HostSettings
) -> list[k.Object]:
    """On the host serving the gateway: the qg leg, the default route, SNAT, the transit leg."""
    gateway = router.gateway
    bridge = _external_bridge(gateway, host)
    if not bridge:
        return []
    inside = names.gateway_inside(gateway.port_id)
    found = leg(
        names.router_leg(gateway.port_id),
        bridge,
        ns,
        inside,
        gateway.mac_address,
        gateway.mtu or EXTERNAL_MTU,
        on_segment=False,
    )
    snat_to = next_hop = next_hop6 = ""
    for address in gateway.addresses:
        ip = ipaddress.ip_address(address.ip_address)
        found.append(k.Address(ns, inside, f"{ip}/{address.prefix_length or ip.max_prefixlen}"))
        if ip.version == 4 and not snat_to:
            snat_to, next_hop = address.ip_address, address.gateway_ip
        if ip.version == 6 and not next_hop6:
            next_hop6 = canonical(address.gateway_ip) if address.gateway_ip else ""
    if next_hop and not _has_default(router):
        found.append(k.Route(ns=ns, dst="0.0.0.0/0", via=next_hop, dev=inside))
    if next_hop6 and _routed_v6(router):  # routed, never translated (no NAT66)
        found.append(k.Route(ns=ns, dst="::/0", via=next_hop6, dev=inside))
    if snat_to and gateway.enable_snat:
        found.append(k.Nftables(ns, SNAT_TABLE, snat_table(inside, snat_to)))
    if transit is not None:
        found += _transit_leg(router, ns, transit)
    return found


def snat_table(device: str, address: str) -> str:
    return (
        f"table {SNAT_TABLE} {{\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        f'    oifname "{device}" snat ip to {address}\n'
        "  }\n"
        "}\n"
    )


def _transit_leg(router: pb.Router, ns: str, transit: Transit) -> list[k.Object]:
    """The leg the other hosts' outbound traffic arrives on. It has no address: it only
    receives (packets for its MAC, routed on by the namespace), so reverse-path filtering is
    off for it; the bridge knows its MAC statically (nothing floods the segment for it)."""
    _, network = transit
    outside, inside, mac = (
        names.transit_leg(router.id),
        names.transit_inside(router.id),
        shared_mac(router.id),
    )
    return [
        *leg(outside, names.bridge(segment(network)), ns, inside, mac, mtu(network)),
        k.Sysctl(ns, "net.ipv4.conf.all.rp_filter", "0"),
        k.Sysctl(ns, f"net.ipv4.conf.{inside}.rp_filter", "0"),
    ]


def of_floating_ip(floating_ip: pb.FloatingIp, lookup: Lookup, host: HostSettings) -> Layout:
    """A floating IP on the host serving its router's gateway: its address on the qg leg, and
    its own NAT table (its SNAT runs before the router's, so its port goes out as itself)."""
    depends = frozenset([floating_ip.router_id])
    served = _gateway_leg(floating_ip.router_id, lookup, host)
    if served is None:
        return Layout([], depends)
    ns, qg = served
    table = f"ip alcor_fip_{floating_ip.id.replace('-', '_')}"
    public, private = floating_ip.floating_ip_address, floating_ip.fixed_ip_address
    text = (
        f"table {table} {{\n"
        "  chain prerouting {\n"
        "    type nat hook prerouting priority dstnat; policy accept;\n"
        f'    iifname "{qg}" ip daddr {public} dnat ip to {private}\n'
        "  }\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat - 1; policy accept;\n"
        f'    oifname "{qg}" ip saddr {private} snat ip to {public}\n'
        "  }\n"
        "}\n"
    )
    return Layout([k.Address(ns, qg, f"{public}/32"), k.Nftables(ns, table, text)], depends)


def _gateway_leg(router_id: str, lookup: Lookup, host: HostSettings) -> tuple[str, str] | None:
    """The router's namespace and its qg leg, if this host serves the router's gateway."""
    router = lookup.router(router_id)
    if router is None or not _serves(router, host) or not _external_bridge(router.gateway, host):
        return None
    return names.router_netns(host.prefix, router.id), names.gateway_inside(router.gateway.port_id)


def of_port_forwarding(forwarding: pb.PortForwarding, lookup: Lookup, host: HostSettings) -> Layout:
    """A floating IP's port forwarding on the host serving its router's gateway: the floating
    IP's address on the qg leg (its other forwardings want it too), and its DNAT table."""
    depends = frozenset([forwarding.router_id])
    served = _gateway_leg(forwarding.router_id, lookup, host)
    if served is None:
        return Layout([], depends)
    ns, qg = served
    address = k.Address(ns, qg, f"{forwarding.floating_ip_address}/32")
    text = forwardings.dnat_table(forwarding, qg)
    return Layout([address, k.Nftables(ns, forwardings.table(forwarding.id), text)], depends)


def _route(ns: str, route: pb.Route) -> k.Route:
    return k.Route(
        ns=ns, dst=str(ipaddress.ip_network(route.destination, strict=False)), via=route.nexthop
    )


def leg(
    name: str, bridge: str, ns: str, inside: str, mac: str, size: int, *, on_segment: bool = True
) -> list[k.Object]:
    """A veth from a host bridge (``name`` on ``bridge``) into a namespace (``inside``, with
    ``mac``): how routers' interfaces, gateways and transit, and DHCP servers are wired. On a
    segment bridge the leg gets no unknown unicast and the bridge a static entry for its MAC
    (see the neighbors); an operator's external bridge is left as it is."""
    found: list[k.Object] = [
        k.Link(
            ns=k.HOST,
            name=name,
            kind="veth",
            peer=inside,
            peer_ns=ns,
            master=bridge,
            mtu=size,
            ipv6_auto=False,
            flood=False if on_segment else None,
        ),
        *veth_inside(ns, inside, mac, size, up=True),
    ]
    if on_segment:
        found.append(k.Fdb(dev=name, mac=mac.lower()))
    return found


def of_entry(entry: pb.Entry, lookup: Lookup, host: HostSettings) -> Layout:
    """The kernel objects one entry wants (members and groups want none here: security groups
    are the nftables ruleset of ``nft``)."""
    which = entry.WhichOneof("resource")
    if which == "network":
        return of_network(entry.network, host)
    if which == "neighbor":
        return of_neighbor(entry.neighbor, lookup, host)
    if which == "port":
        return of_port(entry.port, lookup, host)
    if which == "router":
        return of_router(entry.router, lookup, host)
    if which == "floating_ip":
        return of_floating_ip(entry.floating_ip, lookup, host)
    if which == "port_forwarding":
        return of_port_forwarding(entry.port_forwarding, lookup, host)
    if which == "firewall_group":
        return of_firewall_group(entry.firewall_group, lookup, host)
    return Layout([], frozenset())


def of_firewall_group(group: pb.FirewallGroup, lookup: Lookup, host: HostSettings) -> Layout:
    """A firewall group's table in the namespace of the router whose interfaces it filters
    (``firewalls``), on every host holding the router; it follows the router's interfaces."""
    depends = frozenset([group.router_id]) if group.router_id else frozenset()
    router = lookup.router(group.router_id) if group.router_id else None
    if router is None:
        return Layout([], depends)
    ns = names.router_netns(host.prefix, router.id)
    return Layout(firewalls.objects(group, router, ns), depends)
