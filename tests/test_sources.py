"""Source tracing: findings on rendered objects point at the repository file and line the
field came from (base, component patch, overlay patch, serve.yaml, kustomization)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml

from llmfleet.infra.findings import Severity
from llmfleet.pipeline.config import load_config
from llmfleet.pipeline.field_sources.locate import Tracer, tracer_for
from llmfleet.pipeline.manifests import Resource, load_text
from llmfleet.pipeline.render import render
from llmfleet_testlib import (
    REPO_ROOT,
    line_of,
    multinode_overlays,
    overlay_names,
    representative_overlays,
    single_node_overlays,
)


@pytest.fixture
def repo(repo_copy) -> Path:
    return repo_copy


def single_node() -> str:
    """An overlay on base/'s Deployment, for the tests about tracing into it."""
    return single_node_overlays()[0]


needs_multinode = pytest.mark.skipif(not multinode_overlays(), reason="no multi-node overlay")


def rendered(root: Path, overlay: str) -> dict[str, dict]:
    out = render(root / "overlays" / overlay)
    assert out.ok, out.error
    resources, _ = load_text(out.text, "x")
    return {r.kind: r.data for r in resources}


def locate(root: Path, overlay: str, kind: str, pointer: str):
    objs = rendered(root, overlay)
    return Tracer(root, f"overlays/{overlay}").locate(objs[kind], pointer)


CONTAINER = "/spec/template/spec/containers/0"
GPU_LIMIT = f"{CONTAINER}/resources/limits/nvidia.com~1gpu"
LWS_FILE = "base-multinode/leaderworkerset.yaml"
#: The two pod templates of a LeaderWorkerSet.
ROLES = ("leaderTemplate", "workerTemplate")


def lws_container(role: str) -> str:
    return f"/spec/leaderWorkerTemplate/{role}/spec/containers/0"


def test_base_field(repo):
    overlay = single_node()
    assert locate(repo, overlay, "Deployment", f"{CONTAINER}/image") == (
        "base/deployment.yaml",
        line_of(repo / "base/deployment.yaml", r"^\s+image: "),
    )
    # the whole object: the document in the base
    assert locate(repo, overlay, "Deployment", "") == (
        "base/deployment.yaml",
        line_of(repo / "base/deployment.yaml", r"^apiVersion:"),
    )


@needs_multinode
def test_base_field_of_a_leaderworkerset(repo):
    """The leader's and the workers' fields come from their own template in the multi-node
    base, and container 0's name is the base's even though every component's JSON patch
    `test`s it."""
    overlay = multinode_overlays()[0]
    lws = repo / LWS_FILE
    images = [
        i + 1
        for i, line in enumerate(lws.read_text().splitlines())
        if line.strip().startswith("image: vllm/vllm-openai")
    ]
    names = [i + 1 for i, line in enumerate(lws.read_text().splitlines()) if line.strip() == "- name: vllm"]
    assert len(images) == len(names) == 2
    for role, image, name in zip(ROLES, images, names):
        assert locate(repo, overlay, "LeaderWorkerSet", f"{lws_container(role)}/image") == (LWS_FILE, image)
        assert locate(repo, overlay, "LeaderWorkerSet", f"{lws_container(role)}/name") == (LWS_FILE, name)
    assert locate(repo, overlay, "LeaderWorkerSet", "") == (LWS_FILE, line_of(lws, r"^apiVersion:"))


def test_overlay_patch_wins_over_the_base(repo):
    overlay = overlay_names()[0]
    patch = repo / "overlays" / overlay / "patch-max-replicas.yaml"
    assert locate(repo, overlay, "ScaledObject", "/spec/maxReplicaCount") == (
        f"overlays/{overlay}/patch-max-replicas.yaml",
        line_of(patch, r"^\s+maxReplicaCount:"),
    )
    # a field the patch does not define still comes from the base
    assert locate(repo, overlay, "ScaledObject", "/spec/minReplicaCount")[0] == "base/scaledobject.yaml"


def test_component_patch(repo):
    overlay = next((o for o in overlay_names() if not list((repo / "overlays" / o).glob("patch-gpu*"))), None)
    if overlay is None:
        pytest.skip("every overlay patches its GPU count")
    kustomization = yaml.safe_load((repo / "overlays" / overlay / "kustomization.yaml").read_text())
    component = next(c for c in kustomization["components"] if "/gpu-" in c).rsplit("/", 1)[-1]
    patch = repo / "components" / component / "patch-gpu.yaml"
    assert locate(repo, overlay, "Deployment", GPU_LIMIT) == (
        f"components/{component}/patch-gpu.yaml",
        line_of(patch, r"nvidia.com/gpu:", after=r"^\s+limits:"),
    )
    assert (
        locate(repo, overlay, "Deployment", "/spec/template/spec/tolerations/0")[0]
        == f"components/{component}/patch-gpu.yaml"
    )


def test_overlay_patch_over_component_patch(repo):
    """The GPU count an overlay patches wins over its GPU component's: a strategic-merge
    patch on a Deployment, a JSON 6902 patch on both templates of a LeaderWorkerSet."""
    overlays = [o for o in overlay_names() if (repo / "overlays" / o / "patch-gpu-count.yaml").is_file()]
    if not overlays:
        pytest.skip("no overlay patches its GPU count")
    for overlay in overlays:
        patch = repo / "overlays" / overlay / "patch-gpu-count.yaml"
        where = f"overlays/{overlay}/patch-gpu-count.yaml"
        if "LeaderWorkerSet" not in rendered(repo, overlay):
            assert locate(repo, overlay, "Deployment", GPU_LIMIT) == (
                where,
                line_of(patch, r"nvidia.com/gpu:", after=r"^\s+limits:"),
            )
            continue
        for role in ROLES:
            for section in ("requests", "limits"):
                pointer = f"{lws_container(role)}/resources/{section}/nvidia.com~1gpu"
                op_path = re.escape(f"path: {pointer}")
                assert locate(repo, overlay, "LeaderWorkerSet", pointer) == (
                    where,
                    line_of(patch, r"^\s+value:", after=op_path),
                ), (overlay, pointer)


@needs_multinode
def test_component_json_patches_on_a_leaderworkerset(repo):
    """What a component adds to a LeaderWorkerSet with a JSON patch (GPU affinity and
    toleration, the API key on the leader only) is traced to that operation's value."""
    overlay = multinode_overlays()[0]
    kustomization = yaml.safe_load((repo / "overlays" / overlay / "kustomization.yaml").read_text())
    gpu = next(c for c in kustomization["components"] if "/gpu-" in c).rsplit("/", 1)[-1]
    gpu_patch = repo / "components" / gpu / "patch-gpu-lws.yaml"
    objs = rendered(repo, overlay)
    tracer = Tracer(repo, f"overlays/{overlay}")
    lws = objs["LeaderWorkerSet"]
    for role in ROLES:
        spec = f"/spec/leaderWorkerTemplate/{role}/spec"
        for field in ("affinity", "tolerations"):
            op_path = re.escape(f"path: {spec}/{field}")
            assert tracer.locate(lws, f"{spec}/{field}") == (
                f"components/{gpu}/patch-gpu-lws.yaml",
                line_of(gpu_patch, r"^\s+value:", after=op_path),
            )
    env = lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"][0]["env"]
    index = next(i for i, e in enumerate(env) if e["name"] == "VLLM_API_KEY")
    key_patch = repo / "components" / "api-key" / "patch-api-key-lws.yaml"
    assert tracer.locate(lws, f"{lws_container('leaderTemplate')}/env/{index}/name") == (
        "components/api-key/patch-api-key-lws.yaml",
        line_of(key_patch, r"^\s+name: VLLM_API_KEY"),
    )


@pytest.mark.parametrize("overlay", representative_overlays())
def test_generated_configmap_maps_to_serve_yaml_and_kustomization(repo, overlay):
    serve = f"overlays/{overlay}/serve.yaml"
    assert locate(repo, overlay, "ConfigMap", "/data/serve.yaml") == (serve, 1)
    assert locate(repo, overlay, "ConfigMap", "/data/serve.yaml/max-model-len") == (
        serve,
        line_of(repo / serve, r"^max-model-len:"),
    )
    kustomization = repo / "overlays" / overlay / "kustomization.yaml"
    assert locate(repo, overlay, "ConfigMap", "/metadata/annotations/llmfleet.io~1served-model-name") == (
        f"overlays/{overlay}/kustomization.yaml",
        line_of(kustomization, r"^\s+llmfleet.io/served-model-name:"),
    )
    kind = "LeaderWorkerSet" if "LeaderWorkerSet" in rendered(repo, overlay) else "Deployment"
    source = LWS_FILE if kind == "LeaderWorkerSet" else "base/deployment.yaml"
    assert locate(repo, overlay, kind, "/metadata/namespace") == (
        f"overlays/{overlay}/kustomization.yaml",
        line_of(kustomization, r"^namespace:"),
    )
    # a label the overlay adds, wherever kustomize puts it (selectors and pod templates too)
    label = line_of(kustomization, r"^\s+app.kubernetes.io/instance:")
    pointers = ["/metadata/labels/app.kubernetes.io~1instance"] + (
        [f"/spec/leaderWorkerTemplate/{role}/metadata/labels/app.kubernetes.io~1instance" for role in ROLES]
        if kind == "LeaderWorkerSet"
        else [
            "/spec/selector/matchLabels/app.kubernetes.io~1instance",
            "/spec/template/metadata/labels/app.kubernetes.io~1instance",
        ]
    )
    for pointer in pointers:
        assert locate(repo, overlay, kind, pointer) == (f"overlays/{overlay}/kustomization.yaml", label), (
            pointer
        )
    # a label from the base stays in the base
    assert locate(repo, overlay, kind, "/metadata/labels/app.kubernetes.io~1name")[0] == source


def test_inline_json6902_and_images_transformer(repo):
    overlay = single_node()
    directory = repo / "overlays" / overlay
    (directory / "ops.yaml").write_text(
        "- op: add\n"
        "  path: /spec/template/spec/containers/0/env/-\n"
        "  value:\n"
        "    name: EXTRA\n"
        '    value: "1"\n'
        "- op: replace\n"
        "  path: /spec/revisionHistoryLimit\n"
        "  value: 5\n"
    )
    kustomization = directory / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text()
        + (
            "images:\n"
            "  - name: vllm/vllm-openai\n"
            "    newTag: v0.33.1\n"
            "patchesJson6902:\n"
            "  - target: {group: apps, version: v1, kind: Deployment, name: server}\n"
            "    path: ops.yaml\n"
            "patchesStrategicMerge:\n"
            "  - |-\n"
            "    apiVersion: apps/v1\n"
            "    kind: Deployment\n"
            "    metadata:\n"
            "      name: server\n"
            "    spec:\n"
            "      template:\n"
            "        spec:\n"
            "          terminationGracePeriodSeconds: 170\n"
        )
    )
    k = f"overlays/{overlay}/kustomization.yaml"
    objs = rendered(repo, overlay)
    tracer = Tracer(repo, f"overlays/{overlay}")
    deploy = objs["Deployment"]
    assert tracer.locate(deploy, f"{CONTAINER}/image") == (k, line_of(kustomization, r"^\s+newTag: v0.33.1"))
    assert tracer.locate(deploy, "/spec/template/spec/terminationGracePeriodSeconds") == (
        k,
        line_of(kustomization, r"^\s+terminationGracePeriodSeconds: 170"),
    )
    assert tracer.locate(deploy, "/spec/revisionHistoryLimit") == (f"overlays/{overlay}/ops.yaml", 8)
    env = deploy["spec"]["template"]["spec"]["containers"][0]["env"]
    index = next(i for i, e in enumerate(env) if e["name"] == "EXTRA")
    assert tracer.locate(deploy, f"{CONTAINER}/env/{index}/value") == (f"overlays/{overlay}/ops.yaml", 5)
    # other env vars still come from the base
    home = next(i for i, e in enumerate(env) if e["name"] == "HOME")
    assert tracer.locate(deploy, f"{CONTAINER}/env/{home}/value") == (
        "base/deployment.yaml",
        line_of(repo / "base/deployment.yaml", r"value: /home/vllm$"),
    )


@needs_multinode
def test_json6902_on_a_leaderworkerset_and_images_transformer(repo):
    """An overlay's own JSON 6902 operations on the LeaderWorkerSet (legacy
    patchesJson6902 and an inline `patches` entry), and the images transformer, which
    reaches both pod templates."""
    overlay = multinode_overlays()[0]
    directory = repo / "overlays" / overlay
    (directory / "ops.yaml").write_text(
        "- op: test\n"
        "  path: /spec/leaderWorkerTemplate/workerTemplate/spec/containers/0/name\n"
        "  value: vllm\n"
        "- op: add\n"
        "  path: /spec/leaderWorkerTemplate/workerTemplate/spec/containers/0/env/-\n"
        "  value:\n"
        "    name: EXTRA\n"
        '    value: "1"\n'
    )
    kustomization = directory / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text()
        + (
            "images:\n"
            "  - name: vllm/vllm-openai\n"
            "    newTag: v0.33.1\n"
            "patchesJson6902:\n"
            "  - target: {group: leaderworkerset.x-k8s.io, version: v1, kind: LeaderWorkerSet, name: group}\n"
            "    path: ops.yaml\n"
        )
    )
    text = kustomization.read_text()
    assert text.count("\npatches:\n") == 1
    kustomization.write_text(
        text.replace(
            "\npatches:\n",
            (
                "\npatches:\n"
                "  - target: {kind: LeaderWorkerSet, name: group}\n"
                "    patch: |-\n"
                "      - op: replace\n"
                "        path: /spec/leaderWorkerTemplate/leaderTemplate/spec/terminationGracePeriodSeconds\n"
                "        value: 170\n"
            ),
        )
    )
    k_file = f"overlays/{overlay}/kustomization.yaml"
    objs = rendered(repo, overlay)
    tracer = Tracer(repo, f"overlays/{overlay}")
    lws = objs["LeaderWorkerSet"]
    for role in ROLES:
        assert tracer.locate(lws, f"{lws_container(role)}/image") == (
            k_file,
            line_of(kustomization, r"^\s+newTag: v0.33.1"),
        )
    env = lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]["env"]
    index = next(i for i, e in enumerate(env) if e["name"] == "EXTRA")
    assert tracer.locate(lws, f"{lws_container('workerTemplate')}/env/{index}/value") == (
        f"overlays/{overlay}/ops.yaml",
        8,
    )
    # the `test` operation checks the name, it does not define it
    assert tracer.locate(lws, f"{lws_container('workerTemplate')}/name")[0] == LWS_FILE
    grace = "/spec/leaderWorkerTemplate/leaderTemplate/spec/terminationGracePeriodSeconds"
    assert _get(lws, grace) == 170
    assert tracer.locate(lws, grace) == (k_file, line_of(kustomization, r"^\s+value: 170"))
    # the workers' grace period is still the base's
    assert tracer.locate(lws, grace.replace("leaderTemplate", "workerTemplate"))[0] == LWS_FILE


def _get(obj: dict, pointer: str):
    for token in pointer.split("/")[1:]:
        obj = obj[int(token)] if isinstance(obj, list) else obj[token]
    return obj


def test_untraceable_falls_back_to_the_kustomization(repo):
    overlay = overlay_names()[0]
    tracer = Tracer(repo, f"overlays/{overlay}")
    stranger = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "made-elsewhere"}}
    assert tracer.locate(stranger, "/data/x") is None
    res = Resource(stranger, f"overlays/{overlay}/kustomization.yaml", locate=tracer.locator(stranger))
    finding = res.finding("some-rule", Severity.ERROR, "msg", "/data/x")
    assert (finding.file, finding.line) == (f"overlays/{overlay}/kustomization.yaml", 0)


@pytest.mark.parametrize("overlay", representative_overlays())
def test_lint_findings_point_at_source_lines(cli, repo, overlay):
    """End to end: a floating image tag written in the base is reported at that line (both
    lines of the multi-node base: the leader's and the workers' containers)."""
    base = repo / (LWS_FILE if overlay in multinode_overlays() else "base/deployment.yaml")
    base.write_text(base.read_text().replace("vllm/vllm-openai:v0.33.0", "vllm/vllm-openai:latest"))
    lines = [
        i + 1
        for i, line in enumerate(base.read_text().splitlines())
        if re.match(r"^\s+image: vllm/vllm-openai:latest", line)
    ]
    result = cli(["lint", f"overlays/{overlay}", "--format", "json"], cwd=repo)
    assert result.exit_code == 1, result.stderr
    findings = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "vllm-image-unpinned"]
    rel = base.relative_to(repo).as_posix()
    assert sorted((f["file"], f["line"], f["overlay"]) for f in findings) == [
        (rel, n, overlay) for n in lines
    ]


def test_tracer_cache_follows_file_changes(repo):
    overlay = overlay_names()[0]
    first = tracer_for(repo, f"overlays/{overlay}")
    assert tracer_for(repo, f"overlays/{overlay}") is first
    patch = repo / "overlays" / overlay / "patch-max-replicas.yaml"
    patch.write_text("# moved down\n" + patch.read_text())
    second = tracer_for(repo, f"overlays/{overlay}")
    assert second is not first
    objs = rendered(repo, overlay)
    assert second.locate(objs["ScaledObject"], "/spec/maxReplicaCount")[1] == line_of(
        patch, r"^\s+maxReplicaCount:"
    )


def test_tracing_costs_little_next_to_rendering():
    """Tracing every field of every object of every overlay stays well under a quarter of the
    time kustomize takes to render them (`check` must stay within 1.25x bare rendering)."""
    config = load_config(REPO_ROOT)
    dirs = [*config.overlay_dirs(), *config.platform_dirs()]
    if not dirs:
        pytest.skip("no overlays yet")
    start = time.perf_counter()
    outputs = [render(d) for d in dirs]
    render_s = time.perf_counter() - start
    docs = [load_text(o.text, "x")[0] for o in outputs]
    start = time.perf_counter()
    traced = 0
    for d, resources in zip(dirs, docs):
        tracer = Tracer(REPO_ROOT, d.relative_to(REPO_ROOT).as_posix())  # uncached build
        for res in resources:
            locator = tracer.locator(res.data)
            for pointer in res.lines:
                traced += locator(pointer) is not None
    trace_s = time.perf_counter() - start
    assert traced > 0
    assert trace_s < 0.25 * render_s, f"tracing {trace_s:.3f}s vs rendering {render_s:.3f}s"
