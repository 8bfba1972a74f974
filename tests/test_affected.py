"""`llmfleet affected` and the kustomization graph, in throw-away git repositories built from
this repository's manifests; and `check --changed-since`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml

from llmfleet.pipeline.graph import DirReader, Graph
from llmfleet_testlib import REPO_ROOT, git, overlay_names


def uses(overlay: str, component: str) -> bool:
    data = yaml.safe_load((REPO_ROOT / "overlays" / overlay / "kustomization.yaml").read_text())
    return any(str(c).rstrip("/").endswith(f"components/{component}") for c in data.get("components") or [])


def affected(cli, root: Path, base: str = "main") -> dict:
    result = cli(["affected", "--base", base, "--format", "json"], cwd=root)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def names(data: dict) -> set[str]:
    return {o["name"] for o in data["overlays"]}


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_nothing_changed_affects_nothing(cli, git_repo):
    data = affected(cli, git_repo)
    assert data["changed"] == [] and data["overlays"] == [] and data["platform"] == []
    text = cli(["affected", "--base", "main"], cwd=git_repo)
    assert text.exit_code == 0 and "no overlay affected" in text.stdout


def test_base_change_affects_every_overlay(cli, git_repo):
    append(git_repo / "base" / "deployment.yaml", "\n# a comment\n")
    data = affected(cli, git_repo)
    assert names(data) == set(overlay_names())
    assert all(
        o["reasons"] == ["base/deployment.yaml"] and o["status"] == "changed" for o in data["overlays"]
    )
    assert data["platform"] == []


def test_component_change_affects_the_overlays_using_it(cli, git_repo):
    component = next(
        c
        for c in ("gpu-l4", "gpu-a100-80gb", "gpu-h100-80gb", "tensor-parallel")
        if any(uses(o, c) for o in overlay_names())
    )
    patch = next((git_repo / "components" / component).glob("patch-*.yaml"))
    append(patch, "\n# touched\n")
    expected = {o for o in overlay_names() if uses(o, component)}
    assert names(affected(cli, git_repo)) == expected
    assert expected != set(overlay_names()) or len(overlay_names()) == 1


def test_serve_config_change_affects_only_that_overlay(cli, git_repo):
    overlay = overlay_names()[0]
    append(git_repo / "overlays" / overlay / "serve.yaml", "\n# touched\n")
    data = affected(cli, git_repo)
    assert names(data) == {overlay}
    assert data["overlays"][0]["reasons"] == [f"overlays/{overlay}/serve.yaml"]


def test_files_no_kustomization_reads_affect_nothing(cli, git_repo):
    overlay = overlay_names()[0]
    (git_repo / "overlays" / overlay / "NOTES.md").write_text("not read by kustomize\n")
    (git_repo / "base" / "unused.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    append(git_repo / "components" / "gpu-l4" / "README.md", "\nmore\n")
    data = affected(cli, git_repo)
    assert data["overlays"] == [] and data["platform"] == []
    assert f"overlays/{overlay}/NOTES.md" in data["changed"]  # untracked files are seen


def test_committed_changes_on_a_branch_count(cli, git_repo):
    overlay = overlay_names()[-1]
    git(git_repo, "checkout", "-q", "-b", "feature")
    append(git_repo / "overlays" / overlay / "patch-max-replicas.yaml", "\n# touched\n")
    git(git_repo, "commit", "-q", "-am", "change")
    assert names(affected(cli, git_repo)) == {overlay}
    # main moving on does not count (REF...HEAD is from the merge base)
    git(git_repo, "checkout", "-q", "main")
    append(git_repo / "base" / "service.yaml", "\n# on main\n")
    git(git_repo, "commit", "-q", "-am", "main moves")
    git(git_repo, "checkout", "-q", "feature")
    assert names(affected(cli, git_repo)) == {overlay}


def test_platform_change_is_reported_as_platform(cli, git_repo):
    platform = Graph(DirReader(git_repo)).node("platform")
    assert platform.file, "platform/ has a kustomization"
    resource = next(p for f, _, p, t in platform.refs if f == "resources" and t == "file")
    append(git_repo / resource, "\n# touched\n")
    data = affected(cli, git_repo)
    assert data["overlays"] == []
    assert [(p["name"], p["kind"], p["reasons"]) for p in data["platform"]] == [
        ("platform", "platform", [resource])
    ]


def test_toolkit_configuration_affects_everything(cli, git_repo):
    append(git_repo / "llmfleet.yaml", "\n# touched\n")
    data = affected(cli, git_repo)
    assert names(data) == set(overlay_names())
    # every namespace-wide kustomization the configuration names (platform/, argocd/)
    assert sorted(p["name"] for p in data["platform"]) == ["argocd", "platform"]
    assert data["toolkit_changed"] == ["llmfleet.yaml"]


def test_new_and_deleted_overlays(cli, git_repo):
    first, last = overlay_names()[0], overlay_names()[-1]
    shutil.copytree(git_repo / "overlays" / first, git_repo / "overlays" / "brand-new")
    shutil.rmtree(git_repo / "overlays" / last)
    data = affected(cli, git_repo)
    status = {o["name"]: o["status"] for o in data["overlays"]}
    assert status == {"brand-new": "added", last: "removed"}


def test_remote_resources_are_noted_not_followed(cli, git_repo):
    overlay = overlay_names()[0]
    path = git_repo / "overlays" / overlay / "kustomization.yaml"
    data = yaml.safe_load(path.read_text())
    data["resources"].append("https://github.com/example/repo//deploy?ref=v1.0.0")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = cli(["affected", "--base", "main"], cwd=git_repo)
    assert result.exit_code == 0
    assert result.stdout.split()[0] == overlay
    assert "remote reference not followed" in result.stderr


def test_unknown_ref_is_a_usage_error(cli, git_repo):
    result = cli(["affected", "--base", "no-such-branch"], cwd=git_repo)
    assert result.exit_code == 2
    assert "no-such-branch: unknown git revision" in result.stderr


def test_not_a_git_repository_is_a_usage_error(cli, tmp_path):
    (tmp_path / "llmfleet.yaml").write_text("overlays: overlays\n")
    result = cli(["affected", "--base", "main"], cwd=tmp_path)
    assert result.exit_code == 2 and "not inside a git repository" in result.stderr


def test_git_missing_is_a_tool_error(cli, git_repo, tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = cli(["affected", "--base", "main"], cwd=git_repo)
    assert result.exit_code == 3
    assert "git: git was not found on PATH" in result.stderr


def test_graph_follows_every_kind_of_reference(tmp_path):
    """Every field of a kustomization that names a file, and nothing else."""
    files = {
        "app/kustomization.yaml": """
            resources: [deploy.yaml, ../common, https://github.com/x/y//z?ref=v1]
            bases: [../legacy]
            components: [../comp]
            patches: [{path: p1.yaml}, {patch: "inline: true"}]
            patchesStrategicMerge: [p2.yaml, "apiVersion: v1\\nkind: X\\n"]
            patchesJson6902: [{target: {kind: X, name: y}, path: p3.yaml}]
            configMapGenerator: [{name: c, files: [k=cfg/serve.yaml, other.txt], envs: [a.env]}]
            secretGenerator: [{name: s, env: s.env}]
            configurations: [conf.yaml]
            crds: [crd.json]
            openapi: {path: schema.json}
            replacements: [{path: repl.yaml}]
            helmCharts: [{name: chart, valuesFile: values.yaml}]
            transformers: [tr.yaml]
            """,
        "app/tr.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: t}\npath: p4.yaml\n",
        "common/kustomization.yaml": "resources: [svc.yaml]\n",
        "legacy/kustomization.yaml": "resources: []\n",
        "comp/kustomization.yaml": "kind: Component\npatches: [{path: cp.yaml}]\n",
        "app/unrelated.yaml": "x: 1\n",
    }
    referenced = [
        "app/deploy.yaml",
        "app/p1.yaml",
        "app/p2.yaml",
        "app/p3.yaml",
        "app/cfg/serve.yaml",
        "app/other.txt",
        "app/a.env",
        "app/s.env",
        "app/conf.yaml",
        "app/crd.json",
        "app/schema.json",
        "app/repl.yaml",
        "app/values.yaml",
        "app/p4.yaml",
        "common/svc.yaml",
        "comp/cp.yaml",
    ]
    for name in referenced:
        files.setdefault(name, "x: 1\n")
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(re.sub(r"(?m)^ {12}", "", text))
    graph = Graph(DirReader(tmp_path))
    deps = {d for d in graph.deps("app") if not d.endswith("/")}
    assert deps == {
        *referenced,
        "app/tr.yaml",
        "app/kustomization.yaml",
        "common/kustomization.yaml",
        "legacy/kustomization.yaml",
        "comp/kustomization.yaml",
    }
    assert "app/charts/chart/" in graph.deps("app")  # a local helm chart: its whole folder
    assert graph.matches("app", ["app/unrelated.yaml", "common/svc.yaml", "app/charts/chart/t.yaml"]) == [
        "app/charts/chart/t.yaml",
        "common/svc.yaml",
    ]
    assert any("remote reference not followed" in n for n in graph.notes("app"))


def test_graph_missing_reference_still_depends_on_it(tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "kustomization.yaml").write_text("resources: [../gone, missing.yaml]\n")
    graph = Graph(DirReader(tmp_path))
    assert {"gone/kustomization.yaml", "o/missing.yaml"} <= graph.deps("o")
    assert any("not found" in n for n in graph.notes("o"))


def test_graph_survives_a_cycle(tmp_path):
    for a, b in (("a", "b"), ("b", "a")):
        (tmp_path / a).mkdir()
        (tmp_path / a / "kustomization.yaml").write_text(f"resources: [../{b}]\n")
    graph = Graph(DirReader(tmp_path))
    assert "b/kustomization.yaml" in graph.deps("a")


# -- check --changed-since ---------------------------------------------------------------------


def test_check_changed_since_checks_only_affected_overlays(cli, git_repo):
    overlay = overlay_names()[0]
    append(git_repo / "overlays" / overlay / "serve.yaml", "\n# touched\n")
    result = cli(
        ["check", "--changed-since", "main", "--validator", "jsonschema", "--format", "json"], cwd=git_repo
    )
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["checked"] == [overlay]
    assert {f["overlay"] for f in report["findings"]} <= {overlay, ""}
    assert f"1 of {len(overlay_names())} overlay(s)" in result.stderr


def test_check_changed_since_nothing_changed(cli, git_repo):
    result = cli(
        ["check", "--changed-since", "main", "--validator", "jsonschema", "--format", "json"], cwd=git_repo
    )
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["checked"] == []
    assert all(not f["overlay"] for f in report["findings"])  # only fleet-wide findings


def test_check_changed_since_platform(cli, git_repo):
    platform = Graph(DirReader(git_repo)).node("platform")
    resource = next(p for f, _, p, t in platform.refs if f == "resources" and t == "file")
    append(git_repo / resource, "\n# touched\n")
    result = cli(
        ["check", "--changed-since", "main", "--validator", "jsonschema", "--format", "json"], cwd=git_repo
    )
    assert json.loads(result.stdout)["summary"]["checked"] == ["platform"]


def test_check_changed_since_unknown_ref(cli, git_repo):
    result = cli(["check", "--changed-since", "nope"], cwd=git_repo)
    assert result.exit_code == 2 and "--changed-since nope: unknown git revision" in result.stderr
