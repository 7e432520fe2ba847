"""The firewall rule manager (``fwaas_v2``).

A rule's checks and errors are neutron-fwaas's (``alcor.model.firewalls``). Its
``firewall_policy_id`` is shown as neutron-fwaas shows it: the policies holding it on a GET of
the rule (null when none), null in a list and in what a create or update answers. Changing a
rule clears ``audited`` on the policies holding it; a rule in a policy is not deleted
(``FirewallRuleInUse``).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from alcor.model import errors
from alcor.model import firewalls as fw
from alcor.model.queries import Query
from alcor.model.records import FirewallRule
from alcor.model.requests import UNSET
from alcor.services import firewall_access, resources
from alcor.services.callers import Caller
from alcor.services.tagging import check_tags
from alcor.store.interface import Reader, Writer


class ShownFirewallRule(msgspec.Struct, frozen=True):
    record: FirewallRule
    tags: list[str]
    policies: list[str] | None = None


def shown(reader: Reader, rules: list[FirewallRule]) -> list[ShownFirewallRule]:
    tags = reader.tags_of([rule.id for rule in rules])
    return [ShownFirewallRule(rule, tags.get(rule.id, [])) for rule in rules]


class FirewallRules:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[fw.FirewallRuleCreate]
    ) -> list[ShownFirewallRule]:
        resources.check_bulk(len(requests), self.context.settings)
        matches = [fw.merged(fw.NO_MATCH, request) for request in requests]
        actions = [fw.action(r.action) if r.action is not UNSET else "deny" for r in requests]
        for request in requests:
            firewall_access.check_shared_create(
                caller, request.shared, action="create_firewall_rule"
            )

        def work(writer: Writer) -> list[ShownFirewallRule]:
            projects = resources.projects_of(caller, requests)
            self.context.quotas.check(writer, FirewallRule.kind, projects)
            now = self.context.now()
            made = []
            for request, match, action, project in zip(
                requests, matches, actions, projects, strict=True
            ):
                fw.check_match(match)
                made.append(
                    FirewallRule(
                        id=self.context.new_id(),
                        project_id=project,
                        name=resources.value_or(request.name, ""),
                        description=resources.value_or(request.description, ""),
                        created_at=now,
                        updated_at=now,
                        action=action,
                        enabled=resources.value_or(request.enabled, True),
                        shared=resources.value_or(request.shared, False),
                        **fw.match_fields(match),
                    )
                )
            writer.insert(made)
            for request, rule in zip(requests, made, strict=True):
                if request.tags:
                    writer.set_tags(rule.id, check_tags(request.tags))
            return shown(writer, made)

        return await self.context.store.write(work)

    async def show(self, caller: Caller, rule_id: str) -> ShownFirewallRule:
        def work(reader: Reader) -> ShownFirewallRule:
            rule = firewall_access.find(reader, caller, FirewallRule, rule_id)
            holding = [p.id for p in firewall_access.policies_with_rule(reader, rule.id)]
            return msgspec.structs.replace(shown(reader, [rule])[0], policies=holding or None)

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownFirewallRule]:
        return await firewall_access.listed(self.context, caller, query, FirewallRule, shown)

    async def update(
        self, caller: Caller, rule_id: str, request: fw.FirewallRuleUpdate, *, if_match: int | None
    ) -> ShownFirewallRule:
        sent = {k: v for k, v in msgspec.structs.asdict(request).items() if v is not UNSET}
        fw.merged(fw.NO_MATCH, request)  # each attribute as sent, before the policy is asked
        if "action" in sent:
            sent["action"] = fw.action(sent["action"])

        def work(writer: Writer) -> ShownFirewallRule:
            rule = firewall_access.owned(
                writer,
                caller,
                FirewallRule,
                rule_id,
                action="update_firewall_rule",
                shared_sent="shared" in sent,
            )
            resources.check_revision(rule, if_match)
            match = fw.merged(fw.match_of(rule), request)
            fw.check_match(match)
            changes = {k: v for k, v in sent.items() if k in ("name", "description", "enabled")}
            if "shared" in sent:
                changes["shared"] = sent["shared"]
            if "action" in sent:
                changes["action"] = sent["action"]
            now = self.context.now()
            updated = resources.revised(rule, now, **changes, **fw.match_fields(match))
            writer.update([updated])
            holding = firewall_access.policies_with_rule(writer, rule.id)
            writer.update([resources.revised(p, now, audited=False) for p in holding])
            for held in holding:
                using = firewall_access.groups_with_policy(writer, held.id)
                firewall_access.check_enforceable(writer, using)
            return shown(writer, [updated])[0]

        return await self.context.store.write(work)

    async def delete(self, caller: Caller, rule_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            rule = firewall_access.owned(
                writer, caller, FirewallRule, rule_id, action="delete_firewall_rule"
            )
            resources.check_revision(rule, if_match)
            if firewall_access.policies_with_rule(writer, rule.id):
                raise errors.InUse(
                    f"Firewall rule {rule.id} is being used.", type="FirewallRuleInUse"
                )
            writer.delete([rule])

        await self.context.store.write(work)
