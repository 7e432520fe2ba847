"""The limits of what one request may ask for, as Neutron's defaults, and their checks.

Fixed limits (attribute lengths: names, descriptions, ``device_id``, ``device_owner``, every other
string) are part of the request types (``alcor.model.requests``) and checked while decoding.
The limits an operator may change are here, in one frozen ``Limits`` parsed once from the
server's flags, and ``check_request`` applies them to a decoded request:

======================  ========  ===========================================================
limit                   default   refused with (400 unless said)
======================  ========  ===========================================================
max_body_size          4 MiB     413 HTTPRequestEntityTooLarge (the API, before decoding)
max_bulk                1000      HTTPBadRequest (``services.resources.check_bulk``)
max_fixed_ips_per_port  100       InvalidInput (Neutron dropped its own limit; ours is generous)
max_allowed_address_pair  10      AllowedAddressPairExhausted (Neutron's option and default)
max_dns_nameservers     5         DNSNameServersExhausted (Neutron's)
max_subnet_host_routes  20        HostRoutesExhausted (Neutron's)
max_routes              30        RoutesExhausted (Neutron's, a router's extra routes)
======================  ========  ===========================================================

A 1,000-port bulk create with realistic attributes is about 0.9 MB of JSON (2.5 MB with every
free-form string at its 255-character maximum), so 4 MiB leaves room and still bounds what one
request can make the server hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from msgspec import UnsetType

from alcor.model import errors
from alcor.model.requests import (
    UNSET,
    GatewayRequest,
    PortAttributes,
    RouterCreate,
    RouterUpdate,
    SubnetCreate,
    SubnetUpdate,
)

MiB = 1024 * 1024


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    max_body_size: int = 4 * MiB
    max_bulk: int = 1000
    max_fixed_ips_per_port: int = 100
    max_allowed_address_pair: int = 10
    max_dns_nameservers: int = 5
    max_subnet_host_routes: int = 20
    max_routes: int = 30


def check_request(request: object, limits: Limits, *, resource_id: str | None = None) -> None:
    """Refuse a decoded create or update request that asks for more than ``limits`` allow.
    ``resource_id`` is the resource an update is for (Neutron names it in some messages)."""
    if isinstance(request, PortAttributes):
        _check_port(request, limits)
    elif isinstance(request, SubnetCreate | SubnetUpdate):
        _check_subnet(request, limits, subnet=resource_id or "new subnet")
    elif isinstance(request, RouterCreate | RouterUpdate):
        _check_router(request, limits, router=resource_id)


def _check_fixed_ips(requested: Sequence[object] | UnsetType, limits: Limits) -> None:
    if requested is not UNSET and len(requested) > limits.max_fixed_ips_per_port:
        # Neutron's text from when it had the limit (max_fixed_ips_per_port, removed in 2016)
        raise errors.InvalidInput(
            "Invalid input for operation: Exceeded maximum amount of fixed ips per port.",
            type="InvalidInput",
        )


def _check_port(request: PortAttributes, limits: Limits) -> None:
    _check_fixed_ips(request.fixed_ips, limits)
    pairs = request.allowed_address_pairs
    if pairs and len(pairs) > limits.max_allowed_address_pair:
        raise errors.InvalidInput(
            "The number of allowed address pair exceeds the maximum "
            f"{limits.max_allowed_address_pair}.",
            type="AllowedAddressPairExhausted",
        )


def _check_subnet(request: SubnetCreate | SubnetUpdate, limits: Limits, *, subnet: str) -> None:
    servers = request.dns_nameservers
    if servers is not UNSET and len(servers) > limits.max_dns_nameservers:
        raise errors.InvalidInput(
            f"Unable to complete operation for {subnet}. The number of DNS nameservers exceeds "
            f"the limit {limits.max_dns_nameservers}.",
            type="DNSNameServersExhausted",
        )
    routes = request.host_routes
    if routes is not UNSET and len(routes) > limits.max_subnet_host_routes:
        raise errors.InvalidInput(
            f"Unable to complete operation for {subnet}. The number of host routes exceeds "
            f"the limit {limits.max_subnet_host_routes}.",
            type="HostRoutesExhausted",
        )


def _check_router(
    request: RouterCreate | RouterUpdate, limits: Limits, *, router: str | None
) -> None:
    gateway = request.external_gateway_info
    if isinstance(gateway, GatewayRequest):
        _check_fixed_ips(gateway.external_fixed_ips, limits)
    routes = getattr(request, "routes", None)
    if isinstance(routes, list) and len(routes) > limits.max_routes:
        raise errors.InvalidInput(
            f"Unable to complete operation for {router}. The number of routes exceeds the "
            f"maximum {limits.max_routes}.",
            type="RoutesExhausted",
        )
