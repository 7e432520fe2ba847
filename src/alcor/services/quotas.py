"""The quota manager (``quotas``, ``quota_details``): per-project limits shown, set and reset.

As Neutron's policy has it: a project's member reads its own limits, defaults and usage; only an
admin reads another project's, lists the projects that have overrides, or changes them. A new
limit below what the project already uses is refused (400) unless the PUT says ``force``. An
override is a write like any other: it goes through the writer and the change log.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from alcor.model import errors, quotas
from alcor.services import resources
from alcor.services.callers import Caller
from alcor.store.interface import Reader, Writer


class Usage(msgspec.Struct, frozen=True, gc=False):
    """One resource in ``/details``, with Neutron's keys in Neutron's order."""

    limit: int
    used: int
    reserved: int = 0  # reservations are Neutron's; here a create is counted when it commits


class ProjectQuota(msgspec.Struct, frozen=True):
    project_id: str
    limits: dict[str, int]


class Quotas:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    def _limits(self, reader: Reader, project_id: str) -> dict[str, int]:
        return quotas.merged(self.context.quotas.defaults, reader.quota_limits(project_id))

    async def query(self, caller: Caller) -> list[ProjectQuota]:
        """The projects that have overrides, with all their limits."""
        _require_admin(caller, "get_quota")
        defaults = self.context.quotas.defaults

        def work(reader: Reader) -> list[ProjectQuota]:
            return [
                ProjectQuota(project_id, quotas.merged(defaults, overrides))
                for project_id, overrides in reader.all_quota_limits().items()
            ]

        return await self.context.store.read(work)

    async def show(self, caller: Caller, project_id: str) -> dict[str, int]:
        _check_may_read(caller, project_id)
        return await self.context.store.read(lambda reader: self._limits(reader, project_id))

    async def defaults(self, caller: Caller, project_id: str) -> dict[str, int]:
        _check_may_read(caller, project_id)
        return dict(self.context.quotas.defaults)

    async def details(self, caller: Caller, project_id: str) -> dict[str, Usage]:
        if project_id != caller.project_id and not caller.is_admin:
            raise errors.NotAuthorized(
                "User does not have admin privileges: Only admin is authorized to access quotas "
                "for another project.",
                type="AdminRequired",
            )

        def work(reader: Reader) -> dict[str, Usage]:
            used = reader.resource_counts(project_id)
            limits = self._limits(reader, project_id)
            return {name: Usage(limit, used.get(name, 0)) for name, limit in limits.items()}

        return await self.context.store.read(work)

    async def update(
        self, caller: Caller, project_id: str, body: Mapping[str, object]
    ) -> dict[str, int]:
        """Set some of the project's limits (the ``quota`` object of a PUT)."""
        _require_admin(caller, "update_quota")
        update = quotas.parse_update(body)
        limits = self.context.quotas

        def work(writer: Writer) -> dict[str, int]:
            if not update.force:
                for resource, limit in update.limits.items():
                    used = writer.usage(project_id, resource)
                    quotas.check_not_below_usage(resource, limit, used)
            current = limits.overrides(writer, project_id)
            wanted = {**current, **update.limits}
            if wanted != current:
                limits.replace(writer, project_id, wanted)
            return limits.limits(writer, project_id)

        return await self.context.store.write(work)

    async def reset(self, caller: Caller, project_id: str) -> None:
        """Back to the defaults: the project's overrides go (404 if it has none)."""
        _require_admin(caller, "delete_quota")

        def work(writer: Writer) -> None:
            if not self.context.quotas.overrides(writer, project_id):
                raise errors.NotFound(
                    f"Quota for project {project_id} could not be found.",
                    type="TenantQuotaNotFound",
                )
            self.context.quotas.replace(writer, project_id, {})

        await self.context.store.write(work)


def _policy_refuses(rule: str) -> errors.NotAuthorized:
    return errors.policy_refuses(f"rule:{rule}")


def _require_admin(caller: Caller, rule: str) -> None:
    if not caller.is_admin:
        raise _policy_refuses(rule)


def _check_may_read(caller: Caller, project_id: str) -> None:
    if project_id != caller.project_id and not caller.is_admin:
        raise _policy_refuses("get_quota")
