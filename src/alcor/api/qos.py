"""A QoS policy's rules, their aliases and the rule types (``qos``, ``qos-rules-alias``,
``qos-rule-type-details``, ``qos-rule-type-filter``):

    GET|POST          /v2.0/qos/policies/{policy_id}/{type}_rules
    GET|PUT|DELETE    /v2.0/qos/policies/{policy_id}/{type}_rules/{id}
    GET|PUT|DELETE    /v2.0/qos/alias_{type}_rules/{id}          the rule, whatever its policy
    GET               /v2.0/qos/rule-types[?all_rules=true]      {"rule_types": [{"type": ...}]}
    GET               /v2.0/qos/rule-types/{type}                {"rule_type": {...}}

for ``bandwidth_limit`` and ``dscp_marking``. The rule types Neutron has and the data plane
cannot enforce (``minimum_bandwidth``, ``minimum_packet_rate``, ``packet_rate_limit``) list no
rules and refuse a new one (409 ``QosRuleNotSupported``), rather than keep one nothing enforces.
The policies themselves are a collection (``api/collections.QOS_POLICIES``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alcor.api import identity, listing, qos_views
from alcor.api.dispatch import Handler
from alcor.api.qos_views import rule_fields
from alcor.api.routes import decode, json_response
from alcor.model import errors
from alcor.model import qos as model
from alcor.services.controller import Controller

POLICY = "/v2.0/qos/policies/{policy_id}"
DRIVER = "alcor"
_PARAMETERS: dict[str, list[dict[str, Any]]] = {
    model.BANDWIDTH_LIMIT: [
        {"parameter_name": "max_kbps", "parameter_type": "range",
         "parameter_values": {"start": 0, "end": model.KBPS_MAX}},
        {"parameter_name": "direction", "parameter_type": "choices",
         "parameter_values": list(model.DIRECTIONS)},
        {"parameter_name": "max_burst_kbps", "parameter_type": "range",
         "parameter_values": {"start": 0, "end": model.KBPS_MAX}},
    ],
    model.DSCP_MARKING: [
        {"parameter_name": "dscp_mark", "parameter_type": "choices",
         "parameter_values": list(model.VALID_DSCP_MARKS)},
    ],
}  # fmt: skip


class RuleKind(msgspec.Struct, frozen=True):
    """One enforced rule type: its name and its requests' types."""

    name: str
    create: Any  # the create request's type (a Struct class)
    update: Any
    view: Any  # what a rule of the kind is shown as (``qos_views``)

    @property
    def singular(self) -> str:
        return f"{self.name}_rule"


KINDS = (
    RuleKind(
        model.BANDWIDTH_LIMIT,
        model.BandwidthLimitRuleCreate,
        model.BandwidthLimitRuleUpdate,
        qos_views.BandwidthLimitRuleView,
    ),
    RuleKind(
        model.DSCP_MARKING,
        model.DscpMarkingRuleCreate,
        model.DscpMarkingRuleUpdate,
        qos_views.DscpMarkingRuleView,
    ),
)


def _body(envelope: dict[str, msgspec.Raw], key: str) -> msgspec.Raw:
    if set(envelope) != {key}:
        raise errors.InvalidInput(f"Unable to find '{key}' in request body")
    return envelope[key]


def _fields(request: Request) -> list[str] | None:
    fields = [f for v in request.query_params.getlist("fields") for f in v.split(",") if f]
    return fields or None


class QosRoutes:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.manager = controller.qos_policies

    def routes(self) -> list[tuple[str, str, Handler]]:
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/v2.0/qos/rule-types", self.rule_types),
            ("GET", "/v2.0/qos/rule-types/{rule_type}", self.rule_type),
        ]
        for kind in KINDS:
            base = f"{POLICY}/{kind.singular}s"
            alias = f"/v2.0/qos/alias_{kind.singular}s/{{id}}"
            routes += [
                ("GET", base, self._index(kind)),
                ("POST", base, self._create(kind)),
                ("GET", base + "/{id}", self._show(kind, kind.singular)),
                ("PUT", base + "/{id}", self._update(kind, kind.singular)),
                ("DELETE", base + "/{id}", self._delete(kind)),
                ("GET", alias, self._show(kind, f"alias_{kind.singular}")),
                ("PUT", alias, self._update(kind, f"alias_{kind.singular}")),
                ("DELETE", alias, self._delete(kind)),
            ]
        for rule_type in model.NOT_ENFORCED:
            base = f"{POLICY}/{rule_type}_rules"
            routes += [
                ("GET", base, self._none(rule_type)),
                ("POST", base, self._refuse(rule_type)),
            ]
        return routes

    def _index(self, kind: RuleKind) -> Handler:
        async def handle(request: Request) -> Response:
            caller = identity.caller_of(request, self.controller)
            found = await self.manager.rules(caller, request.path_params["policy_id"], kind.name)
            fields = _fields(request)
            items = [listing.select_fields(rule_fields(r), fields) for r in found]
            return json_response({f"{kind.singular}s": items})

        return handle

    def _create(self, kind: RuleKind) -> Handler:
        async def handle(request: Request) -> Response:
            envelope = decode(await request.body(), dict[str, msgspec.Raw])
            body = decode(_body(envelope, kind.singular), kind.create)
            caller = identity.caller_of(request, self.controller)
            rule = await self.manager.create_rule(caller, request.path_params["policy_id"], body)
            return json_response({kind.singular: rule_fields(rule)}, 201)

        return handle

    def _show(self, kind: RuleKind, key: str) -> Handler:
        async def handle(request: Request) -> Response:
            caller = identity.caller_of(request, self.controller)
            policy = request.path_params.get("policy_id")
            rule = await self.manager.rule(caller, policy, kind.name, request.path_params["id"])
            return json_response({key: listing.select_fields(rule_fields(rule), _fields(request))})

        return handle

    def _update(self, kind: RuleKind, key: str) -> Handler:
        async def handle(request: Request) -> Response:
            envelope = decode(await request.body(), dict[str, msgspec.Raw])
            body = decode(_body(envelope, key), kind.update)
            caller = identity.caller_of(request, self.controller)
            policy = request.path_params.get("policy_id")
            rule = await self.manager.update_rule(caller, policy, request.path_params["id"], body)
            return json_response({key: rule_fields(rule)})

        return handle

    def _delete(self, kind: RuleKind) -> Handler:
        async def handle(request: Request) -> Response:
            caller = identity.caller_of(request, self.controller)
            policy = request.path_params.get("policy_id")
            await self.manager.delete_rule(caller, policy, kind.name, request.path_params["id"])
            return Response(status_code=204)

        return handle

    def _none(self, rule_type: str) -> Handler:
        async def handle(request: Request) -> Response:
            caller = identity.caller_of(request, self.controller)
            await self.manager.rules(caller, request.path_params["policy_id"], rule_type)
            return json_response({f"{rule_type}_rules": []})

        return handle

    def _refuse(self, rule_type: str) -> Handler:
        async def handle(request: Request) -> Response:
            caller = identity.caller_of(request, self.controller)
            policy = request.path_params["policy_id"]
            await self.manager.check_rule_type(caller, policy, rule_type)
            return Response(status_code=500)  # not reached: the check refuses

        return handle

    async def rule_types(self, request: Request) -> Response:
        every = listing.to_bool(request.query_params.get("all_rules", "false"))
        types = [*model.ENFORCED, *model.NOT_ENFORCED] if every else list(model.ENFORCED)
        return json_response({"rule_types": [{"type": t} for t in types]})

    async def rule_type(self, request: Request) -> Response:
        """A rule type's drivers and parameters: an admin's, as Neutron's ``get_rule_type``."""
        if not identity.caller_of(request, self.controller).is_admin:
            raise errors.policy_refuses("rule:get_rule_type")
        rule_type = request.path_params["rule_type"]
        if rule_type not in _PARAMETERS:
            drivers: list[dict[str, Any]] = []
            if rule_type not in model.NOT_ENFORCED:
                raise errors.NotFound(
                    f"QoS rule type {rule_type} could not be found.", type="QosRuleTypeNotFound"
                )
        else:
            drivers = [{"name": DRIVER, "supported_parameters": _PARAMETERS[rule_type]}]
        return json_response({"rule_type": {"type": rule_type, "drivers": drivers}})
