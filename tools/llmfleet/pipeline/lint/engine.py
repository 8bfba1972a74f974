"""Run the enabled rules over models and turn their problems into findings.

Per-object suppression: an annotation ``ignore-check.llmfleet.io/<rule-id>: "<reason>"`` on
the object (or on one of its pod templates) silences that rule for that object.  The reason is
required: an empty one does not suppress and is itself reported, as is a rule id that does
not exist.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from llmfleet.infra.errors import LlmfleetError, UsageError
from llmfleet.infra.findings import Finding, Severity
from llmfleet.model import FleetModel, OverlayModel
from llmfleet.model.k8s import Resource, as_dict
from llmfleet.pipeline.builtin_checks import INVALID_SUPPRESSION, RULE_CRASHED
from llmfleet.pipeline.lint import presets
from llmfleet.pipeline.lint.api import Options, Problem, Rule
from llmfleet.pipeline.lint.registry import all_checks, all_rules, close_matches

SUPPRESS_PREFIX = "ignore-check.llmfleet.io/"


@dataclass(frozen=True)
class Enabled:
    rule: Rule
    options: Options
    severity: Severity


@dataclass
class RuleSet:
    """The rules a run uses, with their options and severities."""

    enabled: list[Enabled] = field(default_factory=list)
    #: ``auto``, ``fleet`` or ``foreign`` (llmfleet.pipeline.lint.presets).
    preset: str = "auto"

    @classmethod
    def configure(
        cls,
        configured: Mapping[str, Any] | None = None,
        disabled: Iterable[str] = (),
        enabled: Iterable[str] = (),
        origin: Mapping[str, str] | None = None,
        preset: str = "auto",
    ) -> RuleSet:
        """From ``lint.rules`` of llmfleet.yaml and the disabled ids (config and --disable);
        UsageError for an unknown id, option or value.  ``origin`` says where each id came
        from, for the message (``--disable``, ``llmfleet.yaml lint.disabled-rules``)."""
        if preset not in presets.PRESETS:
            raise UsageError(f"preset {preset!r}: not one of {', '.join(presets.PRESETS)}")
        rules = {r.id: r for r in all_rules()}
        known = {c.id for c in all_checks()}
        disabled = list(disabled)
        opted_in = set(enabled)
        for rule_id in [*disabled, *opted_in, *(configured or {})]:
            if rule_id not in known:
                hint = close_matches(rule_id)
                where = (origin or {}).get(rule_id, "rule id")
                raise UsageError(
                    f"{where} {rule_id}: no such rule; "
                    + (f"did you mean {', '.join(hint)}?" if hint else "`llmfleet rules` lists them")
                )
        enabled_rules = []
        for rule_id, rule in rules.items():
            if rule_id in disabled or not (rule.default_enabled or rule_id in opted_in):
                continue
            settings = as_dict((configured or {}).get(rule_id))
            try:
                options = rule.resolve_options(settings)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            severity = rule.severity
            if "severity" in settings:
                try:
                    severity = Severity(str(settings["severity"]))
                except ValueError:
                    raise UsageError(
                        f"lint.rules.{rule_id}.severity: {settings['severity']!r} is "
                        "not error, warning or info"
                    ) from None
            enabled_rules.append(Enabled(rule, options, severity))
        return cls(enabled_rules, preset)

    def of_scope(self, scope: str) -> list[Enabled]:
        return [e for e in self.enabled if e.rule.scope == scope]

    def tools(self) -> set[str]:
        return {e.rule.tool for e in self.enabled if e.rule.tool}


def suppressions(resource: Resource, model: OverlayModel | None = None) -> dict[str, str]:
    """``{rule id: reason}`` from the object's annotations and its pod templates'."""
    sources = [resource.annotations]
    workload = model.workload_of(resource) if model is not None else None
    if workload is not None:
        sources += [t.annotations for t in workload.templates]
    found: dict[str, str] = {}
    for source in sources:
        for key, value in source.items():
            if isinstance(key, str) and key.startswith(SUPPRESS_PREFIX):
                found[key[len(SUPPRESS_PREFIX) :]] = str(value or "").strip()
    return found


def _to_finding(rule_id: str, severity: Severity, problem: Problem, overlay: str) -> Finding:
    severity = problem.severity or severity
    res = problem.resource
    if res is None:
        return Finding(
            rule=rule_id,
            severity=severity,
            message=problem.message,
            overlay=overlay,
            file=problem.file,
            path=problem.path,
        )
    finding = res.finding(rule_id, severity, problem.message, problem.path)
    if not finding.overlay and overlay:
        finding = replace(finding, overlay=overlay)
    return finding


def _run(
    enabled: Enabled, target: OverlayModel | FleetModel, overlay: str, model: OverlayModel | None
) -> list[Finding]:
    rule = enabled.rule
    try:
        problems = list(rule.check(target, enabled.options))
    except LlmfleetError:
        raise
    except Exception as exc:  # a rule bug must not hide the other rules' findings
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return [
            Finding(
                RULE_CRASHED,
                Severity.ERROR,
                f"rule {rule.id} failed on this input: {type(exc).__name__} "
                f"({last.filename.rsplit('/', 1)[-1]}:{last.lineno}); please report it",
                overlay=overlay,
            )
        ]
    findings: list[Finding] = []
    for problem in problems:
        if problem.resource is not None:
            owner = model if model is not None else _model_of(target, problem.resource)
            reasons = suppressions(problem.resource, owner)
            if rule.id in reasons:
                if reasons[rule.id]:
                    continue
                findings.append(
                    problem.resource.finding(
                        INVALID_SUPPRESSION,
                        Severity.WARNING,
                        f"annotation {SUPPRESS_PREFIX}{rule.id} has no reason; it does not suppress",
                        "/metadata/annotations",
                    )
                )
        findings.append(_to_finding(rule.id, enabled.severity, problem, overlay))
    return findings


def _model_of(target: OverlayModel | FleetModel, resource: Resource) -> OverlayModel | None:
    if isinstance(target, OverlayModel):
        return target
    for model in target.models():
        if any(r is resource for r in model.resources):
            return model
    return None


def unknown_suppressions(model: OverlayModel) -> list[Finding]:
    """Suppression annotations that name no known rule."""
    known = {c.id for c in all_checks()}
    findings = []
    for res in model.resources:
        for rule_id in suppressions(res, model):
            if rule_id not in known:
                hint = close_matches(rule_id)
                findings.append(
                    res.finding(
                        INVALID_SUPPRESSION,
                        Severity.WARNING,
                        f"annotation {SUPPRESS_PREFIX}{rule_id} names no rule"
                        + (f" (did you mean {', '.join(hint)}?)" if hint else ""),
                        "/metadata/annotations",
                    )
                )
    return findings


def lint_model(model: OverlayModel, rules: RuleSet) -> list[Finding]:
    """Every enabled input-scope rule over one model, as its preset says."""
    foreign = presets.foreign(rules.preset, model)
    findings: list[Finding] = []
    for enabled in rules.of_scope("input"):
        mode = enabled.rule.foreign if foreign else "on"
        if mode == "off":
            continue
        found = _run(enabled, model, model.name, model)
        if mode == "info":
            found = [replace(f, severity=Severity.INFO) if f.rule == enabled.rule.id else f for f in found]
        findings.extend(found)
    findings.extend(unknown_suppressions(model))
    return dedupe(findings)


def lint_fleet(fleet: FleetModel, rules: RuleSet) -> list[Finding]:
    findings: list[Finding] = []
    for enabled in rules.of_scope("fleet"):
        findings.extend(_run(enabled, fleet, "", None))
    return dedupe(findings)


def dedupe(findings: list[Finding]) -> list[Finding]:
    seen = set()
    out = []
    for f in findings:
        key = (f.rule, f.overlay, f.file, f.kind, f.name, f.namespace, f.path, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
