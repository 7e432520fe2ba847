"""Unit tests for the pure quota checks (``alcor.model.quotas``) and the writer's per-project
counts (``alcor.store.counting``), whose undo callbacks are run here by hand."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from alcor.model import errors, quotas
from alcor.model.records import Network, Record, Router
from alcor.store.counting import ProjectCounts


@pytest.mark.parametrize(
    ("sent", "limit"),
    [(5, 5), (-1, -1), (0, 0), ("12", 12), (" 3 ", 3), (4.0, 4), (2**31 - 1, 2**31 - 1)],
)
def test_a_limit_is_an_integer_however_sent(sent: object, limit: int) -> None:
    assert quotas.parse_limit("port", sent) == limit


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ("abc", "'abc' is not an integer"),
        (None, "'None' is not an integer"),
        ([], "'[]' is not an integer"),
        (True, "'True' is not an integer"),
        (7.5, "'7.5' is not an integer"),
        (-2, "'-2' is too small - must be at least '-1'"),
        (2**31, "'2147483648' is too large - must be no larger than '2147483647'"),
    ],
)
def test_a_bad_limit_says_why(sent: object, reason: str) -> None:
    with pytest.raises(errors.InvalidInput, match=re.escape(reason)):
        quotas.parse_limit("port", sent)


def test_an_update_takes_known_resources_and_force() -> None:
    update = quotas.parse_update({"port": "7", "force": True, "check_limit": False})
    assert update == quotas.Update(limits={"port": 7}, force=True)
    assert not quotas.parse_update({"network": 1, "force": False}).force
    assert quotas.parse_update({}) == quotas.Update(limits={})


def test_an_update_refuses_unknown_keys_and_non_boolean_flags() -> None:
    with pytest.raises(errors.InvalidInput, match=r"Unrecognized attribute\(s\) 'ports, x'"):
        quotas.parse_update({"ports": 1, "x": 2, "network": 1})
    with pytest.raises(errors.InvalidInput, match="force"):
        quotas.parse_update({"force": "yes"})


def test_merged_limits_follow_neutron_s_order() -> None:
    merged = quotas.merged({"router": 3, "port": 9}, {"port": 1})
    assert list(merged) == list(quotas.NEUTRON_DEFAULTS)
    assert merged == {**quotas.NEUTRON_DEFAULTS, "router": 3, "port": 1}


@pytest.mark.parametrize(
    ("limit", "used", "wanted", "over"),
    [(3, 1, 2, False), (3, 1, 3, True), (0, 0, 1, True), (-1, 10**9, 10**9, False)],
)
def test_exceeds(limit: int, used: int, wanted: int, over: bool) -> None:
    assert quotas.exceeds(limit, used=used, wanted=wanted) is over


def test_a_limit_may_not_go_below_usage_unless_unlimited() -> None:
    quotas.check_not_below_usage("port", 3, 3)
    quotas.check_not_below_usage("port", -1, 30)
    with pytest.raises(errors.InvalidInput, match="Quota limit 2 for port must be greater"):
        quotas.check_not_below_usage("port", 2, 3)


def test_a_default_on_the_command_line() -> None:
    assert quotas.parse_default("port=1000") == ("port", 1000)
    assert quotas.parse_default(" router = -1") == ("router", -1)
    for bad in ("ports=1", "port", "port=x", "port=-5"):
        with pytest.raises(errors.InvalidInput):
            quotas.parse_default(bad)


def test_over_quota_reads_as_neutron_s() -> None:
    error = errors.OverQuota.resources(["port", "network"])
    assert (error.status, error.type) == (409, "OverQuota")
    assert error.message == "Quota exceeded for resources: ['network', 'port']."


# --- the writer's counts ---------------------------------------------------------------


def network(project_id: str) -> Network:
    return Network(id=project_id + "-n", project_id=project_id, created_at="t", updated_at="t")


def router(project_id: str) -> Router:
    return Router(id=project_id + "-r", project_id=project_id, created_at="t", updated_at="t")


class UndoLog:
    """What the writer does with undo callbacks: keep them, run them newest first."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] = []

    def __call__(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)

    def rewind(self) -> None:
        while self.callbacks:
            self.callbacks.pop()()


def test_counts_are_loaded_once_per_project_then_followed() -> None:
    counts, undo, loads = ProjectCounts(), UndoLog(), []

    def load() -> dict[str, int]:
        loads.append(1)
        return {"network": 2}

    def of(kind: str) -> int:
        return counts.of("p", kind, load=load, undo=undo)

    assert (of("network"), of("router")) == (2, 0)
    records: list[Record] = [network("p"), network("p"), network("q")]
    counts.follow(records, 1, undo=undo)
    counts.follow([router("p")], 1, undo=undo)
    counts.follow([network("p")], -1, undo=undo)
    assert (of("network"), of("router")) == (3, 1)
    assert len(loads) == 1, "never counted again"


def test_a_rollback_leaves_the_counts_as_the_database_has_them() -> None:
    counts, undo = ProjectCounts(), UndoLog()
    database = {"network": 1}

    def of() -> int:
        return counts.of("p", "network", load=lambda: dict(database), undo=undo)

    assert of() == 1
    kept = UndoLog()
    counts.follow([network("p")], 1, undo=kept)  # a piece of work that commits
    database["network"] = 2
    counts.follow([network("p"), network("p")], 1, undo=undo)  # one that rolls back
    assert of() == 4
    undo.rewind()  # its inserts are undone, and the load it made is forgotten
    assert of() == 2, "read again from the database"


def test_nothing_is_followed_for_a_project_not_loaded() -> None:
    counts, undo = ProjectCounts(), UndoLog()
    counts.follow([network("p")], 1, undo=undo)
    assert undo.callbacks == []
    assert counts.of("p", "network", load=lambda: {"network": 5}, undo=undo) == 5


def test_clear_forgets_everything() -> None:
    counts, undo = ProjectCounts(), UndoLog()
    assert counts.of("p", "network", load=lambda: {"network": 1}, undo=undo) == 1
    counts.clear()
    assert counts.of("p", "network", load=lambda: {"network": 7}, undo=undo) == 7
