"""The pure parts of ``alcor.lab`` and ``alcor demo``: the ping matrix, whether a machine can run
a lab, the demo's options."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from alcor.cli import demo
from alcor.lab import commands, ping_matrix

A1 = ping_matrix.Member("a1", "10.0.1.11", "h1")
B2 = ping_matrix.Member("b2", "10.0.2.12", "h2")
C3 = ping_matrix.Member("c3", "10.0.3.13", "host-three")


def test_the_matrix_has_a_row_per_sender_and_a_column_per_receiver() -> None:
    answered = {("a1", "b2"): True, ("b2", "a1"): True}
    assert ping_matrix.render([A1, B2], answered) == "\n".join(
        [
            "from \\ to           a1 10.0.1.11  b2 10.0.2.12",
            "                    on h1         on h2",
            "a1 10.0.1.11 on h1  -             ok",
            "b2 10.0.2.12 on h2  ok            -",
            "2/2 pairs answered",
        ]
    )


def test_the_matrix_names_the_pairs_without_an_answer_and_marks_those_not_tried() -> None:
    answered = {("a1", "b2"): False, ("b2", "a1"): True, ("a1", "c3"): True}
    table = ping_matrix.render([A1, B2, C3], answered).splitlines()
    assert table[1].split() == ["on", "h1", "on", "h2", "on", "host-three"]
    assert table[2].split()[-4:] == ["-", "NO", "ANSWER", "ok"]
    assert table[3].split()[-3:] == ["ok", "-", "?"]
    assert table[4].split()[-3:] == ["?", "?", "-"]
    assert table[-1] == "2/6 pairs answered; no answer: a1 -> b2"
    # the columns line up: each cell begins where its column's header does
    for header in ("a1 10.0.1.11", "b2 10.0.2.12", "c3 10.0.3.13"):
        column = table[0].index(header)
        assert all(line[column - 1] == " " and line[column] != " " for line in table[1:5])


def test_a_machine_without_root_or_tools_cannot_run_a_lab() -> None:
    assert commands.unusable(euid=lambda: 1000) == "needs root (network namespaces)"
    missing = commands.unusable(
        ("ip", "nft"), euid=lambda: 0, which=lambda tool: None if tool == "nft" else tool
    )
    assert missing.startswith("needs nft (apt-get install")
    assert commands.unusable(("ip",), euid=lambda: 0, which=lambda tool: tool) == ""


def test_the_demo_wants_a_prefix_that_cannot_match_foreign_namespaces() -> None:
    assert demo._prefix("alcor-demo-") == "alcor-demo-"
    for bad in ("", "-", "alcor", "Demo-", "a b-", "x" * 30 + "-"):
        with pytest.raises(argparse.ArgumentTypeError):
            demo._prefix(bad)


def test_the_demo_says_how_to_take_it_down_with_the_options_it_was_given() -> None:
    assert demo._down_command(demo.DEFAULT_STATE_DIR, demo.DEFAULT_PREFIX) == "alcor demo --down"
    assert (
        demo._down_command(Path("/tmp/s"), "x-")
        == "alcor demo --down --state-dir /tmp/s --prefix x-"
    )
