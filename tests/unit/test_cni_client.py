"""alcor-cni as nodes run it (``alcor.cni.bundle``): the compiled handoff (``handoff.c``)
hands the invocation to the node's CNI daemon, and whatever it cannot hand over it gives to
the Python plugin beside it, so that every path answers exactly as the Python plugin does."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alcor.cni import bundle, daemon, invocation, main

CONFIG = {
    "cniVersion": "1.0.0",
    "name": "pods",
    "type": "alcor-cni",
    "network": "net1",
    "api": "http://127.0.0.1:9",
}
BAD_ENVIRONMENT = {  # refused before anything is asked of the controller
    "CNI_COMMAND": "ADD",
    "CNI_CONTAINERID": "c1",
    "CNI_NETNS": "/proc/self/ns/net",
    "CNI_IFNAME": "",
}


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin as the image builds it: alcor-cni and alcor-cni.pyz."""
    built = tmp_path_factory.mktemp("plugin") / "alcor-cni"
    bundle.write(built)
    return built


def run(plugin: Path, config: dict[str, object], environ: dict[str, str]) -> tuple[int, str]:
    """The plugin run as a runtime runs it: its status and stdout. Its python3 is this one."""
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    done = subprocess.run(
        [str(plugin)],
        input=json.dumps(config),
        env=environ | {"PATH": path},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode, done.stdout


def in_python(config: dict[str, object], environ: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    status = main.run(environ, io.StringIO(json.dumps(config)), out)
    return status, out.getvalue()


def test_version_is_the_python_plugins_answer(plugin: Path) -> None:
    status, printed = run(plugin, {}, {"CNI_COMMAND": "VERSION"})
    assert (status, json.loads(printed)) == (0, invocation.versions())
    assert printed == json.dumps(invocation.versions()) + "\n"


def served_by_daemon(caplog: pytest.LogCaptureFixture) -> bool:
    return any(record.name == daemon.__name__ for record in caplog.records)


def test_the_daemon_answers_through_it(
    plugin: Path, cni_daemon: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = CONFIG | {"daemon_socket": str(cni_daemon)}
    assert run(plugin, config, BAD_ENVIRONMENT) == in_python(config, BAD_ENVIRONMENT)
    assert served_by_daemon(caplog)


def test_with_no_daemon_the_python_plugin_answers(
    plugin: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = CONFIG | {"daemon_socket": str(tmp_path / "nobody-listens.sock")}
    assert run(plugin, config, BAD_ENVIRONMENT) == in_python(config, BAD_ENVIRONMENT)


def test_a_socket_it_cannot_read_is_the_python_plugins_to_hand_over(
    plugin: Path, cni_daemon: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A "daemon_socket" with an escape, which the compiled part does not decode: the Python
    plugin reads it and hands the invocation to that daemon."""
    escaped = str(cni_daemon).replace("cni.sock", "\\u0063ni.sock")
    text = json.dumps(CONFIG)[:-1] + f', "daemon_socket": "{escaped}"}}'
    assert json.loads(text)["daemon_socket"] == str(cni_daemon)
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    done = subprocess.run(
        [str(plugin)], input=text, env=BAD_ENVIRONMENT | {"PATH": path}, capture_output=True,
        text=True, timeout=30,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == in_python(json.loads(text), BAD_ENVIRONMENT)
    assert served_by_daemon(caplog)


def test_a_daemon_the_configuration_does_not_name_declines_and_python_answers(
    plugin: Path, cni_daemon: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A nested "daemon_socket" first takes the compiled part to the wrong daemon, which
    declines: the Python plugin answers, reading the configuration whole."""
    config = {"args": {"daemon_socket": str(cni_daemon)}, **CONFIG, "daemon_socket": "/nowhere"}
    assert run(plugin, config, BAD_ENVIRONMENT) == in_python(config, BAD_ENVIRONMENT)
    assert not served_by_daemon(caplog)


def test_an_unset_command_is_the_python_plugins_error(plugin: Path, cni_daemon: Path) -> None:
    config = CONFIG | {"daemon_socket": str(cni_daemon)}
    environ = {k: v for k, v in BAD_ENVIRONMENT.items() if k != "CNI_COMMAND"}
    assert run(plugin, config, environ) == in_python(config, environ)
