"""The managers of one controller, built once from their shared context."""

from __future__ import annotations

from collections.abc import Sequence

from alcor.model.records import Node, SecurityGroup
from alcor.services.address_groups import AddressGroups
from alcor.services.address_scopes import AddressScopes
from alcor.services.auto_allocation import AutoAllocation
from alcor.services.availability_zones import AvailabilityZones
from alcor.services.default_security_group_rules import DefaultSecurityGroupRules
from alcor.services.firewall_groups import FirewallGroups
from alcor.services.firewall_policies import FirewallPolicies
from alcor.services.firewall_rules import FirewallRules
from alcor.services.floating_ips import FloatingIps
from alcor.services.ip_availability import IpAvailability
from alcor.services.networks import Networks
from alcor.services.nodes import Nodes
from alcor.services.port_forwardings import PortForwardings
from alcor.services.ports import Ports
from alcor.services.qos_policies import QosPolicies
from alcor.services.quotas import Quotas
from alcor.services.rbac_policies import RbacPolicies
from alcor.services.resources import Context
from alcor.services.routers import Routers
from alcor.services.security_group_rules import SecurityGroupRules
from alcor.services.security_groups import SecurityGroups
from alcor.services.subnet_pools import SubnetPools
from alcor.services.subnets import Subnets
from alcor.services.tagging import Tagging
from alcor.services.trunks import Trunks
from alcor.store.interface import Change


class Controller:
    def __init__(self, context: Context) -> None:
        self.context = context
        context.store.follow_others(self._follow_others)
        self.networks = Networks(context)
        self.subnets = Subnets(context)
        self.ports = Ports(context)
        self.tagging = Tagging(context)
        self.security_groups = SecurityGroups(context)
        self.security_group_rules = SecurityGroupRules(context)
        self.routers = Routers(context, self.ports)
        self.quotas = Quotas(context)
        self.floating_ips = FloatingIps(context, self.ports)
        self.nodes = Nodes(context)
        self.subnet_pools = SubnetPools(context)
        self.address_scopes = AddressScopes(context)
        self.ip_availability = IpAvailability(context)
        self.trunks = Trunks(context)
        self.rbac_policies = RbacPolicies(context)
        self.address_groups = AddressGroups(context)
        self.default_security_group_rules = DefaultSecurityGroupRules(context)
        self.availability_zones = AvailabilityZones(context)
        self.port_forwardings = PortForwardings(context)
        self.firewall_rules = FirewallRules(context)
        self.firewall_policies = FirewallPolicies(context)
        self.firewall_groups = FirewallGroups(context)
        self.qos_policies = QosPolicies(context)
        self.auto_allocation = AutoAllocation(
            context, networks=self.networks, subnets=self.subnets, routers=self.routers
        )

    def _follow_others(self, changes: Sequence[Change] | None) -> None:
        """What other processes wrote to the store: the writer's caches forget what it touched
        (the store's own caches do likewise), so several API processes can write at once."""
        self.context.allocations.follow_others(changes)
        self.context.quotas.follow_others(changes)
        kinds = None if changes is None else {type(change.record) for change in changes}
        if kinds is None or SecurityGroup in kinds:
            self.context.default_groups.clear()
        if kinds is None or Node in kinds:
            self.context.node_names.clear()
