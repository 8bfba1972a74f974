"""End to end through the CLI: the repository's overlays are clean, and each folder in
tests/e2e/ turns a copy of a real overlay bad in one way and names the findings it must cause."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from llmfleet.infra import exitcodes
from llmfleet_testlib import copy_overlay, overlay_names

CASES = Path(__file__).parent / "e2e"
SOURCE_OVERLAY = "llama-3-1-8b-instruct"


def test_repository_check_is_clean_even_strict(cli, repo_copy):
    result = cli(["check", "--strict", "--format", "json"], cwd=repo_copy)
    data = json.loads(result.stdout)
    # The one finding by design: argocd/ ships the placeholder repository a fork replaces
    # (docs/deploying.md 7.1), reported as a warning so that the template passes `check`.
    others = [f for f in data["findings"] if f["rule"] != "argocd-repo-placeholder"]
    assert others == [], result.stdout
    assert {f["severity"] for f in data["findings"]} == {"warning"}
    assert {f["overlay"] for f in data["findings"]} == {"argocd"}
    assert sorted(data["summary"]["checked"]) == sorted([*overlay_names(), "platform", "argocd"])
    plain = cli(["check"], cwd=repo_copy)
    assert plain.exit_code == exitcodes.OK, plain.stdout
    # With the repository named, --strict is clean.
    for path in (repo_copy / "argocd").glob("*.yaml"):
        path.write_text(path.read_text().replace("example-org/llm-fleet", "acme/llm-fleet"))
    strict = cli(["check", "--strict", "--format", "json"], cwd=repo_copy)
    assert json.loads(strict.stdout)["findings"] == [] and strict.exit_code == exitcodes.OK, strict.stdout


def _break_overlay(repo: Path, case: Path) -> str:
    """Copy the source overlay to overlays/bad-<case> and apply the case's change."""
    name = f"bad-{case.name}"
    target = copy_overlay(repo, SOURCE_OVERLAY, name, f"bad/{case.name}")
    kustomization = yaml.safe_load((target / "kustomization.yaml").read_text())
    if (case / "serve-extra.yaml").is_file():
        serve = yaml.safe_load((target / "serve.yaml").read_text())
        serve.update(yaml.safe_load((case / "serve-extra.yaml").read_text()))
        (target / "serve.yaml").write_text(yaml.safe_dump(serve, sort_keys=False))
    if (case / "patch.yaml").is_file():
        shutil.copy(case / "patch.yaml", target / "patch-e2e.yaml")
        patch = {"path": "patch-e2e.yaml"}
        if (case / "target.yaml").is_file():  # a JSON 6902 patch names its target
            patch["target"] = yaml.safe_load((case / "target.yaml").read_text())
        kustomization.setdefault("patches", []).append(patch)
    (target / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return name


@pytest.mark.parametrize("case", sorted(p for p in CASES.iterdir() if p.is_dir()), ids=lambda p: p.name)
def test_bad_overlay(cli, repo_copy, case):
    name = _break_overlay(repo_copy, case)
    expected = yaml.safe_load((case / "expected.yaml").read_text())
    result = cli(["check", "--format", "json", f"overlays/{name}"], cwd=repo_copy)
    assert result.exit_code == expected["exit"], result.stdout + result.stderr
    findings = [f for f in json.loads(result.stdout)["findings"] if f["overlay"] == name]
    for want in expected["findings"]:
        matches = [f for f in findings if all(f[k] == v for k, v in want.items())]
        assert matches, f"expected {want} among {[(f['rule'], f['kind'], f['path']) for f in findings]}"
        assert all(f["name"] and f["message"] for f in matches)
    # Every finding names where it is: a file, and for object findings the object.
    assert all(f["file"] for f in findings)


def test_schema_error_json_names_overlay_object_path_and_message(cli, repo_copy):
    name = _break_overlay(repo_copy, CASES / "schema-error")
    result = cli(["check", "--format", "json", f"overlays/{name}"], cwd=repo_copy)
    assert result.exit_code == exitcodes.FINDINGS
    [replicas] = [
        f
        for f in json.loads(result.stdout)["findings"]
        if f["rule"] == "schema" and f["path"] == "/spec/replicas"
    ]
    assert replicas["overlay"] == name
    assert (replicas["kind"], replicas["name"], replicas["namespace"]) == (
        "Deployment",
        f"{name}-server",
        "inference",
    )
    assert replicas["message"] == "'two' is not of type 'integer', 'null'"
    # Traced to the patch that introduced it, not only to the rendered object.
    assert replicas["file"] == f"overlays/{name}/patch-e2e.yaml" and replicas["line"] == 7
