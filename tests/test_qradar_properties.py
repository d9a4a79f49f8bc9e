"""Property tests of the QRadar filter pipeline (parse → store criteria → SQL).

1. No filter string, however random, makes the API answer anything but 200 or 422.
2. For random well-formed filters, the API returns exactly the attempts that the Python reference
   evaluator (`qradar_filter.evaluate`) selects from the unfiltered list.
"""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Arrange, at
from loginaudit.handlers.qradar_filter import FIELDS, FilterError, _parsed, _shaped, evaluate, parse
from loginaudit.storage.criteria import And, Cmp

URL = "/api/access/login_attempts"
IPS = ["10.0.0.5", "10.0.0.50", "192.168.1.1", "::ffff:10.0.0.5", None]
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def data(arrange: Arrange) -> dict[str, Any]:
    tenant = arrange.tenant()
    creds = [arrange.credential(arrange.person(email=f"u{i}@ex.com"), tenant, login=f"u{i}")["id"] for i in range(4)]
    rng = random.Random(11)
    arrange.events(*({"credential_id": rng.choice(creds), "occurred_at": at(rng.randrange(1, 400) / 7),
                      "ip": rng.choice(IPS), "successful": rng.random() < 0.6,
                      "auth_method": rng.choice(["password", "http_basic", "oidc"])} for _ in range(40)))
    sec = arrange.token("qradar", "sec_admin")
    rows = arrange.c.get(URL, headers={"SEC": sec}).json()
    return {"sec": sec, "rows": rows, "users": creds, "times": sorted({r["attempt_time"] for r in rows})}


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


@st.composite
def predicates(draw: Any, data: dict[str, Any]) -> str:
    field = draw(st.sampled_from(["attempt_time", "user_id", "remote_ip", "attempt_result", "attempt_method"]))
    values = {
        "attempt_time": st.sampled_from(data["times"]).flatmap(lambda t: st.sampled_from([t - 1, t, t + 1])),
        "user_id": st.sampled_from([*data["users"], 0, 99]),
        "remote_ip": st.sampled_from([ip for ip in IPS if ip] + ["10.0.0", "zzz"]),
        "attempt_result": st.sampled_from(["SUCCESS", "FAILURE", "success"]),
        "attempt_method": st.sampled_from(["LOGIN_PAGE", "HTTP_BASIC"]),
    }[field]
    kind = draw(st.sampled_from(["cmp", "in", "between", "null"]))
    if kind == "cmp":
        op = draw(st.sampled_from(["=", "!=", "<>", "<", ">", "<=", ">="]))
        return f"{field} {op} {_literal(draw(values))}"
    if kind == "in":
        items = draw(st.lists(values, min_size=1, max_size=3))
        neg = draw(st.sampled_from(["", "NOT ", "not "]))
        return f"{field} {neg}IN ({', '.join(_literal(v) for v in items)})"
    if kind == "between":
        lo, hi = sorted([draw(values), draw(values)], key=lambda v: (isinstance(v, str), v))
        neg = draw(st.sampled_from(["", "NOT "]))
        return f"{field} {neg}BETWEEN {_literal(lo)} and {_literal(hi)}"
    return f"{field} IS {draw(st.sampled_from(['', 'NOT ']))}NULL"


def filters(data: dict[str, Any]) -> Any:
    return st.recursive(
        predicates(data),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from([" AND ", " or ", " and "]), inner).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
            inner.map(lambda e: f"NOT ({e})"),
        ),
        max_leaves=5,
    )


def test_random_filters_agree_with_the_reference_evaluator(client: Any, data: dict[str, Any]) -> None:
    @SETTINGS
    @given(filters(data))
    def check(text: str) -> None:
        r = client.get(URL + "?filter=" + quote(text), headers={"SEC": data["sec"]})
        assert r.status_code == 200, (text, r.text)
        expected = [row for row in data["rows"] if evaluate(parse(text), row)]
        assert r.json() == expected, text

    check()


def test_random_strings_never_crash(client: Any, data: dict[str, Any]) -> None:
    words = ["attempt_time", "user_id", "remote_ip", "attempt_result", "=", "!=", "<>", "<", ">", "<=", ">=", "(",
             ")", ",", '"', '"x"', "\\", "AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "and", "or", "not", "1",
             "0", "-5", "1.5", "SUCCESS", "%25", "%", "\x00", "é", "\n", "'"]

    @SETTINGS
    @given(st.one_of(st.lists(st.sampled_from(words), max_size=12).map(" ".join), st.text(max_size=30)))
    def check(text: str) -> None:
        r = client.get(URL, params={"filter": text}, headers={"SEC": data["sec"]})
        assert r.status_code in (200, 422), (text, r.text)
        if r.status_code == 422:
            assert r.json()["code"] == 1010

    check()


def _outcome(parse_fn: Any, text: str) -> Any:
    try:
        return parse_fn(text, FIELDS)
    except FilterError as exc:
        return ("error", str(exc))


def test_a_filter_parses_as_its_shape_does() -> None:
    """qradar_filter.parse remembers a shape's tree (numbers as placeholders): for any text, the tree with
    the text's numbers put back, or the error, is the text's own parse's."""
    words = ["attempt_time", "user_id", "remote_ip", "x", "=", "!=", ">=", "(", ")", ",", '"x"', '"a 5 \\" 7"',
             "AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "and", "1", "0", "-5", "-0", "1.5", "-2.25", "007",
             "10.0.0.5", "5-3", "5:", "12345678901234567890123", "SUCCESS", '"', "\\", "é"]
    joiners = st.sampled_from([" ", "", "  "])

    numbers = st.sampled_from(["1", "0", "-5", "-0", "1.5", "-2.25", "007", "12345678901234567890123", "10.0.0.5"])
    predicate = st.tuples(st.sampled_from(["attempt_time", "user_id", "remote_ip"]),
                          st.sampled_from(["=", "<>", ">=", "<"]), numbers).map(" ".join)
    ranged = st.tuples(st.sampled_from(["user_id BETWEEN", "user_id NOT IN ("]), numbers, numbers).map(
        lambda t: f"{t[0]} {t[1]} and {t[2]}" if t[0].endswith("BETWEEN") else f"{t[0]}{t[1]}, {t[2]})")
    valid = st.lists(st.one_of(predicate, ranged), min_size=1, max_size=4).map(" and ".join)
    noise = st.lists(st.tuples(st.sampled_from(words), joiners), max_size=10).map(
        lambda ps: "".join(w + j for w, j in ps))

    @settings(max_examples=600, deadline=None, derandomize=True)
    @given(st.one_of(valid, noise))
    def check(text: str) -> None:
        assert _outcome(parse, text) == _outcome(_parsed, text), text

    check()
    assert _outcome(parse, "attempt_time >= 1700000000000 and attempt_time < 1700003600000") == And((
        Cmp("attempt_time", ">=", 1700000000000), Cmp("attempt_time", "<", 1700003600000)))
    assert _shaped.cache_info().hits > 0  # texts of one shape met its remembered tree
