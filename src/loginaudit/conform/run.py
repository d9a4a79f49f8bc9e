"""`loginaudit conform`: Schemathesis over a vendor document plus the vendor-semantics checks.

Runs against any base URL (this emulator, your implementation, or the real vendor), with a fixed
seed, bounded examples and a time budget; prints a summary and writes JUnit XML for CI.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from xml.etree import ElementTree as ET

import httpx
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode

from ..bundle import bundled
from ..registry import spec_dir
from .config import auth_entry, build
from .semantics import CHECKS, CheckSkipped, Outcome


def load_spec(name: str) -> tuple[Path, dict[str, Any]]:
    """A document by path or by name in our `openapi/`, bundled with the siblings it refers to."""
    path = Path(name) if Path(name).exists() else spec_dir() / name
    return path, bundled(yaml.safe_load(path.read_text(encoding="utf-8")), path.parent)


def api_root(base_url: str, spec: Mapping[str, Any]) -> str:
    """The server root plus the path of the document's first server URL."""
    return base_url.rstrip("/") + str(urlparse(spec["servers"][0]["url"]).path).rstrip("/")


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 4000 else text[:4000] + " …"


def run_schemathesis(path: Path, spec: Mapping[str, Any], base_url: str, auth: Mapping[str, str], *,
                     seed_value: int, max_examples: int, deadline: float) -> list[Outcome]:
    config = build([(spec, auth)], seed=seed_value, max_examples=max_examples)
    schema = schemathesis.openapi.from_path(path, config=config)
    root = api_root(base_url, spec)
    outcomes = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # our documents are valid (tests/test_specs.py)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            name = f"{operation.label} [{mode.value}]"
            if time.monotonic() > deadline:
                outcomes.append(Outcome("schemathesis", name, None, "time budget spent"))
                continue

            @seed(seed_value)
            @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(operation.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                case.call_and_validate(base_url=root)

            started = time.monotonic()
            try:
                check()
                outcomes.append(Outcome("schemathesis", name, True, seconds=time.monotonic() - started))
            except (Exception, BaseExceptionGroup) as exc:  # Schemathesis' FailureGroup is a BaseExceptionGroup
                outcomes.append(Outcome("schemathesis", name, False, _short(exc), time.monotonic() - started))
    return outcomes


def auth_headers(spec: Mapping[str, Any], auth: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, query params) carrying the given credentials, for the plain-HTTP checks."""
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    for scheme, value in auth.items():
        definition = spec["components"]["securitySchemes"][scheme]
        entry = auth_entry(spec, scheme, value)
        if "username" in entry:
            raw = f"{entry['username']}:{entry['password']}".encode()
            headers.setdefault("Authorization", "Basic " + base64.b64encode(raw).decode())
        elif "bearer" in entry:
            headers.setdefault("Authorization", f"Bearer {value}")
        elif definition["in"] == "header":
            headers.setdefault(definition["name"], value)
        elif definition["in"] == "query":
            query.setdefault(definition["name"], value)
        else:
            headers.setdefault("Cookie", f"{definition['name']}={value}")
    return headers, query


def run_semantics(vendor: str, spec: Mapping[str, Any], base_url: str, auth: Mapping[str, str],
                  params: Mapping[str, str]) -> list[Outcome]:
    headers, query = auth_headers(spec, auth)
    outcomes = []
    with httpx.Client(base_url=api_root(base_url, spec) + "/", headers=headers, params=query, timeout=30) as http:
        for check in CHECKS.get(vendor, []):
            started = time.monotonic()
            try:
                check(http, params)
                outcomes.append(Outcome("semantics", check.__name__, True, seconds=time.monotonic() - started))
            except CheckSkipped as exc:
                outcomes.append(Outcome("semantics", check.__name__, None, str(exc)))
            except (AssertionError, httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
                outcomes.append(Outcome("semantics", check.__name__, False, _short(exc),
                                        time.monotonic() - started))
    return outcomes


def junit(outcomes: list[Outcome], path: Path) -> None:
    root = ET.Element("testsuites")
    for suite in sorted({o.suite for o in outcomes}):
        mine = [o for o in outcomes if o.suite == suite]
        node = ET.SubElement(root, "testsuite", name=suite, tests=str(len(mine)),
                             failures=str(sum(o.ok is False for o in mine)),
                             skipped=str(sum(o.ok is None for o in mine)))
        for o in mine:
            case = ET.SubElement(node, "testcase", classname=suite, name=o.name, time=f"{o.seconds:.3f}")
            if o.ok is False:
                ET.SubElement(case, "failure", message=o.message.split("\n", 1)[0][:200]).text = o.message
            elif o.ok is None:
                ET.SubElement(case, "skipped", message=o.message)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


FAILURE_LINES = 40  # of one failure's explanation on the console (the JUnit report keeps all of it)


def summary(outcomes: list[Outcome]) -> str:
    """One line per check; under a failure, why: Schemathesis' check names, expected and received,
    and the curl line that reproduces it (the JUnit report has the same, whole)."""
    lines = []
    for o in outcomes:
        mark = {True: "PASS", False: "FAIL", None: "SKIP"}[o.ok]
        lines.append(f"{mark}  {o.suite:<12} {o.name}")
        if o.ok is True or not o.message.strip():
            continue
        detail = [line.rstrip() for line in o.message.strip().splitlines() if line.strip()]
        shown = detail[:FAILURE_LINES] if o.ok is False else detail[:1]
        lines += [f"      {line}" for line in shown]
        if len(detail) > len(shown) and o.ok is False:
            lines.append(f"      ... {len(detail) - len(shown)} more lines in the JUnit report")
    passed, failed = sum(o.ok is True for o in outcomes), sum(o.ok is False for o in outcomes)
    skipped = sum(o.ok is None for o in outcomes)
    lines.append(f"conform: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return "\n".join(lines)


def conform(vendor: str, base_url: str, *, spec_name: str, auth: Mapping[str, str], params: Mapping[str, str],
            seed_value: int = 42, max_examples: int = 25, max_time: float = 300.0,
            junit_path: Path | None = None) -> list[Outcome]:
    path, spec = load_spec(spec_name)
    deadline = time.monotonic() + max_time
    outcomes = run_schemathesis(path, spec, base_url, auth, seed_value=seed_value, max_examples=max_examples,
                                deadline=deadline)
    outcomes += run_semantics(vendor, spec, base_url, auth, params)
    if junit_path is not None:
        junit(outcomes, junit_path)
    return outcomes
