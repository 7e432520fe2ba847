"""deploy/: every Kubernetes manifest validated offline against Kubernetes 1.32's schemas
(``kubernetes-validate``, strict: an unknown field is an error), each overlay rendered with
``kubectl kustomize`` and every rendered document validated too; the CloudNativePG ``Cluster``,
a custom resource those schemas do not know, against a schema of the fields used here (its
``nodeAffinity`` and ``resources`` against Kubernetes' own); what the objects say of each other
(selectors, named ports, volumes, ``$(VAR)`` references); and every ``alcor`` command line the
manifests and the Dockerfile give parsed by the real argument parsers, so they cannot drift from
the CLI, nor docs/kubernetes.md's ``alcor certs`` steps from the names the manifests expect. The
image itself is not built here (no container engine): docs/kubernetes.md."""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from alcor.cli import agent_health, main

KUBERNETES = "1.32.0"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES_DIR = DEPLOY / "kubernetes"
OVERLAYS = sorted(
    path.parent for path in (KUBERNETES_DIR / "overlays").glob("*/kustomization.yaml")
)
MANIFESTS = sorted(
    path
    for path in KUBERNETES_DIR.rglob("*.yaml")
    if path.name != "kustomization.yaml"  # kustomize's, not the API's: rendered below
)
# made by the operator (docs/kubernetes.md) or by CloudNativePG, never committed
SECRETS = {"alcor-southbound-tls", "alcor-keystone", "alcor-db-app"}
STATUS_FILE = "/run/alcor-agent/status.json"

CNPG_CLUSTER = {  # the fields of postgresql.cnpg.io/v1 Cluster used here, nothing else
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "postgresql.cnpg.io/v1"},
        "kind": {"const": "Cluster"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}},
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["instances", "storage"],
            "properties": {
                "instances": {"type": "integer", "minimum": 1},
                "postgresql": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "synchronous": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["method", "number"],
                            "properties": {
                                "method": {"enum": ["any", "first"]},
                                "number": {"type": "integer", "minimum": 1},
                            },
                        }
                    },
                },
                "bootstrap": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "initdb": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "database": {"type": "string"},
                                "owner": {"type": "string"},
                            },
                        }
                    },
                },
                "storage": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["size"],
                    "properties": {
                        "size": {"type": "string", "pattern": "^[0-9]+(Mi|Gi|Ti)$"},
                        "storageClass": {"type": "string"},
                    },
                },
                "resources": {"type": "object"},  # Kubernetes' ResourceRequirements: below
                "affinity": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "enablePodAntiAffinity": {"type": "boolean"},
                        "topologyKey": {"type": "string"},
                        "nodeAffinity": {"type": "object"},  # Kubernetes' NodeAffinity: below
                    },
                },
            },
        },
    },
}


def documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def rendered(overlay: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the overlays cannot be rendered here")
    output = subprocess.run(
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120
    )
    assert output.returncode == 0, output.stderr
    return [document for document in yaml.safe_load_all(output.stdout) if document]


def validate(document: dict[str, Any]) -> None:
    """Kubernetes' schemas, strict; the CloudNativePG Cluster against ``CNPG_CLUSTER``, its
    Kubernetes parts inside a Pod that Kubernetes' schemas check."""
    if document["apiVersion"].startswith("postgresql.cnpg.io/"):
        jsonschema.validate(document, CNPG_CLUSTER)
        spec = document["spec"]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "cnpg-parts"},
            "spec": {
                "containers": [{"name": "c", "image": "i", "resources": spec.get("resources", {})}],
                "affinity": {"nodeAffinity": spec.get("affinity", {}).get("nodeAffinity", {})},
            },
        }
        kubernetes_validate.validate(pod, KUBERNETES, strict=True)
        return
    kubernetes_validate.validate(document, KUBERNETES, strict=True)


def name_of(document: dict[str, Any]) -> str:
    return f"{document['kind']}/{document['metadata']['name']}"


# --- every file, and every rendered document, against the schemas --------------------------------


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: str(path.relative_to(DEPLOY)))
def test_every_manifest_is_valid_kubernetes(path: Path) -> None:
    found = documents(path)
    assert found, f"{path} holds no document"
    for document in found:
        validate(document)


def test_the_strict_validation_refuses_an_unknown_field() -> None:
    """So the test above proves something: a misspelt field is caught, here and in the Cluster."""
    (agent,) = documents(KUBERNETES_DIR / "base" / "agent.yaml")
    misspelt = copy.deepcopy(agent)
    misspelt["spec"]["template"]["spec"]["containers"][0]["argz"] = ["agent"]
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(misspelt)
    (cluster,) = documents(KUBERNETES_DIR / "overlays" / "production" / "database.yaml")
    wrong = copy.deepcopy(cluster)
    wrong["spec"]["affinity"]["nodeAffinity"]["requiredDuringScheduling"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(wrong)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_every_overlay_renders_to_valid_kubernetes(overlay: Path) -> None:
    found = rendered(overlay)
    kinds = {document["kind"] for document in found}
    assert {"Namespace", "Service", "DaemonSet", "Deployment", "ConfigMap"} <= kinds
    for document in found:
        validate(document)
        assert document["kind"] == "Namespace" or document["metadata"]["namespace"] == "alcor"


def test_the_production_overlay_splits_the_roles_on_cloudnativepg() -> None:
    found = {name_of(d): d for d in rendered(KUBERNETES_DIR / "overlays" / "production")}
    roles = {
        name: argument_value(container(document)["args"], "--role")
        for name, document in found.items()
        if document["kind"] == "Deployment"
    }
    assert roles == {"Deployment/alcor-api": "api", "Deployment/alcor-southbound": "southbound"}
    assert all(found[name]["spec"]["replicas"] >= 2 for name in roles)
    assert {"PodDisruptionBudget/alcor-api", "PodDisruptionBudget/alcor-southbound"} <= set(found)
    assert found["Cluster/alcor-db"]["apiVersion"] == "postgresql.cnpg.io/v1"


# --- what the objects say of each other -----------------------------------------------------


def workloads(found: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (d for d in found if d["kind"] in ("Deployment", "DaemonSet", "StatefulSet"))


def containers_of(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def container(workload: dict[str, Any], name: str = "") -> dict[str, Any]:
    """The workload's container ``name``, or its first (the workload's own)."""
    found = workload["spec"]["template"]["spec"]["containers"]
    (one,) = [c for c in found if c["name"] == name] if name else found[:1]
    return dict(one)


def argument_value(args: list[str], flag: str) -> str:
    for argument in args:
        if argument.startswith(flag + "="):
            return argument.split("=", 1)[1]
    raise AssertionError(f"no {flag} in {args}")


def probes(one: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        one[kind] for kind in ("startupProbe", "livenessProbe", "readinessProbe") if kind in one
    ]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_the_rendered_objects_agree_with_each_other(overlay: Path) -> None:
    found = rendered(overlay)
    config_maps = {d["metadata"]["name"] for d in found if d["kind"] == "ConfigMap"}
    secrets_used: set[str] = set()
    for workload in workloads(found):
        template = workload["spec"]["template"]
        labels = template["metadata"]["labels"]
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()
        volumes = {volume["name"]: volume for volume in template["spec"].get("volumes", [])}
        for one in containers_of(workload):
            defined = {env["name"] for env in one.get("env", [])}
            for argument in one.get("args", []):
                for variable in re.findall(r"\$\((\w+)\)", argument):
                    assert variable in defined, f"{name_of(workload)}: $({variable}) undefined"
            for mount in one.get("volumeMounts", []):
                assert mount["name"] in volumes, f"{name_of(workload)}: no volume {mount['name']}"
            ports = {port["name"] for port in one.get("ports", [])}
            for probe in probes(one):
                port = (probe.get("httpGet") or probe.get("grpc") or {}).get("port")
                assert port is None or isinstance(port, int) or port in ports
            for env in one.get("env", []):
                secret = env.get("valueFrom", {}).get("secretKeyRef")
                if secret:
                    secrets_used.add(secret["name"])
        for volume in volumes.values():
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps
            if "secret" in volume:
                secrets_used.add(volume["secret"]["secretName"])
    assert secrets_used <= SECRETS
    for service in (d for d in found if d["kind"] == "Service"):
        selector = service["spec"]["selector"].items()
        served = [
            one
            for workload in workloads(found)
            if selector <= workload["spec"]["template"]["metadata"]["labels"].items()
            for one in workload["spec"]["template"]["spec"]["containers"]
        ]
        assert served, f"{name_of(service)} selects no pod"
        for port in service["spec"]["ports"]:
            assert all(
                port["targetPort"] in {p["name"] for p in one.get("ports", [])} for one in served
            )


# --- the command lines, parsed by the real parsers ------------------------------------------

# what kubelet puts in for the $(VAR)s (the test above checks that each is defined)
EXPANDED = {"NODE_NAME": "node-1", "HOST_IP": "192.0.2.10", "POD_IP": "10.244.1.5"}


def expand(argument: str) -> str:
    return re.sub(r"\$\((\w+)\)", lambda match: EXPANDED[match.group(1)], argument)


def alcor_command_lines() -> Iterator[tuple[str, list[str]]]:
    """(where, argv) of every ``alcor`` the manifests run, and of every probe command."""
    for path in MANIFESTS:
        for document in documents(path):
            if document["kind"] not in ("Deployment", "DaemonSet", "StatefulSet"):
                continue
            for one in containers_of(document):
                where = f"{path.relative_to(DEPLOY)} {name_of(document)} {one['name']}"
                if one["image"] == "alcor" and "command" not in one:
                    yield where, [expand(argument) for argument in one["args"]]
                for probe in probes(one):
                    if "exec" in probe and probe["exec"]["command"][0] != "test":
                        yield where + " probe", probe["exec"]["command"]


def test_every_alcor_command_line_is_accepted_by_the_cli() -> None:
    seen = set()
    for where, argv in alcor_command_lines():
        if argv[:3] == ["python3", "-m", "alcor.cli.agent_health"]:
            parsed = agent_health.parser().parse_args(argv[3:])
            assert parsed.status_file == Path(STATUS_FILE), where
            seen.add("agent-health")
            continue
        parsed = main.parser().parse_args(argv)
        seen.add(parsed.command)
        if parsed.command == "server":
            assert parsed.role in ("all", "api", "southbound"), where
    assert seen == {"server", "agent", "agent-health", "cni-daemon"}


def test_a_flag_the_cli_does_not_know_would_be_caught() -> None:
    with pytest.raises(SystemExit):
        main.parser().parse_args(["server", "--role=all", "--southbound-tls=x"])


def dockerfile_instruction(name: str) -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith(name + " ")]
    value: list[str] = json.loads(line.removeprefix(name + " "))
    return value


def test_the_image_s_default_command_is_accepted_by_the_cli() -> None:
    assert dockerfile_instruction("ENTRYPOINT") == ["alcor"]
    parsed = main.parser().parse_args(dockerfile_instruction("CMD"))
    assert parsed.command == "server"


def test_the_image_carries_the_plugin_where_the_init_container_takes_it() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "python -m alcor.cni.bundle /opt/alcor/cni/alcor-cni" in dockerfile
    assert re.search(r"^USER 10001", dockerfile, re.MULTILINE)  # the controller is not root
    script = (KUBERNETES_DIR / "base" / "cni" / "install.sh").read_text()
    assert 'install -m 0755 "/opt/alcor/cni/$file" "/host/opt/cni/bin/.$file.new"' in script
    assert "/host/etc/cni/net.d/10-alcor.conflist" in script
    checked = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


# --- the network configuration the nodes get ------------------------------------------------


@pytest.mark.parametrize(
    "path",
    sorted(KUBERNETES_DIR.rglob("10-alcor.conflist")),
    ids=lambda path: str(path.relative_to(DEPLOY)),
)
def test_the_conflist_names_the_plugin_the_agent_s_status_file_and_chains_portmap(
    path: Path,
) -> None:
    conflist = json.loads(path.read_text())
    assert conflist["cniVersion"] == "1.0.0"
    alcor, portmap = conflist["plugins"]
    assert alcor["type"] == "alcor-cni"
    assert {"network", "api", "agent_status"} <= alcor.keys()
    assert alcor["agent_status"] == STATUS_FILE
    assert alcor.get("credentials", "/").startswith("/")  # a file path, never inline
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}}
    (agent,) = documents(KUBERNETES_DIR / "base" / "agent.yaml")
    args = container(agent)["args"]
    assert argument_value(args, "--status-file") == alcor["agent_status"]
    daemon = container(agent, "cni-daemon")
    assert argument_value(daemon["args"], "--socket") == alcor["daemon_socket"]
    mounted = {mount["mountPath"] for mount in daemon["volumeMounts"]}
    assert {"/run/alcor-cni", "/run/alcor-agent", "/run/netns"} <= mounted
    if "credentials" in alcor:
        assert str(Path(alcor["credentials"]).parent) in mounted


def test_the_install_script_fills_in_the_api_and_the_node(tmp_path: Path) -> None:
    """install.sh run for real on a fake node's folders: the plugin copied executable, the
    conflist written with the Service's address and the node's name, no temporary file left."""
    root, plugin_file = tmp_path / "root", tmp_path / "alcor-cni"
    plugin_file.write_text("#!/bin/sh\n")
    plugin_file.with_name("alcor-cni.pyz").write_text("#!/usr/bin/env python3\n")
    template = KUBERNETES_DIR / "base" / "cni" / "10-alcor.conflist"
    done = installed_on_a_fake_node(root, plugin_file, template)
    assert done.returncode == 0, done.stderr
    for plugin in (root / "host/opt/cni/bin").iterdir():
        assert plugin.stat().st_mode & 0o777 == 0o755
    conflist = json.loads((root / "host/etc/cni/net.d/10-alcor.conflist").read_text())
    assert conflist["plugins"][0]["api"] == "http://10.96.0.50:9696"
    assert conflist["plugins"][0]["host_id"] == "node-1"
    assert sorted(p.name for p in (root / "host/etc/cni/net.d").iterdir()) == ["10-alcor.conflist"]
    installed = sorted(p.name for p in (root / "host/opt/cni/bin").iterdir())
    assert installed == ["alcor-cni", "alcor-cni.pyz"]
    without = {k: v for k, v in NODE_ENVIRONMENT.items() if k != "ALCOR_API_SERVICE_HOST"}
    refused = installed_on_a_fake_node(root, plugin_file, template, environment=without)
    assert refused.returncode != 0
    assert "the alcor-api Service must exist before the agents start" in refused.stderr


# --- docs/kubernetes.md, which walks through these manifests --------------------------------

WALKTHROUGH = DEPLOY.parent / "docs" / "kubernetes.md"


def test_the_walkthrough_s_alcor_commands_parse_and_match_the_manifests() -> None:
    text = WALKTHROUGH.read_text()
    certs = [
        shlex.split(line.strip().removeprefix("alcor "))
        for line in text.splitlines()
        if line.strip().startswith("alcor certs ")
    ]
    assert certs
    parsed = [main.parser().parse_args(argv) for argv in certs]
    (controller,) = [args for args in parsed if getattr(args, "controller", None)]
    (agent,) = documents(KUBERNETES_DIR / "base" / "agent.yaml")
    args = container(agent)["args"]
    # the name the agents check is one the southbound's certificate carries
    assert argument_value(args, "--tls-server-name") in controller.san
    # the node's files are where the DaemonSet reads them, named as `alcor certs` names them
    volumes = {v["name"]: v for v in agent["spec"]["template"]["spec"]["volumes"]}
    folder = volumes["pki"]["hostPath"]["path"]
    assert f'"$node:{folder}/' in text
    assert argument_value(args, "--tls-cert") == f"{folder}/host-$(NODE_NAME).pem"
    # the Secrets the operator makes are made in the docs; alcor-db-app is CloudNativePG's
    for secret in SECRETS - {"alcor-db-app"}:
        assert f"create secret generic {secret}" in text
    for key in ("ca.pem", "tls.pem", "tls.key"):
        assert f"--from-file={key}=" in text
    assert f"controller-{controller.controller}.pem" in text


NODE_ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "NODE_NAME": "node-1",
    "ALCOR_API_SERVICE_HOST": "10.96.0.50",
    "ALCOR_API_SERVICE_PORT": "9696",
}


def installed_on_a_fake_node(
    root: Path, plugin: Path, conflist: Path, *, environment: dict[str, str] = NODE_ENVIRONMENT
) -> subprocess.CompletedProcess[str]:
    """install.sh run for real, with its paths moved under ``root``."""
    script = (KUBERNETES_DIR / "base" / "cni" / "install.sh").read_text()
    for folder in ("opt/alcor/cni", "etc/alcor/cni", "host/opt/cni/bin", "host/etc/cni/net.d"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for file in (plugin, plugin.with_name("alcor-cni.pyz")):
        shutil.copy(file, root / "opt/alcor/cni" / file.name)
    shutil.copy(conflist, root / "etc/alcor/cni/10-alcor.conflist")
    rooted = script
    for folder in ("/opt/alcor/", "/host/", "/etc/alcor/"):
        for before in (" ", '"'):
            rooted = rooted.replace(f"{before}{folder}", f"{before}{root}{folder}")
    return subprocess.run(
        ["sh", "-c", rooted], env=environment, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    "conflist",
    sorted(KUBERNETES_DIR.rglob("10-alcor.conflist")),
    ids=lambda path: str(path.relative_to(DEPLOY)),
)
def test_the_real_plugin_installed_so_takes_its_conflist(conflist: Path, tmp_path: Path) -> None:
    """The plugin file the image builds (``python -m alcor.cni.bundle``), installed by install.sh
    with the conflist, is called as a runtime calls it: VERSION, and STATUS, which reads the
    agent's status file (moved into the test's folder) for the node the conflist names."""
    bundle = tmp_path / "built" / "alcor-cni"
    bundle.parent.mkdir()
    subprocess.run([sys.executable, "-m", "alcor.cni.bundle", str(bundle)], check=True, timeout=60)
    root = tmp_path / "node"
    installed = installed_on_a_fake_node(root, bundle, conflist)
    assert installed.returncode == 0, installed.stderr
    written = json.loads((root / "host/etc/cni/net.d/10-alcor.conflist").read_text())
    config = {"cniVersion": written["cniVersion"], "name": written["name"], **written["plugins"][0]}
    status_file = tmp_path / "status.json"
    config["agent_status"] = str(status_file)

    def call(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(root / "host/opt/cni/bin/alcor-cni")],
            input=json.dumps(config),
            env={"CNI_COMMAND": command, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=30,
        )

    version = call("VERSION")
    assert version.returncode == 0, version.stdout
    assert "1.0.0" in json.loads(version.stdout)["supportedVersions"]
    status_file.write_text(
        json.dumps({"updated": time.time(), "hosts": {"node-1": {"connected": False}}})
    )
    waiting = call("STATUS")
    assert waiting.returncode != 0
    assert "'node-1'" in json.loads(waiting.stdout)["msg"]
    status_file.write_text(
        json.dumps({"updated": time.time(), "hosts": {"node-1": {"connected": True}}})
    )
    ready = call("STATUS")
    assert ready.returncode == 0, ready.stdout
