"""Every spec is valid OpenAPI 3.0.3 with operationIds, summaries and documented errors; the wheel ships them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from loginaudit.registry import CONTROL, VENDORS, Vendor

ALL = (*VENDORS, CONTROL)
ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("vendor", ALL, ids=lambda v: v.name)
def test_spec_is_valid_openapi_303(vendor: Vendor) -> None:
    assert vendor.spec["openapi"] == "3.0.3"
    validate(vendor.spec)


@pytest.mark.parametrize("vendor", ALL, ids=lambda v: v.name)
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
