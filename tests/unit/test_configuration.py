"""The configuration layer: a TOML file beneath ``ALCOR_*`` variables beneath the flags, checked
against the argparse parsers (the one schema), every error one line naming the key and where."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

import pytest

from alcor.cli import config, configuration, main


def parsed(
    *argv: str, file: Path | None = None, environ: Mapping[str, str] | None = None
) -> argparse.Namespace:
    """``argv`` parsed as ``alcor`` parses it, with ``file`` and ``environ`` beneath."""
    words = [*argv, *(("--config", str(file)) if file is not None else ())]
    top = main.parser()
    applied = configuration.configure(top, words, environ or {})
    args = top.parse_args(words)
    applied.finish(args)
    return args


@pytest.fixture
def toml(tmp_path: Path) -> Path:
    return tmp_path / "alcor.toml"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_file_sets_a_scalar_the_environment_beats_it_and_a_flag_beats_both(toml: Path) -> None:
    write(toml, '[server]\ndb = "sqlite:///file.db"\nbind = "0.0.0.0:9797"\n')
    assert parsed("server").db == "sqlite:///alcor.db"
    assert parsed("server", file=toml).db == "sqlite:///file.db"
    assert parsed("server", file=toml).bind == ("0.0.0.0", 9797)  # the option's own type
    environ = {"ALCOR_SERVER_DB": "sqlite:///env.db"}
    assert parsed("server", file=toml, environ=environ).db == "sqlite:///env.db"
    assert parsed("server", file=toml, environ=environ).bind == ("0.0.0.0", 9797)
    flagged = parsed("server", "--db", "sqlite:///flag.db", file=toml, environ=environ)
    assert flagged.db == "sqlite:///flag.db"


def test_the_file_is_found_by_alcor_config_and_by_the_option_before_the_command(
    toml: Path,
) -> None:
    write(toml, '[server]\nsync = "normal"\n')
    assert parsed("server", environ={"ALCOR_CONFIG": str(toml)}).sync == "normal"
    assert parsed("--config", str(toml), "server").sync == "normal"


def test_a_repeatable_option_is_replaced_whole_by_each_layer_above(toml: Path) -> None:
    write(toml, '[server]\nquota = ["port=1000", "router=5"]\n')
    assert parsed("server", file=toml).quota == [("port", 1000), ("router", 5)]
    environ = {"ALCOR_SERVER_QUOTA": "network=7 'subnet=8'"}
    assert parsed("server", file=toml, environ=environ).quota == [("network", 7), ("subnet", 8)]
    flagged = parsed("server", "--quota", "port=1", "--quota", "port=2", file=toml)
    assert flagged.quota == [("port", 1), ("port", 2)]


def test_one_value_of_a_repeatable_option_needs_no_list(toml: Path) -> None:
    write(toml, '[server]\nquota = "port=3"\n')
    assert parsed("server", file=toml).quota == [("port", 3)]


def test_flags_take_true_or_false_whatever_their_action(toml: Path) -> None:
    write(toml, "[server]\naccess-log = true\nno-register-hosts = true\n")
    args = parsed("server", file=toml)
    assert args.access_log is True
    assert args.register_hosts is False
    write(toml, "[server]\naccess-log = false\nno-register-hosts = false\n")
    args = parsed("server", file=toml, environ={"ALCOR_SERVER_ACCESS_LOG": "yes"})
    assert args.access_log is True
    assert args.register_hosts is True


def test_a_required_option_can_come_from_the_file(toml: Path) -> None:
    write(toml, '[agent]\nhost-id = "h1"\ndriver = "recording"\ncontroller = ["a:1", "b:2"]\n')
    args = parsed("agent", file=toml)
    assert (args.host_id, args.driver, args.controller) == ("h1", "recording", ["a:1", "b:2"])
    assert parsed("agent", "--controller", "c:3", file=toml).controller == ["c:3"]


def test_the_logging_table_serves_every_command_beneath_its_own_table(toml: Path) -> None:
    write(toml, '[logging]\nlog-format = "json"\nlog-level = "debug"\n[sim]\nlog-level = "error"\n')
    assert (parsed("server", file=toml).log_format, parsed("server", file=toml).log_level) == (
        "json",
        "debug",
    )
    sim = parsed("sim", "--hosts", "1", file=toml)
    assert (sim.log_format, sim.log_level) == ("json", "error")
    environ = {"ALCOR_LOGGING_LOG_FORMAT": "text"}
    assert parsed("cni-daemon", file=toml, environ=environ).log_format == "text"


def test_a_subcommand_has_its_table_within_its_command(toml: Path) -> None:
    write(toml, "[nodes.load]\nchunk = 10\n")
    assert parsed("nodes", "load", "f.json", file=toml).chunk == 10
    assert parsed("nodes", "load", "f.json", environ={"ALCOR_NODES_LOAD_CHUNK": "7"}).chunk == 7


def test_variables_of_other_commands_and_other_tools_are_left_alone() -> None:
    environ = {
        "ALCOR_AGENT_HEALTH_STATUS_FILE": "x",  # agent-health's, though it begins as agent's
        "ALCOR_API": "http://controller:9696",
        "ALCOR_API_SERVICE_HOST": "10.96.0.50",  # Kubernetes' for the alcor-api Service
        "ALCOR_SERVER_DB": "sqlite:///not-for-the-agent.db",
    }
    assert (
        parsed("agent", "--host-id", "h", "--driver", "recording", environ=environ).host_id == "h"
    )


def test_a_flag_added_to_a_parser_is_a_key_with_no_code_here(toml: Path) -> None:
    top = main.parser()
    server = configuration.commands(top)[("server",)]
    server.add_argument("--tomorrows-flag", type=int, default=0)
    write(toml, '[server]\ntomorrows-flag = "9100"\n')
    words = ["server", "--config", str(toml)]
    configuration.configure(top, words, {})
    assert top.parse_args(words).tomorrows_flag == 9100


def test_alcor_api_sets_the_api_option_of_any_command_that_has_one(toml: Path) -> None:
    write(toml, '[nodes.load]\napi = "http://from-the-file:9696"\n')
    environ = {"ALCOR_API": "http://from-alcor-api:9696"}
    words = ["nodes", "load", "f.json", "--config", str(toml)]

    def api(environ: dict[str, str]) -> str:
        top = main.parser()
        configuration.commands(top)[("nodes", "load")].add_argument("--api", default="default")
        configuration.configure(top, words, environ)
        return str(top.parse_args(words).api)

    assert api({}) == "http://from-the-file:9696"
    assert api(environ) == "http://from-alcor-api:9696"
    assert api({**environ, "ALCOR_NODES_LOAD_API": "http://own:1"}) == "http://own:1"
    assert parsed("server", environ=environ).db == "sqlite:///alcor.db"  # no --api: left alone


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[server]\ndbb = "x"\n', "[server] dbb: unknown key; did you mean db?"),
        ("[sever]\ndb = 1\n", "[sever]: unknown table"),
        ('db = "x"\n', "db: unknown key"),
        ("[server]\nsync = 1.5\n", "[server] sync: invalid choice '1.5'"),
        ('[server]\nsync = ["full"]\n', "[server] sync: expected a string or a number, got a list"),
        ('[server]\naccess-log = "maybe"\n', "[server] access-log: expected true or false"),
        ('[server]\nbind = "nowhere"\n', "[server] bind: expected HOST:PORT, got 'nowhere'"),
        ('[server]\nquota = ["port=1", "port=x"]\n', "[server] quota: "),
        ("[server]\nmax-bulk = 0\n", "[server] max-bulk: expected a positive integer"),
        ('[nodes.load]\nchunk = "many"\n', "[nodes.load] chunk: invalid value 'many'"),
        ('[logging]\nlog-format = "xml"\n', "[logging] log-format: invalid choice 'xml'"),
        ('[logging]\ndb = "x"\n', "[logging] db: unknown key"),
        (
            "[server]\nbind = {host = 1}\n",
            "[server] bind: expected a string or a number, got a table",
        ),
        ('[server\ndb = "x"\n', "not valid TOML: "),
        ('server = "x"\n', "server: expected a table [server]"),
    ],
)
def test_every_error_in_a_file_names_the_file_and_the_key(
    toml: Path, text: str, named: str
) -> None:
    write(toml, text)
    with pytest.raises(configuration.ConfigError) as raised:
        parsed("server", file=toml)
    message = str(raised.value)
    assert message.startswith(f"{toml}: "), message
    assert named in message, message
    assert "\n" not in message


def test_an_unreadable_file_is_named_with_why(tmp_path: Path) -> None:
    with pytest.raises(configuration.ConfigError, match=r"missing\.toml: cannot read it: No such"):
        parsed("server", file=tmp_path / "missing.toml")
    with pytest.raises(configuration.ConfigError, match=r": cannot read it: Is a directory"):
        parsed("server", file=tmp_path)


def test_an_error_in_another_commands_table_stops_this_one_too(toml: Path) -> None:
    write(toml, '[server]\ndb = "sqlite:///x.db"\n[agent]\nhost = "h1"\n')
    with pytest.raises(configuration.ConfigError, match=r"\[agent\] host: unknown key"):
        parsed("server", file=toml)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"ALCOR_SERVER_DBB": "x"}, "ALCOR_SERVER_DBB: unknown variable (no option --dbb; did"),
        ({"ALCOR_SERVER_QUOTA": "'port=1"}, "ALCOR_SERVER_QUOTA: cannot split it into words"),
        ({"ALCOR_SERVER_SYNC": "sometimes"}, "ALCOR_SERVER_SYNC: invalid choice 'sometimes'"),
        ({"ALCOR_SERVER_ACCESS_LOG": "2"}, "ALCOR_SERVER_ACCESS_LOG: expected true or false"),
        ({"ALCOR_LOGGING_LOG_LEVEL": "loud"}, "ALCOR_LOGGING_LOG_LEVEL: invalid choice 'loud'"),
        ({"ALCOR_LOGGING_DB": "x"}, "ALCOR_LOGGING_DB: unknown variable"),
    ],
)
def test_every_error_in_a_variable_names_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(configuration.ConfigError) as raised:
        parsed("server", environ=environ)
    assert str(raised.value).startswith(named), raised.value


def test_a_kubernetes_service_named_like_a_command_does_not_stop_it() -> None:
    """A Service ``alcor-server`` in the pod's namespace: Kubernetes gives every pod there its
    service-link variables, which name no option and are no mistake of the operator's."""
    links = {
        "ALCOR_SERVER_SERVICE_HOST": "10.96.0.7",
        "ALCOR_SERVER_SERVICE_PORT": "9696",
        "ALCOR_SERVER_SERVICE_PORT_HTTP": "9696",
        "ALCOR_SERVER_PORT": "tcp://10.96.0.7:9696",
        "ALCOR_SERVER_PORT_9696_TCP": "tcp://10.96.0.7:9696",
        "ALCOR_SERVER_PORT_9696_TCP_PROTO": "tcp",
        "ALCOR_SERVER_PORT_9696_TCP_PORT": "9696",
        "ALCOR_SERVER_PORT_9696_TCP_ADDR": "10.96.0.7",
    }
    args = parsed("server", environ=links | {"ALCOR_SERVER_DB": "sqlite:///k.db"})
    assert args.db == "sqlite:///k.db"
    with pytest.raises(configuration.ConfigError, match="ALCOR_SERVER_PORTS: unknown variable"):
        parsed("server", environ=links | {"ALCOR_SERVER_PORTS": "x"})


def test_a_bad_file_stops_the_command_with_one_line_and_status_2(
    toml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(toml, "[server]\nphysical-mtu = 9\n")
    assert main.main(["server", "--config", str(toml)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"alcor server: error: {toml}: [server] physical-mtu: "), err


def test_config_check_says_ok_or_why(toml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(toml, '[server]\ndb = "sqlite:///x.db"\n[nodes.load]\nchunk = 5\n')
    assert main.main(["config", "check", str(toml)]) == 0
    assert capsys.readouterr().out == f"{toml}: ok\n"
    write(toml, "[nodes.load]\nchunk = -5\n")
    assert main.main(["config", "check", str(toml)]) == 2
    assert capsys.readouterr().err.startswith(f"alcor config: error: {toml}: [nodes.load] chunk")


def test_config_show_masks_secrets_and_says_where_each_value_came_from(
    toml: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        toml,
        "[server]\n"
        'db = "postgresql+psycopg://alcor:db-s3cret@db.example/alcor"\n'
        'keystone-password = "ks-s3cret"\n'
        'keystone-option = ["password=opt-s3cret", "memcached_servers=m:11211"]\n'
        'bind = "0.0.0.0:9696"\n',
    )
    monkeypatch.setenv("ALCOR_SERVER_SYNC", "normal")
    assert main.main(["config", "show", "--config", str(toml)]) == 0
    shown = capsys.readouterr().out
    for secret in ("db-s3cret", "ks-s3cret", "opt-s3cret"):
        assert secret not in shown
    rows = {line.split(" = ")[0]: line for line in shown.splitlines()}
    assert rows["db"].startswith('db = "postgresql+psycopg://alcor:***@db.example/alcor"')
    assert rows["db"].endswith(f"# {toml}")
    assert rows["keystone-password"].startswith('keystone-password = "***"')
    assert "memcached_servers=m:11211" in rows["keystone-option"]
    assert rows["sync"].endswith("# ALCOR_SERVER_SYNC")
    assert rows["role"].endswith("# default")


def test_config_show_of_a_subcommand_masks_a_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ALCOR_CONFIG", raising=False)
    monkeypatch.setenv("ALCOR_NODES_LOAD_TOKEN", "gAAAAA-tok")
    assert main.main(["config", "show", "nodes", "load"]) == 0
    shown = capsys.readouterr().out
    assert "gAAAAA-tok" not in shown
    assert 'token = "***"' in shown
    assert shown.startswith("[nodes.load]\n")


def test_the_rendered_defaults_read_as_the_options_take_them() -> None:
    top = main.parser()
    rows = {line.split(" = ")[0]: line for line in config.lines(top, ("server",), {})}
    assert rows["bind"].startswith('bind = "127.0.0.1:9696"')
    assert rows["vni-range"].startswith('vni-range = "1000:16777215"')
    (unset,) = (line for line in config.lines(top, ("server",), {}) if "keystone-url" in line)
    assert unset.startswith("# keystone-url =")
    assert unset.endswith("# default: not set")
