"""Routing a request to its handler by path segments, and turning every error into Neutron's body.

Starlette's router tries each route's regular expression in turn and wraps the application in
exception middlewares; on a request that takes a few hundred microseconds in all, that was a
third of the time. Here a route is a template of path segments (``{name}`` captures one); a
request finds its candidates in one dict lookup by segment count and first two segments.

A request body is held to ``max_body_size``: a ``Content-Length`` beyond it is refused before a
byte of the body is read, and a body sent without one (chunked) is counted as it arrives and
refused as soon as it passes the limit, so an oversized body is never held whole. Either way the
answer is 413, in Neutron's error body.

The template a request matched is left in its scope (``ROUTE``), for the request metrics.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from alcor.api import faults
from alcor.model import errors

log = logging.getLogger(__name__)

# No stored text may hold NUL (PostgreSQL's text cannot): refused in paths, queries and bodies.
NUL_REFUSED = "Null characters are not allowed in a request."
# How JSON writes NUL: a \u0000 escape whose backslash is not itself escaped.
JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

Handler = Callable[[Request], Awaitable[Response]]
# the scope key under which a request's route template is left (``api.metrics`` reads it)
ROUTE = "alcor.route"
Template = tuple[str, ...]
Key = tuple[int, str, str]


def segments(path: str) -> Template:
    return tuple(part for part in path.split("/") if part)


def _key(parts: Template) -> Key:
    return len(parts), parts[0] if parts else "", parts[1] if len(parts) > 1 else ""


class Dispatcher:
    """An ASGI application: one table of routes, one place where errors become responses."""

    def __init__(self, routes: Iterable[tuple[str, str, Handler]], *, max_body_size: int) -> None:
        self._max_body = max_body_size
        self._routes: dict[Key, list[tuple[Template, dict[str, Handler]]]] = {}
        for method, path, handler in routes:
            self._add(method, segments(path), handler)

    def _add(self, method: str, template: Template, handler: Handler) -> None:
        candidates = self._routes.setdefault(_key(template), [])
        for existing, methods in candidates:
            if existing == template:
                methods[method] = handler
                return
        candidates.append((template, {method: handler}))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, _limited(receive, self._max_body))
        try:
            _check_length(request, self._max_body)
            response = await self._handle(request, scope)
        except errors.AlcorError as error:
            response = faults.from_error(error)
        except Exception as error:
            response = faults.bug(request, error)
        await response(scope, receive, send)

    async def _handle(self, request: Request, scope: Scope) -> Response:
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            raise errors.InvalidInput(NUL_REFUSED)
        parts = segments(scope["path"])
        found = None
        if parts and parts[-1].endswith(".json"):  # a format suffix, as Neutron takes it
            found = self._find((*parts[:-1], parts[-1].removesuffix(".json")))
        found = found or self._find(parts)
        if found is None:
            raise errors.NotFound("The resource could not be found.")
        template, methods, params = found
        scope[ROUTE] = template
        handler = methods.get(scope["method"])
        if handler is None:
            allowed = ", ".join(sorted(methods))
            raise errors.MethodNotAllowed(
                f"The method is not allowed for this resource: {allowed}."
            )
        scope["path_params"] = params
        return await handler(request)

    def _find(self, parts: Template) -> tuple[Template, dict[str, Handler], dict[str, str]] | None:
        for template, methods in self._routes.get(_key(parts), ()):
            params = _match(template, parts)
            if params is not None:
                return template, methods, params
        return None


def _too_large(limit: int) -> errors.RequestTooLarge:
    return errors.RequestTooLarge(f"Request is too large. Larger than {limit}.")


def _check_length(request: Request, limit: int) -> None:
    """Refuse a body its ``Content-Length`` says is too large, before reading any of it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise _too_large(limit)


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that counts the body's bytes and refuses it once they pass ``limit``."""
    received = 0

    async def receive_limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    return receive_limited


def _match(template: Template, parts: Template) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for pattern, part in zip(template, parts, strict=True):
        if pattern.startswith("{"):
            params[pattern[1:-1]] = part
        elif pattern != part:
            return None
    return params
