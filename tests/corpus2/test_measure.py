"""measure.py on any corpus folder: every expected*.yaml of a half merged, and the facts a
problem cites looked up in the facts*.yaml beside the half or one level up."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import measure  # noqa: E402

A = """version: 1
files:
  one.yaml:
    server: vllm
    problems:
      - {class: no-prestop, object: Deployment/m, severity: minor, why: x, source: F3a-drain}
    fine: []
  shared.yaml:
    problems:
      - {class: gpu-missing, object: Deployment/s, severity: major, why: x}
"""
B = """version: 1
files:
  two.yaml:
    problems:
      - {class: exposed-without-auth, object: Service/s, severity: major, why: x, source: F3b-lb}
  shared.yaml:
    problems:
      - {class: no-startup-probe, object: Deployment/s, severity: major, why: x, source: F3b-nowhere}
    fine:
      - {class: image-unpinned, object: Deployment/s, why: pinned}
"""


@pytest.fixture
def corpus(tmp_path):
    half = tmp_path / "dev"
    half.mkdir()
    (half / "expected-a.yaml").write_text(A)
    (half / "expected-b.yaml").write_text(B)
    (tmp_path / "facts-a.yaml").write_text("F3a-drain: {text: t, source: s}\n")
    (tmp_path / "facts-b.yaml").write_text("facts:\n  - {id: F3b-lb, text: t, source: s}\n")
    return half


def test_every_expected_file_of_a_half_is_read_and_merged(corpus):
    data, paths = measure.ground_truth(corpus)
    assert [p.name for p in paths] == ["expected-a.yaml", "expected-b.yaml"]
    assert sorted(data["files"]) == ["one.yaml", "shared.yaml", "two.yaml"]
    shared = data["files"]["shared.yaml"]
    assert [p["class"] for p in shared["problems"]] == ["gpu-missing", "no-startup-probe"]
    assert [f["class"] for f in shared["fine"]] == ["image-unpinned"]
    assert data["files"]["one.yaml"]["server"] == "vllm"


def test_facts_are_read_from_both_layouts_and_unknown_citations_named(corpus):
    known = measure.facts(corpus)
    assert set(known) == {"F3a-drain", "F3b-lb"}
    data, _ = measure.ground_truth(corpus)
    assert measure.unknown_facts(data, known) == ["shared.yaml: no-startup-probe cites F3b-nowhere"]


def test_a_half_is_a_name_or_a_folder(corpus):
    assert measure.folder_of("dev") == (HERE / "dev").resolve()
    assert measure.folder_of(str(corpus)) == corpus.resolve()
    with pytest.raises(SystemExit):
        measure.folder_of(str(corpus / "missing"))
    empty = corpus.parent / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit):
        measure.ground_truth(empty)
