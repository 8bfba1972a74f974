"""Helpers for the rule tests (tests/rules/test_*.py): load fixture manifests into the fleet
model, run the rules (with promtool's results attached, as the pipeline does)."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

from llmfleet.model import ClusterSettings, FleetModel, OverlayModel
from llmfleet.pipeline.lint.engine import RuleSet, lint_fleet, lint_model
from llmfleet.pipeline.manifests import load_text

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    return RuleSet.configure(preset="fleet")


def model_of(
    text: str, file: str = "test.yaml", name: str = "", cluster: ClusterSettings | None = None
) -> OverlayModel:
    resources, findings = load_text(text, file, overlay=name)
    assert not findings, [f.message for f in findings]
    model = OverlayModel(name, resources, cluster, is_overlay=bool(name))
    _attach_tools(model)
    return model


def _attach_tools(model: OverlayModel) -> None:
    if model.of_kind("PrometheusRule") and shutil.which("promtool"):
        from llmfleet.pipeline import promtool

        model.tool_results["promtool"] = promtool.results_for([model], None)


def lint_text(
    text: str, file: str = "test.yaml", rules: RuleSet | None = None, cluster: ClusterSettings | None = None
):
    return lint_model(model_of(text, file, cluster=cluster), rules or default_rules())


def lint_file(path: Path, rules: RuleSet | None = None, cluster: ClusterSettings | None = None):
    return lint_text(path.read_text(encoding="utf-8"), str(path.relative_to(FIXTURES)), rules, cluster)


def fleet_of(folder: Path) -> FleetModel:
    """Every ``*.yaml`` in ``folder`` is one overlay's rendered output; ``platform.yaml`` is
    the platform input."""
    overlays: dict[str, OverlayModel] = {}
    platform = OverlayModel("platform", [])
    for path in sorted(folder.glob("*.yaml")):
        name = path.stem
        model = model_of(path.read_text(encoding="utf-8"), str(path.relative_to(FIXTURES)), name)
        if name == "platform":
            platform = model
        else:
            overlays[name] = model
    return FleetModel(overlays, platform)


def lint_fleet_folder(folder: Path):
    return lint_fleet(fleet_of(folder), default_rules())
