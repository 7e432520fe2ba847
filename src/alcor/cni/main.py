"""The entry point, as a runtime calls it: ``CNI_*`` in the environment, the configuration on
stdin; the result (or nothing) on stdout and status 0, or the spec's error and status 1.
Nothing is ever a traceback: what no branch expected is an I/O failure with its text."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from alcor.cni import commands, invocation
from alcor.cni.controller import Controller
from alcor.cni.errors import IO_FAILURE, CniError


def main() -> None:
    sys.exit(run(os.environ, sys.stdin, sys.stdout))


def run(environ: Mapping[str, str], stdin: TextIO, stdout: TextIO) -> int:
    text = stdin.read() if environ.get("CNI_COMMAND") != "VERSION" or not stdin.isatty() else ""
    asked = invocation.version_of(text)
    try:
        found = _dispatch(environ, text)
    except CniError as error:
        _write(stdout, error.document(asked))
        return 1
    except Exception as error:  # the runtime gets the spec's error, never a traceback
        _write(stdout, CniError(IO_FAILURE, f"alcor-cni failed: {error!r}").document(asked))
        return 1
    if found is not None:
        _write(stdout, found)
    return 0


def _dispatch(environ: Mapping[str, str], text: str) -> dict[str, Any] | None:
    if invocation.command_of(environ) == "VERSION":
        return commands.version()
    called = invocation.parse(environ, text)
    config, container = called.config, called.container
    if called.command == "STATUS":
        commands.status(config)
        return None
    controller = Controller(config.api, credentials=config.credentials, state_dir=config.state_dir)
    try:
        if called.command == "GC":
            commands.gc(config, controller)
            return None
        assert container is not None
        if called.command == "ADD":
            return commands.add(config, container, controller)
        if called.command == "DEL":
            commands.delete(config, container, controller)
            return None
        commands.check(config, container, controller)
        return None
    finally:
        controller.close()


def _write(stdout: TextIO, document: dict[str, Any]) -> None:
    stdout.write(json.dumps(document))
    stdout.write("\n")
    stdout.flush()
