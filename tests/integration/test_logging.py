"""A real ``alcor server``'s logs: JSON lines that parse and carry the request id its answers
returned in ``X-OpenStack-Request-ID``, a log file rotated at its size, and no secret in any
line at debug level: not the users' tokens, not the service password, not the database's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import databases
from tests.integration.test_keystone import SERVICE
from tests.keystone_fake import FakeKeystone
from tests.servers import ServerProcess, free_port

ID_HEADER = "X-OpenStack-Request-ID"


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    log = tmp_path / "server.log"
    server = ServerProcess(
        tmp_path / "alcor.db",
        *("--log-file", str(log), "--log-format", "json", "--log-level", "info"),
        *("--access-log", "--logger-level", "sqlalchemy.engine=info"),
    ).start()
    yield server, log
    server.stop()


def test_every_line_of_a_request_carries_the_id_its_answer_returned(
    logged: tuple[ServerProcess, Path],
) -> None:
    server, log = logged
    project = f"p-{uuid.uuid4().hex[:8]}"
    headers = {"X-Project-Id": project}
    listed = httpx.get(f"{server.url}/v2.0/networks", headers=headers)
    refused = httpx.post(f"{server.url}/v2.0/networks", content=b"{", headers=headers)
    missing = httpx.get(f"{server.url}/v2.0/ports/{uuid.uuid4()}")
    answers = (listed, refused, missing)
    ids = [answer.headers[ID_HEADER] for answer in answers]
    assert all(request_id.startswith("req-") and len(request_id) == 40 for request_id in ids)
    assert len(set(ids)) == 3
    server.stop()
    lines = json_lines(log)
    access = {line["request_id"]: line for line in lines if line["logger"] == "alcor.access"}
    for answer, request_id in zip(answers, ids, strict=True):
        line = access[request_id]
        assert line["status"] == answer.status_code
        assert line["method"] == answer.request.method
        assert line["path"] == answer.request.url.path
        assert line["duration_ms"] >= 0
    assert access[ids[0]]["project"] == project
    assert access[ids[2]]["project"] == "admin"  # noauth without a project: the default one
    sql = [line for line in lines if line["logger"] == "sqlalchemy.engine.Engine"]
    listing = [line for line in sql if line.get("request_id") == ids[0]]
    assert any("FROM networks" in line["message"] for line in listing)
    assert all(line["project"] == project for line in listing)


def test_the_log_file_is_rotated_at_its_size(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    limit = 2_000
    server = ServerProcess(
        tmp_path / "alcor.db",
        *("--log-file", str(log), "--log-max-bytes", str(limit), "--log-backups", "2"),
        *("--access-log", "--log-level", "info"),
    ).start()
    try:
        with httpx.Client(base_url=server.url) as client:
            for _ in range(100):  # about 130 bytes each: some 6 files' worth
                assert client.get("/v2.0/networks").status_code == 200
    finally:
        server.stop()
    kept = [log, log.with_name("server.log.1"), log.with_name("server.log.2")]
    assert all(path.exists() for path in kept)
    assert not log.with_name("server.log.3").exists()
    assert all(0 < path.stat().st_size <= limit for path in kept)
    assert all("GET /v2.0/networks 200" in path.read_text() for path in kept)


def test_no_token_and_no_password_reaches_the_log_at_debug_level(tmp_path: Path) -> None:
    """The attack: users send tokens (good and bad), the service logs in with its password
    (given in the configuration file, not on the command line), all logged at debug."""
    keystone = FakeKeystone(network_url=f"http://127.0.0.1:{free_port()}").start()
    user, password, project = SERVICE
    keystone.add_user(user, password, project=project, roles=("service",))
    config = tmp_path / "alcor.toml"
    config.write_text(
        "[server]\n"
        'auth-strategy = "keystone"\n'
        f'keystone-url = "{keystone.url}/v3"\n'
        f'keystone-username = "{user}"\n'
        f'keystone-password = "{password}"\n'
        f'keystone-project = "{project}"\n'
    )
    log = tmp_path / "server.log"
    server = ServerProcess(
        tmp_path / "alcor.db",
        *("--config", str(config), "--log-file", str(log), "--log-format", "json"),
        *("--log-level", "debug", "--access-log"),
    )
    assert keystone.network_url is not None
    good = keystone.issue(project_id="p-secret-test", roles=("member",))
    bad = "gAAAA" + uuid.uuid4().hex * 2
    try:
        server.start()
        answers = [
            httpx.get(f"{server.url}/v2.0/networks", headers={"X-Auth-Token": token})
            for token in (good, bad)
        ]
    finally:
        server.stop()
        keystone.stop()
    assert [answer.status_code for answer in answers] == [200, 401]
    text = log.read_text() + server.log_path.read_text()
    for secret in (good, bad, password):
        assert secret not in text
    lines = json_lines(log)
    refused = answers[1].headers[ID_HEADER]
    assert any(line.get("request_id") == refused for line in lines if line.get("status") == 401)
    assert any(line["logger"].startswith("keystonemiddleware") for line in lines)


def test_no_database_password_reaches_the_log(
    postgres: databases.PostgresCluster, tmp_path: Path
) -> None:
    url = postgres.create_database(f"alcor_logging_{uuid.uuid4().hex[:8]}")
    secret = f"pw-{uuid.uuid4().hex}"
    with_password = url.replace("@", f":{secret}@", 1)  # the cluster trusts any password
    log = tmp_path / "server.log"
    server = ServerProcess(
        tmp_path / "unused.db",
        *("--log-file", str(log), "--log-level", "debug"),
        *("--logger-level", "sqlalchemy=debug", "--access-log"),
        db_url=with_password,
    )
    try:
        server.start()
        assert httpx.get(f"{server.url}/v2.0/networks").status_code == 200
    finally:
        server.stop()
    text = log.read_text() + server.log_path.read_text()
    assert "alcor server on http://" in text
    assert secret not in text
