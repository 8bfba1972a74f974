"""Edges of the memory sizing (llmfleet.catalog.sizing) that the worked examples do not reach.

Every expected figure is worked out by hand in the comment beside it (docs/reference/vllm.md
§4.1-4.4), never by calling the code under test a second way.
"""

from __future__ import annotations

import pytest

from llmfleet.catalog import entries as catalog
from llmfleet.catalog import sizing
from llmfleet.catalog.entries import GpuClass, ModelSpec

GIB = 1024**3

# A DeepSeek-V3-shaped model: 61 layers, multi-head latent attention with kv_lora_rank 512 +
# qk_rope_head_dim 64 = 576 elements of KV per token and layer (config.json of
# deepseek-ai/DeepSeek-V3).  Heads and head_dim are those of its query side; they must not
# enter the KV figure.
LATENT = ModelSpec(
    "test/latent-61l",
    params=671e9,
    layers=61,
    hidden=7168,
    heads=128,
    kv_heads=128,
    head_dim=192,
    context=163840,
    kv_latent_dim=576,
)
# An ordinary 16-bit model: 4 layers, 8 KV heads of 128 dims -> 2 x 4 x 8 x 128 x 2 B = 16 KiB
# per token on one GPU.
SMALL = ModelSpec(
    "test/small", params=1e9, layers=4, hidden=1024, heads=8, kv_heads=8, head_dim=128, context=4096
)
# A GPU of exactly 10 GiB, so that budgets are round numbers: 0.9 x 10 = 9 GiB.
TEN = GpuClass(
    "ten", "Test 10 GiB", memory_gib=10.0, price_per_hour=1.0, bf16=True, fp8=True, compute_capability="9.0"
)


@pytest.mark.parametrize(
    ("kv_dtype", "expected"),
    [
        ("auto", 61 * 576 * 2),  # 70272 B: bfloat16 model, 2 B per element
        ("bfloat16", 61 * 576 * 2),
        ("fp8", 61 * 576 * 1),  # 35136 B: one byte per element
        ("fp8_e4m3", 61 * 576 * 1),
        ("fp8_e5m2", 61 * 576 * 1),
    ],
)
def test_latent_attention_kv_is_one_vector_per_layer(kv_dtype, expected):
    for tp in (1, 2, 8):  # held whole on every tensor-parallel rank: no division by TP
        assert sizing.kv_bytes_per_token(LATENT, tp=tp, kv_cache_dtype=kv_dtype) == expected


def test_latent_attention_kv_with_fp8_cache_in_a_sizing():
    s = sizing.size(LATENT, catalog.get_gpu("h200-141gb"), tp=8, kv_cache_dtype="fp8", pp=1)
    assert s.kv_bytes_per_token == 35136
    assert s.kv_bytes_per_token_per_gpu == 35136
    # With two pipeline stages each GPU keeps the KV of ceil(61 / 2) = 31 layers.
    staged = sizing.size(LATENT, catalog.get_gpu("h200-141gb"), tp=8, kv_cache_dtype="fp8", pp=2)
    assert staged.kv_bytes_per_token_per_gpu == 31 * 576


def test_ordinary_kv_splits_heads_over_tp_and_fp8_halves_it():
    assert sizing.kv_bytes_per_token(SMALL) == 16 * 1024
    assert sizing.kv_bytes_per_token(SMALL, tp=2) == 8 * 1024  # 4 KV heads per GPU
    assert sizing.kv_bytes_per_token(SMALL, tp=2, kv_cache_dtype="fp8") == 4 * 1024
    assert sizing.kv_bytes_per_token(SMALL, tp=16) == 2 * 1024  # replicated past 8: 1 head each


@pytest.mark.parametrize(
    ("tp", "pp", "gib"),
    [
        (1, 1, 2.5),  # one GPU: no NCCL buffers
        (2, 1, 3.0),  # from two GPUs on: + 0.5 GiB
        (1, 2, 3.0),  # two pipeline stages are two GPUs too
        (8, 1, 3.0),
        (4, 2, 3.0),
    ],
)
def test_overhead_grows_by_half_a_gib_from_two_gpus(tp, pp, gib):
    assert sizing.overhead_bytes(tp, pp) == gib * GIB


@pytest.mark.parametrize(("gpus", "gib"), [(1, 2.5), (2, 3.0), (4, 3.0)])
def test_weights_estimate_overhead_follows_the_gpu_count(gpus, gib):
    estimate = sizing.WeightsEstimate(
        params=2e9, bytes_per_param=2.0, gpu=TEN, gpus=gpus, gpu_memory_utilization=0.9
    )
    assert estimate.overhead_bytes_per_gpu == gib * GIB
    assert estimate.budget_bytes_per_gpu == 9 * GIB
    # 2e9 x 2 B over the GPUs, then the overhead, out of 9 GiB.
    assert estimate.left_bytes_per_gpu == pytest.approx(9 * GIB - 4e9 / gpus - gib * GIB)


def test_kv_tokens_never_go_negative_when_the_weights_do_not_fit():
    # 8e9 parameters x 2 B = 14.9 GiB of weights on a 9 GiB budget: 8.4 GiB short before any KV.
    big = ModelSpec(
        "test/big", params=8e9, layers=4, hidden=1024, heads=8, kv_heads=8, head_dim=128, context=4096
    )
    s = sizing.size(big, TEN, tp=1, gpu_memory_utilization=0.9)
    assert s.kv_cache_bytes_per_gpu == pytest.approx(9 * GIB - 16e9 - 2.5 * GIB)
    assert s.kv_cache_bytes_per_gpu < 0
    assert s.kv_tokens == 0
    assert s.weights_fit is False
    assert s.concurrency(4096) == 0.0


def test_kv_tokens_are_whole_tokens_of_what_is_left():
    # 1e9 x 2 B = 1.863 GiB of weights; 9 - 1.863 - 2.5 = 4.637 GiB = 4_979_321_856 B left; 16 KiB per token.
    s = sizing.size(SMALL, TEN, tp=1, gpu_memory_utilization=0.9)
    left = 9 * GIB - 2e9 - 2.5 * GIB
    assert s.kv_cache_bytes_per_gpu == pytest.approx(left)
    assert s.kv_tokens == int(left // (16 * 1024)) == 303_913
    assert s.weights_fit is True
    assert s.concurrency(4096) == pytest.approx(303_913 / 4096)


def test_shortfall_and_fit_of_one_sequence():
    s = sizing.size(SMALL, TEN, tp=1, gpu_memory_utilization=0.9)
    # 4096 tokens x 16 KiB = 64 MiB of KV: 2e9 B + 2.5 GiB + 64 MiB needed, 9 GiB budget.
    need = 2e9 + 2.5 * GIB + 4096 * 16 * 1024
    assert s.needed_bytes_per_gpu(4096) == pytest.approx(need)
    assert s.shortfall_bytes(4096) == pytest.approx(need - 9 * GIB)
    assert s.holds(4096) is True
    # 303_914 sequences of one token each do not fit; 303_913 do.
    assert s.holds(1, sequences=303_913) is True
    assert s.holds(1, sequences=303_914) is False
