"""Connexion's AsyncApp with its per-request setup paid once per operation (issue 20, items 1-2).

Pinned to Connexion 3.3.0 (pyproject); `tests/test_framework.py` fails if an upgrade moves what
these subclasses rely on. What differs from stock Connexion:

- `AsyncOperation.fn` builds a new `StarletteDecorator` on every request, and that decorator
  re-inspects the handler's signature and builds the operation's URI parser each time: here the
  decorated handler and the parser are built on an operation's first request and kept.
- Stock AsyncApp runs a sync handler in the thread pool (a thread hop per request). A vendor read
  on SQLite is a few milliseconds of in-process work with no lock to wait for (WAL readers never
  block), so vendor handlers run inline on the event loop there; on PostgreSQL (network round
  trips) and for the control plane (writes that may wait for SQLite's write lock) they keep the pool.

- The parameter decorator reads the request's files only from a form body (FormlessParameterDecorator).
- The security handlers ask `inspect` twice per request whether the scheme's function takes
  `required_scopes`/`request`; `SECURITY_MAP` has them remember the answer per function.
- Parameter validation builds each parameter's validator once and the query is resolved once per
  request (intake.OnceParameterValidator, intake.OnceRequest).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from connexion.apps.abstract import AbstractApp
from connexion.apps.asynchronous import AsyncApi, AsyncApp, AsyncASGIApp, AsyncOperation
from connexion.context import operation, receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators import parameter as connexion_parameter
from connexion.http_facts import FORM_CONTENT_TYPES
from connexion.security import SECURITY_HANDLERS, AbstractSecurityHandler
from starlette.concurrency import run_in_threadpool

from .intake import OnceRequest

INLINE_KEY = "loginaudit_inline"  # per-API option: run this API's sync handlers on the event loop


@functools.lru_cache(maxsize=256)
def _accepts_kwarg(func: Callable[..., Any], keyword: str) -> bool:
    return bool(AbstractSecurityHandler._accepts_kwarg(func, keyword))


class _RememberedSignatures:
    _accepts_kwarg = staticmethod(_accepts_kwarg)


# Connexion's handler class per security scheme type, each answering `_accepts_kwarg` from memory.
SECURITY_MAP: dict[str, type] = {kind: type(handler.__name__, (_RememberedSignatures, handler), {})
                                  for kind, handler in SECURITY_HANDLERS.items()}


class FormlessParameterDecorator(connexion_parameter.AsyncParameterDecorator):  # type: ignore[misc]
    """Stock's parameter decorator, but a request's files are read only from a form body: stock asks
    Starlette for the form on every request (a GET's content type parsed and an empty form built, ~2.5%
    of a small read), where any other body has no files ({}), as stock finds."""

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        arguments, has_kwargs = connexion_parameter.inspect_function_arguments(
            connexion_parameter.unwrap_decorators(function))

        @functools.wraps(function)
        async def wrapper(request: Any) -> Any:
            body = self._maybe_get_body(request, arguments=arguments, has_kwargs=has_kwargs)
            while asyncio.iscoroutine(body):
                body = await body
            files = await request.files() if request.mimetype in FORM_CONTENT_TYPES else {}
            kwargs = connexion_parameter.prep_kwargs(request, request_body=body, files=files, arguments=arguments,
                                                     has_kwargs=has_kwargs, sanitize=self.sanitize_fn)
            return await function(**kwargs)
        return wrapper


class OnceDecorator(StarletteDecorator):  # type: ignore[misc]
    """StarletteDecorator whose decoration and URI parser are made once, not per request."""

    @property
    def _parameter_decorator_cls(self) -> type:
        return FormlessParameterDecorator

    def __init__(self, *, inline: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inline = inline

    @property
    def _sync_async_decorator(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(function)
            async def inline(*args: Any, **kwargs: Any) -> Any:
                return function(*args, **kwargs)

            @functools.wraps(function)
            async def pooled(*args: Any, **kwargs: Any) -> Any:
                return await run_in_threadpool(function, *args, **kwargs)
            return inline if self.inline else pooled
        return decorator

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        decorated = self.decorate(function)
        parser: list[Any] = []  # the operation's URI parser, made on its first request (it needs the operation)

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not parser:
                parser.append((self.uri_parser_class or operation.uri_parser_class)(
                    operation.parameters, operation.body_definition()))
            request = OnceRequest(scope, receive, uri_parser=parser[0])  # the framework's get_request, sharing
            # the query the parameter validator resolved (intake.OnceRequest)
            return await decorated(request)
        return wrapper


class OnceOperation(AsyncOperation):  # type: ignore[misc]
    def __init__(self, *args: Any, inline: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inline = inline

    @functools.cached_property
    def fn(self) -> Callable[..., Any]:
        decorator = OnceDecorator(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier, inline=self.inline)
        return decorator(self._fn)


class OnceApi(AsyncApi):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.inline = bool(kwargs.pop(INLINE_KEY, False))
        super().__init__(*args, **kwargs)

    def make_operation(self, op: Any) -> OnceOperation:
        return OnceOperation(op.function, jsonifier=self.jsonifier, operation_id=op.operation_id,
                             pythonic_params=self.pythonic_params, inline=self.inline)


class OnceASGIApp(AsyncASGIApp):  # type: ignore[misc]
    api_cls = OnceApi


class App(AsyncApp):  # type: ignore[misc]
    """AsyncApp routing to OnceApi operations (everything else is AsyncApp's)."""

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        self._middleware_app = OnceASGIApp()
        kwargs.setdefault("security_map", SECURITY_MAP)
        AbstractApp.__init__(self, import_name, **kwargs)
