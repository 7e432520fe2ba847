"""The controller as the operator commands (``alcor hosts``, ``alcor ports``, ``alcor trace``)
reach it: where, as whom, and how a failure reads.

Where: ``--api URL``, else ``ALCOR_API``, else the network endpoint of a cloud's catalog (with
``--os-cloud``), else http://127.0.0.1:9696 (``api_url``, the one place). As whom: Keystone
credentials as the ``openstack`` CLI takes them: a cloud of ``clouds.yaml`` (``--os-cloud`` or
``OS_CLOUD``, read by openstacksdk's own loader: the same files, ``secure.yaml`` and
``OS_CLIENT_CONFIG_FILE``), or ``--os-auth-url``, ``--os-username``, ``--os-password``,
``--os-project-name``, ``--os-user-domain-name``, ``--os-project-domain-name``, each defaulting
to its ``OS_*`` variable (prefer the variables for the password: argv is visible to other local
users), through a keystoneauth1 session and its password plugin; with neither, the identity
headers of the server's ``noauth`` mode, as admin (of ``--os-project-id``, else ``admin``).
Every failure (the controller unreachable, a 401 or 403, an unknown port, an unknown cloud) is
``Failed``: one line, exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from keystoneauth1 import exceptions as keystone_errors
from keystoneauth1 import session
from keystoneauth1.identity import generic
from rich.console import Console
from rich.table import Table

from alcor.cli import logs

if TYPE_CHECKING:
    from openstack.config.cloud_region import CloudRegion

DEFAULT_API = "http://127.0.0.1:9696"
_CREDENTIALS = (  # flag, environment variable
    ("auth-url", "OS_AUTH_URL"),
    ("username", "OS_USERNAME"),
    ("password", "OS_PASSWORD"),
    ("project-name", "OS_PROJECT_NAME"),
    ("project-id", "OS_PROJECT_ID"),
    ("user-domain-name", "OS_USER_DOMAIN_NAME"),
    ("project-domain-name", "OS_PROJECT_DOMAIN_NAME"),
)


class Failed(Exception):
    """What went wrong, in one line for the operator."""


def add_options(command: argparse.ArgumentParser) -> None:
    """``--api``, ``--json``, the ``--os-*`` credentials and the logging options."""
    command.add_argument(
        "--api",
        metavar="URL",
        default=None,
        help=f"the controller's Neutron API (else $ALCOR_API, else {DEFAULT_API})",
    )
    command.add_argument(
        "--json", action="store_true", help="machine-readable output (stable keys)"
    )
    command.add_argument("--timeout", type=float, default=30.0, metavar="S", help="per request")
    keystone = command.add_argument_group(
        "Keystone", "as the openstack CLI takes them; none: noauth identity headers, as admin"
    )
    keystone.add_argument(
        "--os-cloud",
        metavar="OS_CLOUD",
        default=None,
        help="a cloud of clouds.yaml (else $OS_CLOUD)",
    )
    for flag, variable in _CREDENTIALS:
        keystone.add_argument(
            f"--os-{flag}", metavar=variable, default=None, help=f"(else ${variable})"
        )
    logs.add_options(command, level="warning")


def api_url(args: argparse.Namespace, *, catalog: str = "") -> str:
    """``--api``, which the configuration layer fills from ``ALCOR_API`` or the file, else the
    ``catalog``'s network endpoint."""
    url: str = args.api or catalog or DEFAULT_API
    return url.rstrip("/")


def _credential(args: argparse.Namespace, flag: str, variable: str) -> str:
    given = getattr(args, "os_" + flag.replace("-", "_"), None)
    return str(given or os.environ.get(variable, ""))


class Api:
    """GETs on the controller's ``/v2.0`` through one keystoneauth1 session."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.headers: dict[str, str] = {"Accept": "application/json"}
        cloud = _credential(args, "cloud", "OS_CLOUD")
        if cloud:
            region = _cloud_region(cloud)
            self.session = region.get_session()
            self.session.timeout = args.timeout
            self.url = api_url(args, catalog="" if args.api else _network_endpoint(region))
        else:
            self.url = api_url(args)
            self.session = self._password_session(args)
        if not self.url.startswith(("http://", "https://")):
            raise Failed(f"--api: expected http(s)://HOST:PORT, got {self.url!r}")

    def _password_session(self, args: argparse.Namespace) -> session.Session:
        found = {flag: _credential(args, flag, variable) for flag, variable in _CREDENTIALS}
        auth = None
        if found["auth-url"]:
            auth = generic.Password(
                auth_url=found["auth-url"],
                username=found["username"],
                password=found["password"],
                project_name=found["project-name"] or None,
                project_id=found["project-id"] or None,
                user_domain_name=found["user-domain-name"] or "Default",
                project_domain_name=found["project-domain-name"] or "Default",
            )
        else:
            self.headers |= {"X-Project-Id": found["project-id"] or "admin", "X-Roles": "admin"}
        return session.Session(auth=auth, timeout=args.timeout)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        url = f"{self.url}/v2.0{path}"
        try:
            response = self.session.get(
                url, headers=self.headers, params=dict(params or {}), raise_exc=False
            )
        except keystone_errors.Unauthorized as error:
            raise Failed(f"Keystone refused the credentials: {error}") from None
        except keystone_errors.ConnectFailure:
            raise Failed(f"cannot reach the controller at {self.url}") from None
        except keystone_errors.ClientException as error:
            raise Failed(f"{url}: {error}") from None
        if response.status_code >= 400:
            raise Failed(f"GET {path}: {response.status_code} {_error_text(response.content)}")
        try:
            return response.json()
        except ValueError:
            raise Failed(f"GET {path}: the answer is not JSON") from None


def _cloud_region(cloud: str) -> CloudRegion:
    """The cloud of clouds.yaml, read by openstacksdk (imported here: a third of a second that
    every other ``alcor`` command would pay at start)."""
    from openstack import exceptions as sdk_errors
    from openstack.config import OpenStackConfig

    try:
        return OpenStackConfig().get_one(cloud=cloud)
    except sdk_errors.ConfigException as error:
        raise Failed(f"--os-cloud {cloud}: {error}") from None


def _network_endpoint(region: CloudRegion) -> str:
    """The network service's endpoint in the cloud's catalog (logging in to Keystone)."""
    try:
        endpoint = region.get_session_endpoint("network")
    except keystone_errors.Unauthorized as error:
        raise Failed(f"Keystone refused the credentials: {error}") from None
    except keystone_errors.ClientException as error:
        raise Failed(f"cannot find the network endpoint in the catalog: {error}") from None
    if not endpoint:
        raise Failed("the cloud's catalog has no network endpoint: give --api")
    return str(endpoint)


def _error_text(payload: bytes) -> str:
    try:
        error = json.loads(payload)["NeutronError"]
        return f"{error['type']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return payload.decode(errors="replace").strip()[:300]


def show(
    args: argparse.Namespace,
    *,
    command: str,
    fetch: Callable[[Api, argparse.Namespace], list[dict[str, Any]]],
    table: Callable[[list[dict[str, Any]]], Table],
) -> int:
    """Run a listing command: its rows as ``{command: rows}`` with ``--json``, else a table."""
    try:
        found = fetch(Api(args), args)
    except Failed as error:
        return failed(command, error)
    if args.json:
        print_json({command: found})
    else:
        Console().print(table(found))
    return 0


def print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, sort_keys=True))


def failed(command: str, error: Failed) -> int:
    print(f"alcor {command}: error: {error}", file=sys.stderr)
    return 1
