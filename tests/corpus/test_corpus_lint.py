"""The rules on the real-world corpus (manifests written elsewhere, tests/corpus/README.md): no
finding at error severity that an expert reading the manifest calls wrong, no linter crash,
and at least 90% of the real problems (and of the major ones) found."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import evaluate  # noqa: E402


def test_no_false_errors_and_most_problems_found():
    report = evaluate.evaluate()
    summary = report.summary()
    assert report.input_errors == [], report.input_errors
    false_errors = [f"{f.file}: {f.rule} on {f.object}: {f.matched}" for f in report.findings
                    if f.verdict == "false-error" or (f.verdict == "wrong" and f.severity == "error")]
    assert false_errors == []
    assert summary["recall"] >= 0.9, summary
    assert summary["major_recall"] >= 0.9, summary
    assert summary["precision"] >= 0.9, summary
