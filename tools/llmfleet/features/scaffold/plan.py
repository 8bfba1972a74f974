"""What new-model decides before it writes: its options, the scaffold (model, plan, replicas, names), the names and their bounds, the base's defaults the patches are measured against, the startup window and cache size, and the cost lines it prints."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmfleet.catalog import sizing
from llmfleet.catalog.entries import ModelSpec
from llmfleet.catalog.planning import Plan
from llmfleet.catalog.pricing.offer import (
    ClusterOffer,
    offer_for,
)
from llmfleet.catalog.sizing import GIB
from llmfleet.features.scaffold import pricing as scaffold_pricing
from llmfleet.infra.errors import UsageError
from llmfleet.kube import safe_yaml
from llmfleet.model import names as object_names
from llmfleet.model.scaling import KEDA_MAX_NAME
from llmfleet.model.vllm.startup import cold_load_for

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


def cache_gib(weights_gib: float, default: int = DEFAULT_CACHE_GIB) -> int:
    """PVC size: the weights twice (room for one more revision), in steps of 50 GiB."""
    return max(default, math.ceil(2 * weights_gib / 50) * 50)


def gib(value: float) -> float:
    return value / GIB


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


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
