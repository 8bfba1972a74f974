"""Small, hand-checkable inputs for the simulation tests (a unique module name: see
tests/llmfleet_testlib.py)."""

from __future__ import annotations

from llmfleet.features.simulate import ReplicaModel, ScalingSpec, Trigger


def make_replica(**overrides) -> ReplicaModel:
    """A replica with round numbers: 8 B parameters in 16 GB, 128 KiB of KV per token, 20 000
    tokens of KV cache, an L4's 300 GB/s and 121 TFLOP/s, Ready 60 s after creation."""
    values = {
        "params": 8e9,
        "weight_bytes": 16e9,
        "kv_bytes_per_token": 131072,
        "kv_tokens": 20000,
        "max_model_len": 8192,
        "memory_bandwidth_gbps": 300,
        "bf16_tflops": 121,
        "startup_s": 60.0,
        "gpus": 1,
        "max_num_seqs": 256,
        "drain_s": 120.0,
        "price_per_gpu_hour": 0.7,
    }
    values.update(overrides)
    return ReplicaModel(**values)


def queue_spec(target: float = 5.0, **overrides) -> ScalingSpec:
    values = {"triggers": (Trigger("queue", "queue", target),), "min_replicas": 1, "max_replicas": 4}
    values.update(overrides)
    return ScalingSpec(**values)
