"""SARIF of a `check` with findings from several rules and overlays: valid SARIF 2.1.0, and
every location is a repository file and line where the problem is written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from llmfleet_testlib import line_of, multinode_overlays, single_node_overlays


def overlay_names(root: Path) -> list[str]:
    return sorted(p.parent.name for p in (root / "overlays").glob("*/kustomization.yaml"))


def lines_of(path: Path, pattern: str) -> list[int]:
    return [i + 1 for i, line in enumerate(path.read_text().splitlines()) if re.search(pattern, line)]


@pytest.fixture
def sarif_schema(schemas_dir) -> dict:
    return json.loads((schemas_dir / "other" / "sarif-2.1.0.json").read_text())


def test_sarif_of_a_bad_fleet(cli, repo_copy, sarif_schema, tmp_path):
    overlays = overlay_names(repo_copy)
    if len(overlays) < 2:
        pytest.skip("needs two overlays")
    # min > max in the first overlay (whatever it serves with), a Deployment patch in a
    # single-node overlay that is not the first
    first = overlays[0]
    second = next(o for o in single_node_overlays(repo_copy) if o != first)
    # 1. a floating image tag in both bases: every overlay, at its base's line(s) (the
    #    multi-node base has two: the leader's and the workers' container)
    bases = {
        "base/deployment.yaml": single_node_overlays(repo_copy),
        "base-multinode/leaderworkerset.yaml": multinode_overlays(repo_copy),
    }
    expected_images = set()
    for rel, users in bases.items():
        path = repo_copy / rel
        path.write_text(path.read_text().replace("vllm/vllm-openai:v0.33.0", "vllm/vllm-openai:latest"))
        expected_images |= {
            (o, rel, n) for o in users for n in lines_of(path, r"^\s+image: vllm/vllm-openai:latest")
        }
    assert {o for o, _, _ in expected_images} == set(overlays)
    # 2. min > max in one overlay's patch
    patch = repo_copy / "overlays" / first / "patch-max-replicas.yaml"
    data = yaml.safe_load(patch.read_text())
    patch.write_text(re.sub(r"(?m)^(\s+maxReplicaCount:).*$", r"\g<1> 0", patch.read_text()))
    assert data["spec"]["maxReplicaCount"] != 0
    max_line = line_of(patch, r"^\s+maxReplicaCount: 0")
    # 3. a GPU request that differs from the limit, in the second overlay's own patch
    gpu_patch = repo_copy / "overlays" / second / "patch-gpu-mismatch.yaml"
    gpu_patch.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: server\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: vllm\n          resources:\n"
        "            requests:\n              nvidia.com/gpu: 2\n            limits:\n"
        "              nvidia.com/gpu: 3\n"
    )
    kustomization = repo_copy / "overlays" / second / "kustomization.yaml"
    k = yaml.safe_load(kustomization.read_text())
    k.setdefault("patches", []).append({"path": "patch-gpu-mismatch.yaml"})
    kustomization.write_text(yaml.safe_dump(k, sort_keys=False))

    out = tmp_path / "llmfleet.sarif"
    result = cli(["check", "--validator", "jsonschema", "--format", "sarif", "-o", str(out)], cwd=repo_copy)
    assert result.exit_code == 1, result.stderr
    log = json.loads(out.read_text())
    jsonschema.Draft7Validator(sarif_schema).validate(log)

    run = log["runs"][0]
    results = run["results"]
    rules = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert {"vllm-image-unpinned", "scaler-bounds", "gpu-request-limit"} <= rules
    assert {r["ruleId"] for r in results} <= rules

    def where(rule: str) -> set[tuple[str, str, int]]:
        out = set()
        for r in results:
            if r["ruleId"] != rule:
                continue
            loc = r["locations"][0]
            overlay = loc["logicalLocations"][0]["fullyQualifiedName"].split("/")[0]
            phys = loc["physicalLocation"]
            out.add((overlay, phys["artifactLocation"]["uri"], phys["region"]["startLine"]))
        return out

    assert where("vllm-image-unpinned") == expected_images
    # min > max is reported at whichever of the two the rule names: each where it is written
    min_line = line_of(repo_copy / "base" / "scaledobject.yaml", r"^\s+minReplicaCount:")
    bounds = {(o, uri, line) for o, uri, line in where("scaler-bounds") if o == first}
    assert bounds & {
        (first, f"overlays/{first}/patch-max-replicas.yaml", max_line),
        (first, "base/scaledobject.yaml", min_line),
    }
    for r in results:
        if r["ruleId"] == "scaler-bounds" and "(at /spec/maxReplicaCount)" in r["message"]["text"]:
            assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(
                "patch-max-replicas.yaml"
            )
    gpu_line = line_of(gpu_patch, r"nvidia.com/gpu: 3")
    assert (second, f"overlays/{second}/patch-gpu-mismatch.yaml", gpu_line) in where("gpu-request-limit")

    # every location is a file of the repository, at a line it has
    for r in results:
        phys = r["locations"][0]["physicalLocation"]
        path = repo_copy / phys["artifactLocation"]["uri"]
        assert path.is_file(), phys
        assert 1 <= phys["region"]["startLine"] <= len(path.read_text().splitlines()), phys
        assert r["partialFingerprints"]


def test_github_annotations_point_at_source_files(cli, repo_copy):
    deployment = repo_copy / "base" / "deployment.yaml"
    deployment.write_text(deployment.read_text().replace("vllm/vllm-openai:v0.33.0", "vllm/vllm-openai"))
    result = cli(["check", "--validator", "jsonschema", "--format", "github"], cwd=repo_copy)
    assert result.exit_code == 1
    line = line_of(deployment, r"^\s+image: vllm/vllm-openai$")
    annotations = [a for a in result.stdout.splitlines() if "vllm-image-unpinned" in a]
    assert annotations and all(
        a.startswith(f"::error file=base/deployment.yaml,line={line},") for a in annotations
    )
