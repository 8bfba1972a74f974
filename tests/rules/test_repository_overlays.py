"""The rules over this repository's rendered overlays: the settings contract is understood
(serve.yaml from the ConfigMap at /etc/vllm), no rule crashes, and no rule reports an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmfleet.config import LintSettings, load_config
from llmfleet.lint.context import FleetContext, LintContext
from llmfleet.lint.engine import RULE_CRASHED, lint_fleet, lint_input
from llmfleet.manifests import load_text
from llmfleet.vllm.settings import all_settings

REPO = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(p for p in (REPO / "overlays").glob("*") if (p / "kustomization.yaml").is_file()) \
    if (REPO / "overlays").is_dir() else []


def _render(directory: Path) -> str:
    from llmfleet.render import find_renderer, render
    try:
        renderer = find_renderer()
    except Exception as exc:  # no kustomize/kubectl
        pytest.skip(str(exc))
    rendered = render(directory, renderer)
    assert rendered.ok, rendered.error
    return rendered.text


def _context(directory: Path, settings: LintSettings) -> LintContext:
    resources, findings = load_text(_render(directory), str(directory.relative_to(REPO)),
                                    overlay=directory.name)
    assert not findings
    return LintContext(resources, settings, name=directory.name)


@pytest.mark.skipif(not OVERLAYS, reason="no overlays in this checkout")
@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_overlay_settings_and_rules(overlay):
    ctx = _context(overlay, load_config(REPO).lint)
    settings = all_settings(ctx)
    assert len(settings) == 1
    s = settings[0]
    assert s.config_problem == "" and s.config_pointer == "/data/serve.yaml"
    assert s.model_id and s.served_model_name
    assert s.int_value("shutdown-timeout", 0) > 0 and s.port == 8000
    findings = lint_input(ctx)
    assert [f.message for f in findings if f.rule == RULE_CRASHED] == []
    errors = [f"{f.rule} {f.path}: {f.message}" for f in findings if f.severity.value == "error"]
    assert errors == []


@pytest.mark.skipif(not OVERLAYS, reason="no overlays in this checkout")
def test_fleet_rules_over_the_repository():
    config = load_config(REPO)
    overlays = {p.name: _context(p, config.lint) for p in OVERLAYS}
    platform = LintContext([], config.lint, "platform")
    for directory in config.platform_dirs():
        platform = _context(directory, config.lint)
    findings = lint_fleet(FleetContext(overlays, platform, config.lint))
    assert [f.message for f in findings if f.rule == RULE_CRASHED] == []
    assert [f.message for f in findings if f.severity.value == "error"] == []
