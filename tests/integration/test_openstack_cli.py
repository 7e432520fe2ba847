"""The real ``openstack`` command (python-openstackclient), unchanged, against a real ``alcor
server``: ``openstack --os-auth-type none --os-endpoint URL ... -f json``, its JSON output read
back. Each call starts a Python interpreter (about a second), so the tests are few: networks,
subnets and ports with tags and filters, then issue 3's whole user workflow.

``openstack quota show/set`` resolve their project argument through Keystone's v3 API before they
reach the network API, as they do against any Neutron. A stand-in that only answers
``GET /v3/projects/{id}`` plays that part here, on its own loopback port."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from alcor.api import discovery
from tests.integration.neutron import eui64
from tests.servers import ServerProcess

pytestmark = pytest.mark.slow  # about a second a call, some fifty calls

OPENSTACK = Path(sys.executable).with_name("openstack")
SERVED = {extension.alias for extension in discovery.EXTENSIONS}
needs_floating_ips_and_quotas = pytest.mark.skipif(
    not {"fip-port-details", "quota_details"} <= SERVED,
    reason="floating IPs or quotas are not served yet",
)


class ProjectDirectory(BaseHTTPRequestHandler):
    """Keystone's v3 API as far as ``openstack quota`` needs it: the version document and
    ``GET /v3/projects/{id}``, which knows every project (its name is its id)."""

    def do_GET(self) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts == ["v3"]:
            link = {"rel": "self", "href": f"http://{self.headers['Host']}/v3/"}
            self._send(200, {"version": {"id": "v3.14", "status": "stable", "links": [link]}})
        elif parts[:2] == ["v3", "projects"] and len(parts) == 3:
            project = {"id": parts[2], "name": parts[2], "domain_id": "default", "enabled": True}
            self._send(200, {"project": project})
        else:
            self._send(404, {"error": {"code": 404, "message": "not found"}})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test's output is the CLI's."""


class OpenStackCLI:
    """Runs ``openstack`` against one server, a command line at a time: ``call`` expects success
    and returns the parsed JSON when the command printed any, ``fail`` expects failure and
    returns what it printed."""

    def __init__(self, endpoint: str, identity: str) -> None:
        self.prefix = [str(OPENSTACK), "--os-auth-type", "none", "--os-endpoint", endpoint]
        self.env = {
            "PATH": str(OPENSTACK.parent),
            "HOME": str(Path.home()),
            "OS_IDENTITY_API_VERSION": "3",
            "OS_IDENTITY_ENDPOINT_OVERRIDE": identity,
        }

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, *shlex.split(command)],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )

    def call(self, command: str) -> Any:
        done = self.run(command)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        return json.loads(done.stdout) if done.stdout.strip() else None

    def fail(self, command: str) -> str:
        done = self.run(command)
        assert done.returncode != 0, (command, done.stdout)
        return done.stdout + done.stderr


@pytest.fixture(scope="module")
def identity() -> Iterator[str]:
    directory = ThreadingHTTPServer(("127.0.0.1", 0), ProjectDirectory)
    thread = threading.Thread(target=directory.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{directory.server_address[1]}/v3"
    directory.shutdown()
    directory.server_close()
    thread.join()


@pytest.fixture(scope="module")
def openstack(server: ServerProcess, identity: str) -> OpenStackCLI:
    return OpenStackCLI(server.url, identity)


def test_networks_subnets_and_ports_with_tags_and_filters(openstack: OpenStackCLI) -> None:
    network = openstack.call("network create --tag blue cli-net -f json")
    assert (network["name"], network["tags"], network["mtu"]) == ("cli-net", ["blue"], 1450)
    assert (network["status"], network["provider:network_type"]) == ("ACTIVE", "vxlan")
    v4 = openstack.call(
        "subnet create --network cli-net --subnet-range 10.10.0.0/24"
        " --dns-nameserver 10.10.0.2 cli-v4 -f json"
    )
    assert (v4["gateway_ip"], v4["dns_nameservers"]) == ("10.10.0.1", ["10.10.0.2"])
    assert v4["allocation_pools"] == [{"start": "10.10.0.2", "end": "10.10.0.254"}]
    v6 = openstack.call(
        "subnet create --network cli-net --ip-version 6 --subnet-range fd00:10::/64"
        " --ipv6-address-mode slaac --ipv6-ra-mode slaac cli-v6 -f json"
    )
    assert (v6["gateway_ip"], v6["ipv6_address_mode"], v6["ipv6_ra_mode"]) == (
        "fd00:10::1",
        "slaac",
        "slaac",
    )

    port = openstack.call(
        "port create --network cli-net --fixed-ip subnet=cli-v4,ip-address=10.10.0.50"
        " --tag web cli-port -f json"
    )
    slaac = {"subnet_id": v6["id"], "ip_address": eui64("fd00:10::/64", port["mac_address"])}
    assert port["fixed_ips"] == [{"subnet_id": v4["id"], "ip_address": "10.10.0.50"}, slaac]
    assert port["mac_address"].startswith("fa:16:3e:")
    assert port["status"] == "DOWN"
    taken = openstack.fail("port create --network cli-net --fixed-ip ip-address=10.10.0.50 dup")
    assert "409" in taken
    assert "10.10.0.50" in taken

    openstack.call(
        "port set --no-fixed-ip --fixed-ip ip-address=10.10.0.60 --name cli-port-2"
        " --tag moved cli-port"
    )
    openstack.call("network set --name cli-net-2 cli-net")

    [listed] = openstack.call("port list --network cli-net-2 --long -f json")
    assert listed["Name"] == "cli-port-2"
    assert listed["Fixed IP Addresses"] == [
        {"subnet_id": v4["id"], "ip_address": "10.10.0.60"},
        slaac,  # as in Neutron, a SLAAC address stays whatever fixed_ips says
    ]
    assert sorted(listed["Tags"]) == ["moved", "web"]
    [tagged] = openstack.call("network list --tags blue --long -f json")
    assert (tagged["Name"], tagged["Status"], tagged["Network Type"]) == (
        "cli-net-2",
        "ACTIVE",
        "vxlan",
    )
    assert tagged["Tags"] == ["blue"]
    assert sorted(tagged["Subnets"]) == sorted([v4["id"], v6["id"]])

    openstack.call("port delete cli-port-2")
    openstack.call("subnet delete cli-v4 cli-v6")
    openstack.call("network delete cli-net-2")
    assert openstack.call("network list --tags blue -f json") == []


@needs_floating_ips_and_quotas
def test_network_agents_are_the_nodes(openstack: OpenStackCLI, api: httpx.Client) -> None:
    made = api.post("/nodes", json={"node": {"name": "cli-host", "underlay_ip": "198.51.100.5"}})
    assert made.status_code == 201, made.text
    node = made.json()["node"]
    listed = openstack.call("network agent list --host cli-host -f json")
    assert listed == [
        {
            "ID": node["id"],
            "Agent Type": "Alcor agent",
            "Host": "cli-host",
            "Availability Zone": None,
            "Alive": False,  # no agent has connected for it
            "State": True,
            "Binary": "alcor-agent",
        }
    ]
    assert node["id"] in {agent["ID"] for agent in openstack.call("network agent list -f json")}
    shown = openstack.call(f"network agent show {node['id']} -f json")
    assert (shown["host"], shown["configuration"]["underlay_ip"]) == ("cli-host", "198.51.100.5")
    openstack.call(f"network agent set --disable --description drained {node['id']}")
    after = api.get(f"/nodes/{node['id']}").json()["node"]
    assert (after["admin_state_up"], after["description"]) == (False, "drained")
    openstack.call(f"network agent delete {node['id']}")
    assert openstack.call("network agent list --host cli-host -f json") == []


def test_the_whole_user_workflow(openstack: OpenStackCLI) -> None:
    """Network, subnet, port, external network, router with gateway and interface, security
    group with a rule, a port in it, a floating IP associated and released, quotas shown and
    hit, then everything deleted (the CLI has no bulk create; the sdk test covers it)."""
    openstack.call("network create app -f json")
    subnet = openstack.call(
        "subnet create --network app --subnet-range 10.20.0.0/24 app-v4 -f json"
    )
    port = openstack.call("port create --network app --fixed-ip ip-address=10.20.0.10 db -f json")
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.20.0.10"}]

    public = openstack.call("network create --external public -f json")
    assert public["router:external"] is True
    public_subnet = openstack.call(
        "subnet create --network public --subnet-range 172.24.4.0/24 --no-dhcp public-v4 -f json"
    )

    openstack.call("router create gw -f json")
    openstack.call("router set --external-gateway public gw")
    openstack.call("router add subnet gw app-v4")
    router = openstack.call("router show gw -f json")
    gateway = router["external_gateway_info"]
    assert gateway["network_id"] == public["id"]
    assert gateway["external_fixed_ips"][0]["subnet_id"] == public_subnet["id"]
    [interface] = router["interfaces_info"]
    assert (interface["subnet_id"], interface["ip_address"]) == (subnet["id"], "10.20.0.1")

    group = openstack.call("security group create web -f json")
    rule = openstack.call(
        "security group rule create --protocol tcp --dst-port 443 --remote-ip 0.0.0.0/0 web -f json"
    )
    assert (rule["security_group_id"], rule["protocol"], rule["ether_type"]) == (
        group["id"],
        "tcp",
        "IPv4",
    )
    assert (rule["port_range_min"], rule["port_range_max"]) == (443, 443)
    frontend = openstack.call("port create --network app --security-group web frontend -f json")
    assert frontend["security_group_ids"] == [group["id"]]

    floating = openstack.call("floating ip create public -f json")
    address = floating["floating_ip_address"]
    assert address.startswith("172.24.4.")
    openstack.call(f"floating ip set --port frontend {address}")
    associated = openstack.call(f"floating ip show {address} -f json")
    assert associated["port_id"] == frontend["id"]
    assert associated["fixed_ip_address"] == frontend["fixed_ips"][0]["ip_address"]
    assert associated["router_id"] == router["id"]
    openstack.call(f"floating ip unset --port {address}")
    released = openstack.call(f"floating ip show {address} -f json")
    assert (released["port_id"], released["fixed_ip_address"]) == (None, None)

    usage = openstack.call("quota show --network --usage admin -f json")
    in_use = {row["Resource"]: row["In Use"] for row in usage}
    assert in_use["networks"] == in_use["subnets"] == 2  # app and public
    assert in_use["routers"] == in_use["floating_ips"] == 1
    assert in_use["security_groups"] == 2  # web and the project's default
    assert {row["Reserved"] for row in usage} == {0}
    openstack.call("quota set --routers 1 admin")
    limits = openstack.call("quota show --network admin -f json")
    assert {row["Resource"]: row["Limit"] for row in limits}["routers"] == 1
    refused = openstack.fail("router create one-too-many")
    assert "409" in refused
    assert "Quota exceeded for resources: ['router']" in refused

    openstack.call(f"floating ip delete {address}")
    openstack.call("port delete db frontend")
    openstack.call("security group delete web")
    openstack.call("router remove subnet gw app-v4")
    openstack.call("router delete gw")
    openstack.call("subnet delete app-v4 public-v4")
    openstack.call("network delete app public")
    openstack.call("quota delete --network admin")

    assert openstack.call("floating ip list -f json") == []
    assert openstack.call("router list -f json") == []
    assert openstack.call("port list -f json") == []
    assert openstack.call("network list -f json") == []
    groups = openstack.call("security group list -f json")
    assert [g["Name"] for g in groups] == ["default"]


def test_subnet_pools_address_scopes_and_ip_availability(openstack: OpenStackCLI) -> None:
    """What the issue names: ``openstack subnet create --subnet-pool``, with the pool in an
    address scope, the network showing the scope, and ``ip availability show``."""
    scope = openstack.call("address scope create --ip-version 4 cli-scope -f json")
    pool = openstack.call(
        "subnet pool create --pool-prefix 10.120.0.0/16 --default-prefix-length 24"
        f" --address-scope {scope['id']} cli-pool -f json"
    )
    assert (pool["prefixes"], pool["address_scope_id"]) == (["10.120.0.0/16"], scope["id"])
    openstack.call("network create cli-pooled -f json")
    subnet = openstack.call(
        "subnet create --network cli-pooled --subnet-pool cli-pool cli-pooled-v4 -f json"
    )
    assert (subnet["cidr"], subnet["subnetpool_id"]) == ("10.120.0.0/24", pool["id"])
    network = openstack.call("network show cli-pooled -f json")
    assert network["ipv4_address_scope"] == scope["id"]
    availability = openstack.call("ip availability show cli-pooled -f json")
    assert (availability["total_ips"], availability["used_ips"]) == (253, 0)
    assert "existing allocations" in openstack.fail("subnet pool delete cli-pool")
    openstack.call("subnet delete cli-pooled-v4")
    openstack.call("subnet pool delete cli-pool")
    openstack.call("address scope delete cli-scope")
