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
        if not self.is_admin:  # Neutron's API layer refuses it before its policy: a 400
            raise errors.InvalidInput(
                "Specifying 'project_id' or 'tenant_id' other than the authenticated project "
                "in request is not allowed for current user."
            )
        return requested

    def require_admin(self, attribute: str, *, action: str = "") -> None:
        """Refuse a member's setting of an admin-only attribute as Neutron's policy engine
        does: ``action`` is the operation (``create_network``), whose rule names the refusal."""
        if not self.is_admin:
            raise _disallowed(attribute, action)

    def require_owner(self, record: Record, attribute: str, *, action: str) -> None:
        """Refuse the setting of an attribute Neutron's policy leaves to the owner of
        ``record`` (a port's ``port_security_enabled``: its network's owner) or an admin."""
        if not self.owns(record):
            raise _disallowed(attribute, action)


def _disallowed(attribute: str, action: str) -> errors.NotAuthorized:
    rule = f"(rule:{action} and rule:{action}:{attribute})" if action else f"rule:{attribute}"
    return errors.policy_refuses(rule)
