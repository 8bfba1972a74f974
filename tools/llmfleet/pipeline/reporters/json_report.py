"""``{"findings": [...], "summary": {...}}``; ``path`` is a JSON pointer into the object."""

from __future__ import annotations

import json

from llmfleet.pipeline.report import Report

FIELDS = (
    "rule",
    "severity",
    "overlay",
    "file",
    "line",
    "kind",
    "api_version",
    "name",
    "namespace",
    "path",
    "message",
)


def render(report: Report) -> str:
    findings = []
    for f in report.sorted_findings():
        data = f.to_json()
        findings.append({key: data[key] for key in FIELDS})
    summary = {"command": report.command, **report.summary(), "checked": report.scrubbed_inputs()}
    return json.dumps({"findings": findings, "summary": summary}, indent=2) + "\n"
