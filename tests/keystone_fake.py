"""A fake Keystone (identity v3) on loopback: a test double for the token validation that
keystonemiddleware's ``auth_token`` does against a real Keystone.

It answers what auth_token and keystoneauth actually call: version discovery (``GET /`` and
``GET /v3``), ``POST /v3/auth/tokens`` (password, scoped to a project: the service user, and
users of openstacksdk), and ``GET /v3/auth/tokens`` (validate the ``X-Subject-Token``, which needs
a valid ``X-Auth-Token``). Tokens are random strings; their body carries user, project, roles,
expiry and a catalog with the identity endpoints (and the network endpoint, when given), as a
real Keystone's does. An expired or unknown token is a 404 on validation, as in Keystone.
"""

from __future__ import annotations

import datetime
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DOMAIN = {"id": "default", "name": "Default"}


@dataclass(frozen=True)
class User:
    name: str
    password: str
    project: str
    roles: tuple[str, ...]

    @property
    def user_id(self) -> str:
        return f"{self.name}-id"


@dataclass(frozen=True)
class Token:
    user_id: str
    user_name: str
    project_id: str | None  # None: a domain-scoped token, no project
    roles: tuple[str, ...]
    expires_at: datetime.datetime
    issued_at: datetime.datetime


@dataclass
class FakeKeystone:
    network_url: str | None = None
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    validations: list[str] = field(default_factory=list)  # subject tokens, as asked
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_user(self, name: str, password: str, *, project: str, roles: tuple[str, ...]) -> None:
        self.users[name] = User(name, password, project, roles)

    def issue(
        self,
        *,
        project_id: str | None,
        roles: tuple[str, ...],
        user: str = "someone",
        lifetime: float = 3600.0,
    ) -> str:
        """A token as Keystone would hand out after a password authentication."""
        now = datetime.datetime.now(datetime.UTC)
        token_id = "gAAAA" + secrets.token_urlsafe(32)
        self.tokens[token_id] = Token(
            user_id=f"{user}-id",
            user_name=user,
            project_id=project_id,
            roles=roles,
            expires_at=now + datetime.timedelta(seconds=lifetime),
            issued_at=now,
        )
        return token_id

    def start(self) -> FakeKeystone:
        keystone = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                keystone._get(self)

            def do_POST(self) -> None:
                keystone._post(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- the API ------------------------------------------------------------------------

    def _version(self) -> dict[str, Any]:
        return {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{self.url}/v3/"}],
            "media-types": [
                {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
            ],
        }

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0].rstrip("/")
        if path == "":
            _reply(handler, 300, {"versions": {"values": [self._version()]}})
        elif path == "/v3":
            _reply(handler, 200, {"version": self._version()})
        elif path == "/v3/auth/tokens":
            self._validate(handler)
        else:
            _reply(handler, 404, _error(404, "Not Found", "The resource could not be found."))

    def _validate(self, handler: BaseHTTPRequestHandler) -> None:
        if self._valid(handler.headers.get("X-Auth-Token")) is None:
            _reply(handler, 401, _error(401, "Unauthorized", "The request requires a token."))
            return
        subject = handler.headers.get("X-Subject-Token", "")
        self.validations.append(subject)
        token = self._valid(subject)
        if token is None:
            _reply(handler, 404, _error(404, "Not Found", f"Could not find token: {subject}."))
            return
        _reply(handler, 200, self._body(token))

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path.split("?", 1)[0].rstrip("/") != "/v3/auth/tokens":
            _reply(handler, 404, _error(404, "Not Found", "The resource could not be found."))
            return
        length = int(handler.headers.get("Content-Length", "0"))
        auth = json.loads(handler.rfile.read(length))["auth"]
        password = auth["identity"].get("password", {}).get("user", {})
        user = self.users.get(password.get("name", ""))
        if user is None or user.password != password.get("password"):
            _reply(handler, 401, _error(401, "Unauthorized", "The request requires a token."))
            return
        token_id = self.issue(project_id=user.project, roles=user.roles, user=user.name)
        _reply(handler, 201, self._body(self.tokens[token_id]), {"X-Subject-Token": token_id})

    def _valid(self, token_id: str | None) -> Token | None:
        token = self.tokens.get(token_id or "")
        if token is None or token.expires_at <= datetime.datetime.now(datetime.UTC):
            return None
        return token

    def _body(self, token: Token) -> dict[str, Any]:
        body: dict[str, Any] = {
            "methods": ["password"],
            "user": {
                "id": token.user_id,
                "name": token.user_name,
                "domain": DOMAIN,
                "password_expires_at": None,
            },
            "roles": [{"id": f"{role}-id", "name": role} for role in token.roles],
            "expires_at": _time(token.expires_at),
            "issued_at": _time(token.issued_at),
            "audit_ids": [secrets.token_urlsafe(16)],
            "catalog": self._catalog(),
        }
        if token.project_id is None:
            body["domain"] = DOMAIN
        else:
            body["project"] = {"id": token.project_id, "name": token.project_id, "domain": DOMAIN}
            body["is_domain"] = False
        return {"token": body}

    def _catalog(self) -> list[dict[str, Any]]:
        services = [("identity", "keystone", f"{self.url}/v3")]
        if self.network_url:
            services.append(("network", "neutron", self.network_url))
        return [
            {
                "id": f"{name}-service",
                "type": kind,
                "name": name,
                "endpoints": [
                    {
                        "id": f"{name}-{interface}",
                        "interface": interface,
                        "region": "RegionOne",
                        "region_id": "RegionOne",
                        "url": url,
                    }
                    for interface in ("public", "internal", "admin")
                ],
            }
            for kind, name, url in services
        ]


def _time(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _error(code: int, title: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "title": title, "message": message}}


def _reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)
