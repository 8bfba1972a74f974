"""The rules on the third real-world corpus (tests/corpus3/README.md), counting every finding: no
false error, no linter failure, the figures of either half may not fall."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "corpus2"))

import measure  # noqa: E402


def test_dev_half():
    report = measure.measure(str(HERE / "dev"))
    summary = report.summary()
    assert report.input_errors == [], report.input_errors
    assert [f"{f.file}: {f.rule} on {f.object}" for f in report.false_errors] == []
    assert summary["major_recall"] >= MAJOR_RECALL, summary
    assert summary["recall"] >= RECALL, summary
    assert summary["precision"] >= PRECISION, summary


# Floors of the dev half at the end of the rules work (README "Results"); raised, never lowered.
MAJOR_RECALL = 0.73  # 14/19
RECALL = 0.62  # 37/59
PRECISION = 0.9  # 41/45

# HELD-OUT HALF: evaluated once on main at bee4775 (heldout-first-evaluation.txt: majors 4/16, 4
# false errors); no longer held out since.  Regression guard at the figures reached after the
# general fixes (README "After the held-out evaluation (no longer held out)").


def test_heldout_half_after_its_evaluation():
    report = measure.measure(str(HERE / "heldout"))
    summary = report.summary()
    assert report.input_errors == [], report.input_errors
    assert [f"{f.file}: {f.rule} on {f.object}" for f in report.false_errors] == []
    assert summary["major_recall"] >= HELDOUT_MAJOR_RECALL, summary
    assert summary["recall"] >= HELDOUT_RECALL, summary
    assert summary["precision"] >= HELDOUT_PRECISION, summary


HELDOUT_MAJOR_RECALL = 0.68  # 11/16
HELDOUT_RECALL = 0.72  # 43/59
HELDOUT_PRECISION = 0.93  # 59/63
