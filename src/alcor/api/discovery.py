"""Version and extension discovery (``GET /``, ``GET /v2.0``, ``GET /v2.0/extensions``), so
openstacksdk and the ``openstack`` CLI find the API. Extensions listed are exactly those whose
behaviour is implemented."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alcor.api.collections import COLLECTIONS
from alcor.api.dispatch import Handler
from alcor.api.routes import json_response
from alcor.model import errors

UPDATED = "2026-11-23T00:00:00-00:00"
QOS_UPDATED = "2015-06-08T10:00:00-00:00"
TRUNK_UPDATED = "2016-01-01T10:00:00-00:00"  # as Neutron's trunk plugin reports both


class Extension(msgspec.Struct, frozen=True):
    alias: str
    name: str
    description: str
    updated: str = UPDATED
    links: list[str] = msgspec.field(default_factory=list)


EXTENSIONS = [
    Extension(
        "address-group", "Address group", "Support address group", "2020-07-15T10:00:00-00:00"
    ),
    Extension("address-scope", "Address scope", "Address scopes extension."),
    Extension("agent", "agent", "The agent management extension."),
    Extension("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
    Extension(
        "auto-allocated-topology",
        "Auto Allocated Topology Services",
        "Auto Allocated Topology Services.",
        "2016-01-01T00:00:00-00:00",
    ),
    Extension("availability_zone", "Availability Zone", "The availability zone extension."),
    Extension(
        "availability_zone_filter",
        "Availability Zone Filter Extension",
        "Add filter parameters to AvailabilityZone resource",
    ),
    Extension(
        "binding", "Port Binding", "Expose port bindings of a virtual port to external application"
    ),
    Extension(
        "default-subnetpools",
        "Default Subnetpools",
        "Provides ability to mark and use a subnetpool as the default.",
    ),
    Extension(
        "dns-domain-ports",
        "dns_domain for ports",
        "Allows the DNS domain to be specified for a network port.",
        "2017-04-24T10:00:00-00:00",
    ),
    Extension(
        "dns-integration",
        "DNS Integration",
        "Provides integration with DNS.",
        "2015-08-15T18:00:00-00:00",
    ),
    Extension(
        "dvr", "Distributed Virtual Router", "Enables configuration of Distributed Virtual Routers."
    ),
    Extension(
        "empty-string-filtering",
        "Empty String Filtering Extension",
        "Allow filtering by attributes with empty string value",
    ),
    Extension(
        "ext-gw-mode",
        "Neutron L3 Configurable external gateway mode",
        "Extension of the router abstraction for specifying whether SNAT should occur on the "
        "external gateway",
    ),
    Extension(
        "external-net",
        "Neutron external network",
        "Adds external network attribute to network resource.",
    ),
    Extension(
        "extra_dhcp_opt",
        "Neutron Extra DHCP options",
        "Extra options configuration for DHCP. For example PXE boot options to DHCP clients can "
        "be specified (e.g. tftp-server, server-ip-address, bootfile-name)",
    ),
    Extension("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
    Extension(
        "extraroute-atomic",
        "Atomically add/remove extra routes",
        "Edit extra routes of a router on server side by atomically adding/removing extra routes",
    ),
    Extension(
        "filter-validation",
        "Filter parameters validation",
        "Provides validation on filter parameters.",
    ),
    Extension(
        "fip-port-details",
        "Floating IP Port Details Extension",
        "Add port_details attribute to Floating IP resource",
    ),
    Extension(
        "fwaas_v2",
        "FWaaS v2",
        "Provides support for firewall-as-a-service version 2",
        "2016-10-06T10:00:00-00:00",
    ),
    Extension(
        "standard-attr-fwaas-v2",
        "Standard Attribute FWaaS v2 Extension",
        "Add standard attributes to FWaaS v2 resources",
        "2023-04-027T01:00:00-00:00",
    ),
    Extension(
        "floatingip-pools", "Floating IP Pools Extension", "Provides a floating IP pools API."
    ),
    Extension(
        "expose-port-forwarding-in-fip",
        "Expose Floating IP port forwardings",
        "Expose port forwarding fields in floating IP response",
        "2018-06-28T16:00:00-00:00",
    ),
    Extension(
        "floating-ip-port-forwarding",
        "Floating IP Port Forwarding",
        "Allow port forwarding from floating IP port to an internal port",
        "2018-01-19T10:00:00-00:00",
    ),
    Extension(
        "floating-ip-port-forwarding-description",
        "Floating IP Port Forwarding new attribute description",
        "Add a description field to Port Forwarding rules",
        "2019-11-01T10:00:00-00:00",
    ),
    Extension(
        "floating-ip-port-forwarding-detail",
        "Floating IP port forwarding detail",
        "Allow list floating ip return more port forwarding data, include'id' and "
        "'internal_port_id'",
        "2022-05-06T10:00:00-00:00",
    ),
    Extension(
        "floating-ip-port-forwarding-port-ranges",
        "Floating IP Port Forwarding support port ranges",
        "Add support to port ranges",
        "2020-07-01T10:00:00-00:00",
    ),
    Extension(
        "ip-substring-filtering",
        "IP address substring filtering",
        "Provides IP address substring filtering when listing ports",
    ),
    Extension("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    Extension(
        "net-mtu-writable",
        "Network MTU (writable)",
        "Provides a writable MTU attribute for a network resource.",
    ),
    Extension(
        "network-ip-availability",
        "Network IP Availability",
        "Provides IP availability data for each network and subnet.",
    ),
    Extension(
        "network-ip-availability-details",
        "Network IP Availability Details Extension",
        "Add ip_availability_details attribute to network-ip-availabilities resource.",
    ),
    Extension(
        "network_availability_zone",
        "Network Availability Zone",
        "Availability zone support for network.",
    ),
    Extension(
        "pagination", "Pagination support", "Extension that indicates that pagination is enabled."
    ),
    Extension(
        "port-mac-address-regenerate",
        "Neutron Port MAC address regenerate",
        "Network port MAC address regenerate",
    ),
    Extension("port-security", "Port Security", "Provides port security"),
    Extension(
        "port-security-groups-filtering",
        "Port filtering on security groups",
        "Provides security groups filtering when listing ports",
        "2018-01-09T09:00:00-00:00",
    ),
    Extension(
        "project-id",
        "project_id field enabled",
        "Extension that indicates that project_id field is enabled.",
    ),
    Extension(
        "provider", "Provider Network", "Expose mapping of virtual networks to physical networks"
    ),
    Extension("qos", "Quality of Service", "The Quality of Service extension.", QOS_UPDATED),
    Extension(
        "qos-bw-limit-direction",
        "Direction for QoS bandwidth limit rule",
        "Allow to configure QoS bandwidth limit rule with specific direction: ingress or egress",
        "2017-04-10T10:00:00-00:00",
    ),
    Extension(
        "qos-default",
        "QoS default policy",
        "Expose the QoS default policy per project",
        "2017-041-06T10:00:00-00:00",  # sic, as Neutron's
    ),
    Extension(
        "qos-port-network-policy",
        "QoS port network policy ID",
        "Adds a the QoS network ID to the port definition",
        "2019-11-01T10:00:00-00:00",
    ),
    Extension(
        "qos-rule-type-details",
        "Details of QoS rule types",
        "Expose details about QoS rule types supported by loaded backend drivers",
        "2017-06-22T10:00:00-00:00",
    ),
    Extension(
        "qos-rule-type-filter",
        "Allow to filter the list of QoS rule types",
        'Allows to filter the QoS rule type list adding two new flags. "all_rules" prints all '
        'implemented QoS rule types."all_supported" prints all supported QoS rule types by the '
        "loaded mechanism drivers",
        "2022-02-02T10:00:00-00:00",
    ),
    Extension(
        "qos-rules-alias",
        "Quality of Service rules alias API",
        "API to enable GET, PUT and DELETE operations on QoS policy rules without specifying "
        "policy ID",
        "2018-10-07T10:00:00-00:00",
    ),
    Extension(
        "quota-check-limit",
        "Quota engine limit check",
        "Support for checking the resource usage before applying a new quota limit",
    ),
    Extension(
        "quota-check-limit-default",
        "Quota engine limit check by default",
        "By default, the Neutron quota engine checks the resource usage before applying a new "
        "quota limit",
    ),
    Extension(
        "quota_details",
        "Quota details management support",
        "Expose functions for quotas usage statistics per project",
    ),
    Extension(
        "quotas", "Quota management support", "Expose functions for quotas management per project"
    ),
    Extension(
        "revision-if-match",
        "If-Match constraints based on revision_number",
        "Extension indicating that If-Match based on revision_number is supported.",
    ),
    Extension(
        "router",
        "Neutron L3 Router",
        "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to "
        "external networks via a NAT gateway.",
    ),
    Extension(
        "rbac-address-group",
        "Add address_group type to RBAC",
        "Add address_group type to network RBAC",
        "2021-01-20T00:00:00-00:00",
    ),
    Extension(
        "rbac-address-scope",
        "Add address_scope type to RBAC",
        "Add address_scope type to RBAC",
        "2020-02-12T00:00:00-00:00",
    ),
    Extension(
        "rbac-policies",
        "RBAC Policies",
        "Allows creation and modification of policies that control tenant access to resources.",
    ),
    Extension(
        "rbac-security-groups",
        "Add security_group type to network RBAC",
        "Add security_group type to network RBAC",
    ),
    Extension(
        "rbac-subnetpool",
        "Add subnetpool type to RBAC",
        "Add subnetpool type to RBAC",
        "2020-02-05T00:00:00-00:00",
    ),
    Extension("security-group", "security-group", "The security groups extension."),
    Extension(
        "security-groups-default-rules",
        "Default rules for security groups",
        "Configure set of security group rules used as default rules for every new security group",
        "2022-12-19T10:00:00-00:00",
    ),
    Extension(
        "security-groups-normalized-cidr",
        "Normalized CIDR field for security group rules",
        "Add new field with normalized remote_ip_prefix cidr in SG rule",
        "2020-07-28T10:00:00-00:00",
    ),
    Extension(
        "security-groups-rules-belongs-to-default-sg",
        "Security group rule belongs to the project's default security group",
        "Flag to determine if the security group rule belongs to the project's default "
        "security group",
        "2023-05-23T10:00:00-00:00",
    ),
    Extension(
        "security-groups-remote-address-group",
        "Remote address group id field for security group rules",
        "Add new field of remote address group id in SG rules",
        "2020-08-25T10:00:00-00:00",
    ),
    Extension(
        "security-groups-shared-filtering",
        "Security group filtering on the shared field",
        "Support filtering security groups on the shared field",
        "2021-10-05T09:00:00-00:00",
    ),
    Extension(
        "service-type",
        "Neutron Service Type Management",
        "API for retrieving service providers for Neutron advanced services",
        "2013-01-20T00:00:00-00:00",
    ),
    Extension("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
    Extension(
        "standard-attr-description",
        "standard-attr-description",
        "Extension to add descriptions to standard attributes",
    ),
    Extension(
        "standard-attr-revisions",
        "Resource revision numbers",
        "This extension will display the revision number of neutron resources.",
    ),
    Extension(
        "standard-attr-tag",
        "Tag support for resources with standard attribute: port, subnet, network",
        "Enables to set tag on resources with standard attribute.",
    ),
    Extension(
        "standard-attr-timestamp",
        "Resource timestamps",
        "Adds created_at and updated_at fields to all Neutron resources that have Neutron "
        "standard attributes.",
    ),
    Extension(
        "stateful-security-group",
        "Stateful security group",
        "Indicates if the security group is stateful or not",
    ),
    Extension(
        "subnet-external-network",
        "Subnet belongs to an external network",
        "Informs if the subnet belongs to an external network",
    ),
    Extension(
        "subnet-service-types",
        "Subnet service types",
        "Provides ability to set the subnet service_types field",
    ),
    Extension(
        "subnet_allocation",
        "Subnet Allocation",
        "Enables allocation of subnets from a subnet pool",
    ),
    Extension(
        "subnetpool-prefix-ops",
        "Subnet Pool Prefix Operations",
        "Provides support for adjusting the prefix list of subnet pools",
    ),
    Extension(
        "tag-ports-during-bulk-creation",
        "Tag Ports During Bulk Creation",
        "Allow to tag ports during bulk creation",
    ),
    Extension(
        "tag-creation", "Tag creation extension", "Allow to create multiple tags for a resource"
    ),
    Extension("trunk", "Trunk Extension", "Provides support for trunk ports", TRUNK_UPDATED),
    Extension("trunk-details", "Trunk port details", "Expose trunk port details", TRUNK_UPDATED),
]
_BY_ALIAS = {extension.alias: extension for extension in EXTENSIONS}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def versions(request: Request) -> Response:
    link = {"href": f"{_base(request)}/v2.0/", "rel": "self"}
    return json_response({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [link]}]})


async def resources(request: Request) -> Response:
    listed = [
        {
            "name": c.singular,
            "collection": c.plural,
            "links": [{"href": f"{_base(request)}/v2.0/{c.url_name}", "rel": "self"}],
        }
        for c in COLLECTIONS
    ]
    return json_response({"resources": listed})


async def extensions(_request: Request) -> Response:
    return json_response({"extensions": EXTENSIONS})


async def extension(request: Request) -> Response:
    alias = request.path_params["alias"]
    if alias not in _BY_ALIAS:
        raise errors.NotFound(f"Extension with alias {alias} does not exist", type="HTTPNotFound")
    return json_response({"extension": _BY_ALIAS[alias]})


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/", versions),
    ("GET", "/v2.0", resources),
    ("GET", "/v2.0/extensions", extensions),
    ("GET", "/v2.0/extensions/{alias}", extension),
]
