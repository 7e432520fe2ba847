"""HTTP handlers for every collection: create (single and bulk), show, list, update, delete, tags.

Handlers only translate: URL and body in, a call to a manager, a view out. Every rule lives in
the services; every error is mapped in ``faults``. A decoded request is held to the configured
limits (``alcor.model.limits``) before any manager sees it.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from alcor.api import faults, identity, listing, policy
from alcor.api.collections import Action, Collection
from alcor.api.dispatch import JSON_NUL, NUL_REFUSED, Handler
from alcor.model import errors, limits
from alcor.model.requests import String
from alcor.services.callers import Caller
from alcor.services.controller import Controller

_IF_MATCH = re.compile(r"^\s*revision_number=(\d+)\s*$")


class TagsBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    tags: list[String]


def json_response(content: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(content), status_code=status, media_type="application/json")


def if_match(request: Request) -> int | None:
    header = request.headers.get("if-match")
    if header is None:
        return None
    match = _IF_MATCH.match(header)
    if match is None:
        raise errors.InvalidInput(
            f"Invalid If-Match header '{header}': expected revision_number=N."
        )
    return int(match.group(1))


class CollectionRoutes:
    """The routes of one collection, bound to the controller."""

    def __init__(self, collection: Collection, controller: Controller) -> None:
        self.c = collection
        self.controller = controller
        self.manager = collection.manager(controller)
        self.limits = controller.context.settings.limits
        self.policy = policy.ReadPolicy(collection)
        self._create_one = msgspec.json.Decoder(collection.create)
        self._create_many = msgspec.json.Decoder(list[collection.create])  # type: ignore[name-defined]
        self._update = msgspec.json.Decoder(collection.update or msgspec.Raw)

    def caller(self, request: Request) -> Caller:
        return identity.caller_of(request, self.controller)

    def routes(self) -> list[tuple[str, str, Handler]]:
        base = f"/v2.0/{self.c.url_name}"
        routes: list[tuple[str, str, Handler]] = [
            ("GET", base, self.index),
            ("POST", base, self.create),
            ("GET", base + "/{id}", self.show),
            ("DELETE", base + "/{id}", self.delete),
        ]
        if self.c.update is not None:
            routes.append(("PUT", base + "/{id}", self.update))
        if self.c.taggable:
            routes += self._tag_routes(f"/v2.0/{self.c.tag_path or self.c.url_name}")
        routes += [
            (action.method, f"{base}/{{id}}/{action.name}", self._action(action))
            for action in self.c.actions
        ]
        return routes

    def _action(self, action: Action) -> Handler:
        decoder = msgspec.json.Decoder(action.request)
        call = action.call(self.controller)

        async def handle(request: Request) -> Response:
            body = None
            if action.method != "GET":
                body = decode(await request.body(), decoder)
                limits.check_request(body, self.limits, resource_id=request.path_params["id"])
            caller = self.caller(request)
            result = await call(caller, request.path_params["id"], body)
            answer = action.render(result)
            if action.resource:
                inner = self.policy.shown(caller, getattr(answer, self.c.singular))
                answer = msgspec.structs.replace(answer, **{self.c.singular: inner})
            return json_response(answer)

        return handle

    def _tag_routes(self, base: str) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", base + "/{id}/tags", self.tags_show),
            ("PUT", base + "/{id}/tags", self.tags_replace),
            ("DELETE", base + "/{id}/tags", self.tags_clear),
            ("GET", base + "/{id}/tags/{tag}", self.tag_check),
            ("PUT", base + "/{id}/tags/{tag}", self.tag_add),
            ("DELETE", base + "/{id}/tags/{tag}", self.tag_remove),
        ]

    async def index(self, request: Request) -> Response:
        caller = self.caller(request)
        query, fields = listing.parse(request.query_params, self.policy.attributes(caller))
        shown = await self.manager.query(caller, query)
        items = [self._item(caller, s, fields) for s in shown]
        body: dict[str, Any] = {self.c.plural: items}
        page_links = listing.links(
            request.url, request.query_params, query, [s.record.id for s in shown]
        )
        if page_links:
            body[f"{self.c.plural}_links"] = page_links
        return json_response(body)

    async def show(self, request: Request) -> Response:
        caller = self.caller(request)
        _query, fields = listing.parse(_only_fields(request), self.c.attributes)
        shown = await self.manager.show(caller, request.path_params["id"])
        return json_response({self.c.singular: self._item(caller, shown, fields)})

    async def create(self, request: Request) -> Response:
        envelope = decode(await request.body(), dict[str, msgspec.Raw])
        caller = self.caller(request)
        if set(envelope) == {self.c.singular}:
            one = decode(envelope[self.c.singular], self._create_one)
            limits.check_request(one, self.limits)
            created = await self.manager.create(caller, [one])
            return json_response({self.c.singular: self._item(caller, created[0], None)}, 201)
        if set(envelope) == {self.c.plural}:
            many = self._decode_many(envelope[self.c.plural])
            for item in many:
                limits.check_request(item, self.limits)
            created = await self.manager.create(caller, many)
            return json_response(
                {self.c.plural: [self._item(caller, s, None) for s in created]}, 201
            )
        raise errors.InvalidInput(
            f"Resource body required: expected '{self.c.singular}' or '{self.c.plural}'."
        )

    def _decode_many(self, raw: msgspec.Raw) -> list[Any]:
        """A bulk's items, bare or each wrapped in its singular (``{"ports": [{"port":
        {...}}]}``, as tempest sends them), as Neutron takes both."""
        try:
            return list(decode(raw, self._create_many))  # bare items: one pass
        except errors.InvalidInput as bare_error:
            try:
                items = msgspec.json.decode(raw, type=list[msgspec.Raw])
            except faults.BODY_ERRORS:
                raise bare_error from None
        return [self._decode_item(item) for item in items]

    def _decode_item(self, raw: msgspec.Raw) -> Any:
        try:
            wrapped = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
        except faults.BODY_ERRORS:
            wrapped = {}
        if set(wrapped) == {self.c.singular}:
            return decode(wrapped[self.c.singular], self._create_one)
        return decode(raw, self._create_one)

    async def update(self, request: Request) -> Response:
        envelope = decode(await request.body(), dict[str, msgspec.Raw])
        if set(envelope) != {self.c.singular}:
            raise errors.InvalidInput(f"Resource body required: expected '{self.c.singular}'.")
        change = decode(envelope[self.c.singular], self._update)
        limits.check_request(change, self.limits, resource_id=request.path_params["id"])
        caller = self.caller(request)
        shown = await self.manager.update(
            caller, request.path_params["id"], change, if_match=if_match(request)
        )
        return json_response({self.c.singular: self._item(caller, shown, None)})

    async def delete(self, request: Request) -> Response:
        await self.manager.delete(
            self.caller(request), request.path_params["id"], if_match=if_match(request)
        )
        return Response(status_code=204)

    async def tags_show(self, request: Request) -> Response:
        tags = await self.controller.tagging.show(
            self.caller(request), self.c.record, request.path_params["id"]
        )
        return json_response({"tags": tags})

    async def tags_replace(self, request: Request) -> Response:
        body = decode(await request.body(), TagsBody)
        tags = await self.controller.tagging.replace(
            self.caller(request), self.c.record, request.path_params["id"], body.tags
        )
        return json_response({"tags": tags})

    async def tags_clear(self, request: Request) -> Response:
        await self.controller.tagging.replace(
            self.caller(request), self.c.record, request.path_params["id"], []
        )
        return Response(status_code=204)

    async def tag_check(self, request: Request) -> Response:
        tags = await self.controller.tagging.show(
            self.caller(request), self.c.record, request.path_params["id"]
        )
        tag = request.path_params["tag"]
        if tag not in tags:
            raise errors.NotFound(f"Tag {tag} could not be found.", type="TagNotFound")
        return Response(status_code=204)

    async def tag_add(self, request: Request) -> Response:
        await self.controller.tagging.add(
            self.caller(request),
            self.c.record,
            request.path_params["id"],
            request.path_params["tag"],
        )
        return Response(status_code=201)

    async def tag_remove(self, request: Request) -> Response:
        await self.controller.tagging.remove(
            self.caller(request),
            self.c.record,
            request.path_params["id"],
            request.path_params["tag"],
        )
        return Response(status_code=204)

    def _item(self, caller: Caller, shown: Any, fields: list[str] | None) -> Any:
        """The view of one resource as the caller may see it, with only ``fields`` if given."""
        view = self.policy.shown(caller, self.c.render(shown))
        if fields is None:
            return view
        return listing.select_fields(msgspec.to_builtins(view), fields)


def _raw(item: dict[str, msgspec.Raw]) -> msgspec.Raw:
    return msgspec.Raw(msgspec.json.encode(item))


def _only_fields(request: Request) -> QueryParams:
    return QueryParams([(k, v) for k, v in request.query_params.multi_items() if k == "fields"])


def decode(body: bytes | msgspec.Raw, decoder: Any) -> Any:
    """``body`` decoded by ``decoder`` (a Decoder or a type); anything wrong with it is a 400."""
    if JSON_NUL.search(body):
        raise errors.InvalidInput(NUL_REFUSED)
    try:
        if isinstance(decoder, msgspec.json.Decoder):
            return decoder.decode(body)
        return msgspec.json.decode(body, type=decoder)
    except faults.BODY_ERRORS as error:
        raise faults.bad_body(error, body) from None
