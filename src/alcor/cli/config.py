"""``alcor config check FILE`` and ``alcor config show [COMMAND...]``.

``check`` reads a configuration file as a command would at start (every table and key against
the options of its command) and exits 0, or 2 with the one line saying what is wrong. ``show``
prints a command's effective configuration (``server`` unless named: ``alcor config show agent``,
``alcor config show nodes load``) from its defaults, the file (``--config`` or ``ALCOR_CONFIG``)
and the ``ALCOR_*`` variables, each value with where it came from; secrets are masked.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from alcor.cli import configuration, masking

EXIT_INVALID = 2


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = commands.add_parser(
        "config", help="check a configuration file, or show a command's effective configuration"
    )
    actions = config.add_subparsers(dest="config_command", required=True)
    check = actions.add_parser("check", help="check a TOML file: exit 0, or 2 and why")
    check.add_argument("file", type=Path, metavar="FILE")
    show = actions.add_parser(
        "show", help="a command's configuration (file, ALCOR_* variables, defaults), masked"
    )
    show.add_argument(
        "shown", nargs="*", metavar="COMMAND", help="the command (server), e.g. agent, nodes load"
    )
    show.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"the configuration file ({configuration.FILE_VARIABLE})",
    )


def _rendered(value: object) -> str:
    """A value as TOML writes it; a default that is a pair (HOST:PORT, FIRST:LAST) as the
    option takes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, tuple):
        return _rendered(":".join(str(part) for part in value))
    if isinstance(value, list):
        return "[" + ", ".join(_rendered(item) for item in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def lines(
    top: argparse.ArgumentParser,
    path: configuration.Path_,
    settings: Mapping[str, configuration.Setting],
) -> list[str]:
    """``key = value  # source`` for every option of the command, secrets masked."""
    rows: list[tuple[str, str]] = []
    for key, action in sorted(configuration.options(configuration.commands(top)[path]).items()):
        setting = settings.get(key)
        if setting is not None:
            value, source = setting.given, setting.source
        elif action.nargs == 0:
            value, source = False, "default"
        else:
            value, source = action.default, "default"
        if value is None or value == []:
            rows.append((f"# {key} =", f"# {source}: not set"))
            continue
        shown = _rendered(value)
        if masking.is_secret(key) and value != "":
            shown = f'"{masking.MASK}"'
        rows.append((f"{key} = {masking.mask(shown)}", f"# {source}"))
    width = max(len(left) for left, _ in rows)
    return [f"[{'.'.join(path)}]", *(f"{left:<{width}}  {right}" for left, right in rows)]


def main(
    args: argparse.Namespace,
    *,
    top: argparse.ArgumentParser,
    argv: Sequence[str],
    environ: Mapping[str, str] = os.environ,
) -> int:
    try:
        if args.config_command == "check":
            configuration.check(top, args.file)
            print(f"{args.file}: ok")
            return 0
        path = tuple(args.shown) or ("server",)
        if path not in configuration.commands(top):
            raise configuration.ConfigError(f"no command `alcor {' '.join(path)}`")
        file = configuration.file_from(argv, environ)
        settings = configuration.settings(top, path, file=file, environ=environ)
    except configuration.ConfigError as error:
        print(f"alcor config: error: {error}", file=sys.stderr)
        return EXIT_INVALID
    print("\n".join(lines(top, path, settings)))
    return 0
