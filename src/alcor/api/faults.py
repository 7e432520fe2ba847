"""The one place errors become HTTP responses, in Neutron's body format:

    {"NeutronError": {"type": "PortNotFound", "message": "...", "detail": ""}}

Client errors come from ``alcor.model.errors``; a body that does not decode, or decodes to the
wrong types, is a 400, whatever part of decoding refused it (``BODY_ERRORS``: msgspec, a body
nested deeper than the decoder recurses, bytes that are not UTF-8). Anything else is a bug:
logged with its traceback, answered with a 500 that says nothing of the internals.
"""

from __future__ import annotations

import logging
import re

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alcor.model import errors

log = logging.getLogger(__name__)

BODY_ERRORS = (msgspec.MsgspecError, RecursionError, UnicodeDecodeError)
"""What decoding a request body may raise: all of them are the client's error."""

_MISSING_FIELD = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")
_TOO_LONG = re.compile(r"Expected `str` of length <= (?P<limit>\d+) - at `\$(?P<path>[^`]*)`")
_PAIRS = re.compile(  # allowed_address_pairs not a list, or an item of it not an object
    r"Expected `(?P<expected>array|object)( \| null)?`, got `[^`]+` - at "
    r"`\$(?P<path>[^`]*\.allowed_address_pairs(?P<item>\[\d+\])?)`"
)
_STEP = re.compile(r"\.(?P<key>[^.\[]+)|\[(?P<index>\d+)\]")
_ECHOED = 1024  # a longer value is shown cut, not sent back whole


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


def bad_body(error: Exception, body: bytes | msgspec.Raw | None = None) -> errors.InvalidInput:
    """A body decoding refused (one of ``BODY_ERRORS``): unknown attribute, wrong type, missing
    attribute, a string too long, bad JSON, nesting too deep, not UTF-8. ``body`` is what was
    decoded: a string too long is quoted from it, as Neutron quotes it."""
    if isinstance(error, RecursionError):
        return errors.InvalidInput("Malformed request body: JSON nested too deeply.")
    if isinstance(error, UnicodeDecodeError):
        return errors.InvalidInput("Malformed request body: not valid UTF-8.")
    text = str(error)
    unknown = _UNKNOWN_FIELD.search(text)
    if unknown:
        return errors.InvalidInput(f"Unrecognized attribute(s) '{unknown.group('field')}'")
    missing = _MISSING_FIELD.fullmatch(text)
    if missing:  # at the top of the resource (one nested deeper says where)
        return errors.InvalidInput(
            f"Failed to parse request. Required attribute '{missing.group('field')}' not specified"
        )
    pairs = _PAIRS.search(text)
    if pairs and (pairs.group("expected") == "object") == bool(pairs.group("item")):
        return _address_pairs(pairs.group("path"), body)
    too_long = _TOO_LONG.search(text)
    if too_long:
        return _too_long(too_long.group("path"), int(too_long.group("limit")), body)
    if isinstance(error, msgspec.DecodeError) and not isinstance(error, msgspec.ValidationError):
        return errors.InvalidInput(f"Malformed request body: {text}")
    return errors.InvalidInput(f"Invalid input for operation: {text}.")


def _too_long(path: str, limit: int, body: bytes | msgspec.Raw | None) -> errors.InvalidInput:
    """Neutron's ``validate_string`` message, naming the top-level attribute at ``path``
    (``$.name``, ``$[3].device_id``, ``$.tags[0]``) and quoting its value, cut if long."""
    steps = [(m.group("key"), m.group("index")) for m in _STEP.finditer(path)]
    attribute = next((key for key, _ in steps if key is not None), "operation")
    value = _value_at(body, steps)
    if value is None:
        reason = f"the value exceeds maximum length of {limit}."
    else:
        shown = value if len(value) <= _ECHOED else value[:_ECHOED] + "..."
        reason = f"'{shown}' exceeds maximum length of {limit}."
    if attribute == "tags":  # Neutron's tag extension words it as an operation's input
        return errors.InvalidInput(f"Invalid input for operation: {reason}", type="InvalidInput")
    return errors.InvalidInput(f"Invalid input for {attribute}. Reason: {reason}")


def _address_pairs(path: str, body: bytes | msgspec.Raw | None) -> errors.InvalidInput:
    """Neutron's words for pairs that are not a list, or a pair that is not an object (shown as
    Python shows it: ``'None'``)."""
    if not path.endswith("]"):
        return errors.InvalidInput("Allowed address pairs must be a list.")
    steps = [(m.group("key"), m.group("index")) for m in _STEP.finditer(path)]
    found, value = _node_at(body, steps)
    shown = str(value) if found else "?"
    return errors.InvalidInput(
        f"Invalid input for allowed_address_pairs. Reason: '{shown}' is not a dictionary."
    )


def _value_at(
    body: bytes | msgspec.Raw | None, steps: list[tuple[str | None, str | None]]
) -> str | None:
    """The string at ``steps`` in the JSON ``body``, if it can be found there."""
    found, node = _node_at(body, steps)
    return node if found and isinstance(node, str) else None


def _node_at(
    body: bytes | msgspec.Raw | None, steps: list[tuple[str | None, str | None]]
) -> tuple[bool, object]:
    """Whether there is a value at ``steps`` in the JSON ``body``, and which."""
    if body is None:
        return False, None
    try:
        node: object = msgspec.json.decode(body)
    except BODY_ERRORS:
        return False, None
    for key, index in steps:
        if key is not None and isinstance(node, dict) and key in node:
            node = node[key]
        elif index is not None and isinstance(node, list) and int(index) < len(node):
            node = node[int(index)]
        else:
            return False, None
    return True, node


def bug(request: Request, error: Exception) -> Response:
    log.error("request %s %s failed", request.method, request.url.path, exc_info=error)
    return neutron_error(
        500,
        "HTTPInternalServerError",
        "Request Failed: internal server error while processing your request.",
    )
