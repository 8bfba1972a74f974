"""Helpers for the per-rule tables of edge cases (tests/rules/test_<rule>_table.py): lint a
manifest written in the table, or a fleet of them, with one rule's findings returned as
``(severity, kind, name, JSON pointer, message)``."""

from __future__ import annotations

from typing import Any

from llmfleet.model import FleetModel, OverlayModel
from llmfleet.pipeline.builtin_checks import RULE_CRASHED
from llmfleet.pipeline.lint.engine import RuleSet, lint_fleet, lint_model
from rules_helpers import model_of

Row = tuple[str, str, str, str, str]


def _rows(findings, rule_id: str) -> list[Row]:
    crashed = [f.message for f in findings if f.rule == RULE_CRASHED]
    assert not crashed, crashed
    return sorted(
        (f.severity.value, f.kind, f.name, f.path, f.message) for f in findings if f.rule == rule_id
    )


def rules(configured: dict[str, Any] | None = None, enabled: tuple[str, ...] = ()) -> RuleSet:
    return RuleSet.configure(configured or {}, enabled=enabled)


def findings(rule_id: str, text: str, ruleset: RuleSet | None = None) -> list[Row]:
    """``rule_id``'s findings on the objects of ``text`` (one input)."""
    return _rows(lint_model(model_of(text), ruleset or rules()), rule_id)


def fleet_findings(
    rule_id: str, overlays: dict[str, str], platform: str = "", ruleset: RuleSet | None = None
) -> list[Row]:
    """``rule_id``'s findings on a fleet: each overlay's rendered text by name, and the platform."""
    fleet = FleetModel(
        {name: model_of(text, f"{name}.yaml", name) for name, text in overlays.items()},
        model_of(platform, "platform.yaml", "platform") if platform else OverlayModel("platform", []),
    )
    return _rows(lint_fleet(fleet, ruleset or rules()), rule_id)


def where(rows: list[Row]) -> list[tuple[str, str, str, str]]:
    """The rows without their messages: (severity, kind, name, pointer)."""
    return [row[:4] for row in rows]
