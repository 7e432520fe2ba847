"""The subnet pool manager (``subnet_allocation``, ``default-subnetpools``,
``subnetpool-prefix-ops``): pools of prefixes that subnets take their CIDRs from.

The arithmetic is pure (``model/prefixes``); here are the rules around it, as Neutron's:

* Sharing a pool and making it its IP version's default (one per version) are an admin's acts.
  ``shared``, ``ip_version`` and the project never change; prefixes may grow, never shrink
  (``remove_prefixes`` takes away what no subnet holds).
* A pool in an address scope has the scope's IP version and overlaps no other pool of the scope;
  one may join a scope its project owns or a shared one (an admin: any). A pool in a shared
  scope someone else owns is changed by an admin only. Moving a pool to another scope must not
  leave a network with subnets of one IP version in two scopes.
* A subnet's CIDR comes from a pool (``take_cidr``) within its prefix lengths and its
  ``default_quota`` per project; a network's subnets of one IP version come all from one pool,
  or one address scope, or none.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

import msgspec

from alcor.model import errors, prefixes
from alcor.model.addressing import Network as Cidr
from alcor.model.queries import Query
from alcor.model.records import AddressScope, Subnet, SubnetPool
from alcor.model.requests import (
    UNSET,
    PrefixesRequest,
    SubnetPoolCreate,
    SubnetPoolUpdate,
    integer,
)
from alcor.services import resources, sharing
from alcor.services.callers import Caller
from alcor.services.tagging import check_tags
from alcor.store.interface import Reader, Writer


class ShownSubnetPool(msgspec.Struct, frozen=True):
    record: SubnetPool
    tags: list[str]
    shared: bool  # as the caller sees it


class Prefixes(msgspec.Struct, frozen=True):
    """What ``add_prefixes`` and ``remove_prefixes`` answer: the pool's prefixes after."""

    prefixes: list[str]


class SubnetPools:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[SubnetPoolCreate]
    ) -> list[ShownSubnetPool]:
        resources.check_bulk(len(requests), self.context.settings)

        def work(writer: Writer) -> list[ShownSubnetPool]:
            projects = resources.projects_of(caller, requests)
            self.context.quotas.check(writer, SubnetPool.kind, projects)
            shown = []
            for request in requests:  # one by one: a later pool sees the earlier in its scope
                record = self._new(writer, caller, request)
                writer.insert([record])
                if record.shared:
                    policy_id = self.context.new_id()
                    star = sharing.every_project(
                        "subnetpool", record, policy_id=policy_id, now=record.created_at
                    )
                    writer.insert([star])
                if request.tags:
                    writer.set_tags(record.id, check_tags(request.tags))
                tags = sorted(set(request.tags or []))
                shown.append(ShownSubnetPool(record, tags, record.shared))
            return shown

        return await self.context.store.write(work)

    def _new(self, writer: Writer, caller: Caller, request: SubnetPoolCreate) -> SubnetPool:
        for attribute, value in (("shared", request.shared), ("is_default", request.is_default)):
            if value is True:
                caller.require_admin(attribute, action="create_subnetpool")
        networks = prefixes.parse_prefixes(request.prefixes)
        version = networks[0].version
        limits = prefixes.bounds(
            version,
            min_prefixlen=_optional_int(request.min_prefixlen),
            max_prefixlen=_optional_int(request.max_prefixlen),
            default_prefixlen=_optional_int(request.default_prefixlen),
        )
        pool_id = self.context.new_id()
        is_default = resources.value_or(request.is_default, False)
        if is_default:
            _check_no_default(writer, version)
        scope_id = resources.value_or(request.address_scope_id, None)
        _check_scope(writer, caller, scope_id=scope_id, pool_id=pool_id, networks=networks)
        now = self.context.now()
        return SubnetPool(
            id=pool_id,
            project_id=caller.project_for(resources.requested_project(request)),
            name=request.name,
            description=resources.value_or(request.description, ""),
            created_at=now,
            updated_at=now,
            ip_version=version,
            prefixes=prefixes.texts(networks),
            min_prefixlen=limits.min,
            max_prefixlen=limits.max,
            default_prefixlen=limits.default,
            default_quota=_quota(request.default_quota),
            is_default=is_default,
            shared=resources.value_or(request.shared, False),
            address_scope_id=scope_id,
        )

    async def show(self, caller: Caller, pool_id: str) -> ShownSubnetPool:
        def work(reader: Reader) -> ShownSubnetPool:
            return _shown(reader, caller, [resources.find(reader, caller, SubnetPool, pool_id)])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownSubnetPool]:
        scoped = resources.scoped(caller, query, shared=True)
        return await self.context.store.read(
            lambda r: _shown(r, caller, r.select(SubnetPool, scoped))
        )

    async def update(
        self, caller: Caller, pool_id: str, request: SubnetPoolUpdate, *, if_match: int | None
    ) -> ShownSubnetPool:
        resources.refuse_read_only(request, ("shared", "ip_version", "project_id", "tenant_id"))

        def work(writer: Writer) -> ShownSubnetPool:
            pool = resources.owned(writer, caller, SubnetPool, pool_id)
            resources.check_revision(pool, if_match)
            updated = self._changed(writer, caller, pool, request)
            writer.update([updated])
            return _shown(writer, caller, [updated])[0]

        return await self.context.store.write(work)

    def _changed(
        self, writer: Writer, caller: Caller, pool: SubnetPool, request: SubnetPoolUpdate
    ) -> SubnetPool:
        """The pool as the update leaves it, every rule checked."""
        networks = _networks(pool.prefixes)
        if request.prefixes is not UNSET:
            grown = prefixes.parse_prefixes(request.prefixes)
            if grown[0].version != pool.ip_version:
                raise errors.InvalidInput(
                    "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.",
                    type="PrefixVersionMismatch",
                )
            prefixes.check_grown(networks, grown)
            networks = grown
        limits = prefixes.bounds(
            pool.ip_version,
            min_prefixlen=_optional_int(request.min_prefixlen, pool.min_prefixlen),
            max_prefixlen=_optional_int(request.max_prefixlen, pool.max_prefixlen),
            default_prefixlen=_optional_int(request.default_prefixlen, pool.default_prefixlen),
        )
        changes: dict[str, object] = {
            "prefixes": prefixes.texts(networks),
            "min_prefixlen": limits.min,
            "max_prefixlen": limits.max,
            "default_prefixlen": limits.default,
        }
        for field in ("name", "description"):
            if (value := getattr(request, field)) is not UNSET:
                changes[field] = value
        if request.default_quota is not UNSET:
            changes["default_quota"] = _quota(request.default_quota)
        if request.is_default is not UNSET:
            caller.require_admin("is_default", action="update_subnetpool")
            if request.is_default and not pool.is_default:
                _check_no_default(writer, pool.ip_version)
            changes["is_default"] = request.is_default
        if pool.address_scope_id:
            _check_scope_owner(writer, caller, pool)
        scope_id = resources.value_or(request.address_scope_id, pool.address_scope_id)
        _check_scope(writer, caller, scope_id=scope_id, pool_id=pool.id, networks=networks)
        if scope_id != pool.address_scope_id:
            _check_network_affinity(writer, pool)
        changes["address_scope_id"] = scope_id
        return resources.revised(pool, self.context.now(), **changes)

    async def delete(self, caller: Caller, pool_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            pool = resources.owned(writer, caller, SubnetPool, pool_id)
            resources.check_revision(pool, if_match)
            if writer.count(Subnet, Query(filters={"subnetpool_id": (pool_id,)})):
                raise errors.InvalidInput(
                    "Unable to delete subnet pool: Subnet pool has existing allocations.",
                    type="SubnetPoolDeleteError",
                )
            sharing.remove_all(writer, "subnetpool", pool_id)
            writer.delete([pool])

        await self.context.store.write(work)

    async def add_prefixes(self, caller: Caller, pool_id: str, body: PrefixesRequest) -> Prefixes:
        """``PUT .../add_prefixes``: the pool grows by these prefixes, as by an update."""

        added = _operation_prefixes(body)

        def work(writer: Writer) -> Prefixes:
            pool = resources.owned(writer, caller, SubnetPool, pool_id)
            grown = SubnetPoolUpdate(prefixes=[*pool.prefixes, *added])
            updated = self._changed(writer, caller, pool, grown)
            writer.update([updated])
            return Prefixes(updated.prefixes)

        return await self.context.store.write(work)

    async def remove_prefixes(
        self, caller: Caller, pool_id: str, body: PrefixesRequest
    ) -> Prefixes:
        """``PUT .../remove_prefixes``: the pool loses these addresses, none a subnet holds."""

        removed = prefixes.parse_prefixes(_operation_prefixes(body))

        def work(writer: Writer) -> Prefixes:
            pool = resources.owned(writer, caller, SubnetPool, pool_id)
            held = _networks(pool.prefixes)
            if not prefixes.intersect(held, removed):
                return Prefixes(pool.prefixes)
            if prefixes.intersect(_allocated(writer, pool.id), removed):
                raise prefixes.illegal_update(
                    "One or more the prefixes to be removed is in use by a subnet."
                )
            left = prefixes.texts(prefixes.remove(held, removed))
            updated = resources.revised(pool, self.context.now(), prefixes=left)
            writer.update([updated])
            return Prefixes(left)

        return await self.context.store.write(work)


def _operation_prefixes(body: PrefixesRequest) -> list[str]:
    """The prefixes of ``add_prefixes`` / ``remove_prefixes``: at least one, as Neutron's."""
    if isinstance(body.prefixes, list) and body.prefixes:
        return body.prefixes
    raise errors.InvalidInput("Request body contains invalid data")


def _shown(reader: Reader, caller: Caller, records: list[SubnetPool]) -> list[ShownSubnetPool]:
    tags = reader.tags_of([r.id for r in records])
    shared = sharing.shared_ids(reader, "subnetpool", records, caller.project_id)
    return [ShownSubnetPool(r, tags.get(r.id, []), r.id in shared) for r in records]


def _optional_int(value: int | str | object, default: int | None = None) -> int | None:
    if value is UNSET:
        return default
    assert isinstance(value, int | str)
    return integer(value)


def _quota(value: int | str | object | None) -> int | None:
    """``default_quota``: a non-negative integer (null is refused, as Neutron refuses it)."""
    if value is UNSET:
        return None
    if value is None:
        raise errors.InvalidInput(
            "Invalid input for operation: 'None' is not an integer.", type="InvalidInput"
        )
    assert isinstance(value, int | str)
    quota = integer(value)
    if quota < 0:
        raise errors.InvalidInput(
            f"Invalid input for default_quota. Reason: '{quota}' should be non-negative."
        )
    return quota


def _networks(texts: Iterable[str]) -> list[Cidr]:
    return [ipaddress.ip_network(text) for text in texts]


def _allocated(reader: Reader, pool_id: str) -> list[Cidr]:
    """The CIDRs the pool's subnets hold."""
    subnets = reader.select(Subnet, Query(filters={"subnetpool_id": (pool_id,)}))
    return _networks(subnet.cidr for subnet in subnets)


def _check_no_default(reader: Reader, version: int) -> None:
    wanted = Query(filters={"is_default": (True,), "ip_version": (version,)})
    if reader.count(SubnetPool, wanted):
        raise errors.InvalidInput(
            "Invalid input for operation: A default subnetpool for this IP family has already "
            "been set. Only one default may exist per IP family.",
            type="InvalidInput",
        )


def _check_scope(
    reader: Reader, caller: Caller, *, scope_id: str | None, pool_id: str, networks: list[Cidr]
) -> None:
    """The pool may be in this scope (None: in none): one the caller may see (else 404), of
    the pool's IP version, where no other pool overlaps it (409)."""
    if scope_id is None:
        return
    resources.check_uuid(scope_id, "address_scope_id")
    scope = resources.find(reader, caller, AddressScope, scope_id)
    if scope.ip_version != networks[0].version:
        raise errors.InvalidInput(
            f"Illegal subnetpool association: subnetpool {pool_id} cannot associate with "
            f"address scope {scope_id} because subnetpool ip_version is not "
            f"{scope.ip_version}.",
            type="IllegalSubnetPoolIpVersionAssociationToAddressScope",
        )
    for other in reader.select(SubnetPool, Query(filters={"address_scope_id": (scope_id,)})):
        if other.id != pool_id and prefixes.intersect(_networks(other.prefixes), networks):
            raise errors.Conflict(
                "Failed to associate address scope: subnetpools within an address scope must "
                "have unique prefixes.",
                type="AddressScopePrefixConflict",
            )


def _check_scope_owner(reader: Reader, caller: Caller, pool: SubnetPool) -> None:
    """A pool in a shared scope another project owns is changed by an admin only."""
    scope = reader.get(AddressScope, pool.address_scope_id or "")
    if scope is not None and not caller.owns(scope):
        raise errors.InvalidInput(
            f"Illegal subnetpool update : subnetpool {pool.id} cannot be updated when "
            f"associated with shared address scope {scope.id}.",
            type="IllegalSubnetPoolUpdate",
        )


def _check_network_affinity(reader: Reader, pool: SubnetPool) -> None:
    """Moving a pool to another scope moves its subnets: no network of theirs may keep a
    subnet of that IP version from elsewhere."""
    moved = reader.select(Subnet, Query(filters={"subnetpool_id": (pool.id,)}))
    networks = tuple(sorted({subnet.network_id for subnet in moved}))
    if not networks:
        return
    same = Query(filters={"network_id": networks, "ip_version": (pool.ip_version,)})
    if reader.count(Subnet, same) != len(moved):
        raise network_scope_error()


def network_scope_error() -> errors.InvalidInput:
    return errors.InvalidInput(
        "Subnets of the same address family hosted on the same network must all participate "
        "in the same address scope.",
        type="NetworkAddressScopeAffinityError",
    )


# --- subnets from pools -----------------------------------------------------------------------


def take_cidr(
    reader: Reader,
    pool: SubnetPool,
    *,
    project_id: str,
    cidr: Cidr | None,
    prefixlen: int | None,
) -> Cidr:
    """The CIDR a new subnet of ``project_id`` gets from the pool: ``cidr`` if the pool has it
    free, else the first free one of ``prefixlen`` (default: the pool's), within the pool's
    prefix lengths and its quota. The writer takes pools' subnets one at a time, so two
    requests cannot be handed the same CIDR."""
    limits = prefixes.Bounds(
        min=pool.min_prefixlen, max=pool.max_prefixlen, default=pool.default_prefixlen
    )
    length = cidr.prefixlen if cidr is not None else prefixlen or limits.default
    prefixes.check_prefixlen(length, limits)
    subnets = reader.select(Subnet, Query(filters={"subnetpool_id": (pool.id,)}))
    if pool.default_quota:
        used = sum(
            prefixes.quota_units(pool.ip_version, ipaddress.ip_network(s.cidr).prefixlen)
            for s in subnets
            if s.project_id == project_id
        )
        if used + prefixes.quota_units(pool.ip_version, length) > pool.default_quota:
            raise errors.Conflict(
                "Per-project subnet pool prefix quota exceeded.", type="SubnetPoolQuotaExceeded"
            )
    left = prefixes.available(_networks(pool.prefixes), _networks(s.cidr for s in subnets))
    if cidr is not None:
        if prefixes.fits(left, cidr):
            return cidr
        raise _allocation_error(
            "Cannot allocate requested subnet from the available set of prefixes"
        )
    taken = prefixes.allocate_any(left, length)
    if taken is None:
        raise _allocation_error(f"Insufficient prefix space to allocate subnet size /{length}")
    return taken


def _allocation_error(reason: str) -> errors.Conflict:
    """Neutron answers these with a 500; what is left of a pool is a state, hence a 409."""
    return errors.Conflict(f"Failed to allocate subnet: {reason}.", type="SubnetAllocationError")


def default_pool(reader: Reader, caller: Caller, version: int) -> SubnetPool | None:
    """The IP version's default pool (``use_default_subnetpool``), if the caller sees it."""
    wanted = Query(filters={"is_default": (True,), "ip_version": (version,)}, limit=1)
    found = reader.select(SubnetPool, resources.scoped(caller, wanted, shared=True))
    return found[0] if found else None


def check_network_pools(
    reader: Reader, *, siblings: Sequence[Subnet], version: int, pool: SubnetPool | None
) -> None:
    """A network's subnets of one IP version come from one pool, or from pools of one address
    scope, or none from a pool (Neutron's ``_validate_network_subnetpools``)."""
    same = [s for s in siblings if s.ip_version == version]
    pools = reader.get_many(SubnetPool, {s.subnetpool_id for s in same if s.subnetpool_id})
    scopes = {pools[s.subnetpool_id].address_scope_id for s in same if s.subnetpool_id in pools}
    scope = next((s for s in scopes if s), None)
    if scope is not None and pool is not None and pool.address_scope_id != scope:
        raise network_scope_error()
    for subnet in same:
        clash = (
            subnet.subnetpool_id != pool.id and scope is None
            if pool is not None
            else subnet.subnetpool_id is not None
        )
        if clash:
            raise errors.InvalidInput(
                "Subnets hosted on the same network must be allocated from the same subnet pool.",
                type="NetworkSubnetPoolAffinityError",
            )


def network_scopes(reader: Reader, subnets: Iterable[Subnet]) -> dict[tuple[str, int], str]:
    """(network id, IP version) -> the address scope its subnets of that version are in."""
    subnets = [s for s in subnets if s.subnetpool_id]
    pools = reader.get_many(SubnetPool, {s.subnetpool_id for s in subnets if s.subnetpool_id})
    scopes = {}
    for subnet in subnets:
        pool = pools.get(subnet.subnetpool_id or "")
        if pool is not None and pool.address_scope_id:
            scopes[(subnet.network_id, subnet.ip_version)] = pool.address_scope_id
    return scopes
