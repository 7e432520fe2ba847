"""The templates of new security groups' rules (``security-groups-default-rules``).

As in Neutron: admins create, list, show and delete them (anyone may read them; there is no
update); a project's new default group gets a rule like each template ``used_in_default_sg``,
any other new group one like each ``used_in_non_default_sg``, a ``remote_group_id`` of
``PARENT`` naming the new group itself. A template is checked as a rule is; one that is the same
rule as a template already used for the same kind of group is a 409
``DefaultSecurityGroupRuleExists``. Groups that exist keep their rules when templates change.
The store starts with Neutron's four (migration 0020).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from alcor.model import errors, rules
from alcor.model.queries import Query
from alcor.model.records import DefaultSecurityGroupRule
from alcor.model.requests import DefaultSecurityGroupRuleCreate
from alcor.services import resources
from alcor.services.callers import Caller
from alcor.store.interface import Reader, Writer

KINDS = ("used_in_default_sg", "used_in_non_default_sg")


class ShownTemplate(msgspec.Struct, frozen=True):
    record: DefaultSecurityGroupRule


def as_rule(template: DefaultSecurityGroupRule) -> rules.Rule:
    return rules.Rule(
        direction=template.direction,
        ethertype=template.ethertype,
        protocol=template.protocol,
        port_range_min=template.port_range_min,
        port_range_max=template.port_range_max,
        remote_ip_prefix=template.remote_ip_prefix,
        remote_group_id=template.remote_group_id,
        remote_address_group_id=template.remote_address_group_id,
    )


def templates(reader: Reader, *, default_group: bool) -> list[DefaultSecurityGroupRule]:
    """The templates of a new default group's rules, or of any other new group's."""
    kind = KINDS[0] if default_group else KINDS[1]
    return reader.select(DefaultSecurityGroupRule, Query(filters={kind: (True,)}))


def _not_found(template_id: str) -> errors.NotFound:
    return errors.NotFound(
        f"Default Security Group rule {template_id} does not exist",
        type="DefaultSecurityGroupRuleNotFound",
    )


def _requested(request: DefaultSecurityGroupRuleCreate) -> rules.Rule:
    return rules.check_rule(
        rules.Rule(
            direction=request.direction,
            ethertype=resources.value_or(request.ethertype, "IPv4"),
            protocol=resources.value_or(request.protocol, None),
            port_range_min=resources.value_or(request.port_range_min, None),
            port_range_max=resources.value_or(request.port_range_max, None),
            remote_ip_prefix=resources.value_or(request.remote_ip_prefix, None),
            remote_group_id=resources.value_or(request.remote_group_id, None),
            remote_address_group_id=resources.value_or(request.remote_address_group_id, None),
        )
    )


class DefaultSecurityGroupRules:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[DefaultSecurityGroupRuleCreate]
    ) -> list[ShownTemplate]:
        caller.require_admin("create_default_security_group_rule")
        resources.check_bulk(len(requests), self.context.settings)
        now = self.context.now()
        made = [
            DefaultSecurityGroupRule(
                id=self.context.new_id(),
                project_id="",
                description=resources.value_or(request.description, ""),
                created_at=now,
                updated_at=now,
                used_in_default_sg=request.used_in_default_sg,
                used_in_non_default_sg=request.used_in_non_default_sg,
                **msgspec.structs.asdict(_requested(request)),
            )
            for request in requests
        ]

        def work(writer: Writer) -> list[ShownTemplate]:
            for kind in KINDS:
                held = writer.select(DefaultSecurityGroupRule, Query(filters={kind: (True,)}))
                _check_new(
                    [t for t in made if getattr(t, kind)],
                    {rules.rule_key(as_rule(t)): t.id for t in held},
                )
            writer.insert(made)
            return [ShownTemplate(t) for t in made]

        return await self.context.store.write(work)

    async def show(self, caller: Caller, template_id: str) -> ShownTemplate:
        def work(reader: Reader) -> ShownTemplate:
            found = reader.get(DefaultSecurityGroupRule, template_id)
            if found is None:
                raise _not_found(template_id)
            return ShownTemplate(found)

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownTemplate]:
        return await self.context.store.read(
            lambda r: [ShownTemplate(t) for t in r.select(DefaultSecurityGroupRule, query)]
        )

    async def update(
        self, caller: Caller, template_id: str, request: object, *, if_match: int | None
    ) -> ShownTemplate:
        raise errors.MethodNotAllowed("A default security group rule cannot be updated.")

    async def delete(self, caller: Caller, template_id: str, *, if_match: int | None) -> None:
        caller.require_admin("delete_default_security_group_rule")

        def work(writer: Writer) -> None:
            found = writer.get(DefaultSecurityGroupRule, template_id)
            if found is None:
                raise _not_found(template_id)
            resources.check_revision(found, if_match)
            writer.delete([found])

        await self.context.store.write(work)


def _check_new(new: list[DefaultSecurityGroupRule], held: dict[tuple[object, ...], str]) -> None:
    """Neutron's ``_check_for_duplicate_default_rules_in_template``: the new templates of one
    kind of group differ from each other and from those it has."""
    keys: set[tuple[object, ...]] = set()
    for template in new:
        key = rules.rule_key(as_rule(template))
        if key in keys:
            raise errors.InUse(
                "Duplicate Default Security Group Rule in POST.",
                type="DuplicateDefaultSgRuleInPost",
            )
        keys.add(key)
        if key in held:
            raise errors.InUse(
                f"Default Security group rule already exists. Rule id is {held[key]}.",
                type="DefaultSecurityGroupRuleExists",
            )
