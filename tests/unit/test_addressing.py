"""Pure subnet addressing checks: CIDRs, IPv6 modes, routes, nameservers, overlaps, EUI-64."""

from __future__ import annotations

import ipaddress
import re

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alcor.model import addressing, errors


def test_a_cidr_with_host_bits_suggests_its_network() -> None:
    with pytest.raises(errors.InvalidInput, match=re.escape("use '10.0.0.0/24'")):
        addressing.parse_cidr("10.0.0.7/24")


@pytest.mark.parametrize("text", ["10.0.0.0", "10.0.0.0/33", "banana/24", "", "fd00::/129"])
def test_what_is_not_a_subnet_is_refused(text: str) -> None:
    with pytest.raises(errors.InvalidInput):
        addressing.parse_cidr(text)


def test_ip_version_defaults_to_the_cidrs_and_must_agree() -> None:
    v6 = addressing.parse_cidr("fd00::/64")
    assert addressing.check_ip_version(v6, None) == 6
    with pytest.raises(errors.InvalidInput):
        addressing.check_ip_version(v6, 4)
    with pytest.raises(errors.InvalidInput):
        addressing.check_ip_version(v6, 5)


@pytest.mark.parametrize(
    ("cidr", "ra", "address", "dhcp"),
    [
        ("10.0.0.0/24", "slaac", None, True),  # IPv6 modes on IPv4
        ("fd00::/64", "slaac", "dhcpv6-stateful", True),  # both set, different
        ("fd00::/80", None, "slaac", True),  # SLAAC needs a /64
        ("fd00::/64", "slaac", None, False),  # modes without DHCP
    ],
)
def test_bad_ipv6_mode_combinations(
    cidr: str, ra: str | None, address: str | None, dhcp: bool
) -> None:
    with pytest.raises(errors.InvalidInput):
        addressing.check_ipv6_modes(addressing.parse_cidr(cidr), ra, address, enable_dhcp=dhcp)


@pytest.mark.parametrize("value", ["bogus", None])
def test_an_ipv6_mode_is_one_of_neutrons_or_not_asked(value: str | None) -> None:
    with pytest.raises(errors.InvalidInput, match="is not in valid_values"):
        addressing.ipv6_mode("ipv6_ra_mode", value)
    assert addressing.ipv6_mode("ipv6_ra_mode", msgspec.UNSET) is None
    assert addressing.ipv6_mode("ipv6_ra_mode", "slaac") == "slaac"


def test_good_ipv6_modes_pass() -> None:
    network = addressing.parse_cidr("fd00::/64")
    addressing.check_ipv6_modes(network, "slaac", "slaac")
    addressing.check_ipv6_modes(network, None, "dhcpv6-stateful")
    assert addressing.is_auto_address("dhcpv6-stateless", None)
    assert not addressing.is_auto_address(None, "dhcpv6-stateful")


def test_routes_must_match_the_subnets_version_and_not_repeat() -> None:
    network = addressing.parse_cidr("10.0.0.0/24")
    addressing.check_host_routes(network, [("0.0.0.0/0", "10.0.0.254")])
    with pytest.raises(errors.InvalidInput):
        addressing.check_host_routes(network, [("::/0", "10.0.0.254")])
    with pytest.raises(errors.InvalidInput):
        addressing.check_host_routes(network, [("1.0.0.0/8", "10.0.0.9")] * 2)


def test_nameservers_are_addresses_of_the_subnets_version_without_repeats() -> None:
    v4, v6 = addressing.parse_cidr("10.0.0.0/24"), addressing.parse_cidr("fd00::/64")
    addressing.check_nameservers(v4, ["8.8.8.8", "8.8.4.4"])
    addressing.check_nameservers(v6, ["2001:4860:4860::8888"])
    for bad in (["8.8.8.8", "8.8.8.8"], ["dns.example"], ["2001:4860:4860::8888"]):
        with pytest.raises(errors.InvalidInput):
            addressing.check_nameservers(v4, bad)
    with pytest.raises(errors.InvalidInput, match=re.escape("dns_nameserver '8.8.8.8' does not")):
        addressing.check_nameservers(v6, ["8.8.8.8"])


def test_a_subnets_host_bits_are_cleared_as_neutron_does() -> None:
    assert str(addressing.parse_subnet_cidr("10.0.0.7/24")) == "10.0.0.0/24"
    for text in ("10.0.0.0", "10.0.0.0/33", "banana/24", ""):
        with pytest.raises(errors.InvalidInput):
            addressing.parse_subnet_cidr(text)


@pytest.mark.parametrize(
    ("cidr", "reason"),
    [
        ("0.0.0.0/0", "First IP '0.0.0.0' of network is not supported"),
        ("0.0.0.0/8", "First IP '0.0.0.0' of network is not supported"),
        ("127.0.0.0/8", "Loopback IP subnet is not supported"),
        ("224.0.0.0/4", "Multicast IP subnet is not supported"),
        ("ff00::/8", "Multicast IP subnet is not supported"),
        ("::/0", "IPv6 subnet '::' is not supported"),
        ("::/64", "IPv6 subnet '::' is not supported"),
        ("::1/128", "incompatible with DHCP service enabled"),
        ("10.0.0.0/31", "incompatible with DHCP service enabled"),
        ("10.0.0.0/32", "incompatible with DHCP service enabled"),
        ("fd00::/127", "incompatible with DHCP service enabled"),
    ],
)
def test_reserved_ranges_are_refused_with_dhcp_as_neutron_does(cidr: str, reason: str) -> None:
    with pytest.raises(errors.InvalidInput, match=re.escape(reason)) as refused:
        addressing.check_subnet_cidr(addressing.parse_cidr(cidr), enable_dhcp=True)
    assert refused.value.type == "InvalidInput"
    assert refused.value.message.startswith("Invalid input for operation: ")


@pytest.mark.parametrize(
    ("cidr", "taken"),
    [
        ("127.0.0.0/8", True),
        ("224.0.0.0/4", True),
        ("0.0.0.0/8", True),
        ("10.0.0.0/32", True),
        ("::1/128", True),
        ("0.0.0.0/0", False),  # a /0 never: "0 is not allowed as CIDR prefix length"
        ("::/0", False),
    ],
)
def test_without_dhcp_neutron_takes_all_but_a_zero_prefix_and_ipv6_unspecified(
    cidr: str, taken: bool
) -> None:
    network = addressing.parse_cidr(cidr)
    if taken:
        addressing.check_subnet_cidr(network, enable_dhcp=False)
    else:
        with pytest.raises(errors.InvalidInput):
            addressing.check_subnet_cidr(network, enable_dhcp=False)


@pytest.mark.parametrize("cidr", ["10.0.0.0/30", "10.0.0.0/8", "fd00::/126", "fd00::/64"])
def test_ordinary_ranges_take_dhcp(cidr: str) -> None:
    addressing.check_subnet_cidr(addressing.parse_cidr(cidr), enable_dhcp=True)


def test_overlap_is_found_only_within_one_ip_version() -> None:
    network = addressing.parse_cidr("10.0.0.0/16")
    assert addressing.overlapping(network, ["fd00::/64", "10.0.5.0/24"]) == "10.0.5.0/24"
    assert addressing.overlapping(network, ["10.1.0.0/16", "fd00::/64"]) is None


def test_eui64_matches_rfc_4291_example() -> None:
    network = ipaddress.IPv6Network("2001:db8::/64")
    assert str(addressing.eui64(network, "00:11:22:33:44:55")) == "2001:db8::211:22ff:fe33:4455"


@given(st.binary(min_size=6, max_size=6))
def test_eui64_is_inside_the_prefix_and_differs_per_mac(octets: bytes) -> None:
    network = ipaddress.IPv6Network("fd00:1::/64")
    mac = octets.hex(":")
    address = addressing.eui64(network, mac)
    assert address in network
    other = bytes([octets[0] ^ 0x80, *octets[1:]]).hex(":")
    assert addressing.eui64(network, other) != address
