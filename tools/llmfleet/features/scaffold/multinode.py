"""``new-model`` for a model spread over several nodes: the files of a multi-node overlay.

The overlay has the structure of the hand-written ``overlays/llama-3-1-405b-instruct-fp8``
(docs/multi-node.md, docs/reference/vllm-multinode.md): ``base-multinode`` (a
LeaderWorkerSet, one group of ``size`` pods per replica, one pod per node) and its
transformers; the GPU component of the class, the shared model cache (required: every node
reads its pipeline stage from one copy), the API key, ``network-policy-multi-node`` (the
pods of a group talk on any port) and the PDB -- no egress policy (it would cut the traffic
between the nodes) and no smoke-test Job.  Named patches:

* ``patch-gpu-count.yaml``: GPUs per node on the leader and the worker template (a JSON
  patch: kustomize merges this CRD's lists by position; ``test`` pins container 0 to vllm);
* ``patch-size.yaml`` when the group is not base-multinode's two nodes;
* ``patch-resources.yaml`` when base-multinode's CPU and memory requests fit no node shape of
  the class with that many GPUs;
* ``patch-cache-size.yaml`` (file storage in TiB steps: the weights twice, at least 1 TiB),
  ``patch-max-replicas.yaml`` (groups, with the GPU quota they take) and
  ``patch-autoscaling-targets.yaml`` (the thresholds from the group's KV tokens).

serve.yaml sets tensor-parallel-size = GPUs per node, pipeline-parallel-size = nodes and
distributed-timeout-seconds; base-multinode adds the launch flags (--nnodes, --node-rank,
--master-addr, --headless).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmfleet.catalog import node_shapes
from llmfleet.features.scaffold import templates
from llmfleet.kube import safe_yaml
from llmfleet.model.k8s import parse_quantity
from llmfleet.model.vllm.startup import cold_load_for

if TYPE_CHECKING:
    from llmfleet.features.scaffold.plan import Scaffold

BASE = "base-multinode"
COMPONENTS = ("model-cache", "api-key", "network-policy-multi-node", "pdb")
#: torch.distributed / NCCL timeout: the group rendezvous happens before the weights load,
#: the first collective after (docs/reference/vllm-multinode.md §2.4).
DISTRIBUTED_TIMEOUT_S = 1800
#: The HPA's scale-down window is at most 3600 s, which caps the start-up window the
#: multi-node base can pair with it (docs/reference/vllm-multinode.md §6).
MAX_STARTUP_S = 3600
TIB = 1024
WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 8: "eight"}
TEMPLATES = ("leaderTemplate", "workerTemplate")


@dataclass(frozen=True)
class MultinodeBase:
    """What base-multinode/leaderworkerset.yaml sets that the patches are measured against."""

    size: int = 2
    cpu_request: Decimal = Decimal(64)
    cpu_limit: Decimal = Decimal(128)
    memory: Decimal = Decimal(640 * 2**30)
    startup_s: int = 3600


def base(root: Path) -> MultinodeBase:
    try:
        text = (root / BASE / "leaderworkerset.yaml").read_text(encoding="utf-8")
        data = safe_yaml.load(text, semantics=safe_yaml.KUBERNETES)
    except (OSError, UnicodeDecodeError, safe_yaml.UnsafeYAML):
        return MultinodeBase()
    tpl = ((data or {}).get("spec") or {}).get("leaderWorkerTemplate") or {}
    found: dict[str, Any] = {}
    if isinstance(tpl.get("size"), int):
        found["size"] = tpl["size"]
    containers = ((tpl.get("leaderTemplate") or {}).get("spec") or {}).get("containers") or [{}]
    vllm = containers[0] if containers and isinstance(containers[0], dict) else {}
    resources = vllm.get("resources") or {}
    for key, section, name in (
        ("cpu_request", "requests", "cpu"),
        ("cpu_limit", "limits", "cpu"),
        ("memory", "requests", "memory"),
    ):
        value = parse_quantity((resources.get(section) or {}).get(name))
        if value is not None:
            found[key] = value
    probe = vllm.get("startupProbe") or {}
    if isinstance(probe.get("failureThreshold"), int) and isinstance(probe.get("periodSeconds"), int):
        found["startup_s"] = probe["failureThreshold"] * probe["periodSeconds"]
    return MultinodeBase(**found)


def gib(value: float) -> float:
    return value / 2**30


def cache_size(weights_gib: float) -> str:
    """Shared file storage in whole TiB: the weights twice (one more revision), at least 1 TiB
    (Filestore's basic tiers start there; EFS has no minimum)."""
    tib = max(1, math.ceil(2 * weights_gib / TIB))
    return f"{tib}Ti"


def _pod_fits_a_shape(sc: Scaffold, b: MultinodeBase, catalog_shapes: node_shapes.Catalog) -> bool:
    """base-multinode's pod fits a node of the class with enough GPUs on every cloud (or
    cluster) that has one: the overlay must schedule wherever the class is rented."""
    s = sc.plan.sizing
    candidates = [shape for shape in catalog_shapes.of_class(s.gpu.name) if shape.gpus >= s.tp]
    clouds = {shape.cloud for shape in candidates}
    return bool(clouds) and all(
        any(
            shape.fits(s.tp, b.cpu_request, b.memory, catalog_shapes.headroom)
            for shape in candidates
            if shape.cloud == cloud
        )
        for cloud in clouds
    )


def _per_gpu_resources(sc: Scaffold) -> tuple[int, int, int]:
    from llmfleet.catalog.pricing.offer import (
        CPU_REQUEST_PER_GPU,
        MEMORY_GIB_PER_GPU,
        MEMORY_GIB_PER_GPU_BY_CLASS,
    )
    from llmfleet.features.scaffold.plan import CPU_LIMIT_PER_GPU

    s = sc.plan.sizing
    memory = MEMORY_GIB_PER_GPU_BY_CLASS.get(s.gpu.name, MEMORY_GIB_PER_GPU) * s.tp
    return CPU_REQUEST_PER_GPU * s.tp, CPU_LIMIT_PER_GPU * s.tp, memory


def _kustomization(sc: Scaffold, rel: str, patches: list[tuple[str, bool]]) -> str:
    from llmfleet.features.scaffold.files import AUTOSCALING_PATCH, _config_generator_context, _format
    from llmfleet.features.scaffold.plan import NAMESPACE

    s = sc.plan.sizing
    return templates.render(
        "multinode/kustomization.yaml.j2",
        model_id=sc.model.id,
        weights_format=_format(s),
        nodes_word=WORDS.get(s.pp, str(s.pp)),
        tp=s.tp,
        pp=s.pp,
        gpu_display=s.gpu.display.replace("NVIDIA ", ""),
        gpu_name=s.gpu.name,
        namespace=NAMESPACE,
        name=sc.name,
        rel=rel,
        patches=patches,
        autoscaling_patch=AUTOSCALING_PATCH,
        **_config_generator_context(sc, BASE),
    )


def _serve(sc: Scaffold) -> str:
    from llmfleet.features.scaffold.files import serve_context

    s = sc.plan.sizing
    return templates.render(
        "multinode/serve.yaml.j2",
        **serve_context(sc),
        nodes_word=WORDS.get(s.pp, str(s.pp)),
        distributed_timeout_s=DISTRIBUTED_TIMEOUT_S,
    )


def _patch_gpu_count(sc: Scaffold) -> str:
    s = sc.plan.sizing
    return templates.render(
        "multinode/patch-gpu-count.yaml.j2",
        tp=s.tp,
        tp_word=WORDS.get(s.tp, str(s.tp)),
        pp=s.pp,
        gpus=s.gpus,
        gpu_name=s.gpu.name,
        pod_templates=TEMPLATES,
    )


def _patch_size(sc: Scaffold) -> str:
    return templates.render("multinode/patch-size.yaml.j2", nodes=sc.nodes)


def _patch_resources(sc: Scaffold, b: MultinodeBase) -> str:
    s = sc.plan.sizing
    cpu_request, cpu_limit, memory = _per_gpu_resources(sc)
    return templates.render(
        "multinode/patch-resources.yaml.j2",
        tp=s.tp,
        gpu_name=s.gpu.name,
        base_cpu_request=b.cpu_request,
        base_memory_gib=gib(float(b.memory)),
        pod_templates=TEMPLATES,
        resources=(
            ("requests", "cpu", f'"{cpu_request}"'),
            ("requests", "memory", f"{memory}Gi"),
            ("limits", "cpu", f'"{cpu_limit}"'),
            ("limits", "memory", f"{memory}Gi"),
        ),
    )


def _patch_cache(sc: Scaffold, size: str) -> str:
    from llmfleet.features.scaffold.files import _format

    s = sc.plan.sizing
    return templates.render(
        "multinode/patch-cache-size.yaml.j2",
        weights_format=_format(s),
        weights_gib=gib(s.weights_bytes),
        size=size,
    )


def _patch_max_replicas(sc: Scaffold) -> str:
    s = sc.plan.sizing
    return templates.render(
        "multinode/patch-max-replicas.yaml.j2",
        max_replicas=sc.max_replicas,
        min_replicas=sc.min_replicas,
        pp=s.pp,
        tp=s.tp,
        gpus=s.gpus,
        gpu_name=s.gpu.name,
    )


def render_files(
    sc: Scaffold, overlay_dir: Path, root: Path, shapes: node_shapes.Catalog | None = None
) -> dict[str, str]:
    """File name -> content of the multi-node overlay (deterministic)."""
    from llmfleet.features.scaffold.files import AUTOSCALING_PATCH, _patch_autoscaling

    rel = os.path.relpath(root, overlay_dir).replace(os.sep, "/")
    b = base(root)
    catalog_shapes = shapes if shapes is not None else node_shapes.catalog()
    files: dict[str, str] = {"patch-gpu-count.yaml": _patch_gpu_count(sc)}
    patches: list[tuple[str, bool]] = [("patch-gpu-count.yaml", True)]
    if sc.nodes != b.size:
        files["patch-size.yaml"] = _patch_size(sc)
        patches.append(("patch-size.yaml", True))
    if not _pod_fits_a_shape(sc, b, catalog_shapes):
        files["patch-resources.yaml"] = _patch_resources(sc, b)
        patches.append(("patch-resources.yaml", True))
    files["patch-cache-size.yaml"] = _patch_cache(sc, cache_size(gib(sc.plan.sizing.weights_bytes)))
    patches.append(("patch-cache-size.yaml", False))
    files["patch-max-replicas.yaml"] = _patch_max_replicas(sc)
    patches.append(("patch-max-replicas.yaml", False))
    files[AUTOSCALING_PATCH] = _patch_autoscaling(sc)
    patches.append((AUTOSCALING_PATCH, False))
    out = {"kustomization.yaml": _kustomization(sc, rel, patches), "serve.yaml": _serve(sc)}
    out.update(files)
    return out


def notes(sc: Scaffold, root: Path) -> list[str]:
    """What the operator must know beyond the files: the cold start against the start-up
    window the multi-node base can have."""
    s = sc.plan.sizing
    load = cold_load_for(gib(s.weights_bytes) / s.pp, f"{sc.model.id} on {s.pp} nodes")
    window = base(root).startup_s
    found = [
        f"multi-node: {s.pp} pods per group, one per {s.tp}-GPU {s.gpu.name} node; needs the "
        "LeaderWorkerSet controller and a ReadWriteMany model cache (docs/multi-node.md)"
    ]
    if load.seconds > window:
        found.append(
            f"cold load ≈ {load.seconds} s ({load.why}) exceeds the {window} s start-up window "
            f"(at most {MAX_STARTUP_S} s, the HPA's longest scale-down window): pre-populate the "
            "model cache (docs/multi-node.md §6)"
        )
    return found
