"""The address group manager (``address-group``): named sets of CIDRs that security group rules
name as ``remote_address_group_id``.

As in Neutron: a project's own groups (an admin's: every project's), CRUD plus the member actions
``add_addresses`` and ``remove_addresses`` (the only way to change the addresses after create;
each a change of the group, so its revision grows and every host holding a rule that names it is
sent the new addresses). A group a rule names cannot be deleted (409 ``AddressGroupInUse``).
Its owner shares a group with a project by an RBAC policy (``rbac-address-group``): the
project then sees it and names it in its rules, but may not change it (its update is not
found, 404, the rest refused, 403, as Neutron answers). Its ``shared`` is not shown (as in Neutron).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from alcor.model import address_groups, errors
from alcor.model.queries import Query
from alcor.model.records import AddressGroup, SecurityGroupRule
from alcor.model.requests import UNSET, AddressesRequest, AddressGroupCreate, AddressGroupUpdate
from alcor.services import resources, sharing
from alcor.services.callers import Caller
from alcor.store.interface import Reader, Writer


class ShownAddressGroup(msgspec.Struct, frozen=True):
    record: AddressGroup


def not_found(group_id: str) -> errors.NotFound:
    return errors.NotFound(
        f"Address group {group_id} could not be found.", type="AddressGroupNotFound"
    )


def find(reader: Reader, caller: Caller, group_id: str) -> AddressGroup:
    """The group if the caller may see it (a rule's remote address group, too)."""
    try:
        return resources.find(reader, caller, AddressGroup, group_id)
    except errors.NotFound:
        raise not_found(group_id) from None


def _owned(writer: Writer, caller: Caller, group_id: str, *, rule: str) -> AddressGroup:
    """The group if the caller may change it. A group shared with the caller is refused by
    ``rule`` as Neutron's policy words it, except its update (``rule`` empty), which Neutron
    answers as if the group were not there."""
    group = find(writer, caller, group_id)
    if not caller.owns(group):
        if not rule:
            raise not_found(group_id)
        raise errors.policy_refuses(f"rule:{rule}")
    return group


class AddressGroups:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[AddressGroupCreate]
    ) -> list[ShownAddressGroup]:
        resources.check_bulk(len(requests), self.context.settings)
        now = self.context.now()
        made = [
            AddressGroup(
                id=self.context.new_id(),
                project_id=caller.project_for(resources.requested_project(request)),
                name=resources.value_or(request.name, ""),
                description=resources.value_or(request.description, ""),
                created_at=now,
                updated_at=now,
                addresses=address_groups.created(
                    request.addresses if isinstance(request.addresses, list) else []
                ),
            )
            for request in requests
        ]

        def work(writer: Writer) -> list[ShownAddressGroup]:
            writer.insert(made)
            return [ShownAddressGroup(group) for group in made]

        return await self.context.store.write(work)

    async def show(self, caller: Caller, group_id: str) -> ShownAddressGroup:
        return await self.context.store.read(lambda r: ShownAddressGroup(find(r, caller, group_id)))

    async def query(self, caller: Caller, query: Query) -> list[ShownAddressGroup]:
        scoped = resources.scoped(caller, query, shared=True)
        return await self.context.store.read(
            lambda r: [ShownAddressGroup(g) for g in r.select(AddressGroup, scoped)]
        )

    async def update(
        self, caller: Caller, group_id: str, request: AddressGroupUpdate, *, if_match: int | None
    ) -> ShownAddressGroup:
        sent = msgspec.structs.asdict(request)
        changes = {field: value for field, value in sent.items() if value is not UNSET}
        if "addresses" in changes:
            raise errors.InvalidInput("Cannot update read-only attribute addresses")
        return await self._change(caller, group_id, lambda g: changes, rule="", if_match=if_match)

    async def add_addresses(
        self, caller: Caller, group_id: str, request: AddressesRequest
    ) -> ShownAddressGroup:
        return await self._change(
            caller,
            group_id,
            lambda g: {"addresses": address_groups.added(g.id, g.addresses, request.addresses)},
            rule="add_addresses",
        )

    async def remove_addresses(
        self, caller: Caller, group_id: str, request: AddressesRequest
    ) -> ShownAddressGroup:
        return await self._change(
            caller,
            group_id,
            lambda g: {"addresses": address_groups.removed(g.id, g.addresses, request.addresses)},
            rule="remove_addresses",
        )

    async def _change(
        self,
        caller: Caller,
        group_id: str,
        changes_of: Callable[[AddressGroup], dict[str, object]],
        *,
        rule: str,
        if_match: int | None = None,
    ) -> ShownAddressGroup:
        def work(writer: Writer) -> ShownAddressGroup:
            group = _owned(writer, caller, group_id, rule=rule)
            resources.check_revision(group, if_match)
            updated = resources.revised(group, self.context.now(), **changes_of(group))
            writer.update([updated])
            return ShownAddressGroup(updated)

        return await self.context.store.write(work)

    async def delete(self, caller: Caller, group_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            group = _owned(writer, caller, group_id, rule="delete_address_group")
            resources.check_revision(group, if_match)
            naming = Query(filters={"remote_address_group_id": (group.id,)}, limit=1)
            if writer.select(SecurityGroupRule, naming):
                raise errors.InUse(
                    f"Address group {group.id} is in use on one or more security group rules.",
                    type="AddressGroupInUse",
                )
            sharing.remove_all(writer, "address_group", group.id)
            writer.delete([group])

        await self.context.store.write(work)
