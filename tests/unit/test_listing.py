"""From list URLs to queries: filters, tags, sort, paging, and the 400s Neutron gives."""

from __future__ import annotations

import pytest
from starlette.datastructures import URL, QueryParams

from alcor.api import listing
from alcor.api.collections import NETWORKS, PORTS
from alcor.model import errors
from alcor.model.queries import Query


def parse(text: str, attributes: dict[str, listing.Attribute] = PORTS.attributes) -> Query:
    return listing.parse(QueryParams(text), attributes)[0]


def test_repeated_filters_are_alternatives_and_values_are_converted() -> None:
    query = parse("name=a&name=b&admin_state_up=False&tenant_id=p1")
    assert query.filters == {"name": ("a", "b"), "admin_state_up": (False,), "project_id": ("p1",)}


def test_renamed_attributes_filter_their_record_fields() -> None:
    query = parse("router:external=true&provider:segmentation_id=7", NETWORKS.attributes)
    assert query.filters == {"router_external": (True,), "segmentation_id": (7,)}


def test_fixed_ips_and_tag_filters() -> None:
    query = parse(
        "fixed_ips=ip_address%3D10.0.0.5&fixed_ips=subnet_id%3Ds1&tags=a,b&not-tags-any=c"
    )
    assert query.fixed_ips == {"ip_address": ("10.0.0.5",), "subnet_id": ("s1",)}
    assert (query.tags, query.not_tags_any) == (("a", "b"), ("c",))


def test_sort_and_page() -> None:
    query = parse("sort_key=name&sort_dir=desc&sort_key=id&sort_dir=asc&limit=5&marker=m")
    assert query.sort == (("name", False), ("id", True))
    assert (query.limit, query.marker, query.page_reverse) == (5, "m", False)


@pytest.mark.parametrize(
    "text",
    [
        "bogus=1",
        "admin_state_up=maybe",
        "mtu=x",
        "sort_key=fixed_ips",
        "sort_key=name&sort_dir=up",
        "sort_key=name&sort_key=id&sort_dir=asc",
        "limit=-1",
        "fixed_ips=mac%3Dx",
    ],
)
def test_bad_list_requests_are_400(text: str) -> None:
    attributes = NETWORKS.attributes if "mtu" in text else PORTS.attributes
    with pytest.raises(errors.InvalidInput):
        parse(text, attributes)


def test_fields_are_collected_from_repeats_and_commas() -> None:
    assert listing.parse(QueryParams("fields=id&fields=name,mtu"), NETWORKS.attributes)[1] == [
        "id",
        "name",
        "mtu",
    ]


def test_links_point_to_the_next_and_previous_pages() -> None:
    url = URL("http://h/v2.0/ports?limit=2&marker=b")
    params = QueryParams("limit=2&marker=b")
    query = Query(limit=2, marker="b")
    links = {link["rel"]: link["href"] for link in listing.links(url, params, query, ["c", "d"])}
    assert links == {
        "next": "http://h/v2.0/ports?limit=2&marker=d",
        "previous": "http://h/v2.0/ports?limit=2&marker=c&page_reverse=True",
    }
    # as Neutron: a short forward page has no next, but a previous; a short reversed page the
    # other way round; no links without a limit
    short = listing.links(url, params, Query(limit=3), ["c", "d"])
    assert [link["rel"] for link in short] == ["previous"]
    reversed_short = listing.links(url, params, Query(limit=3, page_reverse=True), ["c", "d"])
    assert [link["rel"] for link in reversed_short] == ["next"]
    assert listing.links(url, params, Query(), ["c", "d"]) == []


def test_links_of_an_empty_page_carry_no_marker() -> None:
    """Mirrors neutron-tempest-plugin BaseSearchCriteriaTest._list_all_with_hrefs (as in
    test_list_pagination_with_href_links): the page past the last is empty, and its previous
    link (Neutron's ``get_previous_link``: no marker) is the last page, read backwards."""
    url = URL("http://h/v2.0/ports?limit=1&marker=z&sort_key=name")
    params = QueryParams("limit=1&marker=z&sort_key=name")
    links = listing.links(url, params, Query(limit=1, marker="z"), [])
    assert links == [
        {"rel": "previous", "href": "http://h/v2.0/ports?limit=1&sort_key=name&page_reverse=True"}
    ]
