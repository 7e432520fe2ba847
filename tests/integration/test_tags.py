"""Tags (``standard-attr-tag``) over real HTTP on networks, subnets and ports: replace, add, check,
remove one and all, tags in the create body, the revision bump, and the four tag filters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


def create(api: httpx.Client, singular: str, **attributes: Any) -> dict[str, Any]:
    response = api.post(f"/{singular}s", json={singular: attributes})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()[singular]
    return created


@pytest.fixture(params=["network", "subnet", "port"])
def resource(request: pytest.FixtureRequest, api: httpx.Client) -> tuple[str, dict[str, Any]]:
    """A fresh resource of each kind, as (collection path, body)."""
    network = create(api, "network")
    if request.param == "network":
        return "/networks", network
    if request.param == "subnet":
        return "/subnets", create(api, "subnet", network_id=network["id"], cidr="10.0.0.0/24")
    return "/ports", create(api, "port", network_id=network["id"])


def shown(api: httpx.Client, path: str, resource_id: str) -> dict[str, Any]:
    response = api.get(f"{path}/{resource_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return next(iter(body.values()))  # type: ignore[no-any-return]


def test_replace_add_check_remove(api: httpx.Client, resource: tuple[str, dict[str, Any]]) -> None:
    path, item = resource
    tags_url = f"{path}/{item['id']}/tags"

    response = api.put(tags_url, json={"tags": ["red", "blue", "red"]})
    assert response.status_code == 200, response.text
    assert sorted(response.json()["tags"]) == ["blue", "red"]
    assert sorted(shown(api, path, item["id"])["tags"]) == ["blue", "red"]
    assert sorted(api.get(tags_url).json()["tags"]) == ["blue", "red"]

    assert api.put(f"{tags_url}/green").status_code == 201
    assert sorted(shown(api, path, item["id"])["tags"]) == ["blue", "green", "red"]
    assert api.get(f"{tags_url}/green").status_code == 204
    missing = api.get(f"{tags_url}/purple")
    assert missing.status_code == 404
    assert missing.json()["NeutronError"]["type"] == "TagNotFound"

    assert api.delete(f"{tags_url}/blue").status_code == 204
    assert sorted(shown(api, path, item["id"])["tags"]) == ["green", "red"]
    assert api.get(f"{tags_url}/blue").status_code == 404
    gone = api.delete(f"{tags_url}/blue")
    assert gone.status_code == 404
    assert gone.json()["NeutronError"]["type"] == "TagNotFound"

    response = api.put(tags_url, json={"tags": ["only"]})
    assert response.json()["tags"] == ["only"]
    assert shown(api, path, item["id"])["tags"] == ["only"]

    assert api.delete(tags_url).status_code == 204
    assert shown(api, path, item["id"])["tags"] == []
    assert api.get(tags_url).json()["tags"] == []


def test_tag_changes_bump_the_revision(
    api: httpx.Client, resource: tuple[str, dict[str, Any]]
) -> None:
    path, item = resource
    tags_url = f"{path}/{item['id']}/tags"
    revision = shown(api, path, item["id"])["revision_number"]

    def bumped_by(response: httpx.Response) -> int:
        nonlocal revision
        assert response.is_success, response.text
        now = shown(api, path, item["id"])["revision_number"]
        step, revision = now - revision, now
        return int(step)

    assert bumped_by(api.put(tags_url, json={"tags": ["a", "b"]})) == 1
    assert bumped_by(api.put(f"{tags_url}/c")) == 1
    assert bumped_by(api.delete(f"{tags_url}/a")) == 1
    assert bumped_by(api.delete(tags_url)) == 1


def test_tags_on_unknown_resource_are_404(api: httpx.Client) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    for response in (
        api.get(f"/networks/{missing}/tags"),
        api.put(f"/networks/{missing}/tags", json={"tags": ["a"]}),
        api.put(f"/networks/{missing}/tags/a"),
        api.delete(f"/networks/{missing}/tags"),
        api.delete(f"/networks/{missing}/tags/a"),
        api.get(f"/networks/{missing}/tags/a"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["NeutronError"]["type"] == "NetworkNotFound"


@pytest.mark.parametrize(
    "body", [{"tags": "a"}, {"tags": [1]}, {"tags": ["a,b"]}, {"tags": [""]}, {}, {"tag": ["a"]}]
)
def test_bad_tag_bodies_are_400(api: httpx.Client, body: dict[str, Any]) -> None:
    network = create(api, "network", tags=["kept"])
    response = api.put(f"/networks/{network['id']}/tags", json=body)
    assert response.status_code == 400, response.text
    assert shown(api, "/networks", network["id"])["tags"] == ["kept"]


def test_overlong_tag_is_400(api: httpx.Client) -> None:
    network = create(api, "network")
    assert api.put(f"/networks/{network['id']}/tags/{'x' * 256}").status_code == 400
    assert shown(api, "/networks", network["id"])["tags"] == []


def test_tags_in_the_create_body(api: httpx.Client) -> None:
    network = create(api, "network", tags=["b", "a"])
    assert sorted(network["tags"]) == ["a", "b"]
    subnet = create(api, "subnet", network_id=network["id"], cidr="10.1.0.0/24", tags=["s"])
    port = create(api, "port", network_id=network["id"], tags=["p1", "p2"])
    assert sorted(shown(api, "/networks", network["id"])["tags"]) == ["a", "b"]
    assert shown(api, "/subnets", subnet["id"])["tags"] == ["s"]
    assert sorted(shown(api, "/ports", port["id"])["tags"]) == ["p1", "p2"]
    bulk = api.post(
        "/ports",
        json={"ports": [{"network_id": network["id"], "tags": [f"bulk{i}"]} for i in range(2)]},
    )
    assert bulk.status_code == 201, bulk.text
    for index, item in enumerate(bulk.json()["ports"]):
        assert item["tags"] == [f"bulk{index}"]
        assert shown(api, "/ports", item["id"])["tags"] == [f"bulk{index}"]


def test_bad_tags_in_the_create_body_are_400(api: httpx.Client) -> None:
    response = api.post("/networks", json={"network": {"name": "bad-tags", "tags": ["a,b"]}})
    assert response.status_code == 400, response.text
    assert api.get("/networks", params={"name": "bad-tags"}).json()["networks"] == []


def test_tag_filters(api: httpx.Client) -> None:
    scope = {"name": "tag-filters"}

    def tagged(*tags: str) -> str:
        return create(api, "network", name="tag-filters", tags=list(tags))["id"]

    ab, a, b, c, none = tagged("ta", "tb"), tagged("ta"), tagged("tb"), tagged("tc"), tagged()

    def found(**params: str) -> set[str]:
        response = api.get("/networks", params={**scope, **params})
        assert response.status_code == 200, response.text
        return {n["id"] for n in response.json()["networks"]}

    assert found(tags="ta") == {ab, a}
    assert found(tags="ta,tb") == {ab}
    assert found(**{"tags-any": "ta,tb"}) == {ab, a, b}
    assert found(**{"not-tags": "ta,tb"}) == {a, b, c, none}
    assert found(**{"not-tags": "ta"}) == {b, c, none}
    assert found(**{"not-tags-any": "ta,tb"}) == {c, none}
    assert found(**{"tags-any": "ta,tc", "not-tags": "tb"}) == {a, c}
    repeated = api.get("/networks", params=[*scope.items(), ("tags", "ta"), ("tags", "tb")])
    assert {n["id"] for n in repeated.json()["networks"]} == {ab}


def test_tag_filters_on_ports_and_subnets(api: httpx.Client) -> None:
    network = create(api, "network")
    subnet = create(api, "subnet", network_id=network["id"], cidr="10.2.0.0/24", tags=["sx"])
    create(api, "subnet", network_id=network["id"], cidr="10.3.0.0/24")
    port = create(api, "port", network_id=network["id"], tags=["px"])
    create(api, "port", network_id=network["id"])
    mine = {"network_id": network["id"]}
    subnets = api.get("/subnets", params={**mine, "tags": "sx"}).json()["subnets"]
    assert [s["id"] for s in subnets] == [subnet["id"]]
    ports = api.get("/ports", params={**mine, "tags-any": "px"}).json()["ports"]
    assert [p["id"] for p in ports] == [port["id"]]
    ports = api.get("/ports", params={**mine, "not-tags": "px"}).json()["ports"]
    assert port["id"] not in [p["id"] for p in ports]
    assert len(ports) == 1


def test_deleted_resource_leaves_no_tags_behind(api: httpx.Client) -> None:
    network = create(api, "network", name="tag-gone", tags=["gone"])
    assert api.delete(f"/networks/{network['id']}").status_code == 204
    assert api.get("/networks", params={"tags": "gone", "name": "tag-gone"}).json() == {
        "networks": []
    }
