"""The address scope manager (``address-scope``): create, show, list, update, delete.

An address scope is a namespace of addresses of one IP version: the subnet pools in it never
overlap (``subnet_pools``), so neither do the subnets taken from them, and a network shows the
scope of its subnets' pools (``ipv4_address_scope``, ``ipv6_address_scope``). Sharing a scope
with every project (``shared``: its ``*`` policy) is an admin's act, and a shared scope stays
shared; its owner shares it with a project by an RBAC policy (``rbac-address-scope``), and the
project then sees it and puts its pools in it. A scope with pools cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from alcor.model import errors
from alcor.model.queries import Query
from alcor.model.records import AddressScope, RbacPolicy, SubnetPool
from alcor.model.requests import UNSET, AddressScopeCreate, AddressScopeUpdate, integer
from alcor.services import resources, sharing
from alcor.services.callers import Caller
from alcor.store.interface import Reader, Writer


class ShownAddressScope(msgspec.Struct, frozen=True):
    record: AddressScope
    shared: bool  # as the caller sees it


def _shown(reader: Reader, caller: Caller, scopes: list[AddressScope]) -> list[ShownAddressScope]:
    shared = sharing.shared_ids(reader, "address_scope", scopes, caller.project_id)
    return [ShownAddressScope(scope, scope.id in shared) for scope in scopes]


def ip_version(value: int | str) -> int:
    version = integer(value)
    if version not in (4, 6):
        raise errors.InvalidInput(
            f"Invalid input for ip_version. Reason: {version} is not in valid_values."
        )
    return version


class AddressScopes:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[AddressScopeCreate]
    ) -> list[ShownAddressScope]:
        resources.check_bulk(len(requests), self.context.settings)

        def work(writer: Writer) -> list[ShownAddressScope]:
            records = [self._new(caller, request) for request in requests]
            writer.insert(records)
            writer.insert([self._every_project(scope) for scope in records if scope.shared])
            return [ShownAddressScope(record, record.shared) for record in records]

        return await self.context.store.write(work)

    def _new(self, caller: Caller, request: AddressScopeCreate) -> AddressScope:
        if request.shared is True:
            caller.require_admin("shared", action="create_address_scope")
        now = self.context.now()
        return AddressScope(
            id=self.context.new_id(),
            project_id=caller.project_for(resources.requested_project(request)),
            name=resources.value_or(request.name, ""),
            created_at=now,
            updated_at=now,
            ip_version=ip_version(request.ip_version),
            shared=resources.value_or(request.shared, False),
        )

    def _every_project(self, scope: AddressScope) -> RbacPolicy:
        return sharing.every_project(
            "address_scope", scope, policy_id=self.context.new_id(), now=scope.updated_at
        )

    async def show(self, caller: Caller, scope_id: str) -> ShownAddressScope:
        def work(reader: Reader) -> ShownAddressScope:
            found = resources.find(reader, caller, AddressScope, scope_id)
            return _shown(reader, caller, [found])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownAddressScope]:
        scoped = resources.scoped(caller, query, shared=True)
        return await self.context.store.read(
            lambda r: _shown(r, caller, r.select(AddressScope, scoped))
        )

    async def update(
        self,
        caller: Caller,
        scope_id: str,
        request: AddressScopeUpdate,
        *,
        if_match: int | None,
    ) -> ShownAddressScope:
        resources.refuse_read_only(request, ("ip_version", "project_id", "tenant_id"))

        def work(writer: Writer) -> ShownAddressScope:
            scope = resources.owned(writer, caller, AddressScope, scope_id)
            resources.check_revision(scope, if_match)
            changes: dict[str, object] = {}
            if request.name is not UNSET:
                changes["name"] = request.name
            if request.shared is not UNSET:
                caller.require_admin("shared", action="update_address_scope")
                if scope.shared and not request.shared:
                    raise errors.InvalidInput(
                        f"Unable to update address scope {scope_id} : Shared address scope "
                        "can't be unshared.",
                        type="AddressScopeUpdateError",
                    )
                changes["shared"] = request.shared
            updated = resources.revised(scope, self.context.now(), **changes)
            writer.update([updated])
            if updated.shared and not scope.shared:
                writer.insert([self._every_project(updated)])
            return _shown(writer, caller, [updated])[0]

        return await self.context.store.write(work)

    async def delete(self, caller: Caller, scope_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            scope = resources.owned(writer, caller, AddressScope, scope_id)
            resources.check_revision(scope, if_match)
            if writer.count(SubnetPool, Query(filters={"address_scope_id": (scope_id,)})):
                raise errors.InUse(
                    f"Unable to complete operation on address scope {scope_id}. There are one "
                    "or more subnet pools in use on the address scope.",
                    type="AddressScopeInUse",
                )
            sharing.remove_all(writer, "address_scope", scope_id)
            writer.delete([scope])

        await self.context.store.write(work)
