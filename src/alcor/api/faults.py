"""The one place errors become HTTP responses, in Neutron's body format:

    {"NeutronError": {"type": "PortNotFound", "message": "...", "detail": ""}}

Client errors come from ``alcor.model.errors``; a body that does not decode, or decodes to the
wrong types, is a 400. Anything else is a bug: logged with its traceback, answered with a 500
that says nothing of the internals.
"""

from __future__ import annotations

import logging
import re

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alcor.model import errors

log = logging.getLogger(__name__)

_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")


def neutron_error(
    status: int, type_: str, message: str, detail: str = "", headers: dict[str, str] | None = None
) -> Response:
    body = msgspec.json.encode(
        {"NeutronError": {"type": type_, "message": message, "detail": detail}}
    )
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def from_error(error: errors.AlcorError) -> Response:
    headers = None
    if isinstance(error, errors.Unavailable):
        headers = {"Retry-After": str(error.retry_after)}
    return neutron_error(error.status, error.type, error.message, error.detail, headers)


def bad_body(error: msgspec.MsgspecError) -> errors.InvalidInput:
    """A body msgspec refused: unknown attribute, wrong type, missing attribute, bad JSON."""
    text = str(error)
    unknown = _UNKNOWN_FIELD.search(text)
    if unknown:
        return errors.InvalidInput(f"Unrecognized attribute(s) '{unknown.group('field')}'")
    if isinstance(error, msgspec.DecodeError) and not isinstance(error, msgspec.ValidationError):
        return errors.InvalidInput(f"Malformed request body: {text}")
    return errors.InvalidInput(f"Invalid input for operation: {text}.")


def bug(request: Request, error: Exception) -> Response:
    log.error("request %s %s failed", request.method, request.url.path, exc_info=error)
    return neutron_error(
        500,
        "HTTPInternalServerError",
        "Request Failed: internal server error while processing your request.",
    )
