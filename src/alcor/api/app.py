"""The ASGI application: discovery and every collection's routes, in one dispatcher."""

from __future__ import annotations

from alcor.api import discovery
from alcor.api.collections import COLLECTIONS
from alcor.api.dispatch import Dispatcher
from alcor.api.routes import CollectionRoutes
from alcor.services.controller import Controller


def create_app(controller: Controller) -> Dispatcher:
    routes = list(discovery.ROUTES)
    for collection in COLLECTIONS:
        routes.extend(CollectionRoutes(collection, controller).routes())
    return Dispatcher(routes)
