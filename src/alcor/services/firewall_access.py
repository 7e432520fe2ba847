"""Who sees and changes firewall resources (``fwaas_v2``), as neutron-fwaas's policies say.

A rule, policy or group is seen by its project, by every project when it is ``shared``, and by
admins; one not seen is not found (``FirewallRuleNotFound``, ...). Only its project (or an
admin) changes or deletes it: another project that sees it (shared) is refused, 403, with the
policy's rule named as Neutron's policy engine names it. Only admins set ``shared`` (on create
when true, on update whenever sent) or delete a shared resource. Each project has a ``default``
group (``firewall_defaults``), made when it first lists a firewall resource or creates a group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import msgspec

from alcor.model import errors
from alcor.model import firewalls as fw
from alcor.model.queries import Query
from alcor.model.records import FirewallGroup, FirewallPolicy, FirewallRule, Port
from alcor.services import firewall_defaults, resources, security_groups
from alcor.services.callers import Caller
from alcor.store.interface import Reader

F = TypeVar("F", FirewallRule, FirewallPolicy, FirewallGroup)
T = TypeVar("T")

_NOT_FOUND: dict[str, Callable[[str], errors.NotFound]] = {
    "firewall_rule": fw.rule_not_found,
    "firewall_policy": fw.policy_not_found,
    "firewall_group": fw.group_not_found,
}


def find(reader: Reader, caller: Caller, kind: type[F], resource_id: str) -> F:
    """The resource if the caller sees it (its own, a shared one, or any for admins)."""
    record = reader.get(kind, resource_id)
    if record is None or not (caller.owns(record) or record.shared):
        raise _NOT_FOUND[kind.kind](resource_id)
    return record


def owned(
    reader: Reader,
    caller: Caller,
    kind: type[F],
    resource_id: str,
    *,
    action: str,
    shared_sent: bool = False,
) -> F:
    """The resource if the caller may ``action`` it (``update_firewall_rule``, ``insert_rule``):
    its project's or an admin's; ``shared_sent``: the request sets ``shared``, admins only."""
    record = find(reader, caller, kind, resource_id)
    deleting_shared = action.startswith("delete_") and record.shared
    if caller.is_admin:
        return record
    if shared_sent or deleting_shared:
        raise errors.policy_refuses(f"(rule:{action} and rule:{action}:shared)")
    if not caller.owns(record):
        raise errors.policy_refuses(f"rule:{action}")
    return record


def check_shared_create(caller: Caller, shared: object, *, action: str) -> None:
    """``create_firewall_*:shared``: only admins create a shared resource."""
    if shared is True and not caller.is_admin:
        raise errors.policy_refuses(f"(rule:{action} and rule:{action}:shared)")


def policies_with_rule(reader: Reader, rule_id: str) -> list[FirewallPolicy]:
    """The policies holding the rule (read whole: a policy's rules are a list, not a column)."""
    return [p for p in reader.select(FirewallPolicy, Query()) if rule_id in p.firewall_rules]


def groups_with_policy(reader: Reader, policy_id: str) -> list[FirewallGroup]:
    """The groups using the policy, either way (by their columns)."""
    found: dict[str, FirewallGroup] = {}
    for column in ("ingress_firewall_policy_id", "egress_firewall_policy_id"):
        for group in reader.select(FirewallGroup, Query(filters={column: (policy_id,)})):
            found[group.id] = group
    return sorted(found.values(), key=lambda group: group.id)


def check_enforceable(reader: Reader, groups: Iterable[FirewallGroup]) -> None:
    """A group on a VM port cannot reject (the port's host has no address to answer from on
    the port's network, and this kernel has no bridge reject): a reject rule in its policies
    is refused, as neutron-lib words an action its driver does not take."""
    for group in groups:
        if not any(_is_vm_port(reader, port_id) for port_id in group.ports):
            continue
        for policy_id in (group.ingress_firewall_policy_id, group.egress_firewall_policy_id):
            policy = reader.get(FirewallPolicy, policy_id or "")
            for rule_id in policy.firewall_rules if policy is not None else ():
                rule = reader.get(FirewallRule, rule_id)
                if rule is not None and rule.action == "reject":
                    raise errors.InvalidInput(
                        "Action reject is not supported. Only action values ['allow', 'deny'] "
                        "are supported.",
                        type="FirewallRuleInvalidAction",
                        detail=f"Firewall group {group.id} filters a VM port, whose host "
                        "cannot reject; deny drops.",
                    )


def _is_vm_port(reader: Reader, port_id: str) -> bool:
    port = reader.get(Port, port_id)
    return port is not None and port.device_owner.startswith(fw.COMPUTE_PREFIX)


async def listed(
    context: resources.Context,
    caller: Caller,
    query: Query,
    kind: type[F],
    shown: Callable[[Reader, list[F]], list[T]],
    *,
    held_in: str = "",
) -> list[T]:
    """What the caller sees of ``kind`` (its own and the shared), once the listed project has
    its default group, as neutron-fwaas lists. ``held_in``: a list attribute (a policy's
    ``firewall_rules``, a group's ``ports``) whose filter matches the records holding any of
    its values, matched here rather than in SQL."""
    filters = dict(query.filters)
    wanted = {str(value) for value in filters.pop(held_in, ())} if held_in else set()
    scoped = resources.scoped(caller, msgspec.structs.replace(query, filters=filters), shared=True)

    def select(reader: Reader) -> list[T]:
        found = reader.select(kind, scoped)
        if wanted:
            found = [r for r in found if wanted.intersection(getattr(r, held_in))]
        return shown(reader, found)

    return await security_groups.listed_with_default(
        context, caller, query, select, find=firewall_defaults.find, ensure=firewall_defaults.ensure
    )
