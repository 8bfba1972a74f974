#!/usr/bin/env python3
"""Measure `llmfleet lint` on a corpus half against its ground truth, counting EVERY finding.

Unlike tests/corpus/evaluate.py (which leaves hardening and fleet rules out of its measure), no
rule is excluded here: every finding at error or warning is judged right (it names a real problem
of the file: same object, a class its rule stands for) or wrong.  Recall is over all real
problems of expected.yaml, including classes no rule covers.

Usage: python tests/corpus2/measure.py {dev,heldout,old} [--json] [FILE...]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "corpus"))

import evaluate  # noqa: E402  (the judging code of the first corpus, shared)

HALVES = {"dev": HERE / "dev", "heldout": HERE / "heldout", "old": HERE.parent / "corpus"}

#: Rule ids of issue 23 and the classes they stand for, beside the first corpus's table.
EXTRA_CLASSES: dict[str, set[str]] = {
    "yaml-syntax": {"yaml-error"},
    "yaml-duplicate-key": {"yaml-error"},
    "input-error": {"yaml-error"},
    "scaler-recreate": {"recreate-autoscaled"},
    "scaler-averaged-query": {"keda-averaged-query"},
    "gated-model-token": {"gated-no-token"},
    "gpu-visible-devices": {"cuda-visible-devices-beyond-request"},
    "service-reference": {"unresolved-service-reference"},
    "server-image-unpinned": {"image-unpinned"},
    "instance-parallelism": {"tp-mismatch-gpus"},
    "image-digest": {"image-unpinned"},
    "volume-rwo-shared": {"rwo-volume-shared"},
}


def _object_of(finding: dict) -> str:
    kind, name = finding.get("kind") or "", finding.get("name") or ""
    return f"{kind}/{name}" if kind or name else "file"


@contextmanager
def counting_everything() -> Iterator[None]:
    """The first corpus's judging code with no rule left out and the new rules' classes;
    restored afterwards (the first corpus's own test shares the module)."""
    saved = (
        dict(evaluate.NOT_JUDGED),
        {k: set(v) for k, v in evaluate.RULE_CLASSES.items()},
        evaluate.object_of,
    )
    evaluate.NOT_JUDGED.clear()
    for rule, classes in EXTRA_CLASSES.items():
        evaluate.RULE_CLASSES.setdefault(rule, set()).update(classes)
    evaluate.object_of = _object_of
    try:
        yield
    finally:
        evaluate.NOT_JUDGED.update(saved[0])
        evaluate.RULE_CLASSES.clear()
        evaluate.RULE_CLASSES.update(saved[1])
        evaluate.object_of = saved[2]


def measure(half: str, files: list[str] | None = None) -> evaluate.Report:
    with counting_everything():
        return evaluate.evaluate(files or None, expected=HALVES[half] / "expected.yaml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("half", choices=sorted(HALVES))
    parser.add_argument("files", nargs="*")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = measure(args.half, args.files)
    if args.json:
        print(
            json.dumps(
                {
                    "summary": report.summary(),
                    "findings": [vars(f) for f in report.findings],
                    "problems": report.problems,
                },
                indent=2,
            )
        )
        return 0
    evaluate.print_report(report)
    print("\nwrong findings (all):")
    for f in report.wrong:
        print(f"  {f.file}: {f.severity} {f.rule} on {f.object}: {f.matched}")
    print("\nmissed problems (all):")
    for p in report.problems:
        if not p["caught"]:
            print(f"  {p['file']}: {p['severity']} {p['class']} on {p['object']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
