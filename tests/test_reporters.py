"""Reporters: JSON shape, GitHub annotation escaping, SARIF against the 2.1.0 schema, JUnit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from llmfleet.infra.findings import Finding, Severity
from llmfleet.pipeline.report import Report, Subject
from llmfleet.pipeline.reporters import REPORTERS, github


def sample_report() -> Report:
    report = Report("check", inputs=["a", "b"])
    report.subjects = [
        Subject("a", "overlays/a/kustomization.yaml"),
        Subject("a", "overlays/a/kustomization.yaml", "Deployment", "apps/v1", "a-vllm", "inference"),
        Subject("a", "overlays/a/kustomization.yaml", "Service", "v1", "a-vllm", "inference"),
        Subject("b", "overlays/b/kustomization.yaml"),
        Subject("b", "overlays/b/kustomization.yaml", "Deployment", "apps/v1", "b-vllm", "inference"),
    ]
    report.findings = [
        Finding(
            "gpu-request-limit",
            Severity.ERROR,
            "requests 2 but limits 1",
            overlay="a",
            file="overlays/a/kustomization.yaml",
            line=0,
            kind="Deployment",
            api_version="apps/v1",
            name="a-vllm",
            namespace="inference",
            path="/spec/template/spec/containers/0/resources/limits/nvidia.com~1gpu",
        ),
        Finding(
            "vllm-image-unpinned",
            Severity.WARNING,
            "uses latest, 100%: a,b\nnext",
            overlay="b",
            file="base/deployment.yaml",
            line=12,
            kind="Deployment",
            api_version="apps/v1",
            name="b-vllm",
            namespace="inference",
            path="/spec/template/spec/containers/0/image",
        ),
        Finding("yaml-syntax", Severity.ERROR, "YAML syntax error: x", file="stray.yaml", line=3),
    ]
    return report


def test_json_shape():
    data = json.loads(REPORTERS["json"](sample_report()))
    assert set(data) == {"findings", "summary"}
    first = data["findings"][0]
    assert set(first) >= {
        "rule",
        "severity",
        "overlay",
        "file",
        "kind",
        "name",
        "namespace",
        "path",
        "message",
    }
    assert data["summary"]["errors"] == 2 and data["summary"]["warnings"] == 1
    assert data["summary"]["objects"] == 3


def test_github_annotations_escape_properties_and_data():
    lines = REPORTERS["github"](sample_report()).splitlines()
    warning = next(line for line in lines if line.startswith("::warning"))
    assert warning == (
        "::warning file=base/deployment.yaml,line=12,"
        "title=vllm-image-unpinned (Deployment inference/b-vllm)::"
        "b: uses latest, 100%25: a,b%0Anext [/spec/template/spec/containers/0/image]"
    )
    assert github.escape_property("a:b,c") == "a%3Ab%2Cc"
    error = next(line for line in lines if "gpu-request-limit" in line)
    assert error.startswith("::error file=overlays/a/kustomization.yaml,line=1,")


def test_sarif_validates_against_the_2_1_0_schema(schemas_dir):
    schema = json.loads((schemas_dir / "other" / "sarif-2.1.0.json").read_text())
    log = json.loads(REPORTERS["sarif"](sample_report()))
    jsonschema.validate(log, schema)
    run = log["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {
        "gpu-request-limit",
        "vllm-image-unpinned",
        "yaml-syntax",
    }
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for r in run["results"])
    assert len({r["partialFingerprints"]["llmfleetFinding/v1"] for r in run["results"]}) == 3


def test_junit_one_case_per_object():
    root = ET.fromstring(REPORTERS["junit"](sample_report()))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"a", "b", "stray.yaml"}
    cases_a = [(c.get("classname"), c.get("name")) for c in suites["a"].iter("testcase")]
    assert cases_a == [
        ("a", "(input)"),
        ("Deployment@apps/v1", "inference/a-vllm"),
        ("Service@v1", "inference/a-vllm"),
    ]
    failing = [c for c in suites["a"].iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failing] == ["inference/a-vllm"]
    assert failing[0].find("failure").get("type") == "gpu-request-limit"
    assert root.get("failures") == "2" and root.get("tests") == "6"


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_every_reporter_handles_an_empty_report(fmt):
    assert REPORTERS[fmt](Report("lint")).strip()
