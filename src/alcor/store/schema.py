"""The tables. One code path for SQLite and PostgreSQL.

Resource tables hold one column per scalar field (so every scalar can be filtered and sorted in
SQL) and JSON columns for nested lists. Two index tables keep what the database itself must
guard: ``ip_allocations`` (an address is handed out once per subnet) and ``tags``;
``port_security_groups`` indexes port membership of security groups. The
``change_log`` is the spine: one row per changed resource, keyed by the global revision.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

TIMESTAMP = sa.String(32)
UUID = sa.String(36)
# JSON text, encoded and decoded by the store itself with typed decoders (see rows.py).
DOCUMENT = sa.Text


def _common_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", UUID, primary_key=True),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("name", sa.String(255), nullable=False, default=""),
        sa.Column("description", sa.String(1024), nullable=False, default=""),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("revision_number", sa.BigInteger, nullable=False),
    ]


def _unnamed_columns() -> list[sa.Column[object]]:
    """The common columns of a resource that has no name (floating IPs, port forwardings)."""
    return [column for column in _common_columns() if column.name != "name"]


networks = sa.Table(
    "networks",
    metadata,
    *_common_columns(),
    sa.Column("admin_state_up", sa.Boolean, nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False),
    sa.Column("mtu", sa.Integer, nullable=False),
    sa.Column("router_external", sa.Boolean, nullable=False),
    sa.Column("network_type", sa.String(32), nullable=False),
    sa.Column("segmentation_id", sa.Integer, nullable=True),
    sa.Column("physical_network", sa.String(64), nullable=True),
    sa.Column("port_security_enabled", sa.Boolean, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("availability_zone_hints", DOCUMENT, nullable=False, server_default="[]"),
    # Set on a project's auto-allocated network: the router to the default external network
    sa.Column("auto_allocated_router_id", UUID, nullable=True),
    sa.Column("dns_domain", sa.String(255), nullable=False, server_default=""),
    sa.Column("qos_policy_id", UUID, nullable=True, index=True),
    # VXLAN VNIs are unique in the region (NULLs never collide, so no physical_network here).
    sa.UniqueConstraint("network_type", "segmentation_id", name="uq_segment"),
)

subnets = sa.Table(
    "subnets",
    metadata,
    *_common_columns(),
    sa.Column("network_id", UUID, sa.ForeignKey("networks.id"), nullable=False, index=True),
    sa.Column("ip_version", sa.Integer, nullable=False),
    sa.Column("cidr", sa.String(64), nullable=False),
    sa.Column("gateway_ip", sa.String(64), nullable=True),
    sa.Column("allocation_pools", DOCUMENT, nullable=False),
    sa.Column("host_routes", DOCUMENT, nullable=False),
    sa.Column("dns_nameservers", DOCUMENT, nullable=False),
    sa.Column("enable_dhcp", sa.Boolean, nullable=False),
    sa.Column("ipv6_ra_mode", sa.String(32), nullable=True),
    sa.Column("ipv6_address_mode", sa.String(32), nullable=True),
    sa.Column("subnetpool_id", UUID, nullable=True, index=True),
    sa.Column("service_types", DOCUMENT, nullable=False, server_default="[]"),
)

ports = sa.Table(
    "ports",
    metadata,
    *_common_columns(),
    sa.Column("network_id", UUID, sa.ForeignKey("networks.id"), nullable=False, index=True),
    sa.Column("mac_address", sa.String(32), nullable=False),
    sa.Column("admin_state_up", sa.Boolean, nullable=False),
    sa.Column("device_id", sa.String(255), nullable=False, index=True),
    sa.Column("device_owner", sa.String(255), nullable=False),
    sa.Column("fixed_ips", DOCUMENT, nullable=False),
    sa.Column("security_groups", DOCUMENT, nullable=False),
    sa.Column("port_security_enabled", sa.Boolean, nullable=False),
    sa.Column("allowed_address_pairs", DOCUMENT, nullable=False),
    sa.Column("binding_host_id", sa.String(255), nullable=False, index=True),
    sa.Column("binding_profile", DOCUMENT, nullable=False),
    sa.Column("binding_vnic_type", sa.String(64), nullable=False),
    sa.Column("binding_vif_type", sa.String(64), nullable=False),
    sa.Column("binding_vif_details", DOCUMENT, nullable=False),
    sa.Column("extra_dhcp_opts", DOCUMENT, nullable=False, server_default="[]"),
    # router membership (Neutron's ``routerports``): set by the router manager only
    sa.Column("router_id", UUID, nullable=False, server_default="", index=True),
    sa.Column("router_port_type", sa.String(32), nullable=False, server_default=""),
    # internal DNS (dns-integration, dns-domain-ports): the name and domain the port asked for
    sa.Column("dns_name", sa.String(255), nullable=False, server_default=""),
    sa.Column("dns_domain", sa.String(255), nullable=False, server_default=""),
    # QoS: the port's own policy and its network's (kept in step by the network manager)
    sa.Column("qos_policy_id", UUID, nullable=True, index=True),
    sa.Column("qos_network_policy_id", UUID, nullable=True),
    sa.UniqueConstraint("network_id", "mac_address", name="uq_port_mac"),
)

ip_allocations = sa.Table(
    "ip_allocations",
    metadata,
    sa.Column("subnet_id", UUID, sa.ForeignKey("subnets.id"), primary_key=True),
    sa.Column("ip_address", sa.String(64), primary_key=True),
    sa.Column("port_id", UUID, sa.ForeignKey("ports.id"), nullable=False, index=True),
    sa.Column("network_id", UUID, nullable=False),
)

security_groups = sa.Table(
    "security_groups",
    metadata,
    *_common_columns(),
    sa.Column("stateful", sa.Boolean, nullable=False),
)

security_group_rules = sa.Table(
    "security_group_rules",
    metadata,
    *_common_columns(),
    sa.Column(
        "security_group_id",
        UUID,
        sa.ForeignKey("security_groups.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("direction", sa.String(16), nullable=False),
    sa.Column("ethertype", sa.String(16), nullable=False),
    sa.Column("protocol", sa.String(40), nullable=True),
    sa.Column("port_range_min", sa.Integer, nullable=True),
    sa.Column("port_range_max", sa.Integer, nullable=True),
    sa.Column("remote_ip_prefix", sa.String(64), nullable=True),
    sa.Column(
        "remote_group_id", UUID, sa.ForeignKey("security_groups.id"), nullable=True, index=True
    ),
    sa.Column("remote_address_group_id", UUID, nullable=True, index=True),
    sa.Column("normalized_cidr", sa.String(64), nullable=True),
    sa.Column("belongs_to_default_sg", sa.Boolean, nullable=False),
)

# Port membership of security groups, derived from ``ports.security_groups`` by the store on
# every port write: "is this group in use" and "the members of group X" are indexed queries.
port_security_groups = sa.Table(
    "port_security_groups",
    metadata,
    sa.Column("port_id", UUID, sa.ForeignKey("ports.id"), primary_key=True),
    sa.Column(
        "security_group_id",
        UUID,
        sa.ForeignKey("security_groups.id"),
        primary_key=True,
        index=True,
    ),
)

routers = sa.Table(
    "routers",
    metadata,
    *_common_columns(),
    sa.Column("admin_state_up", sa.Boolean, nullable=False),
    sa.Column("gateway_network_id", UUID, sa.ForeignKey("networks.id"), nullable=True, index=True),
    sa.Column("gateway_port_id", UUID, nullable=True),
    sa.Column("enable_snat", sa.Boolean, nullable=False),
    sa.Column("routes", DOCUMENT, nullable=False),
)

# A floating IP owns a port on the external network (``floating_port_id``); ``port_id`` and
# ``fixed_ip_address`` are the internal address it is associated with (one FIP per fixed IP).
floatingips = sa.Table(
    "floatingips",
    metadata,
    *_unnamed_columns(),
    sa.Column(
        "floating_network_id", UUID, sa.ForeignKey("networks.id"), nullable=False, index=True
    ),
    sa.Column("floating_ip_address", sa.String(64), nullable=False),
    sa.Column("floating_port_id", UUID, sa.ForeignKey("ports.id"), nullable=False),
    sa.Column("port_id", UUID, sa.ForeignKey("ports.id"), nullable=True, index=True),
    sa.Column("fixed_ip_address", sa.String(64), nullable=True),
    sa.Column("router_id", UUID, sa.ForeignKey("routers.id"), nullable=True, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.UniqueConstraint("floating_port_id", name="uq_floatingip_port"),
    sa.UniqueConstraint(
        "floating_network_id", "port_id", "fixed_ip_address", name="uq_floatingip_fixed_ip"
    ),
)

# The hosts of the region (Alcor's node manager). ``name`` is the host id ports are bound to;
# ``state`` changes only on up/down transitions (heartbeats are kept in memory, never here).
nodes = sa.Table(
    "nodes",
    metadata,
    *_common_columns(),
    sa.Column("underlay_ip", sa.String(64), nullable=False),
    sa.Column("mac_address", sa.String(32), nullable=False),
    sa.Column("admin_state_up", sa.Boolean, nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("state_changed_at", TIMESTAMP, nullable=True),
    sa.Column("physical_networks", DOCUMENT, nullable=False, server_default="[]"),
    sa.UniqueConstraint("name", name="uq_node_name"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("resource_id", UUID, primary_key=True),
    sa.Column("tag", sa.String(255), primary_key=True),
    sa.Index("ix_tags_tag", "tag"),
)

# Per-project quota overrides (``quotas``): a resource without a row has the configured default.
quotas = sa.Table(
    "quotas",
    metadata,
    sa.Column("project_id", sa.String(255), primary_key=True),
    sa.Column("resource", sa.String(255), primary_key=True),
    sa.Column("limit", sa.Integer, nullable=False),
)

change_log = sa.Table(
    "change_log",
    metadata,
    sa.Column("revision", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("resource_type", sa.String(32), nullable=False),
    sa.Column("resource_id", UUID, nullable=False),
    sa.Column("operation", sa.String(8), nullable=False),
    sa.Column("project_id", sa.String(255), nullable=False),
    sa.Column("data", DOCUMENT, nullable=False),
    sa.Column("committed_at", TIMESTAMP, nullable=False),
    sa.Index("ix_change_log_resource", "resource_type", "resource_id", "revision"),
)

# One row: the highest revision ever committed. Locked by every writing transaction, so that
# revisions are handed out in commit order on PostgreSQL too.
store_revision = sa.Table(
    "store_revision",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("revision", sa.BigInteger, nullable=False),
    # the change log is compacted through this revision (see ``SqlWriter.compact_changes``)
    sa.Column("compacted_through", sa.BigInteger, nullable=False, server_default="0"),
)

# One row, made by a migration: this store's identity. Revisions count in one store; an agent
# that applied revisions of another (a rebuilt or restored database) is sent a snapshot.
store_identity = sa.Table(
    "store_identity",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("store_id", sa.String(36), nullable=False),
)

# The southbound replicas' leases (``southbound/leases.py``): one row per running southbound
# process, renewed every third of its lease; hosts are shared among the live ones by rendezvous
# hashing. Not intent: never in the change log. ``renewals`` counts renewals (others judge a
# lease by watching it move on their own clocks); ``expires_ms`` is the holder's wall clock, for
# people and for a replica that first sees a row long dead.
southbound_replicas = sa.Table(
    "southbound_replicas",
    metadata,
    sa.Column("replica_id", sa.String(36), primary_key=True),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("lease_ms", sa.Integer, nullable=False),
    sa.Column("renewals", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
)

# Observed state, outside the change log (``store/statuses.py``, migration 0011): what the
# southbound processes report of their hosts and ports, for every API process to read.
status_ports = sa.Table(
    "status_ports",
    metadata,
    sa.Column("port_id", UUID, primary_key=True),
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("writer", sa.String(32), nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),  # 0: no longer programmed there
    sa.Column("vif_details", DOCUMENT, nullable=False),
    sa.Column("status_revision", sa.BigInteger, nullable=False, index=True),
)

status_hosts = sa.Table(
    "status_hosts",
    metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("writer", sa.String(32), nullable=False),
    sa.Column("report", DOCUMENT, nullable=False),
    sa.Column("status_revision", sa.BigInteger, nullable=False, index=True),
)

status_revision = sa.Table(
    "status_revision",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("revision", sa.BigInteger, nullable=False),
)

# Checkpoints of the goal-state engine (``store/checkpoints.py``): a row per complete one,
# written with its last pieces; the pieces, a few MB each, in their order.
engine_checkpoints = sa.Table(
    "engine_checkpoints",
    metadata,
    sa.Column("revision", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("store_id", sa.String(36), nullable=False),
    sa.Column("format", sa.Integer, nullable=False),
    sa.Column("pieces", sa.Integer, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("taken_at", TIMESTAMP, nullable=False),
)

engine_checkpoint_pieces = sa.Table(
    "engine_checkpoint_pieces",
    metadata,
    sa.Column("revision", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("piece", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

# Address scopes and subnet pools (migration 0015). A subnet names its pool in
# ``subnets.subnetpool_id``; a pool's prefixes are a JSON list of CIDRs.
address_scopes = sa.Table(
    "address_scopes",
    metadata,
    *_common_columns(),
    sa.Column("ip_version", sa.Integer, nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False),
)

subnetpools = sa.Table(
    "subnetpools",
    metadata,
    *_common_columns(),
    sa.Column("ip_version", sa.Integer, nullable=False),
    sa.Column("prefixes", DOCUMENT, nullable=False),
    sa.Column("min_prefixlen", sa.Integer, nullable=False),
    sa.Column("max_prefixlen", sa.Integer, nullable=False),
    sa.Column("default_prefixlen", sa.Integer, nullable=False),
    sa.Column("default_quota", sa.Integer, nullable=True),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False),
    sa.Column("address_scope_id", UUID, nullable=True, index=True),
)

# Address groups (``address-group``): their CIDRs as one document (the rules that name them
# select by ``security_group_rules.remote_address_group_id``).
address_groups = sa.Table(
    "address_groups",
    metadata,
    *_common_columns(),
    sa.Column("addresses", DOCUMENT, nullable=False),
)

# The templates of new groups' rules (``security-groups-default-rules``), seeded with Neutron's
# four by migration 0020.
default_security_group_rules = sa.Table(
    "default_security_group_rules",
    metadata,
    *_common_columns(),
    sa.Column("direction", sa.String(16), nullable=False),
    sa.Column("ethertype", sa.String(16), nullable=False),
    sa.Column("protocol", sa.String(40), nullable=True),
    sa.Column("port_range_min", sa.Integer, nullable=True),
    sa.Column("port_range_max", sa.Integer, nullable=True),
    sa.Column("remote_ip_prefix", sa.String(64), nullable=True),
    sa.Column("remote_group_id", sa.String(36), nullable=True),
    sa.Column("remote_address_group_id", UUID, nullable=True),
    sa.Column("used_in_default_sg", sa.Boolean, nullable=False),
    sa.Column("used_in_non_default_sg", sa.Boolean, nullable=False),
)

# QoS policies (``qos``): their rules as one document (migration 0027).
qos_policies = sa.Table(
    "qos_policies",
    metadata,
    *_common_columns(),
    sa.Column("shared", sa.Boolean, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("rules", DOCUMENT, nullable=False),
)

RESOURCE_TABLES: dict[str, sa.Table] = {
    "network": networks,
    "subnet": subnets,
    "port": ports,
    "security_group": security_groups,
    "security_group_rule": security_group_rules,
    "router": routers,
    "floatingip": floatingips,
    "node": nodes,
    "address_scope": address_scopes,
    "subnetpool": subnetpools,
    "address_group": address_groups,
    "default_security_group_rule": default_security_group_rules,
    "qos_policy": qos_policies,
}

# Trunks (``trunk``): the parent port is unique (a port parents one trunk at most); the
# subports are the record's ``sub_ports`` and are indexed in ``trunk_subports``, which guards
# what the database must: a port is a subport of one trunk at most, a segmentation once per
# trunk. The store keeps the index in step on every trunk write.
trunks = sa.Table(
    "trunks",
    metadata,
    *_common_columns(),
    sa.Column("admin_state_up", sa.Boolean, nullable=False),
    sa.Column("port_id", UUID, sa.ForeignKey("ports.id"), nullable=False),
    sa.Column("sub_ports", DOCUMENT, nullable=False),
    sa.UniqueConstraint("port_id", name="uq_trunk_port"),
)

trunk_subports = sa.Table(
    "trunk_subports",
    metadata,
    sa.Column("port_id", UUID, sa.ForeignKey("ports.id"), primary_key=True),
    sa.Column("trunk_id", UUID, sa.ForeignKey("trunks.id"), nullable=False, index=True),
    sa.Column("segmentation_type", sa.String(32), nullable=False),
    sa.Column("segmentation_id", sa.Integer, nullable=False),
    sa.UniqueConstraint(
        "trunk_id", "segmentation_type", "segmentation_id", name="uq_trunk_segmentation"
    ),
)
RESOURCE_TABLES["trunk"] = trunks

# Neutron's RBAC policies (``rbac-policies``): ``target_project`` (or ``*``) may use the object
# as ``action`` says. Unique as in Neutron; the visibility of networks (and their subnets) to a
# project is one uncorrelated subquery on (target_project, object_type, action).
rbac_policies = sa.Table(
    "rbac_policies",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("project_id", sa.String(255), nullable=False, index=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Column("revision_number", sa.BigInteger, nullable=False),
    sa.Column("object_type", sa.String(32), nullable=False),
    sa.Column("object_id", UUID, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target_project", sa.String(255), nullable=False),
    sa.UniqueConstraint("object_type", "object_id", "action", "target_project", name="uq_rbac"),
    sa.Index("ix_rbac_target", "target_project", "object_type", "action", "object_id"),
)
RESOURCE_TABLES["rbac_policy"] = rbac_policies

# Floating IP port forwardings (``floating-ip-port-forwarding``, migration 0025): an external
# port range of a floating IP and protocol is forwarded once (Neutron's unique constraints on
# (floatingip_id, protocol, external_port_start, external_port_end) and on the internal
# socket); a forwarding goes with its floating IP or its internal port (the services delete it
# first, so its change-log row says so).
port_forwardings = sa.Table(
    "port_forwardings",
    metadata,
    *_unnamed_columns(),
    sa.Column("floatingip_id", UUID, sa.ForeignKey("floatingips.id"), nullable=False, index=True),
    sa.Column("floating_ip_address", sa.String(64), nullable=False),
    sa.Column("router_id", UUID, nullable=False),
    sa.Column("protocol", sa.String(40), nullable=False),
    sa.Column("internal_port_id", UUID, sa.ForeignKey("ports.id"), nullable=False, index=True),
    sa.Column("internal_ip_address", sa.String(64), nullable=False),
    sa.Column("external_port_start", sa.Integer, nullable=False),
    sa.Column("external_port_end", sa.Integer, nullable=False),
    sa.Column("internal_port_start", sa.Integer, nullable=False),
    sa.Column("internal_port_end", sa.Integer, nullable=False),
)
RESOURCE_TABLES["port_forwarding"] = port_forwardings

# Firewalls (``fwaas_v2``, migration 0026): rules, policies (their rules an ordered JSON list)
# and groups (their ports a JSON list, indexed in ``firewall_group_ports``). ``shared``
# resources are seen by every project.
firewall_rules = sa.Table(
    "firewall_rules",
    metadata,
    *_common_columns(),
    sa.Column("protocol", sa.String(40), nullable=True),
    sa.Column("ip_version", sa.Integer, nullable=False),
    sa.Column("source_ip_address", sa.String(64), nullable=True),
    sa.Column("destination_ip_address", sa.String(64), nullable=True),
    sa.Column("source_port_min", sa.Integer, nullable=True),
    sa.Column("source_port_max", sa.Integer, nullable=True),
    sa.Column("destination_port_min", sa.Integer, nullable=True),
    sa.Column("destination_port_max", sa.Integer, nullable=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False),
)
RESOURCE_TABLES["firewall_rule"] = firewall_rules

firewall_policies = sa.Table(
    "firewall_policies",
    metadata,
    *_common_columns(),
    sa.Column("firewall_rules", DOCUMENT, nullable=False),
    sa.Column("audited", sa.Boolean, nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False),
)
RESOURCE_TABLES["firewall_policy"] = firewall_policies

firewall_groups = sa.Table(
    "firewall_groups",
    metadata,
    *_common_columns(),
    sa.Column("ports", DOCUMENT, nullable=False),
    sa.Column("ingress_firewall_policy_id", UUID, nullable=True),
    sa.Column("egress_firewall_policy_id", UUID, nullable=True),
    sa.Column("admin_state_up", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False),
)
RESOURCE_TABLES["firewall_group"] = firewall_groups

# A group's ports, indexed (store-maintained on every group write, like ``trunk_subports``): the
# database itself guards a port being in one group at most (neutron-fwaas's unique port
# association), and "which group holds these ports" is one indexed read (a port delete asks it).
firewall_group_ports = sa.Table(
    "firewall_group_ports",
    metadata,
    sa.Column("port_id", UUID, primary_key=True),
    sa.Column(
        "firewall_group_id", UUID, sa.ForeignKey("firewall_groups.id"), nullable=False, index=True
    ),
)
