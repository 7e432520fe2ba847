"""The firewall policy manager (``fwaas_v2``): ordered rules, ``insert_rule`` and ``remove_rule``.

As neutron-fwaas: a policy's rules must be seen by the caller (``FirewallRuleNotFound``); a
shared policy holds shared rules only (``FirewallRuleSharingConflict``, a 404 as neutron-lib
has it; ``FirewallPolicySharingConflict`` when sharing a policy that holds an unshared rule);
another project's unshared rule is refused (``FirewallRuleConflict``). Every change but one
setting ``audited`` clears it. The default policies (``default ingress``, ``default egress``)
take no update (their rules change by insert and remove), and no other policy is created with
their names. A policy a group uses is not deleted, nor unshared while another project's group
uses it (``FirewallPolicyInUse``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from alcor.model import errors
from alcor.model import firewalls as fw
from alcor.model.queries import Query
from alcor.model.records import FirewallPolicy, FirewallRule
from alcor.model.requests import UNSET
from alcor.services import firewall_access, resources
from alcor.services.callers import Caller
from alcor.services.tagging import check_tags
from alcor.store.interface import Reader, Writer


class ShownFirewallPolicy(msgspec.Struct, frozen=True):
    record: FirewallPolicy
    tags: list[str]


def shown(reader: Reader, policies: list[FirewallPolicy]) -> list[ShownFirewallPolicy]:
    tags = reader.tags_of([policy.id for policy in policies])
    return [ShownFirewallPolicy(policy, tags.get(policy.id, [])) for policy in policies]


def in_use(policy_id: str) -> errors.InUse:
    return errors.InUse(f"Firewall policy {policy_id} is being used.", type="FirewallPolicyInUse")


def _rules_checked(
    reader: Reader,
    caller: Caller,
    policy: FirewallPolicy,
    rule_ids: list[str],
    *,
    shared: bool,
    conflicts: bool,
) -> None:
    """The rules a create or update gives the policy (``shared``: the policy's as sent, or as
    held). As neutron-fwaas, another project's unshared rule (an admin's doing) is refused only
    by an update that does not send ``shared`` (``conflicts``)."""
    for rule_id in rule_ids:
        rule = firewall_access.find(reader, caller, FirewallRule, rule_id)
        if shared and not rule.shared:
            raise fw.rule_sharing_conflict(policy.id, rule.id)
        if conflicts and not rule.shared and rule.project_id != policy.project_id:
            raise fw.rule_conflict(rule)


class FirewallPolicies:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[fw.FirewallPolicyCreate]
    ) -> list[ShownFirewallPolicy]:
        resources.check_bulk(len(requests), self.context.settings)
        for request in requests:
            if isinstance(request.firewall_rules, list):
                fw.check_ids(request.firewall_rules, "firewall_rules")
            firewall_access.check_shared_create(
                caller, request.shared, action="create_firewall_policy"
            )

        def work(writer: Writer) -> list[ShownFirewallPolicy]:
            projects = resources.projects_of(caller, requests)
            self.context.quotas.check(writer, FirewallPolicy.kind, projects)
            now = self.context.now()
            made = []
            for request, project in zip(requests, projects, strict=True):
                name = resources.value_or(request.name, "")
                if name in fw.DEFAULT_POLICIES:
                    raise fw.reserved_name(name, "Firewall Policy")
                policy = FirewallPolicy(
                    id=self.context.new_id(),
                    project_id=project,
                    name=name,
                    description=resources.value_or(request.description, ""),
                    created_at=now,
                    updated_at=now,
                    firewall_rules=request.firewall_rules or [],
                    audited=resources.value_or(request.audited, False),
                    shared=resources.value_or(request.shared, False),
                )
                _rules_checked(
                    writer,
                    caller,
                    policy,
                    policy.firewall_rules,
                    shared=policy.shared,
                    conflicts=False,
                )
                made.append(policy)
                writer.insert([policy])
                if request.tags:
                    writer.set_tags(policy.id, check_tags(request.tags))
            return shown(writer, made)

        return await self.context.store.write(work)

    async def show(self, caller: Caller, policy_id: str) -> ShownFirewallPolicy:
        def work(reader: Reader) -> ShownFirewallPolicy:
            policy = firewall_access.find(reader, caller, FirewallPolicy, policy_id)
            return shown(reader, [policy])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownFirewallPolicy]:
        return await firewall_access.listed(
            self.context, caller, query, FirewallPolicy, shown, held_in="firewall_rules"
        )

    async def update(
        self,
        caller: Caller,
        policy_id: str,
        request: fw.FirewallPolicyUpdate,
        *,
        if_match: int | None,
    ) -> ShownFirewallPolicy:
        sent = {k: v for k, v in msgspec.structs.asdict(request).items() if v is not UNSET}
        if isinstance(request.firewall_rules, list):
            fw.check_ids(request.firewall_rules, "firewall_rules")

        def work(writer: Writer) -> ShownFirewallPolicy:
            policy = firewall_access.owned(
                writer,
                caller,
                FirewallPolicy,
                policy_id,
                action="update_firewall_policy",
                shared_sent="shared" in sent,
            )
            resources.check_revision(policy, if_match)
            if policy.name in fw.DEFAULT_POLICIES:
                raise fw.default_restricted(policy.id)
            if sent.get("shared") is False:
                users = firewall_access.groups_with_policy(writer, policy.id)
                if any(group.project_id != policy.project_id for group in users):
                    raise in_use(policy.id)
            shared = sent.get("shared", policy.shared)
            if "firewall_rules" in sent:
                sent["firewall_rules"] = sent["firewall_rules"] or []
                _rules_checked(
                    writer,
                    caller,
                    policy,
                    sent["firewall_rules"],
                    shared=shared,
                    conflicts="shared" not in sent,
                )
            elif shared:
                for rule_id in policy.firewall_rules:
                    rule = writer.get(FirewallRule, rule_id)
                    if rule is not None and not rule.shared:
                        raise errors.Conflict(
                            "Operation cannot be performed. Before sharing firewall policy "
                            f"{policy.id}, share associated firewall rule {rule.id}.",
                            type="FirewallPolicySharingConflict",
                        )
            changes = {"audited": False, **sent}
            return self._saved(writer, policy, changes)

        return await self.context.store.write(work)

    def _saved(
        self, writer: Writer, policy: FirewallPolicy, changes: dict[str, object]
    ) -> ShownFirewallPolicy:
        updated = resources.revised(policy, self.context.now(), **changes)
        writer.update([updated])
        firewall_access.check_enforceable(
            writer, firewall_access.groups_with_policy(writer, policy.id)
        )
        return shown(writer, [updated])[0]

    async def insert_rule(
        self, caller: Caller, policy_id: str, info: fw.RuleInfo
    ) -> ShownFirewallPolicy:
        def inserting(writer: Writer, policy: FirewallPolicy, rule_id: str) -> list[str]:
            fw.check_not_in(policy.firewall_rules, rule_id, policy_id=policy.id)
            rule = firewall_access.find(writer, caller, FirewallRule, rule_id)
            if not rule.shared and rule.project_id != policy.project_id:
                raise fw.rule_conflict(rule)
            return fw.inserted(policy.firewall_rules, rule_id, info, policy_id=policy.id)

        return await self._rule_action(caller, policy_id, info, "insert_rule", inserting)

    async def remove_rule(
        self, caller: Caller, policy_id: str, info: fw.RuleInfo
    ) -> ShownFirewallPolicy:
        def removing(writer: Writer, policy: FirewallPolicy, rule_id: str) -> list[str]:
            firewall_access.find(writer, caller, FirewallRule, rule_id)
            if rule_id not in policy.firewall_rules:
                raise fw.not_associated(rule_id, policy.id)
            return [r for r in policy.firewall_rules if r != rule_id]

        return await self._rule_action(caller, policy_id, info, "remove_rule", removing)

    async def _rule_action(
        self,
        caller: Caller,
        policy_id: str,
        info: fw.RuleInfo,
        action: str,
        rules_of: Callable[[Writer, FirewallPolicy, str], list[str]],
    ) -> ShownFirewallPolicy:
        def work(writer: Writer) -> ShownFirewallPolicy:
            policy = firewall_access.owned(writer, caller, FirewallPolicy, policy_id, action=action)
            rule_id = fw.rule_id_of(info)
            rules = rules_of(writer, policy, rule_id)
            return self._saved(writer, policy, {"firewall_rules": rules, "audited": False})

        return await self.context.store.write(work)

    async def delete(self, caller: Caller, policy_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            policy = firewall_access.owned(
                writer, caller, FirewallPolicy, policy_id, action="delete_firewall_policy"
            )
            resources.check_revision(policy, if_match)
            if firewall_access.groups_with_policy(writer, policy.id):
                raise in_use(policy.id)
            writer.delete([policy])

        await self.context.store.write(work)
