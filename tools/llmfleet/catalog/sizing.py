"""GPU memory sizing of a vLLM deployment: weights, KV cache, how many tokens fit, and the
cheapest GPU class and tensor-parallel size that hold a model.

The model follows vLLM 0.33.0 (docs/reference/vllm.md §4):

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
* **Dtype**: the weights and a ``--kv-cache-dtype auto`` cache take the bytes of the dtype
  vLLM actually computes in on that GPU (:mod:`llmfleet.catalog.dtypes`): bf16/fp16 2, fp32 4
  (``--dtype auto`` of a Gemma 2/3 or GLM-4 on a T4 falls back to float32).
* **Pipeline parallelism** (``pp`` > 1, multi-node groups; docs/reference/vllm-multinode.md
  §9): vLLM gives each stage ``layers // PP`` of the layers (the remainder one each to
  the stages before the last), the input embedding to the first stage and the LM head to
  the last, and cuts every worker's KV cache to the smallest worker's block count.  So the
  heaviest stage bounds the instance: per GPU, the weights of ``ceil(layers / PP)`` layers
  plus one vocabulary x hidden matrix (in the served dtype), / TP; KV bytes per token per
  GPU count ``ceil(layers / PP)`` layers.  With PP = 1 these are the formulas above.  The
  overhead's NCCL part applies whenever the world (TP x PP) is above one GPU.
* **Multi-head latent attention** (DeepSeek V2/V3): one compressed KV vector of
  ``kv_lora_rank + qk_rope_head_dim`` elements per token and layer, held whole by every TP rank.

Every fit decision and the message that explains it come from one :class:`Fit` (the same
length, the same number of sequences, the same bytes).

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
fewer than MIN_CONCURRENCY fit).  When no single node holds the model (or ``nodes`` asks
for it) the plan spreads it over nodes of the class's largest node shape (TP = GPUs per
node up to 8, PP = nodes, at most :data:`MAX_NODES`), cheapest first; classes whose node
shapes carry fewer than two GPUs cannot host a multi-node group.  Classes on which vLLM
refuses the dtype, or where ``--dtype auto`` would fall back to float32, are left out (the
latter unless ``--dtype float32`` is asked for).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from llmfleet.catalog import attention_window, dtypes
from llmfleet.catalog import entries as catalog
from llmfleet.catalog.entries import GpuClass, ModelSpec
from llmfleet.catalog.node_shapes import Catalog as NodeCatalog
from llmfleet.infra.errors import UsageError

GIB = 1024**3
#: vLLM 0.33.0's --gpu-memory-utilization default (docs/reference/vllm.md §2.2, §4.1).
DEFAULT_GPU_MEMORY_UTILIZATION = 0.92
#: Activations + non-torch memory + CUDA graphs per GPU (docs/reference/vllm.md §4.4: ~2-5 GiB).
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


def target_context(model: ModelSpec) -> int:
    """The default max-model-len: DEFAULT_TARGET_CONTEXT, or for a reasoning model
    llmfleet.catalog.purpose.REASONING_CONTEXT; never above the model's context."""
    from llmfleet.catalog import purpose

    base = purpose.REASONING_CONTEXT if purpose.reasoning_reason(model.id) else DEFAULT_TARGET_CONTEXT
    return min(model.context, base)


#: The shortest max-model-len worth deploying when fitting the length to a GPU.
MIN_MODEL_LEN = 1024
MAX_TP = 8
TP_SIZES = (1, 2, 4, 8)
#: The most nodes new-model spreads one replica over (pipeline-parallel stages).
MAX_NODES = 4
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
KV_CACHE_DTYPES = ("auto", "fp8", "fp8_e4m3", "fp8_e5m2", "bfloat16", "float16")
#: FP8 weight formats: without fp8 tensor cores (before Ada/Hopper) vLLM runs them
#: weight-only through Marlin (fp8.py and fbgemm_fp8.py: use_marlin below capability 8.9).
FP8_METHODS = ("fp8", "fbgemm_fp8", "modelopt")


def normalize_quantization(quantization: str | None) -> str | None:
    if quantization is None:
        return None
    q = str(quantization).strip().lower()
    if q in ("", "none", "bf16", "bfloat16", "fp16", "float16", "half"):
        return None
    if q not in QUANTIZATION_BYTES:
        raise UsageError(
            f"--quantization {quantization!r}: sizing knows "
            f"{', '.join(QUANTIZATION_BYTES)} (or none for the model's own dtype)"
        )
    return q


def _dtype_bytes(model: ModelSpec, dtype: str | None) -> int:
    """Bytes of the served dtype; without one, the checkpoint's 16-bit default (a float32
    checkpoint is served in 16 bit on every GPU with bfloat16)."""
    if dtype:
        return dtypes.BYTES[dtype]
    return min(model.dtype_bytes, 2)


def weight_bytes(model: ModelSpec, quantization: str | None = None, dtype: str | None = None) -> float:
    """Bytes of all the weights (every GPU together), in the served ``dtype``."""
    quantization = normalize_quantization(quantization)
    unit = _dtype_bytes(model, dtype)
    if quantization is None or quantization == model.quantization:
        # The checkpoint's own format: the bytes its quantization_config gives.
        if not model.quant_bytes:
            if quantization is None:
                return model.params * unit
            per_param = QUANTIZATION_BYTES[quantization]
        else:
            per_param = model.quant_bytes
    else:
        per_param = QUANTIZATION_BYTES[quantization]
    embed = min(model.embedding_params, model.params)
    return (model.params - embed) * per_param + embed * unit


def stage_layers(model: ModelSpec, pp: int = 1) -> int:
    """Layers of the largest pipeline stage (vLLM's get_pp_indices splits them evenly)."""
    return math.ceil(model.layers / max(pp, 1))


def stage_weight_bytes(
    model: ModelSpec, quantization: str | None = None, pp: int = 1, dtype: str | None = None
) -> float:
    """Bytes of the weights of the heaviest pipeline stage (all of them when pp is 1): its
    layers and one vocabulary x hidden matrix (the first stage's embedding or the last
    stage's LM head), in the served ``dtype``."""
    total = weight_bytes(model, quantization, dtype)
    if pp <= 1:
        return total
    embed = min(model.embedding_params, model.params)
    embed_bytes = embed * _dtype_bytes(model, dtype)
    matrix = embed_bytes / (1 if model.tied else 2) if embed else 0.0
    return (total - embed_bytes) * stage_layers(model, pp) / model.layers + matrix


def kv_bytes_per_element(model: ModelSpec, kv_cache_dtype: str = "auto", dtype: str | None = None) -> int:
    kv = (kv_cache_dtype or "auto").lower()
    if kv not in KV_CACHE_DTYPES:
        raise UsageError(f"--kv-cache-dtype {kv_cache_dtype!r}: one of {', '.join(KV_CACHE_DTYPES)}")
    if kv.startswith("fp8"):
        return 1
    if kv == "auto":
        return _dtype_bytes(model, dtype)
    return 2


def kv_heads_per_gpu(model: ModelSpec, tp: int = 1) -> int:
    """vLLM's get_num_kv_heads: ``max(1, kv_heads // tp)`` (replicated past kv_heads)."""
    return max(1, model.kv_heads // tp)


def kv_bytes_per_token(
    model: ModelSpec, tp: int = 1, kv_cache_dtype: str = "auto", pp: int = 1, dtype: str | None = None
) -> int:
    """KV-cache bytes one token takes on ONE GPU of a TP group (tp=1: the whole model); with
    pipeline parallelism each GPU holds the KV of its stage's layers only.  Multi-head latent
    attention keeps one latent vector per layer, whole on every TP rank."""
    layers = stage_layers(model, pp)
    element = kv_bytes_per_element(model, kv_cache_dtype, dtype)
    if model.kv_latent_dim:
        return layers * model.kv_latent_dim * element
    return 2 * layers * kv_heads_per_gpu(model, tp) * model.head_dim * element


def overhead_bytes(tp: int = 1, pp: int = 1) -> float:
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
    """Memory of one vLLM instance of ``model`` on ``tp`` GPUs of class ``gpu``."""

    model: ModelSpec
    gpu: GpuClass
    tp: int
    quantization: str | None = None
    kv_cache_dtype: str = "auto"
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION
    #: Pipeline-parallel stages (across nodes with multi-node serving): each GPU holds
    #: 1/(tp × pp) of the weights and the KV of its stage's layers.
    pp: int = 1
    #: The dtype vLLM computes in (bfloat16, float16, float32); "" = what --dtype auto gives.
    dtype: str = ""

    def __post_init__(self) -> None:
        if not self.dtype:
            served = dtypes.resolve(self.model, self.gpu, "auto", self.quantization).served
            object.__setattr__(self, "dtype", served)

    @property
    def gpus(self) -> int:
        return self.tp * self.pp

    @property
    def weights_bytes(self) -> float:
        return weight_bytes(self.model, self.quantization, self.dtype)

    @property
    def weights_bytes_per_gpu(self) -> float:
        """On a GPU of the heaviest pipeline stage."""
        return stage_weight_bytes(self.model, self.quantization, self.pp, self.dtype) / self.tp

    @property
    def kv_bytes_per_token(self) -> int:
        """Whole model (all KV heads) -- the figure docs/reference/vllm.md §4.3 tabulates."""
        return kv_bytes_per_token(self.model, 1, self.kv_cache_dtype, 1, self.dtype)

    @property
    def kv_bytes_per_token_per_gpu(self) -> int:
        return kv_bytes_per_token(self.model, self.tp, self.kv_cache_dtype, self.pp, self.dtype)

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

    def kv_bytes_per_sequence_per_gpu(self, max_model_len: int) -> float:
        """KV one sequence of ``max_model_len`` tokens takes on one GPU: every global layer
        holds each token, a local (sliding-window) layer only the window and one chunk
        (llmfleet.catalog.attention_window)."""
        per_token = self.kv_bytes_per_token_per_gpu
        m = self.model
        if not m.sliding_window or not m.sliding_layers:
            return per_token * max_model_len
        local = min(m.sliding_layers, m.layers) / m.layers
        held = attention_window.tokens_held(m.sliding_window, max_model_len)
        return per_token * ((1 - local) * max_model_len + local * held)

    def concurrency(self, max_model_len: int) -> float:
        """Sequences of max_model_len tokens that fit at once ("Maximum concurrency")."""
        if not max_model_len or self.kv_cache_bytes_per_gpu <= 0:
            return 0.0
        # Whole tokens of KV cache, as vLLM counts blocks, over what one sequence takes.
        return (
            self.kv_tokens
            * self.kv_bytes_per_token_per_gpu
            / self.kv_bytes_per_sequence_per_gpu(max_model_len)
        )

    def needed_bytes_per_gpu(self, max_model_len: int, sequences: int = 1) -> float:
        return (
            self.weights_bytes_per_gpu
            + self.overhead_bytes_per_gpu
            + sequences * self.kv_bytes_per_sequence_per_gpu(max_model_len)
        )

    def shortfall_bytes(self, max_model_len: int, sequences: int = 1) -> float:
        """How far ``sequences`` full-length sequences are from fitting (<= 0: they fit)."""
        return self.needed_bytes_per_gpu(max_model_len, sequences) - self.budget_bytes_per_gpu

    def holds(self, max_model_len: int, sequences: int = 1) -> bool:
        return self.fit(max_model_len, sequences).fits

    def fit(self, max_model_len: int, sequences: int = 1) -> Fit:
        return Fit(self, max_model_len, sequences)

    @property
    def shape(self) -> str:
        """``2 x l4`` or ``2 nodes x 8 x h100-80gb``."""
        if self.pp > 1:
            return f"{self.pp} nodes x {self.tp} x {self.gpu.name}"
        return f"{self.tp} x {self.gpu.name}"

    @property
    def price_per_hour(self) -> float:
        return self.gpu.price_per_hour * self.gpus


@dataclass(frozen=True)
class Fit:
    """Whether ``sequences`` sequences of ``length`` tokens fit one sizing, and the numbers
    that say so: the decision and its message are made from the same object."""

    sizing: Sizing
    length: int
    sequences: int = 1

    @property
    def weights(self) -> float:
        return self.sizing.weights_bytes_per_gpu

    @property
    def overhead(self) -> float:
        return self.sizing.overhead_bytes_per_gpu

    @property
    def kv(self) -> float:
        return self.sequences * self.sizing.kv_bytes_per_sequence_per_gpu(self.length)

    @property
    def needed(self) -> float:
        return self.weights + self.overhead + self.kv

    @property
    def budget(self) -> float:
        return self.sizing.budget_bytes_per_gpu

    @property
    def shortfall(self) -> float:
        """Bytes per GPU missing (> 0), or to spare (<= 0)."""
        return self.needed - self.budget

    @property
    def fits(self) -> bool:
        return self.shortfall <= 0

    def arithmetic(self) -> str:
        """Per GPU: weights + overhead + KV = need <op> budget, with the same numbers."""
        s = self.sizing
        plural = "s" if self.sequences != 1 else ""
        return (
            f"per GPU {gib(self.weights):.2f} GiB weights ({s.dtype}) + {gib(self.overhead):.2f} GiB "
            f"overhead + {gib(self.kv):.2f} GiB KV for {self.sequences} sequence{plural} of "
            f"{self.length} tokens = {gib(self.needed):.2f} GiB "
            f"{'<=' if self.fits else '>'} budget {gib(self.budget):.2f} GiB "
            f"({s.gpu_memory_utilization:g} x {s.gpu.memory_gib:g} GiB)"
        )

    def message(self) -> str:
        amount = gib(abs(self.shortfall))
        shown = f"{amount:.2f} GiB" if amount >= 0.005 else "less than 0.01 GiB"
        return self.arithmetic() + (f"; {shown} to spare" if self.fits else f"; short by {shown}")


def size(
    model: ModelSpec,
    gpu: GpuClass,
    tp: int = 1,
    quantization: str | None = None,
    kv_cache_dtype: str = "auto",
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    pp: int = 1,
    dtype: str | None = None,
) -> Sizing:
    """The sizing of ``model`` on ``tp`` x ``pp`` GPUs; ``dtype`` is the served dtype
    (default: what ``--dtype auto`` gives on that class).  Without ``quantization``, a
    pre-quantized checkpoint's own method (``model.quantization``) applies, as in vLLM, when
    the sizing knows it."""
    if quantization is None and model.quantization in QUANTIZATION_BYTES:
        quantization = model.quantization
    if pp < 1:
        raise UsageError(f"pipeline-parallel-size {pp}: must be at least 1")
    return Sizing(
        model,
        gpu,
        tp,
        normalize_quantization(quantization),
        kv_cache_dtype or "auto",
        gpu_memory_utilization,
        pp,
        dtype or "",
    )


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
    candidates = [context] + [2**k for k in range(int(math.log2(context)), -1, -1) if 2**k < context]
    for length in candidates:
        if length < MIN_MODEL_LEN:
            break
        if sizing.holds(length, sequences):
            return length
    return None


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


#: What a configuration costs per hour: by default its GPUs at the per-GPU price of
#: gpus.yaml; new-model passes the instance price of the cluster's cloud
#: (llmfleet.catalog.pricing.offer).  ``math.inf`` for a configuration no node shape holds.
PriceOf = Callable[["Sizing"], float]


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
    for size in sorted((t for t in TP_SIZES if 2 <= t <= min(largest, MAX_TP)), reverse=True):
        if tp_problem(model, size) is None:
            return size, ""
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
    checkpoint = dtypes.checkpoint_dtype(model)
    if requested != "float32" and checkpoint != "float32":
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


def gib(value: float) -> float:
    return value / GIB


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
