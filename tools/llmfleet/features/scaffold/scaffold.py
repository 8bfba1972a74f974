"""``new-model``: size a model, write ``overlays/<name>/`` from templates, check it.

The overlay has the structure of the hand-written ones (``overlays/llama-3-1-8b-instruct``,
``mistral-7b-instruct-v0-3``, ``llama-3-1-70b-instruct``): the same base, the GPU component
of the chosen class, ``components/tensor-parallel`` when TP > 1, the model cache, API key,
network policy, egress policy and PDB components, ``serve.yaml`` in the generated ConfigMap,
named patches for the replica range, the GPU count, CPU/memory, the startup window and the
cache size where the model needs them, and always the KEDA thresholds derived from the
sizing (``patch-autoscaling-targets.yaml``, :mod:`llmfleet.model.autoscaling`).  Output is deterministic: the same options give the same
bytes.

Writing is a transaction (:mod:`llmfleet.infra.transaction`): under the repository's write lock,
the files go to ``overlays/.tmp-<name>-XXXX``, are checked there as overlay ``<name>``, the
gateway routes are regenerated with them into a temporary file, and only then is everything
renamed into place (with ``--force``, the old overlay aside first, deleted at the end).  On
a failed check, an error or a signal nothing is left changed; after a SIGKILL the next
``new-model`` or ``gateway-routes`` run restores or completes it and says which.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from llmfleet.catalog import dtypes, planning, sizing
from llmfleet.catalog import entries as catalog
from llmfleet.catalog import quantization as checkpoint_quantization
from llmfleet.catalog.entries import ModelSpec
from llmfleet.catalog.planning import Plan
from llmfleet.catalog.pricing.offer import (
    CPU_REQUEST_PER_GPU,
    MEMORY_GIB_PER_GPU,
    MEMORY_GIB_PER_GPU_BY_CLASS,
    ClusterOffer,
    offer_for,
)
from llmfleet.catalog.sizing import GIB
from llmfleet.features.scaffold import pricing as scaffold_pricing
from llmfleet.features.scaffold import templates
from llmfleet.infra import exitcodes
from llmfleet.infra.errors import UsageError
from llmfleet.kube import safe_yaml
from llmfleet.model import autoscaling, overlay_sizing
from llmfleet.model import names as object_names
from llmfleet.model.scaling import KEDA_MAX_NAME
from llmfleet.model.vllm.startup import cold_load_for
from llmfleet.pipeline.manifests import iter_documents

NAMESPACE = "inference"
#: Components every model overlay uses, in the order the hand-written overlays list them
#: (the GPU component and, for TP > 1, tensor-parallel come first).
COMMON_COMPONENTS = ("model-cache", "api-key", "network-policy", "egress-policy", "pdb", "smoke-test")
#: components/model-cache's PVC size; bigger models patch it.  Read from the repository
#: (:func:`base_defaults`); these are the fallbacks.
DEFAULT_CACHE_GIB = 50
#: base/deployment.yaml's startup probe (failureThreshold x periodSeconds).
BASE_STARTUP_FAILURES = 60
PROBE_PERIOD_S = 10
#: Rollout deadline beyond the startup window (base: 600 s window, 1200 s deadline).
PROGRESS_MARGIN_S = 600
#: Startup windows by weight size (GiB -> failureThreshold x 10 s): download, weight load,
#: torch.compile and CUDA-graph capture grow with the model (docs/reference/vllm.md §3.2, §5.9).  The
#: first tier is the base's own window; the scale-down stabilization window follows the
#: startup window (lint rule scaler-bounds: a replica must not be given back faster than
#: a new one can load).
STARTUP_TIERS = ((20, None), (60, 150), (160, 240), (math.inf, 360))
#: Per GPU of a multi-GPU pod (the 70B overlay: 4 GPUs -> 16/32 CPU, 192Gi).
#: The requests are defined once, with the pricing that bin-packs them (llmfleet.catalog.pricing.offer):
#: GKE g2-standard-24/48/96 (2/4/8 L4) have 96/192/384 GB, EKS g6.12xlarge/48xlarge
#: (4/8 L4) 192/768 GiB, so L4 and T4 pods ask 32/24 GiB per GPU.
CPU_LIMIT_PER_GPU = 8
#: Longest overlay name of a single-node overlay: the ScaledObject "<name>-server" must
#: leave room for KEDA's HPA "keda-hpa-<name>-server" (63): 54 - len("-server").  The bound
#: new-model enforces is computed from the objects the overlay renders
#: (:func:`name_limit`, llmfleet.model.names); this is the fallback and the default names' cap.
#: The smoke-test Job "<name>-smoke-test-<hash>" is tighter still: its pods carry the label
#: job-name (63), and kustomize's name hash has 10 characters (api/hasher encode()), which
#: components/smoke-test asks for on its Job (docs/reference/e2e.md §4).
SMOKE_TEST_HASH_LENGTH = 10
MAX_NAME = min(
    KEDA_MAX_NAME - len("-server"), object_names.LABEL_MAX - len("-smoke-test-") - SMOKE_TEST_HASH_LENGTH
)

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
WORDS = {1: "one", 2: "two", 4: "four", 8: "eight"}


@dataclass
class NewModelOptions:
    model_id: str
    name: str | None = None
    gpu: str | None = None
    tp: int | None = None
    max_model_len: int | None = None
    quantization: str | None = None
    kv_cache_dtype: str = "auto"
    gpu_memory_utilization: float = sizing.DEFAULT_GPU_MEMORY_UTILIZATION
    min_replicas: int = 1
    max_replicas: int | None = None
    dry_run: bool = False
    force: bool = False
    config_json: str | None = None
    params: str | None = None
    check: bool = True
    #: --dtype as vLLM takes it; None: auto, refusing combinations vLLM would refuse or
    #: silently run in float32.
    dtype: str | None = None
    #: --served-model-name: the name clients, the gateway and the metrics use (default:
    #: the model id); a second overlay of the same weights needs its own.
    served_model_name: str | None = None
    #: --nodes: nodes per replica (multi-node, LeaderWorkerSet); None: chosen by sizing.
    nodes: int | None = None


@dataclass
class Scaffold:
    """Everything new-model decided, before anything is written."""

    name: str
    model: ModelSpec
    plan: Plan
    min_replicas: int
    max_replicas: int
    files: dict[str, str] = field(default_factory=dict)

    served_model_name: str = ""
    #: The node shapes new-model planned with (the cluster's, from llmfleet.yaml, or the catalog's).
    shapes: Any = None
    #: The cluster it was priced for (cluster.cloud and cluster.node-shapes).
    offer: ClusterOffer | None = None
    #: The longest overlay name every object of this overlay allows, and why.
    name_limit: int = MAX_NAME
    name_limit_why: str = ""

    @property
    def gpus_per_pod(self) -> int:
        return self.plan.sizing.tp

    @property
    def nodes(self) -> int:
        return self.plan.sizing.pp

    @property
    def multinode(self) -> bool:
        return self.plan.sizing.pp > 1

    @property
    def served(self) -> str:
        return self.served_model_name or self.model.id


# -- names ---------------------------------------------------------------------------------


def default_name(model_id: str, limit: int = MAX_NAME) -> str:
    """A DNS-1123 label from the model id: ``Qwen/Qwen2.5-7B-Instruct`` -> ``qwen2-5-7b-instruct``."""
    base = model_id.rsplit("/", 1)[-1].lower()
    name = re.sub(r"[^a-z0-9]+", "-", base).strip("-")
    name = name[:limit].rstrip("-")
    if name and not name[0].isalpha():
        name = ("m-" + name)[:limit].rstrip("-")
    return name


def validate_name(name: str) -> str:
    """The name's form (a DNS-1123 label starting with a letter); its length is checked
    against the objects the overlay renders (:func:`check_name_length`)."""
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise UsageError(f"--name {name!r}: must be a plain folder name under overlays/, not a path")
    if not DNS1123_LABEL.match(name) or len(name) > 63:
        raise UsageError(
            f"--name {name!r}: not a DNS-1123 label (lowercase letters, digits and "
            "'-', starting and ending with a letter or digit, at most 63 characters)"
        )
    if not name[0].isalpha():
        raise UsageError(
            f"--name {name!r}: must start with a letter (the Service {name}-server is a DNS-1035 label)"
        )
    return name


def check_name_length(name: str, limit: int, why: str) -> None:
    """Exit 2 with the limit when an object name derived from ``name`` would be too long."""
    if len(name) > limit:
        raise UsageError(
            f"--name {name!r} has {len(name)} characters: at most {limit} for this "
            f"overlay, because {why}. Pass a shorter --name"
        )


def overlay_path(overlays_dir: Path, name: str) -> Path:
    target = (overlays_dir / name).resolve()
    if target.parent != overlays_dir.resolve():
        raise UsageError(f"--name {name!r}: resolves to {target}, outside {overlays_dir}")
    return target


# -- templates -----------------------------------------------------------------------------


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


@dataclass(frozen=True)
class BaseDefaults:
    """The values of base/ and components/ that the patches are measured against."""

    startup_failures: int = BASE_STARTUP_FAILURES
    probe_period_s: int = PROBE_PERIOD_S
    scale_down_window_s: int = 600
    cache_gib: int = DEFAULT_CACHE_GIB


def base_defaults(root: Path) -> BaseDefaults:
    """Read the startup probe, scale-down window and cache size from the repository, so the
    scaffold patches exactly what the base does not cover; fallbacks where unreadable."""
    d = BaseDefaults()
    values = {}

    def load(rel: str) -> dict:
        try:
            text = (root / rel).read_text(encoding="utf-8")
            data = safe_yaml.load(text, semantics=safe_yaml.KUBERNETES)
        except (OSError, UnicodeDecodeError, safe_yaml.UnsafeYAML):
            return {}
        return data if isinstance(data, dict) else {}

    containers = (
        ((load("base/deployment.yaml").get("spec") or {}).get("template") or {}).get("spec") or {}
    ).get("containers") or []
    probe = (
        next(
            (c.get("startupProbe") for c in containers if isinstance(c, dict) and c.get("name") == "vllm"),
            None,
        )
        or {}
    )
    if isinstance(probe.get("failureThreshold"), int):
        values["startup_failures"] = probe["failureThreshold"]
    if isinstance(probe.get("periodSeconds"), int):
        values["probe_period_s"] = probe["periodSeconds"]
    window = (
        (
            (
                ((load("base/scaledobject.yaml").get("spec") or {}).get("advanced") or {}).get(
                    "horizontalPodAutoscalerConfig"
                )
                or {}
            ).get("behavior")
            or {}
        ).get("scaleDown")
        or {}
    ).get("stabilizationWindowSeconds")
    if isinstance(window, int):
        values["scale_down_window_s"] = window
    storage = str(
        (
            ((load("components/model-cache/pvc.yaml").get("spec") or {}).get("resources") or {}).get(
                "requests"
            )
            or {}
        ).get("storage", "")
    )
    if re.fullmatch(r"\d+Gi", storage):
        values["cache_gib"] = int(storage[:-2])
    return BaseDefaults(**{**d.__dict__, **values})


def startup_failures(model: ModelSpec, weights_gib: float, base: BaseDefaults = BaseDefaults()) -> int:
    """failureThreshold of the startup probe: the weight-size tier, at least the cold-load
    need of lint rule probe-startup, never below the base."""
    tier = next(n for limit, n in STARTUP_TIERS if weights_gib <= limit) or base.startup_failures
    need_s = cold_load_for(weights_gib).seconds  # the rule probe-startup's definition
    return max(tier, base.startup_failures, math.ceil(need_s / base.probe_period_s))


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


def cache_gib(weights_gib: float, default: int = DEFAULT_CACHE_GIB) -> int:
    """PVC size: the weights twice (room for one more revision), in steps of 50 GiB."""
    return max(default, math.ceil(2 * weights_gib / 50) * 50)


def _patch_cache(sc: Scaffold, size: int) -> str:
    return templates.render(
        "patch-cache-size.yaml.j2",
        weights_format=_format(sc.plan.sizing),
        weights_gib=gib(sc.plan.sizing.weights_bytes),
        size_gib=size,
    )


def gib(value: float) -> float:
    return value / GIB


def render_files(sc: Scaffold, overlay_dir: Path, root: Path) -> dict[str, str]:
    """File name -> content of the overlay (deterministic)."""
    if sc.multinode:
        from llmfleet.features.scaffold import multinode as scaffold_multinode

        return scaffold_multinode.render_files(sc, overlay_dir, root, sc.shapes)
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


# -- planning --------------------------------------------------------------------------------


def prepare(
    options: NewModelOptions,
    overlays_dir: Path,
    root: Path,
    shapes: Any = None,
    offer: ClusterOffer | None = None,
) -> Scaffold:
    """Validate the input, size the model and render the files; writes nothing (the object
    names are measured in a throw-away render outside the repository)."""
    model_id = (options.model_id or "").strip()
    if not MODEL_ID.match(model_id):
        raise UsageError(
            f"model {options.model_id!r}: expected a Hugging Face id such as Qwen/Qwen2.5-7B-Instruct"
        )
    served = validate_served_name(options.served_model_name)
    if options.name is not None:
        name = validate_name(options.name)
    else:
        name = validate_name(default_name(served or model_id))
    target = overlay_path(overlays_dir, name)
    if target.exists() and not options.force:
        raise UsageError(f"overlay {_display(target, root)} already exists; pass --force to replace it")
    if options.min_replicas < 1:
        raise UsageError(
            f"--min-replicas {options.min_replicas}: at least 1 (a GPU model's cold "
            "start takes 10-40 min, so the base never scales to zero)"
        )
    model = catalog.resolve_model(model_id, options.config_json, options.params)
    if offer is None:
        offer = ClusterOffer((), shapes, True) if shapes is not None else offer_for(None)
    quantization = sizing.normalize_quantization(options.quantization)
    if (
        quantization
        and model.quantization
        and not checkpoint_quantization.compatible(model.quantization, quantization)
    ):
        raise UsageError(
            f"--quantization {quantization}: {model_id} is a {model.quantization} checkpoint"
            + (f" ({model.quant_scheme})" if model.quant_scheme else "")
            + ', and vLLM refuses a --quantization that names another method ("Quantization method '
            'specified in the model config ... does not match"); leave --quantization out: vLLM '
            "reads the method from the checkpoint's quantization_config"
        )
    if (
        quantization in ("awq", "awq_marlin", "gptq", "gptq_marlin")
        and (model.quantization or "").split("_")[0] != quantization.split("_")[0]
    ):
        raise UsageError(
            f"--quantization {quantization}: needs a checkpoint quantized with it "
            f"(e.g. {model_id}-AWQ with its config.json via --config-json); "
            f"{model_id} is {model.quantization or model.dtype}"
        )
    if quantization is None and model.quantization in sizing.QUANTIZATION_BYTES:
        quantization = model.quantization
    plan = planning.plan(
        model,
        gpu=options.gpu,
        tp=options.tp,
        max_model_len=options.max_model_len,
        quantization=quantization,
        kv_cache_dtype=options.kv_cache_dtype,
        gpu_memory_utilization=options.gpu_memory_utilization,
        dtype=options.dtype or "auto",
        nodes=options.nodes,
        shapes=shapes if shapes is not None or not offer.clouds else offer.catalog,
        price_of=scaffold_pricing.price_function(offer),
        unavailable=offer.unavailable,
    )
    max_replicas = (
        options.max_replicas if options.max_replicas is not None else (4 if plan.sizing.gpus == 1 else 2)
    )
    if max_replicas < options.min_replicas:
        raise UsageError(f"--max-replicas {max_replicas} is below --min-replicas {options.min_replicas}")
    sc = Scaffold(
        name,
        model,
        plan,
        options.min_replicas,
        max_replicas,
        served_model_name=served or "",
        shapes=shapes,
        offer=offer,
    )
    sc.files = render_files(sc, overlays_dir / name, root)
    sc.name_limit, sc.name_limit_why = name_limit(sc, root, overlays_dir)
    check_name_length(name, sc.name_limit, sc.name_limit_why)
    check_served_name_is_free(sc, overlays_dir, options.force)
    return sc


#: What a served model name may contain (vLLM takes any string; the gateway routes by it
#: and PromQL selects on it, so keep to the characters Hugging Face ids use).
SERVED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$")


def validate_served_name(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not SERVED_NAME.match(text):
        raise UsageError(
            f"--served-model-name {value!r}: letters, digits and . _ : / - (at most 200, "
            "starting with a letter or digit), as in a Hugging Face id"
        )
    return text


def served_names_of(overlay: Path) -> list[str]:
    """The served model names an overlay declares (its serve.yaml, else the annotation)."""
    names: list[str] = []
    try:
        serve = safe_yaml.load((overlay / "serve.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, safe_yaml.UnsafeYAML):
        serve = None
    if isinstance(serve, dict):
        value = serve.get("served-model-name", serve.get("served_model_name"))
        if isinstance(value, str):
            names.append(value)
        elif isinstance(value, list):
            names += [str(v) for v in value]
        elif isinstance(serve.get("model"), str):
            names.append(serve["model"])
    return names


def check_served_name_is_free(sc: Scaffold, overlays_dir: Path, force: bool) -> None:
    """Exit 2 when another overlay already serves this name: two overlays of one name would
    fail fleet-duplicate-model (the gateway and the metrics could not tell them apart)."""
    if not overlays_dir.is_dir():
        return
    for other in sorted(overlays_dir.iterdir()):
        # The overlay being replaced (--force) does not count.
        if not other.is_dir() or other.name.startswith(".") or other.name == sc.name:
            continue
        if sc.served in served_names_of(other):
            raise UsageError(
                f"overlay {other.name} already serves model name {sc.served!r}; a second overlay of "
                f"the same weights (another GPU class, another max length) needs its own name: pass "
                f"--served-model-name (e.g. {sc.served.rsplit('/', 1)[-1].lower()}-{sc.plan.sizing.gpu.name}) "
                "and --name"
            )


def name_limit(sc: Scaffold, root: Path, overlays_dir: Path | None = None) -> tuple[int, str]:
    """The longest overlay name the objects of ``sc.files`` allow (llmfleet.model.names),
    measured on a render of the files in a temporary folder outside the repository (kept in
    the render cache under the overlay's own key: a later run, or a check of the written
    overlay, does not render them again); the ScaledObject's KEDA bound when no renderer
    can run."""
    from llmfleet.infra.errors import ToolError
    from llmfleet.model.k8s import Resource
    from llmfleet.pipeline.render import find_renderer, render
    from llmfleet.pipeline.render_cache import RenderCache

    fallback = (
        MAX_NAME,
        f"the ScaledObject {sc.name}-server must leave room for KEDA's HPA keda-hpa-{sc.name}-server (63)",
    )
    if sc.multinode:
        worker = f"-group-{max(0, sc.max_replicas - 1)}"
        fallback = (
            object_names.STATEFULSET_MAX - len(worker),
            f"the worker StatefulSet {sc.name}{worker} may have at most "
            f"{object_names.STATEFULSET_MAX} characters (controller-revision-hash label)",
        )
    # The smoke-test Job <name>-smoke-test-<10-character content hash> (components/smoke-test).
    smoke_test = object_names.LABEL_MAX - len("-smoke-test-") - SMOKE_TEST_HASH_LENGTH
    if smoke_test <= fallback[0]:
        fallback = (
            smoke_test,
            f"the smoke-test Job {sc.name}-smoke-test-<hash> may have at most "
            f"{object_names.LABEL_MAX} characters (its pods carry the label job-name)",
        )
    try:
        cache = RenderCache(root, find_renderer(), enabled=os.environ.get("LLMFLEET_NO_CACHE") != "1")
    except ToolError:
        return fallback
    key = None
    if overlays_dir is not None:
        with contextlib.suppress(ValueError):
            relative = (overlays_dir / sc.name).resolve().relative_to(cache.root).as_posix()
            key = cache.key_of_files(relative, sc.files)
    text = cache.lookup(key)
    if text is None:
        with tempfile.TemporaryDirectory(prefix="llmfleet-new-model-") as tmp:
            folder = Path(tmp) / sc.name
            folder.mkdir()
            for filename, content in render_files(sc, folder, root).items():
                (folder / filename).write_text(content, encoding="utf-8")
            try:
                rendered = render(folder, cache.renderer)
            except ToolError:
                return fallback
        if not rendered.ok:
            return fallback
        text = rendered.text
        cache.store(key, text)
    docs = [
        item[1]
        for item in iter_documents(text, "<rendered>")
        if isinstance(item, tuple) and isinstance(item[1], dict)
    ]
    resources = [Resource(d, "<rendered>", i) for i, d in enumerate(docs)]
    groups = {f"{sc.name}-group": sc.max_replicas} if sc.multinode else {}
    found = object_names.limits(resources, groups)
    bound, binding = object_names.name_bound(found, sc.name)
    if binding is None:
        return fallback
    derived = binding.name.replace(sc.name, "<name>", 1)
    return bound, (
        f"{binding.resource.kind} {derived} may have at most {binding.limit} characters: {binding.why}"
    )


def describe_cost(sc: Scaffold) -> list[str]:
    s = sc.plan.sizing
    gpus = s.gpus
    lines = scaffold_pricing.cost_lines(s, sc.offer or offer_for(None), sc.min_replicas, sc.max_replicas)
    lines.append(
        f"quota      up to {sc.max_replicas} x {gpus} = {sc.max_replicas * gpus} GPUs at max replicas "
        f"(+{gpus} while a rollout surges): platform/resource-quota.yaml must have room "
        "(lint rule fleet-quota)"
    )
    return lines


# -- writing ---------------------------------------------------------------------------------


def write_overlay(
    overlays_dir: Path,
    name: str,
    files: dict[str, str],
    force: bool,
    after: Callable[[Path], bool] | None = None,
) -> Path:
    """Write ``files`` as ``overlays_dir/name`` as one transaction, without the routes (the
    module docstring; ``run_new_model`` is the whole command).

    ``after(staged)`` runs on the staged overlay before anything is renamed into place; when
    it returns False nothing is written.
    """
    from llmfleet.infra.transaction import OverlayTransaction

    target = overlays_dir / name
    if target.exists() and not force:
        raise UsageError(f"overlay {target} already exists; pass --force to replace it")
    txn = OverlayTransaction(overlays_dir.parent, overlays_dir, name)
    try:
        staged = txn.stage(files)
        if after is not None and not after(staged):
            txn.abort()
            return target
        txn.commit()
    except BaseException:
        txn.abort()
        raise
    return target


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def run_new_model(config, options: NewModelOptions, echo: Callable[..., None]) -> int:
    """The whole command; returns the exit code.  ``echo(text, err=False)`` prints."""
    root = config.root
    overlays_dir = config.overlays_path
    shapes = None
    cluster = getattr(config, "cluster", None)
    if cluster is not None and cluster.node_shapes:
        from llmfleet.catalog.node_shapes import cluster_shapes

        shapes = cluster_shapes(cluster.node_shapes)
    sc = prepare(options, overlays_dir, root, shapes, scaffold_pricing.cluster_offer(config))
    rel = _display(overlays_dir / sc.name, root)
    echo(f"new-model {sc.model.id} -> {rel}/")
    for line in planning.describe(sc.plan) + describe_cost(sc):
        echo("  " + line)
    if sc.model.gated:
        echo(
            f"  gated      {sc.model.id} is gated on Hugging Face: the Secret hf-token must hold a "
            "token with access (docs/deploying.md)"
        )
    if sc.multinode:
        from llmfleet.features.scaffold import multinode as scaffold_multinode

        for note in scaffold_multinode.notes(sc, root):
            echo(f"  note       {note}")
    if options.dry_run:
        for filename in sorted(sc.files):
            echo(f"--- {rel}/{filename}")
            echo(sc.files[filename], nl=False)
        return _dry_run_check(config, sc, options, rel, echo)

    from llmfleet.infra.transaction import OverlayTransaction, recover, repository_lock

    with repository_lock(root, config.limits.lock_timeout_s, echo, f"writing {rel}/"):
        for note in recover(root, overlays_dir, _routes_file(config)):
            echo(f"llmfleet: recovered: {note}", err=True)
        if (overlays_dir / sc.name).exists() and not options.force:  # written meanwhile
            raise UsageError(f"overlay {rel} already exists; pass --force to replace it")
        check_served_name_is_free(sc, overlays_dir, options.force)  # another run's, meanwhile
        txn = OverlayTransaction(root, overlays_dir, sc.name, routes_file=_routes_file(config))
        try:
            return _write_checked(config, options, sc, txn, echo)
        except KeyboardInterrupt as exc:
            txn.abort()
            name = getattr(exc, "signal_name", "")
            echo(f"llmfleet: interrupted{f' ({name})' if name else ''}; {txn.describe_interrupt()}", err=True)
            exc.llmfleet_reported = True  # type: ignore[attr-defined]
            raise
        except BaseException:
            txn.abort()
            raise


def _routes_file(config) -> str:
    """The gateway routes file new-model regenerates ("" when the repository has none)."""
    from llmfleet.features.gateway_routes import routes_path

    return routes_path(config)


def _write_checked(config, options: NewModelOptions, sc: Scaffold, txn, echo) -> int:
    """Stage the overlay, check it, stage the routes, rename everything into place."""
    from llmfleet.features.gateway_routes import expected_text
    from llmfleet.infra.transaction import fault_point

    rel = _display(config.overlays_path / sc.name, config.root)
    s = sc.plan.sizing
    staged = txn.stage(sc.files)
    outcome: dict = {}
    if options.check:
        fault_point("checking")
        outcome = _check(config, staged, sc.name, sc.files)
        if outcome["own_errors"]:
            txn.abort()
            echo(outcome["text"], err=True, nl=False)
            echo(
                f"llmfleet: error: the generated overlay fails `llmfleet check {rel}` "
                f"({len(outcome['own_errors'])} error(s) above); nothing was written",
                err=True,
            )
            return exitcodes.FINDINGS
    routes_line = ""
    if txn.routes_file:
        try:
            text, count = expected_text(
                config,
                staged=(sc.name, staged),
                render_aliases=render_aliases(config, staged, sc.name, sc.files),
            )
        except UsageError as exc:
            txn.abort()
            echo(
                f"llmfleet: error: cannot regenerate {txn.routes_file} with the new overlay: {exc}; "
                f"nothing was written",
                err=True,
            )
            return exitcodes.FINDINGS
        txn.stage_routes(text)
        routes_line = (
            f"routes     wrote {txn.routes_file} ({text.count('- name: ')} models from {count} overlays)"
        )
    txn.commit()
    if not options.check:
        echo(f"wrote {rel}/ ({', '.join(sorted(sc.files))}); check skipped")
        if routes_line:
            echo(routes_line)
        return exitcodes.OK
    echo(f"wrote {rel}/ ({', '.join(sorted(sc.files))})")
    if routes_line:
        echo(routes_line)
    report = outcome["report"]
    summary = report.summary()
    if outcome["other_errors"]:
        echo(outcome["text"], err=True, nl=False)
        echo(
            f"llmfleet: the overlay is written and passes its own checks, but `llmfleet check {rel}` "
            f"fails on fleet-wide findings ({len(outcome['other_errors'])} error(s) above, e.g. the "
            f"GPU quota: this model adds up to {sc.max_replicas} x {s.gpus} = "
            f"{sc.max_replicas * s.gpus} GPUs); fix them before merging",
            err=True,
        )
        return exitcodes.FINDINGS
    if summary["warnings"]:
        echo(outcome["text"], nl=False)
    echo(
        f"check      llmfleet check {rel}: passed ({summary['errors']} errors, "
        f"{summary['warnings']} warnings)"
    )
    return exitcodes.OK


def _dry_run_check(config, sc: Scaffold, options: NewModelOptions, rel: str, echo) -> int:
    """The checks of the real run on the files it would write, and the exit code it would
    give: `llmfleet check` of the overlay, rendered from a temporary folder outside the
    repository under the overlay's own name, with the other overlays as context."""
    if not options.check:
        echo("dry run: nothing written; check skipped")
        return exitcodes.OK
    outcome = check_files(config, sc)
    if outcome["own_errors"]:
        echo(outcome["text"], err=True, nl=False)
        echo(
            f"llmfleet: error: dry run: the generated overlay would fail `llmfleet check {rel}` "
            f"({len(outcome['own_errors'])} error(s) above); nothing written",
            err=True,
        )
        return exitcodes.FINDINGS
    if outcome["other_errors"]:
        echo(outcome["text"], err=True, nl=False)
        echo(
            f"llmfleet: dry run: `llmfleet check {rel}` would fail on fleet-wide findings "
            f"({len(outcome['other_errors'])} error(s) above); nothing written",
            err=True,
        )
        return exitcodes.FINDINGS
    summary = outcome["report"].summary()
    echo(
        f"check      llmfleet check {rel} (dry run): passed ({summary['errors']} errors, "
        f"{summary['warnings']} warnings)"
    )
    echo("dry run: nothing written")
    return exitcodes.OK


def check_files(config, sc: Scaffold) -> dict:
    """`llmfleet check` of an overlay that is not written (``--dry-run``): its files rendered
    into a temporary folder named like the overlay, outside the repository (the paths to
    base/ and components/ made relative to it), checked as :func:`_check` checks a staged
    overlay, so that the dry run exits as the real run would."""
    with tempfile.TemporaryDirectory(prefix="llmfleet-dry-run-") as tmp:
        folder = Path(tmp) / sc.name
        folder.mkdir()
        for filename, text in render_files(sc, folder, config.root).items():
            (folder / filename).write_text(text, encoding="utf-8")
        return _check(config, folder, sc.name, sc.files)


def render_aliases(
    config, folder: Path, name: str, files: dict[str, str] | None
) -> dict[Path, tuple[str, dict[str, str]]]:
    """``folder`` (a staged or temporary copy of ``files``) rendered under the cache key of
    ``overlays/<name>`` written with ``files`` (llmfleet.pipeline.render_cache)."""
    if files is None:
        return {}
    try:
        final = (config.overlays_path / name).resolve().relative_to(config.root.resolve()).as_posix()
    except ValueError:
        return {}
    return {folder: (final, files)}


def _check(config, target: Path, name: str, files: dict[str, str] | None = None) -> dict:
    """``llmfleet check`` of the overlay staged in ``target`` as overlay ``name``: its own
    errors (the new overlay cannot be written) and the fleet's (it is written, exit 1).
    With ``files`` (the overlay's files as written in ``overlays/<name>/``), the render is
    cached under the written overlay's key: the one that measured the names serves it."""
    from dataclasses import replace

    from llmfleet.infra.findings import Severity
    from llmfleet.pipeline.reporters import REPORTERS
    from llmfleet.pipeline.runner import Options, run_check_staged

    options = Options(render_aliases=render_aliases(config, target, name, files))
    report = run_check_staged(config, name, target, options)
    staged_rel = _display(target, config.root)
    final_rel = _display(config.overlays_path / name, config.root)
    # The gateway's routes are regenerated with the overlay; findings name its final place.
    report.findings = [
        replace(f, file=final_rel + f.file[len(staged_rel) :]) if f.file.startswith(staged_rel + "/") else f
        for f in report.findings
        if f.rule != "gateway-routes-stale"
    ]
    errors = [f for f in report.findings if f.severity == Severity.ERROR]
    # Serving a model another overlay serves is this overlay's error, whichever of the two
    # the fleet rule names (two runs for the same model under different names).
    own = [
        f
        for f in errors
        if f.overlay == name or (f.rule == "fleet-duplicate-model" and f"overlay {name!r}" in f.message)
    ]
    others = [f for f in errors if f not in own]
    return {"report": report, "own_errors": own, "other_errors": others, "text": REPORTERS["text"](report)}
