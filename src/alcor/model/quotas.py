"""Quotas (``quotas``, ``quota_details``): the resources that have one, Neutron's default limits,
and the checks of a limit as an admin sends it or the command line configures it.

A limit is an integer from -1 (unlimited) to 2**31 - 1. The resources, and their order in every
body, are those the reference Neutron shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

import msgspec

from alcor.model import errors

UNLIMITED = -1
MAX_LIMIT = 2**31 - 1

# Neutron's defaults ([quotas] quota_* in neutron.conf), in the order Neutron shows them.
NEUTRON_DEFAULTS: Mapping[str, int] = MappingProxyType(
    {
        "network": 100,
        "subnet": 100,
        "subnetpool": -1,
        "port": 500,
        "router": 10,
        "floatingip": 50,
        "rbac_policy": 10,
        "security_group": 10,
        "security_group_rule": 100,
        # neutron-fwaas's ([quotas] quota_firewall_*), registered with its extension
        "firewall_group": 10,
        "firewall_policy": 10,
        "firewall_rule": 100,
    }
)
RESOURCES: tuple[str, ...] = tuple(NEUTRON_DEFAULTS)

# What a PUT may carry besides limits: ``force`` skips the check against usage;
# ``check_limit`` is accepted and ignored (the check is Neutron's default since 2025.1).
FORCE = "force"
CHECK_LIMIT = "check_limit"


class Overrides(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A project's quota overrides as the change log holds them (resource type ``quota``,
    keyed by the project): the limits set, or on a delete the limits that were."""

    kind: ClassVar[str] = "quota"

    project_id: str
    limits: dict[str, int]


class Update(msgspec.Struct, frozen=True, kw_only=True):
    """The limits a PUT sets (validated), and whether it forces them below current usage."""

    limits: dict[str, int]
    force: bool = False


def parse_update(body: Mapping[str, object]) -> Update:
    """The ``quota`` object of a PUT: known resources with valid limits, ``force``,
    ``check_limit``. An unknown key is a 400, as in Neutron."""
    unknown = [key for key in body if key not in RESOURCES and key not in (FORCE, CHECK_LIMIT)]
    if unknown:
        raise errors.InvalidInput(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    for flag in (FORCE, CHECK_LIMIT):
        if flag in body and not isinstance(body[flag], bool):
            raise errors.InvalidInput(
                f"Invalid input for {flag}. Reason: '{body[flag]}' is not a boolean."
            )
    limits = {key: parse_limit(key, value) for key, value in body.items() if key in RESOURCES}
    return Update(limits=limits, force=body.get(FORCE) is True)


def parse_limit(resource: str, value: object) -> int:
    """A limit as sent: an integer, or a string or float holding one (Neutron converts those
    too; unlike Neutron, 7.5 and ``true`` are refused rather than read as 7 and 1)."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            number = None
    if number is None:
        raise errors.InvalidInput(
            f"Invalid input for operation: '{value}' is not an integer.", type="InvalidInput"
        )
    if number < UNLIMITED:
        raise errors.InvalidInput(
            f"Invalid input for {resource}. Reason: '{number}' is too small - must be at least "
            f"'{UNLIMITED}'."
        )
    if number > MAX_LIMIT:
        raise errors.InvalidInput(
            f"Invalid input for {resource}. Reason: '{number}' is too large - must be no larger "
            f"than '{MAX_LIMIT}'."
        )
    return number


def check_not_below_usage(resource: str, new_limit: int, used: int) -> None:
    """Neutron's check before a new limit applies: not below what the project already uses."""
    if new_limit != UNLIMITED and used > new_limit:
        raise errors.InvalidInput(
            f"Quota limit {new_limit} for {resource} must be greater than or equal to already "
            f"used {used}"
        )


def exceeds(limit: int, *, used: int, wanted: int) -> bool:
    """Would ``wanted`` more take a project that uses ``used`` beyond ``limit``?"""
    return limit != UNLIMITED and used + wanted > limit


def parse_default(text: str) -> tuple[str, int]:
    """``RESOURCE=N`` (the ``--quota`` option of ``alcor server``)."""
    resource, sign, value = text.partition("=")
    resource = resource.strip()
    if not sign or resource not in RESOURCES:
        raise errors.InvalidInput(
            f"expected RESOURCE=N with RESOURCE one of {', '.join(RESOURCES)}; got {text!r}"
        )
    return resource, parse_limit(resource, value.strip())


def merged(defaults: Mapping[str, int], overrides: Mapping[str, int]) -> dict[str, int]:
    """Every resource's limit: the override if there is one, else the default; in Neutron's
    order. ``defaults`` may leave resources out: Neutron's defaults fill them."""
    return {
        resource: overrides.get(resource, defaults.get(resource, NEUTRON_DEFAULTS[resource]))
        for resource in RESOURCES
    }
