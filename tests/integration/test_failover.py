"""The database's own failover: a PostgreSQL primary with a synchronous streaming standby, the
controller given both (libpq's several hosts, ``target_session_attrs=read-write``). The primary
dies under load and the standby is promoted, as Patroni or CloudNativePG would: requests during
the switch get a 503 (never a 500, never a hang), the controller finds the new primary by itself,
and nothing it acknowledged is lost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alcor.model import errors
from alcor.model.records import Network
from alcor.store.committing import SqlStore
from tests import databases
from tests.servers import ServerProcess

WRITERS = 4


@pytest.fixture
def primary() -> Iterator[databases.PostgresCluster]:
    """A cluster of this test's own: it stops and starts it."""
    yield from databases.private_cluster()


@pytest.fixture
def standby(primary: databases.PostgresCluster) -> Iterator[databases.PostgresCluster]:
    made = primary.standby()
    yield made
    made.stop()


class Load:
    """Writers creating networks through the API until stopped; what was acknowledged."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acknowledged: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._write, args=(n,)) for n in range(WRITERS)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join()

    def _write(self, writer: int) -> None:
        with httpx.Client(base_url=self.url + "/v2.0", timeout=30.0) as api:
            for number in range(100_000):
                if self.stop.is_set():
                    return
                name = f"w{writer}-{number}"
                response = api.post("/networks", json={"network": {"name": name}})
                with self._lock:
                    self.statuses[response.status_code] += 1
                    if response.status_code == 201:
                        self.acknowledged.append(name)
                if response.status_code == 503:
                    time.sleep(0.05)

    def acked_since(self, mark: int) -> int:
        with self._lock:
            return len(self.acknowledged) - mark


def wait_for(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_promoting_the_standby_under_load_loses_nothing_acknowledged(
    primary: databases.PostgresCluster, standby: databases.PostgresCluster, tmp_path: Path
) -> None:
    primary.create_database("failover")
    wait_for(lambda: "failover" in standby.sql("SELECT datname FROM pg_database"), "replication")
    primary.synchronous()
    both = f"127.0.0.1:{primary.port},127.0.0.1:{standby.port}"
    url = f"postgresql://postgres@{both}/failover?target_session_attrs=read-write"
    server = ServerProcess(tmp_path / "alcor.db", db_url=url, southbound="off").start()
    try:
        with Load(server.url) as load:
            wait_for(lambda: load.acked_since(0) >= 50, "writes before the failover")
            primary.halt()
            standby.promote()
            mark = len(load.acknowledged)
            wait_for(lambda: load.acked_since(mark) >= 50, "writes after the failover")
        assert set(load.statuses) <= {201, 503}, load.statuses
        with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as api:
            names = Counter(n["name"] for n in api.get("/networks").json()["networks"])
        lost = [name for name in load.acknowledged if names[name] != 1]
        assert lost == [], f"{len(lost)} acknowledged networks lost or doubled: {lost[:5]}"
        assert standby.sql("SELECT pg_is_in_recovery()", "failover").strip() == "f"
    finally:
        server.stop()
    logged = [line for line in server.errors_logged().splitlines() if "alcor.api" in line]
    assert logged == []


def test_a_listener_for_other_processes_commits_follows_the_promoted_standby(
    primary: databases.PostgresCluster, standby: databases.PostgresCluster
) -> None:
    """The southbound's LISTEN connection dies with the primary: it connects again, to the
    promoted standby, wakes once for what it may have missed, and hears the next commit."""
    primary.create_database("listen")
    wait_for(lambda: "listen" in standby.sql("SELECT datname FROM pg_database"), "replication")
    primary.synchronous()
    both = f"127.0.0.1:{primary.port},127.0.0.1:{standby.port}"
    url = f"postgresql://postgres@{both}/listen?target_session_attrs=read-write"

    async def scenario() -> None:
        here, elsewhere = SqlStore(url), SqlStore(url)
        loop = asyncio.get_running_loop()
        wakes: asyncio.Queue[None] = asyncio.Queue()
        stop = here.wakeups(lambda: loop.call_soon_threadsafe(wakes.put_nowait, None))
        await asyncio.wait_for(wakes.get(), 60)  # listening (60 s: only a guard on a hang)
        primary.halt()
        standby.promote()
        await asyncio.wait_for(wakes.get(), 60)  # nothing written: listening again
        net = Network(id="n-after", project_id="p", created_at="t", updated_at="t")
        while True:
            try:
                await elsewhere.write(lambda w: w.insert([net]))
                break
            except errors.Unavailable:  # its writer finds the new primary too
                await asyncio.sleep(0.1)
        await asyncio.wait_for(wakes.get(), 60)  # the NOTIFY of that commit
        stop()
        await here.close()
        await elsewhere.close()

    asyncio.run(scenario())
