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
    # port fixed_ips filters: 'ip_address' / 'subnet_id' -> accepted values,
    # 'ip_address_substr' -> text one of the port's addresses contains
    fixed_ips: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    tags: tuple[str, ...] = ()  # all of these
    tags_any: tuple[str, ...] = ()  # at least one of these
    not_tags: tuple[str, ...] = ()  # not all of these
    not_tags_any: tuple[str, ...] = ()  # none of these
    project_id: str | None = None  # scope: None sees every project
    shared_visible: bool = False  # with a scope, also show shared resources
    sort: tuple[tuple[str, bool], ...] = ()  # (field, ascending)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
