"""Settings from a TOML file and ``ALCOR_*`` environment variables, beneath the command line.

The argparse parsers are the one schema: a key is the long name of one of its command's options,
and its value goes through that option's own ``type`` and ``choices``, so a new flag is a key
with no code here. Precedence, lowest first: the option's default, the file, the environment,
the command line.

    # alcor.toml (--config FILE, or ALCOR_CONFIG)
    [logging]                      # options every command that has them takes
    log-format = "json"
    [server]                       # `alcor server`'s options
    db = "postgresql+psycopg://alcor:secret@db/alcor"
    bind = "0.0.0.0:9696"
    quota = ["port=1000", "router=-1"]   # a repeatable option: a list (or one value)
    access-log = true                    # a flag: true or false
    [nodes.load]                   # a subcommand's table is nested in its command's

The environment: ``ALCOR_<COMMAND>_<OPTION>``, upper case, ``-`` as ``_`` (``ALCOR_SERVER_DB``,
``ALCOR_NODES_LOAD_CHUNK``, ``ALCOR_LOGGING_LOG_FORMAT``); a repeatable option's words are
split as a shell splits them, a flag is true/false/yes/no/1/0. A variable under a command's
prefix that names none of its options is an error, like an unknown key, but for the ones
Kubernetes writes into every pod for each Service of its namespace (a Service ``alcor-server``
gives ``ALCOR_SERVER_SERVICE_HOST``, ``ALCOR_SERVER_PORT`` and the like), which are left alone.
``ALCOR_API`` sets the ``--api`` of any command that has one (beneath ``ALCOR_<COMMAND>_API``).

Layers replace, never merge: a repeatable option given on the command line replaces the list
of the environment, which replaces the file's. Every error (unreadable file, bad TOML, unknown
table or key, wrong type, bad value) is one ``ConfigError`` line naming the file or variable
and the key.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shlex
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILE_VARIABLE = "ALCOR_CONFIG"
SHARED = "logging"  # the table whose keys apply to every command that has the option
NOT_CONFIGURED = frozenset({"config"})  # commands that take no settings
SHORT_VARIABLES = {"ALCOR_API": "api"}  # variables for an option of every command that has it
_NOT_KEYS = frozenset({"help", "config"})
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
# what Kubernetes' service links add after a Service's name (docker links' form): not options
SERVICE_LINK = re.compile(
    r"SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?"
)

Path_ = tuple[str, ...]  # a command's path: ("server",), ("nodes", "load")


class ConfigError(Exception):
    """One line: where (file or variable), which key, what is wrong."""


@dataclass(frozen=True)
class Setting:
    """One option's value from a file or the environment."""

    key: str  # the option's long name without "--"
    given: object  # as written: a TOML value, or the variable's text
    source: str  # the file's path or the variable's name
    table: str  # where in the file ("server", "nodes.load", "logging"); "" for a variable

    @property
    def where(self) -> str:
        return f"{self.source}: [{self.table}] {self.key}" if self.table else self.source


# --- the schema: argparse's parsers ----------------------------------------------------------


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def commands(top: argparse.ArgumentParser) -> dict[Path_, argparse.ArgumentParser]:
    """Every command that takes options, by its path (leaves and intermediate ones alike)."""
    found: dict[Path_, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: Path_) -> None:
        for name, sub in subcommands(parser).items():
            if name not in NOT_CONFIGURED:
                found[(*path, name)] = sub
                walk(sub, (*path, name))

    walk(top, ())
    return found


def options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """A command's options by key (long name without ``--``)."""
    return {
        name.removeprefix("--"): action
        for action in parser._actions
        for name in action.option_strings
        if name.startswith("--") and action.dest not in _NOT_KEYS
    }


def shared_options(top: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The keys of the ``[logging]`` table: the logging group's options, any command's."""
    found: dict[str, argparse.Action] = {}
    for parser in commands(top).values():
        for group in parser._action_groups:
            if group.title == SHARED:
                for action in group._group_actions:
                    found.update(options_of(action))
    return found


def options_of(action: argparse.Action) -> dict[str, argparse.Action]:
    return {name.removeprefix("--"): action for name in action.option_strings if "--" in name}


def command_path(top: argparse.ArgumentParser, argv: Sequence[str]) -> Path_:
    """The command an argument list runs (``()`` when it names none): the first words that
    are subcommands (commands with subcommands take no options that take values but
    ``--config``)."""
    path: Path_ = ()
    parser = top
    for word in _early().parse_known_args(argv)[1]:
        if word.startswith("-"):
            continue
        found = subcommands(parser).get(word)
        if found is None:
            break
        path, parser = (*path, word), found
    return path


def _early() -> argparse.ArgumentParser:
    """A parser of ``--config`` alone, wherever it stands."""
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    early.add_argument("--config", type=Path)
    return early


def file_from(argv: Sequence[str], environ: Mapping[str, str]) -> Path | None:
    """``--config FILE`` wherever it stands, else ``ALCOR_CONFIG``."""
    known, _ = _early().parse_known_args(argv)
    if known.config is not None:
        return Path(known.config)
    named = environ.get(FILE_VARIABLE, "")
    return Path(named) if named else None


# --- values ----------------------------------------------------------------------------------


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _text(given: object, where: str) -> str:
    if isinstance(given, str):
        return given
    if isinstance(given, int | float) and not isinstance(given, bool):
        return str(given)
    raise ConfigError(f"{where}: expected a string or a number, got {_kind(given)}")


def _typed(action: argparse.Action, text: str, where: str) -> object:
    convert: Any = action.type if callable(action.type) else str
    try:
        value = convert(text)
    except argparse.ArgumentTypeError as error:
        raise ConfigError(f"{where}: {error}") from None
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: invalid value {text!r}") from None
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(repr(choice) for choice in action.choices)
        raise ConfigError(f"{where}: invalid choice {text!r} (choose from {choices})")
    return value


def _flag(action: argparse.Action, given: object, where: str) -> object:
    if isinstance(given, str) and given.strip().lower() in _TRUE | _FALSE:
        given = given.strip().lower() in _TRUE
    if not isinstance(given, bool):
        raise ConfigError(f"{where}: expected true or false, got {_kind(given)}")
    return action.const if given else action.default


def repeatable(action: argparse.Action) -> bool:
    return isinstance(action, argparse._AppendAction)  # append and extend


def convert(action: argparse.Action, given: object, *, where: str) -> object:
    """``given`` (from a file or a variable) as the option's value, or ``ConfigError``."""
    if action.nargs == 0:  # store_true, store_false, store_const
        return _flag(action, given, where)
    if repeatable(action):
        items = given if isinstance(given, list) else [given]
        values = [_typed(action, _text(item, where), where) for item in items]
        if isinstance(action, argparse._ExtendAction):
            return [part for value in values for part in _iterable(value)]
        return values
    if action.nargs is not None:
        raise ConfigError(f"{where}: cannot be set here, only on the command line")
    text = _text(given, where)
    _typed(action, text, where)
    return text  # argparse converts a default that is text, as it does a flag's


def _iterable(value: object) -> Iterator[object]:
    yield from value if isinstance(value, list | tuple) else [value]


# --- the file --------------------------------------------------------------------------------


def read(path: Path) -> dict[str, Any]:
    """The TOML file, or ``ConfigError`` saying why it cannot be read."""
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 text") from None


def check(top: argparse.ArgumentParser, path: Path) -> dict[Path_, dict[str, Setting]]:
    """Every table of the file checked against its command: the settings by command path
    (the ``[logging]`` table's under ``()``), or ``ConfigError``."""
    known = commands(top)
    found: dict[Path_, dict[str, Setting]] = {}
    for name, body in read(path).items():
        if name == SHARED:
            found[()] = _table(body, keys=shared_options(top), table=SHARED, path=path)
        elif (name,) in known:
            _command_table(body, command=(name,), known=known, path=path, found=found)
        elif isinstance(body, dict):
            tables = ", ".join(sorted({SHARED, *(p[0] for p in known if len(p) == 1)}))
            raise ConfigError(f"{path}: [{name}]: unknown table (tables: {tables})")
        else:
            raise ConfigError(
                f"{path}: {name}: unknown key (keys go in their command's table, e.g. [server])"
            )
    return found


def _command_table(
    body: object,
    *,
    command: Path_,
    known: dict[Path_, argparse.ArgumentParser],
    path: Path,
    found: dict[Path_, dict[str, Setting]],
) -> None:
    name = ".".join(command)
    if not isinstance(body, dict):
        raise ConfigError(f"{path}: {name}: expected a table [{name}], got {_kind(body)}")
    own = {key: given for key, given in body.items() if (*command, key) not in known}
    found[command] = _table(own, keys=options(known[command]), table=name, path=path)
    for key, given in body.items():
        if (*command, key) in known:
            _command_table(given, command=(*command, key), known=known, path=path, found=found)


def _table(
    body: object, *, keys: dict[str, argparse.Action], table: str, path: Path
) -> dict[str, Setting]:
    if not isinstance(body, dict):
        raise ConfigError(f"{path}: {table}: expected a table [{table}], got {_kind(body)}")
    settings = {}
    for key, given in body.items():
        setting = Setting(key=key, given=given, source=str(path), table=table)
        if key not in keys:
            raise ConfigError(f"{setting.where}: unknown key{_near(key, keys)}")
        convert(keys[key], given, where=setting.where)
        settings[key] = setting
    return settings


# --- the environment -------------------------------------------------------------------------


def variable_prefix(path: Path_) -> str:
    return "ALCOR_" + "_".join(part.upper().replace("-", "_") for part in path) + "_"


def variable(path: Path_, key: str) -> str:
    return variable_prefix(path) + key.upper().replace("-", "_")


def environment(
    top: argparse.ArgumentParser, path: Path_, environ: Mapping[str, str]
) -> dict[str, Setting]:
    """The variables of the command ``path``, of ``[logging]`` and the short ones
    (``ConfigError`` for one under the command's or ``[logging]``'s prefix that names no
    option). A variable belongs to the longest command prefix it has: ``ALCOR_AGENT_HEALTH_...``
    is ``agent-health``'s, not ``agent``'s."""
    known = commands(top)
    owners = {variable_prefix(p): p for p in known} | {variable_prefix((SHARED,)): (SHARED,)}
    own = options(known[path])
    found = {
        key: _variable(own[key], key=key, name=name, text=environ[name])
        for name, key in SHORT_VARIABLES.items()
        if name in environ and key in own
    }
    for owner, keys in (((SHARED,), shared_options(top)), (path, own)):  # later ones win
        prefix = variable_prefix(owner)
        for name in sorted(environ):
            if not name.startswith(prefix):
                continue
            if owners[max((p for p in owners if name.startswith(p)), key=len)] != owner:
                continue
            rest = name.removeprefix(prefix)
            key = rest.lower().replace("_", "-")
            if key not in keys and SERVICE_LINK.fullmatch(rest):
                continue
            if key not in keys:
                raise ConfigError(f"{name}: unknown variable (no option --{key}{_near(key, keys)})")
            found[key] = _variable(keys[key], key=key, name=name, text=environ[name])
    return found


def _variable(action: argparse.Action, *, key: str, name: str, text: str) -> Setting:
    given: object = text
    if repeatable(action):
        try:
            given = shlex.split(text)
        except ValueError as error:
            raise ConfigError(f"{name}: cannot split it into words: {error}") from None
    convert(action, given, where=name)
    return Setting(key=key, given=given, source=name, table="")


def _near(key: str, keys: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(keys), n=1)
    return f"; did you mean {close[0]}?" if close else ""


# --- applying them ---------------------------------------------------------------------------


def settings(
    top: argparse.ArgumentParser,
    path: Path_,
    *,
    file: Path | None,
    environ: Mapping[str, str],
) -> dict[str, Setting]:
    """The command's settings by key, later layers replacing earlier ones: the file's
    ``[logging]``, the file's own table, ``ALCOR_LOGGING_*``, the command's variables. Keys of
    ``[logging]`` the command lacks are left out. The whole file is checked."""
    found: dict[str, Setting] = {}
    if file is not None:
        tables = check(top, file)
        found.update(tables.get((), {}))
        found.update(tables.get(path, {}))
    found.update(environment(top, path, environ))
    keys = options(commands(top)[path])
    return {key: setting for key, setting in found.items() if key in keys}


@dataclass(frozen=True)
class Applied:
    """What the settings did to a command's parser, to finish its parse with."""

    repeatable: dict[str, list[object]]  # dest: the configured list

    def finish(self, args: argparse.Namespace) -> None:
        """A repeatable option given on the command line replaces the configured list
        (argparse appends the flags' values to the default)."""
        for dest, configured in self.repeatable.items():
            value = getattr(args, dest)
            if isinstance(value, list) and len(value) > len(configured):
                setattr(args, dest, value[len(configured) :])


def apply(parser: argparse.ArgumentParser, settings: Mapping[str, Setting]) -> Applied:
    """Make the settings the options' defaults (an option they give is no longer required)."""
    keys = options(parser)
    lists: dict[str, list[object]] = {}
    for key, setting in settings.items():
        action = keys[key]
        action.default = convert(action, setting.given, where=setting.where)
        action.required = False
        if repeatable(action):
            lists[action.dest] = list(action.default)
    return Applied(repeatable=lists)


def configure(
    top: argparse.ArgumentParser, argv: Sequence[str], environ: Mapping[str, str]
) -> Applied:
    """Apply the file's and the environment's settings to the command ``argv`` runs."""
    path = command_path(top, argv)
    if not path or path[0] in NOT_CONFIGURED or path not in commands(top):
        return Applied(repeatable={})
    found = settings(top, path, file=file_from(argv, environ), environ=environ)
    return apply(commands(top)[path], found)


def add_option(top: argparse.ArgumentParser) -> None:
    """``--config FILE`` on ``alcor`` and on every command."""
    parsers = [top, *commands(top).values()]
    for parser in parsers:
        parser.add_argument(
            "--config",
            metavar="FILE",
            type=Path,
            help=f"TOML file of settings, beneath ALCOR_* variables and flags ({FILE_VARIABLE}; "
            "docs/operations.md)",
        )
