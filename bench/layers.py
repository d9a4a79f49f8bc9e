"""Where a walk's request goes, layer by layer: a sampling profile of each vendor's in-process walk.

Issue 20 asks, where a target is missed, which layer holds it, with the profile. This runs
`bench/inprocess.py` (each vendor's bench walk driven straight into the ASGI app, warm, the response
cache off) under py-spy, a sampling profiler (cProfile's per-call cost inflates Python-heavy layers 2-3x
against C calls such as SQLite's), and files every sample of the measured rounds under the first of
these layers found from the sampled frame outwards:
- `rows -> JSON`: a compiled row template (storage/template.py) or the renderers writing a row's text;
- `SQL`: a statement in SQLite or through SQLAlchemy (the page's, the clock's and generation's reads,
  BEGIN/COMMIT, the token lookup behind security);
- `validation`: Connexion's parameter validation with our fast path (intake.py), the query's parse;
- `handler`: the rest of the vendor's handler (its query's form, cursors, Link headers, the envelope);
- `framework`: the rest of the request (middlewares, routing, security's own code, response building).
No HTTP, sockets or uvicorn here (bench/floors.py measures those served); the store's pages stay warm.

Run: `.venv/bin/python bench/layers.py [--rounds 6] [vendor ...]` (py-spy from the test extra; the bench
store is `make bench`'s). Prints one Markdown row per vendor: each layer's share of the walk's samples
and the in-process CPU µs a request that the shares divide.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import run  # bench/run.py: the store

HERE = Path(__file__).resolve().parent
LAYERS = ("rows -> JSON", "SQL", "validation", "handler", "framework")
HANDLERS = run.WALK_HANDLERS
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")
CPU = re.compile(r"CPU µs/request per round: ([\d, ]+?)\s+non-2xx")


def _layer(frames: list[tuple[str, str]], handler: str) -> str | None:
    """The layer of one sample (frames root first), or None outside the measured rounds."""
    if not any(function == "_walk" for function, _ in frames) or any(function == "_warm" for function, _ in frames):
        return None
    for function, file in reversed(frames):
        if file.startswith("<template") or (file.endswith("rendered.py") and function in ("render", "<lambda>")):
            return "rows -> JSON"
        if file.startswith("sqlalchemy/") or "/sqlalchemy/" in file or \
                (file.endswith("driver.py") and function == "fetch") or \
                (file.endswith("storage/db.py") and function == "_driver_says"):
            return "SQL"
        if function.startswith("OnceParameterValidator."):
            return "validation"
        if function.startswith(handler):
            return "handler"
    return "framework"


def profile(vendor: str, rounds: int) -> tuple[dict[str, float], float]:
    """Each layer's share of the measured rounds' samples, and the median round's CPU µs a request."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "samples.txt"
        command = [str(run.VENV_BIN / "py-spy"), "record", "--rate", "400", "--format", "raw", "--output", str(raw),
                   "--", sys.executable, str(HERE / "inprocess.py"), "--events", "1000000", "--rounds", str(rounds),
                   vendor]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        counts: collections.Counter[str] = collections.Counter()
        for line in raw.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            frames = [(m["function"], m["file"]) if (m := FRAME.match(f)) else (f, "") for f in stack.split(";")]
            layer = _layer(frames, HANDLERS[vendor])
            if layer:
                counts[layer] += int(n)
    total = sum(counts.values()) or 1
    rounds_us = sorted(float(x.replace(",", "")) for x in CPU.search(out)[1].split())  # type: ignore[index]
    return {layer: counts[layer] / total for layer in LAYERS}, rounds_us[len(rounds_us) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("vendors", nargs="*")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    run._seeded(1_000_000)
    print("| vendor | CPU µs/req (in-process) | " + " | ".join(LAYERS) + " |")
    print("|---|---:|" + "---:|" * len(LAYERS))
    for vendor in args.vendors or list(HANDLERS):
        shares, cpu = profile(vendor, args.rounds)
        cells = " | ".join(f"{shares[layer]:.0%} ({shares[layer] * cpu:,.0f})" for layer in LAYERS)
        print(f"| {vendor} | {cpu:,.0f} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
