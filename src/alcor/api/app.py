"""The ASGI application: discovery, every collection's routes, the error mapping."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from alcor.api import discovery, faults
from alcor.api.collections import COLLECTIONS
from alcor.api.routes import CollectionRoutes
from alcor.model import errors
from alcor.services.controller import Controller


class StripJsonSuffix:
    """Old clients ask for ``/v2.0/networks.json``: serve it as ``/v2.0/networks``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith(".json"):
            scope = dict(scope, path=scope["path"][: -len(".json")])
        await self.app(scope, receive, send)


def create_app(controller: Controller) -> ASGIApp:
    routes = list(discovery.ROUTES)
    for collection in COLLECTIONS:
        routes.extend(CollectionRoutes(collection, controller).routes())
    app = Starlette(
        routes=routes,
        exception_handlers={
            errors.AlcorError: faults.on_alcor_error,
            HTTPException: faults.on_http_error,
            Exception: faults.on_bug,
        },
    )
    return StripJsonSuffix(app)
