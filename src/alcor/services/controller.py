"""The managers of one controller, built once from their shared context."""

from __future__ import annotations

from alcor.services.floating_ips import FloatingIps
from alcor.services.networks import Networks
from alcor.services.nodes import Nodes
from alcor.services.ports import Ports
from alcor.services.quotas import Quotas
from alcor.services.resources import Context
from alcor.services.routers import Routers
from alcor.services.security_group_rules import SecurityGroupRules
from alcor.services.security_groups import SecurityGroups
from alcor.services.subnets import Subnets
from alcor.services.tagging import Tagging


class Controller:
    def __init__(self, context: Context) -> None:
        self.context = context
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
