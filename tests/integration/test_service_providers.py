"""Service providers (``service-type``) over real HTTP: Alcor has none of Neutron's advanced
services to choose a provider for, and answers as the reference Neutron does, an empty list
whatever the filters and fields."""

from __future__ import annotations

import httpx

MEMBER = {"X-Project-Id": "providers-member", "X-Roles": "member"}
READER = {"X-Project-Id": "providers-reader", "X-Roles": "reader"}


def test_service_providers_list(api: httpx.Client) -> None:
    """Mirrors tempest test_service_providers.ServiceProvidersTest.test_service_providers_list
    and neutron-tempest-plugin test_service_type_management.ServiceTypeManagementTest
    .test_service_provider_list."""
    for headers in (MEMBER, READER, {}):
        listed = api.get("/service-providers", headers=headers)
        assert listed.status_code == 200, listed.text
        assert listed.json() == {"service_providers": []}


def test_service_providers_take_filters_and_fields(api: httpx.Client) -> None:
    params = {"service_type": "L3_ROUTER_NAT", "fields": "name", "limit": "1"}
    listed = api.get("/service-providers", params=params, headers=MEMBER)
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"service_providers": []}


def test_the_extension_is_listed(api: httpx.Client) -> None:
    """The suites run the service-type tests only when the extension is listed."""
    listed = {e["alias"] for e in api.get("/extensions").json()["extensions"]}
    assert "service-type" in listed
