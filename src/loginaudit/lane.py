"""One routed operation's Connexion layers wired to each other once, not looked up per request.

Stock Connexion 3.3 passes every request through five routed middlewares (security, request
validation, response validation, context, the app), each finding the request's operation again by
its API's base path and operation id, and through the lifespan middleware in between. Here, once the
router has named the operation, the request goes straight into a chain of copies of those same
per-operation objects, each calling the next directly. What each layer does is unchanged: the same
objects' code runs in the same order with the same scope.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from connexion.apps.asynchronous import AsyncASGIApp
from connexion.middleware.abstract import ROUTING_CONTEXT, RoutedMiddleware
from connexion.middleware.lifespan import LifespanMiddleware

_UNBUILT = object()


def _operation_of(middleware: RoutedMiddleware, base_path: str, operation_id: str) -> Any:
    for api in middleware.apis.get(base_path, ()):
        found = api.operations.get(operation_id)
        if found is not None:
            return found
    return None


def prewired(first: Any, base_path: str, operation_id: str) -> Any:
    """The operation's chain from `first` (the middleware after routing) to the app, or None where
    the stack holds a layer this does not know (it then answers as stock does)."""
    layers: list[Any] = []
    node = first
    while True:
        if isinstance(node, LifespanMiddleware):  # an HTTP request passes straight through it
            node = node.next_app
            continue
        if not isinstance(node, RoutedMiddleware):
            return None
        operation = _operation_of(node, base_path, operation_id)
        if operation is None:
            return None
        if isinstance(node, AsyncASGIApp):
            layers.append(operation)  # the app's operation ends the chain; it is not copied
            break
        layers.append(copy.copy(operation))
        node = node.app
    for layer, after in itertools.pairwise(layers):
        layer.next_app = after
    return layers[0]


class Prewired:
    """After Connexion's routing: a routed request enters its operation's prewired chain."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.chains: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        routing = scope.get("extensions", {}).get(ROUTING_CONTEXT) if scope["type"] == "http" else None
        if routing is not None:
            key = (routing.get("api_base_path"), routing.get("operation_id"))
            chain = self.chains.get(key, _UNBUILT)
            if chain is _UNBUILT:
                chain = self.chains[key] = None if None in key else prewired(self.app, *key)
            if chain is not None:
                await chain(scope, receive, send)
                return
        await self.app(scope, receive, send)
