"""Allowed address pairs, pure: a port's requested pairs checked as Neutron checks them.

Neutron (neutron-lib's ``_validate_allowed_address_pairs``) takes each pair in order: its MAC,
when given, must be a MAC (not all zeros or all ones); it must have an ``ip_address``; no two
pairs may be the same (MAC as sent, or none, and address); the address is an address or, with a
``/``, a CIDR whose host bits may be set (``10.0.0.5/24`` is kept as sent). A pair without a MAC
takes the port's. Unknown keys are refused earlier, when the request is decoded. A pair's MAC
that is multicast is refused here though Neutron takes it: no host can pin it to one port (a
rule the data plane cannot enforce is refused at the API).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from alcor.model import errors
from alcor.model.identifiers import MAC_PATTERN
from alcor.model.records import AddressPair
from alcor.model.requests import UNSET, AddressPairRequest


def parsed(requested: Sequence[AddressPairRequest], *, port_mac: str) -> list[AddressPair]:
    """The pairs to keep, each with its MAC (lower case; the port's when it names none)."""
    seen: set[tuple[str | None, str]] = set()
    pairs = []
    for pair in requested:
        mac = _mac(pair.mac_address) if pair.mac_address is not UNSET else None
        if pair.ip_address is UNSET:
            raise errors.InvalidInput(
                "AllowedAddressPair must contain ip_address", type="AllowedAddressPairsMissingIP"
            )
        sent = pair.mac_address if pair.mac_address is not UNSET else None
        if (sent, pair.ip_address) in seen:
            raise errors.InvalidInput(
                f"Request contains duplicate address pair: mac_address {sent} "
                f"ip_address {pair.ip_address}.",
                type="DuplicateAddressPairInRequest",
            )
        seen.add((sent, pair.ip_address))
        _address(pair.ip_address)
        pairs.append(AddressPair(pair.ip_address, mac or port_mac))
    return pairs


def _mac(text: str) -> str:
    mac = text.strip().lower().replace("-", ":")
    if not MAC_PATTERN.match(mac) or mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        raise errors.InvalidInput(f"'{text}' is not a valid MAC address")
    if int(mac[:2], 16) & 1:
        raise errors.InvalidInput(
            f"'{text}' is a multicast MAC address: no host can tell which port holds it"
        )
    return mac


def _address(text: str) -> None:
    try:
        if "/" in text:
            ipaddress.ip_network(text, strict=False)
        else:
            ipaddress.ip_address(text)
    except ValueError:
        kind = "IP subnet" if "/" in text else "IP address"
        raise errors.InvalidInput(f"'{text}' is not a valid {kind}") from None
