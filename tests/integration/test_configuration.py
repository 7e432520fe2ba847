"""``alcor server`` configured by a TOML file and ``ALCOR_*`` variables alone, as a systemd unit
or a container runs it; and a bad file stopping it before it opens anything."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from alcor.lab.controllers import free_port
from tests.integration.test_startup import assert_refused


@contextlib.contextmanager
def running(*args: str, environ: dict[str, str], url: str) -> Iterator[subprocess.Popen[bytes]]:
    """``alcor server ARGS`` until it answers ``url``; stopped (SIGTERM) afterwards."""
    command = [sys.executable, "-m", "alcor.cli.main", "server", *args]
    process = subprocess.Popen(
        command, env={**os.environ, **environ}, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode() if process.stderr else "")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(url, timeout=1.0)
                break
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_server_takes_its_port_store_and_quota_from_the_file_and_the_environment(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = tmp_path / "alcor.toml"
    config.write_text(
        "[logging]\n"
        'log-level = "warning"\n'
        "[server]\n"
        f'bind = "127.0.0.1:{port}"\n'
        'southbound = "off"\n'
        'db = "sqlite:///not-this-one.db"\n'
        'quota = ["network=1"]\n'
    )
    store = tmp_path / "from-the-environment.db"
    environ = {"ALCOR_CONFIG": str(config), "ALCOR_SERVER_DB": f"sqlite:///{store}"}
    url = f"http://127.0.0.1:{port}"
    with running(environ=environ, url=url):
        first = httpx.post(f"{url}/v2.0/networks", json={"network": {"name": "one"}})
        second = httpx.post(f"{url}/v2.0/networks", json={"network": {"name": "two"}})
    assert first.status_code == 201, first.text
    assert second.status_code == 409, second.text  # the file's quota of one network
    assert store.exists()
    assert not (tmp_path / "not-this-one.db").exists()


def test_a_flag_beats_the_file_for_the_port(tmp_path: Path) -> None:
    port, other = free_port(), free_port()
    config = tmp_path / "alcor.toml"
    config.write_text(
        f'[server]\nbind = "127.0.0.1:{other}"\nsouthbound = "off"\n'
        f'db = "sqlite:///{tmp_path / "alcor.db"}"\n'
    )
    url = f"http://127.0.0.1:{port}"
    with running("--config", str(config), "--bind", f"127.0.0.1:{port}", environ={}, url=url):
        assert httpx.get(f"{url}/v2.0/networks").status_code == 200
        with contextlib.suppress(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{other}/", timeout=1.0)
            raise AssertionError("the file's port answers too")


def test_a_bad_file_stops_the_server_before_it_opens_its_store(tmp_path: Path) -> None:
    config = tmp_path / "alcor.toml"
    store = tmp_path / "alcor.db"
    config.write_text(f'[server]\ndb = "sqlite:///{store}"\nsync = "sometimes"\n')
    command = [sys.executable, "-m", "alcor.cli.main", "server", "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert_refused(result, str(config), "[server] sync", "'sometimes'")
    assert not store.exists()
    environ = {**os.environ, "ALCOR_SERVER_SOUTHBOUND": "nowhere"}
    command = [sys.executable, "-m", "alcor.cli.main", "server", "--db", f"sqlite:///{store}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environ)
    assert_refused(result, "ALCOR_SERVER_SOUTHBOUND", "'nowhere'")
