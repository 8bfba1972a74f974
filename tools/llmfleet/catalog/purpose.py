"""What a model is for, as far as its default max-model-len goes.

Reasoning models write a long chain of thought before the answer, so a context sized for
chat (8,192 tokens) cuts them off mid-thought.  Their publishers size the generation:
DeepSeek-R1's model card sets "the maximum generation length ... to 32,768 tokens" for R1
and its distilled models; QwQ-32B's and Qwen3's cards recommend an output length of
32,768 tokens for most queries (Qwen3 thinks by default, unless its name says Instruct, the
non-thinking 2507 releases).  new-model gives them :data:`REASONING_CONTEXT` by default
(capped by the model's context) and says why."""

from __future__ import annotations

import re

REASONING_CONTEXT = 32_768
_MARKERS = re.compile(r"(thinking|qwq|reason)", re.IGNORECASE)
_R1 = re.compile(r"(^|[-_/.])r1([-_.]|$)", re.IGNORECASE)


def reasoning_reason(model_id: str) -> str | None:
    """Why ``model_id`` is a reasoning model (for the note), or None."""
    name = model_id.split("/")[-1]
    if _R1.search(name):
        return "DeepSeek-R1 and its distills generate up to 32,768 tokens (model card)"
    if _MARKERS.search(name):
        return "a thinking model: its chain of thought comes before the answer"
    lowered = name.lower()
    if lowered.startswith("qwen3") and "instruct" not in lowered and "coder" not in lowered:
        return "Qwen3 thinks by default; its card recommends 32,768 output tokens"
    return None
