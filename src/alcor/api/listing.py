"""From a list URL to a ``Query`` (filters, tag filters, sort, page) and back to paging links.

Neutron's rules: a repeated filter is an OR of its values; an unknown filter or sort key is a 400
(``filter-validation``); ``fields`` picks the keys shown; ``limit``/``marker``/``page_reverse``
page by keyset, and the response carries ``{plural}_links`` to the next and previous pages.
``fixed_ips=ip_address_substr=TEXT`` (``ip-substring-filtering``) keeps the ports with an
address containing TEXT.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import msgspec
from starlette.datastructures import URL, QueryParams

from alcor.model import errors
from alcor.model.queries import Query

PAGING = {"limit", "marker", "page_reverse", "sort_key", "sort_dir", "fields"}
TAGS = {
    "tags": "tags",
    "tags-any": "tags_any",
    "not-tags": "not_tags",
    "not-tags-any": "not_tags_any",
}
FIXED_IPS = ("ip_address", "subnet_id", "ip_address_substr")


class Attribute(msgspec.Struct, frozen=True):
    """A filterable attribute: the record field it reads and how a URL value converts."""

    field: str
    convert: Callable[[str], Any] = str
    sortable: bool = True


def to_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise errors.InvalidInput(f"'{text}' cannot be converted to boolean")


INT64 = 2**63


def to_int(text: str) -> int:
    """An integer the database can compare with (a signed 64-bit one)."""
    try:
        value = int(text)
    except ValueError:
        raise errors.InvalidInput(f"'{text}' is not an integer") from None
    if not -INT64 <= value < INT64:
        raise errors.InvalidInput(f"'{text}' is out of range for an integer")
    return value


def parse(
    params: QueryParams, attributes: Mapping[str, Attribute]
) -> tuple[Query, list[str] | None]:
    filters: dict[str, tuple[Any, ...]] = {}
    fixed_ips: dict[str, tuple[str, ...]] = {}
    tag_filters: dict[str, tuple[str, ...]] = {}
    for key in params:
        values = params.getlist(key)
        if key in PAGING:
            continue
        if key in TAGS:
            tag_filters[TAGS[key]] = tuple(t for v in values for t in v.split(",") if t)
        elif key == "fixed_ips" and "fixed_ips" in attributes:
            for value in values:
                name, _, wanted = value.partition("=")
                if name not in FIXED_IPS:
                    raise errors.InvalidInput(f"Invalid fixed_ips filter '{value}'.")
                fixed_ips[name] = (*fixed_ips.get(name, ()), wanted)
        elif key in attributes:
            attribute = attributes[key]
            converted = tuple(attribute.convert(v) for v in values)
            filters[attribute.field] = (*filters.get(attribute.field, ()), *converted)
        else:
            raise errors.InvalidInput(
                f"['{key}'] is invalid attribute for filtering", type="HTTPBadRequest"
            )
    query = Query(
        filters=filters,
        fixed_ips=fixed_ips,
        sort=_sort(params, attributes),
        limit=_limit(params.get("limit")),
        marker=params.get("marker") or None,
        page_reverse=to_bool(params.get("page_reverse", "false")),
        tags=tag_filters.get("tags", ()),
        tags_any=tag_filters.get("tags_any", ()),
        not_tags=tag_filters.get("not_tags", ()),
        not_tags_any=tag_filters.get("not_tags_any", ()),
    )
    fields = [f for v in params.getlist("fields") for f in v.split(",") if f] or None
    return query, fields


def _sort(params: QueryParams, attributes: Mapping[str, Attribute]) -> tuple[tuple[str, bool], ...]:
    keys, directions = params.getlist("sort_key"), params.getlist("sort_dir")
    if directions and len(directions) != len(keys):
        raise errors.InvalidInput("The number of sort_keys and sort_dirs must be same")
    sort = []
    for index, key in enumerate(keys):
        attribute = attributes.get(key)
        if attribute is None or not attribute.sortable:
            raise errors.InvalidInput(f"['{key}'] is invalid attribute for sort_keys")
        direction = directions[index] if directions else "asc"
        if direction not in ("asc", "desc"):
            raise errors.InvalidInput(
                f"{direction} is an invalid value for sort_dir, valid value is 'asc' and 'desc'"
            )
        sort.append((attribute.field, direction == "asc"))
    fields = [field for field, _ascending in sort]
    if "id" in fields:  # unique: a total order, so keys after it cannot matter
        sort = sort[: fields.index("id") + 1]
    return tuple(sort)


def _limit(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    limit = to_int(text)
    if limit < 0:
        raise errors.InvalidInput(f"Limit must be an integer 0 or greater and not '{limit}'")
    return limit or None


def select_fields(item: Mapping[str, Any], fields: Sequence[str] | None) -> Mapping[str, Any]:
    if fields is None:
        return item
    return {key: value for key, value in item.items() if key in fields}


def links(url: URL, params: QueryParams, query: Query, ids: Sequence[str]) -> list[dict[str, str]]:
    """Neutron's paging links (``api_common.get_pagination_links``): ``next`` unless a forward
    page came out short, ``previous`` unless a reversed page did. Each link's marker is the
    page's last (``next``) or first (``previous``) item; an empty page's links carry no marker,
    so ``previous`` from the empty page past the end is the last page, as tempest walks it."""
    if query.limit is None:
        return []
    kept = [(k, v) for k, v in params.multi_items() if k not in ("marker", "page_reverse")]
    short = len(ids) < query.limit
    result = []
    if not (short and not query.page_reverse):
        after = [("marker", ids[-1])] if ids else []
        result.append({"rel": "next", "href": _href(url, [*kept, *after])})
    if not (short and query.page_reverse):
        before = [("marker", ids[0])] if ids else []
        back = [*kept, *before, ("page_reverse", "True")]
        result.append({"rel": "previous", "href": _href(url, back)})
    return result


def _href(url: URL, params: list[tuple[str, str]]) -> str:
    return str(url.replace(query=urlencode(params)))
