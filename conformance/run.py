"""OpenStack's own Networking API suites against Alcor, with a real Keystone (``make conformance``).

Installs Keystone and tempest with neutron-tempest-plugin, each in its own virtualenv under
``.conformance/`` (pinned in this folder, constrained by OpenStack 2026.1's upper-constraints),
starts Keystone (SQLite, fernet tokens) and ``alcor server --auth-strategy keystone`` on loopback,
registers the network service in Keystone's catalog, writes tempest.conf from what the server
lists at ``GET /v2.0/extensions``, runs ``tempest.api.network`` and ``neutron_tempest_plugin.api``
side by side in one stestr run, prints each suite's totals and every failure, and stops what it
started.

What may be skipped and what is still known to fail is written in docs/conformance.md, in its
two tables; this run fails on any other failure or skip, and on a known failure that now passes
(so the table is kept true). Run with the project's Python: ``.venv/bin/python conformance/run.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCS = ROOT / "docs" / "conformance.md"
STATE = ROOT / ".conformance"
CONSTRAINTS = HERE / "upper-constraints-2026.1.txt"
SUITES = ("tempest.api.network", "neutron_tempest_plugin.api")
ADMIN_PASSWORD = "conformance-admin"
SERVICE_PASSWORD = "conformance-service"
REGION = "RegionOne"
PUBLIC_CIDR = "172.24.4.0/24"
HOSTS = 2
CELL = re.compile(r"(?<!\\)\|")
WHOLE = r"^(tempest\.api\.network|neutron_tempest_plugin\.api)\."


@dataclass(frozen=True)
class Venv:
    name: str
    requirements: Path

    @property
    def path(self) -> Path:
        return STATE / self.name

    def bin(self, program: str) -> str:
        return str(self.path / "bin" / program)

    def ensure(self) -> None:
        """Create or refresh the virtualenv when its pinned requirements changed."""
        digest = hashlib.sha256(
            self.requirements.read_bytes() + CONSTRAINTS.read_bytes()
        ).hexdigest()
        stamp = self.path / ".installed"
        if stamp.exists() and stamp.read_text() == digest:
            return
        print(f"installing {self.requirements.name} into {self.path}", flush=True)
        shutil.rmtree(self.path, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(self.path)], check=True)
        pip = [self.bin("pip"), "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "pip==25.3"], check=True)
        # Constrained by the series, except where the requirements pin a package themselves.
        pinned = {
            line.split("==")[0].strip().lower()
            for line in self.requirements.read_text().splitlines()
            if "==" in line and not line.startswith("#")
        }
        constraints = self.path / "constraints.txt"
        constraints.write_text(
            "".join(
                line + "\n"
                for line in CONSTRAINTS.read_text().splitlines()
                if line.split("===")[0].strip().lower() not in pinned
            )
        )
        subprocess.run(
            [*pip, "-c", str(constraints), "-r", str(self.requirements)],
            check=True,
        )
        stamp.write_text(digest)


KEYSTONE = Venv("keystone", HERE / "requirements-keystone.txt")
TEMPEST = Venv("tempest", HERE / "requirements-tempest.txt")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def up(url: str) -> Callable[[], bool]:
    def answers() -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(url, timeout=2).status_code < 500
        return False

    return answers


@contextlib.contextmanager
def running(
    command: list[str], *, ready: Callable[[], bool], log: Path, env: dict[str, str] | None = None
) -> Iterator[None]:
    """Run ``command`` (its output to ``log``) until the block ends, once ``ready()`` holds."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while not ready():
            if process.poll() is not None:
                raise SystemExit(f"{command[0]} exited with {process.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{command[0]} was not ready within 60 s; see {log}")
            time.sleep(0.2)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def keystone_conf(work: Path) -> Path:
    for folder in ("fernet-keys", "credential-keys"):
        (work / folder).mkdir()
    conf = work / "keystone.conf"
    conf.write_text(
        f"""[DEFAULT]
log_file = {work}/keystone.log
[database]
connection = sqlite:///{work}/keystone.db
[token]
provider = fernet
expiration = 14400
[fernet_tokens]
key_repository = {work}/fernet-keys
[credential]
key_repository = {work}/credential-keys
[identity]
# tempest creates a user per test class: keep bcrypt cheap on a test machine
password_hash_rounds = 4
"""
    )
    return conf


def bootstrap_keystone(conf: Path, *, url: str) -> None:
    manage = [KEYSTONE.bin("keystone-manage"), "--config-file", str(conf)]
    user = ["--keystone-user", "root", "--keystone-group", "root"]
    subprocess.run([*manage, "db_sync"], check=True)
    # Keystone keeps no lock discipline for SQLite across uwsgi workers: with the default
    # rollback journal a reader blocks writers ("database is locked"); WAL lets them overlap.
    with contextlib.closing(sqlite3.connect(conf.parent / "keystone.db")) as database:
        database.execute("PRAGMA journal_mode=WAL")
    subprocess.run([*manage, "fernet_setup", *user], check=True)
    subprocess.run([*manage, "credential_setup", *user], check=True)
    subprocess.run(
        [
            *manage,
            "bootstrap",
            "--bootstrap-password",
            ADMIN_PASSWORD,
            *("--bootstrap-admin-url", url, "--bootstrap-public-url", url),
            *("--bootstrap-internal-url", url, "--bootstrap-region-id", REGION),
        ],
        check=True,
    )


class Identity:
    """Keystone's v3 API as the admin bootstrapped it, for what the run registers."""

    def __init__(self, url: str) -> None:
        self.url = url
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": "admin",
                            "domain": {"id": "default"},
                            "password": ADMIN_PASSWORD,
                        }
                    },
                },
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
            }
        }
        reply = httpx.post(f"{url}/auth/tokens", json=body, timeout=30)
        reply.raise_for_status()
        self.token = reply.headers["X-Subject-Token"]

    def call(self, method: str, path: str, body: object = None) -> dict[str, object]:
        reply = httpx.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"X-Auth-Token": self.token},
            timeout=30,
        )
        reply.raise_for_status()
        return reply.json() if reply.content else {}

    def find(self, collection: str, name: str) -> str | None:
        found = self.call("GET", f"/{collection}?name={name}")[collection]
        assert isinstance(found, list)
        return str(found[0]["id"]) if found else None

    def create(self, collection: str, singular: str, body: dict[str, object]) -> str:
        created = self.call("POST", f"/{collection}", {singular: body})[singular]
        assert isinstance(created, dict)
        return str(created["id"])

    def register_network_service(self, endpoint: str) -> None:
        """The service user auth_token validates tokens with, and the catalog entry tempest's
        clients find the network API by."""
        project = self.create("projects", "project", {"name": "service", "domain_id": "default"})
        user = self.create(
            "users",
            "user",
            {"name": "alcor", "password": SERVICE_PASSWORD, "domain_id": "default"},
        )
        for role in ("admin", "service"):
            role_id = self.find("roles", role) or self.create("roles", "role", {"name": role})
            self.call("PUT", f"/projects/{project}/users/{user}/roles/{role_id}")
        service = self.create("services", "service", {"name": "neutron", "type": "network"})
        for interface in ("public", "internal", "admin"):
            self.create(
                "endpoints",
                "endpoint",
                {
                    "service_id": service,
                    "interface": interface,
                    "url": endpoint,
                    "region_id": REGION,
                },
            )


def alcor(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "alcor"), *args]


def server_command(work: Path, *, bind: str, southbound: str, keystone_url: str) -> list[str]:
    authtoken = work / "keystone-authtoken.ini"
    authtoken.write_text(
        f"""[keystone_authtoken]
auth_type = password
auth_url = {keystone_url}
www_authenticate_uri = {keystone_url}
username = alcor
password = {SERVICE_PASSWORD}
user_domain_id = default
project_name = service
project_domain_id = default
"""
    )
    return alcor(
        "server",
        *("--bind", bind, "--db", f"sqlite:///{work}/alcor.db", "--southbound", southbound),
        *("--auth-strategy", "keystone", "--keystone-config", str(authtoken)),
        # as neutron-tempest-plugin's own gate jobs raise them: its router and security-group
        # classes make more in one project than Neutron's defaults allow
        *("--quota", "router=100", "--quota", "floatingip=500"),
        *("--quota", "security_group=150", "--quota", "security_group_rule=1000"),
        # neutron-tempest-plugin's dns_domain (its gate's neutron.conf): under Neutron's default
        # (openstacklocal) ports keep no dns_name, which its dns-integration tests set
        *("--dns-domain", "openstackgate.local"),
    )


class Network:
    """The network API as tempest's admin, for the external network tempest needs."""

    def __init__(self, endpoint: str, identity: Identity) -> None:
        self.client = httpx.Client(
            base_url=f"{endpoint}/v2.0", headers={"X-Auth-Token": identity.token}, timeout=30
        )

    def post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        reply = self.client.post(path, json=body)
        reply.raise_for_status()
        created: dict[str, object] = reply.json()
        return created

    def nodes(self, count: int) -> None:
        """The hosts ``alcor sim`` simulates, made known first: a controller admits a host
        without a TLS identity only when its node exists."""
        nodes = [{"name": f"compute-{i}", "underlay_ip": f"10.255.0.{i + 1}"} for i in range(count)]
        self.post("/nodes", {"nodes": nodes})

    def agents(self) -> int:
        reply = self.client.get("/agents")
        reply.raise_for_status()
        return len(reply.json()["agents"])

    def extensions(self) -> list[str]:
        reply = self.client.get("/extensions")
        reply.raise_for_status()
        return sorted(extension["alias"] for extension in reply.json()["extensions"])

    def default_subnet_pools(self) -> None:
        """Shared default pools of both IP versions, as devstack makes them: "get me a network"
        (auto-allocated topology) takes its subnets from them."""
        for name, prefix, length in (
            ("shared-default-subnetpool-v4", "10.128.0.0/16", 26),
            ("shared-default-subnetpool-v6", "fd00:128::/48", 64),
        ):
            pool = {"name": name, "prefixes": [prefix], "default_prefixlen": length}
            self.post("/subnetpools", {"subnetpool": {**pool, "shared": True, "is_default": True}})

    def public_network(self) -> str:
        network = self.post("/networks", {"network": {"name": "public", "router:external": True}})[
            "network"
        ]
        assert isinstance(network, dict)
        self.post(
            "/subnets",
            {
                "subnet": {
                    "name": "public-subnet",
                    "network_id": network["id"],
                    "ip_version": 4,
                    "cidr": PUBLIC_CIDR,
                }
            },
        )
        return str(network["id"])


def tempest_conf(*, keystone_url: str, public_network: str, extensions: list[str]) -> str:
    return f"""[DEFAULT]
log_file = tempest.log

[auth]
admin_username = admin
admin_password = {ADMIN_PASSWORD}
admin_project_name = admin
admin_domain_name = Default
use_dynamic_credentials = true
create_isolated_networks = false

[identity]
uri_v3 = {keystone_url}
auth_version = v3
region = {REGION}

[identity-feature-enabled]
api_v2 = false

[service_available]
neutron = true
nova = false
glance = false
cinder = false
swift = false
horizon = false

[network]
public_network_id = {public_network}
floating_network_name = public
project_network_cidr = 10.100.0.0/16
project_network_mask_bits = 28
project_network_v6_cidr = 2001:db8::/48
project_network_v6_mask_bits = 64
build_timeout = 60

[network-feature-enabled]
api_extensions = {",".join(extensions)}
ipv6 = true
ipv6_subnet_attributes = true
port_security = true

[neutron_plugin_options]
available_type_drivers = vxlan,flat

[validation]
run_validation = false
"""


@dataclass(frozen=True)
class Result:
    id: str
    status: str  # success, fail, skip
    reason: str

    @property
    def suite(self) -> str:
        # a class's set-up is reported as "setUpClass (tempest.api.network.test_x.Class)"
        return next((suite for suite in SUITES if suite + "." in self.id), "other")

    @property
    def name(self) -> str:
        return self.id.split("[", 1)[0]


@dataclass(frozen=True)
class Expectation:
    pattern: re.Pattern[str]
    why: str


def expectations(heading: str) -> list[Expectation]:
    """The rows of one table of docs/conformance.md: ``| `regex` | why |``, the regex searched
    against the test's id (for skips, also against the skip's reason)."""
    rows: list[Expectation] = []
    inside = False
    for line in DOCS.read_text().splitlines():
        if line.startswith("## "):
            inside = line[3:].strip() == heading
        elif inside and line.startswith("| `"):
            # a | inside a cell is written \| (GitHub's tables), so regex alternatives are too
            cells = [cell.replace("\\|", "|").strip() for cell in CELL.split(line.strip("|"))]
            rows.append(Expectation(re.compile(cells[0].strip("`")), cells[1]))
    return rows


def not_run() -> list[Expectation]:
    """Tests that assert what Alcor deliberately is not (docs/conformance.md "Not run"); never
    empty, so that the exclude regex never matches every test."""
    return expectations("Not run") or [Expectation(re.compile("^$"), "nothing")]


def matches(result: Result, rows: list[Expectation]) -> bool:
    return any(row.pattern.search(result.id) or row.pattern.search(result.reason) for row in rows)


def read_results(workspace: Path) -> list[Result]:
    subunit = subprocess.run(
        [TEMPEST.bin("stestr"), "last", "--subunit"],
        cwd=workspace,
        capture_output=True,
        check=True,
    ).stdout
    decoded = subprocess.run(
        [TEMPEST.bin("python"), str(HERE / "subunit_results.py")],
        input=subunit,
        capture_output=True,
        check=True,
    ).stdout
    return [Result(**json.loads(line)) for line in decoded.splitlines()]


def report(results: list[Result], *, whole: bool) -> int:
    """Print the totals and what is wrong; 1 on a failure or a skip docs/conformance.md does
    not list. ``whole``: both suites ran in full, so a row that matches nothing is stale (a
    warning: the row should go)."""
    skips_allowed = expectations("Skipped")
    known_failures = expectations("Known failures")
    print(f"\n{'suite':32} {'ran':>5} {'passed':>7} {'skipped':>8} {'failed':>7}")
    for suite in SUITES:
        counted = Counter(result.status for result in results if result.suite == suite)
        ran = sum(counted.values())
        print(f"{suite:32} {ran:5} {counted['success']:7} {counted['skip']:8} {counted['fail']:7}")
    failed = [result for result in results if result.status == "fail"]
    unexpected = [result for result in failed if not matches(result, known_failures)]
    known = [result for result in failed if matches(result, known_failures)]
    stray_skips = [
        result
        for result in results
        if result.status == "skip" and not matches(result, skips_allowed)
    ]
    stale = [
        row
        for row, status in [(row, "skip") for row in skips_allowed]
        + [(row, "fail") for row in known_failures]
        if whole
        and not any(result.status == status and matches(result, [row]) for result in results)
    ]
    for title, listed in (
        ("known failures (docs/conformance.md)", known),
        ("FAILED", unexpected),
        ("SKIPPED without a reason listed in docs/conformance.md", stray_skips),
    ):
        if listed:
            print(f"\n{title}: {len(listed)}")
            for result in sorted(listed, key=lambda result: result.id):
                reason = f"  ({result.reason[:160]})" if result.status == "skip" else ""
                print(f"  {result.name}{reason}")
    if stale:
        print(f"\nWARNING: rows of docs/conformance.md that match nothing any more: {len(stale)}")
        for row in stale:
            print(f"  `{row.pattern.pattern}` ({row.why})")
    for result in unexpected:
        print(f"\n--- {result.id}\n{result.reason[-3000:]}")
    return 1 if unexpected or stray_skips else 0


def run(args: argparse.Namespace) -> int:
    KEYSTONE.ensure()
    TEMPEST.ensure()
    work = STATE / "run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    keystone_port, alcor_port, southbound_port = free_port(), free_port(), free_port()
    keystone_url = f"http://127.0.0.1:{keystone_port}/v3"
    endpoint = f"http://127.0.0.1:{alcor_port}"
    southbound = f"127.0.0.1:{southbound_port}"
    conf = keystone_conf(work)
    bootstrap_keystone(conf, url=keystone_url)
    uwsgi = [
        KEYSTONE.bin("uwsgi"),
        *("--http11-socket", f"127.0.0.1:{keystone_port}"),
        *("--module", "keystone.wsgi.api:application", "--home", str(KEYSTONE.path)),
        *("--processes", "1", "--threads", "1", "--master", "--die-on-term", "--lazy-apps"),
    ]
    env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(conf)}
    workspace = work / "tempest"
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            running(uwsgi, ready=up(keystone_url), log=work / "keystone-uwsgi.log", env=env)
        )
        identity = Identity(keystone_url)
        identity.register_network_service(endpoint)
        server = server_command(
            work,
            bind=f"127.0.0.1:{alcor_port}",
            southbound=southbound,
            keystone_url=keystone_url,
        )
        stack.enter_context(running(server, ready=up(endpoint), log=work / "alcor.log"))
        network = Network(endpoint, identity)
        # Simulated hosts with their agents, as a region has: the agent tests list them, and
        # ports bound to them go ACTIVE when their host acknowledges them.
        network.nodes(HOSTS)
        hosts = alcor("sim", "--hosts", str(HOSTS), "--prefix", "compute-")
        hosts += ["--controller", southbound]
        stack.enter_context(
            running(hosts, ready=lambda: network.agents() == HOSTS, log=work / "hosts.log")
        )
        subprocess.run(
            [
                *(TEMPEST.bin("tempest"), "init", str(workspace)),
                *("--workspace-path", str(work / "workspaces.yaml")),
            ],
            check=True,
            capture_output=True,
        )
        network.default_subnet_pools()
        (workspace / "etc" / "tempest.conf").write_text(
            tempest_conf(
                keystone_url=keystone_url,
                public_network=network.public_network(),
                extensions=network.extensions(),
            )
        )
        started = time.monotonic()
        with (work / "tempest-run.log").open("wb") as log:
            subprocess.run(
                [
                    TEMPEST.bin("tempest"),
                    "run",
                    *("--regex", args.regex, "--concurrency", str(args.concurrency)),
                    *("--exclude-regex", "|".join(row.pattern.pattern for row in not_run())),
                ],
                cwd=workspace,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        print(f"suites ran in {time.monotonic() - started:.0f} s; logs in {work}")
    return report(read_results(workspace), whole=args.regex == WHOLE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--regex",
        default=WHOLE,
        help="which tests to run (stestr's --regex)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="test workers")
    parser.add_argument(
        "--report",
        action="store_true",
        help="only report the last run's results again (after editing docs/conformance.md)",
    )
    args = parser.parse_args()
    if args.report:
        sys.exit(report(read_results(STATE / "run" / "tempest"), whole=args.regex == WHOLE))
    sys.exit(run(args))


if __name__ == "__main__":
    main()
