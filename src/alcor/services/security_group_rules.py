"""The security group rule manager: create (single and bulk), show, list, delete; no update.

A rule belongs to its group's project. Adding or removing a rule is a change of its group too
(its ``revision_number`` grows), as in Neutron. A rule that matches what an existing rule of the
group matches is a 409 ``SecurityGroupRuleExists``.
"""

from __future__ import annotations

from collections.abc import Sequence

from alcor.model import errors, rules
from alcor.model.queries import Query
from alcor.model.records import SecurityGroup, SecurityGroupRule
from alcor.model.requests import SecurityGroupRuleCreate
from alcor.services import address_groups, resources, security_groups
from alcor.services.callers import Caller
from alcor.services.security_groups import ShownRule
from alcor.store.interface import Reader, Writer


def _requested_rule(request: SecurityGroupRuleCreate) -> rules.Rule:
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


def _as_rule(record: SecurityGroupRule) -> rules.Rule:
    return rules.Rule(
        direction=record.direction,
        ethertype=record.ethertype,
        protocol=record.protocol,
        port_range_min=record.port_range_min,
        port_range_max=record.port_range_max,
        remote_ip_prefix=record.remote_ip_prefix,
        remote_group_id=record.remote_group_id,
        remote_address_group_id=record.remote_address_group_id,
    )


def shown_rules(reader: Reader, records: list[SecurityGroupRule]) -> list[ShownRule]:
    return [ShownRule(r) for r in records]


class SecurityGroupRules:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[SecurityGroupRuleCreate]
    ) -> list[ShownRule]:
        resources.check_bulk(len(requests), self.context.settings)

        def work(writer: Writer) -> list[ShownRule]:
            existing: dict[str, dict[tuple[object, ...], str]] = {}
            groups: dict[str, SecurityGroup] = {}
            created = []
            for request in requests:
                group = groups.get(request.security_group_id) or self._group(
                    writer, caller, request
                )
                groups[group.id] = group
                if group.id not in existing:
                    existing[group.id] = {
                        rules.rule_key(_as_rule(r)): r.id
                        for r in security_groups.rules_of(writer, [group.id])
                    }
                record = self._new(writer, caller, group, request, existing[group.id])
                created.append(record)
            quota_projects = [rule.project_id for rule in created]
            self.context.quotas.check(writer, SecurityGroupRule.kind, quota_projects)
            writer.insert(created)
            now = self.context.now()
            writer.update([resources.revised(group, now) for group in groups.values()])
            return shown_rules(writer, created)

        return await self.context.store.write(work)

    def _group(
        self, writer: Writer, caller: Caller, request: SecurityGroupRuleCreate
    ) -> SecurityGroup:
        caller.project_for(resources.requested_project(request))
        return resources.owned(writer, caller, SecurityGroup, request.security_group_id)

    def _new(
        self,
        writer: Writer,
        caller: Caller,
        group: SecurityGroup,
        request: SecurityGroupRuleCreate,
        existing: dict[tuple[object, ...], str],
    ) -> SecurityGroupRule:
        rule = _requested_rule(request)
        if rule.remote_group_id is not None:
            resources.find(writer, caller, SecurityGroup, rule.remote_group_id)
        if rule.remote_address_group_id is not None:
            address_groups.find(writer, caller, rule.remote_address_group_id)
        key = rules.rule_key(rule)
        if key in existing:
            raise errors.Conflict(
                f"Security group rule already exists. Rule id is {existing[key]}.",
                type="SecurityGroupRuleExists",
            )
        record = security_groups.rule_record(
            self.context, group, rule, resources.value_or(request.description, "")
        )
        existing[key] = record.id
        return record

    async def show(self, caller: Caller, rule_id: str) -> ShownRule:
        def work(reader: Reader) -> ShownRule:
            rule = resources.find(reader, caller, SecurityGroupRule, rule_id)
            return shown_rules(reader, [rule])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownRule]:
        """The rules, once the project listed has its default group (as Neutron)."""
        scoped = resources.scoped(caller, query)
        return await security_groups.listed_with_default(
            self.context,
            caller,
            query,
            lambda r: shown_rules(r, r.select(SecurityGroupRule, scoped)),
        )

    async def update(
        self, caller: Caller, rule_id: str, request: object, *, if_match: int | None
    ) -> ShownRule:
        raise errors.MethodNotAllowed("A security group rule cannot be updated.")

    async def delete(self, caller: Caller, rule_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            rule = resources.owned(writer, caller, SecurityGroupRule, rule_id)
            resources.check_revision(rule, if_match)
            writer.delete([rule])
            group = writer.get(SecurityGroup, rule.security_group_id)
            if group is not None:
                writer.update([resources.revised(group, self.context.now())])

        await self.context.store.write(work)
