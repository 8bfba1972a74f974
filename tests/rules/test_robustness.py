"""No rule may crash on objects it does not expect: missing specs, wrong types, unknown kinds,
CRDs, Jobs, empty container lists (the engine would report ``rule-crashed``, a bug)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmfleet.pipeline.builtin_checks import RULE_CRASHED
from llmfleet.pipeline.lint.engine import lint_fleet
from rules_helpers import FIXTURES, default_rules, fleet_of, lint_file

ODD = FIXTURES / "_odd"
ALL_FIXTURES = sorted(p for p in FIXTURES.rglob("*.yaml"))


@pytest.mark.parametrize("path", sorted(ODD.glob("*.yaml")), ids=lambda p: p.name)
def test_odd_manifests_do_not_crash_input_rules(path: Path):
    findings = lint_file(path)
    crashed = [f.message for f in findings if f.rule == RULE_CRASHED]
    assert crashed == []


def test_odd_manifests_do_not_crash_fleet_rules():
    fleet = fleet_of(ODD)
    # one overlay per odd file plus a mix of everything as the platform input
    findings = lint_fleet(fleet, default_rules())
    assert [f.message for f in findings if f.rule == RULE_CRASHED] == []


def test_all_fixtures_do_not_crash_any_rule():
    for path in ALL_FIXTURES:
        findings = lint_file(path)
        assert [f.message for f in findings if f.rule == RULE_CRASHED] == [], path
