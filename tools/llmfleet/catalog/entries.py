"""The GPU and model catalog (``llmfleet/data/gpus.yaml``, ``llmfleet/data/models.yaml``)
and a reader for a Hugging Face ``config.json`` of a model the catalog does not list.

Every value in the data files cites its source there.  Sizing (``llmfleet.catalog.sizing``),
``new-model``, ``cost`` and the lint rule ``gpu-fit`` all read the catalog through here.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from llmfleet import DATA_DIR
from llmfleet.infra import bounded_read
from llmfleet.infra.errors import UsageError
from llmfleet.kube import safe_yaml

#: The node label the GPU components select on, with the class name as value.
GPU_LABEL_KEY = "llmfleet.io/gpu-class"

#: config.json torch_dtype -> bytes per element.
DTYPE_BYTES = {
    "bfloat16": 2,
    "float16": 2,
    "float32": 4,
    "bf16": 2,
    "fp16": 2,
    "half": 2,
    "float": 4,
    "fp32": 4,
}


@dataclass(frozen=True)
class GpuClass:
    name: str  # class name = node label value (llmfleet.io/gpu-class)
    display: str
    memory_gib: float  # total device memory as the CUDA runtime reports it
    price_per_hour: float  # USD per GPU per hour, on demand (gpus.yaml: one basis)
    bf16: bool
    fp8: bool
    architecture: str = ""
    memory_source: str = ""
    price_source: str = ""
    price_note: str = ""
    compute_capability: str = ""
    price_instance: str = ""
    price_date: str = ""
    #: A spot / preemptible price where one is sourced (never mixed into price_per_hour).
    spot_price_per_hour: float | None = None
    spot_price_source: str = ""
    spot_price_date: str = ""
    memory_bandwidth_gbps: float | None = None
    bf16_tflops: float | None = None

    @property
    def label_value(self) -> str:
        return self.name

    @property
    def capability(self) -> float | None:
        """Compute capability as a number (8.9), or None when the catalog does not say."""
        try:
            return float(self.compute_capability)
        except ValueError:
            return None

    @property
    def component(self) -> str:
        """Path of the Kustomize component, relative to the repository root."""
        return f"components/gpu-{self.name}"


@dataclass(frozen=True)
class ModelSpec:
    id: str
    params: float  # parameter count
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    context: int  # max_position_embeddings: vLLM's default max-model-len
    dtype: str = "bfloat16"
    gated: bool = False
    vocab: int | None = None
    tied: bool | None = None
    sliding_window: int | None = None
    source: str = ""
    #: quantization_config.quant_method of a pre-quantized checkpoint (awq, gptq, fp8).
    quantization: str | None = None
    #: config.json model_type (llama, gemma2, qwen3_moe, ...): the family vLLM keys checks on.
    model_type: str | None = None
    #: Multi-head latent attention (DeepSeek V2/V3, Kimi K2): elements of the compressed KV
    #: one token keeps per layer (kv_lora_rank + qk_rope_head_dim), the same on every TP
    #: rank; None for ordinary attention.
    kv_latent_dim: int | None = None
    #: Parameters one token runs through (mixtures of experts: the routed top-k), when known.
    active_params: float | None = None
    #: Bytes per quantized parameter of a pre-quantized checkpoint, read from its
    #: quantization_config (llmfleet.catalog.quantization), and what the weights are.
    quant_bytes: float | None = None
    quant_scheme: str = ""
    #: Layers that attend through ``sliding_window`` (llmfleet.catalog.attention_window);
    #: 0 with a window: unknown, every layer counted as global (an upper bound on the KV).
    sliding_layers: int = 0

    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES.get(self.dtype, 2)

    @property
    def embedding_params(self) -> float:
        """Parameters of the input embedding and lm_head (0 when the vocabulary is unknown).
        Quantization methods leave these in 16 bit."""
        if not self.vocab:
            return 0.0
        return self.vocab * self.hidden * (1 if self.tied else 2)


# -- loading -------------------------------------------------------------------------------


def _load_yaml(name: str) -> dict:
    path = DATA_DIR / name
    data = safe_yaml.load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a mapping")
    return data


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


@cache
def price_basis() -> str:
    """What every price_per_hour of gpus.yaml is (one basis for all classes)."""
    return str(_load_yaml("gpus.yaml").get("price_basis") or "on demand").strip()


@cache
def gpus() -> dict[str, GpuClass]:
    """Every GPU class, by name, in file order."""
    raw = _load_yaml("gpus.yaml").get("gpus") or {}
    out: dict[str, GpuClass] = {}
    for name, entry in raw.items():
        instance = str(entry.get("price_instance", "")).strip()
        date = str(entry.get("price_date", "")).strip()
        note = str(entry.get("price_note", "")).strip() or ", ".join(
            p for p in ("on demand", instance, f"price list of {date}" if date else "") if p
        )
        out[name] = GpuClass(
            name=name,
            display=str(entry.get("display", name)),
            memory_gib=float(entry["memory_gib"]),
            price_per_hour=float(entry["price_per_hour"]),
            bf16=bool(entry.get("bf16")),
            fp8=bool(entry.get("fp8")),
            architecture=str(entry.get("architecture", "")),
            memory_source=str(entry.get("memory_source", "")).strip(),
            price_source=str(entry.get("price_source", "")).strip(),
            price_note=note,
            compute_capability=str(entry.get("compute_capability", "")),
            price_instance=instance,
            price_date=date,
            spot_price_per_hour=_optional_float(entry.get("spot_price_per_hour")),
            spot_price_source=str(entry.get("spot_price_source", "")).strip(),
            spot_price_date=str(entry.get("spot_price_date", "")).strip(),
            memory_bandwidth_gbps=_optional_float(entry.get("memory_bandwidth_gbps")),
            bf16_tflops=_optional_float(entry.get("bf16_tflops")),
        )
    return out


@cache
def float16_refusals() -> dict[str, str]:
    """model_type -> the reason vLLM 0.33 gives for refusing float16 (models.yaml)."""
    raw = (_load_yaml("models.yaml").get("float16_refused") or {}).get("model_types") or {}
    return {str(k): str(v) for k, v in raw.items()}


def float16_refusal(model_type: str | None) -> str | None:
    """Why vLLM refuses float16 for this model type, or None when it does not."""
    return float16_refusals().get(model_type or "")


@cache
def models() -> dict[str, ModelSpec]:
    """Every catalogued model, by Hugging Face id (as spelled on the Hub)."""
    raw = _load_yaml("models.yaml").get("models") or {}
    out: dict[str, ModelSpec] = {}
    for model_id, e in raw.items():
        out[model_id] = ModelSpec(
            id=model_id,
            params=float(e["params"]),
            layers=int(e["layers"]),
            hidden=int(e["hidden"]),
            heads=int(e["heads"]),
            kv_heads=int(e["kv_heads"]),
            head_dim=int(e.get("head_dim") or int(e["hidden"]) // int(e["heads"])),
            context=int(e["context"]),
            dtype=str(e.get("dtype", "bfloat16")),
            gated=bool(e.get("gated", False)),
            vocab=e.get("vocab"),
            tied=e.get("tied"),
            sliding_window=e.get("sliding_window"),
            source=str(e.get("source", "")).strip(),
            quantization=e.get("quantization"),
            model_type=e.get("model_type"),
            sliding_layers=_catalog_local_layers(e),
        )
    return out


def _catalog_local_layers(e: dict[str, Any]) -> int:
    """Layers of a catalogued model that attend through its window (attention_window)."""
    from llmfleet.catalog import attention_window

    if not attention_window.effective_window(e, int(e["context"])):
        return 0
    return attention_window.local_layers(e, str(e.get("model_type") or ""), int(e["layers"]))


def gpu_names() -> list[str]:
    return list(gpus())


def get_gpu(name: str) -> GpuClass:
    """The GPU class ``name``; a UsageError listing the known classes otherwise."""
    key = (name or "").strip().lower()
    found = gpus().get(key)
    if found is None:
        raise UsageError(f"unknown GPU class {name!r}: known classes are {', '.join(gpu_names())}")
    return found


def find_gpu(name: str | None) -> GpuClass | None:
    if not name:
        return None
    return gpus().get(str(name).strip().lower())


def find_model(model_id: str | None) -> ModelSpec | None:
    """The catalogued model with this id (case-insensitive), or None."""
    if not model_id:
        return None
    key = str(model_id).strip().lower()
    for mid, spec in models().items():
        if mid.lower() == key:
            return spec
    return None


def params_billion(model_id: str) -> float | None:
    """Billions of parameters of a catalogued model (used by ``llmfleet.model.vllm.params``)."""
    spec = find_model(model_id)
    return spec.params / 1e9 if spec else None


# -- parameter counts ------------------------------------------------------------------------

_PARAMS_RE = re.compile(r"^\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([kmbt])?\s*$", re.IGNORECASE)
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def parse_params(text: str | float | int) -> float:
    """``7.6e9``, ``7600000000``, ``7.6B``, ``770M`` -> a parameter count."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _PARAMS_RE.match(str(text))
        if not match:
            raise UsageError(f"--params {text!r}: give a parameter count such as 7.6e9, 7600000000 or 7.6B")
        value = float(match.group(1)) * _SUFFIX.get((match.group(2) or "").lower(), 1.0)
    if not math.isfinite(value) or value < 1e6:
        raise UsageError(
            f"--params {text!r}: a model has at least a million parameters (write 7.6B or 7.6e9, not 7.6)"
        )
    return value


# -- config.json -----------------------------------------------------------------------------

REQUIRED_CONFIG_FIELDS = (
    "num_hidden_layers",
    "hidden_size",
    "num_attention_heads",
    "max_position_embeddings",
)
#: Keys some configs use for a parameter count.
PARAM_COUNT_KEYS = ("num_parameters", "n_params", "num_params")


#: The largest config.json read.
MAX_CONFIG_JSON_BYTES = 4 * 1024 * 1024
#: The largest whole number a config.json field may hold (no real model comes near it) ...
MAX_CONFIG_INT = 10**15
#: ... and lower maxima where the sizing does work per unit (a loop over the layers).
CONFIG_FIELD_MAXIMA = {
    "num_hidden_layers": 2_000,
    "num_attention_heads": 100_000,
    "num_key_value_heads": 100_000,
}


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a config.json may hold")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 18:
        raise ValueError(f"the number {text[:40]}... has more than 18 digits")
    return int(text)


def model_from_config_json(
    path: str | Path, model_id: str, params: float | str | None = None, gated: bool = False
) -> ModelSpec:
    """A ModelSpec from a local Hugging Face ``config.json``.

    Reads num_hidden_layers, hidden_size, num_attention_heads, num_key_value_heads
    (default: the attention heads), head_dim (default: hidden_size // heads, as vLLM),
    max_position_embeddings, torch_dtype (or dtype; default bfloat16) and model_type.
    Multimodal configs keep these under ``text_config``, which is read when present.  The
    parameter count is computed from the config (:mod:`llmfleet.catalog.hf_config`) unless
    ``params`` is given (an override) or the file states one.  A missing or bad field is a
    UsageError naming the file and the field.
    """
    from llmfleet.catalog import attention_window, hf_config, quantization

    path = Path(path)
    try:
        raw = json.loads(
            bounded_read.read_text(path, MAX_CONFIG_JSON_BYTES),
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except FileNotFoundError:
        raise UsageError(f"--config-json {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--config-json {path}: cannot read it: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--config-json {path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except ValueError as exc:  # a number out of range (_finite_float, _bounded_int)
        raise UsageError(f"--config-json {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise UsageError(f"--config-json {path}: not a JSON object")
    merged = hf_config.text_config(raw)

    def positive_int(field: str, default: int | None = None) -> int:
        value = merged.get(field)
        if value is None:
            if default is not None:
                return default
            raise UsageError(f"{path}: field {field!r} is missing (needed to size the model)")
        most = CONFIG_FIELD_MAXIMA.get(field, MAX_CONFIG_INT)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not 0 < value <= most
            or int(value) != value
        ):
            shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:40]}..."
            raise UsageError(
                f"{path}: field {field!r} must be a positive whole number (at most {most:,}), got {shown}"
            )
        return int(value)

    missing = [f for f in REQUIRED_CONFIG_FIELDS if merged.get(f) is None]
    if missing:
        raise UsageError(
            f"{path}: missing field{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} (needed to size the model)"
        )
    layers = positive_int("num_hidden_layers")
    hidden = positive_int("hidden_size")
    heads = positive_int("num_attention_heads")
    kv_heads = positive_int("num_key_value_heads", heads)
    head_dim_raw = merged.get("head_dim")
    head_dim = positive_int("head_dim") if head_dim_raw not in (None, 0) else hidden // heads
    context = positive_int("max_position_embeddings")
    dtype = str(merged.get("torch_dtype") or merged.get("dtype") or "bfloat16")
    if dtype not in DTYPE_BYTES:
        raise UsageError(
            f"{path}: field 'torch_dtype' is {dtype!r}; expected one of bfloat16, float16, float32"
        )
    dtype = {
        "bf16": "bfloat16",
        "fp16": "float16",
        "half": "float16",
        "float": "float32",
        "fp32": "float32",
    }.get(dtype, dtype)
    count: float | None = None
    active: float | None = None
    for key in PARAM_COUNT_KEYS:
        if isinstance(merged.get(key), (int, float)) and not isinstance(merged.get(key), bool):
            count = float(merged[key])
            break
    if params is not None:
        count = parse_params(params)
    if count is None:
        try:
            counted = hf_config.count_parameters(raw, str(path))
            count, active = float(counted.total), float(counted.active)
        except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
            # A field of another type or range than any real config.json has (a list where a
            # number goes, a string): the count cannot be made from it.
            raise UsageError(
                f"{path}: cannot count the parameters from this config.json ({type(exc).__name__}: "
                f"{str(exc)[:120]}); give the count with --params"
            ) from None
    vocab = merged.get("vocab_size") if isinstance(merged.get("vocab_size"), int) else None
    tied = merged.get("tie_word_embeddings")
    window = attention_window.effective_window(merged, context)
    model_family = str(merged.get("model_type") or raw.get("model_type") or "")
    local = attention_window.local_layers(merged, model_family, layers) if window else 0
    checkpoint_quant = quantization.read(raw, str(path))
    model_type = str(raw.get("model_type") or merged.get("model_type") or "") or None
    latent = hf_config.kv_latent_dim(raw)
    return ModelSpec(
        id=model_id,
        params=count,
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=1 if latent else kv_heads,
        head_dim=head_dim,
        context=context,
        dtype=dtype,
        gated=gated,
        vocab=vocab,
        tied=bool(tied) if tied is not None else (model_type in hf_config.TIED_BY_DEFAULT),
        sliding_window=window,
        source=f"config.json at {path}",
        quantization=checkpoint_quant.method if checkpoint_quant else None,
        model_type=model_type,
        kv_latent_dim=latent,
        active_params=active,
        quant_bytes=checkpoint_quant.weight_bytes if checkpoint_quant else None,
        quant_scheme=checkpoint_quant.scheme if checkpoint_quant else "",
        sliding_layers=local,
    )


def resolve_model(
    model_id: str, config_json: str | Path | None = None, params: str | float | None = None
) -> ModelSpec:
    """The catalog entry for ``model_id``, or one read from ``config_json``.

    ``params`` overrides the catalog's parameter count too (a fine-tune with a bigger
    vocabulary, say).
    """
    if config_json:
        return model_from_config_json(config_json, model_id, params)
    spec = find_model(model_id)
    if spec is None:
        known = ", ".join(models())
        raise UsageError(
            f"model {model_id!r} is not in the catalog ({known}); give its "
            "Hugging Face config.json with --config-json PATH (the parameter count "
            "follows from it; --params N overrides)"
        )
    if params is not None:
        spec = replace(spec, params=parse_params(params))
    return spec
