"""Which layers of a model attend through a sliding window, and how many KV tokens such a
layer keeps per sequence in vLLM (docs/reference/quantization.md, "Sliding windows").

* A window vLLM never applies is no window: Qwen2/Qwen3 configs with
  ``use_sliding_window: false`` or without that field (transformers' Qwen2Config and
  Qwen3Config default it to false and keep ``sliding_window`` only when it is true), and a
  window at least as long as the context.
* Local layers: a ``layer_types`` list counts its ``sliding_attention`` entries; Gemma 2
  alternates (even layers local); Gemma 3 makes every ``sliding_window_pattern``-th layer
  global (default 6: five local, one global); Qwen2 with the window on uses it from
  ``max_window_layers`` up; other families with a window (Mistral 7B v0.1) use it everywhere.
* vLLM v1 keeps, per sequence and local layer, ``min(window - 1 + max_num_batched_tokens,
  max_model_len)`` tokens (SlidingWindowSpec.max_memory_usage_bytes in
  vllm/v1/kv_cache_interface.py) -- the window plus one chunk of new tokens.  llmfleet uses
  :data:`BATCHED_TOKENS` (vLLM's largest default chunk), so the concurrency it states is a
  lower bound."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: max_num_batched_tokens assumed for the window's extra chunk (the H100-class default; the
#: smaller default of other GPUs leaves more room).
BATCHED_TOKENS = 8192


def effective_window(c: Mapping[str, Any], context: int) -> int | None:
    """The window vLLM applies, or None (no window, switched off, or >= the context)."""
    window = c.get("sliding_window")
    if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
        return None
    use = c.get("use_sliding_window")
    if use is False or (use is None and str(c.get("model_type") or "").startswith("qwen")):
        return None  # Qwen configs default use_sliding_window to False (module docstring)
    if window >= context:
        return None
    return window


def local_layers(c: Mapping[str, Any], model_type: str, layers: int) -> int:
    """Layers that attend through the window (0 when none does)."""
    types = c.get("layer_types")
    if isinstance(types, list) and types:
        return sum(1 for t in types[:layers] if t == "sliding_attention")
    if model_type == "gemma2":
        return (layers + 1) // 2
    if model_type in ("gemma3", "gemma3_text"):
        pattern = c.get("sliding_window_pattern") or 6
        return sum(1 for i in range(layers) if (i + 1) % int(pattern) != 0)
    if model_type.startswith("qwen") and c.get("use_sliding_window"):
        start = c.get("max_window_layers")
        return max(0, layers - int(start)) if isinstance(start, int) else layers
    return layers


def tokens_held(window: int, max_model_len: int, batched: int = BATCHED_TOKENS) -> int:
    """KV tokens a local layer keeps for one sequence of ``max_model_len`` tokens."""
    return min(window - 1 + batched, max_model_len)
