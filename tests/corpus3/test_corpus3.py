"""The rules on the third real-world corpus (tests/corpus3/README.md), dev half only, counting
every finding: no false error, no linter failure, the dev figures may not fall."""

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

# HELD-OUT HALF: deliberately not tested here.  tests/corpus3/heldout/ is evaluated once, by the
# lead, after the rules work ends (README "Halves"); no file under it is opened, linted or
# measured by the rules helper.  The lead adds its regression guard after that one evaluation.
