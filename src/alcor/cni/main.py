"""The entry point, as a runtime calls it: ``CNI_*`` in the environment, the configuration on
stdin; the result (or nothing) on stdout and status 0, or the spec's error and status 1.
Nothing is ever a traceback: what no branch expected is an I/O failure with its text.

The invocation goes to the node's CNI daemon when one listens at ``daemon_socket`` (``daemon``:
what runs once per pod is then this module, ``json`` and a socket); otherwise, or for VERSION,
this process does the work itself. The heavier modules are imported only then.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from alcor.cni import invocation
from alcor.cni.errors import IO_FAILURE, CniError

if TYPE_CHECKING:
    from alcor.cni.controller import Controller
    from alcor.cni.daemon import Pool


def main() -> None:
    environ = {key: value for key, value in os.environ.items() if key.startswith("CNI_")}
    command = environ.get("CNI_COMMAND")
    text = sys.stdin.read() if command != "VERSION" or not sys.stdin.isatty() else ""
    if command != "VERSION":
        answer = _from_daemon(environ, text)
        if answer is not None:
            sys.stdout.write(str(answer["stdout"]))
            sys.exit(int(answer["status"]))
    sys.exit(run(environ, io.StringIO(text), sys.stdout))


def run(
    environ: Mapping[str, str], stdin: TextIO, stdout: TextIO, *, pool: Pool | None = None
) -> int:
    text = stdin.read()
    asked = invocation.version_of(text)
    try:
        found = _dispatch(environ, text, pool)
    except CniError as error:
        _write(stdout, error.document(asked))
        return 1
    except Exception as error:  # the runtime gets the spec's error, never a traceback
        _write(stdout, CniError(IO_FAILURE, f"alcor-cni failed: {error!r}").document(asked))
        return 1
    if found is not None:
        _write(stdout, found)
    return 0


def _from_daemon(environ: dict[str, str], text: str) -> dict[str, Any] | None:
    try:
        path = json.loads(text).get("daemon_socket", invocation.DAEMON_SOCKET)
    except (ValueError, AttributeError):
        return None  # run() answers what is wrong with it
    if not isinstance(path, str) or not path:
        return None
    from alcor.cni import client

    try:
        return client.ask(path, environ, text)
    except (OSError, ValueError):
        return None  # a daemon that failed mid-answer: do the work here


def _dispatch(environ: Mapping[str, str], text: str, pool: Pool | None) -> dict[str, Any] | None:
    if invocation.command_of(environ) == "VERSION":
        return invocation.versions()
    from alcor.cni import commands
    from alcor.cni.controller import Controller

    called = invocation.parse(environ, text)
    config = called.config
    if called.command == "STATUS":
        commands.status(config)
        return None
    if pool is None:
        controller = Controller(
            config.api, credentials=config.credentials, state_dir=config.state_dir
        )
        try:
            return _work(called, controller)
        finally:
            controller.close()
    where = {"credentials": config.credentials, "state_dir": config.state_dir}
    watcher = pool.watcher(config.api, **where)
    with pool.controller(config.api, **where) as controller:
        return _work(called, controller, waiter=watcher.wait)


def _work(
    called: invocation.Invocation,
    controller: Controller,
    *,
    waiter: Callable[[str, float], bool] | None = None,
) -> dict[str, Any] | None:
    from alcor.cni import commands

    config, container = called.config, called.container
    if called.command == "GC":
        commands.gc(config, controller)
        return None
    assert container is not None
    if called.command == "ADD":
        return commands.add(config, container, controller, waiter=waiter)
    if called.command == "DEL":
        commands.delete(config, container, controller)
        return None
    commands.check(config, container, controller)
    return None


def _write(stdout: TextIO, document: dict[str, Any]) -> None:
    stdout.write(json.dumps(document))
    stdout.write("\n")
    stdout.flush()
