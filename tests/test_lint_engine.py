"""The rule engine: discovery, suppression by annotation with a reason, crash isolation."""

from __future__ import annotations

import json

from llmfleet.infra import exitcodes
from llmfleet.infra.findings import Severity
from llmfleet.model import OverlayModel
from llmfleet.pipeline.lint.api import Problem, Rule
from llmfleet.pipeline.lint.engine import Enabled, RuleSet, lint_model
from llmfleet.pipeline.lint.registry import all_checks, all_rules
from llmfleet.pipeline.manifests import load_text

UNPINNED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  annotations: {ANNOTATIONS}
spec:
  selector: {{matchLabels: {{app: d}}}}
  template:
    metadata: {{labels: {{app: d}}}}
    spec:
      containers: [{{name: vllm, image: "vllm/vllm-openai:latest"}}]
"""


def _lint(text: str, rules=None):
    resources, problems = load_text(text, "x.yaml")
    assert problems == []
    ruleset = (
        RuleSet([Enabled(r, r.resolve_options(), r.severity) for r in rules])
        if rules is not None
        else RuleSet.configure()
    )
    return lint_model(OverlayModel("", resources), ruleset)


def _unpinned_rule():
    return [r for r in all_rules() if r.id == "vllm-image-unpinned"]


def _rule(id, check, severity=Severity.ERROR):
    return Rule(id, severity, "d", "r", "why", "input", check)


def test_every_rule_has_metadata_and_examples():
    rules = all_rules()
    assert len({r.id for r in rules}) == len(rules)
    for r in rules:
        assert r.description and r.remediation, r.id
        assert "Passing" in r.doc and "Failing" in r.doc, f"{r.id}: docstring needs both examples"


def test_finding_without_suppression():
    findings = _lint(UNPINNED.format(ANNOTATIONS="{}"), _unpinned_rule())
    assert [(f.rule, f.path, f.line) for f in findings] == [
        ("vllm-image-unpinned", "/spec/template/spec/containers/0/image", 11)
    ]


def test_suppression_with_reason():
    text = UNPINNED.format(
        ANNOTATIONS='{"ignore-check.llmfleet.io/vllm-image-unpinned": "canary of nightly"}'
    )
    assert _lint(text, _unpinned_rule()) == []


def test_suppression_without_reason_does_not_suppress():
    text = UNPINNED.format(ANNOTATIONS='{"ignore-check.llmfleet.io/vllm-image-unpinned": ""}')
    findings = _lint(text, _unpinned_rule())
    assert sorted((f.rule, f.severity) for f in findings) == [
        ("invalid-suppression", Severity.WARNING),
        ("vllm-image-unpinned", Severity.ERROR),
    ]


def test_a_crashing_rule_is_reported_and_others_still_run():
    def explode(model, options):
        """Passing:: x  Failing:: y"""
        raise KeyError("spec")
        yield  # pragma: no cover

    broken = _rule("exploding", explode)
    findings = _lint(UNPINNED.format(ANNOTATIONS="{}"), [broken, *_unpinned_rule()])
    assert [f.rule for f in findings] == ["rule-crashed", "vllm-image-unpinned"]
    assert "rule exploding failed on this input: KeyError" in findings[0].message


def test_problem_severity_override():
    def warn(model, options):
        """Passing:: x  Failing:: y"""
        for res in model.resources:
            yield Problem(res, "/metadata", "just a note", Severity.INFO)

    findings = _lint(UNPINNED.format(ANNOTATIONS="{}"), [_rule("noting", warn)])
    assert [(f.severity, f.line) for f in findings] == [(Severity.INFO, 3)]


def test_rules_command_lists_every_rule(cli, empty_repo):
    result = cli(["rules", "--format", "json"], cwd=empty_repo)
    assert result.exit_code == exitcodes.OK
    listed = json.loads(result.stdout)
    assert [r["id"] for r in listed] == [c.id for c in all_checks()]
    builtin = {r["id"] for r in listed if r["builtin"]}
    assert {
        "render",
        "yaml-syntax",
        "schema",
        "schema-missing",
        "rule-crashed",
        "invalid-suppression",
        "input",
    } <= builtin
    assert all(set(r) >= {"id", "severity", "description", "remediation"} for r in listed)


def test_exit_codes_follow_severity_and_strict():
    from llmfleet.infra.findings import Finding
    from llmfleet.pipeline.report import Report

    warning = Report("lint", findings=[Finding("r", Severity.WARNING, "m")])
    error = Report("lint", findings=[Finding("r", Severity.ERROR, "m")])
    assert warning.exit_code() == exitcodes.OK
    assert warning.exit_code(strict=True) == exitcodes.FINDINGS
    assert error.exit_code() == exitcodes.FINDINGS
    assert Report("lint").exit_code(strict=True) == exitcodes.OK


def test_disable_turns_a_rule_off(cli, empty_repo):
    (empty_repo / "d.yaml").write_text(UNPINNED.format(ANNOTATIONS="{}"))
    enabled = cli(["lint", "--format", "json", "d.yaml"], cwd=empty_repo)
    assert "vllm-image-unpinned" in {f["rule"] for f in json.loads(enabled.stdout)["findings"]}
    disabled = cli(["lint", "--format", "json", "--disable", "vllm-image-unpinned", "d.yaml"], cwd=empty_repo)
    assert "vllm-image-unpinned" not in {f["rule"] for f in json.loads(disabled.stdout)["findings"]}
