"""One vLLM replica as the simulation sees it: how many sequences it holds, how fast it serves
them (a roofline estimate, not a measurement), how long a new one takes to become Ready.

The formulas and their assumptions are in docs/reference/roofline.md.  In short, for requests
of ``I`` input and ``O`` output tokens on a replica of ``g`` GPUs:

* **batch limit** ``B_max = min(max_num_seqs, floor(kv_tokens / (I + O)))``: every running
  sequence keeps its KV blocks until it finishes (no preemption);
* **step time** of a continuous batch of ``B`` decoding sequences that also carries its share of
  chunked prefill (``B x I / O`` prompt tokens per step in steady state)::

      t(B) = max( (W + B x (I + O/2) x k) / (g x BW),   2 x P x B x (I + O) / O / (g x F) )

  W weight bytes, k KV bytes per token, P parameters, BW memory bandwidth and F dense bf16
  FLOP/s per GPU (times the efficiency factors, 1.0 = the pure roofline);
* **throughput** ``X(B) = B / (O x t(B))`` requests per second; **prefill** of ``n`` tokens
  alone: ``2 x P x n / (g x F)``; **decode step** of ``B`` sequences at context ``c`` alone:
  ``max((W + B x c x k) / (g x BW), 2 x P x B / (g x F))``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

GB = 1e9
TFLOP = 1e12


class ReplicaModelError(ValueError):
    """A ReplicaModel field out of range; the message names it."""


@dataclass(frozen=True)
class ReplicaModel:
    """Per-replica numbers (a replica = one pod = ``gpus`` GPUs running one vLLM instance)."""

    params: float  # model parameters (for FLOPs)
    weight_bytes: float  # all weights, every GPU together
    kv_bytes_per_token: float  # KV cache bytes of one token, every GPU together
    kv_tokens: int  # tokens of KV cache the instance holds
    max_model_len: int  # --max-model-len
    memory_bandwidth_gbps: float  # per GPU, GB/s (1e9 bytes)
    bf16_tflops: float  # per GPU, dense bf16 TFLOP/s
    startup_s: float | None  # pod creation -> Ready; None: never Ready (startup probe)
    gpus: int = 1
    max_num_seqs: int = 256  # --max-num-seqs
    drain_s: float = 120.0  # --shutdown-timeout: in-flight requests finish within it
    price_per_gpu_hour: float = 0.0
    bandwidth_efficiency: float = 1.0
    compute_efficiency: float = 1.0
    #: Fixed time every engine step costs besides the roofline (scheduling, sampling, the
    #: tensor-parallel all-reduces): 0 for the pure roofline; set by the calibration.
    step_overhead_s: float = 0.0
    #: Tensor-core speed-up of the weights' format over bf16 (2 for FP8 on FP8 tensor cores).
    compute_speedup: float = 1.0
    #: Every step's time multiplied by this (a measurement's correction of the model).
    time_scale: float = 1.0
    #: Where the speed comes from: "roofline", "calibrated" or "measured".
    basis: str = "roofline"
    name: str = ""

    def __post_init__(self):
        for field_name in (
            "params",
            "weight_bytes",
            "kv_bytes_per_token",
            "memory_bandwidth_gbps",
            "bf16_tflops",
        ):
            value = getattr(self, field_name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ReplicaModelError(
                    f"ReplicaModel.{field_name}: must be a positive number, got {value!r}"
                )
        for field_name in ("kv_tokens", "max_model_len", "gpus", "max_num_seqs"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ReplicaModelError(
                    f"ReplicaModel.{field_name}: must be a whole number > 0, got {value!r}"
                )
        if self.startup_s is not None and not (math.isfinite(self.startup_s) and self.startup_s >= 0):
            raise ReplicaModelError(f"ReplicaModel.startup_s: must be >= 0 or None, got {self.startup_s!r}")
        if not (math.isfinite(self.drain_s) and self.drain_s >= 0):
            raise ReplicaModelError(f"ReplicaModel.drain_s: must be >= 0, got {self.drain_s!r}")
        if not (math.isfinite(self.price_per_gpu_hour) and self.price_per_gpu_hour >= 0):
            raise ReplicaModelError("ReplicaModel.price_per_gpu_hour: must be >= 0")
        if not (math.isfinite(self.step_overhead_s) and self.step_overhead_s >= 0):
            raise ReplicaModelError(
                f"ReplicaModel.step_overhead_s: must be >= 0, got {self.step_overhead_s!r}"
            )
        if not (math.isfinite(self.time_scale) and self.time_scale > 0):
            raise ReplicaModelError(f"ReplicaModel.time_scale: must be > 0, got {self.time_scale!r}")
        if not (math.isfinite(self.compute_speedup) and self.compute_speedup >= 1):
            raise ReplicaModelError(
                f"ReplicaModel.compute_speedup: must be >= 1, got {self.compute_speedup!r}"
            )
        for field_name in ("bandwidth_efficiency", "compute_efficiency"):
            value = getattr(self, field_name)
            if not 0 < value <= 1:
                raise ReplicaModelError(f"ReplicaModel.{field_name}: must be in (0, 1], got {value!r}")

    # -- hardware rates of the whole replica ------------------------------------------------
    @property
    def bandwidth(self) -> float:
        """Bytes per second the replica reads (all GPUs)."""
        return self.gpus * self.memory_bandwidth_gbps * GB * self.bandwidth_efficiency

    @property
    def flops(self) -> float:
        """FLOP per second the replica computes (all GPUs)."""
        return self.gpus * self.bf16_tflops * TFLOP * self.compute_efficiency * self.compute_speedup

    # -- roofline ----------------------------------------------------------------------------
    def prefill_s(self, tokens: float) -> float:
        """Compute-bound prefill of ``tokens`` prompt tokens: 2 x P x n / F."""
        return 2 * self.params * tokens / self.flops * self.time_scale

    def decode_step_s(self, batch: float, context_tokens: float) -> float:
        """One decode step of ``batch`` sequences of ``context_tokens`` each."""
        memory = (self.weight_bytes + batch * context_tokens * self.kv_bytes_per_token) / self.bandwidth
        compute = 2 * self.params * batch / self.flops
        return (max(memory, compute) + self.step_overhead_s) * self.time_scale

    def step_s(self, batch: float, input_tokens: float, output_tokens: float) -> float:
        """A steady-state step of ``batch`` decoding sequences with their chunked prefill."""
        context = input_tokens + output_tokens / 2
        memory = (self.weight_bytes + batch * context * self.kv_bytes_per_token) / self.bandwidth
        compute = 2 * self.params * batch * (input_tokens + output_tokens) / output_tokens / self.flops
        return (max(memory, compute) + self.step_overhead_s) * self.time_scale

    def batch_limit(self, input_tokens: float, output_tokens: float) -> int:
        """Sequences of this length the replica runs at once (KV cache and --max-num-seqs)."""
        return max(0, min(self.max_num_seqs, int(self.kv_tokens // (input_tokens + output_tokens))))

    @property
    def max_concurrency_at_max_len(self) -> float:
        """Sequences of max-model-len that fit the KV cache (vLLM's "Maximum concurrency")."""
        return self.kv_tokens / self.max_model_len

    def throughput(self, batch: float, input_tokens: float, output_tokens: float) -> float:
        """Requests per second completed with ``batch`` sequences running."""
        if batch <= 0:
            return 0.0
        return batch / (output_tokens * self.step_s(batch, input_tokens, output_tokens))

    def capacity_rps(self, input_tokens: float, output_tokens: float) -> float:
        """The most requests per second one replica serves (at its batch limit)."""
        return self.throughput(self.batch_limit(input_tokens, output_tokens), input_tokens, output_tokens)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pod_startup_s(
    load_s: float,
    startup_probe: Mapping[str, Any] | None = None,
    readiness_probe: Mapping[str, Any] | None = None,
    schedule_s: float = 0.0,
) -> float | None:
    """Seconds from pod creation to Ready, or None when the startup probe gives up first.

    The server listens after ``load_s`` seconds of loading (download, weights, compile, CUDA
    graphs).  The kubelet probes ``periodSeconds`` apart after ``initialDelaySeconds`` (its first
    probe comes after a random part of a period; counted here as a whole one, so the window is
    ``initialDelaySeconds + failureThreshold x periodSeconds``, the figure Kubernetes documents
    and lint rule probe-startup uses).  The first probe at or after the load succeeds; when the
    ``failureThreshold``-th probe still fails the container is restarted (and loads again,
    forever): None.  The readiness probe then passes within one of its periods.  ``schedule_s``
    covers scheduling, node provisioning and the image pull.  Probe defaults are the API's
    (period 10 s, threshold 3, delay 0).
    """
    if not (math.isfinite(load_s) and load_s >= 0):
        raise ReplicaModelError(f"load time must be >= 0 seconds, got {load_s!r}")
    probe = dict(startup_probe or {})
    delay = float(probe.get("initialDelaySeconds", 0) or 0)
    period = float(probe.get("periodSeconds", 10) or 10)
    threshold = int(probe.get("failureThreshold", 3) or 3)
    if startup_probe is None:
        success = load_s
    else:
        probes = max(1, math.ceil((load_s - delay) / period))  # the probe that succeeds
        if probes > threshold:
            return None
        success = delay + probes * period
    readiness_period = (
        float((readiness_probe or {}).get("periodSeconds", 10) or 10) if readiness_probe else 0.0
    )
    return schedule_s + success + readiness_period


__all__ = ["ReplicaModel", "ReplicaModelError", "pod_startup_s"]
