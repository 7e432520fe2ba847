"""Every HTTP request's id and project, for its log lines, and the access log.

As Neutron's pipeline (oslo.middleware's ``request_id``, outermost but for CORS), each request
gets a fresh ``req-<uuid4>``, returned in ``X-OpenStack-Request-ID`` on every answer, a 401
included; an id a client sends is not taken as this one. ``RequestIds`` keeps the request's
``RequestContext`` in a context variable for the time of the request, which the log filter
(``cli/logs.py``) copies onto every record; ``ProjectOf``, inside the authentication, tells it
the project the request acts as. With the access log on, each request ends with one line on
the ``alcor.access`` logger: method, path (no query), status and duration; never a header or
a body.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alcor.api import identity

HEADER = b"x-openstack-request-id"
access = logging.getLogger("alcor.access")


@dataclass
class RequestContext:
    """The request being handled: its id, and its project once authentication has told it."""

    request_id: str
    project: str = ""


CURRENT: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "alcor_request", default=None
)


def new_id() -> str:
    return f"req-{uuid.uuid4()}"


class RequestIds:
    """The outermost middleware: an id per request, in its answer and in its log lines."""

    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(request_id=new_id())
        token = CURRENT.set(context)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                message["headers"] = [*headers, (HEADER, context.request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log:
                _log_access(scope, status=status, seconds=time.perf_counter() - started)
            CURRENT.reset(token)


def _log_access(scope: Scope, *, status: int, seconds: float) -> None:
    method, path = scope["method"], scope["path"]
    access.info(
        "%s %s %d %.1fms",
        method,
        path,
        status,
        seconds * 1000,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        },
    )


class ProjectOf:
    """Inside the authentication: the project the request acts as, into its context."""

    def __init__(self, app: ASGIApp, *, default_project: str) -> None:
        self.app = app
        self.default_project = default_project

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = CURRENT.get()
        if context is not None and scope["type"] == "http":
            caller = identity.caller_from(
                Headers(scope=scope), default_project=self.default_project
            )
            context.project = caller.project_id
        await self.app(scope, receive, send)
