"""The request path's framework layer (loginaudit.framework): what it saves, and that an upgrade of
Connexion cannot silently drop it (these fail if the subclassed internals move)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import loginaudit.framework
from conftest import NOW


def _inspections_counted(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[int]:
    """A list that grows by one each time `module` calls Connexion's `inspect_function_arguments`."""
    calls: list[int] = []
    real = module.inspect_function_arguments

    def counted(fn: Any) -> Any:
        calls.append(1)
        return real(fn)

    monkeypatch.setattr(module, "inspect_function_arguments", counted)
    return calls


def test_the_handler_is_decorated_once_per_operation_not_per_request(client: Any, monkeypatch: pytest.MonkeyPatch,
                                                                    arrange: Any) -> None:
    import connexion.decorators.parameter as parameter

    calls = _inspections_counted(monkeypatch, parameter)
    headers = {"Authorization": arrange.token("unleash", "admin")}
    client.get("/api/admin/logins", headers=headers)  # the operation's first request may decorate
    first = len(calls)
    for _ in range(5):
        assert client.get("/api/admin/logins", headers=headers).status_code == 200
    assert len(calls) == first  # stock Connexion 3.3 inspects the signature on every request


def test_security_functions_are_inspected_once_not_per_request(client: Any, monkeypatch: pytest.MonkeyPatch,
                                                               arrange: Any) -> None:
    import connexion.security as security

    calls = _inspections_counted(monkeypatch, security)
    headers = {"Authorization": arrange.token("unleash", "admin")}
    client.get("/api/admin/logins", headers=headers)
    first = len(calls)
    for _ in range(5):
        assert client.get("/api/admin/logins", headers=headers).status_code == 200
        assert client.get("/api/admin/logins").status_code == 401
    assert len(calls) == first  # stock Connexion 3.3 inspects twice per request


def test_vendor_reads_run_inline_on_sqlite_and_the_control_plane_in_the_pool(
        client: Any, store: Any, monkeypatch: pytest.MonkeyPatch, arrange: Any) -> None:
    headers = {"Authorization": arrange.token("unleash", "admin")}
    hops: list[str] = []
    real = loginaudit.framework.run_in_threadpool

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(fn.__name__)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(loginaudit.framework, "run_in_threadpool", counted)
    assert client.get("/api/admin/logins", headers=headers).status_code == 200
    assert client.get("/_loginaudit/clock").status_code == 200
    inline = store.engine.dialect.name == "sqlite"
    assert hops == (["getClock"] if inline else ["getLoginHistory", "getClock"])


def test_no_content_is_no_content(client: Any) -> None:
    r = client.post("/_loginaudit/reset")
    assert r.status_code == 204 and r.content == b""


def test_an_unknown_path_keeps_the_text_it_always_had(client: Any) -> None:
    r = client.get("/nope")
    assert r.status_code == 404
    assert "The requested URL was not found on the server." in r.json()["detail"]


def test_a_text_type_leaves_with_its_charset(client: Any, arrange: Any) -> None:
    headers = {"Authorization": arrange.token("unleash", "admin"), "Accept": "text/csv"}
    cred = arrange.credential(arrange.person(), arrange.tenant())
    arrange.events({"credential_id": cred["id"], "occurred_at": "2026-11-22T11:00:00Z"})
    r = client.get("/api/admin/logins", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"


def test_every_vendor_is_routed_although_qradars_api_contains_the_others(client: Any) -> None:
    """QRadar's base path `/api` is a prefix of every other vendor's: each API is mounted with its base
    path so Connexion orders the mounts most specific first (without it, they all sort alike and the
    first registered `/api` mount would answer the others' paths with QRadar's 404)."""
    from loginaudit.registry import ROUTED

    for vendor in ROUTED:
        template = next(t for t, item in vendor.routed_spec["paths"].items() if "get" in item)
        path = vendor.url(template).replace("{", "").replace("}", "")
        r = client.get(path)
        assert r.status_code in (200, 400, 401), (vendor.name, path, r.status_code, r.text[:120])


def test_making_an_app_leaves_the_shared_middleware_list_alone(app: Any) -> None:
    """Connexion's `add_middleware` inserts into the list it was given: sharing one list made a second
    app in the process (the suite's PostgreSQL run) stack every middleware twice and hang."""
    from connexion.middleware import ConnexionMiddleware

    from loginaudit.app import MIDDLEWARES

    assert len(MIDDLEWARES) == len(ConnexionMiddleware.default_middlewares)


def test_parameter_validators_are_built_once_and_answer_as_stock(client: Any, monkeypatch: pytest.MonkeyPatch,
                                                                 arrange: Any) -> None:
    from connexion.validators import ParameterValidator

    import loginaudit.intake as intake

    built: list[int] = []
    real = intake.Draft4Validator

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(intake, "Draft4Validator", counted)
    monkeypatch.setattr(intake, "_SCHEMA_VALIDATORS", {})
    person = arrange.person(first_name="Val", email="val@acme.com")
    credential = arrange.credential(person, arrange.tenant(name="Acme"), login="val@acme.com")
    headers = {"Authorization": "SSWS " + arrange.token("okta", "api_token", credential_id=credential["id"])}
    assert client.get("/api/v1/logs?since=2026-11-22T00:00:00.000Z&limit=5", headers=headers).status_code == 200
    assert not built  # values the fast path (intake._accepts) takes never reach jsonschema
    assert client.get("/api/v1/logs?since=" + "9" * 65, headers=headers).status_code == 400
    first = len(built)
    assert first  # a rejected parameter's validator, made on first use
    for since in ("8" * 66, "7" * 70, "6" * 99):
        assert client.get(f"/api/v1/logs?since={since}&limit=5", headers=headers).status_code == 400
    assert len(built) == first  # stock Connexion 3.3 builds one per parameter per request
    # The same answers and messages as stock Connexion's (which deep-copies and builds each time).
    param = {"name": "n", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 9}}
    monkeypatch.setattr(intake, "Draft4Validator", real)
    for value in (0, 5, 10, "x", None, "null"):
        ours = intake.OnceParameterValidator.validate_parameter("query", value, param)
        assert ours == ParameterValidator.validate_parameter("query", value, param), value


def test_the_query_is_resolved_once_per_request(client: Any, monkeypatch: pytest.MonkeyPatch, arrange: Any) -> None:
    from connexion.lifecycle import ConnexionRequest

    headers = {"SEC": arrange.token("qradar", "sec_admin")}
    resolved: list[int] = []
    real = ConnexionRequest.query_params.fget

    def counted(self: Any) -> Any:
        resolved.append(1)
        return real(self)

    monkeypatch.setattr(ConnexionRequest, "query_params", property(counted))
    r = client.get("/api/access/login_attempts?fields=user_id&sort=-attempt_time", headers=headers)
    assert r.status_code == 200
    assert len(resolved) == 1  # stock Connexion 3.3 resolves it for validation and again for the handler


def test_the_query_resolves_as_stock_resolves_it_also_where_there_is_none(app: Any,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """intake.OnceRequest (kept per request, `{}` without a query string, unparsed) against a fresh stock
    ConnexionRequest of the same scope and parser, on every request the golden replay sends."""
    from connexion.lifecycle import ConnexionRequest

    from golden import replay
    from loginaudit.intake import OnceRequest

    real = OnceRequest.query_params.fget
    without: list[str] = []

    def both(self: Any) -> Any:
        ours = real(self)
        assert ours == ConnexionRequest(self.scope, uri_parser=self.uri_parser).query_params, self.scope["path"]
        if not self.scope.get("query_string"):
            without.append(self.scope["path"])
        return ours

    monkeypatch.setattr(OnceRequest, "query_params", property(both))
    with app.test_client() as client:
        replay(client, app.store)
    assert any(path.startswith("/api/admin") for path in without)  # Unleash's page has no query


def test_a_request_without_a_form_is_not_read_for_files(client: Any, monkeypatch: pytest.MonkeyPatch,
                                                        arrange: Any) -> None:
    from connexion.lifecycle import ConnexionRequest

    headers = {"SEC": arrange.token("qradar", "sec_admin")}
    read: list[int] = []
    real = ConnexionRequest.files

    async def counted(self: Any) -> Any:
        read.append(1)
        return await real(self)

    monkeypatch.setattr(ConnexionRequest, "files", counted)
    assert client.get("/api/access/login_attempts", headers=headers).status_code == 200
    assert client.post("/_loginaudit/reset").status_code == 204
    assert read == []  # stock Connexion 3.3 reads every request's form for its files


def test_inline_reads_keep_one_connection_and_see_every_write(client: Any, store: Any, arrange: Any) -> None:
    from sqlalchemy import event

    headers = {"SEC": arrange.token("qradar", "sec_admin")}
    fields = ("attempt_method", "user_id", "attempt_time", "remote_ip", "attempt_result")
    checkouts: list[int] = []

    def counted(*_: Any) -> None:
        checkouts.append(1)

    event.listen(store.engine, "checkout", counted)
    try:
        for name in fields:  # distinct queries: no response cache hit
            assert client.get(f"/api/access/login_attempts?fields={name}", headers=headers).status_code == 200
    finally:
        event.remove(store.engine, "checkout", counted)
    # Each request reads in a session (the response cache reads the store's generation only for a key
    # asked before, responses.py; these are asked once): on SQLite's event loop on the connection the
    # loop keeps (one checkout at most, the first), elsewhere each on a pooled connection.
    if store.engine.dialect.name == "sqlite":
        assert len(checkouts) <= 1
    else:
        assert len(checkouts) >= len(fields)
    counts = []
    admin = {"Authorization": arrange.token("unleash", "admin")}
    for i in range(3):
        counts.append(len(client.get("/api/admin/logins", headers=admin).json()["events"]))
        r = client.post("/_loginaudit/events", json={"events": [
            {"username": f"u{i}@ex.edu", "occurred_at": NOW.isoformat(), "auth_method": "password"}]})
        assert r.status_code == 201, r.text
    assert counts == [counts[0], counts[0] + 1, counts[0] + 2]  # each read sees the write before it


def test_only_documentation_paths_go_through_swagger_uis_router(client: Any, monkeypatch: pytest.MonkeyPatch,
                                                               arrange: Any) -> None:
    from loginaudit.app import PublishedSpecMiddleware

    headers = {"Authorization": arrange.token("unleash", "admin")}
    fallbacks: list[int] = []
    real = PublishedSpecMiddleware.default_fn

    async def counted(self: Any, *args: Any) -> None:
        fallbacks.append(1)
        await real(self, *args)

    monkeypatch.setattr(PublishedSpecMiddleware, "default_fn", counted)
    assert client.get("/api/admin/logins", headers=headers).status_code == 200
    assert client.get("/api/admin/nope", headers=headers).status_code == 404
    assert fallbacks == []  # stock Connexion 3.3 routes every request through the UI's mounts, then falls back
    assert client.get("/api/admin/openapi.json").json()["openapi"].startswith("3.0")
    assert client.get("/api/admin/ui/").status_code == 200


def test_a_routed_request_goes_through_its_operations_layers_without_looking_them_up(
        client: Any, monkeypatch: pytest.MonkeyPatch, arrange: Any) -> None:
    """lane.Prewired: each layer's operation calls the next directly; what each does is unchanged."""
    from connexion.middleware.abstract import RoutedMiddleware

    lookups: list[str] = []
    real = RoutedMiddleware.__call__

    async def counted(self: Any, scope: Any, receive: Any, send: Any) -> None:
        lookups.append(type(self).__name__)
        await real(self, scope, receive, send)

    monkeypatch.setattr(RoutedMiddleware, "__call__", counted)
    headers = {"Authorization": arrange.token("unleash", "admin")}
    assert client.get("/api/admin/logins", headers=headers).status_code == 200
    assert client.get("/api/admin/logins").status_code == 401  # the security layer still runs
    assert client.get("/api/admin/logins", headers={"Authorization": "nope"}).status_code == 401
    qradar = {"SEC": arrange.token("qradar", "sec_admin")}
    assert client.get("/api/access/login_attempts?fields=nonsense", headers=qradar).status_code == 422  # validation
    assert client.post("/_loginaudit/reset").status_code == 204  # the control plane too
    assert lookups == []  # stock Connexion 3.3 looks the operation up in five layers per request
    assert client.get("/api/admin/nothing-here", headers=headers).status_code == 404  # no operation: stock's path


def test_request_validation_builds_its_parser_once_per_operation(client: Any, monkeypatch: pytest.MonkeyPatch,
                                                                 arrange: Any) -> None:
    from loginaudit.intake import SafeURIParser

    built: list[int] = []
    real = SafeURIParser.__init__

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        real(self, *args, **kwargs)

    monkeypatch.setattr(SafeURIParser, "__init__", counted)
    headers = {"SEC": arrange.token("qradar", "sec_admin")}
    assert client.get("/api/access/login_attempts?fields=user_id", headers=headers).status_code == 200
    first = len(built)
    for _ in range(4):
        assert client.get("/api/access/login_attempts?fields=user_id", headers=headers).status_code == 200
        assert client.get("/api/access/login_attempts?sort=bogus", headers=headers).status_code == 422
    assert len(built) == first  # stock Connexion 3.3 builds a parser and a validator per request


def test_planned_arguments_are_stocks_for_every_recorded_request(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """framework.ArgumentPlan against stock `prep_kwargs`, on every request the golden replay sends
    (every vendor's pages, next pages, filters and refusals)."""
    import connexion.decorators.parameter as parameter

    from golden import replay
    from loginaudit.framework import ArgumentPlan

    compared: list[str] = []
    real = ArgumentPlan.kwargs

    def both(self: ArgumentPlan, request: Any) -> dict[str, Any]:
        planned = real(self, request)
        stock = parameter.prep_kwargs(request, request_body=None, files={}, arguments=list(self.arguments),
                                      has_kwargs=self.has_kwargs, sanitize=self.sanitize.__wrapped__)
        assert planned == stock, request.url
        compared.append(request.url.path)
        return planned

    monkeypatch.setattr(ArgumentPlan, "kwargs", both)
    with app.test_client() as client:
        replay(client, app.store)
    for prefix in ("/api/v3/iam", "/api/admin", "/api/v1/audit", "/api/v1/users", "/api/access", "/api/v1/logs",
                   "/v1.0/auditLogs"):
        assert any(path.startswith(prefix) for path in compared), prefix
    assert len(compared) >= 80


def test_the_journal_decodes_an_entry_when_it_is_read() -> None:
    from datetime import UTC, datetime

    from loginaudit.mocking.journal import VALUE_CHARS, Journal

    journal = Journal(10)
    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    headers = [(b"Authorization", b"Bearer s3cret"), (b"X-A", b"1"), (b"x-a", b"2")]
    entry = journal.open(when=when, method="GET", path="/p", query_string=b"a=%C3%A9&b=", headers=headers,
                         vendor="unleash", operation="getLoginHistory")
    assert entry is not None and entry._seen is None  # nothing decoded yet
    assert entry.headers == {"authorization": "Bearer <redacted>", "x-a": "1, 2"}
    assert entry.query == [("a", "\u00e9"), ("b", "")]
    assert entry.as_json()["time"] == "2026-01-02T03:04:05.678Z"
    huge = journal.open(when=when, method="GET", path="/p", query_string=b"q=" + b"x" * 5000, headers=headers,
                        vendor=None, operation=None)
    assert huge is not None and huge.raw is None  # decoded and cut at once: the flood is never kept
    assert len(huge.query[0][1]) < VALUE_CHARS + 40


def test_handlers_read_the_same_request_attributes_as_through_connexions_proxy() -> None:
    """framework.request: one Starlette request per request, the attributes stock's proxy answers."""
    import connexion
    from connexion.context import _receive, _scope

    from loginaudit.framework import request

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "scheme": "https", "server": ("h.example", 443), "root_path": "",
             "path": "/api/v1/audit/authentication/accounts/1", "query_string": b"page=2&per_page=5&x=%C3%A9&x=b",
             "headers": [(b"host", b"h.example"), (b"accept", b"application/json+canvas-string-ids")]}
    scope_token, receive_token = _scope.set(scope), _receive.set(receive)
    try:
        for name in ("url", "method", "headers", "query_params", "path_params"):
            assert getattr(request, name) == getattr(connexion.request, name), name
        assert request.query_params.getlist("x") == ["\u00e9", "b"]
        assert request.url is request.url  # one request object: its URL is made once
    finally:
        _scope.reset(scope_token)
        _receive.reset(receive_token)


def test_reads_on_the_event_loop_reuse_one_session_emptied_between_them(store: Any) -> None:
    """storage.db: on SQLite the loop's reads share one Session on the kept connection; no request sees
    the last one's objects or info (memo keeps the generation there); a failed read leaves it usable, a
    failed flush has it replaced, and a read that writes commits its write."""
    import asyncio

    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from loginaudit.storage.models import Tenant
    from loginaudit.storage.settings import generation

    with store.session(write=True) as w:
        w.add(Tenant(name="T", client_id="app_t", created_at=NOW))

    async def reads() -> list[Any]:
        seen = []
        with store.session() as s:
            assert s.execute(select(Tenant)).scalars().one().name == "T"
            s.info["mark"] = 1
            seen.append(s)
        with pytest.raises(RuntimeError), store.session() as s:
            s.info["mark"] = 2
            raise RuntimeError("a failed read")
        with store.session() as s:
            seen.append(s)
            assert "mark" not in s.info and not s.identity_map
            assert s.execute(select(Tenant)).scalars().one().name == "T"
        with store.session() as outer, store.session() as inner:  # nested: the inner one is its own
            seen += [outer, inner]
        with pytest.raises(IntegrityError), store.session() as s:  # a flush that fails ends its transaction
            s.add(Tenant(name="T2", client_id="app_t", created_at=NOW))
            s.flush()
        with store.session() as s:  # ... so the next read gets a new Session, and sees the store as it is
            seen.append(s)
            assert [t.name for t in s.execute(select(Tenant)).scalars()] == ["T"]
        with store.session() as s:  # a read that writes commits its write and moves the generation
            before = generation(s)
            s.add(Tenant(name="T3", client_id="app_t3", created_at=NOW))
        with store.session() as s:
            assert len(s.execute(select(Tenant)).scalars().all()) == 2 and generation(s) != before
        return seen

    first, again, outer, inner, renewed = asyncio.run(reads())
    assert store.generation() is not None  # outside the loop: a pooled connection
    if store.engine.dialect.name == "sqlite":
        assert first is again is outer and inner is not outer and renewed is not first
    else:
        assert first is not again


def test_content_types_are_extracted_as_stock_extracts_them() -> None:
    import connexion.utils

    from loginaudit import framework

    assert connexion.utils.extract_content_type is framework.extract_content_type  # installed
    cases: list[Any] = [[], [(b"accept", b"x")], [(b"Content-Type", b"text/csv; charset=utf-8")],
                        [(b"content-type", b"a/b"), (b"content-type", b"c/d")],
                        [(b"x", b"\xe9"), (b"CONTENT-TYPE", b"\xe9")],
                        {}, {"Content-Type": "application/json"}, {"content-TYPE": "x/y", "a": "b"}, {"a": "b"}]
    for headers in cases:
        assert framework.extract_content_type(headers) == framework.STOCK_EXTRACT_CONTENT_TYPE(headers), headers


def _parameter_schemas() -> list[dict[str, Any]]:
    """Every parameter schema of every routed document (local references followed)."""
    from loginaudit.registry import ROUTED

    schemas = []
    for api in ROUTED:
        for item in api.spec["paths"].values():
            for method, op in item.items():
                if method == "parameters" or not isinstance(op, dict):
                    continue
                for param in (*item.get("parameters", ()), *op.get("parameters", ())):
                    param = api.resolve(param)
                    schemas.append(api.resolve(param.get("schema", param)))
    return schemas


SYNTHETIC = [  # each branch of intake._accepts, and shapes it must leave to jsonschema
    {"type": "string", "minLength": 2, "maxLength": 4}, {"type": "string", "pattern": "^[a-z]+$"},
    {"type": "string", "enum": ["a", "b"]}, {"type": "string", "enum": ["a", 1]}, {"type": "integer"},
    {"type": "integer", "minimum": -3, "maximum": 3}, {"type": "boolean"}, {"type": "number"},
    {"type": "integer", "minimum": 0, "exclusiveMinimum": True}, {"type": "string", "format": "date-time"},
    {"type": "array", "items": {"type": "string"}}, {"type": "string", "nullable": True},
]
TRICKY = ["", "a", "ab", "abcd", "abcde", "null", "None", "1", "-1", "A", "é", "a\n", "x" * 3000, 0, 1, -1, 3, 4, -4,
          2**64, True, False, 1.0, 0.5, None, ["a"], {"a": 1}]


def test_the_parameter_fast_path_accepts_only_what_jsonschema_accepts() -> None:
    """intake._accepts is a shortcut in front of jsonschema: wherever it says yes, Draft4Validator (with
    stock Connexion's format checker) must say yes, for every parameter schema the specs hold and the
    synthetic shapes, on edge values and on generated ones; and it must say yes to some (a predicate
    that never accepts would pass the first check and save nothing)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from jsonschema import Draft4Validator

    from loginaudit.intake import _accepts

    schemas = [*{json.dumps(s, sort_keys=True): s for s in [*_parameter_schemas(), *SYNTHETIC]}.values()]
    compiled = [(s, _accepts(s), Draft4Validator(s, format_checker=Draft4Validator.FORMAT_CHECKER)) for s in schemas]
    assert sum(accepts is not None for _, accepts, _v in compiled) >= 20  # the specs' shapes are covered
    for shape in ({"type": "number"}, {"type": "string", "format": "date-time"}, {"type": "string", "nullable": True},
                  {"type": "string", "enum": ["a", 1]}, {"type": "array", "items": {"type": "string"}}):
        assert _accepts(shape) is None, shape  # left to jsonschema
    said_yes: set[int] = set()

    def check(value: Any) -> None:
        for i, (schema, accepts, validator) in enumerate(compiled):
            examples = [schema.get("example"), schema.get("default"), *schema.get("enum", ())]
            for v in (value, *examples):
                if accepts is not None and v is not None and accepts(v):
                    assert validator.is_valid(v), (schema, v)
                    said_yes.add(i)

    for value in TRICKY:
        check(value)
    given(st.one_of(st.text(max_size=40), st.integers(), st.booleans(), st.floats(), st.none()))(
        settings(max_examples=300, derandomize=True, database=None)(check))()
    assert said_yes == {i for i, (_, accepts, _v) in enumerate(compiled) if accepts is not None}


def test_parameter_validation_answers_as_stock_on_every_golden_request(app: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """OnceParameterValidator.validate_request (each location read once, the fast path first) against
    stock Connexion 3.3's validate_request on the same request: the same pass, or the same problem and
    detail, on every request the golden replay sends and on rejected values of each kind."""
    from connexion.validators import ParameterValidator

    from golden import SECRETS, replay
    from loginaudit.intake import OnceParameterValidator

    ours = OnceParameterValidator.validate_request
    outcomes: list[str] = []
    differ: list[Any] = []

    def outcome(validate: Any, validator: Any, request: Any) -> Any:
        try:
            validate(validator, request)
        except Exception as exc:  # the problem raised is what is compared
            return type(exc), getattr(exc, "detail", str(exc))
        return None

    def both(self: Any, request: Any) -> None:
        stock = outcome(ParameterValidator.validate_request, self, request)
        mine = outcome(ours, self, request)
        if mine != stock:  # recorded, not asserted here: the app answers an exception with a vendor's 500
            differ.append((request.scope["path"], mine, stock))
        outcomes.append("pass" if mine is None else "problem")
        ours(self, request)

    monkeypatch.setattr(OnceParameterValidator, "validate_request", both)
    with app.test_client() as client:
        replay(client, app.store)
        okta = {"Authorization": "SSWS " + SECRETS["okta", "api_token"][0]}
        entra = {"Authorization": "Bearer " + SECRETS["entra", "app_auditlog"][0]}
        canvas = {"Authorization": "Bearer " + SECRETS["canvas", "site_admin"][0]}
        for path, headers in (("/api/v1/logs?limit=abc", okta), ("/api/v1/logs?since=" + "9" * 65, okta),
                              ("/api/v1/audit/authentication/logins/abc", canvas),
                              ("/v1.0/auditLogs/signIns?$top=abc", entra),
                              ("/v1.0/auditLogs/signIns", {**entra, "client-request-id": "x" * 65})):
            client.get(path, headers=headers)
    assert not differ
    assert "pass" in outcomes and "problem" in outcomes
