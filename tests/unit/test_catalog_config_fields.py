"""How the catalog reads a Hugging Face config.json: which field each figure comes from, the
fallbacks when a field is absent, and the errors that name the file and the field
(llmfleet.catalog.entries, hf_config, attention_window, quantization).

Written to pin behaviours mutation testing showed no test held (issue 26,
docs/mutation-survivors/catalog.md).  Figures are worked out by hand beside each case.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmfleet.catalog import attention_window, hf_config, quantization
from llmfleet.catalog import entries as catalog
from llmfleet.infra.errors import UsageError

# A small Llama-style decoder: enough fields to size it and to count its parameters.
BASE: dict[str, Any] = {
    "model_type": "llama",
    "num_hidden_layers": 4,
    "hidden_size": 64,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "vocab_size": 1000,
    "max_position_embeddings": 8192,
}


def write(tmp_path: Path, config: dict[str, Any], name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


# -- entries.model_from_config_json -------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "dtype"),
    [
        ({"torch_dtype": "float16"}, "float16"),
        ({"torch_dtype": "float32", "dtype": "bfloat16"}, "float32"),  # torch_dtype wins
        ({"dtype": "float16"}, "float16"),  # newer transformers write "dtype"
        ({}, "bfloat16"),  # neither: bfloat16
        ({"torch_dtype": "bf16"}, "bfloat16"),
        ({"torch_dtype": "fp16"}, "float16"),
        ({"torch_dtype": "half"}, "float16"),
        ({"torch_dtype": "float"}, "float32"),
        ({"torch_dtype": "fp32"}, "float32"),
    ],
)
def test_checkpoint_dtype_comes_from_torch_dtype_then_dtype(tmp_path, fields, dtype):
    spec = catalog.model_from_config_json(write(tmp_path, {**BASE, **fields}), "test/m")
    assert spec.dtype == dtype


def test_unreadable_config_json_names_the_file(tmp_path):
    # A directory where the file should be, and bytes that are not UTF-8: both "cannot read it".
    folder = tmp_path / "config.json"
    folder.mkdir()
    with pytest.raises(UsageError) as err:
        catalog.model_from_config_json(folder, "test/m")
    assert str(err.value).startswith(f"--config-json {folder}: cannot read it: ")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"model_type": "\xff\xfe"}')
    with pytest.raises(UsageError) as err:
        catalog.model_from_config_json(binary, "test/m")
    assert str(err.value).startswith(f"--config-json {binary}: cannot read it: ")


def test_local_layers_follow_the_text_configs_family(tmp_path):
    # PaliGemma 2 (model_type paligemma) wraps a Gemma 2 decoder in text_config: the window
    # is on every other layer of the Gemma 2 decoder -- (26 + 1) // 2 = 13 of 26 -- not on all.
    config = {
        "model_type": "paligemma",
        "text_config": {
            **BASE,
            "model_type": "gemma2",
            "num_hidden_layers": 26,
            "sliding_window": 4096,
        },
    }
    spec = catalog.model_from_config_json(write(tmp_path, config), "test/paligemma", params="3B")
    assert (spec.sliding_window, spec.sliding_layers, spec.layers) == (4096, 13, 26)


def test_a_model_outside_the_catalog_says_how_to_size_it():
    with pytest.raises(UsageError) as err:
        catalog.resolve_model("test/not-catalogued")
    text = str(err.value)
    assert "'test/not-catalogued' is not in the catalog" in text
    assert (
        "give its Hugging Face config.json with --config-json PATH (the parameter count follows "
        "from it; --params N overrides)"
    ) in text


@pytest.mark.parametrize(("given", "count"), [("7B", 7e9), ("770M", 770e6), (9.5e9, 9.5e9)])
def test_params_override_a_catalog_models_count(given, count):
    known = catalog.models()["meta-llama/Llama-3.1-8B-Instruct"]
    spec = catalog.resolve_model(known.id, params=given)
    assert spec.params == count
    assert (spec.layers, spec.kv_heads, spec.context) == (known.layers, known.kv_heads, known.context)


# -- catalog entries: local layers of a models.yaml entry ---------------------------------


@pytest.mark.parametrize(
    ("entry", "local"),
    [
        # Gemma 2 alternates: (42 + 1) // 2 = 21 of 42 layers local.
        ({"model_type": "gemma2", "layers": 42, "context": 8192, "sliding_window": 4096}, 21),
        # A family with a window everywhere (Mistral 7B v0.1): all 32.
        ({"model_type": "mistral", "layers": 32, "context": 32768, "sliding_window": 4096}, 32),
        # A window as long as the context is none: 0.
        ({"model_type": "gemma2", "layers": 42, "context": 4096, "sliding_window": 4096}, 0),
    ],
)
def test_catalog_entry_local_layers_follow_its_model_type(entry, local):
    assert catalog._catalog_local_layers(entry) == local


def test_catalogued_gemma2_has_half_its_layers_local():
    gemma = catalog.models()["google/gemma-2-9b-it"]
    assert gemma.model_type == "gemma2"
    assert gemma.sliding_layers == (gemma.layers + 1) // 2


# -- attention_window.local_layers --------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "model_type", "layers", "local"),
    [
        # Gemma 3: every pattern-th layer is global.  Pattern 2 over 10 layers: 5 local.
        ({"sliding_window_pattern": 2}, "gemma3", 10, 5),
        # Pattern absent: 6 (five local, one global): 12 layers -> 10 local.
        ({}, "gemma3_text", 12, 10),
        # Qwen2 with the window on: from max_window_layers up, 36 - 28 = 8.
        ({"use_sliding_window": True, "max_window_layers": 28}, "qwen2", 36, 8),
        # Qwen2 with the window on and no max_window_layers: every layer.
        ({"use_sliding_window": True}, "qwen2", 36, 36),
        # max_window_layers is Qwen's field: another family with a window uses it everywhere.
        ({"use_sliding_window": True, "max_window_layers": 10}, "mistral", 32, 32),
        # layer_types wins over the family rules: 2 of the first 3 entries are local.
        ({"layer_types": ["sliding_attention", "full_attention", "sliding_attention", "x"]}, "gemma2", 3, 2),
    ],
)
def test_local_layers_by_family(config, model_type, layers, local):
    assert attention_window.local_layers(config, model_type, layers) == local


# -- hf_config ----------------------------------------------------------------------------


def test_text_config_is_the_language_models_fields():
    raw = {"model_type": "llava", "vocab_size": 5, "text_config": {"model_type": "llama", "hidden_size": 64}}
    merged = hf_config.text_config(raw)
    assert merged == {"model_type": "llama", "vocab_size": 5, "hidden_size": 64}


# Attention of BASE: q 64x64, k and v 64x32 each, o 64x64 = 4096 + 4096 + 4096 = 12,288 per
# layer.  A q/k/v bias adds 64 + 2 x 32 = 128, an o bias (Llama ties it to the flag) 64.
@pytest.mark.parametrize(
    ("flag", "extra_per_layer"),
    [
        ({}, 0),
        ({"attention_bias": True}, 128 + 64),
        ({"qkv_bias": True}, 128 + 64),
        ({"bias": True}, 128 + 64),
        ({"bias": "yes"}, 0),  # only a literal true counts for the generic "bias" key
    ],
)
def test_attention_bias_flags(flag, extra_per_layer):
    counted = hf_config.count_parameters({**BASE, **flag})
    assert counted.parts["attention"] == 4 * (12_288 + extra_per_layer)


@pytest.mark.parametrize(
    ("model_type", "tie", "lm_head"),
    [
        ("llama", None, 1000 * 64),  # Llama does not tie by default
        ("llama", True, 0),
        ("gemma", None, 0),  # Gemma ties by default
        ("gemma", False, 1000 * 64),
    ],
)
def test_tie_word_embeddings_and_the_family_default(model_type, tie, lm_head):
    config = {**BASE, "model_type": model_type}
    if tie is not None:
        config["tie_word_embeddings"] = tie
    assert hf_config.count_parameters(config).parts["lm_head"] == lm_head


def test_missing_attention_heads_names_the_file_and_field():
    config = {k: v for k, v in BASE.items() if k != "num_attention_heads"}
    with pytest.raises(UsageError) as err:
        hf_config.count_parameters(config, "models/x/config.json")
    assert str(err.value).startswith("models/x/config.json: field 'num_attention_heads' is missing")


# A tiny ViT: hidden 8, MLP 16, one block, 4x4 patches of a 16x16 image, 3 channels, text
# hidden 64.  Block: 4 x (8x8 + 8) + (8x16 + 16) + (16x8 + 8) + 4 x 8 = 288 + 144 + 136 + 32 =
# 600.  Embeddings: 3 x 4 x 4 x 8 + 8 + (16 // 4)^2 x 8 = 384 + 8 + 128 = 520.  Post-norm
# 2 x 8 = 16, projector 8 x 64 + 8 = 520.  Total 600 + 520 + 16 + 520 = 1,656.
VISION = {
    "hidden_size": 8,
    "intermediate_size": 16,
    "num_hidden_layers": 1,
    "patch_size": 4,
    "image_size": 16,
}


def test_vision_tower_is_counted_from_its_config():
    counted = hf_config.count_parameters({**BASE, "vision_config": VISION})
    assert counted.parts["vision"] == 1_656
    assert "vision tower counted as a ViT with a linear projector (an estimate)" in counted.notes


@pytest.mark.parametrize(
    ("vision", "message"),
    [
        (
            {k: v for k, v in VISION.items() if k != "intermediate_size"},
            "cfg.json vision_config: field 'intermediate_size' is missing",
        ),
        (
            {**VISION, "image_size": 0},
            "cfg.json vision_config: field 'image_size' must be a positive whole number",
        ),
        (
            {**VISION, "patch_size": -4},
            "cfg.json vision_config: field 'patch_size' must be a positive whole number",
        ),
    ],
)
def test_bad_vision_field_names_the_file_and_field(vision, message):
    with pytest.raises(UsageError) as err:
        hf_config.count_parameters({**BASE, "vision_config": vision}, "cfg.json")
    assert str(err.value).startswith(message)


def test_unknown_family_is_counted_as_llama_and_says_so():
    config = {k: v for k, v in BASE.items() if k != "model_type"}
    notes = hf_config.count_parameters(config).notes
    assert (
        "model_type 'missing' counted as a Llama-style decoder (gated MLP, RMSNorm); "
        "pass --params if its modules differ"
    ) in notes


@pytest.mark.parametrize(
    ("fields", "latent"),
    [
        ({"kv_lora_rank": 512, "qk_rope_head_dim": 64}, 576),  # DeepSeek-V3
        ({"kv_lora_rank": 512, "qk_rope_head_dim": 0}, 512),  # no decoupled RoPE part
        ({"kv_lora_rank": 0, "qk_rope_head_dim": 64}, None),  # rank 0: ordinary attention
        ({"kv_lora_rank": None, "qk_rope_head_dim": 64}, None),
        ({"qk_rope_head_dim": 64}, None),
    ],
)
def test_latent_attention_dim(fields, latent):
    assert hf_config.kv_latent_dim({**BASE, **fields}) == latent


def test_rank_zero_is_ordinary_attention_for_both_count_and_kv(tmp_path):
    # _attention treats a falsy kv_lora_rank as ordinary attention; the KV must agree.
    config = {**BASE, "kv_lora_rank": 0, "qk_rope_head_dim": 64}
    spec = catalog.model_from_config_json(write(tmp_path, config), "test/m")
    assert (spec.kv_latent_dim, spec.kv_heads) == (None, 2)


# -- quantization.read --------------------------------------------------------------------


def test_nvfp4_weighs_the_same_however_it_is_exported():
    # 4 bits + one 8-bit scale per 16 weights = 0.5 + 1/16 = 0.5625 B per parameter.
    compressed = {
        "quant_method": "compressed-tensors",
        "format": "nvfp4-pack-quantized",
        "config_groups": {"group_0": {"weights": {"num_bits": 4, "type": "float", "group_size": 16}}},
    }
    modelopt = {
        "quant_method": "modelopt",
        "producer": {"name": "modelopt"},
        "quantization": {"quant_algo": "NVFP4"},
    }
    got = [quantization.read({"quantization_config": q}) for q in (compressed, modelopt)]
    assert [q.weight_bytes for q in got if q] == [0.5625, 0.5625]
    assert [q.method for q in got if q] == ["compressed-tensors", "modelopt_fp4"]


@pytest.mark.parametrize("key", ["quantization_config", "compression_config"])
def test_quantization_config_under_text_config_is_read(key):
    raw = {"model_type": "llava", "text_config": {key: {"quant_method": "fp8"}}}
    assert quantization.read(raw) == quantization.CheckpointQuantization("fp8", 1.0, "FP8 weights")


def test_modelopt_without_an_algorithm_keeps_its_quant_method():
    q = {"quant_method": "modelopt", "producer": {"name": "modelopt", "version": "0.19"}}
    found = quantization.read({"quantization_config": q})
    assert found is not None and (found.method, found.weight_bytes) == ("modelopt", 1.0)


def test_bitsandbytes_without_a_load_flag_names_the_file_and_field():
    with pytest.raises(UsageError) as err:
        quantization.read({"quantization_config": {"quant_method": "bitsandbytes"}}, "m/config.json")
    assert str(err.value) == (
        "m/config.json: quantization_config (bitsandbytes) sets neither load_in_4bit nor load_in_8bit"
    )


@pytest.mark.parametrize(
    ("fields", "window"),
    [
        # transformers' Qwen configs default use_sliding_window to False and then drop the
        # window: a Qwen config that leaves the flag out has no window.
        ({"model_type": "qwen2"}, None),
        ({"model_type": "qwen3_moe"}, None),
        ({"model_type": "qwen2", "use_sliding_window": True}, 4096),
        ({"model_type": "qwen2", "use_sliding_window": False}, None),
        # Other families have no such flag: the window is on (Mistral 7B v0.1).
        ({"model_type": "mistral"}, 4096),
    ],
)
def test_qwen_window_needs_use_sliding_window(tmp_path, fields, window):
    config = {**BASE, "sliding_window": 4096, "max_position_embeddings": 32768, **fields}
    assert attention_window.effective_window(config, 32768) == window
    spec = catalog.model_from_config_json(write(tmp_path, config), "test/m")
    assert spec.sliding_window == window
