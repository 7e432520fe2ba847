"""The controller as the operator commands (``alcor hosts``, ``alcor ports``, ``alcor trace``)
reach it: where, as whom, and how a failure reads.

Where: ``--api URL``, else ``ALCOR_API``, else http://127.0.0.1:9696 (``api_url``, the one
place). As whom: Keystone credentials as the ``openstack`` CLI takes them (``--os-auth-url``,
``--os-username``, ``--os-password``, ``--os-project-name``, ``--os-user-domain-name``,
``--os-project-domain-name``, each defaulting to its ``OS_*`` variable; prefer the variables for
the password: argv is visible to other local users), through a keystoneauth1 session and its
password plugin; without an auth URL, the identity headers of the server's ``noauth`` mode, as
admin (of ``--os-project-id``, else ``admin``). Every failure (the controller unreachable, a
401 or 403, an unknown port) is ``Failed``: one line, exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from keystoneauth1 import exceptions as keystone_errors
from keystoneauth1 import session
from keystoneauth1.identity import generic
from rich.console import Console
from rich.table import Table

from alcor.cli import logs

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
    for flag, variable in _CREDENTIALS:
        keystone.add_argument(
            f"--os-{flag}", metavar=variable, default=None, help=f"(else ${variable})"
        )
    logs.add_options(command, level="warning")


def api_url(args: argparse.Namespace) -> str:
    """``--api``, which the configuration layer fills from ``ALCOR_API`` or the file."""
    url: str = args.api or DEFAULT_API
    return url.rstrip("/")


def _credential(args: argparse.Namespace, flag: str, variable: str) -> str:
    given = getattr(args, "os_" + flag.replace("-", "_"), None)
    return str(given or os.environ.get(variable, ""))


class Api:
    """GETs on the controller's ``/v2.0`` through one keystoneauth1 session."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.url = api_url(args)
        if not self.url.startswith(("http://", "https://")):
            raise Failed(f"--api: expected http(s)://HOST:PORT, got {self.url!r}")
        found = {flag: _credential(args, flag, variable) for flag, variable in _CREDENTIALS}
        self.headers: dict[str, str] = {"Accept": "application/json"}
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
        self.session = session.Session(auth=auth, timeout=args.timeout)

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
