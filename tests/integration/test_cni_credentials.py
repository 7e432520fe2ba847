"""alcor-cni's Keystone credentials, against a real HTTP server on loopback playing Keystone
(``POST /v3/auth/tokens``) and the API (which takes only the token it issued last): the token
is asked for with what the credentials file says, sent on every request, kept in the state
directory (mode 0600) for the next invocation, and asked for again once when the API refuses
it. Nothing of the credentials reaches the API."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from alcor.cni.controller import Controller
from alcor.cni.errors import CniError

EXPIRES = "2099-01-01T00:00:00.000000Z"


class Cloud(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.issued: list[dict[str, Any]] = []  # the auth bodies Keystone was sent
        self.seen: list[dict[str, str]] = []  # the API requests' headers
        self.valid = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Cloud

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/identity/v3/auth/tokens":
            self._answer(404, {})
            return
        self.server.issued.append(body["auth"])
        methods = body["auth"]["identity"]["methods"]
        password = body["auth"]["identity"].get("password", {}).get("user", {}).get("password")
        if methods == ["password"] and password != "s3cret":
            self._answer(401, {"error": {"message": "The request you have made requires auth"}})
            return
        self.server.valid = f"token-{len(self.server.issued)}"
        self._answer(201, {"token": {"expires_at": EXPIRES}}, token=self.server.valid)

    def do_GET(self) -> None:
        self.server.seen.append(dict(self.headers))
        if self.headers.get("X-Auth-Token") != self.server.valid:
            self._answer(401, {"error": {"message": "Authentication required"}})
            return
        self._answer(200, {"networks": []})

    def _answer(self, status: int, document: dict[str, Any], *, token: str = "") -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        if token:
            self.send_header("X-Subject-Token", token)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    server = Cloud()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def credentials(tmp_path: Path, cloud: Cloud, **overrides: str) -> str:
    path = tmp_path / "credentials.json"
    document = {
        "auth_url": f"{cloud.url}/identity",
        "username": "cni",
        "password": "s3cret",
        "project_name": "k8s",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    } | overrides
    path.write_text(json.dumps(document))
    return str(path)


def test_a_token_is_asked_for_once_kept_private_and_sent_on_every_request(
    cloud: Cloud, tmp_path: Path
) -> None:
    path, state = credentials(tmp_path, cloud), tmp_path / "state"
    first = Controller(cloud.url, credentials=path, state_dir=str(state))
    assert first.get("/v2.0/networks") == {"networks": []}
    first.close()
    (auth,) = cloud.issued
    assert auth["identity"]["password"]["user"] == {
        "name": "cni",
        "password": "s3cret",
        "domain": {"name": "Default"},
    }
    assert auth["scope"] == {"project": {"name": "k8s", "domain": {"name": "Default"}}}
    (cached,) = state.iterdir()
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600

    second = Controller(cloud.url, credentials=path, state_dir=str(state))  # the next pod
    second.get("/v2.0/networks")
    second.close()
    assert len(cloud.issued) == 1  # the cached token served
    assert [headers["X-Auth-Token"] for headers in cloud.seen] == ["token-1", "token-1"]
    assert all("s3cret" not in json.dumps(headers) for headers in cloud.seen)


def test_a_refused_token_is_renewed_once(cloud: Cloud, tmp_path: Path) -> None:
    path, state = credentials(tmp_path, cloud), str(tmp_path / "state")
    Controller(cloud.url, credentials=path, state_dir=state).get("/v2.0/networks")
    cloud.valid = "revoked-meanwhile"
    assert Controller(cloud.url, credentials=path, state_dir=state).get("/v2.0/networks") == {
        "networks": []
    }
    assert len(cloud.issued) == 2


def test_application_credentials_are_used_as_given(cloud: Cloud, tmp_path: Path) -> None:
    path = tmp_path / "app.json"
    path.write_text(
        json.dumps(
            {
                "auth_url": f"{cloud.url}/identity/v3",
                "application_credential_id": "ac1",
                "application_credential_secret": "shh",
            }
        )
    )
    Controller(cloud.url, credentials=str(path)).get("/v2.0/networks")
    (auth,) = cloud.issued
    assert auth == {
        "identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": "ac1", "secret": "shh"},
        }
    }


def test_wrong_credentials_are_keystones_refusal(cloud: Cloud, tmp_path: Path) -> None:
    path = credentials(tmp_path, cloud, password="wrong")
    with pytest.raises(CniError) as refused:
        Controller(cloud.url, credentials=path).get("/v2.0/networks")
    assert refused.value.code == 100
    assert "Keystone refused the credentials (401)" in refused.value.msg
    assert cloud.seen == []  # the API was never asked
