"""The RBAC policy manager (``rbac-policies``): create, show, list, update, delete.

As Neutron's: a policy's owner (its ``project_id``) or an admin sees and changes it, and no one
else learns it exists (404). Only the owner of the object (or an admin) makes a policy on it,
and only an admin targets every project (``*``). The target is the only attribute that
changes. Policies on networks keep the network's ``shared`` and ``router:external`` in step
and may not take away access a project still uses (``network_access``); nor may policies on
security groups, address scopes, subnet pools and address groups (``group_access``: a
group's ports, a scope's pools, a pool's subnets, an address group's rules). A scope's or
pool's ``shared`` is its ``*`` policy, kept in step here; a pool in a scope is shared only with
a project the scope is shared with.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec

from alcor.model import errors
from alcor.model.queries import Query
from alcor.model.records import (
    ACCESS_AS_SHARED,
    EVERY_PROJECT,
    AddressGroup,
    AddressScope,
    Network,
    QosPolicy,
    RbacPolicy,
    Record,
    SecurityGroup,
    SubnetPool,
)
from alcor.model.requests import UNSET, RbacPolicyCreate, RbacPolicyUpdate
from alcor.services import group_access, network_access, resources, sharing
from alcor.services.callers import Caller
from alcor.store.interface import Reader, Writer

# The object types policies may name, and the actions valid for each, in Neutron's order.
ACTIONS: dict[str, tuple[str, ...]] = {
    "network": network_access.ACTIONS,
    "security_group": (ACCESS_AS_SHARED,),
    "address_scope": (ACCESS_AS_SHARED,),
    "subnetpool": (ACCESS_AS_SHARED,),
    "address_group": (ACCESS_AS_SHARED,),
    "qos_policy": (ACCESS_AS_SHARED,),
}
KINDS: dict[str, type[Record]] = {
    "network": Network,
    "security_group": SecurityGroup,
    "address_scope": AddressScope,
    "subnetpool": SubnetPool,
    "address_group": AddressGroup,
    "qos_policy": QosPolicy,
}

CREATE_RULE = (
    "((((rule:create_rbac_policy and rule:create_rbac_policy:object_type) and "
    "rule:create_rbac_policy:object_id) and rule:create_rbac_policy:target_tenant) and "
    "rule:create_rbac_policy:action)"
)
UPDATE_RULE = "(rule:update_rbac_policy and rule:update_rbac_policy:target_tenant)"


class ShownPolicy(msgspec.Struct, frozen=True):
    record: RbacPolicy


class RbacPolicies:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[RbacPolicyCreate]
    ) -> list[ShownPolicy]:
        resources.check_bulk(len(requests), self.context.settings)

        def work(writer: Writer) -> list[ShownPolicy]:
            checked = [_checked(caller, request) for request in requests]
            quota_projects = resources.projects_of(caller, requests)
            self.context.quotas.check(writer, RbacPolicy.kind, quota_projects)
            made = []
            for project, (object_type, request) in zip(quota_projects, checked, strict=True):
                made.append(ShownPolicy(self._new(writer, caller, project, object_type, request)))
            return made

        return await self.context.store.write(work)

    def _new(
        self,
        writer: Writer,
        caller: Caller,
        project: str,
        object_type: str,
        request: RbacPolicyCreate,
    ) -> RbacPolicy:
        shared = _object_to_share(writer, caller, object_type, request.object_id)
        if isinstance(shared, SubnetPool):
            _check_scope_shared(writer, caller, shared, request.target_tenant)
        same = Query(
            filters={
                "object_type": (object_type,),
                "object_id": (shared.id,),
                "action": (request.action,),
                "target_project": (request.target_tenant,),
            }
        )
        if writer.count(RbacPolicy, same):
            raise _duplicate()
        now = self.context.now()
        policy = RbacPolicy(
            id=self.context.new_id(),
            project_id=project,
            created_at=now,
            updated_at=now,
            object_type=object_type,
            object_id=shared.id,
            action=request.action,
            target_project=request.target_tenant,
        )
        writer.insert([policy])
        _changed(writer, shared, now=now)
        return policy

    async def show(self, caller: Caller, policy_id: str) -> ShownPolicy:
        return ShownPolicy(
            await self.context.store.read(lambda reader: _find(reader, caller, policy_id))
        )

    async def query(self, caller: Caller, query: Query) -> list[ShownPolicy]:
        scoped = resources.scoped(caller, query)
        if "object_type" in query.filters:
            for object_type in query.filters["object_type"]:
                _object_type(str(object_type))
        found = await self.context.store.read(lambda reader: reader.select(RbacPolicy, scoped))
        return [ShownPolicy(policy) for policy in found]

    async def update(
        self, caller: Caller, policy_id: str, request: RbacPolicyUpdate, *, if_match: int | None
    ) -> ShownPolicy:
        target = request.target_tenant
        if target is not UNSET:
            _check_target(caller, target, rule=UPDATE_RULE)

        def work(writer: Writer) -> RbacPolicy:
            policy = _find(writer, caller, policy_id)
            resources.check_revision(policy, if_match)
            if target is UNSET or target == policy.target_project:
                return policy
            shared = _object_of(writer, policy)
            if not caller.owns(shared):
                raise _not_owner(policy.object_type)
            _check_removal(writer, shared, policy, new_target=target)
            same = Query(
                filters={
                    "object_type": (policy.object_type,),
                    "object_id": (policy.object_id,),
                    "action": (policy.action,),
                    "target_project": (target,),
                }
            )
            if writer.count(RbacPolicy, same):
                raise _duplicate()
            now = self.context.now()
            updated = resources.revised(policy, now, target_project=target)
            writer.update([updated])
            _changed(writer, shared, now=now)
            return updated

        return ShownPolicy(await self.context.store.write(work))

    async def delete(self, caller: Caller, policy_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            policy = _find(writer, caller, policy_id)
            resources.check_revision(policy, if_match)
            shared = _object_of(writer, policy)
            _check_removal(writer, shared, policy)
            writer.delete([policy])
            _changed(writer, shared, now=self.context.now())

        await self.context.store.write(work)


def _checked(caller: Caller, request: RbacPolicyCreate) -> tuple[str, RbacPolicyCreate]:
    """The request's object type (normalized as Neutron does) and the request, its action and
    target checked; a member's policy for every project is refused by policy (403)."""
    object_type = _object_type(request.object_type)
    _check_target(caller, request.target_tenant, rule=CREATE_RULE)
    valid = ACTIONS[object_type]
    if request.action not in valid:
        raise errors.InvalidInput(
            f"Invalid action '{request.action}' for object type '{object_type}'. "
            f"Valid actions: {valid!r}",
            type="InvalidActionForType",
        )
    return object_type, request


def _object_type(value: str) -> str:
    normalized = value.strip().lower()
    if normalized not in ACTIONS:
        raise _invalid(f"'{value}' is not a valid RBAC object type")
    return normalized


def _check_target(caller: Caller, target: str, *, rule: str) -> None:
    if target == EVERY_PROJECT:
        if not caller.is_admin:
            raise errors.policy_refuses(rule)
        return
    try:
        uuid.UUID(target)
    except ValueError:
        raise _invalid(
            f"'{target}' is not a valid target project ID; expected a UUID or '*'"
        ) from None


def _object_to_share(reader: Reader, caller: Caller, object_type: str, object_id: str) -> Record:
    """The object a policy names: its owner's or an admin's to share. Neutron answers 400 for
    an object not found as well (its callbacks' failures become one InvalidInput)."""
    try:
        found = resources.find(reader, caller, KINDS[object_type], object_id)
    except errors.NotFound as missing:
        raise _invalid(missing.message.rstrip(".")) from None
    if not caller.owns(found):
        raise _not_owner(object_type)
    return found


def _check_scope_shared(reader: Reader, caller: Caller, pool: SubnetPool, target: str) -> None:
    """A pool in a scope is shared only with a project the scope is shared with (Neutron's
    ``SubnetPool.validate_rbac_policy_create``; its callback's failure becomes a 400). As
    Neutron's, the scope's policies counted are those the caller sees: a member's own."""
    if pool.address_scope_id is None:
        return
    filters: dict[str, tuple[str, ...]] = {
        "object_type": ("address_scope",),
        "object_id": (pool.address_scope_id,),
        "target_project": (target, EVERY_PROJECT),
    }
    scoped = resources.scoped(caller, Query(filters=filters))
    if not reader.count(RbacPolicy, scoped):
        raise _invalid(
            f"Failed to create RBAC policy on object {pool.id} because target project doesn't "
            "have access to associated address scope."
        )


def _object_of(reader: Reader, policy: RbacPolicy) -> Record:
    found = reader.get(KINDS[policy.object_type], policy.object_id)
    assert found is not None, "an object's policies go with it"
    return found


def _check_removal(
    reader: Reader, shared: Record, policy: RbacPolicy, *, new_target: str | None = None
) -> None:
    """A policy that goes, or moves to another target, must leave its target what it uses
    (Neutron checks a security group's only when the new target is not every project)."""
    if not isinstance(shared, Network):
        if new_target != EVERY_PROJECT:
            group_access.check_unshared(reader, shared, policy)
    elif policy.action == ACCESS_AS_SHARED:
        assert isinstance(shared, Network)
        network_access.check_unshared_policy(reader, shared, policy)
    else:
        assert isinstance(shared, Network)
        network_access.check_unexternal(reader, shared, policy, new_target=new_target)


def _changed(writer: Writer, shared: Record, *, now: str) -> None:
    """A network's attributes follow its policies (and its revision grows with them); so does
    a scope's or pool's ``shared`` (its ``*`` policy)."""
    if isinstance(shared, Network):
        network_access.refresh(writer, shared, now=now)
    elif isinstance(shared, AddressScope | SubnetPool):
        star = sharing.granted(writer, shared.kind, shared.id, EVERY_PROJECT, (ACCESS_AS_SHARED,))
        if star != shared.shared:
            writer.update([resources.revised(shared, now, shared=star)])
    elif isinstance(shared, QosPolicy):  # as Neutron's, its revision stays
        star = sharing.granted(writer, shared.kind, shared.id, EVERY_PROJECT, (ACCESS_AS_SHARED,))
        if star != shared.shared:
            writer.update([msgspec.structs.replace(shared, shared=star)])


def _find(reader: Reader, caller: Caller, policy_id: str) -> RbacPolicy:
    """The policy if the caller owns it (or is an admin): anyone else is told it is not found,
    whatever its type (Neutron names the type of one that exists)."""
    policy = reader.get(RbacPolicy, policy_id)
    if policy is None or not caller.owns(policy):
        raise errors.NotFound(
            f"RBAC policy of type unknown with ID {policy_id} not found",
            type="RbacPolicyNotFound",
        )
    return policy


def _invalid(reason: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Invalid input for operation: {reason}.", type="InvalidInput")


def _not_owner(object_type: str) -> errors.InvalidInput:
    owned = "networks" if object_type == "network" else "objects"
    return _invalid(f"Only admins can manipulate policies on {owned} they do not own")


def _duplicate() -> errors.Conflict:
    return errors.Conflict(
        "An RBAC policy already exists with those values.", type="DuplicateRbacPolicy"
    )
