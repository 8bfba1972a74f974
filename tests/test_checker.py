"""llmfleet.pipeline.runner and llmfleet.pipeline.inputs: one pipeline, each kustomization rendered once per
run, folders as one input, duplicate objects, and the persistent render cache."""

from __future__ import annotations

import json

from llmfleet.infra import exitcodes
from llmfleet.pipeline import render as render_mod
from llmfleet.pipeline.config import load_config
from llmfleet.pipeline.render_cache import RenderCache
from llmfleet.pipeline.runner import Options, run_check

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: m, namespace: llm}
spec:
  selector: {matchLabels: {app: m}}
  template:
    metadata: {labels: {app: m}}
    spec:
      containers: [{name: c, image: busybox:1.37}]
"""
SCALED = """\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: m, namespace: llm}
spec:
  scaleTargetRef: {name: m}
  triggers: [{type: cpu, metricType: Utilization, metadata: {value: "50"}}]
"""


def _rules(cli, root, *args):
    result = cli(["lint", "--format", "json", *args], cwd=root)
    return result, {f["rule"] for f in json.loads(result.stdout)["findings"]}


def test_a_folder_is_one_input(cli, empty_repo):
    folder = empty_repo / "app"
    folder.mkdir()
    (folder / "a.yaml").write_text(DEPLOYMENT)
    other = DEPLOYMENT.replace("name: m,", "name: other,").replace("app: m", "app: other")
    (folder / "b.yaml").write_text(other + "---\n" + SCALED)
    result, rules = _rules(cli, empty_repo, "app")
    assert "scaler-target" not in rules  # the target is in the other file
    assert json.loads(result.stdout)["summary"]["inputs"] == 1
    _, alone = _rules(cli, empty_repo, "app/b.yaml")
    assert "scaler-target" in alone


def test_duplicate_objects_are_reported(cli, empty_repo):
    (empty_repo / "d.yaml").write_text(DEPLOYMENT + "---\n" + DEPLOYMENT)
    result, rules = _rules(cli, empty_repo, "d.yaml")
    assert "duplicate-object" in rules and result.exit_code == exitcodes.FINDINGS


def test_each_kustomization_renders_once_per_run_and_the_cache_serves_the_next(
    repo_copy, monkeypatch, tmp_path
):
    monkeypatch.setenv("LLMFLEET_CACHE_DIR", str(tmp_path / "cache"))
    calls: list[str] = []
    real = render_mod.render

    def counting(directory, renderer=None, timeout=render_mod.RENDER_TIMEOUT_S):
        calls.append(str(directory))
        return real(directory, renderer, timeout)

    monkeypatch.setattr(render_mod, "render", counting)
    config = load_config(repo_copy)
    first = run_check(config, [], Options())
    kustomizations = len(config.overlay_dirs()) + len(config.platform_dirs())
    assert len(calls) == kustomizations == len(set(calls))
    calls.clear()
    second = run_check(config, [], Options())
    assert calls == []  # every render from the cache
    assert [f.message for f in second.findings] == [f.message for f in first.findings]
    assert run_check(config, [], Options(cache=False)) and len(calls) == kustomizations


def test_the_cache_key_follows_every_file_of_the_graph(repo_copy, monkeypatch, tmp_path):
    monkeypatch.setenv("LLMFLEET_CACHE_DIR", str(tmp_path / "cache"))
    config = load_config(repo_copy)
    overlay = config.overlay_dirs()[0]
    cache = RenderCache(repo_copy, render_mod.find_renderer())
    key = cache.key(overlay)
    assert key and key == RenderCache(repo_copy, render_mod.find_renderer()).key(overlay)
    for changed in (
        overlay / "serve.yaml",
        repo_copy / "base" / "deployment.yaml",
        repo_copy / "components" / "api-key" / "kustomization.yaml",
    ):
        before = RenderCache(repo_copy, render_mod.find_renderer()).key(overlay)
        changed.write_text(changed.read_text() + "\n# changed\n")
        assert RenderCache(repo_copy, render_mod.find_renderer()).key(overlay) != before, changed


def test_remote_resources_are_never_cached(repo_copy):
    overlay = load_config(repo_copy).overlay_dirs()[0]
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace(
            "resources:", "resources:\n  - https://github.com/example/repo//manifests?ref=v1", 1
        )
    )
    assert RenderCache(repo_copy, render_mod.find_renderer()).key(overlay) is None


def test_yaml_error_in_one_document_keeps_the_others(cli, empty_repo):
    (empty_repo / "d.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\n---\n" + DEPLOYMENT
    )
    result = cli(["lint", "--format", "json", "d.yaml"], cwd=empty_repo)
    report = json.loads(result.stdout)
    assert "yaml-syntax" in {f["rule"] for f in report["findings"]}
    assert report["summary"]["objects"] == 1  # the Deployment after the broken document


def test_a_check_served_by_the_cache_imports_no_validator_nor_http(repo_copy, tmp_path):
    """A second check with nothing changed takes its renders, object verdicts and the
    configuration's verdict from the cache: jsonschema, referencing and urllib.request
    (with http.client and ssl), a quarter of its time, are not even imported."""
    import os
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from llmfleet.cli import main\n"
        "try:\n"
        "    main(['check'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('jsonschema', 'referencing', 'urllib.request', 'http.client', 'kubernetes_validate')\n"
        "print('imported:', *sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "LLMFLEET_CACHE_DIR": str(tmp_path / "cache"), "LLMFLEET_OFFLINE": "1"}

    def imported() -> list[str]:
        proc = subprocess.run(
            [sys.executable, "-c", probe], cwd=repo_copy, env=env, capture_output=True, text=True, timeout=300
        )
        assert "0 error(s)" in proc.stdout, proc.stdout + proc.stderr
        last = proc.stdout.strip().splitlines()[-1].split()
        assert last[0] == "imported:", proc.stdout
        return last[1:]

    assert "jsonschema" in imported()  # cold: objects and configuration validated
    assert imported() == []
