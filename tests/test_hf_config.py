"""Parameter counts from a Hugging Face config.json (llmfleet.catalog.hf_config): every catalog
model within 2 % of its published count, mixtures of experts (total and active), tied and
separate embeddings, multi-head latent attention, and the fields a count needs."""

from __future__ import annotations

import json

import pytest
import yaml

from llmfleet.catalog import entries as catalog
from llmfleet.catalog import hf_config, sizing
from llmfleet.infra.errors import UsageError
from llmfleet_testlib import REPO_ROOT

CONFIGS = REPO_ROOT / "tests" / "data" / "hf_configs"
INDEX = yaml.safe_load((CONFIGS / "index.yaml").read_text())["configs"]


def load(filename: str) -> dict:
    return json.loads((CONFIGS / filename).read_text())


def test_every_catalog_model_has_a_config():
    covered = {entry["model"] for entry in INDEX.values()}
    assert set(catalog.models()) <= covered, set(catalog.models()) - covered


@pytest.mark.parametrize("filename", sorted(INDEX))
def test_count_within_two_percent_of_the_published_count(filename):
    entry = INDEX[filename]
    counted = hf_config.count_parameters(load(filename), filename)
    published = float(entry["published"])
    assert abs(counted.total / published - 1) <= 0.02, (filename, counted.describe(), published)
    if "active" in entry:
        assert abs(counted.active / float(entry["active"]) - 1) <= 0.02, (filename, counted.active)
    # The catalog's own figure (models.yaml) is what the config gives.
    spec = catalog.find_model(entry["model"])
    if spec is not None:
        assert abs(counted.total / spec.params - 1) <= 0.02


def test_a_catalog_model_from_its_config_sizes_like_the_catalog():
    for filename, entry in INDEX.items():
        spec = catalog.find_model(entry["model"])
        if spec is None:
            continue
        from_config = catalog.model_from_config_json(CONFIGS / filename, entry["model"])
        assert (from_config.layers, from_config.kv_heads, from_config.head_dim, from_config.context) == (
            spec.layers,
            spec.kv_heads,
            spec.head_dim,
            spec.context,
        ), filename
        assert from_config.model_type == spec.model_type
        gpu = catalog.get_gpu("h100-80gb")
        assert sizing.size(from_config, gpu).kv_bytes_per_token == sizing.size(spec, gpu).kv_bytes_per_token


def test_parts_by_hand():
    # Llama-3.1-8B: 2 x 128256 x 4096 embeddings/head; 32 x (attention 4096 x (4096 + 2 x 1024)
    # + 4096 x 4096, MLP 3 x 4096 x 14336, two norms) + final norm.
    c = hf_config.count_parameters(load("meta-llama--Llama-3.1-8B-Instruct.json"))
    assert c.parts["embeddings"] == c.parts["lm_head"] == 128256 * 4096
    assert c.parts["attention"] == 32 * (4096 * 4096 * 2 + 2 * 4096 * 1024)
    assert c.parts["mlp"] == 32 * 3 * 4096 * 14336
    assert c.parts["norms"] == 32 * 2 * 4096 + 4096
    assert c.total == 8_030_261_248 and c.active == c.total and not c.notes


def test_tied_embeddings_and_qkv_bias():
    gemma = hf_config.count_parameters(load("google--gemma-2-9b-it.json"))
    assert gemma.parts["lm_head"] == 0  # Gemma ties the head to the embeddings
    qwen = load("Qwen--Qwen2.5-7B-Instruct.json")
    with_bias = hf_config.count_parameters(qwen).parts["attention"]
    without = hf_config.count_parameters({**qwen, "model_type": "llama"}).parts["attention"]
    assert with_bias - without == 28 * (3584 + 2 * 512)  # q, k, v biases of Qwen2


def test_mixture_of_experts_total_and_active():
    mixtral = hf_config.count_parameters(load("mistralai--Mixtral-8x7B-Instruct-v0.1.json"))
    one_expert = 3 * 4096 * 14336
    assert mixtral.parts["experts"] == 32 * (8 * one_expert + 4096 * 8)
    assert mixtral.total - mixtral.active == 32 * 6 * one_expert  # 2 of 8 experts active
    qwen3 = hf_config.count_parameters(load("Qwen--Qwen3-30B-A3B.json"))
    assert qwen3.parts["experts"] == 48 * (128 * 3 * 2048 * 768 + 2048 * 128)


def test_dense_layers_and_shared_experts():
    base = {
        "model_type": "qwen2_moe",
        "hidden_size": 64,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "vocab_size": 100,
        "intermediate_size": 256,
        "moe_intermediate_size": 32,
        "num_experts": 4,
        "num_experts_per_tok": 2,
        "shared_expert_intermediate_size": 128,
        "mlp_only_layers": [0],
        "decoder_sparse_step": 1,
        "tie_word_embeddings": True,
    }
    c = hf_config.count_parameters(base)
    dense = 3 * 64 * 256
    sparse = 4 * 3 * 64 * 32 + 64 * 4 + 3 * 64 * 128 + 64
    assert c.parts["experts"] == dense + 3 * sparse
    deepseek = {
        "model_type": "deepseek_v3",
        "hidden_size": 64,
        "num_hidden_layers": 3,
        "num_attention_heads": 4,
        "vocab_size": 100,
        "intermediate_size": 256,
        "moe_intermediate_size": 32,
        "n_routed_experts": 8,
        "n_shared_experts": 1,
        "num_experts_per_tok": 2,
        "first_k_dense_replace": 1,
        "kv_lora_rank": 16,
        "q_lora_rank": 24,
        "qk_rope_head_dim": 8,
        "qk_nope_head_dim": 16,
        "v_head_dim": 16,
        "topk_method": "noaux_tc",
        "tie_word_embeddings": False,
    }
    d = hf_config.count_parameters(deepseek)
    one = 3 * 64 * 32
    assert d.parts["experts"] == 3 * 64 * 256 + 2 * (8 * one + 64 * 8 + 8 + one)
    # Multi-head latent attention: q down/norm/up, joint KV down + norm + up, o.
    attention = (64 * 24 + 24 + 24 * 4 * (16 + 8)) + (64 * (16 + 8) + 16 + 16 * 4 * (16 + 16)) + 4 * 16 * 64
    assert d.parts["attention"] == 3 * attention
    assert hf_config.kv_latent_dim(deepseek) == 24


def test_latent_attention_kv_cache_is_one_vector_per_layer(tmp_path):
    config = {
        "model_type": "deepseek_v3",
        "hidden_size": 7168,
        "num_hidden_layers": 61,
        "num_attention_heads": 128,
        "num_key_value_heads": 128,
        "max_position_embeddings": 163840,
        "vocab_size": 129280,
        "intermediate_size": 18432,
        "moe_intermediate_size": 2048,
        "n_routed_experts": 256,
        "n_shared_experts": 1,
        "num_experts_per_tok": 8,
        "first_k_dense_replace": 3,
        "kv_lora_rank": 512,
        "q_lora_rank": 1536,
        "qk_rope_head_dim": 64,
        "qk_nope_head_dim": 128,
        "v_head_dim": 128,
        "topk_method": "noaux_tc",
        "torch_dtype": "bfloat16",
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    spec = catalog.model_from_config_json(path, "deepseek-ai/DeepSeek-V3")
    # DeepSeek-V3: 671 B in the published count, plus the 14 B multi-token-prediction module
    # (num_nextn_predict_layers), which this config leaves out: within 2 % of 671 B.
    assert abs(spec.params / 671e9 - 1) <= 0.02, spec.params
    # 61 layers x (512 + 64) x 2 B, the same on every TP rank.
    s8 = sizing.size(spec, catalog.get_gpu("h200-141gb"), 8)
    assert s8.kv_bytes_per_token_per_gpu == s8.kv_bytes_per_token == 61 * 576 * 2


def test_an_unknown_family_is_counted_with_a_note():
    c = hf_config.count_parameters(
        {
            "model_type": "acme",
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "vocab_size": 100,
            "intermediate_size": 128,
        }
    )
    assert c.notes and "counted as a Llama-style decoder" in c.notes[0]


@pytest.mark.parametrize("missing", ["vocab_size", "intermediate_size", "hidden_size"])
def test_a_field_the_count_needs(missing):
    config = load("meta-llama--Llama-3.1-8B-Instruct.json")
    del config[missing]
    with pytest.raises(UsageError, match=rf"x.json: field '{missing}' is missing .*--params"):
        hf_config.count_parameters(config, "x.json")


def test_multimodal_config_counts_the_vision_tower():
    text = {
        "model_type": "gemma3_text",
        "hidden_size": 2560,
        "num_hidden_layers": 34,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "intermediate_size": 10240,
        "vocab_size": 262208,
    }
    vision = {
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_hidden_layers": 27,
        "patch_size": 14,
        "image_size": 896,
    }
    alone = hf_config.count_parameters({"model_type": "gemma3", "text_config": text})
    both = hf_config.count_parameters({"model_type": "gemma3", "text_config": text, "vision_config": vision})
    # Gemma 3 4B: the published 4.3 B includes the ~0.42 B SigLIP encoder.
    assert abs(both.total / 4.3e9 - 1) <= 0.02, both.describe()
    assert 0.38e9 < both.parts["vision"] < 0.46e9 and alone.parts["vision"] == 0
