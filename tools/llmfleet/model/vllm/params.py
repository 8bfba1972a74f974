"""How big a served model is, from the catalog or from its id.

The catalog (``llmfleet/data/models.yaml``) has exact counts; otherwise the size written in
the id: ``70B``, ``0.5B``, ``8x7B`` (a mixture of experts: the experts share attention and
embeddings, so the total is about 0.83 × 8 × 7 B — Mixtral 8x7B has 46.7 B, 8x22B 141 B),
``235B-A22B`` (235 B in total, 22 B active per token).  Names such as ``17B-16E`` give only
the active size: the total is unknown.  Unknown sizes are None: callers do not guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmfleet.catalog import entries as catalog

#: Total/(experts × expert size) of the NxM mixtures of experts with published counts
#: (Mixtral 8x7B: 46.7 B of 56; 8x22B: 141 B of 176).
MOE_SHARED_FACTOR = 0.82

_SIZE = re.compile(r"(?<![a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)b(?![a-z0-9])", re.IGNORECASE)
_MILLIONS = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)m(?![a-z0-9])", re.IGNORECASE)  # SmolLM2-135M
_ACTIVE = re.compile(r"(?<![a-z0-9])a(\d+(?:\.\d+)?)b(?![a-z0-9])", re.IGNORECASE)
_EXPERTS = re.compile(r"(?<![a-z0-9])(\d+)e(?![a-z0-9])", re.IGNORECASE)


@dataclass(frozen=True)
class ModelSize:
    total_b: float | None  # billions of parameters in the checkpoint (all experts)
    active_b: float | None  # billions active per token (mixtures of experts), else total
    source: str  # "catalog" or "name"

    @property
    def moe(self) -> bool:
        return self.active_b is not None and self.total_b is not None and self.active_b < self.total_b


def estimate(model_id: str) -> ModelSize | None:
    """The size of ``model_id``, or None when neither the catalog nor the id tells."""
    if not isinstance(model_id, str) or not model_id.strip():
        return None
    spec = catalog.find_model(model_id)
    if spec is not None:
        return ModelSize(spec.params / 1e9, spec.params / 1e9, "catalog")
    name = model_id.strip().rsplit("/", 1)[-1].replace("_", "-")
    match = _SIZE.search(name)
    if not match:
        small = _MILLIONS.search(name)
        if small:
            size = round(float(small.group(1)) / 1000, 3)
            return ModelSize(size, size, "name")
        return None
    experts, size = match.group(1), float(match.group(2))
    if experts:
        total = int(experts) * size * MOE_SHARED_FACTOR
        return ModelSize(round(total, 1), None, "name")
    active = _ACTIVE.search(name[match.end() :])
    if active:
        return ModelSize(size, float(active.group(1)), "name")
    if _EXPERTS.search(name[match.end() :]):
        return ModelSize(None, size, "name")  # "17B-16E": 17 B active, total not in the name
    return ModelSize(size, size, "name")


def params_billion(model_id: str) -> float | None:
    """Billions of parameters in the checkpoint (all experts), or None when unknown."""
    size = estimate(model_id)
    return size.total_b if size is not None else None
