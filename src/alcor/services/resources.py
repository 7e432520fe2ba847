"""What every resource manager shares: its collaborators, visibility, revision checks, updates.

Visibility follows Neutron: admins see everything; members see their own project's resources,
plus the networks an RBAC policy lets them use (shared or external, with them or with every
project: ``sharing``) and the subnets on them, the security groups shared with them, the ports
of other projects on their own networks (which they may delete, not change), and shared subnet
pools and address scopes. A resource the caller cannot see is reported as not found, never as
forbidden, so its existence does not leak.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec

from alcor.model import dns, errors, mtus, quotas
from alcor.model.limits import Limits
from alcor.model.queries import Query
from alcor.model.records import (
    AddressGroup,
    AddressScope,
    Network,
    Record,
    SecurityGroup,
    SubnetPool,
)
from alcor.model.requests import UNSET
from alcor.services import sharing
from alcor.services.allocation import Allocations
from alcor.services.callers import Caller
from alcor.services.quota_limits import QuotaLimits
from alcor.services.status import StatusBoard, StatusView
from alcor.store.interface import Reader, Store, Writer

R = TypeVar("R", bound=Record)
T = TypeVar("T")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """What the managers are configured with; parsed once by the CLI."""

    default_project: str = "admin"
    mac_base: str = "fa:16:3e:00:00:00"
    segment_range: tuple[int, int] = (1000, 16_777_215)
    physical_mtu: int = mtus.PHYSICAL_MTU  # what the underlay carries (global_physnet_mtu)
    dns_domain: str = dns.DEFAULT_DOMAIN  # names ports' addresses (Neutron's dns_domain)
    limits: Limits = msgspec.field(default_factory=Limits)
    quota_defaults: dict[str, int] = msgspec.field(
        default_factory=lambda: dict(quotas.NEUTRON_DEFAULTS)
    )


class Remembered:
    """Names the writer looked up once and keeps between writes, instead of a query on every
    request (a project's default security group, the known node names). Only the writer thread
    touches it, and only from inside a write: what a rolled-back write taught it is forgotten,
    and what it made it forget comes back."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def clear(self) -> None:
        """Forget every name (another process wrote: they are looked up again)."""
        self._values.clear()

    def remember(self, writer: Writer, key: str, value: str) -> None:
        self._restore_on_rollback(writer, key)
        self._values[key] = value

    def forget(self, writer: Writer, key: str) -> None:
        if key in self._values:
            self._restore_on_rollback(writer, key)
            del self._values[key]

    def _restore_on_rollback(self, writer: Writer, key: str) -> None:
        held = self._values.get(key)

        def restore() -> None:
            if held is None:
                self._values.pop(key, None)
            else:
                self._values[key] = held

        writer.on_rollback(restore)


class Context(msgspec.Struct, frozen=True, kw_only=True):
    """The collaborators a manager is built with."""

    store: Store
    allocations: Allocations
    settings: Settings
    now: Callable[[], str]
    new_id: Callable[[], str] = lambda: str(uuid.uuid4())
    quotas: QuotaLimits = msgspec.field(default_factory=QuotaLimits)
    status: StatusView = msgspec.field(default_factory=StatusBoard)  # what hosts report
    default_groups: Remembered = msgspec.field(default_factory=Remembered)  # project -> id
    node_names: Remembered = msgspec.field(default_factory=Remembered)  # name -> node id


def scoped(caller: Caller, query: Query, *, shared: bool = False) -> Query:
    """The query as the caller may run it: admins see all, members their project (plus, with
    ``shared``, the networks policies let them use); ``shared`` filters by the caller's view."""
    if caller.is_admin:
        return msgspec.structs.replace(query, viewer=caller.project_id)
    return msgspec.structs.replace(
        query, project_id=caller.project_id, shared_visible=shared, viewer=caller.project_id
    )


def network_visible(reader: Reader, caller: Caller, network: Network) -> bool:
    return caller.owns(network) or sharing.visible(reader, "network", network.id, caller.project_id)


def find(reader: Reader, caller: Caller, kind: type[R], resource_id: str) -> R:
    """The resource if it exists and the caller may see it, else NotFound."""
    record = reader.get(kind, resource_id)
    if record is None or not _visible(reader, caller, record):
        raise errors.NotFound.resource(kind.kind, resource_id)
    return record


def _visible(reader: Reader, caller: Caller, record: Record) -> bool:
    if caller.owns(record):
        return True
    if isinstance(record, Network):
        return network_visible(reader, caller, record)
    if isinstance(record, SubnetPool | AddressScope):
        return record.shared or sharing.visible(reader, record.kind, record.id, caller.project_id)
    if isinstance(record, SecurityGroup | AddressGroup):
        return sharing.visible(reader, record.kind, record.id, caller.project_id)
    network_id = getattr(record, "network_id", None)
    if record.kind == "subnet" and network_id is not None:
        return sharing.visible(reader, "network", network_id, caller.project_id)
    if record.kind == "port":
        return owns_network_of(reader, caller, record)
    return False


def owns_network_of(reader: Reader, caller: Caller, record: Record) -> bool:
    """Whether the caller's project owns the network the port (or subnet) is on."""
    network = reader.get(Network, getattr(record, "network_id", ""))
    return network is not None and network.project_id == caller.project_id


def owned(reader: Reader, caller: Caller, kind: type[R], resource_id: str) -> R:
    """The resource if the caller may change it: NotFound if unseen, NotAuthorized if not own."""
    record = find(reader, caller, kind, resource_id)
    if not caller.owns(record):
        raise errors.NotAuthorized(f"Policy doesn't allow changing {kind.kind} {resource_id}.")
    return record


def check_revision(record: Record, expected: int | None) -> None:
    """``If-Match: revision_number=N``: the change applies only to that revision."""
    if expected is not None and expected != record.revision_number:
        raise errors.PreconditionFailed(
            f"Constrained to {expected}, but current revision is {record.revision_number}."
        )


def revised(record: R, now: str, **changes: Any) -> R:
    """The next revision of a record: the changes, a higher revision_number, a new updated_at."""
    return msgspec.structs.replace(
        record, revision_number=record.revision_number + 1, updated_at=now, **changes
    )


def check_bulk(count: int, settings: Settings) -> None:
    if count == 0:
        raise errors.InvalidInput("Bulk operation requires at least one resource.")
    if count > settings.limits.max_bulk:
        raise errors.InvalidInput(
            f"A bulk request may create at most {settings.limits.max_bulk} resources."
        )


def requested_project(request: object) -> str | None:
    """The project a create request names (``project_id`` or its old name ``tenant_id``)."""
    project = getattr(request, "project_id", UNSET)
    tenant = getattr(request, "tenant_id", UNSET)
    if project is not UNSET and tenant is not UNSET and project != tenant:
        raise errors.InvalidInput("'project_id' and 'tenant_id' do not match.")
    chosen = project if project is not UNSET else tenant
    return chosen if isinstance(chosen, str) else None


def projects_of(caller: Caller, requests: Sequence[object]) -> list[str]:
    """The project of each resource a create request asks for (for the quota check)."""
    return [caller.project_for(requested_project(request)) for request in requests]


def value_or(value: T | object, default: T) -> T:
    """The attribute as sent, or the default when the client did not send it."""
    return default if value is UNSET else value  # type: ignore[return-value]


def check_uuid(value: str, attribute: str) -> None:
    """An attribute that names a resource by id must be a UUID (400), as Neutron validates it."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise errors.InvalidInput(
            f"Invalid input for {attribute}. Reason: '{value}' is not a valid UUID."
        ) from None


def refuse_read_only(request: object, names: Sequence[str]) -> None:
    """An update naming an attribute that never changes after create is a 400, as Neutron's
    "Cannot update read-only attribute" (which names ``project_id`` by its old name)."""
    for name in names:
        if getattr(request, name, UNSET) is not UNSET:
            shown = "tenant_id" if name == "project_id" else name
            raise errors.InvalidInput(f"Cannot update read-only attribute {shown}")
