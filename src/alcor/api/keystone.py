"""Keystone tokens, checked as Neutron checks them: by keystonemiddleware's ``auth_token``.

auth_token is WSGI middleware. Here it wraps a tiny WSGI application that only records the
environ auth_token forwards, and it runs in a small thread pool, off the event loop, once per
request, keeping its own token cache (in process; memcached with ``memcached_servers``).

What it forwards is what we trust. It strips every identity header the client sent
(``X-Project-Id``, ``X-Roles``, ``X-Identity-Status``, ...) and sets them from the validated
token; ``KeystoneAuth`` carries exactly those changes over to the ASGI request, so the identity
edge (``identity.caller_from``) reads only what the token says. A request without a valid token
gets auth_token's own 401 (the body and ``WWW-Authenticate`` header a Neutron behind auth_token
answers), also when ``delay_auth_decision`` lets it through; a valid token not scoped to a
project (domain or system scope) is a 403. Keystone unreachable: auth_token's 503. The version
document (``/``) and ``/openapi.json`` need no token, as Neutron's version root, nor do the
probes (``/healthz``, ``/readyz``).

Configuration is auth_token's own ``[keystone_authtoken]`` options, as in neutron.conf: read
from a file, then overridden by options given on the command line; nothing global.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
from keystoneauth1 import loading
from keystonemiddleware import auth_token
from oslo_config import cfg
from starlette.types import ASGIApp, Receive, Scope, Send

from alcor.api import faults

log = logging.getLogger(__name__)

GROUP = "keystone_authtoken"
# as Neutron's version root, no token needed; nor for the probes (alcor.api.health)
OPEN_PATHS = frozenset({"/", "/openapi.json", "/healthz", "/readyz"})
UNAUTHORIZED = msgspec.json.encode(
    {
        "error": {
            "code": 401,
            "title": "Unauthorized",
            "message": "The request you have made requires authentication.",
        }
    }
)
_CAPTURE = "alcor.forwarded"

Environ = dict[str, Any]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Header = tuple[bytes, bytes]


class KeystoneSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where auth_token's options come from: ``config_file`` (an INI file with a
    ``[keystone_authtoken]`` section), then ``options`` (name, value) over it, in order."""

    config_file: str | None = None
    options: tuple[tuple[str, str], ...] = ()


def configuration(settings: KeystoneSettings) -> cfg.ConfigOpts:
    """auth_token's options in a ConfigOpts of our own. ValueError for an unknown option, a
    value of the wrong type, a file that cannot be read, or no way to reach Keystone."""
    conf = cfg.ConfigOpts()
    files = [settings.config_file] if settings.config_file else []
    try:
        conf([], project="alcor", default_config_files=files, default_config_dirs=[])
        for group, opts in auth_token.list_opts():
            conf.register_opts(opts, group=group)
        # the auth plugin (auth_type) decides which further options exist: it goes first
        for name, value in settings.options:
            if name == "auth_type":
                _override(conf, name, value)
        plugin = conf[GROUP].auth_type
        if not plugin:
            raise ValueError(
                "keystone mode needs a service user to validate tokens with: --keystone-url "
                "and --keystone-username, or auth_type and its options in [keystone_authtoken]"
            )
        conf.register_opts(
            loading.get_auth_plugin_conf_options(loading.get_plugin_loader(plugin)), group=GROUP
        )
        for name, value in settings.options:
            _override(conf, name, value)
        dict(conf[GROUP].items())  # every value converts: a bad one fails now, not on a request
    except (cfg.Error, ValueError) as error:
        raise ValueError(str(error)) from None
    return conf


def _override(conf: cfg.ConfigOpts, name: str, value: str) -> None:
    try:
        conf.set_override(name, value, group=GROUP)
    except cfg.NoSuchOptError:
        raise ValueError(f"unknown [{GROUP}] option {name!r}") from None
    except ValueError as error:
        raise ValueError(f"[{GROUP}] {name} = {value!r}: {error}") from None


class Forwarded(msgspec.Struct, frozen=True):
    """auth_token let the request through: the headers it removed or changed (WSGI names,
    ``HTTP_X_ROLES``) and those it set, as ASGI headers."""

    replaced: frozenset[str]
    headers: list[Header]


class Rejected(msgspec.Struct, frozen=True):
    status: int
    headers: list[Header]
    body: bytes


class TokenValidator:
    """auth_token around a WSGI application that records what it is handed. Thread-safe:
    auth_token keeps no per-request state outside the environ."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._protocol: Callable[[Environ, StartResponse], Iterable[bytes]] = (
            auth_token.AuthProtocol(_record, {"oslo_config_config": conf})
        )

    def check(self, scope: Scope) -> Forwarded | Rejected:
        environ = _environ(scope)
        sent = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
        captured: list[Environ] = []
        environ[_CAPTURE] = captured
        answer: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            answer[:] = [int(status.split(" ", 1)[0]), headers]

        chunks = self._protocol(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if not captured:
            status, headers = answer
            return Rejected(status, [_encoded(k, v) for k, v in headers], body)
        seen = captured[0]
        replaced = {k for k, v in sent.items() if seen.get(k) != v}
        added = {k: v for k, v in seen.items() if sent.get(k) != v}
        return Forwarded(
            frozenset(replaced | set(added)),
            [
                _encoded(k[5:].replace("_", "-").lower(), v)
                for k, v in added.items()
                if isinstance(v, str)  # auth_token sets what a token lacks to None
            ],
        )


def _record(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """The application behind auth_token: a request it let through with a token it did not
    confirm (``delay_auth_decision``) is still a 401; a confirmed one is recorded."""
    if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
        start_response("401 Unauthorized", [("Content-Type", "application/json")])
        return [UNAUTHORIZED]
    environ[_CAPTURE].append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
    start_response("204 No Content", [])
    return []


def _environ(scope: Scope) -> Environ:
    """The WSGI environ of an ASGI request, without its body (auth_token reads headers only)."""
    server = scope.get("server") or ("localhost", 80)
    environ: Environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": scope["path"],
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in scope["headers"]:
        key = _wsgi_name(name)
        text = value.decode("latin-1")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


def _wsgi_name(header: bytes) -> str:
    return "HTTP_" + header.decode("latin-1").upper().replace("-", "_")


def _encoded(name: str, value: str) -> Header:
    return name.lower().encode("latin-1"), value.encode("latin-1")


class KeystoneAuth:
    """ASGI middleware: every request but the open paths carries a token auth_token accepts,
    and reaches the application with the identity headers the token gives, and no others."""

    def __init__(self, app: ASGIApp, validator: TokenValidator, *, threads: int = 8) -> None:
        self.app = app
        self.validator = validator
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="keystone")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        try:
            check = contextvars.copy_context().run  # auth_token's log lines: the request's
            verdict = await loop.run_in_executor(self._pool, check, self.validator.check, scope)
        except Exception:
            log.exception("token validation failed")
            unavailable = b"The Keystone service is temporarily unavailable."
            verdict = Rejected(503, [(b"content-type", b"text/plain")], unavailable)
        if isinstance(verdict, Rejected):
            await _answer(verdict, send)
            return
        headers = [h for h in scope["headers"] if _wsgi_name(h[0]) not in verdict.replaced]
        headers += verdict.headers
        if not any(name == b"x-project-id" for name, _ in headers):
            response = faults.neutron_error(
                403, "HTTPForbidden", "A token scoped to a project is required."
            )
            await response(scope, receive, send)
            return
        await self.app({**scope, "headers": headers}, receive, send)


async def _answer(rejected: Rejected, send: Send) -> None:
    headers = [h for h in rejected.headers if h[0] != b"content-length"]
    headers.append((b"content-length", str(len(rejected.body)).encode()))
    await send({"type": "http.response.start", "status": rejected.status, "headers": headers})
    await send({"type": "http.response.body", "body": rejected.body})
