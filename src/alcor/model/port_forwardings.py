"""Floating IP port forwardings, pure: the requests and what Neutron makes of them.

``floating-ip-port-forwarding`` and its siblings (``-description``, ``-port-ranges``): a
forwarding names a single external port (``external_port``) or a range
(``external_port_range``, ``"first:last"``), and likewise internally. The relation between the
two is N-N (the same number of ports, by offset) or 1-N (many external ports to one internal).
Of Neutron's protocols (``IPTABLES_PROTOCOL_MAP``), only those with ports can be forwarded by
the data plane: tcp, udp and sctp; the others are refused here rather than ignored on the host.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from alcor.model import addressing, errors
from alcor.model.records import PortForwarding
from alcor.model.requests import UNSET, Integer, Request, String, Unset

PORTS = range(1, 65536)
FORWARDED_PROTOCOLS = ("tcp", "udp", "sctp")  # those with ports the gateway host can forward

Range = tuple[int, int]


class PortForwardingUpdate(Request, frozen=True, kw_only=True):
    """What a PUT may change (every attribute but the id)."""

    protocol: String | Unset = UNSET
    internal_ip_address: String | Unset = UNSET
    internal_port_id: String | Unset = UNSET
    internal_port: Integer | Unset | None = UNSET
    external_port: Integer | Unset | None = UNSET
    internal_port_range: String | Unset | None = UNSET
    external_port_range: String | Unset | None = UNSET
    description: String | Unset = UNSET


class PortForwardingCreate(PortForwardingUpdate, frozen=True, kw_only=True):
    protocol: String
    internal_ip_address: String
    internal_port_id: String
    project_id: String | Unset = UNSET  # taken and ignored: the floating IP's project is its
    tenant_id: String | Unset = UNSET


class Forwarding(msgspec.Struct, frozen=True, kw_only=True):
    """A forwarding's checked attributes, before the store is asked about them."""

    protocol: str
    internal_ip_address: str
    internal_port_id: str
    external: Range
    internal: Range


def bad_request(reason: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Bad port_forwarding request: {reason}", type="BadRequest")


def protocol(value: str) -> str:
    """The protocol as Neutron takes it, refused if the gateway host cannot forward it."""
    addressing.check_protocol(value)
    if value not in FORWARDED_PROTOCOLS:
        raise bad_request(
            f"Port forwarding of protocol {value} cannot be enforced: only "
            f"{', '.join(FORWARDED_PROTOCOLS)} have ports to forward."
        )
    return value


def port_id(value: str) -> str:
    try:
        uuid.UUID(value)
    except ValueError:
        raise addressing.invalid("internal_port_id", f"'{value}' is not a valid UUID.") from None
    return value


def address(value: str) -> str:
    return str(addressing.parse_address(value, "internal_ip_address"))


def single(value: int | str, attribute: str) -> Range:
    """``external_port`` or ``internal_port``: 1..65535."""
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise addressing.invalid(attribute, f"'{value}' is not an integer.") from None
    if value < PORTS.start:
        raise addressing.invalid(attribute, f"'{value}' is too small - must be at least '1'.")
    if value >= PORTS.stop:
        raise addressing.invalid(
            attribute, f"'{value}' is too large - must be no larger than '65535'."
        )
    return value, value


def span(value: str, attribute: str) -> Range:
    """``external_port_range`` or ``internal_port_range``: ``"first:last"`` or one port."""
    first_text, _, last_text = value.partition(":")
    bounds = []
    for text in (first_text, last_text or first_text):
        if not text.isdigit() or int(text) >= PORTS.stop:
            raise addressing.invalid(attribute, f"Invalid port: {text}.")
        if int(text) < PORTS.start:
            raise addressing.invalid(
                attribute, f"Invalid port: {text}, the port must be in the range [1, 65535]."
            )
        bounds.append(int(text))
    first, last = bounds
    if first > last:
        raise addressing.invalid(
            attribute, "First port in a port range must be lower than the second port."
        )
    return first, last


def ports(
    single_value: Integer | Unset | None,
    range_value: str | Unset | None,
    *,
    side: str,
    held: Range | None = None,
) -> Range:
    """One side's range: its single port if given (as Neutron, it wins over the range), else
    its range, else what the forwarding holds. Neither: a 400 (Neutron's is a 500)."""
    if single_value is not UNSET and single_value is not None:
        return single(single_value, f"{side}_port")
    if isinstance(range_value, str):
        return span(range_value, f"{side}_port_range")
    if held is not None:
        return held
    raise bad_request(f"Either {side}_port or {side}_port_range must be given.")


def check_relation(external: Range, internal: Range) -> None:
    """N-N (as many ports each side) or 1-N (many external ports to one internal)."""
    external_size, internal_size = external[1] - external[0], internal[1] - internal[0]
    if internal_size not in (0, external_size):
        raise bad_request(
            "Invalid ranges of internal and/or external ports. The relation between internal "
            "and external ports must be N-N or 1-N."
        )


def text(ports_range: Range) -> str:
    """A range as Neutron shows it: ``"first:last"``."""
    return f"{ports_range[0]}:{ports_range[1]}"


def one(ports_range: Range) -> int | None:
    """The single port of a range of one, as ``external_port``/``internal_port`` show it."""
    return ports_range[0] if ports_range[0] == ports_range[1] else None


def overlap(a: Range, b: Range) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def collision(side: str, taken: Range, asked: Range) -> errors.InvalidInput:
    return bad_request(
        f"There is a port collision with the {side}_port_range. The following ranges collide: "
        f"{text(taken)} and {text(asked)}."
    )


def in_floating_ip(record: PortForwarding) -> dict[str, Any]:
    """A forwarding as its floating IP shows it (``expose-port-forwarding-in-fip`` and
    ``-detail``): a single port only, a range's left out."""
    shown: dict[str, Any] = {
        "id": record.id,
        "protocol": record.protocol,
        "internal_ip_address": record.internal_ip_address,
        "internal_port_id": record.internal_port_id,
    }
    internal = one((record.internal_port_start, record.internal_port_end))
    external = one((record.external_port_start, record.external_port_end))
    if internal is not None:
        shown["internal_port"] = internal
    if external is not None:
        shown["external_port"] = external
    return shown
