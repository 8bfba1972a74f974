"""Checkpoints outside the catalog, read from their published config.json
(tests/data/hf_configs): quantization_config (llmfleet.catalog.quantization), Gemma 3's
text_config defaults, sliding-window layers (llmfleet.catalog.attention_window) and the
default max-model-len of reasoning models (llmfleet.catalog.purpose).  Figures by hand."""

from __future__ import annotations

import pytest

from llmfleet.catalog import attention_window, planning, purpose, quantization, sizing
from llmfleet.catalog import entries as catalog
from llmfleet.infra.errors import UsageError
from llmfleet_testlib import REPO_ROOT

CONFIGS = REPO_ROOT / "tests" / "data" / "hf_configs"
GIB = 1024**3


def model(name: str, model_id: str):
    return catalog.model_from_config_json(CONFIGS / name, model_id)


# -- quantization_config ---------------------------------------------------------------------


def test_fp8_compressed_tensors_70b_is_sized_in_fp8():
    m = model(
        "RedHatAI--Llama-3.3-70B-Instruct-FP8-dynamic.json", "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"
    )
    assert (m.quantization, m.quant_bytes) == ("compressed-tensors", 1.0)
    assert m.quant_scheme.startswith("FP8 weights per channel")
    # (70,553,706,496 - 2 x 128,256 x 8,192) x 1 B + 2 x 128,256 x 8,192 x 2 B (embeddings and
    # lm_head stay bf16) = 72,655,052,800 B = 67.67 GiB, not bf16's 131.42 GiB.
    assert sizing.weight_bytes(m) == 72_655_052_800
    assert sizing.weight_bytes(m) / GIB == pytest.approx(67.665, abs=1e-3)
    s = sizing.size(m, catalog.get_gpu("h100-80gb"), 1)
    assert s.quantization is None  # vLLM detects compressed-tensors: nothing written


def test_quantization_that_contradicts_the_checkpoint_is_refused(cli, repo_copy):
    config = CONFIGS / "RedHatAI--Llama-3.3-70B-Instruct-FP8-dynamic.json"
    base = ["new-model", "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic", "--config-json", str(config)]
    refused = cli([*base, "--quantization", "fp8", "--dry-run", "--skip-check"], cwd=repo_copy)
    assert refused.exit_code == 2
    assert (
        "is a compressed-tensors checkpoint" in refused.stderr
        and "leave --quantization out" in refused.stderr
    )
    written = cli([*base, "--dry-run", "--skip-check"], cwd=repo_copy)
    assert written.exit_code == 0, written.stderr
    serve = written.stdout.split("serve.yaml")[1].split("--- ")[0]
    assert "quantization:" not in serve  # vLLM reads the method from the checkpoint


@pytest.mark.parametrize(
    ("config", "method", "per_param"),
    [
        ({"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True}, "awq", 0.5 + 4 / 128),
        ({"quant_method": "gptq", "bits": 4, "group_size": 128, "sym": True}, "gptq", 0.5 + 2 / 128),
        ({"quant_method": "gptq", "bits": 8, "group_size": -1, "sym": True}, "gptq", 1.0),
        ({"quant_method": "fp8", "activation_scheme": "dynamic"}, "fp8", 1.0),
        ({"quant_method": "fbgemm_fp8"}, "fbgemm_fp8", 1.0),
        ({"producer": {"name": "modelopt"}, "quantization": {"quant_algo": "FP8"}}, "modelopt", 1.0),
        ({"producer": {"name": "modelopt"}, "quantization": {"quant_algo": "NVFP4"}}, "modelopt_fp4", 0.5625),
        ({"quant_method": "bitsandbytes", "load_in_4bit": True}, "bitsandbytes", 0.5625),
        ({"quant_method": "bitsandbytes", "load_in_8bit": True}, "bitsandbytes", 1.0),
        (
            {
                "quant_method": "compressed-tensors",
                "config_groups": {
                    "group_0": {
                        "format": "pack-quantized",
                        "weights": {"num_bits": 4, "type": "int", "group_size": 128, "symmetric": True},
                    }
                },
            },
            "compressed-tensors",
            0.5 + 2 / 128,
        ),
    ],
)
def test_quantization_config_formats(config, method, per_param):
    found = quantization.read({"quantization_config": config})
    assert (found.method, found.weight_bytes) == (method, pytest.approx(per_param))


def test_unknown_or_broken_quantization_config_names_the_field():
    with pytest.raises(UsageError, match=r"quant_method 'hqq' is not one llmfleet can size"):
        quantization.read({"quantization_config": {"quant_method": "hqq"}}, "x/config.json")
    with pytest.raises(UsageError, match=r"config_groups.g.weights.num_bits must be 1-16"):
        quantization.read(
            {
                "quantization_config": {
                    "quant_method": "compressed-tensors",
                    "config_groups": {"g": {"weights": {}}},
                }
            }
        )
    assert quantization.read({"torch_dtype": "bfloat16"}) is None
    assert quantization.compatible("gptq", "gptq_marlin") and not quantization.compatible(
        "compressed-tensors", "fp8"
    )


# -- Gemma 3 and sliding windows ---------------------------------------------------------------


def test_gemma3_published_config_takes_transformers_defaults():
    m = model("google--gemma-3-27b-it.json", "google/gemma-3-27b-it")
    # text_config has neither: Gemma3TextConfig's defaults.
    assert (m.vocab, m.context, m.tied) == (262_208, 131_072, True)
    assert m.params == 27_432_406_640  # the Hub's count, vision tower included
    # Every 6th layer is global: 62 layers -> layers 5, 11, ..., 59 global (10), 52 local.
    assert (m.sliding_window, m.sliding_layers) == (1024, 52)


def test_local_layers_raise_the_concurrency_by_hand():
    m = model("google--gemma-3-27b-it.json", "google/gemma-3-27b-it")
    s = sizing.size(m, catalog.get_gpu("h100-80gb"), 1)
    length = 131_072
    # A local layer keeps min(1024 - 1 + 8192, 131072) = 9215 tokens; per sequence the KV is
    # (10/62 x 131072 + 52/62 x 9215) tokens' worth instead of 131072: 4.54x the concurrency.
    held = attention_window.tokens_held(1024, length)
    assert held == 9215
    per_seq = s.kv_bytes_per_token_per_gpu * (10 / 62 * length + 52 / 62 * held)
    assert s.kv_bytes_per_sequence_per_gpu(length) == pytest.approx(per_seq)
    all_global = s.kv_cache_bytes_per_gpu / (s.kv_bytes_per_token_per_gpu * length)
    assert s.concurrency(length) / all_global == pytest.approx(4.54, abs=0.01)


def test_window_vllm_does_not_apply_is_no_window():
    r1 = model("deepseek-ai--DeepSeek-R1-Distill-Qwen-32B.json", "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B")
    assert (r1.sliding_window, r1.sliding_layers) == (None, 0)  # use_sliding_window: false
    assert attention_window.effective_window({"sliding_window": 4096}, 4096) is None  # window >= context
    assert attention_window.effective_window({"sliding_window": 4096}, 32768) == 4096
    plan = planning.plan(r1, max_model_len=8192)
    assert not any("sliding window" in note for note in plan.notes)
    assert (
        attention_window.local_layers({"layer_types": ["sliding_attention", "full_attention"] * 3}, "x", 6)
        == 3
    )
    assert attention_window.local_layers({}, "gemma2", 42) == 21


# -- reasoning models ---------------------------------------------------------------------------


def test_reasoning_models_get_a_longer_default_and_the_reason():
    r1 = model("deepseek-ai--DeepSeek-R1-Distill-Qwen-32B.json", "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B")
    plan = planning.plan(r1)
    assert plan.max_model_len == 32_768
    assert any("reasoning model" in note and "32,768" in note for note in plan.notes)
    qwen3 = model("Qwen--Qwen3-30B-A3B.json", "Qwen/Qwen3-30B-A3B")
    assert sizing.target_context(qwen3) == 32_768  # context 40960, thinks by default
    assert purpose.reasoning_reason("Qwen/Qwen3-30B-A3B-Instruct-2507") is None
    assert purpose.reasoning_reason("Qwen/QwQ-32B") and purpose.reasoning_reason("deepseek-ai/DeepSeek-R1")
    assert sizing.target_context(catalog.resolve_model("meta-llama/Llama-3.1-8B-Instruct")) == 8192
