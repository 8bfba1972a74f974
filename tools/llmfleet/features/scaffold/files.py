"""The files of a single-node overlay, rendered from the templates (llmfleet.features.scaffold.templates) with the numbers and phrases computed here; serve.yaml's and the ConfigMap generator's context are shared with the multi-node unit."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import yaml

from llmfleet.catalog import dtypes, sizing
from llmfleet.catalog import entries as catalog
from llmfleet.catalog.pricing.offer import (
    CPU_REQUEST_PER_GPU,
    MEMORY_GIB_PER_GPU,
    MEMORY_GIB_PER_GPU_BY_CLASS,
)
from llmfleet.features.scaffold import templates
from llmfleet.features.scaffold.plan import (
    COMMON_COMPONENTS,
    CPU_LIMIT_PER_GPU,
    NAMESPACE,
    PROBE_PERIOD_S,
    PROGRESS_MARGIN_S,
    WORDS,
    Scaffold,
    base_defaults,
    cache_gib,
    gib,
    startup_failures,
)
from llmfleet.model import autoscaling, overlay_sizing


def _scalar(value) -> str:
    """One YAML scalar, quoted only when YAML needs it (deterministic)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("...").strip()


def _format(s: sizing.Sizing) -> str:
    """How the weights are served: the quantization, else the dtype vLLM computes in (the
    one serve.yaml configures, not the checkpoint's)."""
    return s.quantization or s.model.quantization or dtypes.SHORT.get(s.dtype, s.dtype)


def _gpus(n: int, display: str) -> str:
    return f"one {display}" if n == 1 else f"{WORDS.get(n, str(n))} {display}"


def _kustomization(sc: Scaffold, base_rel: str, comp_rel: str, patches: list[str]) -> str:
    s = sc.plan.sizing
    return templates.render(
        "kustomization.yaml.j2",
        model_id=sc.model.id,
        weights_format=_format(s),
        gpus_text=_gpus(s.tp, s.gpu.display),
        tp=s.tp,
        namespace=NAMESPACE,
        name=sc.name,
        base_rel=base_rel,
        comp_rel=comp_rel,
        gpu_name=s.gpu.name,
        common_components=COMMON_COMPONENTS,
        patches=patches,
        autoscaling_patch=AUTOSCALING_PATCH,
        **_config_generator_context(sc, "base"),
    )


#: JSON patches need a target; strategic-merge patches find theirs by kind and name.
AUTOSCALING_PATCH = "patch-autoscaling-targets.yaml"


def scaler_targets(sc: Scaffold) -> autoscaling.ScalerTargets:
    s = sc.plan.sizing
    length = sc.plan.max_model_len
    per_request = math.ceil(s.kv_bytes_per_sequence_per_gpu(length) / s.kv_bytes_per_token_per_gpu)
    return autoscaling.derive_targets(
        s.kv_tokens,
        length,
        autoscaling.default_max_num_seqs(s.gpu.memory_gib, s.gpu.name),
        kv_tokens_per_request=min(per_request, length),
    )


def _patch_autoscaling(sc: Scaffold) -> str:
    """The base ScaledObject's two thresholds, derived from the sizing (JSON patch: each
    threshold is replaced only after a test of its trigger's name)."""
    t = scaler_targets(sc)
    return templates.render(
        "patch-autoscaling-targets.yaml.j2",
        multinode=sc.multinode,
        nodes=sc.nodes,
        reasoning=_wrap(t.reasoning),
        thresholds=list(t.thresholds().items()),
    )


def _wrap(paragraphs, width: int = 84) -> list[str]:
    import textwrap

    out: list[str] = []
    for text in paragraphs:
        wrapped = textwrap.wrap(text, width)
        out += [wrapped[0]] + ["  " + w for w in wrapped[1:]]
    return out


def _serve(sc: Scaffold) -> str:
    return templates.render("serve.yaml.j2", **serve_context(sc))


def serve_context(sc: Scaffold) -> dict[str, Any]:
    """What serve.yaml says of the model and its sizing (single- and multi-node)."""
    p = sc.plan
    s = p.sizing
    m = sc.model
    return {
        "model_yaml": _scalar(m.id),
        "served_yaml": _scalar(sc.served),
        "serve_dtype": p.serve_dtype,
        "requested_dtype": p.requested_dtype,
        "dtype": s.dtype,
        "checkpoint_dtype": dtypes.checkpoint_dtype(s.model) if p.serve_dtype else None,
        "gpu_name": s.gpu.name,
        "gpu_architecture": s.gpu.architecture,
        "gpu_display": s.gpu.display.replace("NVIDIA ", ""),
        "gpu_memory_gib": s.gpu.memory_gib,
        "quantization_written": bool(s.quantization and s.quantization != m.quantization),
        "quantization": s.quantization,
        "quantization_bytes": sizing.QUANTIZATION_BYTES.get(s.quantization or "", 0),
        "tp": s.tp,
        "pp": s.pp,
        "gpus": s.gpus,
        "weights_gib": gib(s.weights_bytes),
        "weights_gib_per_gpu": gib(s.weights_bytes_per_gpu),
        "weights_format": _format(s),
        "params_billion": m.params / 1e9,
        "gpu_memory_utilization": s.gpu_memory_utilization,
        "budget_gib": gib(s.budget_bytes_per_gpu),
        "overhead_gib": gib(s.overhead_bytes_per_gpu),
        "kv_cache_gib": gib(s.kv_cache_bytes_per_gpu),
        "kv_tokens_text": f"{s.kv_tokens:,}",
        "kv_kib_per_token": s.kv_bytes_per_token_per_gpu / 1024,
        "kv_bytes_per_token_text": f"{s.kv_bytes_per_token_per_gpu:,}",
        "kv_formula": _kv_formula(s),
        "concurrency": p.concurrency,
        "max_model_len": p.max_model_len,
        "context": m.context,
        "kv_cache_dtype": s.kv_cache_dtype,
    }


def _kv_formula(s: sizing.Sizing) -> str:
    m = s.model
    element = sizing.kv_bytes_per_element(m, s.kv_cache_dtype, s.dtype)
    layers = math.ceil(m.layers / s.pp)
    per_stage = f"{layers} layers" + (f" of {m.layers} (PP {s.pp})" if s.pp > 1 else "")
    if m.kv_latent_dim:
        return f"{per_stage} x latent {m.kv_latent_dim} x {element} B"
    return f"{per_stage} x {sizing.kv_heads_per_gpu(m, s.tp)} KV heads x {m.head_dim} x 2 x {element} B"


def _config_generator_context(sc: Scaffold, base_folder: str) -> dict[str, Any]:
    """What the kustomization's ConfigMap of serve.yaml needs: the served model name it is
    annotated with, the base whose transformers carry it into the queries, and for a model
    outside the catalog the sizing facts read from its config.json."""
    return {
        "base_folder": base_folder,
        "served_yaml": _scalar(sc.served),
        "sizing_annotation": _sizing_annotation(sc),
    }


def _sizing_annotation(sc: Scaffold) -> tuple[str, str] | None:
    """For a model outside the catalog: the annotation (key, JSON) of the sizing facts from its
    config.json, so every later command sizes it as new-model did (llmfleet.model.overlay_sizing)."""
    if catalog.find_model(sc.model.id) is not None:
        return None
    return overlay_sizing.ANNOTATION, json.dumps(overlay_sizing.encode(sc.model))


def _patch_max_replicas(sc: Scaffold) -> str:
    s = sc.plan.sizing
    return templates.render(
        "patch-max-replicas.yaml.j2",
        tp=s.tp,
        gpu_name=s.gpu.name,
        min_replicas=sc.min_replicas,
        max_replicas=sc.max_replicas,
    )


def _patch_gpu_count(sc: Scaffold) -> str:
    s = sc.plan.sizing
    return templates.render(
        "patch-gpu-count.yaml.j2", tp=s.tp, tp_word=WORDS.get(s.tp, str(s.tp)), gpu_name=s.gpu.name
    )


def _patch_resources(sc: Scaffold) -> str:
    tp = sc.plan.sizing.tp
    memory = MEMORY_GIB_PER_GPU_BY_CLASS.get(sc.plan.sizing.gpu.name, MEMORY_GIB_PER_GPU) * tp
    return templates.render(
        "patch-resources.yaml.j2",
        tp=tp,
        cpu_request=CPU_REQUEST_PER_GPU * tp,
        cpu_limit=CPU_LIMIT_PER_GPU * tp,
        memory_gib=memory,
    )


def _patch_scale_down(sc: Scaffold, window: int) -> str:
    return templates.render(
        "patch-scale-down-window.yaml.j2", weights_gib=gib(sc.plan.sizing.weights_bytes), window=window
    )


def _patch_startup(sc: Scaffold, failures: int, period: int = PROBE_PERIOD_S) -> str:
    window = failures * period
    return templates.render(
        "patch-startup-window.yaml.j2",
        weights_gib=gib(sc.plan.sizing.weights_bytes),
        failures=failures,
        period=period,
        window=window,
        progress_deadline=window + PROGRESS_MARGIN_S,
    )


def _patch_cache(sc: Scaffold, size: int) -> str:
    return templates.render(
        "patch-cache-size.yaml.j2",
        weights_format=_format(sc.plan.sizing),
        weights_gib=gib(sc.plan.sizing.weights_bytes),
        size_gib=size,
    )


def single_node_files(sc: Scaffold, overlay_dir: Path, root: Path) -> dict[str, str]:
    """File name -> content of a single-node overlay (deterministic)."""
    rel = os.path.relpath(root, overlay_dir).replace(os.sep, "/")
    base_rel, comp_rel = f"{rel}/base", f"{rel}/components"
    s = sc.plan.sizing
    files: dict[str, str] = {}
    patches: list[str] = []
    if s.tp > 1:
        files["patch-gpu-count.yaml"] = _patch_gpu_count(sc)
        files["patch-resources.yaml"] = _patch_resources(sc)
        patches += ["patch-gpu-count.yaml", "patch-resources.yaml"]
    base = base_defaults(root)
    weights = gib(s.weights_bytes)
    failures = startup_failures(sc.model, weights, base)
    if failures > base.startup_failures:
        files["patch-startup-window.yaml"] = _patch_startup(sc, failures, base.probe_period_s)
        patches.append("patch-startup-window.yaml")
    window = failures * base.probe_period_s
    if window > base.scale_down_window_s:
        files["patch-scale-down-window.yaml"] = _patch_scale_down(sc, window)
        patches.append("patch-scale-down-window.yaml")
    size = cache_gib(weights, base.cache_gib)
    if size > base.cache_gib:
        files["patch-cache-size.yaml"] = _patch_cache(sc, size)
        patches.append("patch-cache-size.yaml")
    files["patch-max-replicas.yaml"] = _patch_max_replicas(sc)
    patches.append("patch-max-replicas.yaml")
    files[AUTOSCALING_PATCH] = _patch_autoscaling(sc)
    patches.append(AUTOSCALING_PATCH)
    out = {"kustomization.yaml": _kustomization(sc, base_rel, comp_rel, patches), "serve.yaml": _serve(sc)}
    out.update(files)
    return out
