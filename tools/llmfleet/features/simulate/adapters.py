"""Building the simulation's inputs from what the toolkit already knows.

* :func:`gpu_performance`: a GPU class's ``memory_bandwidth_gbps`` and ``bf16_tflops`` from
  ``llmfleet/data/gpus.yaml`` (read here until the fleet model's accelerators carry them);
* :func:`replica_from_sizing`: a :class:`~llmfleet.features.simulate.replica.ReplicaModel` from a
  :class:`llmfleet.sizing.Sizing` (weights, KV bytes per token, KV tokens), the serving
  settings and the pod's start-up.

Nothing here reads manifests; the fleet model hands over the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from llmfleet import DATA_DIR
from llmfleet.features.simulate.replica import ReplicaModel, ReplicaModelError, pod_startup_s
from llmfleet.kube import safe_yaml

GPUS_FILE = DATA_DIR / "gpus.yaml"
#: vLLM 0.33.0's --max-num-seqs default off the H100 class (docs/reference/vllm.md §2.2).
DEFAULT_MAX_NUM_SEQS = 256
#: ... and on GPUs of >= 70 GiB that are not A100s.
LARGE_GPU_MAX_NUM_SEQS = 1024


@cache
def _gpu_table() -> dict:
    data = safe_yaml.load(GPUS_FILE.read_text(encoding="utf-8")) or {}
    return data.get("gpus") or {}


def gpu_performance(gpu_class: str) -> tuple[float, float]:
    """``(memory_bandwidth_gbps, bf16_tflops)`` of one GPU of ``gpu_class``."""
    entry = _gpu_table().get(str(gpu_class).strip().lower())
    if entry is None:
        raise ReplicaModelError(
            f"{GPUS_FILE.name}: no GPU class {gpu_class!r} (known: {', '.join(_gpu_table())})"
        )
    try:
        return float(entry["memory_bandwidth_gbps"]), float(entry["bf16_tflops"])
    except KeyError as err:
        raise ReplicaModelError(f"{GPUS_FILE.name}: GPU class {gpu_class!r} has no {err.args[0]}") from None


def default_max_num_seqs(gpu_class: str, memory_gib: float) -> int:
    """vLLM's --max-num-seqs when serve.yaml leaves it unset (get_batch_defaults)."""
    if memory_gib >= 70 and not gpu_class.startswith("a100"):
        return LARGE_GPU_MAX_NUM_SEQS
    return DEFAULT_MAX_NUM_SEQS


def replica_from_sizing(
    sizing,
    max_model_len: int,
    *,
    load_s: float,
    startup_probe: Mapping[str, Any] | None = None,
    readiness_probe: Mapping[str, Any] | None = None,
    max_num_seqs: int | None = None,
    drain_s: float = 120.0,
    schedule_s: float = 0.0,
    bandwidth_efficiency: float = 1.0,
    compute_efficiency: float = 1.0,
    name: str = "",
) -> ReplicaModel:
    """A ReplicaModel for ``sizing`` (an :class:`llmfleet.sizing.Sizing`).

    ``load_s`` is the cold-load estimate (the toolkit's probe-startup need: 600 s plus 12 s per
    billion parameters above 8 B); the startup probe decides when (or whether) the pod turns
    Ready.  GPU rates come from gpus.yaml; the price from the catalog.
    """
    gpu = sizing.gpu
    bandwidth, tflops = gpu_performance(gpu.name)
    return ReplicaModel(
        params=float(sizing.model.params),
        weight_bytes=float(sizing.weights_bytes),
        kv_bytes_per_token=float(sizing.kv_bytes_per_token_per_gpu * sizing.tp * getattr(sizing, "pp", 1)),
        kv_tokens=int(sizing.kv_tokens),
        max_model_len=int(max_model_len),
        memory_bandwidth_gbps=bandwidth,
        bf16_tflops=tflops,
        startup_s=pod_startup_s(load_s, startup_probe, readiness_probe, schedule_s),
        gpus=int(sizing.tp * getattr(sizing, "pp", 1)),
        max_num_seqs=int(max_num_seqs or default_max_num_seqs(gpu.name, gpu.memory_gib)),
        drain_s=float(drain_s),
        price_per_gpu_hour=float(gpu.price_per_hour),
        bandwidth_efficiency=bandwidth_efficiency,
        compute_efficiency=compute_efficiency,
        name=name or f"{sizing.model.id} on {sizing.tp * getattr(sizing, 'pp', 1)} x {gpu.name}",
    )


__all__ = ["gpu_performance", "replica_from_sizing", "default_max_num_seqs", "GPUS_FILE"]
