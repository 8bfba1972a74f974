"""`llmfleet diff`: per-object rendered diff between a base revision and the working tree."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from llmfleet.features.diff.rendered import HASH_SUFFIX, compare, identity, max_scale
from llmfleet_testlib import (
    REPO_ROOT,
    git,
    multinode_overlays,
    overlay_names,
    representative_overlays,
    serving_workload,
    single_node_overlays,
)


def run_diff(cli, root: Path, *args: str) -> str:
    """The diff's output; its exit code follows the latency objective: 1 exactly when the
    working tree's simulated side breaches it (and says so on stderr), else 0."""
    before = git(root, "status", "--porcelain")
    result = cli(["diff", "--base", "main", *args], cwd=root)
    breached = "breaches the latency objective" in result.stderr
    assert result.exit_code == (1 if breached else 0), result.stderr
    if breached:
        assert "slo-breached" in result.stdout and "--no-simulate" not in args
    # the base was rendered from a temporary worktree, removed again; nothing else touched
    assert len(git(root, "worktree", "list").splitlines()) == 1
    assert git(root, "status", "--porcelain") == before
    return result.stdout


def objects(text: str) -> dict[str, set[str]]:
    """{status: {"Kind name-without-hash"}} from the text output."""
    out: dict[str, set[str]] = {"added": set(), "removed": set(), "changed": set()}
    for line in text.splitlines():
        m = re.match(r"^\s*(added|removed|changed)\s+(\S+) (?:\S+/)?(\S+)", line)
        if m:
            out[m.group(1)].add(f"{m.group(2)} {HASH_SUFFIX.sub('', m.group(3))}")
    return out


def set_yaml_key(path: Path, key: str, value) -> None:
    text = path.read_text()
    new = re.sub(rf"(?m)^({re.escape(key)}:\s*).*$", lambda m: f"{m.group(1)}{value}", text, count=1)
    assert new != text, f"{key} not in {path}"
    path.write_text(new)


@pytest.mark.parametrize("overlay", representative_overlays())
def test_serve_config_change(cli, git_repo, overlay):
    """A serve.yaml edit changes the ConfigMap (new hash suffix) and the workload that mounts
    it: a Deployment, or both pod templates of a LeaderWorkerSet."""
    serve = git_repo / "overlays" / overlay / "serve.yaml"
    set_yaml_key(serve, "gpu-memory-utilization", "0.85")
    out = run_diff(cli, git_repo)
    assert out.startswith(f"=== {overlay} ")
    assert out.count("=== ") == 1  # only the affected overlay
    assert objects(out) == {
        "added": set(),
        "removed": set(),
        "changed": {f"ConfigMap {overlay}-vllm-serve-config", serving_workload(overlay)},
    }
    # serve.yaml is shown line by line (a literal block), as it is written
    assert re.search(r"(?m)^-\s+gpu-memory-utilization: 0.92$", out)
    assert re.search(r"(?m)^\+\s+gpu-memory-utilization: 0.85$", out)
    # the hash suffix is shown, old → new, on the ConfigMap line
    assert re.search(rf"changed  ConfigMap \S+/{overlay}-vllm-serve-config-\w{{10}} → \S+-\w{{10}}", out)
    assert "GPUs at max scale" in out and "(unchanged)" in out


@pytest.mark.parametrize("overlay", representative_overlays())
def test_max_replicas_change_summary(cli, git_repo, overlay):
    """GPUs at max scale = maxReplicaCount x GPUs of one replica: a pod, or a whole group of a
    LeaderWorkerSet (tensor x pipeline parallel: 16 for the 405B overlay)."""
    patch = git_repo / "overlays" / overlay / "patch-max-replicas.yaml"
    old = yaml.safe_load(patch.read_text())["spec"]["maxReplicaCount"]
    set_yaml_key(patch, "  maxReplicaCount", old + 2)
    out = run_diff(cli, git_repo, f"overlays/{overlay}")
    assert objects(out)["changed"] == {f"ScaledObject {overlay}-server"}
    m = re.search(r"GPUs at max scale (\d+) → (\d+)", out)
    assert m, out
    before, after = int(m.group(1)), int(m.group(2))
    serve = yaml.safe_load((REPO_ROOT / "overlays" / overlay / "serve.yaml").read_text())
    per_replica = serve.get("tensor-parallel-size", 1) * serve.get("pipeline-parallel-size", 1)
    assert (before, after) == (old * per_replica, (old + 2) * per_replica)
    assert re.search(rf"-\s+maxReplicaCount: {old}\n\+\s+maxReplicaCount: {old + 2}", out)


def test_base_change_diffs_every_overlay(cli, git_repo):
    """base/ is under every overlay (base-multinode/ builds on it): all are diffed; the
    Deployment changes where there is one, and a multi-node overlay, which deletes it,
    renders the same."""
    path = git_repo / "base" / "deployment.yaml"
    path.write_text(path.read_text().replace("revisionHistoryLimit: 3", "revisionHistoryLimit: 4"))
    out = run_diff(cli, git_repo)
    status = dict(re.findall(r"^=== (\S+) \(\S+\) \[(\w+)\]", out, re.M))
    assert set(status) == set(overlay_names())
    assert objects(out)["changed"] == {serving_workload(o) for o in single_node_overlays()}
    assert {o for o, st in status.items() if st == "unchanged"} == set(multinode_overlays())


@pytest.mark.skipif(not multinode_overlays(), reason="no multi-node overlay")
def test_multinode_base_change_diffs_only_the_multinode_overlays(cli, git_repo):
    path = git_repo / "base-multinode" / "leaderworkerset.yaml"
    text = path.read_text()
    assert text.count("sizeLimit: 20Gi") == 2  # the home volume, leader and workers
    path.write_text(text.replace("sizeLimit: 20Gi", "sizeLimit: 30Gi"))
    out = run_diff(cli, git_repo)
    assert set(re.findall(r"^=== (\S+)", out, re.M)) == set(multinode_overlays())
    assert objects(out)["changed"] == {serving_workload(o) for o in multinode_overlays()}
    assert len(re.findall(r"(?m)^\+\s+sizeLimit: 30Gi$", out)) == 2 * len(multinode_overlays())


def test_new_and_deleted_overlay(cli, git_repo):
    first, last = single_node_overlays()[0], overlay_names()[-1]
    if first == last:
        last = overlay_names()[0]
    new = git_repo / "overlays" / "copy-of-first"
    shutil.copytree(git_repo / "overlays" / first, new)
    kustomization = new / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace(f"namePrefix: {first}-", "namePrefix: copy-of-first-")
    )
    shutil.rmtree(git_repo / "overlays" / last)
    out = run_diff(cli, git_repo)
    sections = dict(re.findall(r"^=== (\S+) \(\S+\) \[(\w+)\]", out, re.M))
    assert sections == {"copy-of-first": "added", last: "removed"}
    per = out.split("=== ")
    added = next(s for s in per if s.startswith("copy-of-first"))
    removed = next(s for s in per if s.startswith(last))
    assert objects(added)["removed"] == set() and objects(added)["changed"] == set()
    assert serving_workload(first, "copy-of-first-") in objects(added)["added"]
    assert objects(removed)["added"] == set() and serving_workload(last) in objects(removed)["removed"]


def test_markdown_for_a_pr_comment(cli, git_repo):
    overlay = overlay_names()[0]
    set_yaml_key(git_repo / "overlays" / overlay / "serve.yaml", "gpu-memory-utilization", "0.85")
    out = run_diff(cli, git_repo, "--format", "markdown")
    assert out.startswith("<!-- llmfleet-diff -->")
    assert out.count("<details>") == 1 and out.count("</details>") == 1
    assert f"| `{overlay}` | changed |" in out
    assert "```diff\n" in out


def test_explicit_overlay_by_name_and_unchanged(cli, git_repo):
    overlay = overlay_names()[0]
    out = run_diff(cli, git_repo, overlay)
    assert out.startswith(f"=== {overlay} (overlays/{overlay}) [unchanged]: 0 added, 0 removed, 0 changed")


def test_nothing_affected(cli, git_repo):
    assert run_diff(cli, git_repo) == "no overlay affected since main\n"
    assert "No overlay is affected" in run_diff(cli, git_repo, "--format", "markdown")


def test_unknown_ref_and_missing_overlay(cli, git_repo):
    result = cli(["diff", "--base", "nope"], cwd=git_repo)
    assert result.exit_code == 2 and "--base nope: unknown git revision" in result.stderr
    result = cli(["diff", "--base", "main", "no-such-overlay"], cwd=git_repo)
    assert result.exit_code == 2 and "no kustomization" in result.stderr
    assert len(git(git_repo, "worktree", "list").splitlines()) == 1


def test_git_missing_is_a_tool_error(cli, git_repo, tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = cli(["diff", "--base", "main"], cwd=git_repo)
    assert result.exit_code == 3 and "git was not found" in result.stderr


# -- units -------------------------------------------------------------------------------------


def cm(name: str, data: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns"},
        "data": data,
    }


def test_identity_ignores_the_hash_suffix_of_generated_objects_only():
    assert identity(cm("m-vllm-serve-config-f5h87dck6g", {})) == (
        "",
        "ConfigMap",
        "ns",
        "m-vllm-serve-config",
    )
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a-f5h87dck6g"}}
    assert identity(deploy) == ("apps", "Deployment", "", "a-f5h87dck6g")
    changes = compare([cm("x-f5h87dck6g", {"a": "1"})], [cm("x-tkbt4hf8d5", {"a": "2"})])
    assert [(c.status, c.label) for c in changes] == [
        ("changed", "ConfigMap ns/x-f5h87dck6g → ns/x-tkbt4hf8d5")
    ]
    assert "-  a: '1'" in changes[0].diff and "+  a: '2'" in changes[0].diff


def test_max_scale_multiplies_replicas_by_gpus_per_pod():
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "s"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "v", "resources": {"limits": {"nvidia.com/gpu": 4}}}]}
            }
        },
    }
    scaled = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "s"},
        "spec": {"scaleTargetRef": {"name": "s"}, "maxReplicaCount": 3},
    }
    assert max_scale([deploy, scaled])[0] == 12
    assert max_scale([deploy])[0] == 4


# -- the simulated response to the default spike (llmfleet.features.diff.simulation) -----------------

SIMULATED = re.compile(
    r"simulated default spike of (the base|this overlay): [\d.]+->[\d.]+ rps, [\d.]+ min: "
    r"peak queue (?P<queue>[^;]+); time to absorb (?P<absorb>[^;]+); "
    r"GPU-hours (?P<hours>[^;]+); p99 wait (?P<wait>[^;]+); flagged (?P<flags>.+?)"
    r"(?: \((?P<basis>measured|calibrated|roofline) capacity\))?$",
    re.M,
)


def _before_after(figure: str) -> tuple[float, float]:
    numbers = [float(n.replace(",", "")) for n in re.findall(r"[\d,]+(?:\.\d+)?", figure)]
    return (numbers[0], numbers[0]) if "(unchanged)" in figure else (numbers[0], numbers[1])


def _widest_scaling_overlay() -> str:
    """The single-node overlay with the most replicas to scale to (where a slow scale-up
    policy matters: with two replicas, one pod per 10 minutes is all it ever needs)."""

    def max_replicas(name: str) -> int:
        patch = REPO_ROOT / "overlays" / name / "patch-max-replicas.yaml"
        return yaml.safe_load(patch.read_text())["spec"]["maxReplicaCount"] if patch.is_file() else 0

    return max(single_node_overlays(), key=max_replicas)


def test_diff_simulates_the_default_spike_before_and_after(cli, git_repo):
    """A scale-up of one pod per 10 minutes: the same spike (the base's) now waits longer and
    is flagged slow to absorb; the PR comment has the same figures in a table."""
    overlay = _widest_scaling_overlay()
    folder = git_repo / "overlays" / overlay
    (folder / "patch-slow-scale-up.yaml").write_text(
        yaml.safe_dump(
            [
                {
                    "op": "replace",
                    "path": "/spec/advanced/horizontalPodAutoscalerConfig/behavior/scaleUp",
                    "value": {
                        "stabilizationWindowSeconds": 0,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 600}],
                    },
                },
                # From one warm replica (the shipped overlay keeps warm headroom, so only one
                # pod is ever added): the spike then needs pods added ten minutes apart.
                {"op": "replace", "path": "/spec/minReplicaCount", "value": 1},
            ]
        )
    )
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    kustomization.setdefault("patches", []).append(
        {"path": "patch-slow-scale-up.yaml", "target": {"kind": "ScaledObject", "name": "server"}}
    )
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    out = run_diff(cli, git_repo, overlay)
    match = SIMULATED.search(out)
    assert match and match.group(1) == "the base", out
    absorb_before, absorb_after = _before_after(match.group("absorb"))
    queue_before, queue_after = _before_after(match.group("queue"))
    assert absorb_after > absorb_before and queue_after > queue_before
    flags_before, _, flags_after = match.group("flags").partition(" → ")
    assert "slow-to-absorb" in flags_after.split(", ") and "slow-to-absorb" not in flags_before
    assert match.group("basis") == "calibrated"
    wait_before, wait_after = _before_after(match.group("wait"))
    assert wait_after >= wait_before
    markdown = run_diff(cli, git_repo, overlay, "--format", "markdown")
    assert "#### Autoscaling under the default spike (simulated)" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith(f"| `{overlay}` | default spike"))
    assert f"{match.group('flags')} |" in row and match.group("queue") in row
    assert SIMULATED.search(run_diff(cli, git_repo, overlay, "--no-simulate")) is None


def test_more_replicas_absorb_the_base_spike_no_worse(cli, git_repo):
    overlay = _widest_scaling_overlay()
    patch = git_repo / "overlays" / overlay / "patch-max-replicas.yaml"
    old = yaml.safe_load(patch.read_text())["spec"]["maxReplicaCount"]
    set_yaml_key(patch, "  maxReplicaCount", old + 4)
    match = SIMULATED.search(run_diff(cli, git_repo, overlay))
    assert match, "no simulated line"
    queue_before, queue_after = _before_after(match.group("queue"))
    assert queue_after <= queue_before


def test_a_new_overlay_is_simulated_with_its_own_spike_and_unsimulable_sides_say_why(repository_model):
    from llmfleet.features.diff.simulation import compare_spike
    from llmfleet.model import ClusterSettings

    objects = [r.data for r in repository_model.overlays[single_node_overlays()[0]].resources]
    added = compare_spike(None, objects, ClusterSettings())
    assert added.trace.startswith("default spike of this overlay:") and added.after is not None
    assert added.before is None and added.after.gpu_hours > 0
    no_scaler = [o for o in objects if o.get("kind") != "ScaledObject"]
    removed_scaler = compare_spike(objects, no_scaler, ClusterSettings())
    assert removed_scaler.before is not None and removed_scaler.after is None
    assert "no ScaledObject" in removed_scaler.after_note


def test_both_sides_share_the_repository_render_cache(cli, git_repo, monkeypatch, tmp_path):
    """The base revision's worktree renders into the working tree's cache (keys are relative
    to a root): a second diff renders nothing, and --no-cache renders both sides again."""
    import llmfleet.pipeline.render as render_mod

    monkeypatch.setenv("LLMFLEET_CACHE_DIR", str(tmp_path / "cache"))
    overlay = single_node_overlays()[0]
    set_yaml_key(git_repo / "overlays" / overlay / "serve.yaml", "gpu-memory-utilization", "0.85")
    real, renders = render_mod.render, []

    def counting(directory, *args, **kwargs):
        renders.append(Path(directory).name)
        return real(directory, *args, **kwargs)

    monkeypatch.setattr(render_mod, "render", counting)
    first = run_diff(cli, git_repo, "--no-simulate", overlay)
    assert renders == [overlay, overlay]  # base and working tree
    assert len(list((tmp_path / "cache" / "render").glob("*.yaml"))) == 2
    renders.clear()
    assert run_diff(cli, git_repo, "--no-simulate", overlay) == first
    assert renders == []
    assert run_diff(cli, git_repo, "--no-simulate", "--no-cache", overlay) == first
    assert renders == [overlay, overlay]


def test_the_exit_code_follows_the_working_tree_s_latency_objective(cli, git_repo):
    """Exit 1 when the working tree's simulated side breaches its objective; an objective the
    simulated waits meet (capacity.yaml `slo`) gives exit 0 for the same change."""
    overlay = single_node_overlays()[0]
    folder = git_repo / "overlays" / overlay
    # The change a PR must not slip through: the warm headroom removed (docs/deploying.md §9.5).
    patch = folder / "patch-max-replicas.yaml"
    scaled = yaml.safe_load(patch.read_text())
    assert scaled["spec"].get("minReplicaCount", 1) > 1, "the shipped overlay keeps warm replicas"
    scaled["spec"]["minReplicaCount"] = 1
    patch.write_text(yaml.safe_dump(scaled, sort_keys=False))
    strict = cli(["diff", "--base", "main", overlay], cwd=git_repo)
    match = SIMULATED.search(strict.stdout)
    assert match, strict.stdout
    _, wait_after = _before_after(match.group("wait"))
    flags_before, arrow, flags_after = match.group("flags").partition(" → ")
    assert arrow and "slo-breached" in flags_after and "slo-breached" not in flags_before, match.group(0)
    assert strict.exit_code == 1 and "breaches the latency objective of " + overlay in strict.stderr
    lenient = dict.fromkeys(("queue_wait_p95_s", "queue_wait_p99_s", "ttft_p95_s", "ttft_p99_s"), 4 * 3600)
    (folder / "capacity.yaml").write_text(yaml.safe_dump({"slo": lenient}))
    unexplained = cli(["diff", "--base", "main", overlay], cwd=git_repo)
    assert unexplained.exit_code == 2 and "slo.reason: missing" in unexplained.stderr, unexplained.stderr
    lenient["reason"] = "nightly evaluation runs; no user waits on a reply"
    (folder / "capacity.yaml").write_text(yaml.safe_dump({"slo": lenient}))
    relaxed = cli(["diff", "--base", "main", overlay], cwd=git_repo)
    assert relaxed.exit_code == 0, relaxed.stderr
    assert "breaches the latency objective" not in relaxed.stderr
    assert wait_after < 4 * 60  # minutes: well inside the relaxed objective
