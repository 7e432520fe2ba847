"""alcor-cni's pure parts: the invocation read from environment and stdin, the pod's interface
planned from its port, the result in each version, and the entry point's answers to input no
runtime should send (the spec's error, never a traceback)."""

from __future__ import annotations

import io
import json
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from alcor.agent.drivers.linux import names
from alcor.cni import (
    addressing,
    commands,
    controller,
    handoff,
    invocation,
    links,
    main,
    node_ports,
    results,
)
from alcor.cni.errors import CniError
from alcor.cni.invocation import Config, Container

CONFIG = {
    "cniVersion": "1.0.0",
    "name": "pods",
    "type": "alcor-cni",
    "network": "net1",
    "api": "http://127.0.0.1:9696",
}
ENVIRON = {
    "CNI_COMMAND": "ADD",
    "CNI_CONTAINERID": "c1",
    "CNI_NETNS": "/proc/self/ns/net",
    "CNI_IFNAME": "eth0",
    "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=web;K8S_POD_NAME=front-1",
}


def parsed(config: dict[str, Any] = CONFIG, **environ: str) -> invocation.Invocation:
    return invocation.parse(ENVIRON | environ, json.dumps(config))


def refused(config: dict[str, Any] = CONFIG, **environ: str) -> CniError:
    with pytest.raises(CniError) as caught:
        parsed(config, **environ)
    return caught.value


def test_an_add_reads_the_container_the_pod_and_the_configuration() -> None:
    called = parsed(CONFIG | {"security_groups": ["web"], "project": "p1"})
    assert called.command == "ADD"
    assert called.container == invocation.Container(
        id="c1", netns="/proc/self/ns/net", ifname="eth0", pod_name="front-1", pod_namespace="web"
    )
    assert called.config.network == "net1"
    assert called.config.security_groups == ("web",)
    assert called.config.agent_status == invocation.AGENT_STATUS


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"cniVersion": "0.3.1"}, 1, "not supported"),
        ({"cniVersion": None}, 1, "not supported"),
        ({"type": "bridge"}, 7, "'type'"),
        ({"network": None}, 7, "no 'network'"),
        ({"api": None}, 7, "no 'api'"),
        ({"api": "ftp://controller"}, 7, "http:// or https://"),
        ({"network": 42}, 7, "must be a string"),
        ({"security_groups": "default"}, 7, "list"),
        ({"active_timeout": 0}, 7, "positive"),
        ({"active_timeout": True}, 7, "positive"),
        ({"password": "x"}, 7, "must not be in"),
        ({"application_credential_secret": "x"}, 7, "must not be in"),
        ({"node_access": "no"}, 7, "'node_access'"),
    ],
)
def test_a_bad_configuration_is_refused_naming_the_key(
    change: dict[str, Any], code: int, words: str
) -> None:
    config = {key: value for key, value in (CONFIG | change).items() if value is not None}
    error = refused(config)
    assert error.code == code
    assert words in error.msg


@pytest.mark.parametrize(
    ("environ", "code", "words"),
    [
        ({"CNI_COMMAND": "REMOVE"}, 4, "CNI_COMMAND"),
        ({"CNI_CONTAINERID": ""}, 4, "CNI_CONTAINERID"),
        ({"CNI_IFNAME": ""}, 4, "CNI_IFNAME"),
        ({"CNI_IFNAME": "a-name-longer-than-15"}, 4, "CNI_IFNAME"),
        ({"CNI_NETNS": ""}, 4, "CNI_NETNS"),
        ({"CNI_NETNS": "/run/netns/never-made-here"}, 3, "does not exist"),
        ({"CNI_ARGS": "K8S_POD_NAME"}, 4, "KEY=VALUE"),
    ],
)
def test_a_bad_environment_is_refused_naming_the_variable(
    environ: dict[str, str], code: int, words: str
) -> None:
    error = refused(CONFIG, **environ)
    assert error.code == code
    assert words in error.msg


def test_node_access_is_on_unless_the_configuration_turns_it_off() -> None:
    assert parsed().config.node_access is True
    assert parsed(CONFIG | {"node_access": False}).config.node_access is False


def test_del_does_not_need_the_namespace_any_more() -> None:
    called = parsed(CONFIG, CNI_COMMAND="DEL", CNI_NETNS="")
    assert called.container is not None
    assert called.container.netns == ""


def test_gc_reads_the_valid_attachments() -> None:
    config = CONFIG | {
        "cniVersion": "1.1.0",
        "cni.dev/valid-attachments": [{"containerID": "c1", "ifname": "eth0"}],
    }
    called = invocation.parse({"CNI_COMMAND": "GC"}, json.dumps(config))
    assert called.container is None
    assert called.config.valid_attachments == (("c1", "eth0"),)
    with pytest.raises(CniError):
        invocation.parse(
            {"CNI_COMMAND": "GC"}, json.dumps(config | {"cni.dev/valid-attachments": [{}]})
        )


PORT = {
    "mac_address": "FA:16:3E:00:00:01",
    "fixed_ips": [
        {"subnet_id": "s4", "ip_address": "10.0.0.5"},
        {"subnet_id": "s6", "ip_address": "fd00::5"},
        {"subnet_id": "s4b", "ip_address": "10.1.0.5"},
    ],
}
SUBNETS = [
    {
        "id": "s4",
        "cidr": "10.0.0.0/24",
        "gateway_ip": "10.0.0.1",
        "host_routes": [{"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"}],
        "dns_nameservers": ["10.0.0.2"],
    },
    {"id": "s6", "cidr": "fd00::/64", "gateway_ip": "fd00::1", "dns_nameservers": ["10.0.0.2"]},
    {"id": "s4b", "cidr": "10.1.0.0/16", "gateway_ip": "10.1.0.1"},
]


def test_the_interface_has_the_ports_addresses_one_default_per_version_and_host_routes() -> None:
    plan = addressing.plan(PORT, network={"mtu": 1400}, subnets=SUBNETS, ifname="eth0")
    assert plan.inside.mac == "fa:16:3e:00:00:01"
    assert plan.inside.mtu == 1400
    assert plan.inside.addresses == ("10.0.0.5/24", "fd00::5/64", "10.1.0.5/16")
    assert plan.inside.routes == (
        ("192.168.0.0/16", "10.0.0.254"),
        ("0.0.0.0/0", "10.0.0.1"),
        ("::/0", "fd00::1"),
    )
    assert plan.gateways == ("10.0.0.1", "fd00::1", "10.1.0.1")
    assert plan.nameservers == ("10.0.0.2",)


def test_a_host_route_to_the_default_takes_the_gateways_place() -> None:
    subnet = SUBNETS[0] | {"host_routes": [{"destination": "0.0.0.0/0", "nexthop": "10.0.0.9"}]}
    port = PORT | {"fixed_ips": PORT["fixed_ips"][:1]}
    plan = addressing.plan(port, network={}, subnets=[subnet], ifname="eth0")
    assert plan.inside.routes == (("0.0.0.0/0", "10.0.0.9"),)
    assert plan.inside.mtu == addressing.DEFAULT_MTU


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0", "1.1.0"])
def test_the_result_is_the_specs_for_each_version(version: str) -> None:
    plan = addressing.plan(PORT, network={"mtu": 1400}, subnets=SUBNETS, ifname="eth0")
    found = results.added(version, device="tapabc", netns="/run/netns/pod", plan=plan)
    assert found["cniVersion"] == version
    host, pod = found["interfaces"]
    assert host == {"name": "tapabc", "mac": "fe:16:3e:00:00:01"}
    assert pod["sandbox"] == "/run/netns/pod"
    assert ("mtu" in pod) == (version == "1.1.0")
    assert [ip["interface"] for ip in found["ips"]] == [1, 1, 1]
    assert [ip.get("version") for ip in found["ips"]] == (
        ["4", "6", "4"] if version == "0.4.0" else [None, None, None]
    )
    assert found["routes"][1] == {"dst": "0.0.0.0/0", "gw": "10.0.0.1"}
    assert found["dns"] == {"nameservers": ["10.0.0.2"]}


def answer(environ: dict[str, str], stdin: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    status = main.run(environ, io.StringIO(stdin), out)
    return status, json.loads(out.getvalue())


def test_version_answers_without_a_configuration() -> None:
    assert answer({"CNI_COMMAND": "VERSION"}, "") == (
        0,
        {"cniVersion": "1.1.0", "supportedVersions": ["0.4.0", "1.0.0", "1.1.0"]},
    )


@pytest.mark.parametrize("stdin", ["", "not json", "[1, 2]", '"text"', "{"])
def test_what_is_not_a_configuration_is_error_6_in_the_newest_version(stdin: str) -> None:
    status, error = answer(ENVIRON, stdin)
    assert status == 1
    assert error["code"] == 6
    assert error["cniVersion"] == "1.1.0"


def test_an_error_answers_in_the_version_asked() -> None:
    status, error = answer(ENVIRON | {"CNI_IFNAME": ""}, json.dumps(CONFIG))
    assert status == 1
    assert error == {
        "cniVersion": "1.0.0",
        "code": 4,
        "msg": "CNI_IFNAME must be an interface name of 1 to 15 characters",
        "details": "got ''",
    }


@pytest.fixture
def served(cni_daemon: Path) -> str:
    return str(cni_daemon)


def test_the_daemon_answers_as_the_plugin_would(served: str) -> None:
    assert stat.S_IMODE(Path(served).stat().st_mode) == 0o600
    environ = ENVIRON | {"CNI_IFNAME": ""}
    config = json.dumps(CONFIG | {"daemon_socket": served})
    answer = handoff.ask(served, environ, config.encode())
    assert answer == (1, _stdout(environ, config).encode())


def test_with_no_daemon_listening_the_plugin_does_the_work_itself(tmp_path: Path) -> None:
    config = json.dumps(CONFIG | {"daemon_socket": str(tmp_path / "none.sock")})
    assert handoff.ask(str(tmp_path / "none.sock"), ENVIRON, config.encode()) is None


def test_the_daemon_declines_a_configuration_whose_socket_the_plugin_misread(served: str) -> None:
    """The plugin reads only the first ``"daemon_socket"`` it sees; one nested deeper, first,
    takes it to a daemon the configuration does not name, which declines (the plugin then
    does the work itself) rather than serve a node it was not asked to."""
    config = json.dumps({"args": {"daemon_socket": served}, **CONFIG, "daemon_socket": "/x"})
    assert handoff.socket_of(config) == served
    assert handoff.ask(served, ENVIRON, config.encode()) is None


@pytest.mark.parametrize(
    ("configuration", "socket"),
    [
        ('{"type": "alcor-cni"}', handoff.DAEMON_SOCKET),
        ('{"daemon_socket" : "/run/a.sock"}', "/run/a.sock"),
        ('{"daemon_socket":"\\/run\\/b\\u002esock"}', "/run/b.sock"),
        ('{"daemon_socket": 7}', ""),
        ('{"daemon_socket": "/run/unterminated', ""),
        ('{"daemon_socket"', ""),
    ],
)
def test_the_plugin_reads_its_daemons_socket_without_parsing_the_rest(
    configuration: str, socket: str
) -> None:
    assert handoff.socket_of(configuration) == socket


@pytest.mark.parametrize("environ", [ENVIRON, {}, {"CNI_ARGS": ""}])
def test_a_request_carries_the_environment_and_the_configuration_unchanged(
    environ: dict[str, str],
) -> None:
    stdin = json.dumps(CONFIG | {"name": "pods \u00e9"})
    assert handoff.parsed(handoff.request(environ, stdin.encode())) == (environ, stdin)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"CNI_COMMAND=ADD", "no end of the environment"),
        (b"PATH=/bin\0\0{}", "not a CNI variable: 'PATH=/bin'"),
        (b"CNI_X\0\0{}", "not a CNI variable: 'CNI_X'"),
    ],
)
def test_what_is_not_a_request_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        handoff.parsed(data)


def _stdout(environ: dict[str, str], stdin: str) -> str:
    out = io.StringIO()
    main.run(environ, io.StringIO(stdin), out)
    return out.getvalue()


def test_only_a_container_seen_before_is_looked_up(tmp_path: Path) -> None:
    """The first ADD of a container asks the controller for no port of it; one after an ADD
    or CHECK does (a retry finds the first's port); after a DEL none is looked up again."""
    config = parsed(CONFIG | {"state_dir": str(tmp_path)}).config
    container = parsed().container
    assert container is not None
    seen = []
    for forget in (False, False, True, False):
        with commands._locked(config, container, forget=forget) as before:
            seen.append(before)
    assert seen == [False, True, True, False]


def test_a_lock_file_made_but_not_yet_locked_is_no_earlier_invocation(tmp_path: Path) -> None:
    """Two ADDs of one container at once: the second opens the file the first has just made
    and takes the lock first. It must not take the first for an earlier invocation (it would
    then look for a port none made, and both would make one)."""
    config = parsed(CONFIG | {"state_dir": str(tmp_path)}).config
    container = parsed().container
    assert container is not None
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / container.id).touch()  # the first's, made and not yet locked
    with ThreadPoolExecutor(max_workers=2) as pool:
        seen = list(pool.map(lambda _: _held_before(config, container), range(2)))
    assert sorted(seen) == [False, True]


def _held_before(config: Config, container: Container) -> bool:
    with commands._locked(config, container) as before:
        time.sleep(0.05)  # the other waits for the lock meanwhile
        return before


def test_remembered_answers_are_kept_a_while_and_forgotten_at_once() -> None:
    recent = controller.Recent(seconds=60)
    assert recent.get("/v2.0/networks?name=pods") is None
    recent.put("/v2.0/networks?name=pods", {"networks": []})
    assert recent.get("/v2.0/networks?name=pods") == {"networks": []}
    recent.forget()
    assert recent.get("/v2.0/networks?name=pods") is None
    stale = controller.Recent(seconds=0)
    stale.put("/v2.0/subnets?id=a", {"subnets": []})
    time.sleep(0.001)
    assert stale.get("/v2.0/subnets?id=a") is None


def test_a_node_ports_interface_has_a_name_the_kernel_takes_one_per_network() -> None:
    first = links.node_device("8d3c2f1a-77b4-4c1e-9f00-123456789abc")
    second = links.node_device("8d3c2f1b-77b4-4c1e-9f00-123456789abc")
    assert first == "alcor-8d3c2f1a7"
    assert len(first) <= 15
    assert first != second


def test_a_node_ports_host_end_is_attached_by_the_agent_and_no_pods_for_gc() -> None:
    """The agent attaches (never deletes) a device whose alias begins with its ``PLUGGED``;
    GC and DEL look only at aliases of pods (``alcor-cni:<container>:<ifname>``)."""
    label = links.node_alias("8d3c2f1a-77b4-4c1e-9f00-123456789abc")
    assert label.startswith(names.PLUGGED)
    assert not label.startswith(f"{links.ALIAS}:")
    assert links.alias("c1", "eth0").startswith(f"{links.ALIAS}:")


class Scripted(controller.Controller):
    """A controller answering from ``answers`` (method -> answer, or the error to raise),
    keeping what it was asked; a request it has no answer for fails the test."""

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        super().__init__("http://127.0.0.1:9")
        self.answers = answers or {}
        self.asked: list[str] = []

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self.asked.append(f"{method} {path}")
        if method not in self.answers:
            raise AssertionError(f"{method} {path} asked")
        answer = self.answers[method]
        if isinstance(answer, Exception):
            raise answer
        return answer


NETWORK: dict[str, Any] = {"id": "8d3c2f1a-77b4-4c1e-9f00-123456789abc", "mtu": 1450}


def _ensure(
    controller: controller.Controller, config: Config, known: node_ports.Known, **more: Any
) -> None:
    node_ports.ensure(
        controller,
        config=config,
        host="h1",
        network=NETWORK,
        groups=None,
        known=known,
        activated=more.get("activated", lambda port_id: None),
    )


def test_a_node_port_found_in_place_costs_later_adds_no_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once this process saw the node port of (host, network) in place, an ADD asks only the
    kernel whether its interface is there; when it is gone (a reboot), the controller again."""
    config = parsed(CONFIG | {"state_dir": str(tmp_path)}).config
    known = node_ports.Known()
    known.add(("h1", NETWORK["id"]))
    present = {links.node_device(NETWORK["id"])}
    monkeypatch.setattr(links, "exists", lambda device: device in present)
    _ensure(Scripted(), config, known)
    present.clear()
    with pytest.raises(AssertionError, match=r"GET /v2\.0/ports"):
        _ensure(Scripted(), config, known)


def test_a_node_port_in_place_and_active_is_one_request_and_then_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a plugin without a daemon pays per ADD: the lookup, no wait, nothing plugged."""
    config = parsed(CONFIG | {"state_dir": str(tmp_path)}).config
    monkeypatch.setattr(links, "exists", lambda device: True)
    port = {"id": "p1", "binding:host_id": "h1", "status": "ACTIVE", "fixed_ips": []}
    found = Scripted({"GET": {"ports": [port]}})
    known = node_ports.Known()

    def waited(port_id: str) -> None:
        raise AssertionError("waited")

    _ensure(found, config, known, activated=waited)
    assert found.asked == [
        "GET /v2.0/ports?device_owner=compute%3Akubernetes-node&device_id=h1"
        f"&network_id={NETWORK['id']}"
    ]
    assert ("h1", NETWORK["id"]) in known


def test_a_node_port_the_controller_refuses_fails_the_add_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = parsed(CONFIG | {"state_dir": str(tmp_path)}).config
    monkeypatch.setattr(links, "exists", lambda device: False)
    refusing = Scripted({"GET": {"ports": []}, "POST": CniError(100, "Quota exceeded")})
    known = node_ports.Known()
    with pytest.raises(CniError) as caught:
        _ensure(refusing, config, known)
    assert caught.value.code == 100
    assert "node's own port" in caught.value.msg
    assert "Quota exceeded" in caught.value.msg
    assert [asked.split()[0] for asked in refusing.asked] == ["GET", "POST"]
    assert ("h1", NETWORK["id"]) not in known
