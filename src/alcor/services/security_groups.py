"""The security group manager, each project's ``default`` group, and the groups of ports.

As in Neutron: every project has a group named ``default`` made on first use (when the project
first lists its groups, creates a group, or creates a port without naming groups), with rules
made from the templates (``default_security_group_rules``: at first, its members may talk to
each other and reach anywhere). No other group may be called ``default``, the default group
keeps its name, and only an admin may delete it; a project without one gets it again on its next
port update. Any other new group gets the rules of the templates for it (at first, egress to
anywhere). A group a port uses cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import msgspec

from alcor.model import errors, rules
from alcor.model.queries import Query
from alcor.model.records import PARENT_GROUP, Port, SecurityGroup, SecurityGroupRule
from alcor.model.requests import UNSET, PortAttributes, SecurityGroupCreate, SecurityGroupUpdate
from alcor.services import default_security_group_rules, resources, sharing
from alcor.services.callers import Caller
from alcor.services.tagging import check_tags
from alcor.store.interface import Reader, Writer

DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"
TRUSTED_OWNER_PREFIX = "network:"  # router interfaces, DHCP: no security groups by default
T = TypeVar("T")


class ShownRule(msgspec.Struct, frozen=True):
    record: SecurityGroupRule


class ShownSecurityGroup(msgspec.Struct, frozen=True):
    record: SecurityGroup
    tags: list[str]
    rules: list[ShownRule]
    shared: bool = False  # as the viewer sees it: shared with its project or every project


def is_default(group: SecurityGroup) -> bool:
    return group.name == DEFAULT_NAME


def find_default(reader: Reader, project_id: str) -> SecurityGroup | None:
    query = Query(filters={"project_id": (project_id,), "name": (DEFAULT_NAME,)}, limit=1)
    found = reader.select(SecurityGroup, query)
    return found[0] if found else None


def ensure_default(writer: Writer, context: resources.Context, project_id: str) -> str:
    """The id of the project's default group, made with its rules if it has none yet. Known
    once, it is remembered (a port create without groups asked the database every time)."""
    remembered = context.default_groups.get(project_id)
    if remembered is not None:
        return remembered
    group = find_default(writer, project_id)
    if group is None:
        group = new_group(context, project_id, name=DEFAULT_NAME, description=DEFAULT_DESCRIPTION)
        insert_group(writer, context, group, default_group=True)
    context.default_groups.remember(writer, project_id, group.id)
    return group.id


def insert_group(
    writer: Writer, context: resources.Context, group: SecurityGroup, *, default_group: bool
) -> None:
    """A new group with its template rules. As in Neutron, the project must have room for the
    rules; the group itself counts toward its quota but is checked only by the API's create."""
    template = group_rules(context, writer, group, default_group=default_group)
    context.quotas.check(writer, SecurityGroupRule.kind, [group.project_id] * len(template))
    writer.insert([group])
    writer.insert(template)


def new_group(
    context: resources.Context,
    project_id: str,
    *,
    name: str,
    description: str = "",
    stateful: bool = True,
) -> SecurityGroup:
    now = context.now()
    return SecurityGroup(
        id=context.new_id(),
        project_id=project_id,
        name=name,
        description=description,
        created_at=now,
        updated_at=now,
        stateful=stateful,
    )


def group_rules(
    context: resources.Context, writer: Writer, group: SecurityGroup, *, default_group: bool
) -> list[SecurityGroupRule]:
    """The rules of a new group: one per template for its kind of group (``PARENT``: itself)."""
    made = []
    for template in default_security_group_rules.templates(writer, default_group=default_group):
        rule = default_security_group_rules.as_rule(template)
        if rule.remote_group_id == PARENT_GROUP:
            rule = msgspec.structs.replace(rule, remote_group_id=group.id)
        made.append(rule_record(context, group, rule))
    return made


def rule_record(
    context: resources.Context, group: SecurityGroup, rule: rules.Rule, description: str = ""
) -> SecurityGroupRule:
    now = context.now()
    return SecurityGroupRule(
        id=context.new_id(),
        project_id=group.project_id,
        description=description,
        created_at=now,
        updated_at=now,
        security_group_id=group.id,
        normalized_cidr=rules.normalized_cidr(rule.remote_ip_prefix),
        belongs_to_default_sg=is_default(group),
        **msgspec.structs.asdict(rule),
    )


def _check_name(name: str) -> None:
    if name.lower() == DEFAULT_NAME:
        raise errors.InUse(
            "Default security group already exists.", type="SecurityGroupDefaultAlreadyExists"
        )


def _in_use(group_id: str) -> errors.InUse:
    return errors.InUse(f"Security Group {group_id} in use.", type="SecurityGroupInUse")


def shown_groups(
    reader: Reader, groups: list[SecurityGroup], *, viewer: str | None = None
) -> list[ShownSecurityGroup]:
    """The groups with their tags and rules, and ``shared`` as ``viewer`` sees them (a new
    group is shared with no one)."""
    ids = [group.id for group in groups]
    shared = sharing.shared_among(reader, "security_group", ids, viewer) if viewer else set()
    tags = reader.tags_of(ids)
    by_group: dict[str, list[ShownRule]] = {}
    for rule in rules_of(reader, ids):
        by_group.setdefault(rule.security_group_id, []).append(ShownRule(rule))
    return [
        ShownSecurityGroup(g, tags.get(g.id, []), by_group.get(g.id, []), g.id in shared)
        for g in groups
    ]


def rules_of(reader: Reader, group_ids: Iterable[str]) -> list[SecurityGroupRule]:
    found: list[SecurityGroupRule] = []
    ids = list(group_ids)
    for start in range(0, len(ids), 500):
        chunk = tuple(ids[start : start + 500])
        found += reader.select(SecurityGroupRule, Query(filters={"security_group_id": chunk}))
    return found


class SecurityGroups:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[SecurityGroupCreate]
    ) -> list[ShownSecurityGroup]:
        resources.check_bulk(len(requests), self.context.settings)

        def work(writer: Writer) -> list[ShownSecurityGroup]:
            quota_projects = resources.projects_of(caller, requests)
            self.context.quotas.check(writer, SecurityGroup.kind, quota_projects)
            created = []
            for request in requests:
                project = caller.project_for(resources.requested_project(request))
                _check_name(request.name or "")
                ensure_default(writer, self.context, project)
                group = new_group(
                    self.context,
                    project,
                    name=request.name or "",
                    description=request.description or "",
                    stateful=resources.value_or(request.stateful, True),
                )
                insert_group(writer, self.context, group, default_group=False)
                if request.tags:
                    writer.set_tags(group.id, check_tags(request.tags))
                created.append(group)
            return shown_groups(writer, created)

        return await self.context.store.write(work)

    async def show(self, caller: Caller, group_id: str) -> ShownSecurityGroup:
        def work(reader: Reader) -> ShownSecurityGroup:
            group = resources.find(reader, caller, SecurityGroup, group_id)
            return shown_groups(reader, [group], viewer=caller.project_id)[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownSecurityGroup]:
        scoped = resources.scoped(caller, query, shared=True)  # with those shared with it
        return await listed_with_default(
            self.context,
            caller,
            query,
            lambda reader: shown_groups(
                reader, reader.select(SecurityGroup, scoped), viewer=caller.project_id
            ),
        )

    async def update(
        self, caller: Caller, group_id: str, request: SecurityGroupUpdate, *, if_match: int | None
    ) -> ShownSecurityGroup:
        def work(writer: Writer) -> ShownSecurityGroup:
            group = resources.owned(writer, caller, SecurityGroup, group_id)
            resources.check_revision(group, if_match)
            sent = msgspec.structs.asdict(request)
            changes = {field: value for field, value in sent.items() if value is not UNSET}
            if "name" in changes:
                _check_name(changes["name"])
                if is_default(group):
                    raise errors.InUse(
                        "Updating default security group not allowed.",
                        type="SecurityGroupCannotUpdateDefault",
                    )
            stateful_changes = changes.get("stateful", group.stateful) != group.stateful
            if stateful_changes and writer.security_group_ports(group.id):
                raise _in_use(group.id)
            updated = resources.revised(group, self.context.now(), **changes)
            writer.update([updated])
            return shown_groups(writer, [updated], viewer=caller.project_id)[0]

        return await self.context.store.write(work)

    async def delete(self, caller: Caller, group_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            group = resources.owned(writer, caller, SecurityGroup, group_id)
            resources.check_revision(group, if_match)
            if writer.security_group_ports(group.id):
                raise _in_use(group.id)
            if is_default(group) and not caller.is_admin:
                raise errors.InUse(
                    "Insufficient rights for removing default security group.",
                    type="SecurityGroupCannotRemoveDefault",
                )
            # Its own rules, and the rules of other groups that name it as their remote group.
            own = rules_of(writer, [group.id])
            remote = writer.select(
                SecurityGroupRule, Query(filters={"remote_group_id": (group.id,)})
            )
            writer.delete(list({rule.id: rule for rule in [*own, *remote]}.values()))
            writer.delete(sharing.policies_on(writer, "security_group", group.id))  # cascade
            writer.delete([group])
            if is_default(group):
                self.context.default_groups.forget(writer, group.project_id)

        await self.context.store.write(work)


async def listed_with_default(
    context: resources.Context,
    caller: Caller,
    query: Query,
    select: Callable[[Reader], list[T]],
    *,
    find: Callable[[Reader, str], object | None] = find_default,
    ensure: Callable[[Writer, resources.Context, str], object] = ensure_default,
) -> list[T]:
    """What ``select`` lists, once the project listed has its default group (made on first
    use), as Neutron lists groups and rules (and neutron-fwaas its resources, with ``find``
    and ``ensure`` of its default firewall group): the caller's project, or an admin's first
    ``project_id`` filter."""
    project = _listed_project(caller, query)

    def work(reader: Reader) -> list[T] | None:
        if find(reader, project) is None:
            return None
        return select(reader)

    listed = await context.store.read(work)
    if listed is None:
        await context.store.write(lambda w: ensure(w, context, project))
        listed = await context.store.read(work)
    assert listed is not None
    return listed


def _listed_project(caller: Caller, query: Query) -> str:
    named = query.filters.get("project_id", ())
    if caller.is_admin and named and isinstance(named[0], str):
        return named[0]
    return caller.project_id


class PortGroups:
    """The security groups of ports written in one piece of work, as Neutron's port-security
    extension rules them. Each group is looked up once per piece of work."""

    def __init__(self, writer: Writer, caller: Caller, context: resources.Context) -> None:
        self.writer = writer
        self.caller = caller
        self.context = context
        self._stateful: dict[str, bool] = {}  # group id -> whether it is stateful, as looked up

    def on_create(
        self, request: PortAttributes, *, project_id: str, port_security: bool
    ) -> list[str]:
        """Named groups must exist and be visible; none named: the project's default group,
        unless port security is off or the port is the network's own (router, DHCP)."""
        requested = request.security_groups
        if requested is not UNSET:
            if requested and not port_security:
                raise _security_needed()
            return self._checked_groups(requested)
        owner = request.device_owner if request.device_owner is not UNSET else ""
        if not port_security or owner.startswith(TRUSTED_OWNER_PREFIX):
            return []
        return [ensure_default(self.writer, self.context, project_id)]

    def on_update(self, port: Port, request: PortAttributes) -> list[str]:
        """The port's groups after the update. Port security can be off only on a port without
        groups: disabling it on a port that has some needs clearing them in the same request."""
        port_security = resources.value_or(
            request.port_security_enabled, port.port_security_enabled
        )
        requested = request.security_groups
        if requested is not UNSET and requested and not port_security:
            raise _security_needed()
        if port.project_id:  # Neutron makes it again on every update
            ensure_default(self.writer, self.context, port.project_id)
        groups = port.security_groups if requested is UNSET else self._checked_groups(requested)
        if groups and not port_security:
            raise errors.InUse(
                "Port has security group associated. Cannot disable port security or IP "
                "address until security group is removed.",
                type="PortSecurityPortHasSecurityGroup",
            )
        return groups

    def _checked_groups(self, requested: list[str]) -> list[str]:
        """The groups, each named once and visible to the caller, all stateful or all
        stateless."""
        groups = list(dict.fromkeys(requested))
        if len(groups) != len(requested):
            twice = [g for g in groups if requested.count(g) > 1]
            raise errors.InvalidInput(
                "Invalid input for security_groups. Reason: Duplicate items in the list: "
                f"'{', '.join(twice)}'."
            )
        for group_id in groups:
            if group_id not in self._stateful:
                found = resources.find(self.writer, self.caller, SecurityGroup, group_id)
                self._stateful[group_id] = found.stateful
        if len({self._stateful[group_id] for group_id in groups}) > 1:
            raise errors.Conflict(
                "Error Cannot apply both stateful and stateless security groups on the same "
                "port at the same time while attempting the operation.",
                type="SecurityGroupConflict",
            )
        return groups


def _security_needed() -> errors.InvalidInput:
    return errors.InvalidInput(
        "Port security must be enabled and port must have an IP address in order to use "
        "security groups.",
        type="PortSecurityAndIPRequiredForSecurityGroups",
    )


def check_address_pairs(*, port_security: bool, has_pairs: bool) -> None:
    """Allowed address pairs relax port security: they need it enabled."""
    if has_pairs and not port_security:
        raise errors.Conflict(
            "Port Security must be enabled in order to have allowed address pairs on a port.",
            type="AddressPairAndPortSecurityRequired",
        )
