"""What a list request asks the store for: filters, tag filters, sort order and a page.

A ``Query`` is plain data. The API builds it from a URL; the store turns it into SQL. Names in it
are record field names, already checked against the resource's filterable fields.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Query(msgspec.Struct, frozen=True, kw_only=True):
    # field name -> accepted values (OR); values are already of the field's type
    filters: dict[str, tuple[Any, ...]] = msgspec.field(default_factory=dict)
    # filters on the resource's network (a subnet's ``shared``, ``router:external``)
    network_filters: dict[str, tuple[Any, ...]] = msgspec.field(default_factory=dict)
    # port fixed_ips filters: 'ip_address' / 'subnet_id' -> accepted values,
    # 'ip_address_substr' -> text one of the port's addresses contains
    fixed_ips: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    tags: tuple[str, ...] = ()  # all of these
    tags_any: tuple[str, ...] = ()  # at least one of these
    not_tags: tuple[str, ...] = ()  # not all of these
    not_tags_any: tuple[str, ...] = ()  # none of these
    project_id: str | None = None  # scope: None sees every project
    # with a scope, also the networks an RBAC policy lets the project use (and their subnets),
    # and the ports of others on the project's own networks
    shared_visible: bool = False
    # the project whose view decides a network's ``shared`` (the caller's, admin or not): the
    # ``shared`` filter of networks and subnets asks whether a policy shares the network with
    # it or with every project
    viewer: str | None = None
    sort: tuple[tuple[str, bool], ...] = ()  # (field, ascending)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
