"""Pure checks on address groups' addresses, as Neutron's ``address-group`` extension has them.

A group keeps each address as its network with its length (``192.168.0.10/24`` is kept as
``192.168.0.0/24``). On create the addresses must be CIDRs (``type:subnet_list``: a length is
required, no duplicates); ``add_addresses`` and ``remove_addresses`` also take a bare address (a
/32 or /128) and repeat none: adding one the group has is a 400 ``AddressesAlreadyExist``,
removing one it lacks a 404 ``AddressesNotFound``.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable

from alcor.model import errors


def normalized(text: str) -> str:
    """The address as a group keeps it: its network and prefix length."""
    return str(ipaddress.ip_network(text.strip(), strict=False))


def created(addresses: list[str]) -> list[str]:
    """The addresses of a new group, each a CIDR (Neutron's ``validate_subnet``), in order."""
    duplicates = [text for text, count in Counter(addresses).items() if count > 1]
    if duplicates:
        raise _invalid(f"Duplicate items in the list: '{', '.join(duplicates)}'")
    for text in addresses:
        if not _is_cidr(text):
            raise _invalid(f"'{text}' is not a valid IP subnet")
    return list(dict.fromkeys(normalized(text) for text in addresses))


def _is_cidr(text: str) -> bool:
    if "/" not in text or text != text.strip():
        return False
    try:
        interface = ipaddress.ip_interface(text)
    except ValueError:
        return False
    return interface.version == 6 or str(interface) == text


def _invalid(reason: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Invalid input for addresses. Reason: {reason}.")


def requested(addresses: Iterable[str]) -> set[str]:
    """The addresses an ``add_addresses``/``remove_addresses`` names, normalised."""
    found: set[str] = set()
    for text in addresses:
        try:
            found.add(normalized(text))
        except ValueError:
            raise errors.InvalidInput(f"invalid IPNetwork {text}", type="AddrFormatError") from None
    return found


def added(group_id: str, held: list[str], addresses: Iterable[str]) -> list[str]:
    """The group's addresses with ``addresses`` added; none of them may be held already."""
    wanted = requested(addresses)
    present = sorted(wanted.intersection(held))
    if present:
        raise errors.InvalidInput(
            f"Addresses {present!r} already exist in the address group {group_id}.",
            type="AddressesAlreadyExist",
        )
    return [*held, *sorted(wanted, key=_order)]


def removed(group_id: str, held: list[str], addresses: Iterable[str]) -> list[str]:
    """The group's addresses without ``addresses``; every one of them must be held."""
    unwanted = requested(addresses)
    missing = sorted(unwanted.difference(held))
    if missing:
        raise errors.NotFound(
            f"Addresses {missing!r} not found in the address group {group_id}.",
            type="AddressesNotFound",
        )
    return [address for address in held if address not in unwanted]


def _order(text: str) -> tuple[int, int, int]:
    network = ipaddress.ip_network(text)
    return network.version, int(network.network_address), network.prefixlen
