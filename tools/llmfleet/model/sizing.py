"""GPU memory sizing of a vLLM deployment: weights, KV cache, how many tokens fit, and the
cheapest GPU class and tensor-parallel size that hold a model.

The model follows vLLM 0.33.0 (docs/reference/vllm-0.33.md §4):

* **Budget per GPU** = ``gpu_memory_utilization x total device memory`` (§4.1: the
  fraction covers the whole instance on that GPU -- weights, activations, CUDA graphs and
  KV cache -- and is computed per TP rank from the device's *total* memory).
* **Weights per GPU** = parameters x bytes per parameter / TP.  Bytes per parameter:
  bf16/fp16 2, fp8 1, AWQ/GPTQ int4 0.5 + :data:`INT4_SCALE_BYTES` for the group scales
  and zero points.  Quantization leaves the embedding and lm_head in 16 bit, so when the
  catalog knows the vocabulary those parameters count 2 bytes.
* **KV bytes per token per GPU** = ``2 x layers x max(1, kv_heads // tp) x head_dim x
  bytes per element`` (§4.2; KV heads are replicated when TP > KV heads).  Bytes per
  element: the model dtype (2) with ``--kv-cache-dtype auto``, 1 with ``fp8*``.
* **Overhead per GPU** not counted above -- peak activations of the profiling forward
  pass, non-torch memory (CUDA context, cuBLAS workspaces, NCCL) and CUDA graphs, which
  vLLM subtracts before the KV cache (§4.1) -- is :data:`OVERHEAD_GIB`, plus
  :data:`OVERHEAD_TP_GIB` when TP > 1.  §4.4 puts these at ~2-5 GiB for Llama-3.1-8B on
  an H100, whose 8192-token batches (§2.2 ``--max-num-batched-tokens``) are the large
  end; the other classes batch 2048 tokens.  2.5 GiB is the low-middle of that range;
  the NCCL buffers and the custom all-reduce workspace add about 0.5 GiB per rank.  A
  measured run logs the real figures ("Available KV cache memory", "GPU KV cache size").
* **KV cache per GPU** = budget - weights per GPU - overhead; **tokens of KV** = that
  / KV bytes per token per GPU; **concurrency at full context** = tokens / max-model-len.
* **Pipeline parallelism** (``pp`` > 1, multi-node groups; docs/reference/vllm-multinode.md
  §9): vLLM gives each stage ``layers // PP`` of the layers (the remainder one each to
  the stages before the last), the input embedding to the first stage and the LM head to the last, and cuts
  every worker's KV cache to the smallest worker's block count.  So the heaviest stage
  bounds the instance: per GPU, the weights of ``ceil(layers / PP)`` layers plus one
  vocabulary x hidden matrix (16 bit when quantized), / TP; KV bytes per token per GPU
  count ``ceil(layers / PP)`` layers.  With PP = 1 these are the formulas above.  The
  overhead's NCCL part applies whenever the world (TP x PP) is above one GPU.

Choice of GPU class and TP (:func:`plan`): a TP size is a power of two up to 8 that
vLLM accepts for the model (it divides the attention heads, and the KV heads divide it or
it divides them).  A configuration *holds* the model when its KV cache has room for
:data:`MIN_CONCURRENCY` sequences of max-model-len.  With nothing pinned, max-model-len is
``min(model context, DEFAULT_TARGET_CONTEXT)`` and the cheapest holding configuration wins
(price x TP; then fewer GPUs; then more memory); classes without bf16 (T4) are left
out for bf16 models, which can overflow in float16 (Gemma 2 is known to), unless pinned
with ``--gpu`` (then the overlay serves in float16, ``dtype: half``).  With ``--gpu``
and/or ``--tp`` pinned and no ``--max-model-len``, the smallest TP that holds *some* length
wins and max-model-len is fitted to it: the largest power of two <= the model's context with room for
MIN_CONCURRENCY sequences (:func:`fit_max_model_len`).  An explicit ``--max-model-len``
on a pinned GPU takes the smallest TP with room for one sequence of it (a note says when
fewer than MIN_CONCURRENCY fit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from llmfleet.model import catalog
from llmfleet.model.catalog import GpuClass, ModelSpec
from llmfleet.errors import UsageError

GIB = 1024 ** 3
#: vLLM 0.33.0's --gpu-memory-utilization default (docs/reference/vllm-0.33.md §2.2, §4.1).
DEFAULT_GPU_MEMORY_UTILIZATION = 0.92
#: Activations + non-torch memory + CUDA graphs per GPU (docs/reference/vllm-0.33.md §4.4: ~2-5 GiB).
OVERHEAD_GIB = 2.5
#: Extra per GPU when TP > 1: NCCL buffers and the custom all-reduce workspace.
OVERHEAD_TP_GIB = 0.5
#: Sequences of max-model-len that the KV cache must hold for a configuration to count:
#: two, so that one request of the full length never holds the whole cache.  Requests
#: average far below max-model-len, so the real batch is much larger (1 x L4 with
#: Llama-3.1-8B at 8192 holds 23k tokens: 2.8 full-length or ~20 typical requests).
MIN_CONCURRENCY = 2
#: max-model-len chosen when nothing is pinned (capped at the model's own context).
DEFAULT_TARGET_CONTEXT = 8192
#: The shortest max-model-len worth deploying when fitting the length to a GPU.
MIN_MODEL_LEN = 1024
MAX_TP = 8
TP_SIZES = (1, 2, 4, 8)
#: Bytes per parameter of int4 group quantization beyond the 0.5 of the weights:
#: a 16-bit scale per group of 128 (2/128 = 0.016) and a 4-bit zero point (0.004).
INT4_SCALE_BYTES = 0.02

#: --quantization value -> bytes per (quantized) parameter; None: the model dtype.
QUANTIZATION_BYTES: dict[str, float] = {
    "fp8": 1.0,
    "fbgemm_fp8": 1.0,
    "modelopt": 1.0,
    "awq": 0.5 + INT4_SCALE_BYTES,
    "awq_marlin": 0.5 + INT4_SCALE_BYTES,
    "gptq": 0.5 + INT4_SCALE_BYTES,
    "gptq_marlin": 0.5 + INT4_SCALE_BYTES,
}
#: FP8 weight formats: without fp8 tensor cores (before Ada/Hopper) vLLM runs them
#: weight-only through Marlin (fp8.py and fbgemm_fp8.py: use_marlin below capability 8.9).
FP8_METHODS = ("fp8", "fbgemm_fp8", "modelopt")
KV_CACHE_DTYPES = ("auto", "fp8", "fp8_e4m3", "fp8_e5m2", "bfloat16", "float16")


def normalize_quantization(quantization: str | None) -> str | None:
    if quantization is None:
        return None
    q = str(quantization).strip().lower()
    if q in ("", "none", "bf16", "bfloat16", "fp16", "float16", "half"):
        return None
    if q not in QUANTIZATION_BYTES:
        raise UsageError(f"--quantization {quantization!r}: sizing knows "
                         f"{', '.join(QUANTIZATION_BYTES)} (or none for the model's own dtype)")
    return q


def weight_bytes(model: ModelSpec, quantization: str | None = None) -> float:
    """Bytes of all the weights (every GPU together)."""
    quantization = normalize_quantization(quantization)
    if quantization is None:
        return model.params * model.dtype_bytes
    per_param = QUANTIZATION_BYTES[quantization]
    embed = min(model.embedding_params, model.params)
    return (model.params - embed) * per_param + embed * 2


def stage_layers(model: ModelSpec, pp: int = 1) -> int:
    """Layers of the largest pipeline stage (vLLM's get_pp_indices splits them evenly)."""
    return math.ceil(model.layers / max(pp, 1))


def stage_weight_bytes(model: ModelSpec, quantization: str | None = None, pp: int = 1) -> float:
    """Bytes of the weights of the heaviest pipeline stage (all of them when pp is 1): its
    layers and one vocabulary x hidden matrix (the first stage's embedding or the last
    stage's LM head)."""
    total = weight_bytes(model, quantization)
    if pp <= 1:
        return total
    quantization = normalize_quantization(quantization)
    embed = min(model.embedding_params, model.params)
    embed_bytes = embed * (model.dtype_bytes if quantization is None else 2)
    matrix = embed_bytes / (1 if model.tied else 2) if embed else 0.0
    return (total - embed_bytes) * stage_layers(model, pp) / model.layers + matrix


def kv_bytes_per_element(model: ModelSpec, kv_cache_dtype: str = "auto") -> int:
    kv = (kv_cache_dtype or "auto").lower()
    if kv not in KV_CACHE_DTYPES:
        raise UsageError(f"--kv-cache-dtype {kv_cache_dtype!r}: one of {', '.join(KV_CACHE_DTYPES)}")
    if kv.startswith("fp8"):
        return 1
    if kv == "auto":
        return min(model.dtype_bytes, 2)
    return 2


def kv_heads_per_gpu(model: ModelSpec, tp: int = 1) -> int:
    """vLLM's get_num_kv_heads: ``max(1, kv_heads // tp)`` (replicated past kv_heads)."""
    return max(1, model.kv_heads // tp)


def kv_bytes_per_token(model: ModelSpec, tp: int = 1, kv_cache_dtype: str = "auto",
                       pp: int = 1) -> int:
    """KV-cache bytes one token takes on ONE GPU of a TP group, in the largest pipeline
    stage (tp=1, pp=1: the whole model)."""
    return (2 * stage_layers(model, pp) * kv_heads_per_gpu(model, tp) * model.head_dim
            * kv_bytes_per_element(model, kv_cache_dtype))


def overhead_bytes(tp: int = 1, pp: int = 1) -> float:
    """Overhead per GPU of an instance of tp x pp GPUs."""
    return (OVERHEAD_GIB + (OVERHEAD_TP_GIB if tp * pp > 1 else 0.0)) * GIB


def tp_problem(model: ModelSpec, tp: int) -> str | None:
    """Why vLLM would refuse this TP size for the model, or None."""
    if tp not in TP_SIZES:
        return f"TP must be one of {', '.join(map(str, TP_SIZES))}"
    if model.heads % tp:
        return f"{model.heads} attention heads are not divisible by TP {tp}"
    if model.kv_heads % tp and tp % model.kv_heads:
        return f"{model.kv_heads} KV heads and TP {tp} do not divide one another"
    return None


def valid_tps(model: ModelSpec) -> list[int]:
    return [tp for tp in TP_SIZES if tp_problem(model, tp) is None]


@dataclass(frozen=True)
class Sizing:
    """Memory of one vLLM instance of ``model`` on ``tp`` x ``pp`` GPUs of class ``gpu``
    (``pp`` pipeline stages of ``tp`` GPUs each; a multi-node group has one stage per node)."""

    model: ModelSpec
    gpu: GpuClass
    tp: int
    quantization: str | None = None
    kv_cache_dtype: str = "auto"
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION
    #: Pipeline-parallel stages (across nodes with multi-node serving): each GPU holds
    #: its stage's layers / TP, and the heaviest stage sizes the instance.
    pp: int = 1

    @property
    def gpus(self) -> int:
        """GPUs of the instance: tensor x pipeline parallel."""
        return self.tp * self.pp

    @property
    def weights_bytes(self) -> float:
        return weight_bytes(self.model, self.quantization)

    @property
    def weights_bytes_per_gpu(self) -> float:
        """On a GPU of the heaviest pipeline stage."""
        return stage_weight_bytes(self.model, self.quantization, self.pp) / self.tp

    @property
    def kv_bytes_per_token(self) -> int:
        """Whole model (all KV heads) -- the figure docs/reference/vllm-0.33.md §4.3 tabulates."""
        return kv_bytes_per_token(self.model, 1, self.kv_cache_dtype)

    @property
    def kv_bytes_per_token_per_gpu(self) -> int:
        return kv_bytes_per_token(self.model, self.tp, self.kv_cache_dtype, self.pp)

    @property
    def budget_bytes_per_gpu(self) -> float:
        return self.gpu_memory_utilization * self.gpu.memory_gib * GIB

    @property
    def overhead_bytes_per_gpu(self) -> float:
        return overhead_bytes(self.tp, self.pp)

    @property
    def kv_cache_bytes_per_gpu(self) -> float:
        """Memory left for the KV cache on each GPU (negative: the weights do not fit)."""
        return self.budget_bytes_per_gpu - self.weights_bytes_per_gpu - self.overhead_bytes_per_gpu

    @property
    def kv_tokens(self) -> int:
        """Tokens of KV cache the instance holds (every GPU holds its share of each token)."""
        return max(0, int(self.kv_cache_bytes_per_gpu // self.kv_bytes_per_token_per_gpu))

    @property
    def weights_fit(self) -> bool:
        return self.kv_cache_bytes_per_gpu > 0

    def concurrency(self, max_model_len: int) -> float:
        """Sequences of max_model_len tokens that fit at once ("Maximum concurrency")."""
        return self.kv_tokens / max_model_len if max_model_len else 0.0

    def needed_bytes_per_gpu(self, max_model_len: int, sequences: int = 1) -> float:
        return (self.weights_bytes_per_gpu + self.overhead_bytes_per_gpu
                + sequences * max_model_len * self.kv_bytes_per_token_per_gpu)

    def shortfall_bytes(self, max_model_len: int, sequences: int = 1) -> float:
        """How far ``sequences`` full-length sequences are from fitting (<= 0: they fit)."""
        return self.needed_bytes_per_gpu(max_model_len, sequences) - self.budget_bytes_per_gpu

    def holds(self, max_model_len: int, sequences: int = 1) -> bool:
        return self.shortfall_bytes(max_model_len, sequences) <= 0

    @property
    def price_per_hour(self) -> float:
        return self.gpu.price_per_hour * self.gpus


def size(model: ModelSpec, gpu: GpuClass, tp: int = 1, quantization: str | None = None,
         kv_cache_dtype: str = "auto",
         gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION, pp: int = 1) -> Sizing:
    """The sizing of one instance.  Without ``quantization``, a pre-quantized checkpoint's
    own method (``model.quantization``) applies, as in vLLM, when the sizing knows it."""
    if quantization is None and model.quantization in QUANTIZATION_BYTES:
        quantization = model.quantization
    if pp < 1:
        raise UsageError(f"pipeline-parallel-size {pp}: must be at least 1")
    return Sizing(model, gpu, tp, normalize_quantization(quantization), kv_cache_dtype or "auto",
                  gpu_memory_utilization, pp)


# -- models outside the catalog: what the name and the settings tell ---------------------------

#: Families whose attention stores a compressed latent KV (multi-head latent attention): far
#: fewer KV bytes per token than the catalog's models, so no KV lower bound applies to them.
LATENT_KV_FAMILIES = ("deepseek", "kimi", "moonlight", "minimax")


@dataclass(frozen=True)
class WeightsEstimate:
    """Memory of a model known only by its size (from its id), per GPU."""

    params: float
    bytes_per_param: float
    gpu: GpuClass
    gpus: int
    gpu_memory_utilization: float

    @property
    def weights_bytes_per_gpu(self) -> float:
        return self.params * self.bytes_per_param / self.gpus

    @property
    def budget_bytes_per_gpu(self) -> float:
        return self.gpu_memory_utilization * self.gpu.memory_gib * GIB

    @property
    def overhead_bytes_per_gpu(self) -> float:
        return overhead_bytes(self.gpus)

    @property
    def left_bytes_per_gpu(self) -> float:
        return self.budget_bytes_per_gpu - self.weights_bytes_per_gpu - self.overhead_bytes_per_gpu


def kv_per_param_lower_bound() -> float:
    """The fewest KV-cache bytes per token per parameter of any catalogued model (16-bit KV):
    a model of unknown architecture needs at least about this much."""
    return min(kv_bytes_per_token(m) / m.params for m in catalog.models().values())


def fit_max_model_len(sizing: Sizing, sequences: int = MIN_CONCURRENCY) -> int | None:
    """The largest power of two <= the model's context (or the context itself) with room
    for ``sequences`` sequences of it; None below MIN_MODEL_LEN."""
    context = sizing.model.context
    candidates = [context] + [2 ** k for k in range(int(math.log2(context)), -1, -1)
                              if 2 ** k < context]
    for length in candidates:
        if length < MIN_MODEL_LEN:
            break
        if sizing.holds(length, sequences):
            return length
    return None


def gpu_problem(model: ModelSpec, gpu: GpuClass, quantization: str | None) -> str | None:
    """Why this GPU class cannot run the model's weights format at all, or None."""
    if quantization in FP8_METHODS and not gpu.fp8 and gpu.name == "t4":
        return (f"{gpu.name} ({gpu.architecture}) has no fp8 support and is too old for vLLM's "
                "weight-only FP8 (Marlin needs compute capability 8.0)")
    return None


@dataclass
class Plan:
    """What new-model deploys: a sizing and the max-model-len that goes with it."""

    sizing: Sizing
    max_model_len: int
    pinned: bool
    notes: list[str] = field(default_factory=list)

    @property
    def concurrency(self) -> float:
        return self.sizing.concurrency(self.max_model_len)

    @property
    def serve_dtype(self) -> str | None:
        """``half`` when the model is bf16 and the GPU has no bf16 (T4); else None (auto)."""
        if self.sizing.model.dtype == "bfloat16" and not self.sizing.gpu.bf16:
            return "half"
        return None


def _cheapest_key(s: Sizing) -> tuple[float, int, float]:
    return (round(s.price_per_hour, 6), s.tp, -s.gpu.memory_gib)


def plan(model: ModelSpec, *, gpu: str | None = None, tp: int | None = None,
         max_model_len: int | None = None, quantization: str | None = None,
         kv_cache_dtype: str = "auto",
         gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
         min_concurrency: int = MIN_CONCURRENCY) -> Plan:
    """Pick the GPU class, TP and max-model-len (module docstring); UsageError if nothing fits."""
    quantization = normalize_quantization(quantization)
    kv_bytes_per_element(model, kv_cache_dtype)  # validates the name
    if not 0 < gpu_memory_utilization <= 1:
        raise UsageError(f"--gpu-memory-utilization {gpu_memory_utilization}: must be in (0, 1]")
    if max_model_len is not None:
        if max_model_len < 1:
            raise UsageError(f"--max-model-len {max_model_len}: must be positive")
        if max_model_len > model.context:
            raise UsageError(f"--max-model-len {max_model_len} is above {model.id}'s context "
                             f"({model.context} tokens, max_position_embeddings); vLLM refuses it")
    if tp is not None:
        problem = tp_problem(model, tp)
        if problem:
            raise UsageError(f"--tp {tp}: {problem}; valid for {model.id}: "
                             f"{', '.join(map(str, valid_tps(model)))}")
    classes = [catalog.get_gpu(gpu)] if gpu else list(catalog.gpus().values())
    tps = [tp] if tp else valid_tps(model)
    pinned = bool(gpu or tp)
    if gpu:
        problem = gpu_problem(model, classes[0], quantization)
        if problem:
            raise UsageError(f"--gpu {gpu}: {problem}")
    if not gpu and model.dtype == "bfloat16":
        classes = [g for g in classes if g.bf16]
    options = [size(model, g, t, quantization, kv_cache_dtype, gpu_memory_utilization)
               for g in classes if gpu_problem(model, g, quantization) is None for t in tps]
    options.sort(key=_cheapest_key)

    chosen: Plan | None = None
    if max_model_len is None and not pinned:
        target = min(model.context, DEFAULT_TARGET_CONTEXT)
        for s in options:
            if s.holds(target, min_concurrency):
                chosen = Plan(s, target, pinned)
                break
        if chosen is None:
            raise UsageError(_fits_nothing(model, target, min_concurrency, quantization,
                                           kv_cache_dtype, gpu_memory_utilization))
    elif max_model_len is None:
        # Pinned: the smallest TP (cheapest) that holds some length, length fitted to it.
        for s in sorted(options, key=lambda o: (o.tp, _cheapest_key(o))):
            length = fit_max_model_len(s, min_concurrency)
            if length:
                chosen = Plan(s, length, pinned)
                if length < model.context:
                    chosen.notes.append(
                        f"max-model-len fitted to {s.tp} x {s.gpu.name}: {length} tokens "
                        f"(the model allows {model.context}); the largest power of two with "
                        f"room for {min_concurrency} full-length sequences")
                break
        if chosen is None:
            raise UsageError(_does_not_fit(options, MIN_MODEL_LEN, 1, model))
    else:
        need = max_model_len
        if pinned:
            # Pinned GPU/TP and length: the smallest TP that can start (one full sequence).
            for s in sorted(options, key=lambda o: (o.tp, _cheapest_key(o))):
                if s.holds(need, 1):
                    chosen = Plan(s, need, pinned)
                    break
            if chosen is None:
                raise UsageError(_does_not_fit(options, need, 1, model))
            if chosen.concurrency < min_concurrency:
                chosen.notes.append(
                    f"only {chosen.concurrency:.2f} sequences of {need} tokens fit at once "
                    f"(fewer than {min_concurrency}); longer requests queue")
        else:
            for s in options:
                if s.holds(need, min_concurrency):
                    chosen = Plan(s, need, pinned)
                    break
            if chosen is None:
                raise UsageError(_fits_nothing(model, need, min_concurrency, quantization,
                                               kv_cache_dtype, gpu_memory_utilization))
    if chosen.serve_dtype:
        chosen.notes.append(f"{chosen.sizing.gpu.name} has no bfloat16 ({chosen.sizing.gpu.architecture}): "
                            "serving in float16 (dtype: half)")
    if chosen.sizing.quantization in FP8_METHODS and not chosen.sizing.gpu.fp8:
        chosen.notes.append(f"{chosen.sizing.gpu.name} has no fp8 tensor cores: vLLM runs FP8 "
                            "weight-only (Marlin); memory as fp8, speed as bf16")
    if model.sliding_window:
        chosen.notes.append(f"{model.id} uses a sliding window ({model.sliding_window}) on some "
                            "layers: the KV figures are an upper bound (docs/reference/vllm-0.33.md §4.2)")
    return chosen


def gib(value: float) -> float:
    return value / GIB


def _fits_nothing(model: ModelSpec, length: int, sequences: int, quantization: str | None, kv_cache_dtype: str,
                  util: float) -> str:
    largest = max(catalog.gpus().values(), key=lambda g: (g.memory_gib, -g.price_per_hour))
    weights = weight_bytes(model, quantization)
    kv_total = sequences * length * kv_bytes_per_token(model, 1, kv_cache_dtype)
    usable = util * largest.memory_gib * GIB - overhead_bytes(2)
    gpus_needed = max(1, math.ceil((weights + kv_total) / usable))
    tp_needed = 2 ** math.ceil(math.log2(gpus_needed))
    fmt = (quantization or model.dtype)
    return (f"{model.id} fits no GPU class even at TP {MAX_TP}: {sequences} sequences of "
            f"{length} tokens need {gib(weights):.1f} GiB of weights ({fmt}) + "
            f"{gib(kv_total):.1f} GiB of KV cache = {gib(weights + kv_total):.1f} GiB, plus "
            f"{OVERHEAD_GIB + OVERHEAD_TP_GIB:g} GiB overhead per GPU; the largest class, "
            f"{largest.name}, gives {gib(usable):.1f} GiB per GPU at gpu-memory-utilization "
            f"{util:g}, so it would need {gpus_needed} GPUs (TP {tp_needed}, above {MAX_TP}). "
            "Use a quantized checkpoint (--quantization awq/gptq/fp8) or a smaller "
            "--max-model-len")


def _does_not_fit(options: list[Sizing], length: int, sequences: int, model: ModelSpec) -> str:
    if not options:
        return f"{model.id}: no GPU class and TP to try"
    s = min(options, key=lambda o: o.shortfall_bytes(length, sequences))
    tps = sorted({o.tp for o in options})
    where = f"TP {s.tp}" if len(tps) == 1 else f"TP <= {tps[-1]} (closest: TP {s.tp})"
    plural = "s" if sequences > 1 else ""
    return (f"{model.id} does not fit on {s.gpu.name} at {where}: per GPU "
            f"{gib(s.weights_bytes_per_gpu):.2f} GiB weights + "
            f"{gib(s.overhead_bytes_per_gpu):.2f} GiB overhead + "
            f"{gib(sequences * length * s.kv_bytes_per_token_per_gpu):.2f} GiB KV for "
            f"{sequences} sequence{plural} of {length} tokens = "
            f"{gib(s.needed_bytes_per_gpu(length, sequences)):.2f} GiB > budget "
            f"{gib(s.budget_bytes_per_gpu):.2f} GiB ({s.gpu_memory_utilization:g} x "
            f"{s.gpu.memory_gib:g} GiB); short by "
            f"{gib(s.shortfall_bytes(length, sequences)):.2f} GiB. "
            "Try a larger --tp, another --gpu, --quantization, or a smaller --max-model-len")


def describe(p: Plan) -> list[str]:
    """The sizing as text lines (new-model prints them)."""
    s = p.sizing
    m = s.model
    fmt = s.quantization or m.dtype
    parallel = f"TP {s.tp}" + (f" x PP {s.pp}" if s.pp > 1 else "")
    lines = [
        f"model      {m.id}: {m.params / 1e9:.2f} B parameters, {m.layers} layers, "
        f"{m.heads} heads / {m.kv_heads} KV heads x {m.head_dim}, context {m.context}",
        f"gpu        {s.gpus} x {s.gpu.name} ({s.gpu.display}, {s.gpu.memory_gib:g} GiB each)"
        + (f", {parallel}" if s.pp > 1 else ""),
        f"weights    {gib(s.weights_bytes):.2f} GiB ({fmt}), {gib(s.weights_bytes_per_gpu):.2f} GiB per GPU",
        f"kv/token   {s.kv_bytes_per_token:,} B ({s.kv_bytes_per_token / 1024:g} KiB) for the model, "
        f"{s.kv_bytes_per_token_per_gpu:,} B per GPU at {parallel}",
        f"budget     {s.gpu_memory_utilization:g} x {s.gpu.memory_gib:g} GiB = "
        f"{gib(s.budget_bytes_per_gpu):.2f} GiB per GPU - {gib(s.weights_bytes_per_gpu):.2f} weights"
        f" - {gib(s.overhead_bytes_per_gpu):.2f} overhead = "
        f"{gib(s.kv_cache_bytes_per_gpu):.2f} GiB KV cache per GPU",
        f"kv cache   {s.kv_tokens:,} tokens",
        f"max len    {p.max_model_len} tokens; max concurrency at full context {p.concurrency:.2f}",
    ]
    return lines + [f"note       {n}" for n in p.notes]
