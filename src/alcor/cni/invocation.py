"""One invocation: the command, the container's environment and the network configuration,
checked before anything is made (a bad one is the spec's error and leaves nothing)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from alcor.cni.errors import (
    INCOMPATIBLE_VERSION,
    INVALID_CONFIG,
    INVALID_ENVIRONMENT,
    UNDECODABLE,
    UNKNOWN_CONTAINER,
    CniError,
)

SUPPORTED_VERSIONS = ("0.4.0", "1.0.0", "1.1.0")
NEWEST = SUPPORTED_VERSIONS[-1]
COMMANDS = ("ADD", "DEL", "CHECK", "STATUS", "VERSION", "GC")
TYPE = "alcor-cni"
AGENT_STATUS = "/run/alcor-agent/status.json"  # `alcor agent --status-file` on the node
STATE_DIR = "/run/alcor-cni"  # locks per container, the cached Keystone token
ACTIVE_TIMEOUT = 30.0  # seconds ADD waits for the port to be ACTIVE
SECRETS = ("password", "token", "secret", "application_credential_secret", "auth")
MAX_IFNAME = 15


class Config(NamedTuple):
    """The network configuration's keys this plugin reads (the rest are the runtime's)."""

    version: str
    name: str
    network: str
    api: str
    host_id: str = ""
    security_groups: tuple[str, ...] | None = None  # None: the project's default group
    project: str = ""
    credentials: str = ""  # a file: the Keystone credentials (controller.Credentials)
    agent_status: str = AGENT_STATUS
    state_dir: str = STATE_DIR
    active_timeout: float = ACTIVE_TIMEOUT
    node_access: bool = True  # the node gets a port of the network, to reach its pods
    prev_result: Mapping[str, Any] | None = None
    valid_attachments: tuple[tuple[str, str], ...] = ()  # GC: (container id, ifname)


class Container(NamedTuple):
    """``CNI_CONTAINERID``, ``CNI_NETNS``, ``CNI_IFNAME`` and the pod from ``CNI_ARGS``."""

    id: str
    netns: str
    ifname: str
    pod_name: str = ""
    pod_namespace: str = ""


class Invocation(NamedTuple):
    command: str
    config: Config
    container: Container | None  # ADD, DEL and CHECK only


def versions() -> dict[str, Any]:
    """VERSION's answer (runtimes ask it of every plugin before every command: it imports
    nothing more)."""
    return {"cniVersion": NEWEST, "supportedVersions": list(SUPPORTED_VERSIONS)}


def command_of(environ: Mapping[str, str]) -> str:
    command = environ.get("CNI_COMMAND", "")
    if command not in COMMANDS:
        raise CniError(
            INVALID_ENVIRONMENT,
            f"CNI_COMMAND must be one of {', '.join(COMMANDS)}",
            f"got {command!r}",
        )
    return command


def version_of(text: str) -> str:
    """The configuration's ``cniVersion`` if it can be read, for the error's own: the spec
    answers in the version it was asked in."""
    try:
        found = json.loads(text).get("cniVersion", NEWEST)
    except (ValueError, AttributeError):
        return NEWEST
    return found if found in SUPPORTED_VERSIONS else NEWEST


def parse(environ: Mapping[str, str], text: str) -> Invocation:
    command = command_of(environ)
    raw = _document(text)
    config = _config(raw, command)
    container = _container(environ, command) if command in ("ADD", "DEL", "CHECK") else None
    return Invocation(command=command, config=config, container=container)


def _document(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError as error:
        raise CniError(UNDECODABLE, "the network configuration is not JSON", str(error)) from None
    if not isinstance(found, dict):
        raise CniError(UNDECODABLE, "the network configuration must be a JSON object")
    return found


def _config(raw: dict[str, Any], command: str) -> Config:
    version = raw.get("cniVersion")
    if version not in SUPPORTED_VERSIONS:
        raise CniError(
            INCOMPATIBLE_VERSION,
            f"cniVersion {version!r} is not supported",
            f"supported: {', '.join(SUPPORTED_VERSIONS)}",
        )
    inline = sorted(key for key in raw if key in SECRETS)
    if inline:
        raise CniError(
            INVALID_CONFIG,
            f"{', '.join(inline)} must not be in the network configuration",
            "give Keystone credentials by file path, in 'credentials'",
        )
    if raw.get("type") != TYPE:
        raise CniError(INVALID_CONFIG, f"'type' must be {TYPE!r}", f"got {raw.get('type')!r}")
    strings = {
        key: _string(raw, key, required=key in ("network", "api") and command != "VERSION")
        for key in (
            "name",
            "network",
            "api",
            "host_id",
            "project",
            "credentials",
            "agent_status",
            "state_dir",
        )
    }
    api = strings["api"]
    if api and not api.startswith(("http://", "https://")):
        raise CniError(INVALID_CONFIG, "'api' must be an http:// or https:// URL", api)
    groups = raw.get("security_groups")
    if groups is not None and (
        not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups)
    ):
        raise CniError(INVALID_CONFIG, "'security_groups' must be a list of ids or names")
    timeout = raw.get("active_timeout", ACTIVE_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise CniError(INVALID_CONFIG, "'active_timeout' must be a positive number of seconds")
    node_access = raw.get("node_access", True)
    if not isinstance(node_access, bool):
        raise CniError(INVALID_CONFIG, "'node_access' must be true or false", repr(node_access))
    prev = raw.get("prevResult")
    if prev is not None and not isinstance(prev, dict):
        raise CniError(INVALID_CONFIG, "'prevResult' must be an object")
    return Config(
        version=version,
        name=strings["name"],
        network=strings["network"],
        api=api.rstrip("/"),
        host_id=strings["host_id"],
        security_groups=tuple(groups) if groups is not None else None,
        project=strings["project"],
        credentials=strings["credentials"],
        agent_status=strings["agent_status"] or AGENT_STATUS,
        state_dir=strings["state_dir"] or STATE_DIR,
        active_timeout=float(timeout),
        node_access=node_access,
        prev_result=prev,
        valid_attachments=_attachments(raw) if command == "GC" else (),
    )


def _string(raw: dict[str, Any], key: str, *, required: bool) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise CniError(INVALID_CONFIG, f"'{key}' must be a string", f"got {value!r}")
    if required and not value:
        raise CniError(INVALID_CONFIG, f"the network configuration has no '{key}'")
    return value


def _attachments(raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    found = raw.get("cni.dev/valid-attachments", [])
    if not isinstance(found, list):
        raise CniError(INVALID_CONFIG, "'cni.dev/valid-attachments' must be a list")
    pairs = []
    for attachment in found:
        if not isinstance(attachment, dict) or not isinstance(attachment.get("containerID"), str):
            raise CniError(
                INVALID_CONFIG, "each valid attachment must have a 'containerID'", repr(attachment)
            )
        pairs.append((attachment["containerID"], str(attachment.get("ifname", ""))))
    return tuple(pairs)


def _container(environ: Mapping[str, str], command: str) -> Container:
    container_id = environ.get("CNI_CONTAINERID", "")
    ifname = environ.get("CNI_IFNAME", "")
    netns = environ.get("CNI_NETNS", "")
    if not container_id:
        raise CniError(INVALID_ENVIRONMENT, "CNI_CONTAINERID is not set")
    if not ifname or len(ifname) > MAX_IFNAME or "/" in ifname or ifname.strip() != ifname:
        raise CniError(
            INVALID_ENVIRONMENT,
            f"CNI_IFNAME must be an interface name of 1 to {MAX_IFNAME} characters",
            f"got {ifname!r}",
        )
    if command != "DEL":  # DEL may come after the namespace is gone
        if not netns:
            raise CniError(INVALID_ENVIRONMENT, f"CNI_NETNS is not set (required by {command})")
        if not os.path.exists(netns):
            raise CniError(UNKNOWN_CONTAINER, f"the network namespace {netns} does not exist")
    args = _args(environ.get("CNI_ARGS", ""))
    return Container(
        id=container_id,
        netns=netns,
        ifname=ifname,
        pod_name=args.get("K8S_POD_NAME", ""),
        pod_namespace=args.get("K8S_POD_NAMESPACE", ""),
    )


def _args(text: str) -> dict[str, str]:
    """``CNI_ARGS``: ``KEY=VALUE`` pairs separated by semicolons."""
    found = {}
    for pair in text.split(";"):
        key, separator, value = pair.partition("=")
        if separator:
            found[key.strip()] = value.strip()
        elif pair.strip():
            raise CniError(INVALID_ENVIRONMENT, "CNI_ARGS must be KEY=VALUE pairs", repr(pair))
    return found
