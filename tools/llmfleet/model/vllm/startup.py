"""How long a vLLM server takes to become ready from a cold start: nothing listens until
the weights are downloaded (first start), loaded, compiled and the CUDA graphs captured
(docs/reference/vllm.md §3.2, §5.9: cold starts of ten minutes and more).

    cold load ≈ 600 s + 6 s × (GiB of weights one node loads − 15 GiB)

The 10-minute floor covers a 7-8 B model in bf16 (about 15 GiB) on one GPU node, the guide's
and KServe's startup window; each further GiB read, loaded and sharded adds about 6 s (12 s
per billion bf16 parameters), which gives 22 minutes for a 70 B bf16 model.  What counts is
the bytes of the checkpoint (every expert of a mixture, at its stored precision: FP8 is one
byte a parameter, AWQ/GPTQ half a byte) divided by the nodes that load it in parallel.  This
is the one definition: ``probe-startup``, ``probe-liveness`` and ``new-model`` use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmfleet.model.vllm.params import estimate

COLD_LOAD_FLOOR_S = 600
COLD_LOAD_PER_GIB_S = 6
COLD_LOAD_FLOOR_GIB = 15.0
GIB = 1024**3

#: Bytes per parameter of a quantization method (``--quantization``) or a checkpoint whose
#: name says it is quantized.
QUANTIZED_BYTES = {
    "fp8": 1.0,
    "fbgemm_fp8": 1.0,
    "modelopt": 1.0,
    "compressed-tensors": 1.0,
    "int8": 1.0,
    "w8a8": 1.0,
    "awq": 0.5,
    "awq_marlin": 0.5,
    "gptq": 0.5,
    "gptq_marlin": 0.5,
    "bitsandbytes": 0.5,
    "gguf": 0.5,
    "int4": 0.5,
    "w4a16": 0.5,
}
_NAME_HINTS = (
    (re.compile(r"(?i)(^|[-_.])(awq|gptq|int4|w4a16|4bit|bnb)([-_.]|$)"), 0.5),
    (re.compile(r"(?i)(^|[-_.])(fp8|int8|w8a8|8bit)([-_.]|$)"), 1.0),
)


@dataclass(frozen=True)
class ColdLoad:
    seconds: int
    why: str


def bytes_per_parameter(model_id: str, quantization: str | None = None, dtype_bytes: float = 2.0) -> float:
    """Stored bytes per parameter: the quantization method, else what the name says, else
    the checkpoint's dtype (2 for bf16/fp16)."""
    if quantization:
        found = QUANTIZED_BYTES.get(str(quantization).strip().lower())
        if found is not None:
            return found
    name = (model_id or "").rsplit("/", 1)[-1]
    for pattern, size in _NAME_HINTS:
        if pattern.search(name):
            return size
    return dtype_bytes


def cold_load_for(weights_gib_per_node: float | None, label: str = "the model") -> ColdLoad:
    if weights_gib_per_node is None:
        return ColdLoad(COLD_LOAD_FLOOR_S, "model size unknown: the 10-minute floor")
    extra = max(0.0, weights_gib_per_node - COLD_LOAD_FLOOR_GIB)
    seconds = int(round(COLD_LOAD_FLOOR_S + extra * COLD_LOAD_PER_GIB_S))
    return ColdLoad(
        seconds,
        f"{label}: {weights_gib_per_node:.0f} GiB of weights per node: "
        f"{COLD_LOAD_FLOOR_S} s + {COLD_LOAD_PER_GIB_S} s × {extra:.0f} GiB "
        f"above {COLD_LOAD_FLOOR_GIB:g} GiB",
    )


def cold_load(model_id: str, quantization: str | None = None, nodes: int = 1) -> ColdLoad:
    """The expected worst-case cold load of ``model_id`` on ``nodes`` nodes."""
    size = estimate(model_id) if model_id else None
    if size is None or size.total_b is None:
        return cold_load_for(None)
    gib = size.total_b * 1e9 * bytes_per_parameter(model_id, quantization) / GIB / max(nodes, 1)
    label = f"{model_id} ≈ {size.total_b:g} B parameters" + (f" on {nodes} nodes" if nodes > 1 else "")
    return cold_load_for(gib, label)
