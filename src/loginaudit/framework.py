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
import copy
import functools
from collections.abc import Callable
from typing import Any

from connexion import utils as connexion_utils
from connexion.apps.abstract import AbstractApp
from connexion.apps.asynchronous import AsyncApi, AsyncApp, AsyncASGIApp, AsyncOperation
from connexion.context import _receive, _scope, operation, receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators import parameter as connexion_parameter
from connexion.http_facts import FORM_CONTENT_TYPES
from connexion.operations import Swagger2Operation
from connexion.security import SECURITY_HANDLERS, AbstractSecurityHandler
from connexion.utils import deep_merge
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as StarletteRequest

from .intake import PARSED_QUERY, OnceRequest

STOCK_EXTRACT_CONTENT_TYPE = connexion_utils.extract_content_type


def extract_content_type(headers: list[tuple[bytes, bytes]] | dict[str, str]) -> str | None:
    """connexion.utils.extract_content_type without the typing alias Connexion 3.3 builds on every call
    (`t.Collection[t.Tuple[...]]`, a typing-cache lookup each time: ~2% of a small read, asked by request
    validation and the response decorator). Installed in its place: every caller looks it up there."""
    pairs = headers.items() if isinstance(headers, dict) else headers
    for key, value in pairs:
        if (key.decode("latin-1") if isinstance(key, bytes) else key).lower() == "content-type":
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


connexion_utils.extract_content_type = extract_content_type

INLINE_KEY = "loginaudit_inline"  # per-API option: run this API's sync handlers on the event loop
_REQUEST = "loginaudit.request"  # a request scope's key: the Starlette request handlers read


class CurrentRequest:
    """`connexion.request` for handlers at a fraction of its cost. Stock's proxy builds a new
    ConnexionRequest (and a Starlette Request under it) on every attribute read, and for `query_params`
    (it has no URI parser there) falls through an AttributeError to the Starlette request's own: the
    attributes handlers read (url, headers, query_params, method) are the Starlette request's. This
    reads them from one Starlette Request per request, made on first use."""

    def __getattr__(self, name: str) -> Any:
        current = _scope.get()
        kept = current.get(_REQUEST)
        if kept is None:
            kept = current[_REQUEST] = StarletteRequest(current, _receive.get())
            parsed = current.get(PARSED_QUERY)  # validation's parse of the same query string
            if parsed is not None:
                kept._query_params = parsed
        return getattr(kept, name)


request = CurrentRequest()


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
    of a small read), where any other body has no files ({}), as stock finds.

    For an operation without a request body (every vendor read), a request without a Content-Type gets
    its arguments from an ArgumentPlan: the steps of stock's `prep_kwargs` with what depends only on the
    operation (its parameters by location, their defaults, the sanitized names) worked out on its first
    request (~7% of a small read)."""

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        arguments, has_kwargs = connexion_parameter.inspect_function_arguments(
            connexion_parameter.unwrap_decorators(function))
        plans: list[ArgumentPlan | None] = []  # made on the first request (it needs the operation)

        @functools.wraps(function)
        async def wrapper(request: Any) -> Any:
            if not plans:
                plans.append(ArgumentPlan.of(operation._get_current_object(), arguments, has_kwargs,
                                             self.sanitize_fn))
            plan = plans[0]
            if plan is not None and not any(name == b"content-type" for name, _ in request.scope["headers"]):
                return await function(**plan.kwargs(request))
            body = self._maybe_get_body(request, arguments=arguments, has_kwargs=has_kwargs)
            while asyncio.iscoroutine(body):
                body = await body
            files = await request.files() if request.mimetype in FORM_CONTENT_TYPES else {}
            kwargs = connexion_parameter.prep_kwargs(request, request_body=body, files=files, arguments=arguments,
                                                     has_kwargs=has_kwargs, sanitize=self.sanitize_fn)
            return await function(**kwargs)
        return wrapper


class ArgumentPlan:
    """Stock `prep_kwargs` for one body-less operation (connexion/decorators/parameter.py, 3.3.0): path
    arguments, then query arguments over the parameters' defaults, the names sanitized (twice, as stock
    does), then the security context's entries the handler takes (all of them for `**kwargs`). Without a
    request body and without a form, stock's body and file arguments are always empty (with `**kwargs`
    stock reads the body, then drops it)."""

    def __init__(self, op: Any, arguments: list[str], has_kwargs: bool, sanitize: Callable[[str], str]) -> None:
        self.arguments, self.has_kwargs = frozenset(arguments), has_kwargs
        self.sanitize = functools.lru_cache(maxsize=256)(sanitize)  # names, incl. unknown query keys: bounded
        self.path = {p["name"]: p for p in op.parameters if p["in"] == "path"}
        self.query = {p["name"]: p for p in op.parameters if p["in"] == "query"}
        self.defaults = connexion_parameter._get_query_defaults(self.query)
        self.copied = (copy.deepcopy if any(isinstance(v, dict | list) for v in self.defaults.values())
                       else dict)
        self.with_context = connexion_parameter.CONTEXT_NAME in self.arguments

    @classmethod
    def of(cls, op: Any, arguments: list[str], has_kwargs: bool,
           sanitize: Callable[[str], str]) -> ArgumentPlan | None:
        """The plan, or None where stock's path is needed (a request body, Swagger 2, TRACE)."""
        if op.is_request_body_defined or isinstance(op, Swagger2Operation) or op.method.upper() == "TRACE":
            return None
        return cls(op, arguments, has_kwargs, sanitize)

    def kwargs(self, request: Any) -> dict[str, Any]:
        sanitize, value_of = self.sanitize, connexion_parameter._get_val_from_param
        found: dict[str, Any] = {}
        for name, value in request.path_params.items():
            definition = self.path.get(name)
            found[sanitize(name)] = value if definition is None else value_of(value, definition)
        for name, value in deep_merge(self.copied(self.defaults), request.query_params).items():
            key = sanitize(name)
            if (self.has_kwargs or key in self.arguments) and name in self.query:
                found[key] = value_of(value, self.query[name])
        kwargs = {sanitize(k): v for k, v in found.items()}
        context = connexion_parameter.context  # stock's proxy of the security context, passed as it is
        for key, value in context.items():
            if self.has_kwargs or key in self.arguments:
                kwargs[key] = value
        if self.with_context:
            kwargs[connexion_parameter.CONTEXT_NAME] = context
        return kwargs


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
