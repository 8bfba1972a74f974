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
latter unless ``--dtype float32`` is asked for)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from llmfleet.catalog import attention_window, dtypes
from llmfleet.catalog import entries as catalog
from llmfleet.catalog.entries import GpuClass, ModelSpec
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


#: What a configuration costs per hour: by default its GPUs at the per-GPU price of
#: gpus.yaml; new-model passes the instance price of the cluster's cloud
#: (llmfleet.catalog.pricing.offer).  ``math.inf`` for a configuration no node shape holds.
PriceOf = Callable[["Sizing"], float]


def gib(value: float) -> float:
    return value / GIB
