"""The dtype vLLM 0.33 computes a model in on a GPU class, and the combinations it refuses.

vLLM 0.33.0 (docs/reference/vllm-versions.md §6.1-6.2, read from the 0.33.0 wheel):

* ``--dtype`` takes ``auto``, ``half``/``float16``, ``bfloat16``, ``float``/``float32``
  (``_STR_DTYPE_TO_TORCH_DTYPE``, vllm/config/model.py).
* A GPU of compute capability >= 8.0 supports bfloat16, float16 and float32; 6.0-7.x
  (Turing: T4; Volta) only float16 and float32 (``supported_dtypes``,
  vllm/platforms/cuda.py).  An explicit bfloat16 there fails at worker start
  (``check_if_supports_dtype``).
* Model types in ``_FLOAT16_NOT_SUPPORTED_MODELS`` (gemma2, gemma3, gemma3_text, glm4;
  the catalog's ``float16_refused``) refuse float16: ``_check_valid_dtype`` raises for an
  explicit half/float16.  With ``auto``, ``_resolve_auto_dtype`` drops float16 from the
  supported list: the checkpoint's dtype when supported, else the first supported one --
  on a GPU without bfloat16 that is **float32**, twice the weight memory of bfloat16.
  A float32 checkpoint is served in the first supported dtype.
* A quantization method accepts only the activation dtypes of its kernels
  (``get_supported_act_dtypes``, checked in vllm/config/vllm.py
  ``_get_quantization_config``): fp8, fbgemm_fp8, modelopt, AWQ and GPTQ take float16 or
  bfloat16, never float32.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmfleet.catalog import entries as catalog
from llmfleet.catalog.entries import GpuClass, ModelSpec

#: What ``--dtype`` accepts, and the torch dtype each names.
REQUESTS = ("auto", "half", "float16", "bfloat16", "float", "float32")
TORCH_DTYPE = {
    "half": "float16",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "float": "float32",
    "float32": "float32",
}
BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}
SHORT = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}
#: Quantization methods whose kernels take float16 or bfloat16 activations only.
HALF_PRECISION_ONLY = frozenset({"fp8", "fbgemm_fp8", "modelopt", "awq", "awq_marlin", "gptq", "gptq_marlin"})
SOURCE_FLOAT16 = "vllm/config/model.py _FLOAT16_NOT_SUPPORTED_MODELS"
SOURCE_BF16 = "vllm/platforms/cuda.py supported_dtypes: bfloat16 from compute capability 8.0"


@dataclass(frozen=True)
class Resolution:
    """How vLLM would run ``requested`` for a model on a GPU class."""

    requested: str  # as --dtype reads it (auto, half, ...)
    served: str  # torch dtype computed in: bfloat16, float16 or float32
    refused: str | None = None  # vLLM refuses the combination: why (cited)
    fallback: str | None = None  # auto fell back to a dtype other than the checkpoint's: why

    @property
    def ok(self) -> bool:
        return self.refused is None

    @property
    def bytes(self) -> int:
        return BYTES[self.served]

    @property
    def short(self) -> str:
        return SHORT[self.served]


def normalize(requested: str | None) -> str:
    """The --dtype value as vLLM reads it (lower case); ValueError when vLLM rejects it."""
    value = str(requested or "auto").strip().lower()
    if value not in REQUESTS:
        raise ValueError(f"dtype {requested!r}: vLLM 0.33 accepts {', '.join(REQUESTS)}")
    return value


def supported(gpu: GpuClass) -> list[str]:
    """vLLM's supported dtypes on this class, in its order of preference."""
    return ["bfloat16", "float16", "float32"] if gpu.bf16 else ["float16", "float32"]


def checkpoint_dtype(model: ModelSpec) -> str:
    return TORCH_DTYPE.get(model.dtype, model.dtype if model.dtype in BYTES else "bfloat16")


def float16_refusal(model: ModelSpec) -> str | None:
    """vLLM's reason for refusing float16 for this model's type, with the source; or None."""
    reason = catalog.float16_refusal(model.model_type)
    if reason is None:
        return None
    return f'vLLM 0.33 refuses float16 for model type {model.model_type!r} ({SOURCE_FLOAT16}: "{reason}")'


def _gpu_words(gpu: GpuClass) -> str:
    cc = f", compute capability {gpu.compute_capability}" if gpu.compute_capability else ""
    return f"{gpu.name} ({gpu.architecture.split(' (')[0] or gpu.display}{cc})"


def resolve(
    model: ModelSpec, gpu: GpuClass, requested: str | None = "auto", quantization: str | None = None
) -> Resolution:
    """The dtype vLLM 0.33 serves ``model`` in on ``gpu`` for ``--dtype requested``."""
    asked = normalize(requested)
    refusal16 = float16_refusal(model)
    valid = [d for d in supported(gpu) if not (d == "float16" and refusal16)]
    checkpoint = checkpoint_dtype(model)
    refused = fallback = None
    if asked == "auto":
        preferred = valid[0]
        wanted = preferred if checkpoint == "float32" else checkpoint
        served = wanted if wanted in valid else preferred
        if served != wanted:
            reasons = []
            if wanted not in supported(gpu):
                reasons.append(f"{_gpu_words(gpu)} has no {wanted} ({SOURCE_BF16})")
            if refusal16 and "float16" in supported(gpu):
                reasons.append(refusal16)
            why = " and ".join(reasons)
            if served == "float32":
                fallback = (
                    f"dtype auto on {gpu.name}: {why}; vLLM falls back to float32 "
                    "(twice the weight memory of 16 bit)"
                )
            else:
                fallback = f"dtype auto on {gpu.name}: {why}; vLLM casts to {served}"
        elif served != checkpoint and checkpoint != "float32":
            fallback = f"dtype auto on {gpu.name}: {checkpoint} checkpoint cast to {served}"
    else:
        served = TORCH_DTYPE[asked]
        if served == "float16" and refusal16:
            refused = refusal16
        elif served == "bfloat16" and not gpu.bf16:
            refused = (
                f"{_gpu_words(gpu)} has no bfloat16 ({SOURCE_BF16}); vLLM stops at start "
                "(check_if_supports_dtype)"
            )
    if refused is None and quantization and quantization in HALF_PRECISION_ONLY and served == "float32":
        refused = (
            f"vLLM's {quantization} kernels take float16 or bfloat16 activations only "
            f"(get_supported_act_dtypes, checked in vllm/config/vllm.py), not float32"
            + (f"; {fallback}" if fallback else "")
        )
    return Resolution(asked, served, refused, fallback)


#: model_type of families vLLM keys dtype checks on, recognised from a Hugging Face id when
#: the model is outside the catalog (the catalog and config.json say it exactly):
#: ``gemma-2-*`` is Gemma 2 (``gemma-2b`` is Gemma 1), ``gemma-3-1b`` is ``gemma3_text``, the
#: larger Gemma 3 are ``gemma3`` (``gemma-3n`` is another family), ``GLM-4-*-0414`` and
#: ``GLM-Z1-*-0414`` are ``glm4`` (``glm-4-9b-chat`` is ``chatglm``, ``GLM-4.5`` ``glm4_moe``).
_NAME_TYPES = (
    (re.compile(r"(^|[/_-])gemma-?2-", re.IGNORECASE), "gemma2"),
    (re.compile(r"(^|[/_-])gemma-?3-1b", re.IGNORECASE), "gemma3_text"),
    (re.compile(r"(^|[/_-])gemma-?3-(?!n)", re.IGNORECASE), "gemma3"),
    (re.compile(r"(^|[/_-])glm-(4|z1)-.*0414", re.IGNORECASE), "glm4"),
)


def model_type_from_name(model_id: str) -> str | None:
    """The model_type a Hugging Face id names, for the families above; None otherwise."""
    for pattern, model_type in _NAME_TYPES:
        if pattern.search(model_id or ""):
            return model_type
    return None
