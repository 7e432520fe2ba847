"""The controller's REST API (Neutron's), over one keep-alive connection per invocation.

With ``credentials`` (a JSON file: ``auth_url`` and either ``username``/``password`` with the
project and domains, or ``application_credential_id``/``application_credential_secret``) it
sends a Keystone token, kept in the state directory (mode 0600) until shortly before it
expires, so most invocations ask Keystone nothing. Without, the controller must run in
``noauth`` mode. Its errors become the spec's: unreachable or failing (5xx) is "try again
later", a refusal (4xx) carries Neutron's message.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.parse
from pathlib import Path
from typing import Any

from alcor.cni.errors import INVALID_CONFIG, REFUSED, TRY_AGAIN_LATER, CniError

TIMEOUT = 10.0  # seconds, each request
RECENT = 10.0  # seconds a remembered answer is used (``Recent``)
TOKEN_MARGIN = 300.0  # a cached token is renewed this long before it expires


class NotFound(Exception):
    pass


class Recent:
    """The answers of the GETs an ADD makes for what rarely changes (the network, its subnets,
    groups named in the configuration), kept ``seconds`` and shared by the daemon's
    controllers of one API: pods of one network ADDed together ask for them once. A pod's
    interface is made as an ADD of up to ``seconds`` earlier would have made it (a changed
    subnet's routes, like a renamed network, reach ADDs after that); an ADD that fails forgets
    them all, so the runtime's retry asks afresh."""

    def __init__(self, seconds: float = RECENT) -> None:
        self.seconds = seconds
        self._answers: dict[str, tuple[float, Any]] = {}

    def get(self, path: str) -> Any | None:
        found = self._answers.get(path)
        if found is None or time.monotonic() - found[0] > self.seconds:
            return None
        return found[1]

    def put(self, path: str, answer: Any) -> None:
        self._answers[path] = (time.monotonic(), answer)

    def forget(self) -> None:
        self._answers.clear()


class Controller:
    def __init__(
        self, api: str, *, credentials: str = "", state_dir: str = "", recent: Recent | None = None
    ) -> None:
        self.api = api
        self.recent = recent or Recent()
        url = urllib.parse.urlsplit(api)
        self._https = url.scheme == "https"
        self._netloc = url.netloc
        self._base = url.path.rstrip("/")
        self._credentials = credentials
        self._state_dir = state_dir
        self._connection: http.client.HTTPConnection | None = None
        self._token = ""

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def get(self, path: str, **query: str | list[str]) -> Any:
        return self._request("GET", _with_query(path, query))

    def remembered(self, path: str, **query: str | list[str]) -> Any:
        """``get``, answered from ``recent`` when it was asked lately."""
        path = _with_query(path, query)
        found = self.recent.get(path)
        if found is None:
            found = self._request("GET", path)
            self.recent.put(path, found)
        return found

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._request("POST", path, body)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self._request("PUT", path, body)

    def create_port(
        self, body: dict[str, Any], *, project: str, groups: list[str] | None
    ) -> dict[str, Any]:
        """``POST /v2.0/ports``: ``body`` in ``project`` ("": the credentials') and ``groups``
        (None: the project's default group); the port made."""
        if project:
            body = body | {"project_id": project}
        if groups is not None:
            body = body | {"security_groups": groups}
        return dict(self.post("/v2.0/ports", {"port": body})["port"])

    def delete(self, path: str) -> bool:
        """False when it was already gone."""
        try:
            self._request("DELETE", path)
        except NotFound:
            return False
        return True

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            headers = {"Accept": "application/json"}
            if payload is not None:
                headers["Content-Type"] = "application/json"
            if self._credentials:
                headers["X-Auth-Token"] = self._token or self._keystone_token(renew=False)
            status, data = self._exchange(method, path, payload, headers, retry=method != "POST")
            if status == 401 and self._credentials and attempt == 0:
                self._token = self._keystone_token(renew=True)  # expired or revoked
                continue
            return _answer(method, path, status, data)
        raise AssertionError("unreachable")

    def _exchange(
        self,
        method: str,
        path: str,
        payload: bytes | None,
        headers: dict[str, str],
        *,
        retry: bool,
    ) -> tuple[int, bytes]:
        """One request; a keep-alive connection the server closed meanwhile is opened again
        once for a request that is safe to repeat."""
        for attempt in range(2):
            try:
                connection = self._connect()
                connection.request(method, self._base + path, body=payload, headers=headers)
                response = connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                self.close()
                if attempt or not retry:
                    raise _unreachable(self.api, e) from None
            except (OSError, http.client.HTTPException) as error:
                self.close()
                raise _unreachable(self.api, error) from None
        raise AssertionError("unreachable")

    def _connect(self) -> http.client.HTTPConnection:
        """The open connection, else a new one with Nagle's algorithm off (a request's or an
        answer's second segment must not wait for the delayed ACK of its first: 40 ms)."""
        if self._connection is None:
            connection = _connection("https" if self._https else "http", self._netloc)
            connection.connect()
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._connection = connection
        return self._connection

    def _keystone_token(self, *, renew: bool) -> str:
        cache = self._token_cache()
        if not renew and cache is not None:
            try:
                cached = json.loads(cache.read_text())
                if cached["expires_at"] - TOKEN_MARGIN > time.time():
                    self._token = str(cached["token"])
                    return self._token
            except (OSError, ValueError, KeyError, TypeError):
                pass
        credentials = _read_credentials(self._credentials)
        token, expires_at = _issue_token(credentials)
        if cache is not None:
            _write_private(cache, json.dumps({"token": token, "expires_at": expires_at}))
        self._token = token
        return token

    def _token_cache(self) -> Path | None:
        if not self._state_dir:
            return None
        try:
            stat = os.stat(self._credentials)
        except OSError:
            return None
        import hashlib  # here: most invocations never need it

        key = f"{os.path.abspath(self._credentials)}:{stat.st_mtime_ns}:{stat.st_size}"
        return Path(self._state_dir) / f"token-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def _connection(scheme: str, netloc: str) -> http.client.HTTPConnection:
    kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    return kind(netloc, timeout=TIMEOUT)


def _with_query(path: str, query: dict[str, str | list[str]]) -> str:
    return f"{path}?{urllib.parse.urlencode(query, doseq=True)}" if query else path


def _answer(method: str, path: str, status: int, data: bytes) -> Any:
    if status == 404:
        raise NotFound(path)
    if status >= 500:
        raise CniError(
            TRY_AGAIN_LATER, f"the controller failed {method} {path} ({status})", _message(data)
        )
    if status >= 400:
        raise CniError(REFUSED, f"the controller refused {method} {path}: {_message(data)}")
    return json.loads(data) if data else None


def _message(data: bytes) -> str:
    """Neutron's error body (``{"NeutronError": {"type", "message", "detail"}}``)'s message."""
    try:
        found = json.loads(data)
        error = found.get("NeutronError", found.get("error", {}))
        return str(error.get("message") or error)
    except (ValueError, AttributeError):
        return data.decode(errors="replace")[:200]


def _unreachable(api: str, error: Exception) -> CniError:
    return CniError(TRY_AGAIN_LATER, f"the controller at {api} is unreachable", str(error))


def _read_credentials(path: str) -> dict[str, Any]:
    try:
        found = json.loads(Path(path).read_text())
    except OSError as error:
        raise CniError(
            INVALID_CONFIG, f"cannot read the credentials file {path}", str(error)
        ) from None
    except ValueError as error:
        raise CniError(
            INVALID_CONFIG, f"the credentials file {path} is not JSON", str(error)
        ) from None
    if not isinstance(found, dict) or not isinstance(found.get("auth_url"), str):
        raise CniError(INVALID_CONFIG, f"the credentials file {path} has no 'auth_url'")
    return found


def _issue_token(credentials: dict[str, Any]) -> tuple[str, float]:
    """A project-scoped token from Keystone v3 (``POST /v3/auth/tokens``)."""
    url = urllib.parse.urlsplit(credentials["auth_url"].rstrip("/"))
    base = url.path if url.path.endswith("/v3") else f"{url.path}/v3"
    body = json.dumps({"auth": _auth(credentials)}).encode()
    connection = _connection(url.scheme, url.netloc)
    try:
        connection.request(
            "POST", f"{base}/auth/tokens", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        data = response.read()
        token = response.getheader("X-Subject-Token", "")
    except (OSError, http.client.HTTPException) as error:
        raise _unreachable(credentials["auth_url"], error) from None
    finally:
        connection.close()
    if response.status >= 400 or not token:
        raise CniError(
            REFUSED, f"Keystone refused the credentials ({response.status})", _message(data)
        )
    expires = json.loads(data)["token"]["expires_at"]
    return token, _epoch(expires)


def _auth(credentials: dict[str, Any]) -> dict[str, Any]:
    if "application_credential_id" in credentials:
        return {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {
                    "id": credentials["application_credential_id"],
                    "secret": credentials.get("application_credential_secret", ""),
                },
            }
        }
    user = {
        "name": credentials.get("username", ""),
        "password": credentials.get("password", ""),
        "domain": _domain(credentials, "user"),
    }
    project: dict[str, Any] = {"id": credentials.get("project_id")}
    if "project_id" not in credentials:
        project = {"name": credentials.get("project_name", "")}
        project["domain"] = _domain(credentials, "project")
    return {
        "identity": {"methods": ["password"], "password": {"user": user}},
        "scope": {"project": project},
    }


def _domain(credentials: dict[str, Any], whose: str) -> dict[str, str]:
    if f"{whose}_domain_id" in credentials:
        return {"id": str(credentials[f"{whose}_domain_id"])}
    return {"name": str(credentials.get(f"{whose}_domain_name", "Default"))}


def _epoch(iso: str) -> float:
    """Keystone's ``expires_at`` (``2026-12-07T22:00:00.000000Z``) as seconds since the epoch."""
    import calendar

    stamp = time.strptime(iso.split(".")[0].rstrip("Z"), "%Y-%m-%dT%H:%M:%S")
    return float(calendar.timegm(stamp))


def _write_private(path: Path, text: str) -> None:
    """Replaced at once, readable by root alone (it holds a token)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except OSError:
        pass  # a cache: the next invocation asks Keystone again
