"""Run registered rules and turn their problems into findings.

Per-object suppression: an annotation ``ignore-check.llmfleet.io/<rule-id>: "<reason>"`` on
the object (or on its pod template) silences that rule for that object.  The reason is
required: an empty one does not suppress and is itself reported.
"""

from __future__ import annotations

import traceback
from typing import Iterable

from llmfleet.errors import LlmfleetError
from llmfleet.findings import Finding, Severity
from llmfleet.lint.context import FleetContext, LintContext, dig
from llmfleet.lint.registry import Problem, Rule, all_rules
from llmfleet.manifests import Resource

SUPPRESS_PREFIX = "ignore-check.llmfleet.io/"
INVALID_SUPPRESSION = "invalid-suppression"
RULE_CRASHED = "rule-crashed"


def select_rules(scope: str, disabled: Iterable[str] = ()) -> list[Rule]:
    disabled = set(disabled)
    return [r for r in all_rules() if r.scope == scope and r.id not in disabled]


def _suppressions(resource: Resource) -> dict[str, str]:
    found: dict[str, str] = {}
    template_meta = dig(resource.data, "spec", "template", "metadata", "annotations", default={})
    for source in (template_meta, resource.annotations):
        if isinstance(source, dict):
            for key, value in source.items():
                if isinstance(key, str) and key.startswith(SUPPRESS_PREFIX):
                    found[key[len(SUPPRESS_PREFIX):]] = str(value or "").strip()
    return found


def _to_finding(rule: Rule, problem: Problem, default_overlay: str) -> Finding:
    severity = problem.severity or rule.severity
    res = problem.resource
    if res is None:
        return Finding(rule=rule.id, severity=severity, message=problem.message,
                       overlay=default_overlay, file=problem.file, path=problem.path)
    finding = res.finding(rule.id, severity, problem.message, problem.path)
    if not finding.overlay and default_overlay:
        from dataclasses import replace
        finding = replace(finding, overlay=default_overlay)
    return finding


def _run(rule: Rule, target, overlay: str) -> list[Finding]:
    findings: list[Finding] = []
    try:
        problems = list(rule.check(target))
    except LlmfleetError:
        raise  # a missing or failing external tool: exit code TOOL, reported by the CLI
    except Exception as exc:  # a rule bug must not hide the other rules' findings
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return [Finding(RULE_CRASHED, Severity.ERROR,
                        f"rule {rule.id} failed on this input: {type(exc).__name__}: {exc} "
                        f"({last.filename.rsplit('/', 1)[-1]}:{last.lineno}); please report it",
                        overlay=overlay)]
    for problem in problems:
        if problem.resource is not None:
            reasons = _suppressions(problem.resource)
            if rule.id in reasons:
                if reasons[rule.id]:
                    continue
                findings.append(problem.resource.finding(
                    INVALID_SUPPRESSION, Severity.WARNING,
                    f"annotation {SUPPRESS_PREFIX}{rule.id} has no reason; it does not suppress",
                    "/metadata/annotations"))
        findings.append(_to_finding(rule, problem, overlay))
    return findings


def prepare(contexts: list[LintContext], disabled: Iterable[str] = ()) -> None:
    """Let the input rules that batch work see every input of the run first."""
    for rule in select_rules("input", disabled):
        if rule.prepare is not None:
            rule.prepare(contexts)


def lint_input(ctx: LintContext, rules: list[Rule] | None = None,
               disabled: Iterable[str] = ()) -> list[Finding]:
    """Run every input-scope rule over one input."""
    rules = rules if rules is not None else select_rules("input", disabled)
    findings: list[Finding] = []
    for rule in rules:
        findings.extend(_run(rule, ctx, ctx.name))
    return _dedupe(findings)


def lint_fleet(fleet: FleetContext, disabled: Iterable[str] = ()) -> list[Finding]:
    findings: list[Finding] = []
    for rule in select_rules("fleet", disabled):
        findings.extend(_run(rule, fleet, ""))
    return _dedupe(findings)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen = set()
    out = []
    for f in findings:
        key = (f.rule, f.overlay, f.file, f.kind, f.name, f.namespace, f.path, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
