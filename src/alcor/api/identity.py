"""Who a request acts as, from the headers Keystone's middleware passes on.

Without identity headers (the default ``noauth`` mode) a request acts as admin of the default
project, as Neutron's noauth does, so plain openstacksdk and CLI calls work. With
``X-Project-Id`` it acts as that project: a member unless ``X-Roles`` includes ``admin``.
In ``keystone`` mode these headers are those auth_token set from the validated token, and a
request reaches this edge only with a project (``api/keystone.py``).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request

from alcor.services.callers import Caller
from alcor.services.controller import Controller


def caller_from(headers: Headers, *, default_project: str) -> Caller:
    project = headers.get("x-project-id") or headers.get("x-tenant-id")
    if not project:
        return Caller(project_id=default_project, roles=frozenset({"admin"}))
    roles = frozenset(
        role.strip().lower() for role in headers.get("x-roles", "").split(",") if role.strip()
    )
    return Caller(project_id=project, user_id=headers.get("x-user-id", ""), roles=roles)


def caller_of(request: Request, controller: Controller) -> Caller:
    """The caller of a request, noauth's default project being the controller's."""
    return caller_from(request.headers, default_project=controller.context.settings.default_project)
