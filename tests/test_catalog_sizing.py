"""The GPU/model catalog and the memory sizing (llmfleet.catalog, llmfleet.sizing).

The reference numbers are literals copied from docs/reference/vllm.md §4.3 (the
"Model configs" table) and §4.4 (the worked example); each test cites its row.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from llmfleet.catalog import entries as catalog
from llmfleet.catalog import planning, sizing
from llmfleet.catalog.sizing import GIB
from llmfleet.infra.errors import UsageError

REPO_ROOT = Path(__file__).resolve().parents[1]
KIB = 1024

# docs/reference/vllm.md §4.3, columns "params (computed from config)" and "KV/token bf16" (bytes), and
# the head_dim column; the weights are params x 2 B (bf16), as in the §4.3 sanity check
# "Llama-3.1-8B in bf16 is 8.03e9 x 2 B ≈ 14.96 GiB".
DOC_TABLE = {
    # model id:                            (params,  KV B/token, head_dim, context)
    "meta-llama/Llama-3.1-8B-Instruct": (8.03e9, 131_072, 128, 131072),
    "meta-llama/Llama-3.1-70B-Instruct": (70.55e9, 327_680, 128, 131072),
    "mistralai/Mistral-7B-Instruct-v0.3": (7.25e9, 131_072, 128, 32768),
    "Qwen/Qwen2.5-7B-Instruct": (7.62e9, 57_344, 128, 32768),
    "google/gemma-2-9b-it": (9.24e9, 344_064, 256, 8192),
    "microsoft/Phi-3-mini-4k-instruct": (3.82e9, 393_216, 96, 4096),
}
# docs/reference/vllm.md §4.3 column "KV for 1 full-ctx sequence, bf16" (GiB).
DOC_FULL_CONTEXT_KV_GIB = {
    "meta-llama/Llama-3.1-8B-Instruct": 16,
    "meta-llama/Llama-3.1-70B-Instruct": 40,
    "mistralai/Mistral-7B-Instruct-v0.3": 4,
    "Qwen/Qwen2.5-7B-Instruct": 1.75,
    "google/gemma-2-9b-it": 2.6,
    "microsoft/Phi-3-mini-4k-instruct": 1.5,
}


def within(value: float, expected: float, tolerance: float = 0.05) -> bool:
    return abs(value - expected) <= tolerance * abs(expected)


# -- catalog ---------------------------------------------------------------------------------


def test_every_doc_model_is_catalogued_with_a_source():
    for model_id in DOC_TABLE:
        spec = catalog.find_model(model_id)
        assert spec is not None, model_id
        assert spec.source, model_id
    assert catalog.find_model("qwen/qwen2.5-7b-INSTRUCT").id == "Qwen/Qwen2.5-7B-Instruct"


@pytest.mark.parametrize("model_id", sorted(DOC_TABLE))
def test_kv_bytes_per_token_matches_vllm_md(model_id):
    spec = catalog.find_model(model_id)
    params, kv, head_dim, context = DOC_TABLE[model_id]
    assert spec.head_dim == head_dim
    assert spec.context == context
    assert within(sizing.kv_bytes_per_token(spec), kv), (sizing.kv_bytes_per_token(spec), kv)
    full = sizing.kv_bytes_per_token(spec) * spec.context / GIB
    assert within(full, DOC_FULL_CONTEXT_KV_GIB[model_id]), full


@pytest.mark.parametrize("model_id", sorted(DOC_TABLE))
def test_weights_match_vllm_md(model_id):
    spec = catalog.find_model(model_id)
    params = DOC_TABLE[model_id][0]
    assert within(spec.params, params)
    assert within(sizing.weight_bytes(spec), params * 2)


def test_llama_8b_weights_in_gib():
    # docs/reference/vllm.md §4.3: "8.03e9 × 2 B ≈ 14.96 GiB"; vllm#10517 logs 14.9888 GB.
    weights = sizing.weight_bytes(catalog.find_model("meta-llama/Llama-3.1-8B-Instruct")) / GIB
    assert within(weights, 14.96, 0.01)


def test_70b_kv_per_gpu_at_tp4():
    # docs/reference/vllm.md §4.4: "Per GPU with TP=4: 8/4 = 2 KV heads, so 80 KiB per token per GPU."
    spec = catalog.find_model("meta-llama/Llama-3.1-70B-Instruct")
    assert sizing.kv_bytes_per_token(spec, tp=4) == 80 * KIB
    # KV heads are replicated, not split, past the number of KV heads (docs/reference/vllm.md §4.2).
    assert sizing.kv_bytes_per_token(spec, tp=8) == sizing.kv_bytes_per_token(spec, tp=16) == 40 * KIB


def test_worked_example_llama_8b_on_h100():
    # docs/reference/vllm.md §4.4: budget ≈ 72.9 GiB; 53-56 GiB of KV; about 430-450 k tokens.
    s = sizing.size(catalog.find_model("meta-llama/Llama-3.1-8B-Instruct"), catalog.get_gpu("h100-80gb"))
    assert within(s.budget_bytes_per_gpu / GIB, 72.9, 0.01)
    assert 53 <= s.kv_cache_bytes_per_gpu / GIB <= 56
    assert within(s.kv_tokens, 440_000, 0.05)
    assert 3.2 <= s.concurrency(131072) <= 3.5  # "about 3.3 full 128k-token contexts"


# -- pipeline parallelism (multi-node groups) ------------------------------------------------

LLAMA_405B_FP8 = "meta-llama/Llama-3.1-405B-Instruct-FP8"


def test_405b_fp8_is_catalogued_as_a_prequantized_checkpoint():
    spec = catalog.find_model(LLAMA_405B_FP8)
    assert spec.quantization in sizing.FP8_METHODS and spec.source
    # By hand: 126 x (2 x 16384^2 + 2 x 16384 x 1024 + 3 x 16384 x 53248 + 2 x 16384)
    # + 2 x 128256 x 16384 + 16384 = 405,853,388,800 parameters.
    per_layer = 2 * 16384**2 + 2 * 16384 * 1024 + 3 * 16384 * 53248 + 2 * 16384
    assert spec.params == 126 * per_layer + 2 * 128256 * 16384 + 16384
    # No --quantization: the checkpoint's own method (vLLM reads quantization_config):
    # one byte per weight, the embedding and LM head in 16 bit.
    s = sizing.size(spec, catalog.get_gpu("h100-80gb"), tp=8)
    assert s.quantization == spec.quantization
    assert s.weights_bytes == (spec.params - 2 * 128256 * 16384) + 2 * 128256 * 16384 * 2


def test_pipeline_parallel_sizing_by_hand():
    """TP 8 x PP 2 on H100 (the 405B overlay): a GPU of the heaviest stage holds 63 layers and
    one vocabulary matrix, / TP 8, and the KV of 63 layers."""
    spec = catalog.find_model(LLAMA_405B_FP8)
    h100 = catalog.get_gpu("h100-80gb")
    s = sizing.size(spec, h100, tp=8, pp=2)
    layer_bytes = spec.params - 2 * 128256 * 16384  # fp8: 1 byte each
    stage = layer_bytes * 63 / 126 + 128256 * 16384 * 2  # + the embedding (stage 0)
    assert s.weights_bytes_per_gpu == pytest.approx(stage / 8)
    assert round(s.weights_bytes_per_gpu / GIB, 2) == 23.87
    assert s.kv_bytes_per_token_per_gpu == 2 * 63 * 1 * 128 * 2 == 32_256
    assert s.overhead_bytes_per_gpu == 3.0 * GIB  # 2.5 + 0.5 (world of 16 GPUs)
    kv = 0.92 * 79.11 * GIB - stage / 8 - 3.0 * GIB
    assert s.kv_tokens == int(kv // 32_256) == 1_528_350
    assert s.gpus == 16 and s.price_per_hour == pytest.approx(16 * h100.price_per_hour)
    # Two stages hold 4.2x the KV cache of one node (TP 8, PP 1) for twice the GPUs.
    one = sizing.size(spec, h100, tp=8)
    assert one.kv_tokens == 366_908 and s.kv_tokens / one.kv_tokens == pytest.approx(4.17, abs=0.01)


def test_pipeline_parallel_one_is_the_tensor_parallel_sizing():
    for model_id in DOC_TABLE:
        spec = catalog.find_model(model_id)
        for tp in sizing.valid_tps(spec):
            a, b = (
                sizing.size(spec, catalog.get_gpu("a100-80gb"), tp),
                sizing.size(spec, catalog.get_gpu("a100-80gb"), tp, pp=1),
            )
            assert a.weights_bytes_per_gpu == b.weights_bytes_per_gpu == a.weights_bytes / tp
            assert a.kv_tokens == b.kv_tokens and b.gpus == tp


def test_uneven_pipeline_split_sizes_the_largest_stage():
    # 126 layers over 4 stages: vLLM's get_pp_indices gives 31, 32, 32, 31; the bound
    # counts 32 layers (and one vocabulary matrix).
    spec = catalog.find_model(LLAMA_405B_FP8)
    assert sizing.stage_layers(spec, 4) == 32 and sizing.stage_layers(spec, 2) == 63
    s = sizing.size(spec, catalog.get_gpu("h100-80gb"), tp=8, pp=4)
    assert s.kv_bytes_per_token_per_gpu == 2 * 32 * 1 * 128 * 2
    # A model of unknown vocabulary: the layers' share of every weight.
    bare = catalog.ModelSpec(
        "x/y", params=1.2e9, layers=12, hidden=1024, heads=8, kv_heads=8, head_dim=128, context=4096
    )
    assert sizing.size(bare, catalog.get_gpu("l4"), 1, pp=5).weights_bytes_per_gpu == pytest.approx(
        1.2e9 * 2 * 3 / 12
    )  # ceil(12 / 5) = 3 layers
    with pytest.raises(UsageError, match="pipeline-parallel-size 0"):
        sizing.size(spec, catalog.get_gpu("h100-80gb"), tp=8, pp=0)


def test_gpu_catalog():
    gpus = catalog.gpus()
    assert list(gpus) == [
        "t4",
        "l4",
        "a10g-24gb",
        "l40s",
        "a100-40gb",
        "a100-80gb",
        "h100-80gb",
        "h200-141gb",
        "b200",
    ]
    expected_support = {
        "t4": (False, False),
        "l4": (True, True),
        "a10g-24gb": (True, False),
        "l40s": (True, True),
        "a100-40gb": (True, False),
        "a100-80gb": (True, False),
        "h100-80gb": (True, True),
        "h200-141gb": (True, True),
        "b200": (True, True),
    }
    nominal = {
        "t4": 16,
        "l4": 24,
        "a10g-24gb": 24,
        "l40s": 48,
        "a100-40gb": 40,
        "a100-80gb": 80,
        "h100-80gb": 80,
        "h200-141gb": 141,
        "b200": 192,
    }
    for name, gpu in gpus.items():
        assert (gpu.bf16, gpu.fp8) == expected_support[name]
        # vLLM serves bfloat16 from compute capability 8.0 (docs/reference/vllm-versions.md §6.2).
        assert gpu.capability is not None and gpu.bf16 == (gpu.capability >= 8.0), name
        assert gpu.label_value == name and gpu.component == f"components/gpu-{name}"
        # As the device reports it: a little under the marketing size in GB and GiB.
        assert 0.9 * nominal[name] < gpu.memory_gib < nominal[name], name
        assert gpu.memory_source and gpu.price_source and gpu.price_per_hour > 0
        assert gpu.memory_bandwidth_gbps and gpu.bf16_tflops
        # One basis: every price is on demand, from a dated price list, for a named instance.
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", gpu.price_date), name
        assert gpu.price_instance and "aws price list" in gpu.price_source.lower(), name
        assert "spot" not in gpu.price_note.lower() and gpu.price_note.startswith("on demand"), name
    assert "on demand" in catalog.price_basis()
    # Per GPU = instance price / GPUs, as the sources give them.
    assert gpus["t4"].price_per_hour == 0.526 and gpus["l4"].price_per_hour == 0.8048
    assert gpus["h100-80gb"].price_per_hour == pytest.approx(55.04 / 8)
    assert gpus["a100-40gb"].price_per_hour == pytest.approx(21.957642 / 8, abs=1e-4)
    assert gpus["b200"].price_per_hour == pytest.approx(113.9328 / 8, abs=1e-4)
    # Spot is a separate column, only where sourced.
    assert gpus["t4"].spot_price_per_hour == 0.35 and gpus["t4"].spot_price_source
    assert all(g.spot_price_per_hour is None or g.spot_price_source for g in gpus.values())


def test_gpu_components_exist_with_the_catalog_label():
    components = REPO_ROOT / "components"
    if not components.is_dir():
        pytest.skip("components/ not written yet")
    for gpu in catalog.gpus().values():
        patch = REPO_ROOT / gpu.component / "patch-gpu.yaml"
        assert patch.is_file(), gpu.component
        text = patch.read_text()
        assert catalog.GPU_LABEL_KEY in text and f'"{gpu.name}"' in text


def test_unknown_gpu_lists_the_known_ones():
    with pytest.raises(
        UsageError,
        match=r"unknown GPU class 'x100': known classes are " + re.escape(", ".join(catalog.gpu_names())),
    ):
        catalog.get_gpu("x100")


@pytest.mark.parametrize(
    "text, value",
    [("7.6e9", 7.6e9), ("7600000000", 7.6e9), ("7.6B", 7.6e9), ("7.6b", 7.6e9), ("770M", 7.7e8), (8e9, 8e9)],
)
def test_parse_params(text, value):
    assert catalog.parse_params(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["7.6", "seven", "7.6X", "-1B", ""])
def test_parse_params_rejects(text):
    with pytest.raises(UsageError, match="--params"):
        catalog.parse_params(text)


# -- config.json -------------------------------------------------------------------------------

QWEN_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "hidden_size": 3584,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "max_position_embeddings": 32768,
    "torch_dtype": "bfloat16",
    "vocab_size": 152064,
    "tie_word_embeddings": False,
}


def write_config(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


def test_config_json_matches_catalog(tmp_path):
    spec = catalog.model_from_config_json(write_config(tmp_path, QWEN_CONFIG), "org/qwen-copy", "7.62B")
    assert (spec.layers, spec.hidden, spec.heads, spec.kv_heads, spec.head_dim, spec.context) == (
        28,
        3584,
        28,
        4,
        128,
        32768,
    )
    assert sizing.kv_bytes_per_token(spec) == 57_344
    assert spec.params == pytest.approx(7.62e9)


def test_config_json_defaults_and_head_dim(tmp_path):
    data = {k: v for k, v in QWEN_CONFIG.items() if k != "num_key_value_heads"}
    data["head_dim"] = 256  # explicit head_dim wins over hidden/heads (Gemma-2)
    data["dtype"] = data.pop("torch_dtype")
    spec = catalog.model_from_config_json(write_config(tmp_path, data), "x/y", "7B")
    assert spec.kv_heads == 28 and spec.head_dim == 256 and spec.dtype == "bfloat16"


def test_config_json_text_config(tmp_path):
    data = {"architectures": ["X"], "text_config": QWEN_CONFIG, "num_parameters": 8e9}
    spec = catalog.model_from_config_json(write_config(tmp_path, data), "x/y")
    assert spec.layers == 28 and spec.params == 8e9


@pytest.mark.parametrize(
    "field", ["num_hidden_layers", "hidden_size", "num_attention_heads", "max_position_embeddings"]
)
def test_config_json_missing_field_names_file_and_field(tmp_path, field):
    path = write_config(tmp_path, {k: v for k, v in QWEN_CONFIG.items() if k != field})
    with pytest.raises(UsageError) as err:
        catalog.model_from_config_json(path, "x/y", "7B")
    assert str(path) in str(err.value) and repr(field) in str(err.value)


def test_config_json_bad_values(tmp_path):
    path = write_config(tmp_path, {**QWEN_CONFIG, "num_key_value_heads": "four"})
    with pytest.raises(UsageError, match="'num_key_value_heads' must be a positive whole number"):
        catalog.model_from_config_json(path, "x/y", "7B")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UsageError, match="not valid JSON"):
        catalog.model_from_config_json(bad, "x/y", "7B")
    with pytest.raises(UsageError, match="no such file"):
        catalog.model_from_config_json(tmp_path / "nope.json", "x/y", "7B")


def test_config_json_without_params(tmp_path):
    """The count follows from the config; a config without the fields it needs names them."""
    with pytest.raises(UsageError, match="field 'intermediate_size' is missing .*pass --params"):
        catalog.model_from_config_json(write_config(tmp_path, QWEN_CONFIG), "x/y")
    full = {**QWEN_CONFIG, "intermediate_size": 18944, "vocab_size": 152064, "model_type": "qwen2"}
    spec = catalog.model_from_config_json(write_config(tmp_path, full), "x/y")
    assert spec.params == 7615616512 and spec.model_type == "qwen2"
    assert catalog.model_from_config_json(write_config(tmp_path, full), "x/y", "7B").params == 7e9


def test_resolve_unknown_model():
    with pytest.raises(UsageError, match="not in the catalog.*--config-json"):
        catalog.resolve_model("org/unknown-7b")


# -- weights and KV variants -----------------------------------------------------------------


def test_quantized_weights():
    spec = catalog.find_model("meta-llama/Llama-3.1-8B-Instruct")
    embed = 128256 * 4096 * 2  # untied embedding + lm_head stay 16 bit
    assert sizing.weight_bytes(spec, "fp8") == pytest.approx((spec.params - embed) * 1 + embed * 2)
    assert sizing.weight_bytes(spec, "awq") == pytest.approx((spec.params - embed) * 0.52 + embed * 2)
    assert sizing.weight_bytes(spec, "none") == spec.params * 2
    with pytest.raises(UsageError, match="--quantization 'bitsandbytes'"):
        sizing.weight_bytes(spec, "bitsandbytes")


def test_fp8_kv_cache_halves_the_bytes():
    spec = catalog.find_model("Qwen/Qwen2.5-7B-Instruct")
    assert sizing.kv_bytes_per_token(spec, kv_cache_dtype="fp8") == 57_344 // 2


def test_tp_rules():
    qwen = catalog.find_model("Qwen/Qwen2.5-7B-Instruct")  # 28 heads, 4 KV heads
    assert sizing.valid_tps(qwen) == [1, 2, 4]
    assert "not divisible" in sizing.tp_problem(qwen, 8)
    assert sizing.tp_problem(qwen, 3).startswith("TP must be one of")
    llama = catalog.find_model("meta-llama/Llama-3.1-70B-Instruct")
    assert sizing.valid_tps(llama) == [1, 2, 4, 8]


# -- the plan --------------------------------------------------------------------------------


def test_auto_plans():
    got = {}
    for model_id in DOC_TABLE:
        p = planning.plan(catalog.find_model(model_id))
        got[model_id] = (p.sizing.gpu.name, p.sizing.tp, p.max_model_len)
        assert p.sizing.holds(p.max_model_len, sizing.MIN_CONCURRENCY)
    assert got["meta-llama/Llama-3.1-8B-Instruct"] == ("l4", 1, 8192)
    assert got["Qwen/Qwen2.5-7B-Instruct"] == ("l4", 1, 8192)
    assert got["microsoft/Phi-3-mini-4k-instruct"] == ("l4", 1, 4096)  # capped at its context
    assert got["google/gemma-2-9b-it"] == ("l4", 2, 8192)
    # T4 (no bf16) is never auto-picked for bf16 models.
    assert all(gpu != "t4" for gpu, _, _ in got.values())


def test_cheapest_is_price_times_tp():
    spec = catalog.find_model("meta-llama/Llama-3.1-70B-Instruct")
    p = planning.plan(spec, max_model_len=8192)
    cheaper = [
        o
        for o in (
            sizing.size(spec, g, t) for g in catalog.gpus().values() if g.bf16 for t in sizing.valid_tps(spec)
        )
        if o.price_per_hour < p.sizing.price_per_hour
    ]
    assert all(not o.holds(8192, sizing.MIN_CONCURRENCY) for o in cheaper)


def test_pinned_gpu_fits_max_model_len():
    llama = catalog.find_model("meta-llama/Llama-3.1-8B-Instruct")
    p = planning.plan(llama, gpu="l4")
    # 2.83 GiB of KV / 128 KiB = 23k tokens: 8192 holds 2 sequences, 16384 does not.
    assert (p.sizing.tp, p.max_model_len) == (1, 8192)
    assert any("fitted" in n for n in p.notes)
    h100 = planning.plan(llama, gpu="h100-80gb")
    assert h100.max_model_len == 131072  # 453k tokens: 3.46 full-length sequences
    assert planning.plan(catalog.find_model("Qwen/Qwen2.5-7B-Instruct"), gpu="l4").max_model_len == 32768


def test_pinned_length_one_sequence_is_enough():
    # The hand-written overlay: Llama-3.1-8B on one L4 at 16384 (one full request fits).
    p = planning.plan(catalog.find_model("meta-llama/Llama-3.1-8B-Instruct"), gpu="l4", max_model_len=16384)
    assert p.sizing.tp == 1 and 1 <= p.concurrency < 2
    assert any("fewer than" in n for n in p.notes)


def test_pinned_t4_serves_in_float16():
    p = planning.plan(catalog.find_model("microsoft/Phi-3-mini-4k-instruct"), gpu="t4")
    assert p.serve_dtype == "half" and any("float16" in n for n in p.notes)


def test_pinned_does_not_fit_says_how_short():
    with pytest.raises(UsageError) as err:
        planning.plan(
            catalog.find_model("meta-llama/Llama-3.1-8B-Instruct"), gpu="l4", tp=1, max_model_len=131072
        )
    message = str(err.value)
    assert "does not fit on l4 at TP 1 (closest: 1 x l4)" in message and "short by 13.17 GiB" in message


def fit_numbers(message: str) -> tuple[float, float, float, float, float]:
    """(weights, overhead, kv, need, budget, short) from a Fit message."""
    m = re.search(
        r"per GPU ([\d.]+) GiB weights \(\w+\) \+ ([\d.]+) GiB overhead \+ ([\d.]+) GiB KV "
        r"for (\d+) sequences? of (\d+) tokens = ([\d.]+) GiB > budget ([\d.]+) GiB .*?"
        r"short by ([\d.]+) GiB",
        message,
    )
    assert m, message
    weights, overhead, kv, _, _, need, budget, short = map(float, m.groups())
    return weights, overhead, kv, need, budget, short


@pytest.mark.parametrize(
    "model_id, kwargs",
    [
        ("meta-llama/Llama-3.1-70B-Instruct", {"gpu": "l4", "tp": 1}),  # pinned, length fitted
        ("meta-llama/Llama-3.1-70B-Instruct", {"gpu": "l4", "tp": 2, "max_model_len": 8192}),
        ("meta-llama/Llama-3.1-8B-Instruct", {"gpu": "t4", "tp": 1}),
        ("google/gemma-2-9b-it", {"gpu": "l4", "tp": 1, "max_model_len": 8192}),
    ],
)
def test_the_refusal_message_is_the_decision(model_id, kwargs):
    """One arithmetic: the numbers in the message add up, and say "short" only when short."""
    with pytest.raises(UsageError) as err:
        planning.plan(catalog.find_model(model_id), **kwargs)
    weights, overhead, kv, need, budget, short = fit_numbers(str(err.value))
    assert need == pytest.approx(weights + overhead + kv, abs=0.015)
    assert short > 0 and need > budget
    assert short == pytest.approx(need - budget, abs=0.015)


def test_fit_is_the_decision():
    spec = catalog.find_model("meta-llama/Llama-3.1-8B-Instruct")
    s = sizing.size(spec, catalog.get_gpu("l4"), 1)
    for length in (1024, 8192, 16384, 32768, 131072):
        for sequences in (1, 2):
            fit = s.fit(length, sequences)
            assert fit.fits == s.holds(length, sequences) == (fit.needed <= fit.budget)
            assert ("to spare" in fit.message()) == fit.fits
            assert ("short by" in fit.message()) != fit.fits


def test_multi_node_when_one_node_is_not_enough():
    spec = catalog.find_model("meta-llama/Llama-3.1-405B-Instruct")
    p = planning.plan(spec, gpu="h100-80gb")
    s = p.sizing
    assert (s.gpu.name, s.tp, s.pp, p.nodes, s.gpus) == ("h100-80gb", 8, 2, 2, 16)
    # weights / (TP x PP) and the KV of 63 of the 126 layers on each GPU.
    assert s.weights_bytes_per_gpu == pytest.approx(s.weights_bytes / 16)
    assert s.kv_bytes_per_token_per_gpu == 2 * 63 * 1 * 128 * 2
    assert p.max_model_len == 131072 and p.concurrency >= sizing.MIN_CONCURRENCY
    assert any("no single node holds" in n for n in p.notes)
    # Unpinned, one node of 8 x H200 holds it and is cheaper than two H100 nodes.
    auto = planning.plan(spec)
    assert (auto.sizing.gpu.name, auto.sizing.tp, auto.nodes) == ("h200-141gb", 8, 1)
    # --nodes asks for it.
    three = planning.plan(spec, gpu="h100-80gb", nodes=3)
    assert (three.sizing.tp, three.nodes) == (8, 3)
    assert three.sizing.kv_bytes_per_token_per_gpu == 2 * 42 * 1 * 128 * 2


def test_multi_node_explains_why_not():
    from decimal import Decimal

    from llmfleet.catalog.node_shapes import Catalog, NodeShape

    spec = catalog.find_model("meta-llama/Llama-3.1-405B-Instruct")
    single_gpu = Catalog(
        (NodeShape("g6.xlarge", "l4", "eks", 1, Decimal(4), Decimal(16 * 2**30)),), (Decimal(0), Decimal(0))
    )
    with pytest.raises(UsageError, match=r"no multi-node plan: l4: no node shape with several GPUs"):
        planning.plan(spec, gpu="l4", nodes=2, shapes=single_gpu)
    with pytest.raises(UsageError, match=r"--nodes 9: 1 to 4"):
        planning.plan(spec, nodes=9)


def test_fits_nothing_says_what_it_needs():
    huge = catalog.ModelSpec(
        id="acme/Huge-4T",
        params=4.0e12,
        layers=160,
        hidden=20480,
        heads=160,
        kv_heads=8,
        head_dim=128,
        context=131072,
    )
    with pytest.raises(UsageError) as err:
        planning.plan(huge)
    message = str(err.value)
    assert "does not fit on any GPU class of the catalog on up to 4 nodes" in message
    assert "(closest: 4 nodes x 8 x b200)" in message
    weights, overhead, kv, need, budget, short = fit_numbers(message)
    assert weights == pytest.approx(4.0e12 * 2 / 32 / 2**30, abs=0.01)


def test_plan_rejects_bad_lengths_and_tp():
    spec = catalog.find_model("Qwen/Qwen2.5-7B-Instruct")
    with pytest.raises(UsageError, match="above Qwen/Qwen2.5-7B-Instruct's context"):
        planning.plan(spec, max_model_len=65536)
    with pytest.raises(UsageError, match="--tp 8: 28 attention heads are not divisible by TP 8"):
        planning.plan(spec, tp=8)
    with pytest.raises(UsageError, match="--tp 3"):
        planning.plan(spec, tp=3)


def test_fp8_quantization_not_on_t4():
    with pytest.raises(UsageError, match="--gpu t4: .*no fp8"):
        planning.plan(catalog.find_model("Qwen/Qwen2.5-7B-Instruct"), gpu="t4", quantization="fp8")


def test_describe_lists_the_figures():
    text = "\n".join(planning.describe(planning.plan(catalog.find_model("Qwen/Qwen2.5-7B-Instruct"))))
    for needle in (
        "weights    14.19 GiB",
        "kv/token   57,344 B (56 KiB)",
        "kv cache   67,423 tokens",
        "max concurrency at full context 8.23",
    ):
        assert needle in text


def test_params_billion_for_the_vllm_helpers():
    assert catalog.params_billion("meta-llama/Llama-3.1-70B-Instruct") == pytest.approx(70.55, abs=0.01)
    assert catalog.params_billion("org/unknown") is None
