"""How long a vLLM server takes to become ready from a cold start: nothing listens until
the model is downloaded (first start), loaded, compiled and its CUDA graphs captured
(docs/reference/vllm-0.33.md §3.2, §5.9: cold starts of ten minutes and more).

    cold load ≈ 600 s + 12 s × (billions of parameters above 8)

The 10-minute floor covers 7-8 B models on one GPU (the guide's and KServe's startup
window); 12 s per extra billion parameters (about 24 s per extra 2 GiB of bf16 weights read,
loaded and sharded) gives 40 minutes for a 70 B model.  Mixtures of experts load every
expert: the total parameter count counts.  This is the one definition: ``probe-startup``,
``scaler-bounds`` and ``new-model`` use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmfleet.model.vllm.params import estimate

COLD_LOAD_FLOOR_S = 600
COLD_LOAD_PER_BILLION_S = 12
COLD_LOAD_FLOOR_PARAMS_B = 8


@dataclass(frozen=True)
class ColdLoad:
    seconds: int
    why: str


def cold_load_for(params_billion: float | None, label: str = "the model") -> ColdLoad:
    if params_billion is None:
        return ColdLoad(COLD_LOAD_FLOOR_S, "model size unknown: the 10-minute floor")
    extra = max(0.0, params_billion - COLD_LOAD_FLOOR_PARAMS_B)
    seconds = int(round(COLD_LOAD_FLOOR_S + extra * COLD_LOAD_PER_BILLION_S))
    return ColdLoad(seconds, f"{label} ≈ {params_billion:g} B parameters: {COLD_LOAD_FLOOR_S} s + "
                             f"{COLD_LOAD_PER_BILLION_S} s × {extra:g} B above {COLD_LOAD_FLOOR_PARAMS_B} B")


def cold_load(model_id: str) -> ColdLoad:
    """The expected worst-case cold load of ``model_id`` (total parameters, experts included)."""
    size = estimate(model_id) if model_id else None
    return cold_load_for(size.total_b if size is not None else None, model_id or "the model")
