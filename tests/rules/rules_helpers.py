"""Helpers for the rule tests (tests/rules/test_*.py): load fixture manifests, run the rules."""

from __future__ import annotations

from pathlib import Path

from llmfleet.config import LintSettings
from llmfleet.lint.context import FleetContext, LintContext
from llmfleet.lint.engine import lint_fleet, lint_input
from llmfleet.manifests import load_text

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def context_of(text: str, file: str = "test.yaml", name: str = "") -> LintContext:
    resources, findings = load_text(text, file, overlay=name)
    assert not findings, [f.message for f in findings]
    return LintContext(resources, LintSettings(), name=name)


def lint_text(text: str, file: str = "test.yaml"):
    return lint_input(context_of(text, file))


def lint_file(path: Path):
    return lint_text(path.read_text(encoding="utf-8"), str(path.relative_to(FIXTURES)))


def fleet_of(folder: Path) -> FleetContext:
    """Every ``*.yaml`` in ``folder`` is one overlay's rendered output; ``platform.yaml`` is
    the platform input."""
    overlays: dict[str, LintContext] = {}
    platform = LintContext([], LintSettings(), "platform")
    for path in sorted(folder.glob("*.yaml")):
        name = path.stem
        ctx = context_of(path.read_text(encoding="utf-8"), str(path.relative_to(FIXTURES)), name)
        if name == "platform":
            platform = ctx
        else:
            overlays[name] = ctx
    return FleetContext(overlays, platform, LintSettings())


def lint_fleet_folder(folder: Path):
    return lint_fleet(fleet_of(folder))
