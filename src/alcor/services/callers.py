"""Who is asking: the identity a request acts as, and what it may see and change."""

from __future__ import annotations

import msgspec

from alcor.model import errors
from alcor.model.records import Record


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    project_id: str
    user_id: str = ""
    roles: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def owns(self, record: Record) -> bool:
        return self.is_admin or record.project_id == self.project_id

    def project_for(self, requested: str | None) -> str:
        """The project a new resource belongs to: the caller's, or (admin only) another."""
        if requested is None or requested == self.project_id:
            return self.project_id
        if not self.is_admin:
            raise errors.NotAuthorized(
                "Policy doesn't allow creating a resource for another project."
            )
        return requested

    def require_admin(self, attribute: str, *, action: str = "") -> None:
        """Refuse a member's setting of an admin-only attribute as Neutron's policy engine
        does: ``action`` is the operation (``create_network``), whose rule names the refusal."""
        if self.is_admin:
            return
        rule = f"(rule:{action} and rule:{action}:{attribute})" if action else f"rule:{attribute}"
        raise errors.NotAuthorized(f"{rule} is disallowed by policy", type="PolicyNotAuthorized")
