"""``alcor server`` that cannot start says why in one line naming the file or address, exits with
status 2, and prints no traceback: a corrupt or foreign database file, a store of a newer alcor,
a directory it cannot write in, an address in use (HTTP and southbound), a bad ``--db`` URL.
And a database it refuses is left as it was."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alcor.lab.controllers import free_port
from tests.servers import ServerProcess


def start(
    *args: str, db: str | None = None, southbound: str = "off"
) -> subprocess.CompletedProcess[str]:
    """``alcor server`` as an operator runs it, with its default log level."""
    command = [
        sys.executable,
        "-m",
        "alcor.cli.main",
        "server",
        "--bind",
        f"127.0.0.1:{free_port()}",
        "--southbound",
        southbound,
        *(("--db", db) if db is not None else ()),
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def assert_refused(result: subprocess.CompletedProcess[str], *named: str) -> str:
    """Exit status 2 and one line on stderr naming what it could not use, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("alcor server: error: "), line
    for name in named:
        assert name in line, line
    return line


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    """A real store a server made and left (stopped cleanly)."""
    path = tmp_path / "alcor.db"
    server = ServerProcess(path).start()
    server.stop()
    return path


def test_a_file_of_random_bytes_is_not_a_database(tmp_path: Path) -> None:
    corrupt = tmp_path / "alcor.db"
    content = bytes(range(256)) * 40
    corrupt.write_bytes(content)
    line = assert_refused(start(db=sqlite_url(corrupt)), str(corrupt))
    assert "not an SQLite database" in line
    assert corrupt.read_bytes() == content


def test_a_text_file_is_not_a_database(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("remember the milk\n")
    line = assert_refused(start(db=sqlite_url(text)), str(text))
    assert "not an SQLite database" in line
    assert text.read_text() == "remember the milk\n"


def test_a_store_with_corrupt_pages_is_refused(tmp_path: Path, store_file: Path) -> None:
    """The header survives, the schema's pages do not."""
    with store_file.open("r+b") as f:
        f.seek(100)
        f.write(b"\xa5" * 3000)
    line = assert_refused(start(db=sqlite_url(store_file)), str(store_file))
    assert "corrupt" in line


def test_another_applications_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    """Not migrated into: no alcor table is added to it."""
    foreign = tmp_path / "app.db"
    with contextlib.closing(sqlite3.connect(foreign)) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO users (name) VALUES ('ada')")
        db.commit()
    line = assert_refused(start(db=sqlite_url(foreign)), str(foreign))
    assert "not an alcor store" in line
    with contextlib.closing(sqlite3.connect(foreign)) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert tables == ["users"]
        assert db.execute("SELECT name FROM users").fetchall() == [("ada",)]


def test_a_store_of_a_newer_alcor_names_the_migration(store_file: Path) -> None:
    with contextlib.closing(sqlite3.connect(store_file)) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
        db.commit()
    line = assert_refused(start(db=sqlite_url(store_file)), str(store_file))
    assert "migration 9999" in line
    with contextlib.closing(sqlite3.connect(store_file)) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("9999",)]


def test_an_existing_store_starts_again(store_file: Path) -> None:
    """Regression: the check refuses only what is not ours; a store keeps what it holds."""
    server = ServerProcess(store_file).start()
    try:
        created = httpx.post(f"{server.url}/v2.0/networks", json={"network": {"name": "kept"}})
        assert created.status_code == 201, created.text
    finally:
        server.stop()
    again = ServerProcess(store_file).start()
    try:
        shown = httpx.get(f"{again.url}/v2.0/networks", params={"name": "kept"})
        assert [n["name"] for n in shown.json()["networks"]] == ["kept"]
    finally:
        again.stop()
    assert "Traceback" not in again.errors_logged()


def test_a_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "alcor.db"
    line = assert_refused(start(db=sqlite_url(missing)), str(missing))
    assert f"no directory {missing.parent}" in line
    assert not missing.parent.exists()


def test_a_file_where_the_directory_should_be(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    line = assert_refused(start(db=sqlite_url(blocker / "alcor.db")), str(blocker))
    assert "is not a directory" in line


@contextlib.contextmanager
def unwritable(directory: Path) -> Iterator[None]:
    """A directory nobody may create files in: immutable for root (who ignores modes),
    mode 0555 for anyone else."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a directory unwritable")
    if subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable attribute (chattr +i)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_an_unwritable_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    with unwritable(locked):
        line = assert_refused(start(db=sqlite_url(locked / "alcor.db")), str(locked))
    assert f"directory {locked} is not writable" in line
    assert list(locked.iterdir()) == []


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another process's socket listens on."""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_http_address_in_use(tmp_path: Path, taken_port: int) -> None:
    db = tmp_path / "alcor.db"
    result = start("--bind", f"127.0.0.1:{taken_port}", db=sqlite_url(db))
    line = assert_refused(result, f"127.0.0.1:{taken_port}", "--bind")
    assert "address already in use" in line
    assert not db.exists()  # the address is taken before the store is touched


def test_southbound_address_in_use(tmp_path: Path, taken_port: int) -> None:
    result = start(db=sqlite_url(tmp_path / "alcor.db"), southbound=f"127.0.0.1:{taken_port}")
    line = assert_refused(result, f"127.0.0.1:{taken_port}", "--southbound")
    assert "address already in use" in line


def test_southbound_socket_in_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "alcor.sock"
    result = start(db=sqlite_url(tmp_path / "alcor.db"), southbound=f"unix:{path}")
    assert_refused(result, f"unix:{path}", "--southbound")


def test_the_second_server_on_one_address_is_refused(tmp_path: Path) -> None:
    """The everyday case: a server already runs there."""
    first = ServerProcess(tmp_path / "first.db").start()
    try:
        result = start("--bind", f"127.0.0.1:{first.port}", db=sqlite_url(tmp_path / "second.db"))
        assert_refused(result, f"127.0.0.1:{first.port}", "address already in use")
        result = start(db=sqlite_url(tmp_path / "third.db"), southbound=first.southbound)
        assert_refused(result, first.southbound, "--southbound", "address already in use")
    finally:
        first.stop()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("not a url", "is not a database URL"),
        ("nosuchdb://host/db", "is not a database URL"),
    ],
)
def test_a_bad_db_url(url: str, said: str) -> None:
    line = assert_refused(start(db=url), repr(url))
    assert said in line


def test_a_url_whose_driver_is_missing_hides_its_password() -> None:
    line = assert_refused(start(db="mysql://alcor:s3cret@db.example/alcor"), "db.example")
    assert "driver is not installed" in line
    assert "s3cret" not in line


def test_a_url_with_a_bad_port_is_refused_without_its_password() -> None:
    line = assert_refused(start(db="postgresql://alcor:s3cret@db.example:notaport/alcor"), "--db")
    assert "is not a database URL" in line
    assert "s3cret" not in line


def test_an_unreachable_failover_pair_is_named_without_its_password() -> None:
    url = "postgresql://alcor:s3cret@127.0.0.1:1,127.0.0.1:2/alcor?target_session_attrs=read-write"
    line = assert_refused(start(db=url), "host=127.0.0.1%3A1&host=127.0.0.1%3A2")
    assert "s3cret" not in line


def test_half_of_the_southbound_tls_options_is_refused(tmp_path: Path) -> None:
    southbound = f"127.0.0.1:{free_port()}"
    result = start(
        "--southbound-tls-ca", str(tmp_path / "ca.pem"),
        db=sqlite_url(tmp_path / "alcor.db"), southbound=southbound,
    )  # fmt: skip
    assert "go together" in assert_refused(result, "--southbound-tls-cert")


def test_a_southbound_process_with_no_southbound_address(tmp_path: Path) -> None:
    db = tmp_path / "alcor.db"
    result = start("--role", "southbound", db=sqlite_url(db), southbound="off")
    assert_refused(result, "--role southbound", "--southbound")
    assert not db.exists()  # said before the store is touched


def test_a_southbound_process_needs_no_http_address(tmp_path: Path, taken_port: int) -> None:
    """``--bind`` is not used: a taken one does not stop it (it is stopped once it serves)."""
    server = ServerProcess(
        tmp_path / "alcor.db", "--bind", f"127.0.0.1:{taken_port}", role="southbound"
    )
    try:
        server.start()
    finally:
        server.stop()
    assert server.process is not None
    assert server.process.returncode == 0  # stopped by SIGTERM, cleanly
