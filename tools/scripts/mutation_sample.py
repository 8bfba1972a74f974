#!/usr/bin/env python3
"""Pick a seeded, stratified sample of mutmut's mutants: the same fraction of every module.

A full run over model/, catalog/, lint/rules/, simulate/, redact and the transaction is about
17,500 mutants, five hours on two cores.  A sample taken evenly from every module estimates each
module's kill ratio in a fraction of that (mutation_report.py gives the 95% interval).  The sample
is a pure function of the mutant names and the seed: each name's sha256 with the seed orders a
module's mutants, and the first ``ceil(fraction * n)`` are taken, so a rerun with the same seed
picks the same mutants even after other modules change.

Usage::

    python tools/scripts/mutation_sample.py --mutants .mutmut/mutants --fraction 0.1 --seed 1

prints one mutant name per line.  Exit codes: 0 printed, 2 no mutants under --mutants or a
fraction outside (0, 1].
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections import defaultdict
from pathlib import Path


def mutants_by_module(root: Path) -> dict[str, list[str]]:
    modules: dict[str, list[str]] = defaultdict(list)
    for meta in sorted(root.rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key") or {}
        for name in codes:
            modules[meta.as_posix()].append(name)
    return dict(modules)


def sample(modules: dict[str, list[str]], fraction: float, seed: str) -> list[str]:
    def order(name: str) -> str:
        return hashlib.sha256(f"{seed}\0{name}".encode()).hexdigest()

    picked: list[str] = []
    for names in modules.values():
        count = math.ceil(fraction * len(names))
        picked += sorted(sorted(names, key=order)[:count])
    return picked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path(".mutmut/mutants"))
    parser.add_argument("--fraction", type=float, required=True)
    parser.add_argument("--seed", default="1")
    args = parser.parse_args(argv)
    if not 0 < args.fraction <= 1:
        print(f"mutation_sample: --fraction {args.fraction} is not in (0, 1]", file=sys.stderr)
        return 2
    modules = mutants_by_module(args.mutants) if args.mutants.is_dir() else {}
    if not modules:
        print(f"mutation_sample: no mutants under {args.mutants} (run `make mutate` once)", file=sys.stderr)
        return 2
    print("\n".join(sample(modules, args.fraction, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
