"""Every recorded answer, byte for byte: the request path may change how it answers, never what."""

from __future__ import annotations

import json
from typing import Any

from golden import ANSWERS, replay

RECORDED: dict[str, dict[str, Any]] = json.loads(ANSWERS.read_text(encoding="utf-8"))


def test_every_answer_is_byte_identical_to_the_recorded_one(app: Any) -> None:
    with app.test_client() as client:
        answers = replay(client, app.store)
    assert sorted(answers) == sorted(RECORDED)
    differing = {name: {"recorded": RECORDED[name], "now": answers[name]}
                 for name in RECORDED if answers[name] != RECORDED[name]}
    assert not differing, json.dumps(differing, indent=1, ensure_ascii=False)[:6000]


def test_the_recording_covers_every_vendor_and_its_errors() -> None:
    """The list is what makes the comparison worth anything: pages, next pages, refusals, on every API."""
    statuses = {(name.split()[0], answer["status"]) for name, answer in RECORDED.items()}
    for vendor in ("unleash", "canvas", "qradar", "ingedata", "ssojet"):
        assert (vendor, 200) in statuses and (vendor, 401) in statuses, vendor
    assert sum("-> next" in name for name in RECORDED) >= 15
    assert len(RECORDED) >= 100
