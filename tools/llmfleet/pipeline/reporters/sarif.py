"""SARIF 2.1.0 for GitHub code scanning.

GitHub requires a physical location with a region for every result (startLine ≥ 1) and
URIs relative to the repository root; ``partialFingerprints`` keep alerts stable across runs
(GitHub docs "SARIF support for code scanning", docs/reference/tooling.md §7.2).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from llmfleet import __version__
from llmfleet.infra.findings import Severity
from llmfleet.pipeline.report import Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
#: Rules that are not lint rules: input, render and schema problems.
BUILTIN_RULES = {
    "schema": ("Object does not match its schema", "Fix the field named by the path."),
    "schema-missing": (
        "No schema for a kind",
        "Add a --schema-location for the CRD, or pass --ignore-missing-schemas.",
    ),
    "render": (
        "Kustomization does not build",
        "Run `llmfleet build` on the overlay and fix the error kustomize reports.",
    ),
    "yaml-syntax": ("YAML does not parse", "Fix the YAML at the line given."),
    "yaml-encoding": ("File is not UTF-8", "Save the file as UTF-8."),
    "yaml-alias-bomb": ("YAML aliases expand without bound", "Remove the recursive aliases."),
    "yaml-duplicate-key": ("Duplicate key in a mapping", "Remove one of the two keys."),
    "not-kubernetes": ("Document is not a Kubernetes object", "Give every document apiVersion and kind."),
    "empty-input": ("Input holds no documents", "Remove the empty file or add manifests."),
    "invalid-suppression": (
        "Suppression annotation without a reason",
        "Write why the check does not apply as the annotation value.",
    ),
    "rule-crashed": ("A lint rule failed", "Report the bug with the input that triggers it."),
}


def _rules_metadata(rule_ids: set[str]) -> list[dict]:
    from llmfleet.pipeline.lint.registry import all_rules

    known = {r.id: r for r in all_rules()}
    out = []
    for rule_id in sorted(rule_ids):
        if rule_id in known:
            r = known[rule_id]
            short, help_text, level = r.description, r.remediation, LEVEL[r.severity]
        else:
            short, help_text = BUILTIN_RULES.get(rule_id, (rule_id, ""))
            level = "error"
        out.append(
            {
                "id": rule_id,
                "name": "".join(part.capitalize() for part in rule_id.split("-")),
                "shortDescription": {"text": short},
                "fullDescription": {"text": short},
                "help": {"text": help_text or short},
                "defaultConfiguration": {"level": level},
                "properties": {"tags": ["kubernetes", "vllm"]},
            }
        )
    return out


def _fingerprint(f) -> str:
    key = "|".join([f.rule, f.overlay, f.kind, f.namespace, f.name, f.path])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def render(report: Report) -> str:
    results = []
    for f in report.sorted_findings():
        message = f.message
        if f.object_ref:
            message = f"{f.object_ref}: {message}"
        if f.path:
            message += f" (at {f.path})"
        if f.overlay:
            message = f"[{f.overlay}] {message}"
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": LEVEL[f.severity],
            "message": {"text": message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file or "llmfleet.yaml", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": max(1, f.line)},
                    },
                }
            ],
            "partialFingerprints": {"llmfleetFinding/v1": _fingerprint(f)},
        }
        if f.kind:
            result["locations"][0]["logicalLocations"] = [
                {
                    "name": f.name,
                    "kind": "resource",
                    "fullyQualifiedName": "/".join(x for x in (f.overlay, f.namespace, f.kind, f.name) if x),
                }
            ]
        results.append(result)
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "llmfleet",
                        "version": __version__,
                        "informationUri": "https://github.com/example-org/llm-fleet",
                        "rules": _rules_metadata({f.rule for f in report.sorted_findings()}),
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root"}}},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"
