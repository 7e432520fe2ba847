"""``floatingip-pools`` over real HTTP: ``GET /v2.0/floatingip_pools`` lists the IPv4 subnets of
the external networks, as the reference Neutron does (the asking project as ``project_id``)."""

from __future__ import annotations

import httpx

from tests.integration.neutron import assert_error, create_network, create_subnet

MEMBER = {"X-Project-Id": "pools-a", "X-Roles": "member"}


def test_a_member_lists_every_external_subnet_and_takes_a_floating_ip_from_one(
    api: httpx.Client,
) -> None:
    """Mirrors neutron_tempest_plugin test_floating_ips.FloatingIPPoolTestJSON
    .test_create_floatingip_from_specific_pool: an admin's external network, not shared, with
    two subnets; the member finds both pools and gets a floating IP from each one asked for."""
    external = create_network(api, **{"router:external": True})
    first = create_subnet(api, external["id"], "172.31.1.0/24", enable_dhcp=False, name="one")
    second = create_subnet(api, external["id"], "172.31.2.0/24", enable_dhcp=False)
    v6 = create_subnet(api, external["id"], "2001:db8:31::/64", ip_version=6, enable_dhcp=False)
    internal = create_network(api)
    create_subnet(api, internal["id"], "10.31.0.0/24")
    # neutron-tempest-plugin's client asks Neutron's extension path (hyphens); the api-ref's
    # (underscore) answers the same
    response = api.get("/floatingip-pools", headers=MEMBER)
    assert response.status_code == 200, response.text
    assert api.get("/floatingip_pools", headers=MEMBER).json() == response.json()
    pools = [p for p in response.json()["floatingip_pools"] if p["network_id"] == external["id"]]
    assert sorted(pools, key=lambda p: p["cidr"]) == [
        {
            "subnet_id": first["id"],
            "subnet_name": "one",
            "project_id": "pools-a",
            "network_id": external["id"],
            "cidr": "172.31.1.0/24",
            "tenant_id": "pools-a",
        },
        {
            "subnet_id": second["id"],
            "subnet_name": "",
            "project_id": "pools-a",
            "network_id": external["id"],
            "cidr": "172.31.2.0/24",
            "tenant_id": "pools-a",
        },
    ]
    listed = {p["network_id"] for p in response.json()["floatingip_pools"]}
    assert internal["id"] not in listed
    assert v6["id"] not in {p["subnet_id"] for p in response.json()["floatingip_pools"]}
    for pool in pools:
        body = {
            "floatingip": {
                "floating_network_id": pool["network_id"],
                "subnet_id": pool["subnet_id"],
            }
        }
        created = api.post("/floatingips", json=body, headers=MEMBER)
        assert created.status_code == 201, created.text
        address = created.json()["floatingip"]["floating_ip_address"]
        assert address.startswith(pool["cidr"].rsplit(".", 1)[0] + ".")


def test_pools_filter_and_pick_fields(api: httpx.Client) -> None:
    external = create_network(api, **{"router:external": True})
    subnet = create_subnet(api, external["id"], "172.31.9.0/24", enable_dhcp=False)
    picked = api.get(
        "/floatingip_pools", params={"subnet_id": subnet["id"], "fields": ["cidr", "subnet_id"]}
    )
    assert picked.json() == {
        "floatingip_pools": [{"cidr": "172.31.9.0/24", "subnet_id": subnet["id"]}]
    }
    none = api.get("/floatingip_pools", params={"cidr": "10.0.0.0/8"}).json()
    assert none == {"floatingip_pools": []}
    assert_error(api.get("/floatingip_pools", params={"color": "red"}), 400)
    aliases = [e["alias"] for e in api.get("/extensions").json()["extensions"]]
    assert "floatingip-pools" in aliases
