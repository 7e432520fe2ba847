"""Listing over real HTTP as Neutron does it: filters (repeated = OR, unknown = 400, empty string,
booleans, fixed_ips), ``fields``, sorting, keyset paging with ``{plural}_links`` in both
directions, and the ``.json`` suffix."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from tests.integration.neutron import create_network, create_subnet


def create_ports(api: httpx.Client, network_id: str, *names: str) -> list[dict[str, Any]]:
    body = {"ports": [{"network_id": network_id, "name": name} for name in names]}
    response = api.post("/ports", json=body)
    assert response.status_code == 201, response.text
    ports: list[dict[str, Any]] = response.json()["ports"]
    return ports


def listed(api: httpx.Client, plural: str, params: Any) -> list[dict[str, Any]]:
    response = api.get(f"/{plural}", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()[plural]
    return items


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def assert_400(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["NeutronError"]["type"] == "HTTPBadRequest"


@pytest.fixture
def network(api: httpx.Client) -> dict[str, Any]:
    return create_network(api)


@pytest.fixture
def ports(api: httpx.Client, network: dict[str, Any]) -> list[dict[str, Any]]:
    create_subnet(api, network["id"], "10.0.0.0/24")
    return create_ports(api, network["id"], "c", "a", "b", "a", "", "d", "b")


def test_filter_by_attribute(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    found = listed(api, "ports", {"network_id": network["id"], "name": "a"})
    assert sorted(ids(found)) == sorted(p["id"] for p in ports if p["name"] == "a")
    assert all(port["name"] == "a" for port in found)


def test_repeated_filter_is_or(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    found = listed(api, "ports", [("network_id", network["id"]), ("name", "a"), ("name", "d")])
    assert sorted(ids(found)) == sorted(p["id"] for p in ports if p["name"] in ("a", "d"))


def test_filters_on_different_attributes_are_and(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    target = ports[0]
    found = listed(
        api, "ports", {"network_id": network["id"], "mac_address": target["mac_address"]}
    )
    assert ids(found) == [target["id"]]
    found = listed(api, "ports", {"name": "c", "mac_address": ports[1]["mac_address"]})
    assert found == []


def test_empty_string_filter_matches_empty_values(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    found = listed(api, "ports", [("network_id", network["id"]), ("name", "")])
    assert ids(found) == [p["id"] for p in ports if p["name"] == ""]


def test_boolean_filters(api: httpx.Client, network: dict[str, Any]) -> None:
    create_subnet(api, network["id"], "10.0.0.0/24")
    up, down = create_ports(api, network["id"], "up", "down")
    response = api.put(f"/ports/{down['id']}", json={"port": {"admin_state_up": False}})
    assert response.status_code == 200
    for text, expected in (("False", [down]), ("false", [down]), ("True", [up]), ("1", [up])):
        found = listed(api, "ports", {"network_id": network["id"], "admin_state_up": text})
        assert ids(found) == ids(expected), text
    assert_400(api.get("/ports", params={"admin_state_up": "perhaps"}))


def test_boolean_and_integer_filters_on_networks(api: httpx.Client) -> None:
    external = create_network(api, name="list-ext", **{"router:external": True})
    internal = create_network(api, name="list-ext")
    found = listed(api, "networks", {"name": "list-ext", "router:external": "true"})
    assert ids(found) == [external["id"]]
    found = listed(api, "networks", {"name": "list-ext", "router:external": "false"})
    assert ids(found) == [internal["id"]]
    segment = internal["provider:segmentation_id"]
    found = listed(api, "networks", {"provider:segmentation_id": str(segment)})
    assert ids(found) == [internal["id"]]
    assert_400(api.get("/networks", params={"mtu": "big"}))


def test_tenant_id_and_project_id_filter_alike(api: httpx.Client) -> None:
    network = create_network(api, name="list-project", project_id="listing-project")
    for key in ("tenant_id", "project_id"):
        assert ids(listed(api, "networks", {key: "listing-project"})) == [network["id"]]


@pytest.mark.parametrize(
    "params",
    [
        {"colour": "red"},
        {"name": "a", "bogus": "1"},
        {"fixed_ips": "mac_address=x"},
        {"sort_key": "colour"},
        {"sort_key": "fixed_ips"},
        {"sort_key": "name", "sort_dir": "up"},
        [("sort_key", "name"), ("sort_key", "id"), ("sort_dir", "asc")],
        {"limit": "many"},
        {"limit": "-1"},
        {"page_reverse": "sideways"},
        {"marker": "00000000-0000-0000-0000-000000000000", "limit": "1"},
    ],
)
def test_bad_list_parameters_are_400(api: httpx.Client, params: Any) -> None:
    assert_400(api.get("/ports", params=params))


def test_fields_selects_keys(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    found = listed(
        api, "ports", [("network_id", network["id"]), ("fields", "id"), ("fields", "name")]
    )
    assert found
    assert all(set(item) == {"id", "name"} for item in found)
    found = listed(api, "ports", {"network_id": network["id"], "fields": "mac_address,fixed_ips"})
    assert all(set(item) == {"mac_address", "fixed_ips"} for item in found)
    port = ports[0]
    shown = api.get(
        f"/ports/{port['id']}", params=[("fields", "id"), ("fields", "binding:host_id")]
    )
    assert shown.json()["port"] == {"id": port["id"], "binding:host_id": ""}


def test_fields_with_paging_keeps_the_links(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    response = api.get(
        "/ports", params={"network_id": network["id"], "fields": "name", "limit": "2"}
    )
    body = response.json()
    assert [set(item) for item in body["ports"]] == [{"name"}, {"name"}]
    assert [link["rel"] for link in body["ports_links"]] == ["next", "previous"]


def test_sort_both_directions(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    expected = sorted(ports, key=lambda p: (p["name"], p["id"]))
    found = listed(
        api, "ports", [("network_id", network["id"]), ("sort_key", "name"), ("sort_key", "id")]
    )
    assert ids(found) == ids(expected)
    found = listed(
        api,
        "ports",
        [
            ("network_id", network["id"]),
            ("sort_key", "name"),
            ("sort_dir", "desc"),
            ("sort_key", "id"),
            ("sort_dir", "desc"),
        ],
    )
    assert ids(found) == ids(expected[::-1])


def test_sort_on_several_keys_with_mixed_directions(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    found = listed(
        api,
        "ports",
        [
            ("network_id", network["id"]),
            ("sort_key", "name"),
            ("sort_dir", "desc"),
            ("sort_key", "mac_address"),
            ("sort_dir", "asc"),
        ],
    )
    by_mac = sorted(ports, key=lambda p: p["mac_address"])
    expected = sorted(by_mac, key=lambda p: p["name"], reverse=True)
    assert ids(found) == ids(expected)


def test_sort_by_id_first_orders_by_id(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    found = listed(
        api,
        "ports",
        [
            ("network_id", network["id"]),
            ("sort_key", "id"),
            ("sort_dir", "desc"),
            ("sort_key", "name"),
            ("sort_dir", "asc"),
        ],
    )
    assert ids(found) == sorted(ids(ports), reverse=True)


def _walk(api: httpx.Client, url: str, params: Any, rel: str) -> list[list[str]]:
    """Follow ``rel`` links from the first page; the ids of each page, in the order shown."""
    pages: list[list[str]] = []
    response = api.get(url, params=params)
    for _ in range(50):
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(ids(body["ports"]))
        links = {link["rel"]: link["href"] for link in body.get("ports_links", [])}
        if rel not in links:
            return pages
        query = parse_qsl(urlsplit(links[rel]).query)
        assert urlsplit(links[rel]).path.endswith("/v2.0/ports")
        response = api.get("/ports", params=query)
    raise AssertionError("paging did not end")


@pytest.mark.parametrize(
    "sort", [[], [("sort_key", "name")], [("sort_key", "name"), ("sort_dir", "desc")]]
)
def test_paging_forward_walks_every_item_once(
    api: httpx.Client,
    network: dict[str, Any],
    ports: list[dict[str, Any]],
    sort: list[tuple[str, str]],
) -> None:
    params = [("network_id", network["id"]), ("limit", "3"), *sort]
    everything = ids(listed(api, "ports", [("network_id", network["id"]), *sort]))
    assert sorted(everything) == sorted(ids(ports))
    pages = _walk(api, "/ports", params, "next")
    walked = [item for page in pages for item in page]
    assert walked == everything
    assert all(len(page) <= 3 for page in pages)
    assert [len(page) for page in pages[:2]] == [3, 3]


@pytest.mark.parametrize("sort", [[], [("sort_key", "name"), ("sort_dir", "desc")]])
def test_paging_backward_walks_every_item_once(
    api: httpx.Client,
    network: dict[str, Any],
    ports: list[dict[str, Any]],
    sort: list[tuple[str, str]],
) -> None:
    everything = ids(listed(api, "ports", [("network_id", network["id"]), *sort]))
    params = [("network_id", network["id"]), ("limit", "3"), ("page_reverse", "True"), *sort]
    pages = _walk(api, "/ports", params, "previous")
    assert pages[0] == everything[-3:], "a reversed first page is the last items, in order"
    walked = [item for page in reversed(pages) for item in page]
    assert walked == everything


def test_paging_links_go_both_ways(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    everything = ids(listed(api, "ports", {"network_id": network["id"]}))
    first = api.get("/ports", params={"network_id": network["id"], "limit": "3"}).json()
    assert ids(first["ports"]) == everything[:3]
    links = {link["rel"]: link["href"] for link in first["ports_links"]}
    second = api.get("/ports", params=parse_qsl(urlsplit(links["next"]).query)).json()
    assert ids(second["ports"]) == everything[3:6]
    back = {link["rel"]: link["href"] for link in second["ports_links"]}
    assert set(back) == {"next", "previous"}
    previous = api.get("/ports", params=parse_qsl(urlsplit(back["previous"]).query)).json()
    assert ids(previous["ports"]) == everything[:3]


def test_marker_starts_after_the_marked_item(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    everything = ids(listed(api, "ports", {"network_id": network["id"]}))
    after = listed(api, "ports", {"network_id": network["id"], "marker": everything[2]})
    assert ids(after) == everything[3:]
    before = listed(
        api,
        "ports",
        {"network_id": network["id"], "marker": everything[2], "page_reverse": "true"},
    )
    assert ids(before) == everything[:2]


def test_no_links_without_limit(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    body = api.get("/ports", params={"network_id": network["id"]}).json()
    assert "ports_links" not in body
    body = api.get("/ports", params={"network_id": network["id"], "limit": "100"}).json()
    assert len(body["ports"]) == len(ports)
    assert "next" not in {link["rel"] for link in body.get("ports_links", [])}


def test_fixed_ips_filters(api: httpx.Client, network: dict[str, Any]) -> None:
    first = create_subnet(api, network["id"], "10.0.0.0/24")
    second = create_subnet(api, network["id"], "10.1.0.0/24")
    a, b = create_ports(api, network["id"], "a", "b")
    body = {"port": {"network_id": network["id"], "fixed_ips": [{"subnet_id": second["id"]}]}}
    c = api.post("/ports", json=body).json()["port"]
    assert [f["ip_address"] for f in c["fixed_ips"]] == ["10.1.0.2"]

    mine = ("network_id", network["id"])
    found = listed(api, "ports", [mine, ("fixed_ips", "ip_address=10.0.0.3")])
    assert ids(found) == [b["id"]]
    found = listed(
        api,
        "ports",
        [mine, ("fixed_ips", "ip_address=10.0.0.2"), ("fixed_ips", "ip_address=10.0.0.3")],
    )
    assert sorted(ids(found)) == sorted([a["id"], b["id"]])
    everywhere = listed(api, "ports", {"fixed_ips": "ip_address=10.0.0.3"})
    assert b["id"] in ids(everywhere)
    assert all("10.0.0.3" in [f["ip_address"] for f in p["fixed_ips"]] for p in everywhere)
    found = listed(api, "ports", {"fixed_ips": f"subnet_id={second['id']}"})
    assert ids(found) == [c["id"]]
    found = listed(api, "ports", {"fixed_ips": f"subnet_id={first['id']}", "sort_key": "name"})
    assert ids(found) == [a["id"], b["id"]]
    found = listed(
        api,
        "ports",
        [("fixed_ips", f"subnet_id={second['id']}"), ("fixed_ips", "ip_address=10.0.0.2")],
    )
    assert found == [], "both parts of a fixed_ips filter apply to the same address"
    found = listed(
        api,
        "ports",
        [("fixed_ips", f"subnet_id={first['id']}"), ("fixed_ips", "ip_address=10.0.0.2")],
    )
    assert ids(found) == [a["id"]]


def test_json_suffix(api: httpx.Client, network: dict[str, Any]) -> None:
    shown = api.get(f"/networks/{network['id']}.json")
    assert shown.status_code == 200, shown.text
    assert shown.json()["network"] == network
    found = api.get("/networks.json", params={"id": network["id"]})
    assert found.status_code == 200, found.text
    assert ids(found.json()["networks"]) == [network["id"]]
    created = api.post("/ports.json", json={"port": {"network_id": network["id"]}})
    assert created.status_code == 201, created.text


def test_list_of_subnets_filters_by_network_and_cidr(
    api: httpx.Client, network: dict[str, Any]
) -> None:
    first = create_subnet(api, network["id"], "10.0.0.0/24")
    create_subnet(api, network["id"], "10.1.0.0/24", enable_dhcp=False)
    found = listed(api, "subnets", {"network_id": network["id"], "cidr": "10.0.0.0/24"})
    assert ids(found) == [first["id"]]
    found = listed(api, "subnets", {"network_id": network["id"], "enable_dhcp": "false"})
    assert [s["cidr"] for s in found] == ["10.1.0.0/24"]
    found = listed(
        api,
        "subnets",
        {"network_id": network["id"], "ip_version": "4", "sort_key": "cidr", "sort_dir": "desc"},
    )
    assert [s["cidr"] for s in found] == ["10.1.0.0/24", "10.0.0.0/24"]


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_paging_on_a_nullable_sort_key_walks_every_item_once(
    api: httpx.Client, network: dict[str, Any], direction: str
) -> None:
    for index in range(6):
        gateway = {} if index % 2 else {"gateway_ip": None}
        create_subnet(api, network["id"], f"10.{index}.0.0/24", **gateway)
    params: Any = [
        ("network_id", network["id"]),
        ("sort_key", "gateway_ip"),
        ("sort_dir", direction),
    ]
    everything = ids(listed(api, "subnets", params))
    nulls = [s["id"] for s in listed(api, "subnets", params) if s["gateway_ip"] is None]
    assert len(nulls) == 3
    walked: list[str] = []
    response = api.get("/subnets", params=[*params, ("limit", "2")])
    for _ in range(10):
        assert response.status_code == 200, response.text
        body = response.json()
        walked += ids(body["subnets"])
        links = {link["rel"]: link["href"] for link in body.get("subnets_links", [])}
        if "next" not in links:
            break
        response = api.get("/subnets", params=parse_qsl(urlsplit(links["next"]).query))
    assert walked == everything


def test_an_integer_filter_beyond_a_columns_range_matches_nothing(api: httpx.Client) -> None:
    """``mtu`` is a 32-bit column: a larger filter value finds no network on either dialect
    (PostgreSQL would refuse to compare it), and one that fits still filters."""
    network = create_network(api, name="mtu-range")
    for huge in ("2147483648", "-2147483649", "9223372036854775807"):
        assert listed(api, "networks", {"mtu": huge}) == []
        assert listed(api, "networks", [("mtu", huge), ("name", "mtu-range")]) == []
    both = [("mtu", "99999999999"), ("mtu", str(network["mtu"])), ("name", "mtu-range")]
    assert ids(listed(api, "networks", both)) == [network["id"]]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/networks/%00", None),
        ("GET", "/networks?name=a%00", None),
        ("GET", "/ports?fixed_ips=ip_address%3D%00", None),
        ("GET", "/networks?marker=%00", None),
        ("POST", "/networks", {"network": {"name": "a\u0000b"}}),
        ("POST", "/networks", {"networks": [{"name": "ok"}, {"description": "\u0000"}]}),
    ],
)
def test_a_null_character_anywhere_is_a_400_and_nothing_is_written(
    api: httpx.Client, method: str, path: str, body: Any
) -> None:
    """PostgreSQL's text cannot hold NUL; no dialect stores it, and no request reaches the store
    with one."""
    before = len(listed(api, "networks", {}))
    assert_400(api.request(method, path, json=body))
    assert len(listed(api, "networks", {})) == before


def test_an_escaped_backslash_before_u0000_is_no_null(api: httpx.Client) -> None:
    response = api.post("/networks", json={"network": {"name": "\\u0000"}})
    assert response.status_code == 201, response.text
    assert response.json()["network"]["name"] == "\\u0000"


def _follow(api: httpx.Client, href: str) -> tuple[list[str], dict[str, str]]:
    """One page by its link: its ids, and its links by rel."""
    assert urlsplit(href).path.endswith("/v2.0/ports")
    response = api.get("/ports", params=parse_qsl(urlsplit(href).query))
    assert response.status_code == 200, response.text
    body = response.json()
    return ids(body["ports"]), {link["rel"]: link["href"] for link in body.get("ports_links", [])}


def test_href_links_walk_forward_past_the_end_and_back(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    """Mirrors neutron-tempest-plugin test_ports.PortsSearchCriteriaTest
    .test_list_pagination_with_href_links (BaseSearchCriteriaTest._list_all_with_hrefs): one
    item a page by ``next`` until the empty page after the last, which has no ``next``; then
    by ``previous`` from there, the same items in reverse."""
    params = {"network_id": network["id"], "sort_key": "name", "sort_dir": "asc"}
    everything = ids(listed(api, "ports", params))
    forward: list[str] = []
    page, links = _follow(api, "/v2.0/ports?" + urlencode({**params, "limit": "1"}))
    for _ in everything:
        forward += page
        page, links = _follow(api, links["next"])
    assert forward == everything
    assert page == []
    assert "next" not in links
    backward: list[str] = []
    for _ in everything:
        page, links = _follow(api, links["previous"])
        backward += page
    assert backward == list(reversed(everything))


def test_href_links_walk_backward_from_a_reversed_first_page(
    api: httpx.Client, network: dict[str, Any], ports: list[dict[str, Any]]
) -> None:
    """Mirrors neutron-tempest-plugin test_ports.PortsSearchCriteriaTest
    .test_list_pagination_page_reverse_with_href_links: ``page_reverse`` with no marker is
    the last page, and ``previous`` links lead to the first, two items a page."""
    params = {"network_id": network["id"], "sort_key": "name", "sort_dir": "asc"}
    everything = ids(listed(api, "ports", params))
    query = urlencode({**params, "limit": "2", "page_reverse": "True"})
    page, links = _follow(api, "/v2.0/ports?" + query)
    pages = [page]
    for _ in range((len(everything) + 1) // 2 - 1):
        page, links = _follow(api, links["previous"])
        pages.append(page)
    assert [item for page in reversed(pages) for item in page] == everything
    assert "previous" not in links, "the first page came out short: nothing before it"


def test_fixed_ips_filter_by_address_substring(api: httpx.Client, network: dict[str, Any]) -> None:
    """Mirrors tempest test_ports.PortsTestJSON.test_port_list_filter_by_ip_substr
    (``ip-substring-filtering``): ``fixed_ips=ip_address_substr=TEXT`` lists the ports with an
    address containing TEXT; LIKE's wildcards in TEXT are plain characters."""
    subnet = create_subnet(api, network["id"], "10.7.0.0/24")
    made = []
    for address in ("10.7.0.19", "10.7.0.21", "10.7.0.9"):
        body = {
            "network_id": network["id"],
            "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": address}],
        }
        response = api.post("/ports", json={"port": body})
        assert response.status_code == 201, response.text
        made.append(response.json()["port"]["id"])

    def found(*texts: str) -> set[str]:
        params = [("network_id", network["id"])]
        params += [("fixed_ips", f"ip_address_substr={text}") for text in texts]
        return set(ids(listed(api, "ports", params)))

    assert found("10.7.0.1") == {made[0]}
    assert found("10.7.0.") == set(made)
    assert found("9") == {made[0], made[2]}
    assert found("0.2", "0.9") == {made[1], made[2]}
    assert found("10.7.0._") == set()
    assert found("%") == set()
    both = [("network_id", network["id"]), ("fixed_ips", "ip_address_substr=9")]
    both.append(("fixed_ips", f"subnet_id={subnet['id']}"))
    assert set(ids(listed(api, "ports", both))) == {made[0], made[2]}
