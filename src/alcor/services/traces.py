"""What ``GET /v2.0/goalstate/trace/{port}`` answers (``services.tracing`` computes it): a
port's record, its host and status, who must hold what of it and whether they acknowledged it,
and with a destination the path to it and where it breaks. Stable keys: ``alcor trace --json``
prints exactly this."""

from __future__ import annotations

import msgspec


class Held(msgspec.Struct, frozen=True, kw_only=True):
    """One goal-state entry a host must hold (``neighbor:<port>``, ``member:<group>/<port>``,
    ``router:<id>``), the revision at which it last changed for it, and whether the host
    acknowledged that revision (``status``: a router's leg as the hosts report it)."""

    key: str
    revision: int
    acknowledged: bool
    status: str = ""


class Holder(msgspec.Struct, frozen=True, kw_only=True):
    """A host that must hold something of the port."""

    host: str
    connected: bool
    acknowledged_revision: int
    acknowledged: bool  # every entry below
    entries: list[Held]
    failures: list[str]  # what the host's agent said it failed of these, with its message


class Endpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A port as a trace shows it."""

    id: str
    name: str
    network_id: str
    addresses: list[str]
    host: str
    status: str
    admin_state_up: bool
    port_security_enabled: bool
    security_groups: list[str]
    revision: int  # the store revision of its last change (0: not in the change log)


class Interface(msgspec.Struct, frozen=True, kw_only=True):
    port_id: str
    network_id: str
    address: str


class Allowance(msgspec.Struct, frozen=True, kw_only=True):
    """One direction's security-group verdict: allowed by these rules (``port_security``
    False: not filtered at all), or refused by these groups."""

    direction: str  # egress | ingress
    port_id: str
    allowed: bool
    port_security: bool
    rules: list[str]
    groups: list[str]


class Break(msgspec.Struct, frozen=True, kw_only=True):
    """Where a path breaks: ``kind`` is one of port_down, port_disabled, no_route,
    no_gateway, unknown_address, egress_refused, ingress_refused, unacknowledged; ``subject``
    the port, router, network, group(s) or host it names."""

    kind: str
    subject: str
    reason: str


class Path(msgspec.Struct, frozen=True, kw_only=True):
    """From the traced port to ``to``: ``l2`` on one network, ``routed`` through a router's
    interfaces, ``external`` through a router's gateway (or the port's floating IP)."""

    to: str
    destination: Endpoint | None
    address: str
    kind: str  # l2 | routed | external | none
    router_id: str
    interfaces: list[Interface]
    floating_ip: str
    egress: Allowance | None
    ingress: Allowance | None
    breaks: list[Break]
    reachable: bool


class Trace(msgspec.Struct, frozen=True, kw_only=True):
    port: Endpoint
    revision: int  # the store revision the controller's goal state has taken in
    holders: list[Holder]
    unacknowledged: list[str]  # the hosts that have not acknowledged what they must hold
    path: Path | None = None
