"""The quota limits in force and the one check every create passes, in the writer's memory.

Like the allocation state, this is touched only from inside a write: a project's overrides are
read from the store on first use, changed only through ``replace`` (which writes them and
registers the inverse as an undo), and a check compares the writer's in-memory usage count with
the limit, so even a bulk of ten thousand ports costs a few dict lookups, never a COUNT.

As in Neutron, a check is made where the API creates resources (the request's own resources,
counted before anything is made) and where a security group is made with its template rules;
what the system makes on the side (a project's default group, a router's ports) is counted
toward usage but never refused for the group's own quota.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from alcor.model import errors, quotas
from alcor.store.interface import Change, Writer


class QuotaLimits:
    def __init__(self, defaults: Mapping[str, int] = quotas.NEUTRON_DEFAULTS) -> None:
        self.defaults = quotas.merged(defaults, {})
        self._overrides: dict[str, dict[str, int]] = {}

    def overrides(self, writer: Writer, project_id: str) -> dict[str, int]:
        found = self._overrides.get(project_id)
        if found is None:
            found = self._overrides[project_id] = writer.quota_limits(project_id)
            writer.on_rollback(lambda: self._forget(project_id))
        return found

    def follow_others(self, changes: Sequence[Change] | None) -> None:
        """Forget the overrides other processes changed (None: every project's)."""
        if changes is None:
            self._overrides.clear()
            return
        for change in changes:
            if change.resource_type == "quota":
                self._overrides.pop(change.resource_id, None)

    def _forget(self, project_id: str) -> None:
        self._overrides.pop(project_id, None)

    def limits(self, writer: Writer, project_id: str) -> dict[str, int]:
        """Every resource's limit for the project, in Neutron's order."""
        return quotas.merged(self.defaults, self.overrides(writer, project_id))

    def check(self, writer: Writer, kind: str, projects: Iterable[str]) -> None:
        """Creating one resource of ``kind`` for each project listed (a project appears once per
        resource) must keep every project within its limit, else OverQuota and nothing is made."""
        for project_id, wanted in Counter(projects).items():
            limit = self.overrides(writer, project_id).get(kind, self.defaults[kind])
            if limit == quotas.UNLIMITED:
                continue
            if quotas.exceeds(limit, used=writer.usage(project_id, kind), wanted=wanted):
                raise errors.OverQuota.resources([kind])

    def replace(self, writer: Writer, project_id: str, overrides: Mapping[str, int]) -> None:
        """Set the project's overrides (empty: back to the defaults), in the store and here."""
        before = self.overrides(writer, project_id)
        writer.set_quota_limits(project_id, overrides)
        self._overrides[project_id] = dict(overrides)
        writer.on_rollback(lambda: self._overrides.__setitem__(project_id, before))
