#!/usr/bin/env python3
"""Measure `llmfleet lint` on a corpus half against its ground truth, counting EVERY finding.

Unlike tests/corpus/evaluate.py (which leaves hardening and fleet rules out of its measure), no
rule is excluded here: every finding at error or warning is judged right (it names a real problem
of the file: same object, a class its rule stands for) or wrong.  Recall is over all real
problems of the ground truth, including classes no rule covers.

A half is ``dev``, ``heldout`` (this corpus), ``old`` (tests/corpus) or any folder of manifests:
every ``expected*.yaml`` in it is read (one per collector: ``expected-a.yaml``,
``expected-b.yaml``; their files are merged), and the ``facts*.yaml`` beside it or one level up
are checked for every fact a problem cites (``source``).

Usage: python tests/corpus2/measure.py {dev,heldout,old,FOLDER} [--json] [FILE...]
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
import yaml  # noqa: E402

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
    "image-floating-tag": {"image-unpinned"},
    "gpu-privileged": {"gpu-isolation-bypass"},
    "object-name-invalid": {"invalid-name"},
    "toleration-all": {"tolerate-all"},
    "image-placeholder": {"image-placeholder"},
    "server-loopback": {"server-loopback", "listens-on-loopback"},
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


def folder_of(half: str) -> Path:
    """The folder a half names: dev, heldout, old, or a path."""
    folder = HALVES.get(half) or Path(half)
    if not folder.is_dir():
        raise SystemExit(f"{half}: not dev, heldout, old nor a folder")
    return folder.resolve()


def ground_truth(folder: Path) -> tuple[dict, list[Path]]:
    """Every ``expected*.yaml`` of ``folder`` merged into one ``files`` mapping (a file two
    collectors judged gets the problems, fine and unjudged entries of both)."""
    paths = sorted(folder.glob("expected*.yaml"))
    if not paths:
        raise SystemExit(f"{folder}: no expected*.yaml ground truth")
    merged: dict[str, dict] = {}
    for path in paths:
        for name, entry in evaluate.load_expected(path)["files"].items():
            entry = dict(entry or {})
            into = merged.setdefault(name, {k: v for k, v in entry.items() if k not in LISTS})
            for key in LISTS:
                into.setdefault(key, [])
                into[key] = [*into[key], *(entry.get(key) or [])]
    return {"version": 1, "files": merged}, paths


LISTS = ("problems", "fine", "unjudged")


def facts(folder: Path) -> dict[str, object]:
    """Fact ids of the ``facts*.yaml`` files in ``folder`` and its parent (a mapping of ids,
    or a list of entries with an ``id``, possibly under a top-level ``facts`` key)."""
    found: dict[str, object] = {}
    for path in [*sorted(folder.glob("facts*.yaml")), *sorted(folder.parent.glob("facts*.yaml"))]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("facts"), (dict, list)):
            data = data["facts"]
        if isinstance(data, dict):
            found.update({str(k): v for k, v in data.items()})
        elif isinstance(data, list):
            found.update({str(e["id"]): e for e in data if isinstance(e, dict) and "id" in e})
    return found


def unknown_facts(data: dict, known: dict[str, object]) -> list[str]:
    """``file: class cites X`` for every cited fact id no facts file defines."""
    out = []
    for name, entry in sorted(data["files"].items()):
        for key in LISTS:
            for item in entry.get(key) or []:
                cited = item.get("source") if isinstance(item, dict) else None
                for fact in [cited] if isinstance(cited, str) else list(cited or []):
                    if fact not in known:
                        out.append(f"{name}: {item.get('class')} cites {fact}")
    return out


def measure(half: str, files: list[str] | None = None) -> evaluate.Report:
    folder = folder_of(half)
    data, _ = ground_truth(folder)
    with counting_everything():
        return evaluate.evaluate_data(data, folder, files or None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("half", help="dev, heldout, old, or a folder with expected*.yaml")
    parser.add_argument("files", nargs="*")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    folder = folder_of(args.half)
    data, paths = ground_truth(folder)
    known = facts(folder)
    # a corpus without facts*.yaml files (tests/corpus keeps its facts elsewhere): nothing to check
    missing = unknown_facts(data, known) if known else []
    report = measure(args.half, args.files)
    if args.json:
        print(
            json.dumps(
                {
                    "summary": report.summary(),
                    "ground_truth": [p.name for p in paths],
                    "unknown_facts": missing,
                    "findings": [vars(f) for f in report.findings],
                    "problems": report.problems,
                },
                indent=2,
            )
        )
        return 0
    print(f"ground truth: {', '.join(p.name for p in paths)} ({len(data['files'])} files)")
    evaluate.print_report(report)
    if missing:
        print("\nfacts cited but defined in no facts*.yaml:")
        for line in missing:
            print(f"  {line}")
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
