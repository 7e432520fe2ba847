"""``alcor-cni`` invoked exactly as a runtime invokes it (environment, stdin, stdout, exit
status), in a simulated node's namespace, against a real controller and the nodes' real agents
(``--endpoint-mode netns``: the VM-style endpoints are theirs, the pods' interfaces the
plugin's). Pods reach VMs and pods on the same network and across a router, on the same node
and across nodes; security groups apply to pods; every command and every bad input is tried,
and a failure leaves no port, no device and nothing in the pod's namespace."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from alcor.lab import cni
from tests.system.lab import Host, Lab, eventually, run, unusable

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
]

OPEN = {"protocol": None}  # ingress: anything
VERSION = "1.0.0"
A, B = "10.0.1.0/24", "10.0.2.0/24"


class Cluster:
    """Two nodes (h1, h2), networks a (10.0.1.0/24) and b (10.0.2.0/24) joined by a router, a
    group open to anything, and a VM-style endpoint on each network and node. Each node runs
    ``alcor cni-daemon`` unless not ``daemons`` (the plugin then does the work itself)."""

    def __init__(self, lab: Lab, *, daemons: bool = True) -> None:
        self.lab = lab
        self.h1, self.h2 = lab.add_hosts("h1", "h2")
        self.net_a, self.net_b = lab.network(), lab.network()
        self.sub_a = lab.subnet(self.net_a, A)
        self.sub_b = lab.subnet(self.net_b, B)
        lab.router(self.sub_a, self.sub_b)
        self.open = lab.group(OPEN)
        self.vms = {
            "vm-a1": ("10.0.1.11", self.h1, self.sub_a),
            "vm-b2": ("10.0.2.12", self.h2, self.sub_b),
        }
        self.vm_ns = {
            name: host.endpoint(lab.port(subnet, ip, host, groups=[self.open]))
            for name, (ip, host, subnet) in self.vms.items()
        }
        self.pods = 0
        self.api = {host.name: lab.api_in(host) for host in (self.h1, self.h2)}
        self.daemons = {
            host.name: lab.cni_daemon(host) if daemons else str(lab.tmp / "no-daemon.sock")
            for host in (self.h1, self.h2)
        }

    def config(self, host: Host, **overrides: Any) -> dict[str, Any]:
        """The conflist entry a node's runtime would pass: by default network a, this lab's
        controller, the node's agent status file, the open group."""
        found: dict[str, Any] = {
            "cniVersion": VERSION,
            "name": "alcor",
            "type": "alcor-cni",
            "network": self.net_a,
            "api": self.api[host.name],
            "agent_status": str(host.status_path),
            "state_dir": str(self.lab.tmp / "cni-state"),
            "security_groups": [self.open],
            "active_timeout": 20,
            "daemon_socket": self.daemons[host.name],
        }
        return {key: value for key, value in (found | overrides).items() if value is not None}

    def sandbox(self) -> str:
        """A new namespace for a pod (the lab's tag: removed with the lab)."""
        self.pods += 1
        name = f"{self.lab.tag}-pod{self.pods}"
        run("ip", "netns", "add", name)
        return name

    def call(
        self, command: str, host: Host, pod: str, config: dict[str, Any], **more: Any
    ) -> cni.Outcome:
        """The plugin run on ``host`` for the pod's container (``c-<pod>``, in the pod's
        namespace), as the runtime runs it."""
        return cni.invoke(
            command, config, node=host.ns, container=f"c-{pod}", netns=f"/run/netns/{pod}", **more
        )

    def add(self, host: Host, pod: str, **overrides: Any) -> cni.Outcome:
        pod_args = f"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={pod}"
        return self.call("ADD", host, pod, self.config(host, **overrides), args=pod_args)

    def delete(self, host: Host, pod: str, **overrides: Any) -> cni.Outcome:
        return self.call("DEL", host, pod, self.config(host, **overrides))

    def ports_of(self, pod: str) -> list[dict[str, Any]]:
        found = self.lab.call("GET", f"/ports?device_id=c-{pod}")["ports"]
        return list(found)

    def pod_ip(self, outcome: cni.Outcome) -> str:
        return str(outcome.document["ips"][0]["address"].split("/")[0])


@pytest.fixture
def cluster(lab: Lab) -> Cluster:
    return Cluster(lab)


@pytest.fixture
def alone(lab: Lab) -> Cluster:
    """No CNI daemon on the nodes."""
    return Cluster(lab, daemons=False)


def devices(ns: str) -> list[str]:
    return [link["ifname"] for link in json.loads(run("ip", "-n", ns, "-j", "link").stdout)]


def taps(host: Host) -> list[str]:
    return [name for name in devices(host.ns) if name.startswith("tap")]


def test_a_pod_gets_its_port_and_reaches_vms_and_pods_on_both_nodes_and_across_the_router(
    cluster: Cluster,
) -> None:
    lab = cluster.lab
    p1, p2 = cluster.sandbox(), cluster.sandbox()
    first = cluster.add(cluster.h1, p1)
    assert first.status == 0, first
    (port,) = cluster.ports_of(p1)
    assert port["status"] == "ACTIVE"
    assert port["binding:host_id"] == cluster.h1.id
    assert port["device_owner"] == "compute:kubernetes"
    assert port["name"] == f"default/{p1}"
    assert f"k8s_pod={p1}" in port["tags"]
    result = first.document
    assert result["cniVersion"] == VERSION
    host_end, pod_end = result["interfaces"]
    assert host_end["name"] == "tap" + port["id"][:11]
    assert pod_end == {"name": "eth0", "mac": port["mac_address"], "sandbox": f"/run/netns/{p1}"}
    address = port["fixed_ips"][0]["ip_address"]
    assert result["ips"] == [{"address": f"{address}/24", "gateway": "10.0.1.1", "interface": 1}]
    assert result["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.0.1.1"}]
    shown = json.loads(run("ip", "-n", p1, "-j", "addr", "show", "eth0").stdout)[0]
    assert shown["address"] == port["mac_address"]
    assert shown["mtu"] == lab.call("GET", f"/networks/{cluster.net_a}")["network"]["mtu"]

    second = cluster.add(cluster.h2, p2, network=cluster.net_b)
    assert second.status == 0, second
    p2_ip = cluster.pod_ip(second)
    pairs = [
        (p1, "10.0.1.11"),  # a VM on the same network and node
        (p1, "10.0.2.12"),  # a VM across the router, on the other node
        (p1, p2_ip),  # a pod across the router, on the other node
        (p2, address),
        (cluster.vm_ns["vm-a1"], address),  # a VM reaches the pod
        (cluster.vm_ns["vm-b2"], address),
    ]
    answered = lab.pings(pairs)
    assert all(answered.values()), answered


def test_check_verifies_the_interface_and_del_removes_everything_twice_over(
    cluster: Cluster,
) -> None:
    pod = cluster.sandbox()
    assert cluster.add(cluster.h1, pod).status == 0
    (port,) = cluster.ports_of(pod)
    result = cluster.add(cluster.h1, pod).document  # ADD again: the same port, plugged anew
    check_config = cluster.config(cluster.h1) | {"prevResult": result}
    checked = cluster.call("CHECK", cluster.h1, pod, check_config)
    assert checked.status == 0, checked

    run("ip", "-n", pod, "link", "set", "eth0", "mtu", "1280")  # someone changed it
    broken = cluster.call("CHECK", cluster.h1, pod, check_config)
    assert broken.status == 1, broken
    assert "mtu" in broken.document["msg"], broken

    assert cluster.delete(cluster.h1, pod).status == 0
    assert cluster.ports_of(pod) == []
    assert "tap" + port["id"][:11] not in taps(cluster.h1)
    assert "eth0" not in devices(pod)
    again = cluster.delete(cluster.h1, pod)  # the runtime may repeat DEL
    assert again.status == 0, again
    run("ip", "netns", "del", pod)
    gone = cluster.delete(cluster.h1, pod)  # and after the namespace is gone
    assert gone.status == 0, gone


def test_a_repeated_add_keeps_one_port_and_a_working_interface(cluster: Cluster) -> None:
    pod = cluster.sandbox()
    first, second = cluster.add(cluster.h1, pod), cluster.add(cluster.h1, pod)
    assert first.status == 0, first
    assert second.status == 0, second
    (port,) = cluster.ports_of(pod)
    assert second.document["ips"] == first.document["ips"]
    assert cluster.lab.ping(pod, "10.0.1.11")
    assert taps(cluster.h1).count("tap" + port["id"][:11]) == 1


def test_security_groups_apply_to_pods_as_to_vms(cluster: Cluster) -> None:
    lab = cluster.lab
    closed = lab.group()  # no ingress rules: only what the pod starts
    pod = cluster.sandbox()
    added = cluster.add(cluster.h1, pod, security_groups=[closed])
    assert added.status == 0, added
    ip = cluster.pod_ip(added)
    assert lab.ping(pod, "10.0.1.11")  # out, and the answer back in
    assert not lab.ping(cluster.vm_ns["vm-a1"], ip)  # in: refused
    since = lab.revision()
    lab.rule(closed, direction="ingress", protocol="icmp")
    lab.converge(since)
    assert lab.ping(cluster.vm_ns["vm-a1"], ip)


def test_gc_removes_the_ports_and_devices_of_pods_not_listed(cluster: Cluster) -> None:
    kept, dropped = cluster.sandbox(), cluster.sandbox()
    assert cluster.add(cluster.h1, kept).status == 0
    assert cluster.add(cluster.h1, dropped).status == 0
    (dropped_port,) = cluster.ports_of(dropped)
    cut_short = {  # an ADD that made its port and no more: never bound
        "network_id": cluster.net_a,
        "device_owner": "compute:kubernetes",
        "device_id": "c-cut-short",
        "tags": ["cni_ifname=eth0", f"cni_node={cluster.h1.id}"],
    }
    cluster.lab.call("POST", "/ports", {"port": cut_short})
    config = cluster.config(cluster.h1, cniVersion="1.1.0") | {
        "cni.dev/valid-attachments": [{"containerID": f"c-{kept}", "ifname": "eth0"}]
    }
    collected = cni.invoke("GC", config, node=cluster.h1.ns)
    assert collected.status == 0, collected
    assert cluster.ports_of(dropped) == []
    assert cluster.ports_of("cut-short") == []
    assert "tap" + dropped_port["id"][:11] not in taps(cluster.h1)
    assert len(cluster.ports_of(kept)) == 1
    assert cluster.lab.ping(kept, "10.0.1.11")


def test_status_says_whether_the_nodes_agent_is_connected(cluster: Cluster) -> None:
    config = cluster.config(cluster.h1, cniVersion="1.1.0")
    ready = cni.invoke("STATUS", config, node=cluster.h1.ns)
    assert (ready.status, ready.document) == (0, {})
    cluster.h1.stop_agent()
    eventually(
        lambda: cni.invoke("STATUS", config, node=cluster.h1.ns).code == 50,
        what="STATUS to say the agent is gone",
    )
    down = cni.invoke("STATUS", config, node=cluster.h1.ns)
    assert "not connected" in down.document["msg"], down


def test_version_lists_the_versions_it_speaks() -> None:
    found = cni.invoke("VERSION", {"cniVersion": "1.1.0"})
    assert found.status == 0
    assert found.document == {
        "cniVersion": "1.1.0",
        "supportedVersions": ["0.4.0", "1.0.0", "1.1.0"],
    }


@pytest.mark.parametrize("version", ["0.4.0", "1.1.0"])
def test_the_result_follows_the_version_asked(cluster: Cluster, version: str) -> None:
    pod = cluster.sandbox()
    added = cluster.add(cluster.h1, pod, cniVersion=version)
    assert added.status == 0, added
    ip = added.document["ips"][0]
    pod_end = added.document["interfaces"][1]
    if version == "0.4.0":
        assert ip["version"] == "4"
        assert "mtu" not in pod_end
    else:
        assert "version" not in ip
        assert pod_end["mtu"] > 0


# --- bad input: the spec's error, and nothing left behind -------------------------------------


def _nothing_left(cluster: Cluster, pod: str, before: list[str]) -> None:
    assert cluster.ports_of(pod) == []
    assert taps(cluster.h1) == before
    assert devices(pod) == ["lo"]


@pytest.mark.parametrize(
    ("overrides", "code", "words"),
    [
        ({"network": None}, 7, "no 'network'"),
        ({"network": "no-such-network"}, 7, "not found"),
        ({"cniVersion": "0.2.0"}, 1, "not supported"),
        ({"type": "bridge"}, 7, "'type'"),
        ({"password": "s3cret"}, 7, "must not be in the network configuration"),
        ({"api": "http://127.0.0.1:9"}, 11, "unreachable"),
        ({"security_groups": ["no-such-group"]}, 7, "not found"),
        ({"credentials": "/nonexistent/credentials.json"}, 7, "cannot read"),
    ],
)
def test_a_bad_configuration_is_the_specs_error_and_leaves_nothing(
    cluster: Cluster, overrides: dict[str, Any], code: int, words: str
) -> None:
    pod = cluster.sandbox()
    before = taps(cluster.h1)
    config = cluster.config(cluster.h1, **{k: v for k, v in overrides.items() if v is not None})
    if overrides.get("network", "") is None:
        del config["network"]
    failed = cluster.call("ADD", cluster.h1, pod, config)
    assert failed.status == 1, failed
    assert failed.code == code, failed.document
    assert words in failed.document["msg"], failed.document
    assert set(failed.document) <= {"cniVersion", "code", "msg", "details"}
    assert failed.stderr == ""
    _nothing_left(cluster, pod, before)


def test_a_missing_netns_or_container_id_is_an_environment_error(cluster: Cluster) -> None:
    no_netns = cni.invoke("ADD", cluster.config(cluster.h1), node=cluster.h1.ns, container="c-x")
    assert no_netns.code == 4, no_netns
    assert "CNI_NETNS" in no_netns.document["msg"], no_netns
    gone = cni.invoke(
        "ADD",
        cluster.config(cluster.h1),
        node=cluster.h1.ns,
        container="c-x",
        netns=f"/run/netns/{cluster.lab.tag}-never-made",
    )
    assert gone.code == 3, gone
    no_command = cni.invoke("", cluster.config(cluster.h1), node=cluster.h1.ns)
    assert no_command.code == 4, no_command
    assert cluster.ports_of("x") == []


def test_exceeding_the_port_quota_is_the_controllers_message_and_leaves_nothing(
    cluster: Cluster,
) -> None:
    lab = cluster.lab
    project = "cni-quota"
    network = lab.network(project=project)
    lab.subnet(network, "10.9.0.0/24", project=project)
    used = len(lab.call("GET", f"/ports?project_id={project}")["ports"])
    room = used + 2  # the node's own port on the network, and one pod
    lab.call("PUT", f"/quotas/{project}", {"quota": {"port": room}})
    pod1, pod2 = cluster.sandbox(), cluster.sandbox()
    config = {"network": network, "project": project, "security_groups": None}
    assert cluster.add(cluster.h1, pod1, **config).status == 0
    before = taps(cluster.h1)
    refused = cluster.add(cluster.h1, pod2, **config)
    assert refused.code == 100, refused
    assert "uota" in refused.document["msg"], refused
    _nothing_left(cluster, pod2, before)


@pytest.mark.parametrize("node_access", [True, False])
def test_a_port_that_never_becomes_active_times_out_and_is_undone(
    cluster: Cluster, node_access: bool
) -> None:
    """With node access, the node's own port is the first to wait: it is undone too."""
    pod = cluster.sandbox()
    before = taps(cluster.h1)
    cluster.h1.stop_agent()  # nobody programs it
    timed_out = cluster.add(cluster.h1, pod, active_timeout=1, node_access=node_access)
    assert timed_out.code == 11, timed_out
    assert "not ACTIVE" in timed_out.document["msg"], timed_out
    assert ("node's own" in timed_out.document["msg"]) == node_access, timed_out
    _nothing_left(cluster, pod, before)
    assert node_ports(cluster, cluster.h1) == []
    assert node_device(cluster.net_a) not in devices(cluster.h1.ns)


@pytest.mark.parametrize("zipapp", [False, True], ids=["compiled", "zipapp"])
def test_the_plugin_nodes_are_given_does_the_work_itself_without_a_daemon(
    alone: Cluster, tmp_path: Path, zipapp: bool
) -> None:
    """``python -m alcor.cni.bundle`` makes what the deployment installs on nodes: the compiled
    handoff with the Python plugin beside it, or (``--zipapp``) the Python plugin alone. With
    no daemon to hand its work to, the Python plugin does the work itself."""
    cluster = alone
    plugin = tmp_path / "alcor-cni"
    run(sys.executable, "-m", "alcor.cni.bundle", str(plugin), *(["--zipapp"] if zipapp else []))
    pod = cluster.sandbox()
    added = cluster.call("ADD", cluster.h1, pod, cluster.config(cluster.h1), plugin=str(plugin))
    assert added.status == 0, added
    assert cluster.lab.ping(pod, "10.0.1.11")


def test_the_compiled_plugin_hands_its_work_to_the_daemon(cluster: Cluster, tmp_path: Path) -> None:
    plugin = tmp_path / "alcor-cni"
    run(sys.executable, "-m", "alcor.cni.bundle", str(plugin))
    (plugin.parent / "alcor-cni.pyz").unlink()  # nothing to fall back to
    pod = cluster.sandbox()
    config = cluster.config(cluster.h1)
    added = cluster.call("ADD", cluster.h1, pod, config, plugin=str(plugin))
    assert added.status == 0, added
    assert cluster.lab.ping(pod, "10.0.1.11")
    deleted = cluster.call("DEL", cluster.h1, pod, config, plugin=str(plugin))
    assert deleted.status == 0, deleted


def test_a_restarted_agent_keeps_the_pods_device_and_its_traffic(cluster: Cluster) -> None:
    """The agent reconciles with what the kernel holds: a pod's veth (``alcor-cni``'s) is
    attached, never deleted, though the agent deletes the veths it made itself."""
    pod = cluster.sandbox()
    added = cluster.add(cluster.h1, pod)
    assert added.status == 0, added
    (port,) = cluster.ports_of(pod)
    cluster.h1.stop_agent()
    run("ip", "-n", cluster.h1.ns, "link", "set", "tap" + port["id"][:11], "nomaster")
    cluster.h1.start_agent()
    cluster.lab.wait_connected(cluster.h1)
    eventually(lambda: cluster.lab.ping(cluster.vm_ns["vm-b2"], cluster.pod_ip(added)))
    assert "tap" + port["id"][:11] in taps(cluster.h1)
    assert cluster.lab.ping(pod, "10.0.1.11")


def test_without_a_daemon_the_plugin_does_the_work_itself(alone: Cluster) -> None:
    cluster = alone
    pod = cluster.sandbox()
    added = cluster.add(cluster.h1, pod)
    assert added.status == 0, added
    assert cluster.lab.ping(pod, "10.0.2.12")
    refused = cluster.add(cluster.h1, cluster.sandbox(), network="no-such-network")
    assert refused.code == 7, refused
    assert cluster.delete(cluster.h1, pod).status == 0
    assert cluster.ports_of(pod) == []


def test_two_adds_of_one_container_at_once_make_one_port(cluster: Cluster) -> None:
    """A runtime that gave up on an ADD and tried again while the first still runs: the
    container's lock makes the second wait, find the first one's port and plug it anew."""
    pod = cluster.sandbox()
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda _: cluster.add(cluster.h1, pod), range(2)))
    assert [outcome.status for outcome in outcomes] == [0, 0], outcomes
    (port,) = cluster.ports_of(pod)
    assert port["status"] == "ACTIVE"
    assert cluster.lab.ping(pod, "10.0.1.11")


# --- the node reaches its pods: its own port on their network ---------------------------------

NODE_OWNER = "compute:kubernetes-node"


def node_ports(cluster: Cluster, host: Host) -> list[dict[str, Any]]:
    found = cluster.lab.call("GET", f"/ports?device_owner={NODE_OWNER}&device_id={host.id}")
    return list(found["ports"])


def node_device(network_id: str) -> str:
    return "alcor-" + network_id.replace("-", "")[:9]


def test_the_node_reaches_its_pods_and_the_other_nodes_by_its_own_port(
    cluster: Cluster,
) -> None:
    """kubelet's probes connect from the node's namespace to a pod's address: the node's own
    port on the pods' network (made once, by the first of several ADDs at once) carries the
    whole subnet, and the node's default route stays as it was."""
    lab, h1 = cluster.lab, cluster.h1
    default_before = run("ip", "-n", h1.ns, "route", "show", "default").stdout
    here = [cluster.sandbox() for _ in range(3)]
    there = cluster.sandbox()
    with ThreadPoolExecutor(max_workers=3) as pool:
        added = list(pool.map(lambda pod: cluster.add(h1, pod), here))
    assert [outcome.status for outcome in added] == [0, 0, 0], added
    on_h2 = cluster.add(cluster.h2, there)
    assert on_h2.status == 0, on_h2

    (port,) = node_ports(cluster, h1)
    assert (port["network_id"], port["status"]) == (cluster.net_a, "ACTIVE")
    assert port["binding:host_id"] == h1.id
    assert port["name"] == f"node/{h1.id}"
    assert port["security_groups"] == [cluster.open]
    assert len(node_ports(cluster, cluster.h2)) == 1
    device = node_device(cluster.net_a)
    shown = json.loads(run("ip", "-n", h1.ns, "-j", "addr", "show", device).stdout)[0]
    assert shown["address"] == port["mac_address"]
    assert shown["mtu"] == lab.call("GET", f"/networks/{cluster.net_a}")["network"]["mtu"]
    address = port["fixed_ips"][0]["ip_address"]
    assert [(a["local"], a["prefixlen"]) for a in shown["addr_info"] if a["family"] == "inet"] == [
        (address, 24)
    ]
    routes = json.loads(run("ip", "-n", h1.ns, "-j", "route", "show", "dev", device).stdout)
    assert [route["dst"] for route in routes] == [A]
    assert run("ip", "-n", h1.ns, "route", "show", "default").stdout == default_before

    local, remote = cluster.pod_ip(added[0]), cluster.pod_ip(on_h2)
    lab.serve(here[0], 8080, "here")
    lab.serve(there, 8080, "there")
    assert lab.connect(h1.ns, local, 8080) == "here"
    assert lab.connect(h1.ns, remote, 8080) == "there"
    answered = lab.pings([(h1.ns, local), (h1.ns, remote), (h1.ns, cluster.pod_ip(added[2]))])
    assert all(answered.values()), answered


def test_del_and_gc_keep_the_node_port_and_a_lost_interface_is_plugged_again(
    cluster: Cluster,
) -> None:
    h1 = cluster.h1
    first, second = cluster.sandbox(), cluster.sandbox()
    assert cluster.add(h1, first).status == 0
    (port,) = node_ports(cluster, h1)
    assert cluster.delete(h1, first).status == 0
    config = cluster.config(h1, cniVersion="1.1.0") | {"cni.dev/valid-attachments": []}
    collected = cni.invoke("GC", config, node=h1.ns)
    assert collected.status == 0, collected
    (kept,) = node_ports(cluster, h1)
    assert (kept["id"], kept["status"], kept["binding:host_id"]) == (port["id"], "ACTIVE", h1.id)
    device = node_device(cluster.net_a)
    assert cluster.lab.ping(h1.ns, "10.0.1.11")  # a VM on the network, through the node port

    run("ip", "-n", h1.ns, "link", "del", device)  # as after a reboot: the port, no interface
    added = cluster.add(h1, second)
    assert added.status == 0, added
    (again,) = node_ports(cluster, h1)
    assert again["id"] == port["id"]
    assert device in devices(h1.ns)
    assert cluster.lab.ping(h1.ns, cluster.pod_ip(added))


def test_node_access_false_makes_no_node_port(cluster: Cluster) -> None:
    pod = cluster.sandbox()
    added = cluster.add(cluster.h1, pod, node_access=False)
    assert added.status == 0, added
    assert node_ports(cluster, cluster.h1) == []
    assert node_device(cluster.net_a) not in devices(cluster.h1.ns)
    assert not cluster.lab.ping(cluster.h1.ns, cluster.pod_ip(added))  # the node cannot


def test_the_node_port_does_not_bypass_the_pods_security_groups(cluster: Cluster) -> None:
    """The node's port is in the groups of the first ADD's configuration (here the open
    group): a pod whose group admits only its own members refuses the node, as it refuses
    any other port outside that group, until a rule admits the node's group."""
    lab, h1 = cluster.lab, cluster.h1
    members = lab.group()
    lab.rule(members, direction="ingress", remote_group_id=members)
    open_pod, closed_pod = cluster.sandbox(), cluster.sandbox()
    opened = cluster.add(h1, open_pod)
    closed = cluster.add(h1, closed_pod, security_groups=[members])
    assert (opened.status, closed.status) == (0, 0), (opened, closed)
    (port,) = node_ports(cluster, h1)
    assert port["security_groups"] == [cluster.open]
    lab.serve(closed_pod, 8080, "closed")
    closed_ip = cluster.pod_ip(closed)
    assert lab.ping(h1.ns, cluster.pod_ip(opened))
    assert lab.ping(closed_pod, "10.0.1.11")  # the pod is up: out, and the answer back in
    assert not lab.ping(h1.ns, closed_ip)
    assert lab.connect(h1.ns, closed_ip, 8080) == ""

    since = lab.revision()
    lab.rule(members, direction="ingress", remote_group_id=cluster.open)
    lab.converge(since)
    assert lab.connect(h1.ns, closed_ip, 8080) == "closed"
