"""Logging for every command, configured in one place (``configure``) from its options.

    --log-level LEVEL              the level of everything (each command has its default)
    --logger-level LOGGER=LEVEL    one component's, repeatable: alcor.southbound=debug
    --log-format text|json         json: one object per line (time, level, logger, message,
                                   request_id and project in a request, exception)
    --log-file PATH                instead of stderr, rotated at --log-max-bytes, keeping
                                   --log-backups files (PATH.1 the newest)
    --access-log                   (alcor server) one line per request on alcor.access

Every line is masked (``masking``): a secret in a message, a URL or an exception never reaches
the log. A line emitted while a request is handled carries its id and project
(``api.request_ids``).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import logging.handlers
import sys
from pathlib import Path
from typing import Any

import msgspec

from alcor.api import request_ids
from alcor.cli import configuration, masking, startup

LEVELS = ("debug", "info", "warning", "error")
TEXT = "%(asctime)s %(levelname)s %(name)s%(request)s %(message)s"
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5


def _logger_level(text: str) -> tuple[str, str]:
    name, equals, level = text.partition("=")
    if not equals or not name.strip() or level.strip().lower() not in LEVELS:
        raise argparse.ArgumentTypeError(
            f"expected LOGGER=LEVEL with a level of {', '.join(LEVELS)}, got {text!r}"
        )
    return name.strip(), level.strip().lower()


def _not_negative(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected zero or more, got {text!r}")
    return int(text)


def add_options(parser: argparse.ArgumentParser, *, level: str, access_log: bool = False) -> None:
    """The logging options of a command (the ``[logging]`` table's keys)."""
    group = parser.add_argument_group(configuration.SHARED, "where log lines go and which")
    group.add_argument(
        "--log-level",
        default=level,
        choices=LEVELS,
        help=f"the level of every logger without one of its own ({level})",
    )
    group.add_argument(
        "--logger-level",
        type=_logger_level,
        action="append",
        default=[],
        metavar="LOGGER=LEVEL",
        help="the level of one component (a logger and those below it), repeatable, e.g. "
        "alcor.southbound=debug, alcor.access=warning",
    )
    group.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text lines, or JSON lines (one object per line) (text)",
    )
    group.add_argument("--log-file", type=Path, metavar="PATH", help="instead of stderr")
    group.add_argument(
        "--log-max-bytes",
        type=_not_negative,
        default=MAX_BYTES,
        metavar="N",
        help=f"--log-file is rotated when it would pass N bytes; 0: never ({MAX_BYTES})",
    )
    group.add_argument(
        "--log-backups",
        type=_not_negative,
        default=BACKUPS,
        metavar="N",
        help=f"rotated files kept, PATH.1 (the newest) to PATH.N ({BACKUPS})",
    )
    if access_log:
        group.add_argument(
            "--access-log",
            action="store_true",
            help="one line per HTTP request (logger alcor.access): method, path, status, "
            "duration, request id and project",
        )


class RequestFilter(logging.Filter):
    """Puts the request being handled, if any, on the record (``request_id``, ``project``,
    and ``request``: both as text, or nothing)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = request_ids.CURRENT.get()
        record.request_id = context.request_id if context else ""
        record.project = context.project if context else ""
        record.request = f" [{context.request_id} {context.project or '-'}]" if context else ""
        return True


class MaskedText(logging.Formatter):
    """Text lines, secrets masked."""

    def __init__(self) -> None:
        super().__init__(TEXT)

    def format(self, record: logging.LogRecord) -> str:
        return masking.mask(super().format(record))


class JsonLines(logging.Formatter):
    """One JSON object per line, secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": masking.mask(record.getMessage()),
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            line["request_id"] = request_id
            line["project"] = getattr(record, "project", "")
        line.update(
            {name: getattr(record, name) for name in ACCESS_FIELDS if hasattr(record, name)}
        )
        if record.exc_info:
            line["exception"] = masking.mask(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = masking.mask(self.formatStack(record.stack_info))
        return msgspec.json.encode(line).decode()


def _handler(args: argparse.Namespace) -> logging.Handler:
    path: Path | None = getattr(args, "log_file", None)
    if path is None:
        return logging.StreamHandler(sys.stderr)
    try:
        return logging.handlers.RotatingFileHandler(
            path,
            maxBytes=getattr(args, "log_max_bytes", MAX_BYTES),
            backupCount=getattr(args, "log_backups", BACKUPS),
            encoding="utf-8",
        )
    except OSError as error:
        raise startup.CannotStart(
            f"cannot write the log file {path} (--log-file): {error.strerror or error}"
        ) from None


def configure(args: argparse.Namespace) -> None:
    """Logging as the command's options say (``startup.CannotStart`` if the file cannot be
    opened); the only place logging is configured."""
    handler = _handler(args)
    handler.addFilter(RequestFilter())
    json = getattr(args, "log_format", "text") == "json"
    handler.setFormatter(JsonLines() if json else MaskedText())
    level = getattr(args, "log_level", "warning").upper()
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name, component in getattr(args, "logger_level", []):
        logging.getLogger(name).setLevel(component.upper())
