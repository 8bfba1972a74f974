"""gpu-fit: the model must fit the GPU it is scheduled on, with one full-length sequence,
in a dtype vLLM accepts there.

vLLM gives each GPU a budget of ``gpu-memory-utilization x total memory`` (default 0.92) for
weights, activations, CUDA graphs and the KV cache together, and refuses to start when the
KV cache left over cannot hold one sequence of ``max-model-len`` ("To serve at least one
request with the model's max seq len (X), (Y GiB KV cache is needed, which is larger than
the available KV cache memory (Z GiB)", docs/reference/vllm.md §4.1).  This rule
runs the same arithmetic as ``llmfleet new-model`` (``llmfleet.sizing``, docs/reference/vllm.md §4.1-4.4)
before the pod ever reaches a GPU:

    weights / TP + overhead + 2 x layers x max(1, kv_heads / TP) x head_dim x bytes x max-model-len
        <= gpu-memory-utilization x GPU memory

with the model from the catalog (``llmfleet/data/models.yaml``), the GPU class from the
pod's node selection (any known GPU label, ``llmfleet/data/accelerators.yaml``), and TP,
max-model-len (default: the model's context), gpu-memory-utilization, quantization and
kv-cache-dtype from the container's vLLM settings (args or the ``--config`` file).  Models
or GPU classes the catalog does not know, and ``max-model-len: auto`` (vLLM fits it), are
not checked.  With no GPU class selected and no ``--max-model-len``, the model's full context
is sized on the smallest catalog class that holds its weights (nothing keeps the pod off it):
a warning when one full-length sequence does not fit there.

The dtype is the one vLLM 0.33 runs (``llmfleet.catalog.dtypes``, docs/reference/vllm-versions.md
§6.1-6.2): an explicit ``--dtype half``/``float16`` for an architecture vLLM refuses in
float16 (Gemma 2/3, GLM-4: ``_FLOAT16_NOT_SUPPORTED_MODELS``) or ``bfloat16`` on a GPU without
it (T4) is an error whatever the memory; ``--dtype auto`` for such an architecture on a GPU
without bfloat16 falls back to float32, so the weights are sized at 4 bytes (and a warning
says so).  Outside the catalog the architecture is recognised from the model's id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from llmfleet.catalog import dtypes, sizing
from llmfleet.catalog import entries as catalog
from llmfleet.infra.errors import UsageError
from llmfleet.model import overlay_sizing
from llmfleet.model.vllm import params
from llmfleet.model.vllm.server import VllmServer
from llmfleet.model.vllm.startup import bytes_per_parameter
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

#: A shortfall within this fraction of the GPU budget is a warning, not an error.
BORDERLINE = 0.10
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


def _gpus_of(model: OverlayModel, server: VllmServer) -> tuple[list[catalog.GpuClass], int, int]:
    """(GPU classes the server's pods may land on, tensor-parallel, pipeline-parallel)."""
    classes = [
        g
        for g in (catalog.find_gpu(c) for c in model.node_selection(server.template).classes)
        if g is not None
    ]
    return classes, server.tensor_parallel or 0, server.pipeline_parallel or 0


@rule(
    id="gpu-fit",
    severity=Severity.ERROR,
    description="The model's weights per GPU plus the KV cache of one max-model-len sequence "
    "exceed gpu-memory-utilization × GPU memory (minus overhead), in the dtype vLLM "
    "runs there; or vLLM refuses the dtype on that GPU (float16 for Gemma 2/3 and "
    "GLM-4, bfloat16 on a T4); for a model outside the catalog, the weights alone "
    "(error) or an estimate of one sequence (warning)",
    remediation="Use a larger GPU class or tensor-parallel size, a quantized checkpoint or "
    "fp8 KV cache, or a smaller max-model-len (llmfleet new-model --gpu CLASS "
    "fits max-model-len to a GPU); for a refused dtype, a GPU class with bfloat16 "
    "(compute capability >= 8.0) or --dtype float32 where it fits.",
    rationale="vLLM refuses to start when the weights do not fit, when the KV cache left after "
    "them cannot hold one max-model-len sequence, or when the dtype is one it refuses "
    "for the architecture or the GPU; the pod then crash-loops on an expensive GPU "
    "(docs/reference/vllm.md §4.1-4.4, docs/reference/vllm-versions.md §6).",
    category="gpu",
)
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

    Failing (``.../args/0``; a model outside the catalog: 70 B in bf16 is 130 GiB, more than
    one A100's 72.7 GiB budget)::

        nodeSelector: {cloud.google.com/gke-accelerator: nvidia-a100-80gb}
        containers:
          - image: vllm/vllm-openai:v0.33.0
            args: [acme/Custom-70B-Chat]
            resources: {limits: {nvidia.com/gpu: 1}}

    Failing (``.../args/1``, the option; vLLM 0.33 refuses float16 for Gemma 2)::

        nodeSelector: {llmfleet.io/gpu-class: l4}
        containers:
          - image: vllm/vllm-openai:v0.33.0
            args: [google/gemma-2-9b-it, --dtype, half, --max-model-len, "4096"]
            resources: {limits: {nvidia.com/gpu: 1}}
    """
    for server in model.api_servers:
        classes, tp, pp = _gpus_of(model, server)
        if not classes and tp >= 1 and pp >= 1:
            yield from _default_context_unselected(server, tp, pp)
            continue
        if not classes or tp < 1 or pp < 1:
            continue
        if (
            server.is_unresolved("max-model-len")
            or server.is_unresolved("gpu-memory-utilization")
            or server.is_unresolved("quantization")
            or server.is_unresolved("kv-cache-dtype")
        ):
            continue
        util = _fraction(server.value("gpu-memory-utilization"), sizing.DEFAULT_GPU_MEMORY_UTILIZATION)
        if util is None:
            continue
        if server.is_unresolved("dtype"):
            continue
        try:
            requested = dtypes.normalize(server.value("dtype"))
        except ValueError:
            continue  # vLLM itself rejects the value (vllm-config checks flags)
        spec = overlay_sizing.spec_for(server)
        if spec is None:
            yield from _estimate(model, server, classes, tp, pp, util, requested)
            continue
        raw_len = server.value("max-model-len")
        length = spec.context if raw_len is None else parse_len(raw_len)
        if length is None:
            continue
        try:
            quantization = sizing.normalize_quantization(server.value("quantization") or spec.quantization)
            kv_dtype = str(server.value("kv-cache-dtype") or "auto").lower()
            sizing.kv_bytes_per_element(spec, kv_dtype)
        except UsageError:
            continue  # a method or dtype the sizing does not model
        sized: list[tuple[sizing.Sizing, dtypes.Resolution]] = []
        for g in classes:
            resolution = dtypes.resolve(spec, g, requested, quantization)
            if resolution.refused:
                yield _dtype_problem(server, spec.id, g, resolution)
                continue
            sized.append(
                (sizing.size(spec, g, tp, quantization, kv_dtype, util, pp, resolution.served), resolution)
            )
        if not sized:
            continue
        worst, worst_resolution = max(sized, key=lambda pair: pair[0].shortfall_bytes(length))
        fallbacks = [
            (s, r)
            for s, r in sized
            if r.served == "float32" and r.fallback and dtypes.checkpoint_dtype(spec) != "float32"
        ]
        fit = worst.fit(length)
        short = fit.shortfall
        if short <= 0:
            for s, r in fallbacks:
                where = server.get("dtype") or server.model
                yield Problem(
                    where.resource if where is not None else server.resource,
                    where.path if where is not None else server.container.path,
                    f"{spec.id} runs in float32 on {s.gpu.name}: {r.fallback}; "
                    f"{sizing.gib(s.weights_bytes_per_gpu):.2f} GiB of weights per GPU (it fits). "
                    "A GPU class with bfloat16 serves it in half the memory",
                    Severity.WARNING,
                )
            continue
        # Within 10% of the budget the sizing's overhead estimate decides: a warning.
        borderline = short <= BORDERLINE * worst.budget_bytes_per_gpu
        where = server.get("max-model-len") or server.model
        resource = where.resource if where is not None else server.resource
        path = where.path if where is not None else server.container.path
        g = worst.gpu
        shape = f"{tp} x {g.name}" if pp == 1 else f"{tp} x {pp} (pipeline) x {g.name}"
        note = (
            f" ({worst_resolution.fallback})"
            if worst_resolution.fallback and worst.dtype == "float32"
            else ""
        )
        yield Problem(
            resource,
            path,
            f"{spec.id} does not fit {shape} with max-model-len {length}: per GPU "
            f"{sizing.gib(fit.weights):.2f} GiB weights"
            + (f" in {worst.dtype}{note}" if worst.dtype != dtypes.checkpoint_dtype(spec) else "")
            + f" + {sizing.gib(fit.overhead):.2f} GiB overhead + "
            f"{sizing.gib(fit.kv):.2f} GiB KV for one sequence = "
            f"{sizing.gib(fit.needed):.2f} GiB > {util:g} x "
            f"{g.memory_gib:g} GiB = {sizing.gib(fit.budget):.2f} GiB; "
            f"{sizing.gib(short):.2f} GiB short (docs/reference/vllm.md §4); "
            + (
                "borderline: the overhead is an estimate, vLLM may refuse to start"
                if borderline
                else "vLLM would refuse to start"
            ),
            Severity.WARNING if borderline else None,
        )


def _dtype_problem(
    server: VllmServer, model_id: str, gpu: catalog.GpuClass, resolution: dtypes.Resolution
) -> Problem:
    where = server.get("dtype") or server.get("quantization") or server.model
    resource = where.resource if where is not None else server.resource
    path = where.path if where is not None else server.container.path
    return Problem(
        resource,
        path,
        f"{model_id} with --dtype {resolution.requested} on {gpu.name}: {resolution.refused}; "
        "vLLM would refuse to start (docs/reference/vllm-versions.md §6)",
    )


def _estimate(
    model: OverlayModel,
    server: VllmServer,
    classes: list[catalog.GpuClass],
    tp: int,
    pp: int,
    util: float,
    requested: str = "auto",
) -> Iterator[Problem]:
    """A model outside the catalog, sized from its id: a dtype vLLM refuses for the
    architecture its id names is an error; weights that cannot fit are an error;
    too little room for one max-model-len sequence, by the least KV any catalogued model
    needs per parameter, is a warning.  Unknown size or precision: nothing."""
    model_type = dtypes.model_type_from_name(server.model_id)
    stand_in = catalog.ModelSpec(server.model_id, 1e9, 1, 1, 1, 1, 1, 1, model_type=model_type)
    served: list[str] = []
    for g in classes:
        resolution = dtypes.resolve(stand_in, g, requested, None)
        if resolution.refused:
            yield _dtype_problem(
                server,
                server.model_id + (f" ({model_type} by its name)" if model_type else ""),
                g,
                resolution,
            )
            return
        served.append(resolution.served)
    size = params.estimate(server.model_id)
    if size is None or size.total_b is None:
        return
    dtype_bytes = 4.0 if "float32" in served else 2.0
    bpp = bytes_per_parameter(server.model_id, server.value("quantization"), dtype_bytes)
    smallest = min(classes, key=lambda g: g.memory_gib)
    estimate = sizing.WeightsEstimate(size.total_b * 1e9, bpp, smallest, tp * pp, util)
    where = server.model
    resource = where.resource if where is not None else server.resource
    path = where.path if where is not None else server.container.path
    gpus = f"{tp * pp} x {smallest.name}"
    if estimate.left_bytes_per_gpu < 0:
        yield Problem(
            resource,
            path,
            f"{server.model_id} (≈ {size.total_b:g} B parameters by its name, {bpp:g} byte(s) each) "
            f"does not fit {gpus}: {sizing.gib(estimate.weights_bytes_per_gpu):.1f} GiB of weights + "
            f"{sizing.gib(estimate.overhead_bytes_per_gpu):.1f} GiB overhead per GPU > {util:g} x "
            f"{smallest.memory_gib:g} GiB = {sizing.gib(estimate.budget_bytes_per_gpu):.1f} GiB; "
            "vLLM would refuse to start",
        )
        return
    raw_len = server.value("max-model-len")
    length = parse_len(raw_len) if raw_len is not None else None
    name = server.model_id.lower()
    if length is None or any(family in name for family in sizing.LATENT_KV_FAMILIES):
        return
    kv_bytes = 1 if str(server.value("kv-cache-dtype") or "").startswith("fp8") else 2
    need = length * size.total_b * 1e9 * sizing.kv_per_param_lower_bound() * kv_bytes / 2 / (tp * pp)
    if need > estimate.left_bytes_per_gpu:
        setting = server.get("max-model-len")
        yield Problem(
            setting.resource if setting else resource,
            setting.path if setting else path,
            f"{server.model_id} (≈ {size.total_b:g} B parameters by its name) on {gpus}: after "
            f"{sizing.gib(estimate.weights_bytes_per_gpu):.1f} GiB of weights and overhead, "
            f"{sizing.gib(estimate.left_bytes_per_gpu):.2f} GiB per GPU are left for the KV cache, "
            f"less than the ≈ {sizing.gib(need):.2f} GiB one {length}-token sequence needs even for "
            "the most KV-efficient catalogued architecture: vLLM would likely refuse to start "
            "(an estimate: the model is not in the catalog)",
            Severity.WARNING,
        )


def _default_context_unselected(server: Any, tp: int, pp: int) -> Iterator[Problem]:
    """No GPU class selected and no ``--max-model-len``: vLLM takes the model's full context.
    On the smallest catalog GPU class where the weights fit (the pod may land there: nothing
    rules it out), one full-length sequence's KV cache may not: vLLM then refuses to start.
    A warning, since the cluster's GPUs are not in the input."""
    if server.value("max-model-len") is not None or server.is_unresolved("max-model-len"):
        return
    for name in ("gpu-memory-utilization", "quantization", "kv-cache-dtype", "dtype"):
        if server.is_unresolved(name):
            return
    util = _fraction(server.value("gpu-memory-utilization"), sizing.DEFAULT_GPU_MEMORY_UTILIZATION)
    spec = overlay_sizing.spec_for(server)
    if util is None or spec is None or not spec.context:
        return
    try:
        requested = dtypes.normalize(server.value("dtype"))
        quantization = sizing.normalize_quantization(server.value("quantization") or spec.quantization)
        kv_dtype = str(server.value("kv-cache-dtype") or "auto").lower()
        sizing.kv_bytes_per_element(spec, kv_dtype)
    except (UsageError, ValueError):
        return
    for g in sorted(catalog.gpus().values(), key=lambda c: c.memory_gib):
        resolution = dtypes.resolve(spec, g, requested, quantization)
        if resolution.refused:
            continue
        sized = sizing.size(spec, g, tp, quantization, kv_dtype, util, pp, resolution.served)
        if not sized.fit(1).fits:
            continue  # the weights alone do not fit this class: look at a larger one
        fit = sized.fit(spec.context)
        if fit.fits:
            return  # the smallest class that holds the weights holds the full context too
        where = server.model
        yield Problem(
            where.resource if where is not None else server.resource,
            where.path if where is not None else server.container.path,
            f"no --max-model-len and no GPU class selected: vLLM takes {spec.id}'s full "
            f"{spec.context} tokens, and on a {g.name} ({g.memory_gib:g} GiB), where the weights "
            f"fit, one such sequence does not: {fit.message()}; vLLM would refuse to start "
            "there. Set --max-model-len or select a larger GPU class",
            Severity.WARNING,
        )
        return
