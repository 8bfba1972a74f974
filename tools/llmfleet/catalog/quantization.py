"""How a pre-quantized checkpoint stores its weights, from its ``config.json``
``quantization_config``, read the way vLLM reads it (vllm/config/model.py
``_parse_quant_hf_config`` and ``_verify_quantization``; docs/reference/quantization.md):

* the config is ``quantization_config``, else ``compression_config`` (compressed-tensors),
  at the top level or under ``text_config``;
* ``quant_method`` names the method, ``compressed_tensors`` spelled ``compressed-tensors``;
  a ModelOpt export (``producer.name == "modelopt"``) is ``modelopt`` for FP8 and
  ``modelopt_fp4`` for NVFP4 (``quantization.quant_algo``);
* vLLM runs the checkpoint's method when ``--quantization`` is absent, and refuses a
  ``--quantization`` that names another method ("Quantization method specified in the model
  config (...) does not match ...") -- only its own faster kernels of the same format
  (gptq_marlin for gptq, awq_marlin for awq) are accepted as overrides.

The bytes per quantized parameter follow the weight format: 8-bit (fp8, int8) 1 byte;
4-bit integer groups (AWQ, GPTQ, compressed-tensors ``pack-quantized``) half a byte plus
their 16-bit scales (and zero points) per group; NVFP4 half a byte plus one fp8 scale per
16 weights; bitsandbytes 4-bit half a byte plus its absmax blocks.  The embedding and the
lm_head stay in 16 bit (sizing.weight_bytes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmfleet.infra.errors import UsageError

#: Methods whose kernels vLLM substitutes for the checkpoint's own (override_quantization_method):
#: passing either name for a checkpoint of the other is accepted.
COMPATIBLE = ({"gptq", "gptq_marlin"}, {"awq", "awq_marlin"})


@dataclass(frozen=True)
class CheckpointQuantization:
    method: str  # vLLM's name: compressed-tensors, fp8, modelopt, awq, gptq, bitsandbytes, ...
    weight_bytes: float  # bytes per quantized parameter
    scheme: str  # what the weights are, for messages ("FP8 per channel", "INT4 group 128")


def _group_scale_bytes(group_size: Any, zero_point: bool = True) -> float:
    """16-bit scale (and zero point) per group of ``group_size`` weights, per weight."""
    if not isinstance(group_size, int) or group_size <= 0:
        return 0.0  # per channel / per tensor: negligible per weight
    return (2 + (2 if zero_point else 0)) / group_size


def _config(raw: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for source in (raw, raw.get("text_config") if isinstance(raw.get("text_config"), Mapping) else None):
        if not isinstance(source, Mapping):
            continue
        for key in ("quantization_config", "compression_config"):
            found = source.get(key)
            if isinstance(found, Mapping):
                return found
    return None


def _compressed_tensors(q: Mapping[str, Any], where: str) -> CheckpointQuantization:
    groups = q.get("config_groups")
    if not isinstance(groups, Mapping) or not groups:
        raise UsageError(f"{where}: quantization_config.config_groups is missing (compressed-tensors)")
    worst = 0.0
    scheme = ""
    for name, group in groups.items():
        weights = group.get("weights") if isinstance(group, Mapping) else None
        if not isinstance(weights, Mapping):
            continue
        bits = weights.get("num_bits")
        if not isinstance(bits, int) or bits <= 0 or bits > 16:
            raise UsageError(
                f"{where}: quantization_config.config_groups.{name}.weights.num_bits must be 1-16, got {bits!r}"
            )
        kind = str(weights.get("type") or "int")
        fmt = str(group.get("format") or q.get("format") or "")
        if kind == "float" and bits == 4:
            per = 0.5 + 1 / 16  # NVFP4 / MXFP4: one 8-bit scale per 16 (or 32) weights
        else:
            per = bits / 8 + _group_scale_bytes(weights.get("group_size"), not weights.get("symmetric", True))
        if per > worst:
            worst = per
            strategy = weights.get("strategy") or "tensor"
            scheme = f"{'FP' if kind == 'float' else 'INT'}{bits} weights per {strategy}" + (
                f" ({fmt})" if fmt else ""
            )
    if worst == 0:
        raise UsageError(
            f"{where}: quantization_config.config_groups has no weights scheme (compressed-tensors)"
        )
    return CheckpointQuantization("compressed-tensors", worst, scheme)


def read(raw: Mapping[str, Any], where: str = "config.json") -> CheckpointQuantization | None:
    """The checkpoint's quantization, or None for an unquantized checkpoint.  A method
    llmfleet cannot size is a UsageError naming the file and the field."""
    q = _config(raw)
    if q is None:
        return None
    method = str(q.get("quant_method") or "").lower().replace("compressed_tensors", "compressed-tensors")
    producer = q.get("producer")
    if isinstance(producer, Mapping) and producer.get("name") == "modelopt":
        algo = (
            (q.get("quantization") or {}).get("quant_algo")
            if isinstance(q.get("quantization"), Mapping)
            else None
        )
        method = {"FP8": "modelopt", "NVFP4": "modelopt_fp4"}.get(str(algo), method)
    if method == "compressed-tensors":
        return _compressed_tensors(q, where)
    if method in ("fp8", "fbgemm_fp8", "modelopt", "ptpc_fp8"):
        return CheckpointQuantization(method, 1.0, "FP8 weights")
    if method == "modelopt_fp4":
        return CheckpointQuantization(method, 0.5 + 1 / 16, "NVFP4 weights")
    if method in ("awq", "gptq"):
        bits = q.get("bits", q.get("w_bit", 4))
        if not isinstance(bits, int) or bits not in (2, 3, 4, 8):
            raise UsageError(f"{where}: quantization_config.bits must be 2, 3, 4 or 8, got {bits!r}")
        group = q.get("group_size", q.get("q_group_size", 128))
        zero = bool(q.get("zero_point", True)) if method == "awq" else not q.get("sym", True)
        return CheckpointQuantization(
            method, bits / 8 + _group_scale_bytes(group, zero), f"INT{bits} weights, groups of {group}"
        )
    if method == "bitsandbytes":
        if q.get("load_in_4bit"):
            # 4-bit blocks of 64 weights with a 32-bit absmax each (bnb's default blocksize)
            return CheckpointQuantization(method, 0.5 + 4 / 64, "bitsandbytes 4-bit")
        if q.get("load_in_8bit"):
            return CheckpointQuantization(method, 1.0, "bitsandbytes 8-bit")
        raise UsageError(
            f"{where}: quantization_config (bitsandbytes) sets neither load_in_4bit nor load_in_8bit"
        )
    raise UsageError(
        f"{where}: quantization_config.quant_method {method or 'missing'!r} is not one llmfleet can size "
        "(compressed-tensors, fp8, fbgemm_fp8, modelopt, modelopt_fp4, awq, gptq, bitsandbytes)"
    )


def compatible(checkpoint: str, requested: str) -> bool:
    """Whether vLLM accepts ``--quantization requested`` for a ``checkpoint`` checkpoint."""
    if checkpoint == requested:
        return True
    return any(checkpoint in family and requested in family for family in COMPATIBLE)
