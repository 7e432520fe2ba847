"""The QoS policy manager (``qos``, ``qos-default``, ``qos-rules-alias``): policies and their
bandwidth-limit and DSCP-marking rules.

As Neutron's default policy has it, policies and rules are made, changed and deleted by admins
and by managers of the policy's project (role ``manager``; a member's attempt is a 403
``rule:<action>_policy``...); anyone sees their own policies,
shared ones (``shared``: the ``*`` RBAC policy) and those shared with their project. A rule is a
change of its policy: its revision grows (a policy starts at 0, as Neutron's), and every host
enforcing it is sent the new rules. A policy a port or a network names cannot be deleted (409
``QosPolicyInUse``). ``is_default``: the policy a project's new networks get; one a project.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from alcor.model import errors
from alcor.model import qos as model
from alcor.model.queries import Query
from alcor.model.records import Network, Port, QosPolicy, QosRule, RbacPolicy
from alcor.model.requests import UNSET
from alcor.services import group_access, resources, sharing
from alcor.services.callers import Caller
from alcor.store.interface import Reader, Writer

OBJECT_TYPE = "qos_policy"
RuleCreate = model.BandwidthLimitRuleCreate | model.DscpMarkingRuleCreate


class ShownPolicy(msgspec.Struct, frozen=True):
    record: QosPolicy
    tags: list[str]


def not_found(policy_id: str) -> errors.NotFound:
    return errors.NotFound(f"QoS policy {policy_id} could not be found.", type="QosPolicyNotFound")


def rule_not_found(rule_id: str, policy_id: str) -> errors.NotFound:
    return errors.NotFound(
        f"QoS rule {rule_id} for policy {policy_id} could not be found.", type="QosRuleNotFound"
    )


def visible(reader: Reader, caller: Caller, policy: QosPolicy) -> bool:
    return (
        caller.owns(policy)
        or policy.shared
        or sharing.visible(reader, OBJECT_TYPE, policy.id, caller.project_id)
    )


def find(reader: Reader, caller: Caller, policy_id: str) -> QosPolicy:
    """The policy if the caller may see it (and so name it on its networks and ports)."""
    policy = reader.get(QosPolicy, policy_id)
    if policy is None or not visible(reader, caller, policy):
        raise not_found(policy_id)
    return policy


def default_of(reader: Reader, project_id: str) -> QosPolicy | None:
    query = Query(filters={"project_id": (project_id,), "is_default": (True,)}, limit=1)
    found = reader.select(QosPolicy, query)
    return found[0] if found else None


def _allowed(caller: Caller, action: str, project_id: str, *, hidden: bool = False) -> None:
    """Neutron's ``ADMIN_OR_PROJECT_MANAGER``: an admin, or a manager of the policy's project.
    ``hidden``: another project (which sees the policy shared) is answered as Neutron answers
    it there, as if the resource were not."""
    own = project_id == caller.project_id
    if caller.is_admin or ("manager" in caller.roles and own):
        return
    if hidden and not own:
        raise errors.NotFound("The resource could not be found.", type="HTTPNotFound")
    raise errors.policy_refuses(f"rule:{action}")


def _check_default(reader: Reader, policy: QosPolicy) -> None:
    other = default_of(reader, policy.project_id)
    if policy.is_default and other is not None and other.id != policy.id:
        raise errors.Conflict(
            f"A default QoS policy exists for project {policy.project_id}.",
            type="QoSPolicyDefaultAlreadyExists",
        )


class QosPolicies:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    # --- policies ----------------------------------------------------------------------------

    async def create(
        self, caller: Caller, requests: Sequence[model.PolicyCreate]
    ) -> list[ShownPolicy]:
        resources.check_bulk(len(requests), self.context.settings)
        if any(request.rules is not UNSET for request in requests):
            raise errors.InvalidInput("Attribute 'rules' not allowed in POST")

        def work(writer: Writer) -> list[ShownPolicy]:
            made = []
            for request in requests:
                policy = self._new(caller, request)
                _allowed(caller, "create_policy", policy.project_id)
                _check_default(writer, policy)
                writer.insert([policy])
                if policy.shared:
                    writer.insert([self._every_project(policy)])
                if request.tags:
                    writer.set_tags(policy.id, sorted(set(request.tags)))
                made.append(ShownPolicy(policy, sorted(set(request.tags or []))))
            return made

        return await self.context.store.write(work)

    def _new(self, caller: Caller, request: model.PolicyCreate) -> QosPolicy:
        now = self.context.now()
        is_default = resources.value_or(request.is_default, False)
        return QosPolicy(
            id=self.context.new_id(),
            project_id=caller.project_for(resources.requested_project(request)),
            name=resources.value_or(request.name, ""),
            description=resources.value_or(request.description, ""),
            created_at=now,
            updated_at=now,
            revision_number=1 if is_default else 0,  # Neutron's: setting the default is a change
            shared=resources.value_or(request.shared, False),
            is_default=is_default,
        )

    def _every_project(self, policy: QosPolicy) -> RbacPolicy:
        return sharing.every_project(
            OBJECT_TYPE, policy, policy_id=self.context.new_id(), now=policy.updated_at
        )

    async def show(self, caller: Caller, policy_id: str) -> ShownPolicy:
        def work(reader: Reader) -> ShownPolicy:
            policy = find(reader, caller, policy_id)
            return ShownPolicy(policy, reader.tags_of([policy.id]).get(policy.id, []))

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownPolicy]:
        scoped = resources.scoped(caller, query, shared=True)

        def work(reader: Reader) -> list[ShownPolicy]:
            found = reader.select(QosPolicy, scoped)
            tags = reader.tags_of([p.id for p in found])
            return [ShownPolicy(p, tags.get(p.id, [])) for p in found]

        return await self.context.store.read(work)

    async def update(
        self, caller: Caller, policy_id: str, request: model.PolicyUpdate, *, if_match: int | None
    ) -> ShownPolicy:
        resources.refuse_read_only(request, ("rules", "project_id", "tenant_id"))
        sent = msgspec.structs.asdict(request)
        changes = {field: value for field, value in sent.items() if value is not UNSET}

        def work(writer: Writer) -> ShownPolicy:
            policy = find(writer, caller, policy_id)
            _allowed(caller, "update_policy", policy.project_id, hidden=True)
            resources.check_revision(policy, if_match)
            if all(getattr(policy, field) == value for field, value in changes.items()):
                return ShownPolicy(policy, writer.tags_of([policy.id]).get(policy.id, []))
            updated = resources.revised(policy, self.context.now(), **changes)
            _check_default(writer, updated)
            writer.update([updated])
            if updated.shared != policy.shared:
                self._reshare(writer, updated)
            return ShownPolicy(updated, writer.tags_of([policy.id]).get(policy.id, []))

        return await self.context.store.write(work)

    def _reshare(self, writer: Writer, policy: QosPolicy) -> None:
        """``shared`` set: its ``*`` policy made; unset: gone, unless another project uses the
        policy (409 ``RbacPolicyInUse``, as Neutron's)."""
        every = [
            p
            for p in sharing.policies_on(writer, OBJECT_TYPE, policy.id)
            if p.target_project == "*"
        ]
        if policy.shared and not every:
            writer.insert([self._every_project(policy)])
        if not policy.shared:
            for star in every:
                group_access.check_unshared(writer, policy, star)
            writer.delete(every)

    async def delete(self, caller: Caller, policy_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            policy = find(writer, caller, policy_id)
            _allowed(caller, "delete_policy", policy.project_id)
            resources.check_revision(policy, if_match)
            for kind in (Port, Network):
                users = writer.select(kind, Query(filters={"qos_policy_id": (policy.id,)}, limit=1))
                if users:
                    raise errors.InUse(
                        f"QoS Policy {policy.id} is used by {kind.kind} {users[0].id}.",
                        type="QosPolicyInUse",
                    )
            sharing.remove_all(writer, OBJECT_TYPE, policy.id)
            writer.delete([policy])

        await self.context.store.write(work)

    # --- rules -------------------------------------------------------------------------------

    async def rules(self, caller: Caller, policy_id: str, rule_type: str) -> list[QosRule]:
        def work(reader: Reader) -> list[QosRule]:
            return [r for r in find(reader, caller, policy_id).rules if r.type == rule_type]

        return await self.context.store.read(work)

    async def rule(
        self, caller: Caller, policy_id: str | None, rule_type: str, rule_id: str
    ) -> QosRule:
        """One rule of a policy, or (``policy_id`` None: the alias) of any policy seen."""
        return await self.context.store.read(
            lambda r: self._find_rule(r, caller, policy_id, rule_type, rule_id)[1]
        )

    def _find_rule(
        self, reader: Reader, caller: Caller, policy_id: str | None, rule_type: str, rule_id: str
    ) -> tuple[QosPolicy, QosRule]:
        if policy_id is None:
            policies = self._seen(reader, caller)
        else:
            policies = [find(reader, caller, policy_id)]
        for policy in policies:
            for rule in policy.rules:
                if rule.id == rule_id and rule.type == rule_type:
                    return policy, rule
        raise rule_not_found(rule_id, policy_id or "")

    def _seen(self, reader: Reader, caller: Caller) -> list[QosPolicy]:
        return reader.select(QosPolicy, resources.scoped(caller, Query(), shared=True))

    async def create_rule(self, caller: Caller, policy_id: str, request: RuleCreate) -> QosRule:
        rule = model.new_rule(self.context.new_id(), request)

        def work(writer: Writer) -> QosRule:
            action = f"create_policy_{_singular(request)}"
            if not (caller.is_admin or "manager" in caller.roles):  # allowed on no policy at all
                raise errors.policy_refuses(f"rule:{action}")
            policy = find(writer, caller, policy_id)
            _allowed(caller, action, policy.project_id)
            model.check_conflicts(policy, rule)
            self._revise(writer, policy, [*policy.rules, rule])
            return rule

        return await self.context.store.write(work)

    async def update_rule(
        self,
        caller: Caller,
        policy_id: str | None,
        rule_id: str,
        request: model.RuleUpdate,
    ) -> QosRule:
        rule_type = _rule_type(request)

        def work(writer: Writer) -> QosRule:
            policy, rule = self._find_rule(writer, caller, policy_id, rule_type, rule_id)
            _allowed(caller, f"update_policy_{rule_type}_rule", policy.project_id, hidden=True)
            new = model.changed(rule, request)
            if new == rule:  # as Neutron's: nothing changed, no new revision
                return rule
            model.check_conflicts(policy, new)
            self._revise(writer, policy, [new if r.id == rule_id else r for r in policy.rules])
            return new

        return await self.context.store.write(work)

    async def delete_rule(
        self, caller: Caller, policy_id: str | None, rule_type: str, rule_id: str
    ) -> None:
        def work(writer: Writer) -> None:
            policy, _rule = self._find_rule(writer, caller, policy_id, rule_type, rule_id)
            _allowed(caller, f"delete_policy_{rule_type}_rule", policy.project_id, hidden=True)
            self._revise(writer, policy, [r for r in policy.rules if r.id != rule_id])

        await self.context.store.write(work)

    def _revise(self, writer: Writer, policy: QosPolicy, rules: list[QosRule]) -> None:
        writer.update([resources.revised(policy, self.context.now(), rules=rules)])

    async def check_rule_type(self, caller: Caller, policy_id: str, rule_type: str) -> None:
        """A rule type the data plane cannot enforce: refused once the policy is found."""
        await self.context.store.read(lambda r: find(r, caller, policy_id))
        raise model.not_enforced(rule_type)


def _rule_type(request: object) -> str:
    if isinstance(request, model.DscpMarkingRuleUpdate):
        return model.DSCP_MARKING
    return model.BANDWIDTH_LIMIT


def _singular(request: object) -> str:
    return f"{_rule_type(request)}_rule"
