"""Model size from a model id, for cold-load estimates.

Parameter counts of the models in docs/reference/vllm-0.33.md §4.3 (computed from their
config.json values); otherwise the size written in the id ("70B", "8b", "0.5B", "8x7B").
"""

from __future__ import annotations

import re

#: Billions of parameters (docs/reference/vllm-0.33.md §4.3).
KNOWN_PARAMS_B: dict[str, float] = {
    "meta-llama/llama-3.1-8b-instruct": 8.03,
    "meta-llama/llama-3.1-70b-instruct": 70.55,
    "mistralai/mistral-7b-instruct-v0.3": 7.25,
    "qwen/qwen2.5-7b-instruct": 7.62,
    "google/gemma-2-9b-it": 9.24,
    "microsoft/phi-3-mini-4k-instruct": 3.82,
}

_SIZE = re.compile(r"(?<![a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)b(?![a-z0-9])", re.IGNORECASE)


def params_billion(model_id: str) -> float | None:
    """Billions of parameters of ``model_id``, or None when it cannot be told."""
    if not isinstance(model_id, str) or not model_id:
        return None
    key = model_id.strip().lower()
    if key in KNOWN_PARAMS_B:
        return KNOWN_PARAMS_B[key]
    try:  # the sizing catalog, when the other engineer's module provides one
        from llmfleet import catalog  # type: ignore
        getter = getattr(catalog, "params_billion", None)
        if callable(getter):
            value = getter(model_id)
            if isinstance(value, (int, float)) and value > 0:
                return float(value)
    except Exception:
        pass
    name = key.rsplit("/", 1)[-1].replace("_", "-")
    match = _SIZE.search(name.replace("-", " ").replace(" ", "-")) or _SIZE.search(name)
    if not match:
        return None
    experts = int(match.group(1)) if match.group(1) else 1
    return experts * float(match.group(2))
