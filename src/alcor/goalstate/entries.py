"""Stored records -> goal-state messages: what a host is told about each resource.

Each function takes records and returns the protocol's message for one key of a host's goal
state (keys as ``alcor.v1.keys`` names them).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import msgspec

from alcor.model import dns, qos, records, trunks
from alcor.v1 import southbound_pb2 as pb


def is_own(port: records.Port) -> bool:
    """Whether the port is an endpoint its host plugs (not a router's or a floating IP's)."""
    return bool(port.binding_host_id) and not port.device_owner.startswith("network:")


def addresses(port: records.Port) -> list[str]:
    return [ip.ip_address for ip in port.fixed_ips]


def address_pairs(port: records.Port) -> list[pb.AddressPair]:
    """A port's allowed address pairs, each with its MAC (the store keeps the port's own for a
    pair that names none, as Neutron does)."""
    return [
        pb.AddressPair(ip_address=pair.ip_address, mac_address=pair.mac_address or port.mac_address)
        for pair in port.allowed_address_pairs
    ]


def port_entry(port: records.Port, revision: int) -> pb.Entry:
    parent, vlan = trunks.riding(port.binding_profile) or ("", 0)
    return pb.Entry(
        revision=revision,
        port=pb.Port(
            id=port.id,
            network_id=port.network_id,
            mac_address=port.mac_address,
            fixed_ips=[
                pb.FixedIp(subnet_id=ip.subnet_id, ip_address=ip.ip_address)
                for ip in port.fixed_ips
            ],
            admin_state_up=port.admin_state_up,
            port_security_enabled=port.port_security_enabled,
            security_group_ids=port.security_groups,
            allowed_address_pairs=address_pairs(port),
            device_owner=port.device_owner,
            device_id=port.device_id,
            trunk_parent_id=parent,
            vlan_id=vlan,
            extra_dhcp_opts=[
                pb.DhcpOption(name=o.opt_name, value=o.opt_value, ip_version=o.ip_version)
                for o in port.extra_dhcp_opts
            ],
            qos_policy_id=qos.effective(port) or "",
        ),
    )


def network_entry(network: records.Network, revision: int, *, dns_domain: str) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        network=pb.Network(
            id=network.id,
            network_type=network.network_type,
            segmentation_id=network.segmentation_id or 0,
            mtu=network.mtu,
            admin_state_up=network.admin_state_up,
            project_id=network.project_id,
            dns_domain=dns_domain,
        ),
    )


def subnet_entry(subnet: records.Subnet, revision: int) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        subnet=pb.Subnet(
            id=subnet.id,
            network_id=subnet.network_id,
            ip_version=subnet.ip_version,
            cidr=subnet.cidr,
            gateway_ip=subnet.gateway_ip or "",
            enable_dhcp=subnet.enable_dhcp,
            dns_nameservers=subnet.dns_nameservers,
            host_routes=[
                pb.Route(destination=r.destination, nexthop=r.nexthop) for r in subnet.host_routes
            ],
            ipv6_address_mode=subnet.ipv6_address_mode or "",
            ipv6_ra_mode=subnet.ipv6_ra_mode or "",
        ),
    )


def neighbor_entry(
    port: records.Port,
    network: records.Network | None,
    host_ip: str,
    revision: int,
    *,
    dns_domain: str,
) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        neighbor=pb.Neighbor(
            port_id=port.id,
            network_id=port.network_id,
            segmentation_id=(network.segmentation_id or 0) if network else 0,
            mac_address=port.mac_address,
            ip_addresses=addresses(port),
            host_id=port.binding_host_id,
            host_ip=host_ip,
            dns_name=dns.relative(port.dns_name, domain=dns_domain),
            allowed_address_pairs=address_pairs(port),
        ),
    )


def member_entry(group_id: str, port: records.Port, revision: int) -> pb.Entry:
    """A remote group's member: the port's fixed addresses and its allowed address pairs (a
    pair's address may be a CIDR), as Neutron's remote-group address sets hold them."""
    ips = addresses(port) + [pair.ip_address for pair in port.allowed_address_pairs]
    return pb.Entry(
        revision=revision,
        member=pb.Member(security_group_id=group_id, port_id=port.id, ip_addresses=ips),
    )


def security_group_entry(
    group: records.SecurityGroup, rules: Iterable[records.SecurityGroupRule], revision: int
) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        security_group=pb.SecurityGroup(
            id=group.id,
            stateful=group.stateful,
            rules=[
                pb.Rule(
                    id=rule.id,
                    direction=rule.direction,
                    ethertype=rule.ethertype,
                    protocol=rule.protocol or "",
                    port_range_min=rule.port_range_min,
                    port_range_max=rule.port_range_max,
                    remote_ip_prefix=rule.remote_ip_prefix or "",
                    remote_group_id=rule.remote_group_id or "",
                    remote_address_group_id=rule.remote_address_group_id or "",
                )
                for rule in sorted(rules, key=lambda r: r.id)
            ],
        ),
    )


def qos_policy_entry(policy: records.QosPolicy, revision: int) -> pb.Entry:
    """A QoS policy as its ports' hosts enforce it: a rate and burst each way, a DSCP mark."""
    message = pb.QosPolicy(id=policy.id)
    for rule in policy.rules:
        if rule.type == qos.DSCP_MARKING:
            message.marks, message.dscp_mark = True, rule.dscp_mark
        elif rule.type == qos.BANDWIDTH_LIMIT and rule.direction == "ingress":
            message.ingress_kbps, message.ingress_burst_kb = rule.max_kbps, qos.burst_kbps(rule)
        elif rule.type == qos.BANDWIDTH_LIMIT:
            message.egress_kbps, message.egress_burst_kb = rule.max_kbps, qos.burst_kbps(rule)
    return pb.Entry(revision=revision, qos_policy=message)


def address_group_entry(group: records.AddressGroup, revision: int) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        address_group=pb.AddressGroup(id=group.id, addresses=group.addresses),
    )


class Gateway(msgspec.Struct, frozen=True):
    """A router's gateway port and the external network it is on (None: not known yet)."""

    port: records.Port
    network: records.Network | None


def router_entry(
    router: records.Router,
    interfaces: Iterable[records.Port],
    subnets: dict[str, records.Subnet],
    gateway: Gateway | None,
    gateway_host: tuple[str, str],
    revision: int,
) -> pb.Entry:
    """The router with one interface per (interface port, fixed IP), each with its subnet's
    prefix length, and its external gateway when it has one, with the host serving it
    (``gateway_host``: its name and underlay address)."""
    shown = pb.Router(
        id=router.id,
        project_id=router.project_id,
        admin_state_up=router.admin_state_up,
        routes=[pb.Route(destination=r.destination, nexthop=r.nexthop) for r in router.routes],
        gateway_host_id=gateway_host[0],
        gateway_host_ip=gateway_host[1],
    )
    for port in sorted(interfaces, key=lambda p: p.id):
        for ip in port.fixed_ips:
            subnet = subnets.get(ip.subnet_id)
            shown.interfaces.append(
                pb.RouterInterface(
                    port_id=port.id,
                    network_id=port.network_id,
                    subnet_id=ip.subnet_id,
                    ip_address=ip.ip_address,
                    mac_address=port.mac_address,
                    prefix_length=(
                        ipaddress.ip_network(subnet.cidr).prefixlen if subnet is not None else 0
                    ),
                )
            )
    if gateway is not None:
        shown.gateway.CopyFrom(_gateway(gateway, subnets, enable_snat=router.enable_snat))
    return pb.Entry(revision=revision, router=shown)


def _gateway(
    gateway: Gateway, subnets: dict[str, records.Subnet], *, enable_snat: bool
) -> pb.RouterGateway:
    port, network = gateway.port, gateway.network
    shown = pb.RouterGateway(
        network_id=port.network_id,
        port_id=port.id,
        mac_address=port.mac_address,
        enable_snat=enable_snat,
    )
    if network is not None:
        shown.network_type = network.network_type
        shown.physical_network = network.physical_network or ""
        shown.segmentation_id = network.segmentation_id or 0
        shown.mtu = network.mtu
    for ip in port.fixed_ips:
        subnet = subnets.get(ip.subnet_id)
        shown.addresses.append(
            pb.GatewayAddress(
                subnet_id=ip.subnet_id,
                ip_address=ip.ip_address,
                prefix_length=ipaddress.ip_network(subnet.cidr).prefixlen if subnet else 0,
                gateway_ip=(subnet.gateway_ip or "") if subnet else "",
            )
        )
    return shown


def floating_ip_entry(floating_ip: records.FloatingIp, revision: int) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        floating_ip=pb.FloatingIp(
            id=floating_ip.id,
            floating_ip_address=floating_ip.floating_ip_address,
            floating_network_id=floating_ip.floating_network_id,
            router_id=floating_ip.router_id or "",
            port_id=floating_ip.port_id or "",
            fixed_ip_address=floating_ip.fixed_ip_address or "",
        ),
    )


def port_forwarding_entry(forwarding: records.PortForwarding, revision: int) -> pb.Entry:
    return pb.Entry(
        revision=revision,
        port_forwarding=pb.PortForwarding(
            id=forwarding.id,
            floatingip_id=forwarding.floatingip_id,
            floating_ip_address=forwarding.floating_ip_address,
            router_id=forwarding.router_id,
            protocol=forwarding.protocol,
            internal_ip_address=forwarding.internal_ip_address,
            external_port_start=forwarding.external_port_start,
            external_port_end=forwarding.external_port_end,
            internal_port_start=forwarding.internal_port_start,
            internal_port_end=forwarding.internal_port_end,
        ),
    )
