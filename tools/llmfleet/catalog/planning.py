"""Choosing where a model runs: the GPU class, tensor- and pipeline-parallel sizes and maximum model length that hold it (the cheapest placement by default), the refusals vLLM would make, and the plan's description."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from llmfleet.catalog import attention_window, dtypes
from llmfleet.catalog import entries as catalog
from llmfleet.catalog.entries import GpuClass, ModelSpec
from llmfleet.catalog.node_shapes import Catalog as NodeCatalog
from llmfleet.catalog.sizing import (
    DEFAULT_GPU_MEMORY_UTILIZATION,
    DEFAULT_TARGET_CONTEXT,
    FP8_METHODS,
    MAX_NODES,
    MAX_TP,
    MIN_CONCURRENCY,
    MIN_MODEL_LEN,
    TP_SIZES,
    PriceOf,
    Sizing,
    fit_max_model_len,
    gib,
    kv_bytes_per_element,
    normalize_quantization,
    size,
    target_context,
    tp_problem,
    valid_tps,
)
from llmfleet.infra.errors import UsageError


def gpu_problem(model: ModelSpec, gpu: GpuClass, quantization: str | None) -> str | None:
    """Why this GPU class cannot run the model's weights format at all, or None."""
    fp8 = quantization in FP8_METHODS or (quantization is None and model.quant_scheme.startswith("FP8"))
    if fp8 and not gpu.fp8 and gpu.name == "t4":
        return (
            f"{gpu.name} ({gpu.architecture}) has no fp8 support and is too old for vLLM's "
            "weight-only FP8 (Marlin needs compute capability 8.0)"
        )
    return None


@dataclass
class Plan:
    """What new-model deploys: a sizing and the max-model-len that goes with it."""

    sizing: Sizing
    max_model_len: int
    pinned: bool
    notes: list[str] = field(default_factory=list)
    #: --dtype as asked (auto, half, float32, ...); the sizing holds the served dtype.
    requested_dtype: str = "auto"

    @property
    def concurrency(self) -> float:
        return self.sizing.concurrency(self.max_model_len)

    @property
    def nodes(self) -> int:
        return self.sizing.pp

    @property
    def resolution(self) -> dtypes.Resolution:
        s = self.sizing
        return dtypes.resolve(s.model, s.gpu, self.requested_dtype, s.quantization)

    @property
    def serve_dtype(self) -> str | None:
        """The ``dtype:`` serve.yaml needs: what was asked for, ``half`` when a 16-bit
        checkpoint is cast to float16 (a GPU without bf16), else None (vLLM's auto)."""
        if self.requested_dtype != "auto":
            return self.requested_dtype
        if (
            self.sizing.dtype != dtypes.checkpoint_dtype(self.sizing.model)
            and dtypes.checkpoint_dtype(self.sizing.model) != "float32"
        ):
            return "half" if self.sizing.dtype == "float16" else self.sizing.dtype
        return None


def per_gpu_price(s: Sizing) -> float:
    return s.price_per_hour


def _cheapest_key(s: Sizing, price_of: PriceOf = per_gpu_price) -> tuple[float, int, int, float]:
    return (round(price_of(s), 6), s.pp, s.tp, -s.gpu.memory_gib)


def _smallest_key(
    s: Sizing, price_of: PriceOf = per_gpu_price
) -> tuple[int, int, tuple[float, int, int, float]]:
    return (s.pp, s.tp, _cheapest_key(s, price_of))


def gpus_per_node(
    model: ModelSpec, gpu: GpuClass, shapes: NodeCatalog | None, tp: int | None = None
) -> tuple[int | None, str]:
    """GPUs per node (= TP) of a multi-node group of ``gpu``, or None and why not."""
    from llmfleet.catalog import node_shapes

    catalog_shapes = shapes if shapes is not None else node_shapes.catalog()
    largest = max((s.gpus for s in catalog_shapes.of_class(gpu.name)), default=0)
    if largest < 2:
        where = (
            "the cluster's node shapes (cluster.node-shapes in llmfleet.yaml)"
            if shapes is not None
            else "tools/llmfleet/data/node_shapes.yaml"
        )
        return None, (
            f"{gpu.name}: no node shape with several GPUs in {where} (largest: "
            f"{largest or 'none'}); a multi-node group runs tensor parallelism inside "
            "each node and pipeline parallelism across nodes, so it needs multi-GPU nodes"
        )
    if tp is not None:
        if tp < 2:
            return None, (
                f"{gpu.name}: TP {tp} per node; a multi-node group runs tensor "
                "parallelism inside each node, so it needs at least 2 GPUs per node"
            )
        if tp > largest:
            return None, f"{gpu.name}: --tp {tp} GPUs per node, but its largest node shape has {largest}"
        return tp, ""
    for tp_size in sorted((t for t in TP_SIZES if 2 <= t <= min(largest, MAX_TP)), reverse=True):
        if tp_problem(model, tp_size) is None:
            return tp_size, ""
    return (
        None,
        f"{gpu.name}: no TP of 2-{min(largest, MAX_TP)} that {model.id} allows ({', '.join(map(str, valid_tps(model)))})",
    )


def plan(
    model: ModelSpec,
    *,
    gpu: str | None = None,
    tp: int | None = None,
    max_model_len: int | None = None,
    quantization: str | None = None,
    kv_cache_dtype: str = "auto",
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    min_concurrency: int = MIN_CONCURRENCY,
    dtype: str | None = "auto",
    nodes: int | None = None,
    shapes: NodeCatalog | None = None,
    price_of: PriceOf = per_gpu_price,
    unavailable: Callable[[str], str | None] | None = None,
) -> Plan:
    """Pick the GPU class, TP, nodes (PP) and max-model-len (module docstring); UsageError
    if nothing fits or vLLM would refuse the dtype.  ``price_of`` orders the candidates
    (cheapest first); ``unavailable(class)`` says why the cluster cannot run a class (such a
    class is never chosen, and refused when pinned with ``gpu``)."""
    quantization = normalize_quantization(quantization)
    try:
        requested = dtypes.normalize(dtype)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None
    kv_bytes_per_element(model, kv_cache_dtype)  # validates the name
    if not 0 < gpu_memory_utilization <= 1:
        raise UsageError(f"--gpu-memory-utilization {gpu_memory_utilization}: must be in (0, 1]")
    if max_model_len is not None:
        if max_model_len < 1:
            raise UsageError(f"--max-model-len {max_model_len}: must be positive")
        if max_model_len > model.context:
            raise UsageError(
                f"--max-model-len {max_model_len} is above {model.id}'s context "
                f"({model.context} tokens, max_position_embeddings); vLLM refuses it"
            )
    if tp is not None:
        problem = tp_problem(model, tp)
        if problem:
            raise UsageError(
                f"--tp {tp}: {problem}; valid for {model.id}: {', '.join(map(str, valid_tps(model)))}"
            )
    if nodes is not None:
        if not 1 <= nodes <= MAX_NODES:
            raise UsageError(f"--nodes {nodes}: 1 to {MAX_NODES}")
        if nodes > model.layers:
            raise UsageError(
                f"--nodes {nodes}: {model.id} has {model.layers} layers to split into pipeline stages"
            )
    classes = [catalog.get_gpu(gpu)] if gpu else list(catalog.gpus().values())
    pinned = bool(gpu or tp)
    checkpoint = dtypes.checkpoint_dtype(model)
    usable: list[tuple[GpuClass, str]] = []
    excluded: dict[str, str] = {}
    for g in classes:
        problem = (unavailable(g.name) if unavailable else None) or gpu_problem(model, g, quantization)
        if problem:
            if gpu:
                raise UsageError(f"--gpu {gpu}: {problem}")
            excluded[g.name] = problem
            continue
        r = dtypes.resolve(model, g, requested, quantization)
        if r.refused:
            excluded[g.name] = r.refused
        elif requested == "auto" and r.served == "float32" and checkpoint != "float32":
            excluded[g.name] = f"{r.fallback}; pass --dtype float32 to accept that"
        elif not gpu and requested == "auto" and not g.bf16 and checkpoint == "bfloat16":
            excluded[g.name] = (
                "no bfloat16: the bf16 checkpoint would be cast to float16, which "
                "can overflow (pin --gpu to accept)"
            )
        else:
            usable.append((g, r.served))
    if gpu and not usable:
        raise UsageError(
            dtype_refusal(
                model,
                classes[0],
                excluded[classes[0].name],
                requested,
                quantization,
                kv_cache_dtype,
                gpu_memory_utilization,
                tp,
                max_model_len,
                nodes,
                shapes,
            )
        )

    def single() -> list[Sizing]:
        tps = [tp] if tp else valid_tps(model)
        return [
            size(model, g, t, quantization, kv_cache_dtype, gpu_memory_utilization, 1, served)
            for g, served in usable
            for t in tps
        ]

    multi_reasons: list[str] = []

    def multi(counts: list[int]) -> list[Sizing]:
        found = []
        for g, served in usable:
            per_node, why = gpus_per_node(model, g, shapes, tp)
            if per_node is None:
                multi_reasons.append(why)
                continue
            found += [
                size(model, g, per_node, quantization, kv_cache_dtype, gpu_memory_utilization, n, served)
                for n in counts
                if n <= model.layers
            ]
        return found

    if nodes is None and tp is None:
        stages = [single, lambda: multi(list(range(2, MAX_NODES + 1)))]
    elif nodes is None:
        stages = [single]  # a pinned TP is the pod's GPUs: no automatic spread over nodes
    elif nodes == 1:
        stages = [single]
    else:
        stages = [lambda: multi([nodes])]
    tried: list[Sizing] = []
    chosen: Plan | None = None
    for stage in stages:
        options = sorted(stage(), key=lambda s: _cheapest_key(s, price_of))
        tried += options
        chosen = _choose(options, model, max_model_len, pinned, min_concurrency, price_of)
        if chosen is not None:
            break
    if chosen is None:
        if not tried and multi_reasons:
            raise UsageError(f"{model.id}: no multi-node plan: " + "; ".join(dict.fromkeys(multi_reasons)))
        length = max_model_len or (target_context(model) if not pinned else MIN_MODEL_LEN)
        sequences = min_concurrency if (not pinned or max_model_len is None) else 1
        raise UsageError(
            _does_not_fit(tried, length, sequences, model, excluded, multi_reasons, pinned, nodes)
        )
    chosen.requested_dtype = requested
    s = chosen.sizing
    from llmfleet.catalog import purpose

    why = purpose.reasoning_reason(model.id)
    if why and max_model_len is None and not pinned:
        chosen.notes.append(
            f"max-model-len {chosen.max_model_len}, not {DEFAULT_TARGET_CONTEXT}: {model.id} is a "
            f"reasoning model ({why}); pass --max-model-len to change it"
        )
    if s.pp > 1 and nodes is None:
        chosen.notes.insert(
            0,
            f"no single node holds {model.id} in {s.dtype}: spread over {s.pp} "
            f"nodes of {s.tp} x {s.gpu.name} (TP {s.tp} x PP {s.pp})",
        )
    fell = chosen.resolution.fallback
    if fell:
        chosen.notes.append(fell)
    elif chosen.serve_dtype == "half":
        chosen.notes.append(
            f"{s.gpu.name} has no bfloat16 ({s.gpu.architecture}): serving in float16 (dtype: half)"
        )
    if s.quantization in FP8_METHODS and not s.gpu.fp8:
        chosen.notes.append(
            f"{s.gpu.name} has no fp8 tensor cores: vLLM runs FP8 "
            "weight-only (Marlin); memory as fp8, speed as bf16"
        )
    if model.sliding_window and model.sliding_layers:
        held = attention_window.tokens_held(model.sliding_window, chosen.max_model_len)
        chosen.notes.append(
            f"{model.id}: {model.sliding_layers} of {model.layers} layers attend through a "
            f"{model.sliding_window}-token window and keep at most {held} tokens of KV per "
            "sequence (window + one chunk of new tokens), the others every token; the "
            'concurrency counts both (docs/reference/quantization.md, "Sliding windows")'
        )
    elif model.sliding_window:
        chosen.notes.append(
            f"{model.id} uses a sliding window ({model.sliding_window}) on some "
            "layers: the KV figures are an upper bound (docs/reference/vllm.md §4.2)"
        )
    return chosen


def _choose(
    options: list[Sizing],
    model: ModelSpec,
    max_model_len: int | None,
    pinned: bool,
    min_concurrency: int,
    price_of: PriceOf = per_gpu_price,
) -> Plan | None:
    """The first option (in the order the rules of the module docstring give) that holds."""
    if max_model_len is None and not pinned:
        target = target_context(model)
        for s in options:
            if s.holds(target, min_concurrency):
                return Plan(s, target, pinned)
        return None
    if max_model_len is None:
        # Pinned: the smallest TP (cheapest) that holds some length, length fitted to it.
        for s in sorted(options, key=lambda s: _smallest_key(s, price_of)):
            length = fit_max_model_len(s, min_concurrency)
            if length:
                chosen = Plan(s, length, pinned)
                if length < model.context:
                    chosen.notes.append(
                        f"max-model-len fitted to {s.shape}: {length} tokens "
                        f"(the model allows {model.context}); the largest power of two with "
                        f"room for {min_concurrency} full-length sequences"
                    )
                return chosen
        return None
    if pinned:
        # Pinned GPU/TP and length: the smallest group that can start (one full sequence).
        for s in sorted(options, key=lambda s: _smallest_key(s, price_of)):
            if s.holds(max_model_len, 1):
                chosen = Plan(s, max_model_len, pinned)
                if chosen.concurrency < min_concurrency:
                    chosen.notes.append(
                        f"only {chosen.concurrency:.2f} sequences of {max_model_len} tokens fit at "
                        f"once (fewer than {min_concurrency}); longer requests queue"
                    )
                return chosen
        return None
    for s in options:
        if s.holds(max_model_len, min_concurrency):
            return Plan(s, max_model_len, pinned)
    return None


def dtype_refusal(
    model: ModelSpec,
    gpu: GpuClass,
    reason: str,
    requested: str,
    quantization: str | None,
    kv_cache_dtype: str,
    util: float,
    tp: int | None,
    max_model_len: int | None,
    nodes: int | None,
    shapes: NodeCatalog | None,
) -> str:
    """Why the pinned class cannot run the model's dtype, and the alternatives that can."""
    alternatives: list[str] = []
    try:
        other = plan(
            model,
            max_model_len=max_model_len,
            quantization=quantization,
            kv_cache_dtype=kv_cache_dtype,
            gpu_memory_utilization=util,
            dtype=requested if requested not in ("half", "float16") else "auto",
            nodes=nodes,
            shapes=shapes,
        )
        s = other.sizing
        alternatives.append(
            f"another GPU class: {s.shape} in {s.dtype} at ${s.price_per_hour:,.2f}/h (--gpu {s.gpu.name})"
        )
    except UsageError:
        alternatives.append("another GPU class: none of the catalog's holds it either")
    # float32 whatever the checkpoint's dtype: vLLM's own refusal of float16 says "use
    # bfloat16 or float32", and on a class without bfloat16 it is the only way to run it.
    if requested != "float32":
        try:
            fp32 = plan(
                model,
                gpu=gpu.name,
                tp=tp,
                max_model_len=max_model_len,
                quantization=quantization,
                kv_cache_dtype=kv_cache_dtype,
                gpu_memory_utilization=util,
                dtype="float32",
                nodes=nodes,
                shapes=shapes,
            )
            f = fp32.sizing
            alternatives.append(
                f"float32 on {gpu.name}, which vLLM accepts: fits {f.shape} with "
                f"max-model-len {fp32.max_model_len} ({gib(f.weights_bytes):.1f} GiB of "
                f"weights, twice bf16; --dtype float32)"
            )
        except UsageError as exc:
            short = str(exc).split(". Try")[0]
            alternatives.append(f"float32 on {gpu.name} does not fit: {short}")
    if quantization in dtypes.HALF_PRECISION_ONLY or not gpu.bf16:
        alternatives.append(
            f"a quantized variant (AWQ, GPTQ, FP8) does not help on {gpu.name}: "
            "vLLM's kernels for them compute in float16 or bfloat16 only "
            "(get_supported_act_dtypes)"
        )
    else:
        alternatives.append(
            "a quantized variant (an AWQ/GPTQ checkpoint with --config-json, or --quantization fp8)"
        )
    return f"{model.id} on {gpu.name}: {reason}. Alternatives: " + "; ".join(
        f"({i}) {a}" for i, a in enumerate(alternatives, 1)
    )


def _does_not_fit(
    options: list[Sizing],
    length: int,
    sequences: int,
    model: ModelSpec,
    excluded: dict[str, str],
    multi_reasons: list[str],
    pinned: bool,
    nodes: int | None,
) -> str:
    """The closest option's arithmetic, from the same Fit the decision used."""
    if not options:
        why = "; ".join(f"{k}: {v}" for k, v in excluded.items()) or "no GPU class and TP to try"
        return f"{model.id}: nothing to try ({why})"
    closest = min((o.fit(length, sequences) for o in options), key=lambda f: f.shortfall)
    s = closest.sizing
    largest_nodes = max(o.pp for o in options)
    if largest_nodes > 1:
        scope = f"on up to {largest_nodes} nodes"
    else:
        tps = sorted({o.tp for o in options})
        scope = f"at TP {tps[0]}" if len(tps) == 1 else f"at TP <= {tps[-1]}"
    classes = sorted({o.gpu.name for o in options})
    which = f"on {classes[0]}" if len(classes) == 1 else "on any GPU class of the catalog"
    text = (
        f"{model.id} does not fit {which} {scope} (closest: {s.shape}): {closest.message()}. "
        "Try a larger --tp, another --gpu, --nodes, --quantization, or a smaller --max-model-len"
    )
    skipped = [f"{k} ({v})" for k, v in excluded.items()]
    if skipped:
        text += "; left out: " + "; ".join(skipped)
    if multi_reasons and nodes != 1:
        text += "; no multi-node plan: " + "; ".join(dict.fromkeys(multi_reasons))
    return text


def describe(p: Plan) -> list[str]:
    """The sizing as text lines (new-model prints them)."""
    s = p.sizing
    m = s.model
    fmt = s.quantization or s.dtype
    if m.quant_bytes and s.quantization in (None, m.quantization):
        fmt = (
            f"{m.quantization}: {m.quant_scheme}, {m.quant_bytes:.3g} B per parameter, "
            f"embeddings in {s.dtype}"
        )
    dtype_line = f"dtype      {s.dtype} (--dtype {p.requested_dtype}"
    dtype_line += f", serve.yaml dtype: {p.serve_dtype})" if p.serve_dtype else ": the checkpoint's)"
    where = (
        f"gpu        {s.tp} x {s.gpu.name} ({s.gpu.display}, {s.gpu.memory_gib:g} GiB each)"
        if s.pp == 1
        else f"gpu        {s.pp} nodes x {s.tp} x {s.gpu.name} = {s.gpus} GPUs per replica "
        f"(TP {s.tp} x PP {s.pp}; {s.gpu.display}, {s.gpu.memory_gib:g} GiB each)"
    )
    per = "TP" if s.pp == 1 else "TP x PP"
    lines = [
        f"model      {m.id}: {m.params / 1e9:.2f} B parameters"
        + (
            f" ({m.active_params / 1e9:.2f} B active per token)"
            if m.active_params and m.active_params < m.params * 0.99
            else ""
        )
        + f", {m.layers} layers, {m.heads} heads / {m.kv_heads} KV heads x {m.head_dim}, "
        f"context {m.context}" + (f", {m.model_type}" if m.model_type else ""),
        where,
        dtype_line,
        f"weights    {gib(s.weights_bytes):.2f} GiB ({fmt}), {gib(s.weights_bytes_per_gpu):.2f} GiB per GPU",
        f"kv/token   {s.kv_bytes_per_token:,} B ({s.kv_bytes_per_token / 1024:g} KiB) for the model, "
        f"{s.kv_bytes_per_token_per_gpu:,} B per GPU at {per} {s.tp}" + (f" x {s.pp}" if s.pp > 1 else ""),
        f"budget     {s.gpu_memory_utilization:g} x {s.gpu.memory_gib:g} GiB = "
        f"{gib(s.budget_bytes_per_gpu):.2f} GiB per GPU - {gib(s.weights_bytes_per_gpu):.2f} weights"
        f" - {gib(s.overhead_bytes_per_gpu):.2f} overhead = "
        f"{gib(s.kv_cache_bytes_per_gpu):.2f} GiB KV cache per GPU",
        f"kv cache   {s.kv_tokens:,} tokens",
        f"max len    {p.max_model_len} tokens; max concurrency at full context {p.concurrency:.2f}",
    ]
    return lines + [f"note       {n}" for n in p.notes]
