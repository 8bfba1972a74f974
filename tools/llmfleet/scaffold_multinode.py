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

from llmfleet.model import nodes as node_shapes
from llmfleet.model import safe_yaml
from llmfleet.model.k8s import parse_quantity
from llmfleet.model.vllm.startup import cold_load_for

if TYPE_CHECKING:
    from llmfleet.scaffold import Scaffold

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
    from llmfleet.scaffold import (
        CPU_LIMIT_PER_GPU,
        CPU_REQUEST_PER_GPU,
        MEMORY_GIB_PER_GPU,
        MEMORY_GIB_PER_GPU_BY_CLASS,
    )

    s = sc.plan.sizing
    memory = MEMORY_GIB_PER_GPU_BY_CLASS.get(s.gpu.name, MEMORY_GIB_PER_GPU) * s.tp
    return CPU_REQUEST_PER_GPU * s.tp, CPU_LIMIT_PER_GPU * s.tp, memory


def _kustomization(sc: Scaffold, rel: str, patches: list[tuple[str, bool]]) -> str:
    from llmfleet.scaffold import NAMESPACE, _format, serve_config_generator

    s = sc.plan.sizing
    display = s.gpu.display.replace("NVIDIA ", "")
    lines = [
        f"# {sc.model.id} ({_format(s)}) on {WORDS.get(s.pp, str(s.pp))} nodes of {s.tp} x NVIDIA "
        f"{display} per replica",
        f"# (tensor parallel {s.tp} x pipeline parallel {s.pp}), as one LeaderWorkerSet group per replica.",
        "# Generated by `llmfleet new-model` (sizing in serve.yaml); edit freely.",
        "# Multi-node unit: base-multinode/; node pool and network: docs/multi-node.md.",
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        f"namespace: {NAMESPACE}",
        f"# {sc.name}-server (Service, ScaledObject, ...),",
        f"# {sc.name}-group (LeaderWorkerSet; pods -group-<g> and -group-<g>-<n>).",
        f"namePrefix: {sc.name}-",
        "labels:",
        "  # The per-model selector label: added to every selector (Service, PodMonitor,",
        "  # NetworkPolicies, PDB) and to both pod templates of the LeaderWorkerSet.",
        "  - pairs:",
        f"      app.kubernetes.io/instance: {sc.name}",
        "    includeSelectors: true",
        "resources:",
        f"  - {rel}/{BASE}",
        "components:",
        "  # Affinity, toleration and GPUs on the leader and the workers (count: patch-gpu-count.yaml).",
        f"  - {rel}/components/gpu-{s.gpu.name}",
        "  # Required for multi-node: every node reads its stage from the one shared copy.",
        f"  - {rel}/components/model-cache",
        f"  - {rel}/components/api-key",
        "  # network-policy and egress-policy, plus the traffic between the pods of a group.",
        f"  - {rel}/components/network-policy-multi-node",
        f"  - {rel}/components/egress-policy-multi-node",
        f"  - {rel}/components/pdb",
        "  # Post-deploy check of the leaders' Service (after api-key and the network policy).",
        f"  - {rel}/components/smoke-test-multi-node",
        *serve_config_generator(sc, "base-multinode"),
        "patches:",
    ]
    for path, lws in patches:
        lines.append(f"  - path: {path}")
        if lws:
            lines += [
                "    target:",
                "      group: leaderworkerset.x-k8s.io",
                "      kind: LeaderWorkerSet",
                "      name: group",
            ]
        elif path == "patch-autoscaling-targets.yaml":
            lines += ["    target:", "      group: keda.sh", "      kind: ScaledObject", "      name: server"]
    lines += ["transformers:", f"  - {rel}/{BASE}/transformers"]
    return "\n".join(lines) + "\n"


def _serve(sc: Scaffold) -> str:
    from llmfleet.model import sizing
    from llmfleet.scaffold import _dtype_lines, _format, _kv_formula, _scalar

    p = sc.plan
    s = p.sizing
    m = sc.model
    display = s.gpu.display.replace("NVIDIA ", "")
    lines = [
        "# vLLM settings for this model, read with `vllm serve --config /etc/vllm/serve.yaml` by",
        "# EVERY pod of a group (leader and workers): the parallel sizes and the model must be the",
        "# same on all nodes. Keys are vLLM flag names without the leading dashes. --port,",
        "# --shutdown-timeout and the multi-node launch flags (--nnodes = LeaderWorkerSet size,",
        "# --node-rank, --master-addr, --headless) are set in base-multinode/leaderworkerset.yaml.",
        f"model: {_scalar(m.id)}",
        "# vLLM's `model_name` metric label. Keep equal to the annotation",
        "# llmfleet.io/served-model-name in kustomization.yaml.",
        f"served-model-name: {_scalar(sc.served)}",
        *_dtype_lines(sc),
    ]
    if s.quantization and s.quantization != m.quantization:
        lines += [
            f"# Weights quantized to {s.quantization} ({sizing.QUANTIZATION_BYTES[s.quantization]:g} "
            "B/parameter; embeddings stay 16 bit).",
            f"quantization: {s.quantization}",
        ]
    lines += [
        f"# {WORDS.get(s.pp, str(s.pp)).capitalize()} nodes of {s.tp} x {display}: TP {s.tp} inside a "
        f"node (NVLink), PP {s.pp} across the nodes.",
        f"#   tensor-parallel-size x pipeline-parallel-size = {s.gpus}",
        f"#   = nvidia.com/gpu per pod ({s.tp}, patch-gpu-count.yaml) x pods per group (size {s.pp})",
        f"tensor-parallel-size: {s.tp}",
        f"pipeline-parallel-size: {s.pp}",
        "# Sizing (llmfleet new-model; docs/reference/vllm-0.33.md §4, docs/reference/vllm-multinode.md §9)",
        f"# per GPU on {s.pp} nodes x {s.tp} x {s.gpu.name} ({s.gpu.memory_gib:g} GiB visible):",
        f"#   {s.gpu_memory_utilization:g} x {s.gpu.memory_gib:g} = {gib(s.budget_bytes_per_gpu):.2f} GiB for "
        f"vLLM; weights {m.params / 1e9:.2f} B in {_format(s)} = {gib(s.weights_bytes):.2f} GiB,",
        f"#   / (TP {s.tp} x PP {s.pp}) = {gib(s.weights_bytes_per_gpu):.2f} GiB; activations, CUDA graphs, "
        f"NCCL {gib(s.overhead_bytes_per_gpu):.1f} GiB;",
        f"#   leaves {gib(s.kv_cache_bytes_per_gpu):.2f} GiB of KV cache = {s.kv_tokens:,} tokens per group at "
        f"{s.kv_bytes_per_token_per_gpu:,} B/token/GPU",
        f"#   ({_kv_formula(s)}):",
        f"#   {p.concurrency:.2f} requests of {p.max_model_len} tokens at once (the model allows {m.context}).",
        f"max-model-len: {p.max_model_len}",
    ]
    if s.kv_cache_dtype != "auto":
        lines += [f"kv-cache-dtype: {s.kv_cache_dtype}"]
    lines += [
        f"gpu-memory-utilization: {s.gpu_memory_utilization:g}",
        "# torch.distributed / NCCL timeout (default 600 s). The group rendezvous happens before",
        "# the weights load, the first collective after: allow 30 min of skew between nodes",
        "# (a node scaled up late, one node still reading its stage from the shared cache)",
        "# before the group fails and is recreated.",
        f"distributed-timeout-seconds: {DISTRIBUTED_TIMEOUT_S}",
    ]
    return "\n".join(lines) + "\n"


def _test_container(template: str) -> list[str]:
    return [
        "- op: test",
        f"  path: /spec/leaderWorkerTemplate/{template}/spec/containers/0/name",
        "  value: vllm",
    ]


def _patch_gpu_count(sc: Scaffold) -> str:
    s = sc.plan.sizing
    word = WORDS.get(s.tp, str(s.tp)).capitalize()
    lines = [
        f"# {word} GPUs per pod, on the leader and on the worker: one whole {s.tp} x {s.gpu.name} node each.",
        f"# = tensor-parallel-size in serve.yaml; x size ({s.pp} pods per group) = TP x PP = {s.gpus}.",
        f"# (components/gpu-{s.gpu.name} sets one.) JSON patch: kustomize cannot merge a CRD's",
        "# container list by name; the tests pin container 0 to vllm.",
    ]
    for template in TEMPLATES:
        lines += _test_container(template)
        for section in ("requests", "limits"):
            lines += [
                "- op: replace",
                f"  path: /spec/leaderWorkerTemplate/{template}/spec/containers/0/resources/{section}/nvidia.com~1gpu",
                f"  value: {s.tp}",
            ]
    return "\n".join(lines) + "\n"


def _patch_size(sc: Scaffold) -> str:
    return (
        "\n".join(
            [
                f"# {sc.nodes} pods (= nodes) per group, leader included: --nnodes of vLLM's launch",
                f"# (LWS_GROUP_SIZE) and pipeline-parallel-size {sc.nodes} in serve.yaml.",
                "- op: replace",
                "  path: /spec/leaderWorkerTemplate/size",
                f"  value: {sc.nodes}",
            ]
        )
        + "\n"
    )


def _patch_resources(sc: Scaffold, b: MultinodeBase) -> str:
    s = sc.plan.sizing
    cpu_request, cpu_limit, memory = _per_gpu_resources(sc)
    lines = [
        f"# CPU and memory per {s.tp}-GPU {s.gpu.name} node: base-multinode's requests ({b.cpu_request} CPU, "
        f"{gib(float(b.memory)):.0f} GiB)",
        f"# fit no {s.gpu.name} node shape with {s.tp} GPUs (tools/llmfleet/data/node_shapes.yaml). {s.tp} worker",
        "# processes, weight loading through host memory, and the 16Gi /dev/shm, which counts",
        "# against the limit. Memory request = limit.",
    ]
    for template in TEMPLATES:
        lines += _test_container(template)
        for section, name, value in (
            ("requests", "cpu", f'"{cpu_request}"'),
            ("requests", "memory", f"{memory}Gi"),
            ("limits", "cpu", f'"{cpu_limit}"'),
            ("limits", "memory", f"{memory}Gi"),
        ):
            lines += [
                "- op: replace",
                f"  path: /spec/leaderWorkerTemplate/{template}/spec/containers/0/resources/{section}/{name}",
                f"  value: {value}",
            ]
    return "\n".join(lines) + "\n"


def _patch_cache(sc: Scaffold, size: str) -> str:
    from llmfleet.scaffold import _format

    s = sc.plan.sizing
    return (
        "\n".join(
            [
                f"# {_format(s)} weights are ~{gib(s.weights_bytes):.0f} GiB: room for one more revision, in whole TiB",
                "# (Filestore basic tiers start at 1 TiB anyway). Every node of a group reads its stage here.",
                "apiVersion: v1",
                "kind: PersistentVolumeClaim",
                "metadata:",
                "  name: model-cache",
                "spec:",
                "  resources:",
                "    requests:",
                f"      storage: {size}",
            ]
        )
        + "\n"
    )


def _patch_max_replicas(sc: Scaffold) -> str:
    from llmfleet.scaffold import replicas_patch

    s = sc.plan.sizing
    total = sc.max_replicas * s.gpus
    return replicas_patch(
        sc,
        [
            f"# Up to {sc.max_replicas} groups x {s.pp} nodes x {s.tp} {s.gpu.name} = {total} GPUs. A replica "
            "of this ScaledObject is a whole",
            "# group (LeaderWorkerSet scale subresource). platform/resource-quota.yaml sums",
            "# maxReplicaCount x GPUs per group over all overlays (lint rule fleet-quota); a rollout",
            f"# surges one more group ({s.gpus} GPUs).",
        ],
    )


def render_files(
    sc: Scaffold, overlay_dir: Path, root: Path, shapes: node_shapes.Catalog | None = None
) -> dict[str, str]:
    """File name -> content of the multi-node overlay (deterministic)."""
    from llmfleet.scaffold import AUTOSCALING_PATCH, _patch_autoscaling

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
