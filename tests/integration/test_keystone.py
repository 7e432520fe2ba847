"""``alcor server --auth-strategy keystone``, over real HTTP, against a fake Keystone on loopback
(``tests/keystone_fake.py``): keystonemiddleware's auth_token logs in as the service user and
validates every token, as in front of Neutron. A valid token acts as its project with its
roles; no token, a bad one or an expired one is auth_token's 401; identity headers the client
sends itself are ignored; openstacksdk logs in with a password and works unchanged."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openstack
import pytest

from alcor.cli import main as cli
from tests.integration.neutron import assert_error
from tests.keystone_fake import FakeKeystone
from tests.servers import ServerProcess, free_port

SERVICE = ("alcor", "service-secret", "service")
UNAUTHORIZED = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}
SPOOFED = {
    "X-Project-Id": "spoofed",
    "X-Tenant-Id": "spoofed",
    "X-Roles": "admin",
    "X-Identity-Status": "Confirmed",
    "X-User-Id": "spoofed-user",
}


def keystone_args(keystone: FakeKeystone, *more: str) -> tuple[str, ...]:
    user, password, project = SERVICE
    return (
        "--auth-strategy",
        "keystone",
        "--keystone-url",
        f"{keystone.url}/v3",
        "--keystone-username",
        user,
        "--keystone-password",
        password,
        "--keystone-project",
        project,
        *more,
    )


@pytest.fixture(scope="module")
def keystone() -> Iterator[FakeKeystone]:
    fake = FakeKeystone(network_url=f"http://127.0.0.1:{free_port()}").start()
    user, password, project = SERVICE
    fake.add_user(user, password, project=project, roles=("service",))
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(
    keystone: FakeKeystone, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """The module's ``alcor server``, in keystone mode, on the port the catalog names."""
    assert keystone.network_url is not None
    port = int(keystone.network_url.rsplit(":", 1)[1])
    db = Path(tmp_path_factory.mktemp("alcor-keystone")) / "alcor.db"
    process = ServerProcess(db, *keystone_args(keystone), port=port).start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


@pytest.fixture
def projects() -> tuple[str, str]:
    return f"ks-a-{uuid.uuid4().hex[:8]}", f"ks-b-{uuid.uuid4().hex[:8]}"


def token(keystone: FakeKeystone, project: str | None, *roles: str, **more: Any) -> dict[str, str]:
    return {"X-Auth-Token": keystone.issue(project_id=project, roles=roles or ("member",), **more)}


def create_network(api: httpx.Client, headers: dict[str, str], **attributes: Any) -> Any:
    response = api.post("/networks", json={"network": attributes}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["network"]


def assert_unauthorized(response: httpx.Response, keystone: FakeKeystone) -> None:
    """auth_token's own answer, as a Neutron behind it gives: its body, and where to log in."""
    assert response.status_code == 401, response.text
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"] == f'Keystone uri="{keystone.url}/v3"'


def test_requests_without_a_token_are_401(api: httpx.Client, keystone: FakeKeystone) -> None:
    assert_unauthorized(api.get("/networks"), keystone)
    assert_unauthorized(api.post("/networks", json={"network": {}}), keystone)
    assert_unauthorized(api.get("/networks", headers=SPOOFED), keystone)
    assert_unauthorized(api.get("/"), keystone)  # /v2.0 itself is behind the token too
    assert api.get("/networks", headers={**SPOOFED, "X-Auth-Token": ""}).status_code == 401


def test_version_document_needs_no_token(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/")
    assert response.status_code == 200, response.text
    assert response.json()["versions"]


def test_invalid_and_expired_tokens_are_401(api: httpx.Client, keystone: FakeKeystone) -> None:
    assert_unauthorized(api.get("/networks", headers={"X-Auth-Token": "not-a-token"}), keystone)
    expired = token(keystone, "ks-expired", lifetime=-60)
    assert_unauthorized(api.get("/networks", headers=expired), keystone)


def test_a_cached_token_still_expires(api: httpx.Client, keystone: FakeKeystone) -> None:
    """auth_token caches a validated token, and checks its expiry on every use."""
    short = token(keystone, "ks-short", lifetime=2.0)
    for _ in range(3):
        assert api.get("/networks", headers=short).status_code == 200
    assert keystone.validations.count(short["X-Auth-Token"]) == 1  # cached after the first
    time.sleep(2.2)
    assert_unauthorized(api.get("/networks", headers=short), keystone)


def test_member_token_acts_as_its_project(
    api: httpx.Client, keystone: FakeKeystone, projects: tuple[str, str]
) -> None:
    a = token(keystone, projects[0], "member", "reader")
    network = create_network(api, a, name="mine")
    assert network["project_id"] == network["tenant_id"] == projects[0]
    assert_error(
        api.post("/networks", json={"network": {"shared": True}}, headers=a),
        403,
        "PolicyNotAuthorized",
    )
    listed = api.get("/networks", headers=a).json()["networks"]
    assert [n["id"] for n in listed if n["project_id"] == projects[0]] == [network["id"]]
    b = token(keystone, projects[1])
    assert_error(api.get(f"/networks/{network['id']}", headers=b), 404, "NetworkNotFound")
    assert_error(api.delete(f"/networks/{network['id']}", headers=b), 404)
    assert api.delete(f"/networks/{network['id']}", headers=a).status_code == 204


def test_identity_headers_from_the_client_are_ignored(
    api: httpx.Client, keystone: FakeKeystone, projects: tuple[str, str]
) -> None:
    a = token(keystone, projects[0])
    spoofed = {**SPOOFED, "X-Project-Id": projects[1], "X-Tenant-Id": projects[1], **a}
    network = create_network(api, spoofed)
    assert network["project_id"] == projects[0]  # the token's, not the header's
    segment = {"provider:segmentation_id": 990_001}
    assert_error(api.post("/networks", json={"network": segment}, headers=spoofed), 403)
    b_network = create_network(api, token(keystone, projects[1]))
    assert_error(api.get(f"/networks/{b_network['id']}", headers=spoofed), 404)
    underscored = {"X_Project_Id": projects[1], "X_Roles": "admin", **a}
    assert_error(api.get(f"/networks/{b_network['id']}", headers=underscored), 404)


def test_admin_token_acts_as_admin(
    api: httpx.Client, keystone: FakeKeystone, projects: tuple[str, str]
) -> None:
    b_network = create_network(api, token(keystone, projects[1]))
    admin = token(keystone, "ks-admin-project", "admin", "member")
    assert api.get(f"/networks/{b_network['id']}", headers=admin).status_code == 200
    listed = api.get("/networks", params={"project_id": projects[1]}, headers=admin)
    assert [n["id"] for n in listed.json()["networks"]] == [b_network["id"]]
    external = create_network(api, admin, **{"router:external": True, "shared": True})
    assert external["project_id"] == "ks-admin-project"
    for_b = create_network(api, admin, project_id=projects[1])
    assert for_b["project_id"] == projects[1]


def test_token_without_a_project_is_403(api: httpx.Client, keystone: FakeKeystone) -> None:
    domain_scoped = token(keystone, None, "admin")
    assert_error(api.get("/networks", headers={**SPOOFED, **domain_scoped}), 403, "HTTPForbidden")


def test_openstacksdk_logs_in_with_a_password(
    server: ServerProcess, keystone: FakeKeystone, projects: tuple[str, str]
) -> None:
    """The whole chain: the sdk logs in to Keystone, finds the network endpoint in the catalog,
    and sends its token; auth_token validates it; the project is the token's."""
    keystone.add_user("alice", "alice-secret", project=projects[0], roles=("member",))
    conn = openstack.connect(
        auth_type="password",
        auth_url=f"{keystone.url}/v3",
        username="alice",
        password="alice-secret",
        project_name=projects[0],
        user_domain_name="Default",
        project_domain_name="Default",
        region_name="RegionOne",
    )
    try:
        network = conn.network.create_network(name="sdk-net")
        assert network.project_id == projects[0]
        subnet = conn.network.create_subnet(
            network_id=network.id, cidr="10.80.0.0/24", ip_version=4
        )
        port = conn.network.create_port(network_id=network.id)
        assert port.fixed_ips[0]["subnet_id"] == subnet.id
        assert [n.id for n in conn.network.networks(project_id=projects[0])] == [network.id]
        conn.network.delete_port(port)
        conn.network.delete_subnet(subnet)
        conn.network.delete_network(network)
        assert conn.network.find_network(network.id) is None
    finally:
        conn.close()


def test_the_operator_commands_log_in_as_the_openstack_cli_does(
    server: ServerProcess,
    keystone: FakeKeystone,
    projects: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``alcor hosts`` with the ``OS_*`` variables: an admin's password gets a token and the
    answer; a member's token is refused (403), a wrong password by Keystone: one line each."""
    keystone.add_user("ops", "ops-secret", project=projects[0], roles=("admin",))
    keystone.add_user("bob", "bob-secret", project=projects[1], roles=("member",))
    environment = {
        "ALCOR_API": server.url,
        "OS_AUTH_URL": f"{keystone.url}/v3",
        "OS_USERNAME": "ops",
        "OS_PASSWORD": "ops-secret",
        "OS_PROJECT_NAME": projects[0],
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["hosts", "--json"]) == 0
    assert capsys.readouterr().out.startswith('{\n  "hosts": [')

    member = ["--os-username", "bob", "--os-project-name", projects[1]]
    assert cli.main(["hosts", *member, "--os-password", "bob-secret"]) == 1
    refused = capsys.readouterr().err
    assert refused.startswith("alcor hosts: error: GET /nodes: 403 ")
    assert refused.count("\n") == 1

    monkeypatch.setenv("OS_PASSWORD", "wrong")
    assert cli.main(["hosts"]) == 1
    wrong = capsys.readouterr().err
    assert wrong.startswith("alcor hosts: error: Keystone refused the credentials")
    assert wrong.count("\n") == 1


def test_the_operator_commands_take_a_cloud_of_clouds_yaml_and_find_the_api_in_its_catalog(
    server: ServerProcess,
    keystone: FakeKeystone,
    projects: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """``OS_CLOUD`` as the openstack CLI reads it, and no ``--api``: the controller is the
    network endpoint of the catalog the login returns. An unknown cloud is one line."""
    keystone.add_user("cloudy", "cloudy-secret", project=projects[0], roles=("admin",))
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n"
        "  lab:\n"
        "    region_name: RegionOne\n"
        "    auth:\n"
        f"      auth_url: {keystone.url}/v3\n"
        "      username: cloudy\n"
        "      password: cloudy-secret\n"
        f"      project_name: {projects[0]}\n"
        "      user_domain_name: Default\n"
        "      project_domain_name: Default\n"
    )
    monkeypatch.delenv("ALCOR_API", raising=False)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    monkeypatch.setenv("OS_CLOUD", "lab")
    assert cli.main(["hosts", "--json"]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith('{\n  "hosts": [')

    assert cli.main(["hosts", "--os-cloud", "nowhere"]) == 1
    unknown = capsys.readouterr().err
    assert unknown.startswith("alcor hosts: error: --os-cloud nowhere: "), unknown
    assert unknown.count("\n") == 1


@contextlib.contextmanager
def another_server(tmp_path: Path, *args: str) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "alcor.db", *args).start()
    try:
        yield process
    finally:
        process.stop()


def test_keystone_unreachable_is_503(keystone: FakeKeystone, tmp_path: Path) -> None:
    """auth_token cannot validate a token it has not cached: the service is unavailable."""
    args = [*keystone_args(keystone, "--keystone-option", "http_request_max_retries=0")]
    args[args.index("--keystone-url") + 1] = f"http://127.0.0.1:{free_port()}/v3"
    with another_server(tmp_path, *args) as process:
        response = httpx.get(
            process.url + "/v2.0/networks", headers=token(keystone, "p"), timeout=30
        )
        assert response.status_code == 503, response.text


def test_delayed_auth_decision_still_needs_a_token(keystone: FakeKeystone, tmp_path: Path) -> None:
    """With delay_auth_decision auth_token passes bad tokens on, marked Invalid: still a 401."""
    args = keystone_args(keystone, "--keystone-option", "delay_auth_decision=true")
    with another_server(tmp_path, *args) as process:
        api = httpx.Client(base_url=process.url + "/v2.0")
        assert_unauthorized(api.get("/networks", headers=SPOOFED), keystone)
        bad = {**SPOOFED, "X-Auth-Token": "not-a-token"}
        assert_unauthorized(api.post("/networks", json={"network": {}}, headers=bad), keystone)
        assert api.get("/networks", headers=token(keystone, "p")).status_code == 200


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--keystone-option", "no_such_option=1"], "unknown [keystone_authtoken] option"),
        (["--keystone-option", "token_cache_time=soon"], "token_cache_time"),
        (["--keystone-config", "/nonexistent/alcor.conf"], "/nonexistent/alcor.conf"),
        ([], "needs a service user"),
    ],
)
def test_bad_keystone_configuration_stops_the_server_at_once(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["server", "--auth-strategy", "keystone", *extra]
    if extra and extra[0] == "--keystone-option":
        argv += ["--keystone-url", "http://127.0.0.1:1/v3", "--keystone-username", "alcor"]
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_keystone_config_file(tmp_path: Path, keystone: FakeKeystone) -> None:
    """Options as in neutron.conf's [keystone_authtoken]; the command line overrides them."""
    user, password, project = SERVICE
    config = tmp_path / "alcor.conf"
    config.write_text(
        "[keystone_authtoken]\n"
        "auth_type = password\n"
        f"auth_url = {keystone.url}/v3\n"
        f"www_authenticate_uri = {keystone.url}/v3\n"
        f"username = {user}\n"
        "password = wrong\n"
        f"project_name = {project}\n"
        "user_domain_name = Default\n"
        "project_domain_name = Default\n"
        "token_cache_time = 60\n"
    )
    args = ("--auth-strategy", "keystone", "--keystone-config", str(config))
    with another_server(tmp_path, *args, "--keystone-option", f"password={password}") as process:
        response = httpx.get(process.url + "/v2.0/networks", headers=token(keystone, "p"))
        assert response.status_code == 200, response.text
