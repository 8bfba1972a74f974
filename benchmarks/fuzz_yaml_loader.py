"""Fuzz the YAML loader with many random inputs (issue 25 asks for 100,000+): YAML-shaped
token soups and random printable text, each loaded with both readings.  Counts outcomes,
any exception other than UnsafeYAML (a bug), any refusal quoting the planted secret, and the
slowest input.

    .venv/bin/python benchmarks/fuzz_yaml_loader.py [--count 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import time
from collections import Counter

from llmfleet.kube import safe_yaml

SECRET = "Zq9Sup3rS3cretPassw0rd"
TOKENS = [
    "a", "b", ":", ": ", "- ", "\n", "\n  ", "\n    ", "[", "]", "{", "}", ",", " ", "&x ", "*x", "<<: ",
    "<<: *x", "<<: [*x, *x]", "!!int ", "!!float ", "!!bool ", "!!timestamp ", "!!binary ", "!!null ",
    "!!str ", "!!map ", "!", "? ", "~", "null", "y", "no", "0o17", "0x1F", "1e3", "1e400", "2024-02-30",
    "12:30:00", "9" * 30, "'", '"', "|\n  ", ">\n  ", "#", "%YAML 1.1\n---\n", "---\n", "...\n", "\t",
    f"!{SECRET} ", f"!!int {SECRET}", f"!!float {SECRET}", f"!!timestamp {SECRET}", SECRET, "0b-101",
    "1:" * 50 + "1", "&a [*a]", "<<: 1",
]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: Counter[str] = Counter()
    bugs, leaks, slowest = [], [], (0.0, "")
    started = time.perf_counter()
    for i in range(args.count):
        if i % 4 == 3:
            text = "".join(rng.choices(string.printable, k=rng.randint(0, 60)))
        else:
            text = "".join(rng.choices(TOKENS, k=rng.randint(0, 40)))
        for semantics in (safe_yaml.KUBERNETES, safe_yaml.PYYAML):
            t = time.perf_counter()
            try:
                data = safe_yaml.load(text, semantics=semantics)
                if semantics == safe_yaml.KUBERNETES:
                    json.dumps(data, allow_nan=False)
                outcomes[f"{semantics}: loaded"] += 1
            except safe_yaml.UnsafeYAML as exc:
                outcomes[f"{semantics}: refused"] += 1
                if f"!{SECRET}" in str(exc) or f" {SECRET}" in str(exc):
                    leaks.append((text, str(exc)))
            except Exception as exc:  # counting bugs is the point
                bugs.append((text, semantics, repr(exc)))
            elapsed = time.perf_counter() - t
            if elapsed > slowest[0]:
                slowest = (elapsed, text[:80])
    print(f"inputs: {args.count:,} (x2 readings) in {time.perf_counter() - started:.1f} s")
    print(f"outcomes: {dict(outcomes)}")
    print(f"other exceptions (bugs): {len(bugs)}; secret quoted: {len(leaks)}")
    print(f"slowest input: {slowest[0] * 1000:.1f} ms {slowest[1]!r}")
    for bug in bugs[:5]:
        print("BUG", bug)
    for leak in leaks[:5]:
        print("LEAK", leak)
    return 1 if bugs or leaks else 0


if __name__ == "__main__":
    sys.exit(main())
