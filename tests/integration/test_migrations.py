"""The migrations and the schema the code is written against are one schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import msgspec
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from alcor.goalstate.engine import Engine
from alcor.store import migrations, schema
from alcor.store.interface import LOGGED_TYPES
from alcor.v1 import southbound_pb2 as pb
from tests.integration.neutron import ensure_nodes
from tests.servers import ServerProcess


def differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, schema.metadata))


def test_a_store_migrated_to_head_has_exactly_the_schema_the_code_uses(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'alcor.db'}")
    migrations.upgrade(engine)
    assert differences(engine) == []


def test_every_migration_goes_down_and_up_again(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'alcor.db'}")
    migrations.upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(migrations.config(connection), "base")
        assert sa.inspect(connection).get_table_names() == ["alembic_version"]
        command.upgrade(migrations.config(connection), "head")
    assert differences(engine) == []


# --- 0010: router membership from the router's records ------------------------------------------

A = {"X-Project-Id": "mig-a", "X-Roles": "member"}
B = {"X-Project-Id": "mig-b", "X-Roles": "member"}
ADMIN_AS_B = {"X-Project-Id": "mig-b", "X-Roles": "admin"}


def made(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return next(iter(response.json().values()))


def subnet_body(network_id: str, cidr: str) -> dict[str, Any]:
    return {"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": 4}}


def spoofed_world(api: httpx.Client) -> dict[str, str]:
    """A's router with an interface and a gateway, A's port behind it and B's on their hosts,
    and two ports of B's naming A's router as interface and gateway (made by an admin, as a
    member made them before the check): what issue 10 found in stores."""
    ensure_nodes(api, "mig-host-a", "mig-host-b")
    ext = made(api.post("/networks", json={"network": {"router:external": True}}))
    made(api.post("/subnets", json=subnet_body(ext["id"], "203.0.113.0/24")))
    ids = {"ext": ext["id"]}
    for name, headers, cidr in (("a", A, "10.81.0.0/24"), ("b", B, "10.82.0.0/24")):
        network = made(api.post("/networks", json={"network": {}}, headers=headers))
        subnet = made(api.post("/subnets", json=subnet_body(network["id"], cidr), headers=headers))
        port = {"network_id": network["id"], "binding:host_id": f"mig-host-{name}"}
        made(api.post("/ports", json={"port": port}, headers={**headers, "X-Roles": "admin"}))
        ids |= {f"{name}-net": network["id"], f"{name}-subnet": subnet["id"]}
    router = made(api.post("/routers", json={"router": {}}, headers=A))
    url = f"/routers/{router['id']}"
    interface = api.put(
        f"{url}/add_router_interface", json={"subnet_id": ids["a-subnet"]}, headers=A
    )
    gateway = {"external_gateway_info": {"network_id": ext["id"]}}
    made(api.put(url, json={"router": gateway}, headers=A))
    ids |= {"router": router["id"], "interface": interface.json()["port_id"]}
    for owner, network in (("interface", ids["b-net"]), ("gateway", ext["id"])):
        spoof = {"network_id": network, "device_id": router["id"]}
        spoof["device_owner"] = f"network:router_{owner}"
        ids[f"spoof-{owner}"] = made(api.post("/ports", json={"port": spoof}, headers=ADMIN_AS_B))[
            "id"
        ]
    return ids


def as_before_0010(engine: sa.Engine) -> None:
    """The store as a controller before migration 0010 left it: no membership columns, and
    change-log records without the membership fields."""
    with engine.begin() as connection:
        command.downgrade(migrations.config(connection), "0009")
        rows = connection.execute(sa.text("SELECT revision, data FROM change_log")).all()
        for revision, data in rows:
            record = json.loads(data)
            record.pop("router_id", None)
            record.pop("router_port_type", None)
            connection.execute(
                sa.text("UPDATE change_log SET data = :data WHERE revision = :revision"),
                {"data": json.dumps(record), "revision": revision},
            )


def replayed(engine: sa.Engine) -> tuple[Engine, int, int]:
    """The goal-state engine a controller rebuilds from the store's change log, the store's
    revision and its floor."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT revision, resource_type, operation, data FROM change_log ORDER BY revision"
            )
        ).all()
        revision, floor = connection.execute(
            sa.text("SELECT revision, compacted_through FROM store_revision")
        ).one()
    goal_state = Engine()
    for row in rows:
        record = msgspec.json.decode(row[3], type=LOGGED_TYPES[row[1]])
        goal_state.apply(row[0], row[2], record, quiet=True)
    goal_state.compact(floor)
    return goal_state, revision, floor


def router_entry(goal_state: Engine, host: str, router_id: str) -> pb.Router | None:
    for entry in goal_state.snapshot(host):
        if entry.WhichOneof("resource") == "router" and entry.router.id == router_id:
            return entry.router
    return None


def test_0010_makes_a_routers_own_ports_its_members_and_leaves_spoofed_ones_inert(
    tmp_path: Path,
) -> None:
    db = tmp_path / "alcor.db"
    server = ServerProcess(db).start()
    try:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as api:
            ids = spoofed_world(api)
    finally:
        server.stop()
    engine = sa.create_engine(f"sqlite:///{db}")
    as_before_0010(engine)
    with engine.connect() as connection:
        before = connection.execute(sa.text("SELECT revision FROM store_revision")).scalar_one()
        (gateway_port,) = connection.execute(
            sa.text("SELECT gateway_port_id FROM routers WHERE id = :id"), {"id": ids["router"]}
        ).one()

    migrations.upgrade(engine)

    with engine.connect() as connection:
        membership = {
            row[0]: (row[1], row[2])
            for row in connection.execute(
                sa.text("SELECT id, router_id, router_port_type FROM ports")
            )
        }
        logged = connection.execute(
            sa.text("SELECT resource_type, resource_id, operation FROM change_log")
        ).all()
    assert membership[ids["interface"]] == (ids["router"], "network:router_interface")
    assert membership[gateway_port] == (ids["router"], "network:router_gateway")
    assert membership[ids["spoof-interface"]] == membership[ids["spoof-gateway"]] == ("", "")
    assert len(logged) == len({(kind, rid) for kind, rid, _ in logged})  # folded
    assert all(operation != "delete" for _, _, operation in logged)

    goal_state, revision, floor = replayed(engine)
    assert revision == floor == before + 4  # a row per port naming a router; all snapshot
    assert goal_state.delta_since("mig-host-a", before) is None
    router = router_entry(goal_state, "mig-host-a", ids["router"])
    assert router is not None
    assert {i.port_id for i in router.interfaces} == {ids["interface"]}
    assert router.gateway.port_id == gateway_port
    assert router_entry(goal_state, "mig-host-b", ids["router"]) is None
    topics_of_b = goal_state.topics_of("mig-host-b")
    assert ("network", ids["b-net"]) in topics_of_b
    assert not topics_of_b & {("router", ids["router"]), ("network", ids["a-net"])}

    server = ServerProcess(db).start()  # the repaired store serves
    try:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as api:
            for spoof in ("spoof-interface", "spoof-gateway"):
                assert api.delete(f"/ports/{ids[spoof]}", headers=B).status_code == 204
            url = f"/routers/{ids['router']}"
            body = {"subnet_id": ids["a-subnet"]}
            made(api.put(f"{url}/remove_router_interface", json=body, headers=A))
            made(api.put(url, json={"router": {"external_gateway_info": None}}, headers=A))
            assert api.delete(url, headers=A).status_code == 204
    finally:
        server.stop()
    assert "Traceback" not in server.errors_logged(), server.errors_logged()


# --- 0020: address groups, rule templates, the rules' normalized_cidr and belongs_to_default_sg --


def test_0020_seeds_neutrons_templates_and_fills_the_rules_new_columns(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'alcor.db'}")
    with engine.begin() as connection:
        command.upgrade(migrations.config(connection), "0013")
        common = {"project_id": "p", "description": "", "created_at": "t", "updated_at": "t",
                  "revision_number": 1}  # fmt: skip
        for group_id, name in (("g-default", "default"), ("g-web", "web")):
            connection.execute(
                sa.text(
                    "INSERT INTO security_groups VALUES (:id, :project_id, :name, :description, "
                    ":created_at, :updated_at, :revision_number, TRUE)"
                ),
                {"id": group_id, "name": name, **common},
            )
        for rule_id, group_id, prefix in (("r1", "g-default", None), ("r2", "g-web", "10.0.0.0/8")):
            connection.execute(
                sa.text(
                    "INSERT INTO security_group_rules (id, project_id, name, description, "
                    "created_at, updated_at, revision_number, security_group_id, direction, "
                    "ethertype, remote_ip_prefix) VALUES (:id, :project_id, '', :description, "
                    ":created_at, :updated_at, :revision_number, :group, 'ingress', 'IPv4', "
                    ":prefix)"
                ),
                {"id": rule_id, "group": group_id, "prefix": prefix, **common},
            )
        command.upgrade(migrations.config(connection), "head")
        rules = connection.execute(
            sa.text(
                "SELECT id, normalized_cidr, belongs_to_default_sg, remote_address_group_id "
                "FROM security_group_rules ORDER BY id"
            )
        ).all()
        templates = connection.execute(
            sa.text(
                "SELECT direction, ethertype, remote_group_id, used_in_default_sg, "
                "used_in_non_default_sg, description FROM default_security_group_rules"
            )
        ).all()
    assert [tuple(row) for row in rules] == [
        ("r1", None, True, None),
        ("r2", "10.0.0.0/8", False, None),
    ]
    egress = "Legacy default SG rule for egress traffic"
    ingress = "Legacy default SG rule for ingress traffic"
    assert sorted(tuple(row) for row in templates) == [
        ("egress", "IPv4", None, True, True, egress),
        ("egress", "IPv6", None, True, True, egress),
        ("ingress", "IPv4", "PARENT", True, False, ingress),
        ("ingress", "IPv6", "PARENT", True, False, ingress),
    ]


def test_0022_gives_shared_scopes_and_pools_their_every_project_policy(tmp_path: Path) -> None:
    """A scope or pool shared before RBAC covered them is shared with ``*`` by a policy its
    project owns after; an unshared one gets none; going down takes them away again."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'alcor.db'}")
    with engine.begin() as connection:
        command.upgrade(migrations.config(connection), "0021")
        common = {"name": "", "description": "", "created_at": "t", "updated_at": "u",
                  "revision_number": 1, "ip_version": 4}  # fmt: skip
        scopes = sa.Table("address_scopes", sa.MetaData(), autoload_with=connection)
        pools = sa.Table("subnetpools", sa.MetaData(), autoload_with=connection)
        for shared in (True, False):
            connection.execute(
                scopes.insert().values(
                    id=f"s-{shared}", project_id=f"p-{shared}", shared=shared, **common
                )
            )
            connection.execute(
                pools.insert().values(
                    id=f"sp-{shared}",
                    project_id=f"p-{shared}",
                    shared=shared,
                    prefixes="[]",
                    min_prefixlen=8,
                    max_prefixlen=32,
                    default_prefixlen=24,
                    is_default=False,
                    **common,
                )
            )
        command.upgrade(migrations.config(connection), "head")
        query = sa.text(
            "SELECT project_id, object_type, object_id, action, target_project, updated_at "
            "FROM rbac_policies ORDER BY object_id"
        )
        made = [tuple(row) for row in connection.execute(query)]
        command.downgrade(migrations.config(connection), "0021")
        left = connection.execute(query).all()
    assert made == [
        ("p-True", "address_scope", "s-True", "access_as_shared", "*", "u"),
        ("p-True", "subnetpool", "sp-True", "access_as_shared", "*", "u"),
    ]
    assert left == []
