"""The real-world corpus: its files, their provenance, the ground truth and the judging logic of
evaluate.py (on synthetic findings, so no lint run is needed here)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import evaluate  # noqa: E402

EXPECTED = evaluate.load_expected()
CORPUS = sorted(p.name for p in HERE.glob("*.yaml") if p.name != "expected.yaml")
VOCABULARY = set().union(*evaluate.RULE_CLASSES.values())


def objects_in(path: Path) -> set[str]:
    # A trailing tab after a scalar is valid for kustomize's parser but not for PyYAML
    # (gke-tpu-llama31-70b-hpa.yaml, as published); it does not change any object.
    text = re.sub(r"[ \t]+$", "", path.read_text(encoding="utf-8"), flags=re.M)
    found = set()
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict) and doc.get("kind"):
            found.add(f"{doc['kind']}/{doc.get('metadata', {}).get('name', '')}")
    return found


def test_every_corpus_file_has_ground_truth_and_back():
    assert 25 <= len(CORPUS) <= 40
    assert set(CORPUS) == set(EXPECTED["files"])


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_file_cites_its_source_and_licence(name):
    head = [line for line in (HERE / name).read_text(encoding="utf-8").splitlines()[:12]
            if line.startswith("#")]
    text = "\n".join(head)
    assert "# Source: https://github.com/" in text
    assert re.search(r"commit [0-9a-f]{40}", text)
    assert "licence Apache-2.0" in text


@pytest.mark.parametrize("name", CORPUS)
def test_ground_truth_entries_are_well_formed(name):
    entry = EXPECTED["files"][name]
    objects = objects_in(HERE / name)
    facts = set(EXPECTED["facts"])
    for section in ("problems", "fine", "unjudged"):
        for item in entry.get(section) or []:
            assert item["class"] in VOCABULARY, item
            assert item["object"] in objects, (name, item["object"], objects)
            assert item.get("why"), item
            source = str(item.get("source", ""))
            if source.startswith("F-"):
                assert source in facts, source
    for problem in entry.get("problems") or []:
        assert problem["severity"] in ("major", "minor")
        assert problem.get("max_severity") in (None, "warning")
        assert problem.get("field", "").startswith("/"), problem


def finding(rule, severity, obj, message="m"):
    kind, _, name = obj.partition("/")
    return {"rule": rule, "severity": severity, "kind": kind, "name": name, "message": message}


def judge(findings, entry):
    report = evaluate.Report()
    evaluate.judge_file("f.yaml", entry, findings, "", report)
    return report


ENTRY = {
    "problems": [
        {"class": "image-unpinned", "object": "Deployment/a", "severity": "major"},
        {"class": "no-prestop", "object": "Deployment/a", "severity": "minor", "max_severity": "warning"},
        {"class": "no-model-cache", "object": "Deployment/a", "severity": "minor"},
    ],
    "fine": [{"class": "gpu-toleration-missing", "object": "Deployment/a", "why": "GKE"}],
    "unjudged": [{"class": "no-drain-timeout", "object": "Deployment/a", "why": "unknown"}],
}


def test_judging_counts_right_wrong_and_false_errors():
    report = judge([
        finding("vllm-image-unpinned", "error", "Deployment/a"),      # right
        finding("shutdown-prestop", "error", "Deployment/a"),         # right class, too loud
        finding("gpu-toleration", "error", "Deployment/a"),           # fine → false error
        finding("gpu-node-selection", "warning", "Deployment/a"),     # nothing listed → wrong
        finding("vllm-image-unpinned", "error", "Deployment/other"),  # other object → false error
        finding("shutdown-drain", "warning", "Deployment/a"),         # unjudged
        finding("pod-security", "warning", "Deployment/a"),           # rule not judged
        finding("gpu-fit", "info", "Deployment/a"),                   # info: not counted
    ], ENTRY)
    verdicts = [(f.rule, f.verdict) for f in report.findings]
    assert verdicts == [
        ("vllm-image-unpinned", "right"), ("shutdown-prestop", "false-error"),
        ("gpu-toleration", "false-error"), ("gpu-node-selection", "wrong"),
        ("vllm-image-unpinned", "false-error"), ("shutdown-drain", "not-judged"),
        ("pod-security", "not-judged")]
    assert report.precision == (1, 5)
    assert report.recall() == (2, 3) and report.recall("major") == (1, 1)
    assert len(report.false_errors) == 3


def test_a_linter_failure_is_a_false_error_and_catches_nothing():
    report = judge(None, ENTRY)
    assert [f.verdict for f in report.findings] == ["false-error"]
    assert report.recall() == (0, 3)


def test_rule_classes_cover_every_class_the_ground_truth_uses():
    used = {item["class"] for entry in EXPECTED["files"].values()
            for section in ("problems", "fine", "unjudged") for item in entry.get(section) or []}
    assert used <= VOCABULARY
