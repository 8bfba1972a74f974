"""gpu-fit: the model must fit the GPU it is scheduled on, with one full-length sequence.

vLLM gives each GPU a budget of ``gpu-memory-utilization x total memory`` (default 0.92) for
weights, activations, CUDA graphs and the KV cache together, and refuses to start when the
KV cache left over cannot hold one sequence of ``max-model-len`` ("To serve at least one
request with the model's max seq len (X), (Y GiB KV cache is needed, which is larger than
the available KV cache memory (Z GiB)", docs/reference/vllm-0.33.md §4.1).  This rule
runs the same arithmetic as ``llmfleet new-model`` (``llmfleet.sizing``, docs/reference/vllm-0.33.md §4.1-4.4)
before the pod ever reaches a GPU:

    weights / TP + overhead + 2 x layers x max(1, kv_heads / TP) x head_dim x bytes x max-model-len
        <= gpu-memory-utilization x GPU memory

with the model from the catalog (``llmfleet/data/models.yaml``), the GPU class from the
pod's node selection (any known GPU label, ``llmfleet/data/accelerators.yaml``), and TP,
max-model-len (default: the model's context), gpu-memory-utilization, quantization and
kv-cache-dtype from the container's vLLM settings (args or the ``--config`` file).  Models
or GPU classes the catalog does not know, and ``max-model-len: auto`` (vLLM fits it), are
not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from llmfleet.errors import UsageError
from llmfleet.lint.api import Options, OverlayModel, Problem, Severity, rule
from llmfleet.model import catalog, sizing

_LEN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$")


def parse_len(value: Any) -> int | None:
    """vLLM's --max-model-len: ``16384``, ``16k`` (x1000), ``16K`` (x1024), ``1.5M``;
    None for ``auto``/``-1`` or anything unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value) if value > 0 else None
    match = _LEN.match(str(value))
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    scale = {"": 1, "k": 1000, "K": 1024, "m": 1_000_000, "M": 1024 * 1024}[unit]
    return int(number * scale) or None


def _fraction(value: Any, default: float) -> float | None:
    if value is None:
        return default
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if 0 < result <= 1 else None


@rule(id="gpu-fit", severity=Severity.ERROR,
      description="The model's weights per GPU plus the KV cache of one max-model-len sequence "
                  "exceed gpu-memory-utilization × GPU memory (minus overhead)",
      remediation="Use a larger GPU class or tensor-parallel size, a quantized checkpoint or "
                  "fp8 KV cache, or a smaller max-model-len (llmfleet new-model --gpu CLASS "
                  "fits max-model-len to a GPU).",
      rationale="vLLM refuses to start when the KV cache left after the weights cannot hold one "
                "max-model-len sequence; the pod then crash-loops on an expensive GPU "
                "(docs/reference/vllm-0.33.md §4.1-4.4).",
      category="gpu")
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing (Llama-3.1-8B on one L4: 15.0 GiB weights + 2.5 GiB overhead + 2 GiB of KV
    for 16384 tokens = 19.5 GiB <= 0.92 x 22.05 GiB = 20.3 GiB)::

        nodeSelector: {llmfleet.io/gpu-class: l4}
        containers:
          - image: vllm/vllm-openai:v0.33.0
            args: [meta-llama/Llama-3.1-8B-Instruct, --max-model-len, "16384"]
            resources: {limits: {nvidia.com/gpu: 1}}

    Failing (``/spec/template/spec/containers/0/args/1``, the option; the model's full
    131072 tokens need 16 GiB of KV, 13.2 GiB more than the L4 has)::

        nodeSelector: {llmfleet.io/gpu-class: l4}
        containers:
          - image: vllm/vllm-openai:v0.33.0
            args: [meta-llama/Llama-3.1-8B-Instruct, --max-model-len, "131072"]
            resources: {limits: {nvidia.com/gpu: 1}}
    """
    for server in model.servers:
        spec = catalog.find_model(server.model_id)
        if spec is None:
            continue
        classes = [g for g in (catalog.find_gpu(c) for c in model.node_selection(server.template).classes)
                   if g is not None]
        if not classes:
            continue
        tp = server.tensor_parallel
        if tp is None or tp < 1:
            continue
        if server.is_unresolved("max-model-len") or server.is_unresolved("gpu-memory-utilization"):
            continue
        raw_len = server.value("max-model-len")
        length = spec.context if raw_len is None else parse_len(raw_len)
        util = _fraction(server.value("gpu-memory-utilization"), sizing.DEFAULT_GPU_MEMORY_UTILIZATION)
        if length is None or util is None:
            continue
        try:
            quantization = sizing.normalize_quantization(server.value("quantization"))
            kv_dtype = str(server.value("kv-cache-dtype") or "auto").lower()
            sizing.kv_bytes_per_element(spec, kv_dtype)
        except UsageError:
            continue  # a method or dtype the sizing does not model
        worst = max((sizing.size(spec, g, tp, quantization, kv_dtype, util) for g in classes),
                    key=lambda s: s.shortfall_bytes(length))
        short = worst.shortfall_bytes(length)
        if short <= 0:
            continue
        where = server.get("max-model-len") or server.model
        resource = where.resource if where is not None else server.resource
        path = where.path if where is not None else server.container.path
        g = worst.gpu
        yield Problem(
            resource, path,
            f"{spec.id} does not fit {tp} x {g.name} with max-model-len {length}: per GPU "
            f"{sizing.gib(worst.weights_bytes_per_gpu):.2f} GiB weights + "
            f"{sizing.gib(worst.overhead_bytes_per_gpu):.2f} GiB overhead + "
            f"{sizing.gib(length * worst.kv_bytes_per_token_per_gpu):.2f} GiB KV for one sequence = "
            f"{sizing.gib(worst.needed_bytes_per_gpu(length)):.2f} GiB > {util:g} x "
            f"{g.memory_gib:g} GiB = {sizing.gib(worst.budget_bytes_per_gpu):.2f} GiB; "
            f"{sizing.gib(short):.2f} GiB short (docs/reference/vllm-0.33.md §4); vLLM would refuse to start")
