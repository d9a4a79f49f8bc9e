"""Every spec is valid OpenAPI 3.0.3 with operationIds, summaries and documented errors; the wheel ships them."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from loginaudit.registry import CONTROL, ROUTED, Vendor

ALL = ROUTED
ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("vendor", ALL, ids=lambda v: v.api_name)
def test_spec_is_valid_openapi_303(vendor: Vendor) -> None:
    assert vendor.spec["openapi"] == "3.0.3"
    validate(vendor.spec)


@pytest.mark.parametrize("vendor", ALL, ids=lambda v: v.api_name)
def test_operations_are_documented(vendor: Vendor) -> None:
    for path, item in vendor.spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            where = f"{method.upper()} {path}"
            assert op.get("operationId"), where
            assert op.get("summary"), where
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), where
            assert codes & {"400", "401", "404"}, f"{where} documents no error response"


def test_control_bodies_document_their_refusals() -> None:
    """A body can be too large (413) or hold text the store cannot keep (422) on every write."""
    for path, item in CONTROL.spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "requestBody" in op:
                assert {"400", "413", "422"} <= set(op["responses"]), f"{method.upper()} {path}"


def test_every_operation_id_resolves_to_a_handler() -> None:
    for vendor in ALL:
        for item in vendor.spec["paths"].values():
            for method, op in item.items():
                if method != "parameters":
                    assert callable(getattr(vendor.module, op["operationId"], None)), op["operationId"]


def test_wheel_ships_the_specs(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(tmp_path.glob("loginaudit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for vendor in ALL:
        assert f"loginaudit/openapi/{vendor.spec_file}" in names
    assert "loginaudit/handlers/unleash.py" in names


NPM_TOOLS = ("@stoplight/spectral-cli@6.16.3", "openapi-typescript@7.13.0")
NPM_PREFIX = ROOT / ".cache" / "npm"


@pytest.fixture(scope="session")
def npm_bin() -> Path:
    """Spectral and openapi-typescript from the npm registry, installed once under .cache/ (skipped
    only where Node is absent). Spectral's spectral:oas rules include oas3-valid-media-example:
    every example validates against its schema."""
    import shutil

    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js/npm not installed: the Spectral and openapi-typescript gates need them")
    bin_dir = NPM_PREFIX / "node_modules" / ".bin"
    NPM_PREFIX.mkdir(parents=True, exist_ok=True)
    with open(NPM_PREFIX / ".install-lock", "w") as lock:  # pytest -n workers would install over each other
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all((bin_dir / tool).exists() for tool in ("spectral", "openapi-typescript")):
            subprocess.run(["npm", "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", "-s",
                            *NPM_TOOLS], check=True, capture_output=True)
    return bin_dir


@pytest.mark.parametrize("spec", sorted(p.name for p in (ROOT / "openapi").glob("*.yaml")))
def test_spec_lints_clean_under_spectral(npm_bin: Path, spec: str) -> None:
    done = subprocess.run([str(npm_bin / "spectral"), "lint", "-q", "-r", str(ROOT / ".spectral.yaml"),
                           "--fail-severity", "warn", str(ROOT / "openapi" / spec)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr



@pytest.mark.parametrize("spec", sorted(p.name for p in (ROOT / "openapi").glob("*.yaml")))
def test_typescript_types_generate(npm_bin: Path, spec: str, tmp_path: Path) -> None:
    out = tmp_path / "types.d.ts"
    done = subprocess.run([str(npm_bin / "openapi-typescript"), str(ROOT / "openapi" / spec), "-o", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    text = out.read_text()
    assert "export interface paths" in text and "export interface components" in text


@pytest.mark.parametrize("vendor", ALL, ids=lambda v: v.api_name)
def test_every_success_response_has_an_example(vendor: Vendor) -> None:
    """Media-level `example`/`examples`, or an `example` on the (referenced) schema; Spectral validates them."""
    components = vendor.spec.get("components", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            kind, name = node["$ref"].split("/")[-2:]
            node = components[kind][name]
        return node

    for path, item in vendor.spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            for code, response in op["responses"].items():
                for media, content in (resolve(response).get("content") or {}).items():
                    if code.startswith("2"):
                        schema = resolve(content.get("schema", {}))
                        has = "example" in content or "examples" in content or "example" in schema or (
                            schema.get("type") == "array" and "example" in resolve(schema.get("items", {})))
                        assert has, f"{method.upper()} {path} {code} {media} has no example"
