"""The one error hierarchy of the controller.

Every error a client can cause is one of these; the API maps them to Neutron's error body in one
place (``alcor.api.faults``), the southbound to gRPC status in one place. Anything else that escapes
is a bug and becomes a 500.

    AlcorError
    ├── InvalidInput ............ 400  malformed body, bad value, unknown attribute or filter
    │   ├── InvalidAllocationPool 400
    │   ├── (subnet pools) ...... 400  IllegalSubnetPoolPrefixBounds, IllegalSubnetPoolPrefixUpdate,
    │   │                              Min/MaxPrefixSubnetAllocationError, SubnetPoolDeleteError,
    │   │                              NetworkSubnetPoolAffinityError, AddressScopeUpdateError,
    │   │                              IllegalSubnetPool(IpVersion)AssociationToAddressScope
    │   ├── OverlappingCidr ..... 400  (Neutron's type: InvalidInput)
    │   └── (by type) ........... 400  BadRequest, InvalidIpForNetwork, InvalidIpForSubnet,
    │                                  ExternalIpAddressExhausted, AllowedAddressPairExhausted,
    │                                  DNSNameServersExhausted, HostRoutesExhausted,
    │                                  RoutesExhausted
    ├── NotAuthorized ........... 403  PolicyNotAuthorized (an admin-only attribute set by a
    │                                  member), HTTPForbidden
    ├── NotFound ................ 404  NetworkNotFound, SubnetNotFound, PortNotFound, ...
    │                                  FloatingIPNotFound, ExternalGatewayForFloatingIPNotFound,
    │                                  NodeNotFound, AgentNotFound
    ├── MethodNotAllowed ........ 405
    ├── Conflict ................ 409
    │   ├── InUse ............... 409  NetworkInUse, SubnetInUse, SecurityGroupInUse, ...
    │   │                              ServicePortInUse, ExternalNetworkInUse,
    │   │                              FloatingIPPortAlreadyAssociated,
    │   │                              RouterInterfaceInUseByFloatingIP,
    │   │                              RouterExternalGatewayInUseByFloatingIp,
    │   │                              NodeInUse (ports are bound to the node)
    │   ├── NodeNameInUse ....... 409  another node has that name (host id)
    │   ├── (subnet pools) ...... 409  SubnetAllocationError (no room left: Neutron's is a 500),
    │   │                              SubnetPoolQuotaExceeded, AddressScopePrefixConflict,
    │   │                              AddressScopeInUse
    │   ├── (by type) ........... 409  DeviceIDNotOwnedByTenant: a port naming another's router
    │   ├── IpAddressAlreadyAllocated, IpAddressGenerationFailure, MacAddressInUse
    │   ├── OverlappingAllocationPools, GatewayConflictWithAllocationPools
    │   ├── NoNetworkAvailable .. 409  the segmentation-id range is exhausted
    │   └── OverQuota ........... 409  a create would take a project beyond its quota
    ├── PreconditionFailed ...... 412  RevisionNumberConstraintFailed
    ├── RequestTooLarge ......... 413  a body beyond the server's --max-body-size
    └── Unavailable ............. 503  the store cannot be reached or take writes right now
                                       (with a Retry-After hint)
"""

from __future__ import annotations

from typing import ClassVar


class AlcorError(Exception):
    """Base of every error a client can cause. ``type`` is Neutron's error type name."""

    status: ClassVar[int] = 500
    default_type: ClassVar[str] = "AlcorError"

    def __init__(self, message: str, *, type: str | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.type = type or self.default_type
        self.detail = detail


class InvalidInput(AlcorError):
    status = 400
    default_type = "HTTPBadRequest"


class InvalidAllocationPool(InvalidInput):
    default_type = "InvalidAllocationPool"


class NotAuthorized(AlcorError):
    status = 403
    default_type = "HTTPForbidden"


def policy_refuses(rule: str) -> NotAuthorized:
    """Neutron's answer when its policy refuses ``rule`` (written as Neutron writes it in the
    message: ``rule:get_rule_type``, ``(rule:create_port and rule:create_port:mac_address)``)."""
    return NotAuthorized(f"{rule} is disallowed by policy", type="PolicyNotAuthorized")


class NotFound(AlcorError):
    status = 404
    default_type = "HTTPNotFound"

    @classmethod
    def resource(cls, kind: str, resource_id: str) -> NotFound:
        """``NotFound.resource("network", id)`` reads as Neutron's ``NetworkNotFound``."""
        if kind == "floatingip":  # Neutron's spelling, and its message has no full stop
            return cls(f"Floating IP {resource_id} could not be found", type="FloatingIPNotFound")
        name = "".join(part.capitalize() for part in kind.split("_"))
        name, words = _NAMED.get(kind, (name, name))
        return cls(f"{words} {resource_id} could not be found.", type=f"{name}NotFound")


# Kinds whose Neutron error names and messages are not their kind capitalized
_NAMED = {
    "subnetpool": ("SubnetPool", "Subnet pool"),
    "address_scope": ("AddressScope", "Address scope"),
}


class MethodNotAllowed(AlcorError):
    status = 405
    default_type = "HTTPMethodNotAllowed"


class Conflict(AlcorError):
    status = 409
    default_type = "Conflict"


class InUse(Conflict):
    default_type = "InUse"


class IpAddressAlreadyAllocated(Conflict):
    default_type = "IpAddressAlreadyAllocated"


class IpAddressGenerationFailure(Conflict):
    default_type = "IpAddressGenerationFailure"


class MacAddressInUse(Conflict):
    default_type = "MacAddressInUse"


class OverlappingCidr(InvalidInput):
    """A subnet's CIDR overlaps another on its network: Neutron answers 400 ``InvalidInput``."""

    default_type = "InvalidInput"


class OverlappingAllocationPools(Conflict):
    default_type = "OverlappingAllocationPools"


class GatewayConflictWithAllocationPools(Conflict):
    default_type = "GatewayConflictWithAllocationPools"


class NoNetworkAvailable(Conflict):
    default_type = "NoNetworkAvailable"


class OverQuota(Conflict):
    default_type = "OverQuota"

    @classmethod
    def resources(cls, names: list[str]) -> OverQuota:
        """Neutron's message: ``Quota exceeded for resources: ['port'].``"""
        return cls(f"Quota exceeded for resources: {sorted(names)!r}.")


class PreconditionFailed(AlcorError):
    status = 412
    default_type = "RevisionNumberConstraintFailed"


class RequestTooLarge(AlcorError):
    """webob's name for it (Neutron's errors are named after webob's), oslo's sizelimit text."""

    status = 413
    default_type = "HTTPRequestEntityTooLarge"


class Unavailable(AlcorError):
    """The store cannot take the work now (down, failing over, read-only); ``retry_after`` is
    the seconds a client should wait before trying again."""

    status = 503
    default_type = "ServiceUnavailable"

    def __init__(self, message: str, *, detail: str = "", retry_after: int = 1) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after
