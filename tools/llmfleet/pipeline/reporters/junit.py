"""JUnit XML: one test suite per input (overlay or file), one test case per object.

Format as kubeconform's junit output and the windyroad JUnit.xsd
(docs/reference/tooling.md §7.3); findings with no object go to an ``(input)`` case.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from llmfleet.infra.findings import Severity
from llmfleet.pipeline.report import Report, Subject


def render(report: Report) -> str:
    suites: dict[str, dict[tuple, list]] = {}
    order: dict[str, list[Subject]] = {}
    for subject in report.scrubbed_subjects():
        cases = suites.setdefault(subject.input, {})
        if subject.key not in cases:
            cases[subject.key] = []
            order.setdefault(subject.input, []).append(subject)
    for f in report.sorted_findings():
        suite_key = f.overlay or f.file or "(input)"
        cases = suites.setdefault(suite_key, {})
        key = (suite_key, f.kind, f.namespace, f.name)
        if key not in cases:
            cases[key] = []
            order.setdefault(suite_key, []).append(
                Subject(suite_key, f.file, f.kind, f.api_version, f.name, f.namespace)
            )
        cases[key].append(f)

    root = ET.Element("testsuites", name="llmfleet " + report.command)
    total = failures = 0
    for suite_name, subjects in order.items():
        suite: ET.Element = ET.SubElement(root, "testsuite", name=suite_name)
        suite_failures = 0
        for subject in subjects:
            problems = suites[suite_name][subject.key]
            name = f"{subject.namespace}/{subject.name}" if subject.namespace else (subject.name or "(input)")
            classname = f"{subject.kind}@{subject.api_version}" if subject.kind else suite_name
            case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
            errors = [p for p in problems if p.severity == Severity.ERROR]
            warnings = [p for p in problems if p.severity != Severity.ERROR]
            if errors:
                suite_failures += 1
                failure = ET.SubElement(case, "failure", message=errors[0].message, type=errors[0].rule)
                failure.text = "\n".join(_line(p) for p in problems)
            elif warnings:
                ET.SubElement(case, "system-out").text = "\n".join(_line(p) for p in warnings)
        suite.set("tests", str(len(subjects)))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        suite.set("time", "0")
        total += len(subjects)
        failures += suite_failures
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _line(f) -> str:
    where = f" {f.path}" if f.path else ""
    return f"{f.severity.value}: {f.rule}{where}: {f.message}"
