"""The OpenAPI 3.1 document of the API (``GET /openapi.json``), built from the very Structs that
decode requests and encode responses, so it cannot drift from the code.

It describes what a client may send and what comes back, with every status an operation can
answer; the fuzz test (tests/integration/test_fuzz.py) holds the server to it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from alcor.api import agents, floatingip_pools, ip_availability, port_forwardings, qos
from alcor.api.collections import COLLECTIONS, Collection
from alcor.api.listing import Attribute, to_bool, to_int
from alcor.model import port_forwardings as pf
from alcor.model import quotas, requests

REF = "#/components/schemas/{name}"
Schema = dict[str, Any]

READ_ERRORS = (400, 404)
WRITE_ERRORS = (400, 403, 404, 409, 412, 413, 503)


class NeutronErrorBody(msgspec.Struct):
    type: str
    message: str
    detail: str


class NeutronError(msgspec.Struct):
    NeutronError: NeutronErrorBody


def document() -> Schema:
    types: list[Any] = [NeutronError]
    for c in COLLECTIONS:
        types += [c.create, c.view] if c.update is None else [c.create, c.update, c.view]
        types += [t for action in c.actions for t in (action.request, action.view)]
    types += [agents.AgentView, requests.AgentUpdate, ip_availability.NetworkIpAvailabilityView]
    types += [floatingip_pools.FloatingIpPoolView]
    types += [port_forwardings.PortForwardingView, pf.PortForwardingCreate, pf.PortForwardingUpdate]
    types += [t for kind in qos.KINDS for t in (kind.create, kind.update, kind.view)]
    _schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    paths: dict[str, Schema] = {}
    for c in COLLECTIONS:
        paths.update(_collection_paths(c))
    paths.update(_quota_paths())
    paths.update(_agent_paths())
    paths.update(_ip_availability_paths())
    paths.update(_floatingip_pool_paths())
    paths.update(_port_forwarding_paths())
    for kind in qos.KINDS:
        paths.update(_qos_rule_paths(kind))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Alcor: Neutron v2.0 networking API", "version": "2.0"},
        "paths": paths,
        "components": {"schemas": components},
    }


def _ref(kind: type[Any]) -> Schema:
    return {"$ref": REF.format(name=kind.__name__)}


def _object(**properties: Schema) -> Schema:
    return {"type": "object", "properties": properties, "required": list(properties)}


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok: int, body: Schema | None, errors: tuple[int, ...]) -> Schema:
    responses: Schema = {
        str(ok): {"description": "success", **(_json(body) if body is not None else {})}
    }
    for status in errors:
        responses[str(status)] = {"description": "error", **_json(_ref(NeutronError))}
    return responses


def _filter(name: str, attribute: Attribute) -> Schema:
    kinds: dict[Any, str] = {to_bool: "boolean", to_int: "integer"}
    kind = kinds.get(attribute.convert, "string")
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}}


def _list_parameters(c: Collection) -> list[Schema]:
    filters = [_filter(n, a) for n, a in c.attributes.items() if n != "fixed_ips"]
    sortable = [n for n, a in c.attributes.items() if a.sortable]
    return [
        *filters,
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "marker", "in": "query", "schema": {"type": "string"}},
        {"name": "page_reverse", "in": "query", "schema": {"type": "boolean"}},
        {"name": "sort_key", "in": "query", "schema": {"type": "string", "enum": sortable}},
        {"name": "sort_dir", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
        {"name": "tags", "in": "query", "schema": {"type": "string"}},
        {"name": "not-tags-any", "in": "query", "schema": {"type": "string"}},
    ]


def _collection_paths(c: Collection) -> dict[str, Schema]:
    one, many = _ref(c.view), {"type": "array", "items": _ref(c.view)}
    links = {"type": "array", "items": _object(rel={"type": "string"}, href={"type": "string"})}
    listed = {
        **_object(**{c.plural: many}),
        "properties": {c.plural: many, f"{c.plural}_links": links},
    }
    create_body = {
        "oneOf": [
            _object(**{c.singular: _ref(c.create)}),
            _object(**{c.plural: {"type": "array", "items": _ref(c.create)}}),
        ]
    }
    created = {"oneOf": [_object(**{c.singular: one}), _object(**{c.plural: many})]}
    identified = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    if_match = {"name": "If-Match", "in": "header", "schema": {"type": "string"}}
    base = f"/v2.0/{c.url_name}"
    read_errors = (*READ_ERRORS, 403) if c.admin_only else READ_ERRORS
    paths: dict[str, Schema] = {
        base: {
            "get": {
                "parameters": _list_parameters(c),
                "responses": _responses(200, listed, read_errors),
            },
            "post": {
                "requestBody": {"required": True, **_json(create_body)},
                "responses": _responses(201, created, WRITE_ERRORS),
            },
        },
        base + "/{id}": {
            "get": {
                "parameters": identified,
                "responses": _responses(200, _object(**{c.singular: one}), read_errors),
            },
            "delete": {
                "parameters": [*identified, if_match],
                "responses": _responses(204, None, WRITE_ERRORS),
            },
        },
    }
    if c.update is not None:
        paths[base + "/{id}"]["put"] = {
            "parameters": [*identified, if_match],
            "requestBody": {"required": True, **_json(_object(**{c.singular: _ref(c.update)}))},
            "responses": _responses(200, _object(**{c.singular: one}), WRITE_ERRORS),
        }
    if c.taggable:
        paths.update(_tag_paths(f"/v2.0/{c.tag_path or c.url_name}", identified))
    for action in c.actions:
        operation: Schema = {
            "parameters": identified,
            "responses": _responses(200, _ref(action.view), WRITE_ERRORS),
        }
        if action.method != "GET":
            operation["requestBody"] = {"required": True, **_json(_ref(action.request))}
        paths[f"{base}/{{id}}/{action.name}"] = {action.method.lower(): operation}
    return paths


def _quota_paths() -> dict[str, Schema]:
    """``quotas`` and ``quota_details``: bodies keyed by resource name (see api/quotas.py)."""
    integer: Schema = {"type": "integer"}
    limits = _object(**dict.fromkeys(quotas.RESOURCES, integer))
    usage = _object(limit=integer, used=integer, reserved=integer)
    details = _object(**dict.fromkeys(quotas.RESOURCES, usage))
    listed = _object(
        **dict.fromkeys(quotas.RESOURCES, integer),
        project_id={"type": "string"},
        tenant_id={"type": "string"},
    )
    limit = {"type": "integer", "minimum": quotas.UNLIMITED, "maximum": quotas.MAX_LIMIT}
    change = {
        "type": "object",
        "properties": {
            **dict.fromkeys(quotas.RESOURCES, limit),
            quotas.FORCE: {"type": "boolean"},
            quotas.CHECK_LIMIT: {"type": "boolean"},
        },
        "additionalProperties": False,
    }
    project = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    read_errors = (*READ_ERRORS, 403)
    base = "/v2.0/quotas"

    def read(body: Schema) -> Schema:
        return {"get": {"parameters": project, "responses": _responses(200, body, read_errors)}}

    return {
        base: {
            "get": {
                "responses": _responses(
                    200, _object(quotas={"type": "array", "items": listed}), read_errors
                )
            }
        },
        base + "/{id}": {
            **read(_object(quota=limits)),
            "put": {
                "parameters": project,
                "requestBody": {"required": True, **_json(_object(quota=change))},
                "responses": _responses(200, _object(quota=limits), WRITE_ERRORS),
            },
            "delete": {"parameters": project, "responses": _responses(204, None, WRITE_ERRORS)},
        },
        base + "/{id}/default": read(_object(quota=limits)),
        base + "/{id}/details": read(_object(quota=details)),
    }


def _agent_paths() -> dict[str, Schema]:
    """Neutron's agents, a view of the nodes (see api/agents.py): admin only."""
    one, many = _ref(agents.AgentView), {"type": "array", "items": _ref(agents.AgentView)}
    filters = [
        {"name": name, "in": "query", "schema": {"type": "string"}}
        for name in ("host", "agent_type", "binary", "topic", "description", "id")
    ]
    filters += [
        {"name": name, "in": "query", "schema": {"type": "boolean"}}
        for name in ("alive", "admin_state_up")
    ]
    identified = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    read_errors = (*READ_ERRORS, 403)
    return {
        "/v2.0/agents": {
            "get": {
                "parameters": filters,
                "responses": _responses(200, _object(agents=many), read_errors),
            }
        },
        "/v2.0/agents/{id}": {
            "get": {
                "parameters": identified,
                "responses": _responses(200, _object(agent=one), read_errors),
            },
            "put": {
                "parameters": identified,
                "requestBody": {
                    "required": True,
                    **_json(_object(agent=_ref(requests.AgentUpdate))),
                },
                "responses": _responses(200, _object(agent=one), WRITE_ERRORS),
            },
            "delete": {
                "parameters": identified,
                "responses": _responses(204, None, WRITE_ERRORS),
            },
        },
    }


def _ip_availability_paths() -> dict[str, Schema]:
    """Network IP availability (see api/ip_availability.py): read only, admins only."""
    view = ip_availability.NetworkIpAvailabilityView
    one, many = _ref(view), {"type": "array", "items": _ref(view)}
    filters = [
        {"name": name, "in": "query", "schema": {"type": "string"}}
        for name in ("network_id", "network_name", "project_id", "tenant_id")
    ]
    filters.append({"name": "ip_version", "in": "query", "schema": {"type": "integer"}})
    identified = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    base = "/v2.0/network-ip-availabilities"
    return {
        base: {
            "get": {
                "parameters": filters,
                "responses": _responses(200, _object(network_ip_availabilities=many), READ_ERRORS),
            }
        },
        base + "/{id}": {
            "get": {
                "parameters": identified,
                "responses": _responses(200, _object(network_ip_availability=one), READ_ERRORS),
            }
        },
    }


def _tag_paths(base: str, identified: list[Schema]) -> dict[str, Schema]:
    tagged = [
        *identified,
        {"name": "tag", "in": "path", "required": True, "schema": {"type": "string"}},
    ]
    tags = _object(tags={"type": "array", "items": {"type": "string"}})
    return {
        base + "/{id}/tags": {
            "get": {"parameters": identified, "responses": _responses(200, tags, READ_ERRORS)},
            "put": {
                "parameters": identified,
                "requestBody": {"required": True, **_json(tags)},
                "responses": _responses(200, tags, WRITE_ERRORS),
            },
            "delete": {"parameters": identified, "responses": _responses(204, None, WRITE_ERRORS)},
        },
        base + "/{id}/tags/{tag}": {
            "get": {"parameters": tagged, "responses": _responses(204, None, READ_ERRORS)},
            "put": {"parameters": tagged, "responses": _responses(201, None, WRITE_ERRORS)},
            "delete": {"parameters": tagged, "responses": _responses(204, None, WRITE_ERRORS)},
        },
    }


def _floatingip_pool_paths() -> dict[str, Schema]:
    """``floatingip-pools``: a read-only list (see api/floatingip_pools.py)."""
    many = {"type": "array", "items": _ref(floatingip_pools.FloatingIpPoolView)}
    filters = [
        {"name": name, "in": "query", "schema": {"type": "string"}}
        for name in floatingip_pools.ATTRIBUTES
    ]
    return {
        "/v2.0/floatingip_pools": {
            "get": {
                "parameters": filters,
                "responses": _responses(200, _object(floatingip_pools=many), READ_ERRORS),
            }
        }
    }


def _port_forwarding_paths() -> dict[str, Schema]:
    """A floating IP's port forwardings, a sub-resource (see api/port_forwardings.py)."""
    one = _ref(port_forwardings.PortForwardingView)
    many = {"type": "array", "items": one}
    text = {"type": "string"}
    fip = [{"name": "floatingip_id", "in": "path", "required": True, "schema": text}]
    identified = [*fip, {"name": "id", "in": "path", "required": True, "schema": text}]
    filters = [
        {"name": name, "in": "query", "schema": text} for name in port_forwardings.ATTRIBUTES
    ]
    create = _ref(pf.PortForwardingCreate)
    create_body = {
        "oneOf": [
            _object(port_forwarding=create),
            _object(port_forwardings={"type": "array", "items": create}),
        ]
    }
    created = {"oneOf": [_object(port_forwarding=one), _object(port_forwardings=many)]}
    update = _object(port_forwarding=_ref(pf.PortForwardingUpdate))
    base = port_forwardings.BASE
    return {
        base: {
            "get": {
                "parameters": [*fip, *filters],
                "responses": _responses(200, _object(port_forwardings=many), READ_ERRORS),
            },
            "post": {
                "parameters": fip,
                "requestBody": {"required": True, **_json(create_body)},
                "responses": _responses(201, created, WRITE_ERRORS),
            },
        },
        base + "/{id}": {
            "get": {
                "parameters": identified,
                "responses": _responses(200, _object(port_forwarding=one), READ_ERRORS),
            },
            "put": {
                "parameters": identified,
                "requestBody": {"required": True, **_json(update)},
                "responses": _responses(200, _object(port_forwarding=one), WRITE_ERRORS),
            },
            "delete": {
                "parameters": identified,
                "responses": _responses(204, None, WRITE_ERRORS),
            },
        },
    }


def _qos_rule_paths(kind: qos.RuleKind) -> dict[str, Schema]:
    """A QoS policy's rules of one kind, a sub-resource, and their alias (see api/qos.py)."""
    text = {"type": "string"}
    policy = [{"name": "policy_id", "in": "path", "required": True, "schema": text}]
    rule = [{"name": "id", "in": "path", "required": True, "schema": text}]
    one, singular = _ref(kind.view), kind.singular
    alias = f"alias_{singular}"

    def member(key: str, where: list[Schema]) -> Schema:
        update = _json(_object(**{key: _ref(kind.update)}))
        return {
            "get": {
                "parameters": where,
                "responses": _responses(200, _object(**{key: one}), READ_ERRORS),
            },
            "put": {
                "parameters": where,
                "requestBody": {"required": True, **update},
                "responses": _responses(200, _object(**{key: one}), WRITE_ERRORS),
            },
            "delete": {"parameters": where, "responses": _responses(204, None, WRITE_ERRORS)},
        }

    base = f"{qos.POLICY}/{singular}s"
    many = {"type": "array", "items": one}
    return {
        base: {
            "get": {
                "parameters": policy,
                "responses": _responses(200, _object(**{f"{singular}s": many}), READ_ERRORS),
            },
            "post": {
                "parameters": policy,
                "requestBody": {
                    "required": True,
                    **_json(_object(**{singular: _ref(kind.create)})),
                },
                "responses": _responses(201, _object(**{singular: one}), WRITE_ERRORS),
            },
        },
        base + "/{id}": member(singular, [*policy, *rule]),
        f"/v2.0/qos/alias_{singular}s/{{id}}": member(alias, rule),
    }
