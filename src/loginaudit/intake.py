"""Connexion 3.3's request intake, hardened where stock Connexion answers 500 to client input.

Each piece is a small subclass of a Connexion 3.3 class (pinned in pyproject); the hostile-input
tests fail if an upgrade changes what they replace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from typing import Any, NamedTuple

import connexion.frameworks.starlette as connexion_starlette
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem, ExtraParameterProblem, ProblemException
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.uri_parsing import OpenAPIURIParser
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError

from .bounded import MAX_DIGITS, BadInput, loads_json


class SafeURIParser(OpenAPIURIParser):  # type: ignore[misc]
    """Stock Connexion 3.3 answers 500 to `page[number][x]=1` and accepts a bare `page=`.
    Its `param_schemas` is a property building a new dict on every read, and resolving a query reads it
    twice per query key: here it is built once (the parser's parameters never change; OnceValidation
    keeps one parser per operation)."""

    @cached_property
    def param_schemas(self) -> dict[str, Any]:
        schemas: dict[str, Any] = super().param_schemas
        return schemas

    def resolve_query(self, query_data: dict[str, Any]) -> dict[str, Any]:
        for key in query_data:
            if "[" not in key and self._is_deep_object_style_param(key):
                raise BadRequestProblem(detail=f"Query parameter '{key}' must use {key}[key]=value form")
        try:
            return super().resolve_query(query_data)  # type: ignore[no-any-return]
        except (KeyError, TypeError, AttributeError):
            raise BadRequestProblem(detail="Malformed deepObject query parameter") from None


class BoundedJSONBody(JSONRequestBodyValidator):  # type: ignore[misc]
    """JSON bodies through `bounded.loads_json`: stock `json.loads` answers 500 to a 5,000-digit
    number or 2,000 nested arrays. Vendors' bodies are only compared with the store (where a string
    it cannot keep matches nothing); the control plane's are written to it."""

    storable = False

    async def _parse(self, stream: Any, scope: Any) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return None
        try:
            return loads_json(raw.decode(self._encoding), storable=self.storable)
        except BadInput as exc:
            raise ProblemException(status=exc.status, title="Bad Request" if exc.status == 400 else
                                   "Unprocessable Entity", detail=f"Request body not accepted: {exc}") from None
        except (UnicodeDecodeError, LookupError) as exc:
            raise BadRequestProblem(detail=f"Request body not accepted: {exc}") from None


class StorableJSONBody(BoundedJSONBody):
    """The control plane's bodies are written to the store: no NUL, no lone surrogate (422)."""

    storable = True


_QUERY = "loginaudit.query"  # a request scope's key: its query string, resolved by the operation's parser
PARSED_QUERY = "loginaudit.parsed_query"  # a request scope's key: Starlette's QueryParams of its query string


class OnceRequest(ConnexionRequest):  # type: ignore[misc]
    """A ConnexionRequest whose query is resolved once per request: stock Connexion makes one request
    object to validate parameters and another to call the handler, each parsing and resolving the
    query string again (~2% of a request). Both are of the same operation, so of the same parser.
    Starlette's parse of the query string is kept in the scope too: a handler reading
    `request.query_params` (a Link header's query) gets that object (framework.CurrentRequest), not a
    third parse (~2.5% of an Okta page). A request without a query string (Unleash's, QRadar's first
    page) resolves to `{}` without a Starlette request or a parse (~9 of the 90 µs of a request's
    framework floor, in-process)."""

    _query_params: dict[str, Any] | None  # stock's, set to None by its __init__

    @property
    def query_params(self) -> dict[str, Any]:
        # Read once per request object and kept in stock's own attribute: stock validation reads it once
        # per declared parameter (seven for Okta), and `self.scope` is no attribute but a __getattr__
        # that also takes len() of the Starlette request: 19 such calls were ~30 of an Okta request's
        # 85 µs of parameter validation
        resolved = self._query_params
        if resolved is not None:
            return resolved
        scope = self._starlette_request.scope
        if not scope.get("query_string"):  # no query: what stock resolves `{}` to, without parsing ''
            resolved = {}
        else:
            kept = scope.get(_QUERY)
            if kept is None or kept[0] is not type(self.uri_parser):
                kept = scope[_QUERY] = (type(self.uri_parser), super().query_params)
                scope.setdefault(PARSED_QUERY, self._starlette_request.query_params)
            resolved = kept[1]
        self._query_params = resolved
        return resolved


_SCHEMA_VALIDATORS: dict[int, tuple[dict[str, Any], Draft4Validator]] = {}
_FORMATS = Draft4Validator.FORMAT_CHECKER  # what stock Connexion checks formats with


def _schema_validator(param: dict[str, Any]) -> Draft4Validator:
    """The parameter's validator, made on first use: the operation's parameter dicts live as long as the
    app (the dict is kept with it, so its id is never reused)."""
    kept = _SCHEMA_VALIDATORS.get(id(param))
    if kept is None or kept[0] is not param:
        kept = _SCHEMA_VALIDATORS[id(param)] = (param, Draft4Validator(param.get("schema", param),
                                                                       format_checker=_FORMATS))
    return kept[1]


_ANNOTATIONS = frozenset({"example", "default", "title", "description"})  # keywords that never reject
Accepts = Callable[[Any], bool]


def _accepts(schema: dict[str, Any]) -> Accepts | None:
    """A predicate true only of values Draft4Validator(schema) accepts, for the schema shapes our specs
    give parameters (a string with maxLength, minLength, pattern or enum; an integer with minimum and
    maximum; a boolean); None for any other schema, whose values jsonschema checks. False means "ask
    jsonschema", which writes the rejection's message. Each keyword is checked as jsonschema 4's
    `_keywords` checks it (`re.search`, `len`, `<`); a Draft 4 integer is an int, never a bool or 1.0."""
    keys, kind = schema.keys() - _ANNOTATIONS, schema.get("type")
    if kind == "string" and keys <= {"type", "maxLength", "minLength", "pattern", "enum"}:
        longest, shortest = schema.get("maxLength"), schema.get("minLength", 0)
        search = re.compile(schema["pattern"]).search if "pattern" in schema else None
        members = frozenset(schema["enum"]) if "enum" in schema else None
        if members is not None and not all(member.__class__ is str for member in members):
            return None

        def string(v: Any) -> bool:
            return (v.__class__ is str and len(v) >= shortest and (longest is None or len(v) <= longest)
                    and (search is None or search(v) is not None) and (members is None or v in members))
        return string
    if kind == "integer" and keys <= {"type", "minimum", "maximum"}:
        low, high = schema.get("minimum"), schema.get("maximum")

        def integer(v: Any) -> bool:
            return v.__class__ is int and (low is None or v >= low) and (high is None or v <= high)
        return integer
    if kind == "boolean" and keys == {"type"}:
        def boolean(v: Any) -> bool:
            return v.__class__ is bool
        return boolean
    return None


class _Checked(NamedTuple):
    param: dict[str, Any]
    key: str  # where the value is read (a path parameter's name with '-' as '_', as stock reads it)
    optional: bool  # absent is fine (stock: no value and not required)
    accepts: Accepts | None


class OnceParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Stock `validate_parameter` deep-copies the parameter and builds a Draft4Validator (a schema
    registry and resolver) for every parameter of every request: 5-10% of a vendor read. Here each
    parameter's validator is built once; the answers and messages are the stock ones (the validator
    never changes its schema, so the copy protected nothing).

    `validate_request` is stock's steps in stock's order (strict query list, query, path, header, cookie
    parameters), each location read once (stock reads `request.headers` through ConnexionRequest's
    __getattr__ per parameter) and each present value first put to its schema's `_accepts` predicate:
    jsonschema's walk of a schema is ~5-8 µs a value, the predicate ~0.5. A value the predicate does
    not accept goes to `validate_parameter`, so every rejection and its message are jsonschema's."""

    @cached_property
    def _checked(self) -> dict[str, tuple[_Checked, ...]]:
        def checked(param: dict[str, Any]) -> _Checked:
            key = param["name"].replace("-", "_") if param["in"] == "path" else param["name"]
            optional = not param.get("required")
            return _Checked(param, key, optional, _accepts(param.get("schema", param)))
        return {where: tuple(checked(p) for p in self.parameters.get(where, ()))
                for where in ("query", "path", "header")}

    def validate_request(self, request: Any) -> None:
        if self.strict_validation:
            query_errors = self.validate_query_parameter_list(request, security_params=self.security_query_params)
            if query_errors:
                raise ExtraParameterProblem(param_type="query", extra_params=query_errors)
        checked = self._checked
        for where, source in (("query", "query_params"), ("path", "path_params"), ("header", "headers")):
            params = checked[where]
            if not params:
                continue
            values = getattr(request, source)
            for param, key, optional, accepts in params:
                value = values.get(key)
                if value is None:
                    if optional:
                        continue
                elif accepts is not None and accepts(value):
                    continue
                error = self.validate_parameter(where, value, param)
                if error:
                    raise BadRequestProblem(detail=error)
        for param in self.parameters.get("cookie", []):
            error = self.validate_cookie_parameter(param, request)
            if error:
                raise BadRequestProblem(detail=error)

    @staticmethod
    def validate_parameter(parameter_type: str, value: Any, param: dict[str, Any],
                           param_name: str | None = None) -> str | None:
        if is_nullable(param) and is_null(value):
            return None
        if value is not None:
            try:
                _schema_validator(param).validate(value)
            except ValidationError as exception:
                return str(exception)
            return None
        if param.get("required"):
            return f"Missing {parameter_type} parameter '{param['name']}'"
        return None

    def validate(self, scope: Any) -> None:
        self.validate_request(OnceRequest(scope, uri_parser=self.uri_parser))


class OnceValidationOperation(RequestValidationOperation):  # type: ignore[misc]
    """Stock's request validation, whose URI parser and parameter validator are built on the operation's
    first request and kept: stock builds both for every request (the operation's parameters grouped
    by location, its parser's definitions indexed). Both are read-only after construction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parameter_validator: ParameterValidator | None = None

    def _parameters(self) -> ParameterValidator:
        if self._parameter_validator is None:
            parser = self._operation._uri_parser_class(self._operation.parameters, self._operation.body_definition())
            self._parameter_validator = self._validator_map["parameter"](
                self._operation.parameters, uri_parser=parser, strict_validation=self.strict_validation,
                security_query_params=self.security_query_params)
        return self._parameter_validator

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._operation.request_body:  # stock's steps, the body's validation with them
            await super().__call__(scope, receive, send)
            return
        self._parameters().validate(scope)  # stock's steps for an operation without a body (no schema)
        mime_type, _ = self.extract_content_type(scope["headers"])
        self.validate_mime_type(mime_type)
        await self.next_app(scope, receive, send)


class OnceValidationAPI(RequestValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> OnceValidationOperation:
        return OnceValidationOperation(self.next_app, operation=operation, strict_validation=self.strict_validation,
                                       validator_map=self.validator_map)


class OnceValidationMiddleware(RequestValidationMiddleware):  # type: ignore[misc]
    """Connexion's request validation with OnceValidationOperation."""

    api_cls = OnceValidationAPI


def _validators(body: type[BoundedJSONBody]) -> dict[str, Any]:
    return {**VALIDATOR_MAP, "parameter": OnceParameterValidator,
            "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": body})}


VENDOR_VALIDATORS = _validators(BoundedJSONBody)
CONTROL_VALIDATORS = _validators(StorableJSONBody)


class BoundedIntegerConverter(connexion_starlette.IntegerConverter):  # type: ignore[misc]
    """An integer path segment too long for `int()` stays a string, so validation answers 400
    (`is not of type 'integer'`); stock Connexion raises ValueError while routing (a 500)."""

    def convert(self, value: str) -> Any:
        return value if len(value.lstrip("+-")) > MAX_DIGITS else int(value)


# Connexion registers `starlette_utils.IntegerConverter()` for `{id:int}` whenever it builds its
# routing middleware; naming ours there makes every app built afterwards use it.
connexion_starlette.IntegerConverter = BoundedIntegerConverter
