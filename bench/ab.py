"""Two versions of the code, side by side: each vendor's in-process walk CPU (bench/inprocess.py) for a
base commit and the work tree, alternated, on the same store and the same machine minute.

This machine's neighbours move a round 2-3x (two shared cores); one side measured minutes after the
other compares the neighbours, not the code. Alternating the sides `--times` times and reporting each
side's median round and its least disturbed (minimum) round is how the README's session figures were
taken. The base is checked out once as a git worktree under `.cache/ab/` and put first on PYTHONPATH;
both sides run this tree's bench scripts.

Run: `.venv/bin/python bench/ab.py --base 91bf024 [--times 3] [vendor ...]`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUND = re.compile(r"^(\w+)\s.*CPU µs/request per round: ([\d, ]+?)\s+non-2xx")


def _worktree(rev: str) -> Path:
    """The base commit's tree (made once; a worktree shares the repository's objects)."""
    commit = subprocess.run(["git", "rev-parse", rev], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout.strip()
    tree = ROOT / ".cache" / "ab" / commit[:12]
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True,
                       capture_output=True)
    return tree


def _rounds(src: Path, args: argparse.Namespace) -> dict[str, list[int]]:
    """One inprocess.py run with `src` first on the path: each vendor's rounds, CPU µs per request."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "inprocess.py"), "--events", str(args.events),
                          "--rounds", str(args.rounds), *args.vendors],
                         cwd=ROOT / "bench", env={**os.environ, "PYTHONPATH": str(src)}, check=True,
                         capture_output=True, text=True).stdout
    found: dict[str, list[int]] = {}
    for line in out.splitlines():
        if (match := ROUND.match(line)) is not None:
            found[match.group(1)] = [int(n.replace(",", "")) for n in match.group(2).split()]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vendors", nargs="*")
    parser.add_argument("--base", required=True, help="the commit to compare the work tree with")
    parser.add_argument("--times", type=int, default=3, help="alternations (each side runs this often)")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sides = {"base": _worktree(args.base) / "src", "tree": ROOT / "src"}
    seen: dict[tuple[str, str], list[int]] = {}
    for time in range(args.times):
        for side, src in sides.items():
            for vendor, rounds in _rounds(src, args).items():
                seen.setdefault((vendor, side), []).extend(rounds)
                print(f"# {time + 1}/{args.times} {side:<4} {vendor:<9} {rounds}", flush=True)
    print(f"\n| vendor | {args.base} median | work tree median | change | {args.base} min | work tree min |")
    print("|---|---:|---:|---:|---:|---:|")
    for vendor in dict.fromkeys(v for v, _ in seen):
        base, tree = seen[(vendor, "base")], seen[(vendor, "tree")]
        before, after = statistics.median(base), statistics.median(tree)
        print(f"| {vendor} | {before:,.0f} | {after:,.0f} | {100 * (after - before) / before:+.0f}% "
              f"| {min(base):,} | {min(tree):,} |")


if __name__ == "__main__":
    main()
