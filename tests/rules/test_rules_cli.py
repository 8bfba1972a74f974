"""The rules through the CLI: ``llmfleet lint FILE --format json``, --disable, suppression,
and a missing promtool."""

from __future__ import annotations

import json
import shutil

from llmfleet.infra import exitcodes
from rules_helpers import FIXTURES

C0 = "/spec/template/spec/containers/0"


def _findings(result, rule_id=None):
    data = json.loads(result.stdout)
    return [f for f in data["findings"] if rule_id is None or f["rule"] == rule_id]


def test_lint_json_reports_rule_and_path(cli, empty_repo):
    bad = FIXTURES / "vllm-removed-flag" / "bad.yaml"
    result = cli(["lint", str(bad), "--format", "json"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS
    found = {(f["kind"], f["path"], f["severity"]) for f in _findings(result, "vllm-removed-flag")}
    assert ("Deployment", f"{C0}/args/2", "error") in found  # --swap-space
    assert ("ConfigMap", "/data/serve.yaml", "error") in found  # tensor-paralel-size
    swap = [f for f in _findings(result, "vllm-removed-flag") if f["path"] == f"{C0}/args/2"][0]
    assert swap["line"] > 0 and "--swap-space" in swap["message"]


def test_lint_good_fixture_is_clean_for_its_rule(cli, empty_repo):
    good = FIXTURES / "shutdown-grace" / "good.yaml"
    result = cli(["lint", str(good), "--format", "json"], cwd=empty_repo)
    assert _findings(result, "shutdown-grace") == []
    assert _findings(result, "rule-crashed") == []


def test_lint_disable_rule(cli, empty_repo):
    bad = FIXTURES / "gpu-toleration" / "bad.yaml"
    result = cli(["lint", str(bad), "--format", "json", "--disable", "gpu-toleration"], cwd=empty_repo)
    assert _findings(result, "gpu-toleration") == []


def test_suppression_annotation(cli, empty_repo, tmp_path):
    text = (FIXTURES / "vllm-serve-repeated" / "bad.yaml").read_text()
    text = text.replace(
        "metadata: {name: m, namespace: llm}",
        "metadata: {name: m, namespace: llm, annotations: "
        "{ignore-check.llmfleet.io/vllm-serve-repeated: custom image entrypoint}}",
    )
    path = tmp_path / "suppressed.yaml"
    path.write_text(text)
    result = cli(["lint", str(path), "--format", "json"], cwd=empty_repo)
    assert _findings(result, "vllm-serve-repeated") == []


def test_missing_promtool_is_a_tool_error(cli, empty_repo, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    monkeypatch.delenv("LLMFLEET_PROMTOOL", raising=False)
    good = FIXTURES / "promql-syntax" / "good.yaml"
    result = cli(["lint", str(good), "--format", "json"], cwd=empty_repo)
    assert result.exit_code == exitcodes.TOOL
    assert "promtool" in (result.stderr + result.stdout)


def test_promtool_is_on_path():
    assert shutil.which("promtool"), "promtool is needed by promql-syntax (apt-get install prometheus)"
