"""``alcor nodes load FILE`` as a user runs it, against a real ``alcor server``: JSON and YAML,
bulk chunks with a (rich) progress bar on stderr, an idempotent re-load (unchanged nodes skipped,
changed ones updated), and the exit statuses of a file or a node that cannot be loaded."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.servers import ServerProcess


def alcor_load(server: ServerProcess, path: Path, *more: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "alcor.cli.main", "nodes", "load", str(path)]
    return subprocess.run(
        [*command, "--controller-url", server.url, *more],
        capture_output=True,
        text=True,
        timeout=120,
    )


def listed(api: httpx.Client, prefix: str) -> dict[str, dict[str, Any]]:
    nodes = api.get("/nodes").json()["nodes"]
    return {n["name"]: n for n in nodes if n["name"].startswith(prefix)}


def test_a_json_file_loads_in_chunks_with_progress_and_loads_again_idempotently(
    server: ServerProcess, api: httpx.Client, tmp_path: Path
) -> None:
    prefix = f"load-{uuid.uuid4().hex[:6]}-"
    nodes = [
        {"name": f"{prefix}{i}", "underlay_ip": f"10.{i // 250}.{i % 250}.1"} for i in range(2500)
    ]
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps(nodes))
    done = alcor_load(server, path, "--chunk", "1000")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2500 nodes: 2500 created, 0 updated, 0 unchanged in ")
    progress = done.stderr.splitlines()  # into a pipe: the last state, once
    assert len(progress) == 1
    assert progress[0].startswith("nodes 2500/2500 ")
    assert " 100% " in progress[0]
    found = listed(api, prefix)
    assert len(found) == 2500
    assert found[f"{prefix}2499"]["underlay_ip"] == "10.9.249.1"

    again = alcor_load(server, path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("2500 nodes: 0 created, 0 updated, 2500 unchanged")
    assert listed(api, prefix) == found

    nodes[7]["underlay_ip"] = "10.99.0.7"
    nodes[8]["description"] = "rack 8"
    nodes.append({"name": f"{prefix}new", "underlay_ip": "10.99.0.99"})
    path.write_text(json.dumps({"nodes": nodes}))
    changed = alcor_load(server, path, "--quiet")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.startswith("2501 nodes: 1 created, 2 updated, 2498 unchanged")
    assert changed.stderr == ""
    after = listed(api, prefix)
    assert after[f"{prefix}7"]["underlay_ip"] == "10.99.0.7"
    assert after[f"{prefix}8"]["description"] == "rack 8"
    assert after[f"{prefix}8"]["id"] == found[f"{prefix}8"]["id"]


def test_a_yaml_file_loads(server: ServerProcess, api: httpx.Client, tmp_path: Path) -> None:
    prefix = f"yaml-{uuid.uuid4().hex[:6]}-"
    path = tmp_path / "nodes.yaml"
    path.write_text(
        "nodes:\n"
        f"  - name: {prefix}a\n    underlay_ip: 192.0.2.31\n    mac_address: AA-BB-CC-00-00-31\n"
        f"  - {{name: {prefix}b, underlay_ip: '2001:db8::32', admin_state_up: false}}\n"
    )
    done = alcor_load(server, path)
    assert done.returncode == 0, done.stderr
    found = listed(api, prefix)
    assert found[f"{prefix}a"]["mac_address"] == "aa:bb:cc:00:00:31"
    assert (found[f"{prefix}b"]["underlay_ip"], found[f"{prefix}b"]["admin_state_up"]) == (
        "2001:db8::32",
        False,
    )


def test_what_cannot_be_loaded_is_said_and_the_exit_status_tells(
    server: ServerProcess, api: httpx.Client, tmp_path: Path
) -> None:
    prefix = f"bad-{uuid.uuid4().hex[:6]}-"
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    done = alcor_load(server, broken)
    assert done.returncode == 2
    assert "not valid JSON" in done.stderr

    refused = tmp_path / "refused.json"
    nodes = [{"name": f"{prefix}{i}", "underlay_ip": "192.0.2.40"} for i in range(3)]
    nodes.append({"name": f"{prefix}x", "underlay_ip": "not-an-address"})
    refused.write_text(json.dumps(nodes))
    done = alcor_load(server, refused, "--chunk", "2")
    assert done.returncode == 1
    assert "underlay_ip" in done.stderr
    assert f"creating nodes from '{prefix}2'" in done.stderr
    assert sorted(listed(api, prefix)) == [f"{prefix}0", f"{prefix}1"]  # the chunk before it

    unreachable = alcor_load(server, refused, "--controller-url", "http://127.0.0.1:9")
    assert unreachable.returncode == 1
    assert "refused" in unreachable.stderr
