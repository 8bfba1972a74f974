"""A model's architecture and parameter count from its Hugging Face ``config.json``.

The count adds up the weights a decoder-only transformer checkpoint holds, from the fields
``transformers`` builds its modules from (the module shapes of ``modeling_<type>.py``):

* **embeddings** ``vocab_size x hidden_size``, and the **lm_head** of the same shape unless
  ``tie_word_embeddings`` (default per family: the Gemma families tie, the others do not);
* per layer, **attention**: q ``hidden x heads x head_dim``, k and v ``hidden x kv_heads x
  head_dim`` each (grouped-query attention), o ``heads x head_dim x hidden``; biases on q, k
  and v where the family has them (``attention_bias``, always for Qwen2), on o where the
  family ties it to ``attention_bias`` (not Qwen2, GLM-4); q/k norms of ``head_dim`` each
  (Qwen3, Gemma 3). Multi-head latent attention (``kv_lora_rank``: DeepSeek V2/V3, Kimi K2)
  has its own projections: q (through ``q_lora_rank`` when set), the joint KV down-projection
  ``hidden x (kv_lora_rank + qk_rope_head_dim)``, its norm, the up-projection
  ``kv_lora_rank x heads x (qk_nope_head_dim + v_head_dim)`` and o;
* per layer, the **MLP**: gated (gate, up, down: ``3 x hidden x intermediate_size``), or a
  **mixture of experts**: ``experts x 3 x hidden x moe_intermediate_size`` (Mixtral's
  experts use ``intermediate_size``) plus the router ``hidden x experts``, plus shared
  experts (Qwen2-MoE ``shared_expert_intermediate_size`` and its gate, DeepSeek
  ``n_shared_experts``); layers that stay dense (Qwen ``mlp_only_layers`` /
  ``decoder_sparse_step``, DeepSeek ``first_k_dense_replace`` / ``moe_layer_freq``) use the
  dense MLP;
* **norms**: two RMSNorms of ``hidden`` per layer (four in Gemma 2/3 and GLM-4) and the
  final one;
* a **vision tower** (``vision_config`` of a multimodal checkpoint) counted as a ViT
  (patch and position embeddings, ``num_hidden_layers`` blocks of attention and MLP with
  biases and two LayerNorms) plus a ``vision hidden x text hidden`` projector: an estimate.

Families not listed in :data:`EXACT_FAMILIES` are counted as Llama-style decoders and the
result says so.  The figure covers every expert (what has to be in GPU memory), and the
active count per token separately.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmfleet.infra.errors import UsageError

#: model_type values whose module shapes this module follows exactly (the rest: Llama-style).
EXACT_FAMILIES = frozenset(
    {
        "llama",
        "mistral",
        "mixtral",
        "qwen2",
        "qwen2_moe",
        "qwen3",
        "qwen3_moe",
        "gemma",
        "gemma2",
        "gemma3",
        "gemma3_text",
        "phi3",
        "glm4",
        "deepseek_v2",
        "deepseek_v3",
        "kimi_k2",
        "granite",
        "olmo2",
    }
)
#: Families whose configs tie the lm_head to the embeddings unless they say otherwise.
TIED_BY_DEFAULT = frozenset({"gemma", "gemma2", "gemma3", "gemma3_text"})
#: Families with q, k and v biases regardless of ``attention_bias``.
QKV_BIAS_ALWAYS = frozenset({"qwen2", "qwen2_moe", "qwen2_vl", "qwen2_5_vl"})
#: Families whose o_proj never has a bias (q/k/v follow attention_bias or always have one).
NO_O_BIAS = frozenset({"qwen2", "qwen2_moe", "qwen2_vl", "qwen2_5_vl", "glm4"})
#: Families with per-head q/k RMSNorms (head_dim each).
QK_NORM = frozenset({"qwen3", "qwen3_moe", "gemma3", "gemma3_text"})
#: Families with four norms per decoder layer (pre/post attention, pre/post MLP).
FOUR_NORMS = frozenset({"gemma2", "gemma3", "gemma3_text", "glm4"})
#: Keys a config uses for the number of routed experts.
EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")


@dataclass(frozen=True)
class ParameterCount:
    total: int
    active: int  # per token (mixtures of experts: top-k experts)
    parts: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        shown = ", ".join(f"{k} {v / 1e9:.2f} B" for k, v in self.parts.items() if v)
        return f"{self.total / 1e9:.2f} B ({shown})"


#: Fields a family's published config.json may leave out, at the defaults transformers
#: gives them (the config class's __init__): Gemma3TextConfig, huggingface/transformers
#: src/transformers/models/gemma3/configuration_gemma3.py (commit 008f5c8c29be): Gemma 3's
#: multimodal checkpoints (gemma-3-4b/12b/27b-it) publish a text_config without
#: vocab_size or max_position_embeddings (docs/reference/quantization.md, "Gemma 3").
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "gemma3_text": {
        "vocab_size": 262_208,
        "max_position_embeddings": 131_072,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "sliding_window": 4096,
        "sliding_window_pattern": 6,
        "tie_word_embeddings": True,
    },
}


def text_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The language model's fields: ``text_config`` (multimodal checkpoints) over the top
    level, which may hold the fields the text config leaves out; then the family's
    defaults (:data:`FAMILY_DEFAULTS`) for fields neither gives."""
    inner = raw.get("text_config")
    if isinstance(inner, Mapping):
        merged = {**{k: v for k, v in raw.items() if k != "text_config"}, **inner}
    else:
        merged = dict(raw)
    family = str(merged.get("model_type") or "")
    if family == "gemma3" and isinstance(inner, Mapping) and "model_type" not in inner:
        family = "gemma3_text"
    for key, value in FAMILY_DEFAULTS.get(family, {}).items():
        merged.setdefault(key, value)
    return merged


def _int(
    config: Mapping[str, Any], key: str, where: str, default: int | None = None, allow_zero: bool = False
) -> int:
    value = config.get(key)
    if value is None:
        if default is not None:
            return default
        raise UsageError(
            f"{where}: field {key!r} is missing (needed to count the parameters; "
            "pass --params to give the count)"
        )
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or int(value) != value
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        raise UsageError(
            f"{where}: field {key!r} must be a {'non-negative' if allow_zero else 'positive'} "
            f"whole number, got {value!r}"
        )
    return int(value)


def _attention(c: Mapping[str, Any], family: str, hidden: int, where: str) -> tuple[int, list[str]]:
    heads = _int(c, "num_attention_heads", where)
    notes: list[str] = []
    if c.get("kv_lora_rank"):
        kv_rank = _int(c, "kv_lora_rank", where)
        rope = _int(c, "qk_rope_head_dim", where)
        nope = _int(c, "qk_nope_head_dim", where)
        v_dim = _int(c, "v_head_dim", where)
        q_rank = c.get("q_lora_rank")
        if q_rank:
            q = hidden * int(q_rank) + int(q_rank) + int(q_rank) * heads * (nope + rope)
        else:
            q = hidden * heads * (nope + rope)
        kv = hidden * (kv_rank + rope) + kv_rank + kv_rank * heads * (nope + v_dim)
        return q + kv + heads * v_dim * hidden, notes
    kv_heads = _int(c, "num_key_value_heads", where, heads)
    head_dim = c.get("head_dim") or hidden // heads
    head_dim = int(head_dim)
    q_out, kv_out = heads * head_dim, kv_heads * head_dim
    params = hidden * q_out + 2 * hidden * kv_out + q_out * hidden
    bias = bool(c.get("attention_bias") or c.get("qkv_bias") or c.get("bias") is True)
    if family in QKV_BIAS_ALWAYS or bias:
        params += q_out + 2 * kv_out
    if bias and family not in NO_O_BIAS:
        params += hidden
    if family in QK_NORM:
        params += 2 * head_dim
    return params, notes


def _moe_layer(c: Mapping[str, Any], family: str, index: int, layers: int) -> bool:
    experts = next((c.get(k) for k in EXPERT_KEYS if c.get(k)), 0)
    if not experts:
        return False
    if "first_k_dense_replace" in c or family.startswith("deepseek") or family == "kimi_k2":
        first_dense = int(c.get("first_k_dense_replace") or 0)
        freq = int(c.get("moe_layer_freq") or 1)
        return index >= first_dense and index % freq == 0
    if index in (c.get("mlp_only_layers") or []):
        return False
    step = int(c.get("decoder_sparse_step") or 1)
    return (index + 1) % step == 0


def _vision(raw: Mapping[str, Any], text_hidden: int, where: str) -> int:
    v = raw.get("vision_config")
    if not isinstance(v, Mapping):
        return 0
    h = _int(v, "hidden_size", where + " vision_config")
    inter = _int(v, "intermediate_size", where + " vision_config")
    layers = _int(v, "num_hidden_layers", where + " vision_config")
    patch = _int(v, "patch_size", where + " vision_config", 14)
    image = _int(v, "image_size", where + " vision_config", 224)
    channels = _int(v, "num_channels", where + " vision_config", 3)
    block = 4 * (h * h + h) + (h * inter + inter) + (inter * h + h) + 4 * h
    embeddings = channels * patch * patch * h + h + (image // patch) ** 2 * h
    projector = h * text_hidden + h
    return layers * block + embeddings + 2 * h + projector


def count_parameters(raw: Mapping[str, Any], where: str = "config.json") -> ParameterCount:
    """The parameter count of the checkpoint ``raw`` (a parsed config.json) describes."""
    c = text_config(raw)
    family = str(raw.get("model_type") or c.get("model_type") or "")
    text_family = str(c.get("model_type") or family)
    hidden = _int(c, "hidden_size", where)
    layers = _int(c, "num_hidden_layers", where)
    vocab = _int(c, "vocab_size", where)
    tied = c.get("tie_word_embeddings")
    if tied is None:
        tied = text_family in TIED_BY_DEFAULT or family in TIED_BY_DEFAULT
    attention, notes = _attention(c, text_family, hidden, where)
    experts = next((int(c[k]) for k in EXPERT_KEYS if c.get(k)), 0)
    top_k = int(c.get("num_experts_per_tok") or c.get("moe_topk") or 0)
    dense_inter = c.get("intermediate_size")
    expert_inter = c.get("moe_intermediate_size") or dense_inter
    mlp_total = mlp_active = 0
    dense_only = c.get("mlp_only_layers")
    if isinstance(dense_only, list) and len(dense_only) > layers:
        # Looked up once per layer: a list longer than the model is no real config's.
        raise UsageError(
            f"{where}: mlp_only_layers lists {len(dense_only):,} layers; the model has {layers:,}"
        )
    for index in range(layers):
        if _moe_layer(c, text_family, index, layers):
            if not expert_inter:
                raise UsageError(
                    f"{where}: field 'moe_intermediate_size' is missing (needed to "
                    "count the experts; pass --params to give the count)"
                )
            one = 3 * hidden * int(expert_inter)
            router = hidden * experts
            if c.get("topk_method") == "noaux_tc":
                router += experts  # e_score_correction_bias
            shared = 0
            if c.get("shared_expert_intermediate_size"):
                shared = 3 * hidden * int(c["shared_expert_intermediate_size"]) + hidden
            elif c.get("n_shared_experts"):
                shared = int(c["n_shared_experts"]) * one
            mlp_total += experts * one + router + shared
            mlp_active += (top_k or experts) * one + router + shared
        else:
            if not dense_inter:
                raise UsageError(
                    f"{where}: field 'intermediate_size' is missing (needed to count "
                    "the MLP; pass --params to give the count)"
                )
            dense = 3 * hidden * int(dense_inter)
            if c.get("mlp_bias"):
                dense += 2 * int(dense_inter) + hidden
            mlp_total += dense
            mlp_active += dense
    norms = layers * hidden * (4 if text_family in FOUR_NORMS else 2) + hidden
    embeddings = vocab * hidden
    lm_head = 0 if tied else vocab * hidden
    vision = _vision(raw, hidden, where)
    if vision:
        notes.append("vision tower counted as a ViT with a linear projector (an estimate)")
    if text_family not in EXACT_FAMILIES:
        notes.append(
            f"model_type {text_family or 'missing'!r} counted as a Llama-style decoder "
            "(gated MLP, RMSNorm); pass --params if its modules differ"
        )
    parts = {
        "embeddings": embeddings,
        "lm_head": lm_head,
        "attention": layers * attention,
        "mlp" if not experts else "experts": mlp_total,
        "norms": norms,
        "vision": vision,
    }
    total = sum(parts.values())
    active = total - mlp_total + mlp_active
    return ParameterCount(total, active, parts, tuple(notes))


def kv_latent_dim(raw: Mapping[str, Any]) -> int | None:
    """Elements of the compressed KV a token keeps per layer under multi-head latent
    attention (kv_lora_rank + qk_rope_head_dim), or None for ordinary attention."""
    c = text_config(raw)
    rank, rope = c.get("kv_lora_rank"), c.get("qk_rope_head_dim")
    if isinstance(rank, int) and rank > 0 and isinstance(rope, int) and rope >= 0:
        return rank + rope
    return None
