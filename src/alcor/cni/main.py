"""The entry point, as a runtime calls it: ``CNI_*`` in the environment, the configuration on
stdin; the result (or nothing) on stdout and status 0, or the spec's error and status 1.
Nothing is ever a traceback: what no branch expected is an I/O failure with its text.

``handoff`` gives the invocation to the node's CNI daemon when one listens at ``daemon_socket``
(``daemon``), which calls ``run`` here; otherwise, or for VERSION, it calls ``answer`` and this
process does the work itself.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from alcor.cni import invocation
from alcor.cni.errors import IO_FAILURE, CniError

if TYPE_CHECKING:
    from alcor.cni.controller import Controller
    from alcor.cni.daemon import Pool
    from alcor.cni.node_ports import Known


def answer(environ: Mapping[str, str], text: str) -> int:
    """Run the invocation in this process, printing to stdout (``handoff`` tried the daemon)."""
    return run(environ, io.StringIO(text), sys.stdout)


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
    known = pool.known(config.api, **where)
    with pool.controller(config.api, **where) as controller:
        return _work(called, controller, waiter=watcher.wait, known=known)


def _work(
    called: invocation.Invocation,
    controller: Controller,
    *,
    waiter: Callable[[str, float], bool] | None = None,
    known: Known | None = None,
) -> dict[str, Any] | None:
    from alcor.cni import commands

    config, container = called.config, called.container
    if called.command == "GC":
        commands.gc(config, controller)
        return None
    assert container is not None
    if called.command == "ADD":
        return commands.add(config, container, controller, waiter=waiter, known=known)
    if called.command == "DEL":
        commands.delete(config, container, controller)
        return None
    commands.check(config, container, controller)
    return None


def _write(stdout: TextIO, document: dict[str, Any]) -> None:
    stdout.write(json.dumps(document))
    stdout.write("\n")
    stdout.flush()
