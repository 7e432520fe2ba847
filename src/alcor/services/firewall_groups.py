"""The firewall group manager (``fwaas_v2``): ports filtered by an ingress and an egress policy.

As neutron-fwaas: a group's policies must be seen by the caller (``FirewallPolicyNotFound``)
and be its project's or shared (``FirewallPolicyConflict``, a 404); its ports are router
interfaces or bound VM ports (``FirewallGroupPortInvalid``; a VM port unbound or without port
security, which its host's filtering needs: ``FirewallGroupPortNotSupported``), each in one
group at most (``FirewallGroupPortInUse``). No
other group is named ``default``; the default group's policies, name, description and state are
kept (an admin may change all but its name), its ports may change; only an admin deletes it,
and its policies with it. A group with ports is not deleted (``FirewallGroupInUse``).
``status`` is ``INACTIVE`` while the group has no port or no policy, else ``ACTIVE`` (this
controller programs it with the hosts' goal states and does not wait for them). A deleted port
leaves its group.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from alcor.model import errors
from alcor.model import firewalls as fw
from alcor.model.queries import Query
from alcor.model.records import FirewallGroup, FirewallPolicy, Port
from alcor.model.requests import UNSET
from alcor.services import (
    firewall_access,
    firewall_defaults,
    firewall_policies,
    resources,
)
from alcor.services.callers import Caller
from alcor.services.tagging import check_tags
from alcor.store.interface import Reader, Writer

_POLICIES = ("ingress_firewall_policy_id", "egress_firewall_policy_id")
_DEFAULT_KEPT = ("name", "description", "admin_state_up", *_POLICIES)


class ShownFirewallGroup(msgspec.Struct, frozen=True):
    record: FirewallGroup
    tags: list[str]


def shown(reader: Reader, groups: list[FirewallGroup]) -> list[ShownFirewallGroup]:
    tags = reader.tags_of([group.id for group in groups])
    return [ShownFirewallGroup(group, tags.get(group.id, [])) for group in groups]


def status(group: FirewallGroup) -> str:
    active = group.ports and (group.ingress_firewall_policy_id or group.egress_firewall_policy_id)
    return "ACTIVE" if active else "INACTIVE"


def _check_policies(
    reader: Reader, caller: Caller, project_id: str, sent: dict[str, object]
) -> None:
    for name in _POLICIES:
        policy_id = sent.get(name)
        if isinstance(policy_id, str):
            policy = firewall_access.find(reader, caller, FirewallPolicy, policy_id)
            if policy.project_id != project_id and not policy.shared:
                raise errors.NotFound(
                    f"Operation cannot be performed since firewall policy {policy_id} for your "
                    "project could not be found. Please confirm if the firewall policy exists "
                    "and is shared.",
                    type="FirewallPolicyConflict",
                )


def _check_ports(reader: Reader, caller: Caller, port_ids: list[str], group_id: str) -> None:
    for port_id in port_ids:
        port = resources.find(reader, caller, Port, port_id)
        if port.device_owner in fw.ROUTER_INTERFACE_OWNERS:
            continue
        if not port.device_owner.startswith(fw.COMPUTE_PREFIX):
            raise errors.Conflict(
                f"Port {port_id} of firewall group is invalid.", type="FirewallGroupPortInvalid"
            )
        if not port.binding_host_id or not port.port_security_enabled:
            raise _not_supported(port_id)
    held = reader.firewall_group_ports(port_ids)
    taken = [port_id for port_id in port_ids if held.get(port_id, group_id) != group_id]
    if taken:
        raise errors.InUse(
            f"Port(s) {taken!r} provided already associated with other firewall group(s).",
            type="FirewallGroupPortInUse",
        )


def _not_supported(port_id: str, detail: str = "") -> errors.Conflict:
    return errors.Conflict(
        f"Port {port_id} is not supported by firewall driver '{fw.DRIVER}'.",
        type="FirewallGroupPortNotSupported",
        detail=detail,
    )


def check_filterable(reader: Reader, port: Port) -> None:
    """A VM port in a group keeps its port security (its host filters it with it): turning it
    off is refused, rather than leaving the group's rules unenforced on it."""
    group_id = reader.firewall_group_ports([port.id]).get(port.id)
    if group_id is not None and port.device_owner not in fw.ROUTER_INTERFACE_OWNERS:
        raise _not_supported(
            port.id,
            f"The port is in firewall group {group_id}, which its host enforces with the "
            "port's security: remove it from the group first.",
        )


def release_ports(writer: Writer, port_ids: Sequence[str], now: str) -> None:
    """Deleted ports leave their groups (neutron-fwaas's association goes with the port)."""
    gone = set(port_ids)
    for group_id in sorted(set(writer.firewall_group_ports(port_ids).values())):
        group = writer.get(FirewallGroup, group_id)
        if group is not None:
            kept = msgspec.structs.replace(group, ports=[p for p in group.ports if p not in gone])
            writer.update([resources.revised(kept, now, status=status(kept))])


class FirewallGroups:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[fw.FirewallGroupCreate]
    ) -> list[ShownFirewallGroup]:
        resources.check_bulk(len(requests), self.context.settings)
        sents = [_sent(request) for request in requests]
        for request in requests:
            firewall_access.check_shared_create(
                caller, request.shared, action="create_firewall_group"
            )

        def work(writer: Writer) -> list[ShownFirewallGroup]:
            projects = resources.projects_of(caller, requests)
            self.context.quotas.check(writer, FirewallGroup.kind, projects)
            now = self.context.now()
            made = []
            for request, sent, project in zip(requests, sents, projects, strict=True):
                _check_policies(writer, caller, project, sent)
                ports = request.ports or []
                _check_ports(writer, caller, ports, "")
                name = resources.value_or(request.name, "")
                if name == fw.DEFAULT_GROUP:
                    raise fw.reserved_name(name, "Firewall Group")
                firewall_defaults.ensure(writer, self.context, project)
                group = FirewallGroup(
                    id=self.context.new_id(),
                    project_id=project,
                    name=name,
                    description=resources.value_or(request.description, ""),
                    created_at=now,
                    updated_at=now,
                    ports=ports,
                    ingress_firewall_policy_id=request.ingress_firewall_policy_id or None,
                    egress_firewall_policy_id=request.egress_firewall_policy_id or None,
                    admin_state_up=resources.value_or(request.admin_state_up, True),
                    shared=resources.value_or(request.shared, False),
                )
                group = msgspec.structs.replace(group, status=status(group))
                writer.insert([group])
                firewall_access.check_enforceable(writer, [group])
                if request.tags:
                    writer.set_tags(group.id, check_tags(request.tags))
                made.append(group)
            return shown(writer, made)

        return await self.context.store.write(work)

    async def show(self, caller: Caller, group_id: str) -> ShownFirewallGroup:
        def work(reader: Reader) -> ShownFirewallGroup:
            return shown(reader, [firewall_access.find(reader, caller, FirewallGroup, group_id)])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownFirewallGroup]:
        return await firewall_access.listed(
            self.context, caller, query, FirewallGroup, shown, held_in="ports"
        )

    async def update(
        self,
        caller: Caller,
        group_id: str,
        request: fw.FirewallGroupUpdate,
        *,
        if_match: int | None,
    ) -> ShownFirewallGroup:
        sent = _sent(request)

        def work(writer: Writer) -> ShownFirewallGroup:
            group = firewall_access.owned(
                writer,
                caller,
                FirewallGroup,
                group_id,
                action="update_firewall_group",
                shared_sent="shared" in sent,
            )
            resources.check_revision(group, if_match)
            _check_policies(writer, caller, group.project_id, sent)
            if "ports" in sent:
                sent["ports"] = ports = request.ports or []
                _check_ports(writer, caller, ports, group.id)
            if sent.get("name") == fw.DEFAULT_GROUP:
                raise fw.reserved_name(fw.DEFAULT_GROUP, "Firewall Group")
            if firewall_defaults.is_default(group):
                kept = ("name",) if caller.is_admin else _DEFAULT_KEPT
                if any(name in sent for name in kept):
                    raise fw.default_restricted(group.id)
            changed = msgspec.structs.replace(group, **sent)
            updated = resources.revised(changed, self.context.now(), status=status(changed))
            writer.update([updated])
            firewall_access.check_enforceable(writer, [updated])
            return shown(writer, [updated])[0]

        return await self.context.store.write(work)

    async def delete(self, caller: Caller, group_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            group = firewall_access.owned(
                writer, caller, FirewallGroup, group_id, action="delete_firewall_group"
            )
            resources.check_revision(group, if_match)
            if group.ports:
                raise errors.InUse(
                    f"Firewall group {group.id} is still active.", type="FirewallGroupInUse"
                )
            if not firewall_defaults.is_default(group):
                writer.delete([group])
                return
            if not caller.is_admin:
                raise errors.InUse(
                    "Deleting default firewall group not allowed.",
                    type="FirewallGroupCannotRemoveDefault",
                )
            writer.delete([group])
            for policy_id in (group.ingress_firewall_policy_id, group.egress_firewall_policy_id):
                policy = writer.get(FirewallPolicy, policy_id or "")
                if policy is not None:
                    if firewall_access.groups_with_policy(writer, policy.id):
                        raise firewall_policies.in_use(policy.id)
                    writer.delete([policy])

        await self.context.store.write(work)


def _sent(request: fw.FirewallGroupUpdate) -> dict[str, object]:
    """What the request sets, each id checked as neutron-lib's validators check it."""
    sent = {k: v for k, v in msgspec.structs.asdict(request).items() if v is not UNSET}
    for name in ("project_id", "tenant_id", "tags"):
        sent.pop(name, None)
    for name in _POLICIES:
        if isinstance(sent.get(name), str):
            fw.check_id(str(sent[name]), name)
    if isinstance(request.ports, list):
        fw.check_ids(request.ports, "ports")
    return sent
