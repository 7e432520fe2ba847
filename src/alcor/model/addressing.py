"""Pure checks and computations on subnet addressing: CIDRs, IPv6 modes, routes, DNS, EUI-64.

Each check raises ``errors.InvalidInput`` with Neutron's wording, naming the attribute.

A subnet's CIDR is checked as Neutron's ``_validate_subnet`` and ``_validate_subnet_cidr`` do
(``check_subnet_cidr``): never the IPv6 network ``::`` nor a /0; and with DHCP on, never a
prefix too long to leave DHCP an address (IPv4 beyond /30, IPv6 beyond /126), a multicast or
loopback range, or an IPv4 range starting at 0.0.0.0. With DHCP off Neutron takes those, and
so do we.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from msgspec import UNSET

from alcor.model import errors

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")


def invalid(attribute: str, reason: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Invalid input for {attribute}. Reason: {reason}")


def parse_cidr(text: str, attribute: str = "cidr") -> Network:
    """A network; host bits set is an error, as in Neutron."""
    try:
        if "/" not in text:
            raise ValueError(text)
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise invalid(attribute, f"'{text}' is not a valid IP subnet.") from None
    try:
        return ipaddress.ip_network(text)
    except ValueError:
        raise invalid(attribute, f"'{text}' isn't a recommended CIDR, use '{loose}'.") from None


def parse_subnet_cidr(text: str) -> Network:
    """A subnet's CIDR; host bits set are cleared, as Neutron does (10.0.0.5/24 is
    10.0.0.0/24)."""
    try:
        if "/" not in text:
            raise ValueError(text)
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise invalid("cidr", f"'{text}' is not a valid IP subnet.") from None


def _operation(message: str) -> errors.InvalidInput:
    """Neutron's ``InvalidInput`` exception (the plugin's checks, not the API's validators)."""
    return errors.InvalidInput(f"Invalid input for operation: {message}", type="InvalidInput")


def check_subnet_cidr(network: Network, *, enable_dhcp: bool) -> None:
    """The CIDR of a new subnet, with or without DHCP (see the module docstring)."""
    if network.version == 6 and int(network.network_address) == 0:
        raise _operation("IPv6 subnet '::' is not supported.")
    if enable_dhcp:
        check_dhcp_cidr(network)
    if network.prefixlen == 0:
        raise _operation("0 is not allowed as CIDR prefix length.")


def check_dhcp_cidr(network: Network) -> None:
    """A CIDR DHCP can serve: checked when a subnet is made with DHCP on or DHCP is turned on."""
    if network.prefixlen > (30 if network.version == 4 else 126):
        raise _operation(
            "Subnet has a prefix length that is incompatible with DHCP service enabled."
        )
    if network.is_multicast:
        raise _operation("Multicast IP subnet is not supported if enable_dhcp is True.")
    if network.is_loopback:
        raise _operation("Loopback IP subnet is not supported if enable_dhcp is True.")
    if network.version == 4 and int(network.network_address) == 0:
        # Neutron's text, its doubled full stop included
        raise _operation("First IP '0.0.0.0' of network is not supported if enable_dhcp is True..")


def parse_address(text: str, attribute: str) -> Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise invalid(attribute, f"'{text}' is not a valid IP address.") from None


def check_ip_version(network: Network, ip_version: int | None) -> int:
    if ip_version is None:
        return network.version
    if ip_version not in (4, 6):
        raise invalid("ip_version", f"{ip_version} is not in [4, 6].")
    if ip_version != network.version:
        raise _operation(f"cidr '{network}' does not match the ip_version '{ip_version}'.")
    return ip_version


def check_ipv6_modes(
    network: Network, ra_mode: str | None, address_mode: str | None, *, enable_dhcp: bool = True
) -> None:
    """A new subnet's IPv6 modes (each None or one of ``IPV6_MODES``: ``ipv6_mode``), as
    Neutron 28 checks them: none on IPv4, none with DHCP off, the same value when both are
    set, and a /64 for SLAAC and DHCPv6-stateless (EUI-64 addresses)."""
    if network.version == 4:
        for attribute, mode in (("ipv6_ra_mode", ra_mode), ("ipv6_address_mode", address_mode)):
            if mode is not None:
                raise _operation(f"{attribute} is not valid when ip_version is 4.")
        return
    if (ra_mode or address_mode) and not enable_dhcp:
        raise _operation(
            "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False."
        )
    if ra_mode and address_mode and ra_mode != address_mode:
        raise _operation(
            f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to '{address_mode}' "
            "is not valid. If both attributes are set, they must be the same value."
        )
    if (
        address_mode in AUTO_ADDRESS_MODES or ra_mode in AUTO_ADDRESS_MODES
    ) and network.prefixlen != 64:
        raise _operation(
            f"Invalid CIDR {network} for IPv6 address mode. OpenStack uses the EUI-64 address "
            "format, which requires the prefix to be /64."
        )


def ipv6_mode(attribute: str, value: object) -> str | None:
    """An IPv6 mode as asked for (None: not asked): one of ``IPV6_MODES``; an explicit null is
    no valid value either, as Neutron's API answers it."""
    if value is UNSET:
        return None
    if value not in IPV6_MODES:
        raise invalid(attribute, f"{value} is not in valid_values.")
    return str(value)


def check_dhcp_kept(ra_mode: str | None, address_mode: str | None, *, enable_dhcp: bool) -> None:
    """An update turning DHCP off on a subnet with IPv6 modes is refused, as Neutron's."""
    if not enable_dhcp and (ra_mode or address_mode):
        raise _operation("Cannot disable enable_dhcp with ipv6 attributes set.")


def is_auto_address(ra_mode: str | None, address_mode: str | None) -> bool:
    """SLAAC or DHCPv6-stateless (by either mode): ports get their EUI-64 address, never a pool
    one, and Neutron gives every non-router port on the network one."""
    return ra_mode in AUTO_ADDRESS_MODES or address_mode in AUTO_ADDRESS_MODES


def check_host_routes(network: Network, routes: Sequence[tuple[str, str]]) -> None:
    seen: set[tuple[str, str]] = set()
    for destination, nexthop in routes:
        target = parse_cidr(destination, "host_routes")
        hop = parse_address(nexthop, "host_routes")
        if target.version != network.version or hop.version != network.version:
            raise errors.InvalidInput("Host route version does not match the subnet's ip_version.")
        if (destination, nexthop) in seen:
            raise invalid("host_routes", f"Duplicate hostroute '{destination}, {nexthop}'.")
        seen.add((destination, nexthop))


def check_nameservers(network: Network, servers: Sequence[str]) -> None:
    seen: set[str] = set()
    for server in servers:
        address = parse_address(server, "dns_nameservers")
        if server in seen:
            raise invalid("dns_nameservers", f"Duplicate nameserver '{server}'.")
        seen.add(server)
        if address.version != network.version:
            raise _operation(
                f"dns_nameserver '{server}' does not match the ip_version '{network.version}'."
            )


def overlapping(network: Network, others: Sequence[str]) -> str | None:
    """The first of ``others`` (CIDRs) that overlaps ``network``, if any."""
    for other in others:
        candidate = ipaddress.ip_network(other)
        if candidate.version == network.version and candidate.overlaps(network):
            return other
    return None


def eui64(network: ipaddress.IPv6Network, mac: str) -> ipaddress.IPv6Address:
    """The SLAAC address of a MAC in a /64 (RFC 4291 modified EUI-64)."""
    octets = bytearray.fromhex(mac.replace(":", ""))
    octets[0] ^= 0x02
    interface = bytes(octets[:3]) + b"\xff\xfe" + bytes(octets[3:])
    return network.network_address + int.from_bytes(interface)
