"""KEDA thresholds of a model's ScaledObject, derived from what one replica holds.

Pure arithmetic, no I/O: the caller passes the sizing of one replica (tokens of KV cache,
max-model-len, max-num-seqs) and gets the two per-replica targets of the base ScaledObject's
triggers (``base/scaledobject.yaml``), with the reasoning as text.

How KEDA and the HPA use them (docs/reference/cluster.md, "KEDA prometheus trigger"):
each prometheus trigger is an external metric with target type ``AverageValue`` (KEDA's
default ``metricType``), so the HPA wants ``ceil(query result / threshold)`` replicas
(within its 10 % tolerance) and takes the largest proposal over the triggers.  The queries
*sum* over the model's pods, so a threshold is a per-replica target: a pod that is still
loading reports nothing and does not dilute the average.

The two targets:

* ``queue-depth`` (``sum(vllm:num_requests_waiting)``): vLLM queues a request only when the
  running batch cannot take it (KV blocks or ``max-num-seqs`` exhausted).  A replica that
  runs C sequences of max-model-len at once admits C waiting requests each time its batch
  turns over, so C waiting per replica means a queued request waits about one full request
  time.  Target: ``max(1, floor(C))``, C capped at ``max-num-seqs``.
* ``kv-cache-usage`` (``sum(vllm:kv_cache_usage_perc)``, a 0..1 fraction per engine): KV
  pressure rises before the queue does.  Scale out when a replica's free cache no longer
  holds one more request of max-model-len: usage above ``1 - 1/C``.  Clamped to
  [:data:`KV_TARGET_MIN`, :data:`KV_TARGET_MAX`]: with C < 2 a single long request would
  already cross ``1 - 1/C`` (the queue trigger covers those replicas), and above 0.85 the
  HPA's 10 % tolerance would only act at ~0.94, where vLLM starts preempting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Trigger names in base/scaledobject.yaml (KEDA trigger ``name``, matched by name).
QUEUE_DEPTH_TRIGGER = "queue-depth"
KV_CACHE_TRIGGER = "kv-cache-usage"
#: Bounds of the KV-cache usage target (module docstring).
KV_TARGET_MIN = 0.5
KV_TARGET_MAX = 0.85
#: vLLM 0.33's API-server default for --max-num-seqs (docs/reference/vllm.md §2.2,
#: src vllm/engine/arg_utils.py get_batch_defaults): 1024 on GPUs of >= 70 GiB other than
#: the A100 (and on any GPU of >= 160 GiB), 256 otherwise.
DEFAULT_MAX_NUM_SEQS = 256
LARGE_GPU_MAX_NUM_SEQS = 1024


@dataclass(frozen=True)
class ScalerTargets:
    """Per-replica targets of the two KEDA triggers, and why."""

    queue_depth: int
    kv_cache_usage: float
    concurrency: float
    reasoning: tuple[str, ...] = field(default=())

    def thresholds(self) -> dict[str, str]:
        """Trigger name -> KEDA ``threshold`` string, as the overlays write it."""
        return {
            QUEUE_DEPTH_TRIGGER: str(self.queue_depth),
            KV_CACHE_TRIGGER: format_fraction(self.kv_cache_usage),
        }


def default_max_num_seqs(gpu_memory_gib: float, gpu_name: str = "") -> int:
    """vLLM 0.33's --max-num-seqs default for the API server on this GPU (constants above)."""
    if gpu_memory_gib >= 160 or (gpu_memory_gib >= 70 and "a100" not in gpu_name.lower()):
        return LARGE_GPU_MAX_NUM_SEQS
    return DEFAULT_MAX_NUM_SEQS


def format_fraction(value: float) -> str:
    """``0.64`` -> ``"0.64"``; two decimals at most, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _floor2(value: float) -> float:
    return math.floor(value * 100 + 1e-9) / 100


def derive_targets(
    kv_tokens: int,
    max_model_len: int,
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS,
    kv_tokens_per_request: int | None = None,
) -> ScalerTargets:
    """The two per-replica targets for a replica with ``kv_tokens`` tokens of KV cache
    serving requests of up to ``max_model_len`` tokens (module docstring).
    ``kv_tokens_per_request``: the KV one full-length request takes, in tokens, when it is
    less than ``max_model_len`` (sliding-window layers keep only their window).

    ValueError when the replica cannot hold one full-length request (vLLM refuses to
    start then) or an input is not positive.
    """
    per_request = max_model_len if kv_tokens_per_request is None else kv_tokens_per_request
    for name, value in (
        ("kv_tokens", kv_tokens),
        ("max_model_len", max_model_len),
        ("max_num_seqs", max_num_seqs),
        ("kv_tokens_per_request", per_request),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    concurrency = kv_tokens / per_request
    if concurrency < 1:
        raise ValueError(
            f"{kv_tokens} tokens of KV cache hold no request of {max_model_len} "
            "tokens: vLLM would not start, so there is nothing to scale"
        )
    effective = min(concurrency, float(max_num_seqs))
    queue = max(1, math.floor(effective))
    headroom = 1 - 1 / effective
    kv = min(KV_TARGET_MAX, max(KV_TARGET_MIN, _floor2(headroom)))
    windowed = (
        f" (sliding-window layers keep their window: {per_request:,} tokens of KV per request)"
        if per_request != max_model_len
        else ""
    )
    reasoning = [
        f"a replica holds {kv_tokens:,} tokens of KV cache = {concurrency:.2f} requests of "
        f"{max_model_len} tokens at once{windowed}"
        + (f", capped at max-num-seqs {max_num_seqs}" if effective < concurrency else ""),
        f"{QUEUE_DEPTH_TRIGGER}: {queue} waiting per replica (floor of {effective:.2f}, at least 1):"
        " a queued request then waits about one full request time before scale-out",
        f"{KV_CACHE_TRIGGER}: {format_fraction(kv)} per replica (1 - 1/{effective:.2f} = "
        f"{headroom:.3f}, kept within [{KV_TARGET_MIN}, {KV_TARGET_MAX}]): scale out once the "
        "free cache no longer holds one more full-length request",
    ]
    return ScalerTargets(queue, kv, concurrency, tuple(reasoning))
