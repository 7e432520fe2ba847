"""Logging as ``logs.configure`` sets it up: JSON lines with the request's id and project, levels
per component, and no secret in any line, whatever logs it (a message, its arguments, an
exception)."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alcor.api import request_ids
from alcor.cli import logs, main, masking

DB_PASSWORD = "db-pa55word"
TOKEN = "gAAAAABk-the-users-token"


@pytest.fixture(autouse=True)
def _root_restored() -> Iterator[None]:
    """``configure`` replaces the root logger's handlers: put back pytest's."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in ("alcor.southbound", "alcor.api"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def configured(tmp_path: Path, *flags: str) -> Path:
    path = tmp_path / "alcor.log"
    args = main.parser().parse_args(["server", "--log-file", str(path), *flags])
    logs.configure(args)
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_json_line_carries_the_request_its_logger_level_and_exception(tmp_path: Path) -> None:
    path = configured(tmp_path, "--log-format", "json")
    token = request_ids.CURRENT.set(request_ids.RequestContext("req-1", project="p1"))
    try:
        try:
            raise ValueError("no such subnet")
        except ValueError:
            logging.getLogger("alcor.api.dispatch").exception("request %s failed", "GET /x")
    finally:
        request_ids.CURRENT.reset(token)
    logging.getLogger("alcor").info("outside a request")
    inside, outside = lines(path)
    assert inside["request_id"] == "req-1"
    assert inside["project"] == "p1"
    assert (inside["level"], inside["logger"]) == ("ERROR", "alcor.api.dispatch")
    assert inside["message"] == "request GET /x failed"
    assert "ValueError: no such subnet" in inside["exception"]
    assert "request_id" not in outside
    assert outside["message"] == "outside a request"


def test_a_text_line_shows_the_request_between_logger_and_message(tmp_path: Path) -> None:
    path = configured(tmp_path)
    token = request_ids.CURRENT.set(request_ids.RequestContext("req-2", project="p2"))
    try:
        logging.getLogger("alcor").warning("slow")
    finally:
        request_ids.CURRENT.reset(token)
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert path.read_text().rstrip().endswith("WARNING alcor [req-2 p2] slow")


def test_a_component_logs_at_its_own_level(tmp_path: Path) -> None:
    path = configured(
        tmp_path,
        "--log-format",
        "json",
        "--log-level",
        "warning",
        "--logger-level",
        "alcor.southbound=debug",
    )
    logging.getLogger("alcor.southbound.serving").debug("southbound detail")
    logging.getLogger("alcor.api").debug("api detail")
    logging.getLogger("alcor.api").info("api info")
    assert [line["message"] for line in lines(path)] == ["southbound detail"]


def test_no_secret_reaches_the_log_whatever_carries_it(tmp_path: Path) -> None:
    """The attack: a careless line logs a request's headers, a database URL, a Keystone
    option, and an exception whose text holds the URL."""
    path = configured(tmp_path, "--log-format", "json", "--log-level", "debug")
    url = f"postgresql+psycopg://alcor:{DB_PASSWORD}@db.example:5432/alcor"
    log = logging.getLogger("alcor.careless")
    log.debug("headers %s", {"X-Auth-Token": TOKEN, "Content-Type": "application/json"})
    log.debug("raw headers %r", [(b"x-auth-token", TOKEN.encode())])
    log.info("X-Subject-Token: %s", TOKEN)
    log.info("connecting to %s", url)
    log.info("keystone options %s", "password=" + DB_PASSWORD)
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        log.exception("store down")
    text = path.read_text()
    assert TOKEN not in text
    assert DB_PASSWORD not in text
    assert len(lines(path)) == 6
    assert "postgresql+psycopg://alcor:***@db.example:5432/alcor" in text


def test_a_log_file_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    args = main.parser().parse_args(["server", "--log-file", str(tmp_path / "no" / "x.log")])
    with pytest.raises(main.startup.CannotStart, match=r"cannot write the log file .*x\.log"):
        logs.configure(args)


def test_the_log_options_refuse_what_they_cannot_use() -> None:
    for bad in (["--logger-level", "alcor=loud"], ["--logger-level", "debug"]):
        with pytest.raises(SystemExit):
            main.parser().parse_args(["server", *bad])
    args = argparse.Namespace()  # a command without logging options: warnings to stderr
    logs.configure(args)
    assert logging.getLogger().level == logging.WARNING


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://alcor:pw@db/alcor", "postgresql://alcor:***@db/alcor"),
        ("X-Auth-Token: abc", "X-Auth-Token: ***"),
        ("{'x-auth-token': 'abc'}", "{'x-auth-token': '***'}"),
        ('{"password": "abc"}', '{"password": "***"}'),
        ("password=abc rest", "password=*** rest"),
        ("sqlite:///var/lib/alcor.db", "sqlite:///var/lib/alcor.db"),
        ("GET /v2.0/ports 200 1.2ms", "GET /v2.0/ports 200 1.2ms"),
    ],
)
def test_masking(text: str, masked: str) -> None:
    assert masking.mask(text) == masked


def test_a_bare_keystone_token_is_masked_wherever_it_stands() -> None:
    fernet = "gAAAAABpZ" + "x1-_" * 20
    jws = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"
    masked = masking.mask(f"Could not find token: {fernet}. Also {jws} here")
    assert masked == "Could not find token: ***. Also *** here"
