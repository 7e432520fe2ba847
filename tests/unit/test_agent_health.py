"""``alcor agent-health``'s judgement of a status document: fresh and every host connected is
healthy; anything else says why in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alcor.cli import main
from alcor.cli.agent_health import verdict

NOW = 1_000_000.0


def document(*, age: float = 0.5, **hosts: dict[str, object]) -> dict[str, object]:
    return {"updated": NOW - age, "totals": {}, "hosts": hosts}


def test_a_fresh_file_with_every_host_connected_is_healthy() -> None:
    healthy = document(h1={"connected": True}, h2={"connected": True})
    assert verdict(healthy, now=NOW, max_age=5) == ""


def test_a_stale_file_is_not_healthy_even_if_it_says_connected() -> None:
    stale = document(age=20, h1={"connected": True})
    assert verdict(stale, now=NOW, max_age=5) == "stale: last updated 20 s ago (more than 5 s)"
    assert verdict(stale, now=NOW, max_age=5, fresh_only=True).startswith("stale")


def test_a_disconnected_host_is_named_with_its_last_error() -> None:
    waiting = document(
        h1={"connected": True},
        h2={"connected": False, "last_error": "UNAVAILABLE: connection refused\nmore"},
    )
    assert verdict(waiting, now=NOW, max_age=5) == (
        "not connected to a controller: h2 (last error: UNAVAILABLE: connection refused)"
    )
    assert verdict(waiting, now=NOW, max_age=5, fresh_only=True) == ""


def test_many_disconnected_hosts_are_counted_not_all_listed() -> None:
    many = document(**{f"P{i}": {"connected": False} for i in range(8)})
    assert verdict(many, now=NOW, max_age=5) == (
        "not connected to a controller: P0, P1, P2, P3, P4 and 3 more "
        "(last error: no error reported yet)"
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ([], "not a status document (expected a JSON object)"),
        ({"hosts": {}}, "not a status document (no 'updated' time or 'hosts')"),
        ({"updated": NOW, "hosts": {}}, "no host in the status file"),
    ],
)
def test_what_is_not_a_status_document_is_said(text: object, why: str) -> None:
    assert verdict(text, now=NOW, max_age=5) == why


def test_the_command_exits_1_with_one_line_for_a_missing_or_broken_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "status.json"
    assert main.main(["agent-health", "--status-file", str(missing)]) == 1
    assert capsys.readouterr().err == (
        f"alcor agent-health: no status file {missing} (is the agent running with --status-file?)\n"
    )
    missing.write_text("{not json")
    assert main.main(["agent-health", "--status-file", str(missing)]) == 1
    assert capsys.readouterr().err.startswith(f"alcor agent-health: {missing} is not JSON")


def test_max_age_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main.main(["agent-health", "--status-file", "x", "--max-age", "0"])
    assert "expected a positive number of seconds" in capsys.readouterr().err


def test_the_probe_module_runs_alone_without_loading_the_controller(tmp_path: Path) -> None:
    status = tmp_path / "status.json"
    status.write_text('{"updated": 1e12, "hosts": {"h1": {"connected": true}}}')  # the future
    probe = [sys.executable, "-m", "alcor.cli.agent_health", "--status-file", str(status)]
    assert subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, alcor.cli.agent_health; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert "'alcor.cli.agent_health'" in loaded
    assert "alcor.api" not in loaded
    assert "grpc" not in loaded
    assert "sqlalchemy" not in loaded
