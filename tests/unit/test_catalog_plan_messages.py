"""What new-model's planner (llmfleet.catalog.planning) tells the user when a model does not
fit or a dtype is refused, the notes a plan carries, and the catalog's node shapes, prices,
reasoning-model reasons and fit messages behind them.

Written to pin behaviours mutation testing showed no test held (issue 26,
docs/mutation-survivors/catalog.md).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from decimal import Decimal

import pytest
import yaml

from llmfleet.catalog import entries as catalog
from llmfleet.catalog import node_shapes, planning, purpose, sizing
from llmfleet.catalog.entries import GpuClass, ModelSpec
from llmfleet.catalog.pricing import api, instances, offer
from llmfleet.infra.errors import UsageError

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA_405B = "meta-llama/Llama-3.1-405B-Instruct"
GEMMA_9B = "google/gemma-2-9b-it"


def model(model_id: str) -> ModelSpec:
    return catalog.models()[model_id]


def refusal(m: ModelSpec, **options) -> str:
    with pytest.raises(UsageError) as err:
        planning.plan(m, **options)
    return str(err.value)


# -- plan: validation order and the stages ------------------------------------------------


def test_bad_kv_cache_dtype_is_refused_before_any_class_is_tried():
    text = refusal(model(LLAMA_8B), kv_cache_dtype="fp9", unavailable=lambda gpu: "not in this cluster")
    assert text.startswith("--kv-cache-dtype 'fp9': one of auto, fp8")


def test_nodes_1_plans_a_single_node():
    p = planning.plan(model(LLAMA_8B), nodes=1)
    assert (p.nodes, p.sizing.gpus) == (1, p.sizing.tp)


@pytest.mark.parametrize(("options", "spread"), [({}, False), ({"gpu": "l40s"}, True)])
def test_multi_node_note_only_when_the_plan_spreads(options, spread):
    # 405B fits one 8-GPU node of a large class; on l40s (8 x 48 GB) it takes several nodes.
    p = planning.plan(model(LLAMA_405B), **options)
    assert (p.nodes > 1) == spread
    notes = [n for n in p.notes if n.startswith("no single node holds")]
    if spread:
        assert notes == [
            f"no single node holds {LLAMA_405B} in bfloat16: spread over {p.nodes} nodes of "
            f"{p.sizing.tp} x l40s (TP {p.sizing.tp} x PP {p.nodes})"
        ]
        assert p.notes[0] == notes[0]  # first: it is the plan's main fact
    else:
        assert notes == []


# -- plan: notes ---------------------------------------------------------------------------


def test_fp8_on_a_class_without_fp8_says_marlin():
    p = planning.plan(model(LLAMA_8B), gpu="a100-80gb", quantization="fp8")
    assert (
        "a100-80gb has no fp8 tensor cores: vLLM runs FP8 weight-only (Marlin); memory as fp8, speed as bf16"
    ) in p.notes


def test_window_without_known_local_layers_is_an_upper_bound():
    m = ModelSpec(
        "test/window", params=1e9, layers=4, hidden=1024, heads=8, kv_heads=8, head_dim=128,
        context=32768, sliding_window=4096, sliding_layers=0,
    )  # fmt: skip
    p = planning.plan(m)
    assert (
        "test/window uses a sliding window (4096) on some layers: the KV figures are an upper "
        "bound (docs/reference/vllm.md §4.2)"
    ) in p.notes


def test_describe_names_the_parallelism_of_the_kv_share():
    p = planning.plan(model(LLAMA_8B), gpu="l4", tp=2)
    kv_line = next(line for line in planning.describe(p) if line.startswith("kv/token"))
    assert kv_line.endswith(f"{p.sizing.kv_bytes_per_token_per_gpu:,} B per GPU at TP 2")


# -- plan: what a refusal says -------------------------------------------------------------


def test_nothing_to_try_lists_every_class_and_why():
    # Only t4 is left, and an unpinned bf16 checkpoint is not cast to float16 on it.
    text = refusal(model(LLAMA_8B), unavailable=lambda gpu: None if gpu == "t4" else "not in this cluster")
    others = "; ".join(f"{g}: not in this cluster" for g in catalog.gpu_names() if g != "t4")
    assert text == (
        f"{LLAMA_8B}: nothing to try (t4: no bfloat16: the bf16 checkpoint would be cast to "
        f"float16, which can overflow (pin --gpu to accept); {others})"
    )


def test_does_not_fit_names_the_largest_tp_tried():
    text = refusal(model(LLAMA_405B), gpu="l4", nodes=1)
    assert text.startswith(f"{LLAMA_405B} does not fit on l4 at TP <= 8 (closest: 8 x l4): ")


def test_refused_dtype_offers_the_plan_the_users_own_options_give():
    # A Gemma 2 of 5 B parameters with 16 KV heads: its KV is large, so the KV cache dtype
    # decides the class.  On t4 (no bf16) vLLM refuses float16 for gemma2; the alternative
    # must be the plan of the same options on any class -- with the user's --kv-cache-dtype.
    m = replace(model(GEMMA_9B), id="test/gemma2-5b", params=5e9, kv_heads=16)
    shapes = {kv: planning.plan(m, kv_cache_dtype=kv).sizing.shape for kv in ("auto", "fp8")}
    assert shapes["auto"] != shapes["fp8"]  # the case only tells if the KV dtype matters
    for kv, shape in shapes.items():
        text = refusal(m, gpu="t4", kv_cache_dtype=kv)
        assert f"(1) another GPU class: {shape} in bfloat16 at $" in text, (kv, text)


def test_refused_half_offers_auto_on_another_class():
    text = refusal(model(GEMMA_9B), gpu="l4", dtype="half")
    best = planning.plan(model(GEMMA_9B)).sizing
    assert f"(1) another GPU class: {best.shape} in bfloat16" in text


def test_float32_alternative_that_does_not_fit_is_shown_short():
    m = replace(model(GEMMA_9B), id="test/gemma2-120b", params=120e9)
    text = refusal(m, gpu="l4", dtype="half", nodes=1)
    assert "(2) float32 on l4 does not fit: test/gemma2-120b does not fit on l4 at TP <= 8" in text
    assert "Try a larger" not in text  # the advice of the float32 refusal is cut off


# -- gpus_per_node ------------------------------------------------------------------------

TEN = GpuClass("ten", "Test 10 GiB", memory_gib=10.0, price_per_hour=1.0, bf16=True, fp8=True)


@pytest.mark.parametrize(
    ("shapes", "where"),
    [
        (None, "tools/llmfleet/data/node_shapes.yaml"),
        (
            node_shapes.Catalog((), (Decimal(0), Decimal(0))),
            "the cluster's node shapes (cluster.node-shapes in llmfleet.yaml)",
        ),
    ],
)
def test_no_multi_gpu_shape_names_where_the_shapes_come_from(shapes, where):
    per_node, why = planning.gpus_per_node(model(LLAMA_8B), TEN, shapes)
    assert per_node is None
    assert why.startswith(f"ten: no node shape with several GPUs in {where} (largest: none); ")


# -- node shapes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "cpu", "memory"),
    [
        # allocatable wins over the capacity figures
        (
            {
                "name": "n",
                "gpus": 1,
                "cpu": 8,
                "memory_gib": 32,
                "allocatable": {"cpu": "7910m", "memory": "29022Mi"},
            },
            Decimal("7.91"),
            Decimal(29022 * 2**20),
        ),
        # no allocatable: capacity (cpu cores, memory_gib GiB)
        ({"name": "n", "gpus": 1, "cpu": 8, "memory_gib": 32}, Decimal(8), Decimal(32 * 2**30)),
    ],
)
def test_node_shape_reads_allocatable_then_capacity(entry, cpu, memory):
    shape = node_shapes._shape(entry, "l4", "gke")
    assert (shape.gpu_class, shape.cloud, shape.cpu, shape.memory) == ("l4", "gke", cpu, memory)


def test_catalog_shapes_keep_their_class():
    for gpu in catalog.gpu_names():
        assert {s.gpu_class for s in node_shapes.catalog().of_class(gpu)} == {gpu}


# -- cluster offer ------------------------------------------------------------------------


def test_written_out_cluster_shapes_count_whatever_the_cloud():
    own = {"name": "my-l4", "gpu-class": "l4", "gpus": 2, "cpu": "20", "memory": "90Gi"}
    bounded = offer.offer_for("gke", (own,))
    assert [s.name for s in bounded.shapes_of("l4")] == ["my-l4"]
    assert bounded.unavailable("l4") is None


@pytest.mark.parametrize(("clouds", "where"), [((), "any cloud"), (("gke",), "gke")])
def test_class_without_node_shapes_is_not_offered_and_says_where(clouds, where):
    # A class gpus.yaml might list before node_shapes.yaml has its shapes.
    why = offer.ClusterOffer(clouds, node_shapes.catalog()).unavailable("h300")
    assert why == (
        f"not offered on {where} (cluster.cloud in llmfleet.yaml; "
        "tools/llmfleet/data/node_shapes.yaml lists no such node shape there)"
    )


# -- prices --------------------------------------------------------------------------------


def test_model_above_every_bounded_class_takes_the_largest(monkeypatch):
    bounded = tuple(c for c in api.classes() if c.max_params_b is not None)
    monkeypatch.setattr(api, "classes", lambda: bounded)
    largest = max(bounded, key=lambda c: c.max_params_b or 0)
    assert api.for_params((largest.max_params_b or 0) * 1e9 * 2) == largest
    assert api.for_params(1e9) == bounded[0]


@pytest.mark.parametrize("field", ["gpus", "vcpu", "memory_gib", "on_demand", "spot"])
def test_bad_price_field_names_the_row_and_field(field):
    raw = yaml.safe_load(instances.DATA_FILE.read_text(encoding="utf-8"))
    index, row = next((i, r) for i, r in enumerate(raw["instances"]) if "spot" in r)
    broken = copy.deepcopy(raw)
    broken["instances"][index][field] = -1
    with pytest.raises(instances.PriceTableError) as err:
        instances.parse(broken)
    assert str(err.value) == (
        f"instance_prices.yaml: instances[{index}] ({row['name']}): {field} must be a positive number, not -1"
    )


# -- reasoning models ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "reason"),
    [
        (
            "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
            "DeepSeek-R1 and its distills generate up to 32,768 tokens (model card)",
        ),
        ("Qwen/QwQ-32B", "a thinking model: its chain of thought comes before the answer"),
        ("Qwen/Qwen3-8B", "Qwen3 thinks by default; its card recommends 32,768 output tokens"),
        ("Qwen/Qwen3-30B-A3B-Instruct-2507", None),
        (LLAMA_8B, None),
    ],
)
def test_reasoning_reason(model_id, reason):
    assert purpose.reasoning_reason(model_id) == reason


# -- fit messages --------------------------------------------------------------------------


def test_a_margin_under_a_hundredth_of_a_gib_is_said_in_words():
    # Search the length whose fit is closest to the budget on one l4: the KV of a sequence
    # grows by one 16-token block at a time, so some length comes within 0.005 GiB.
    s = sizing.size(model(LLAMA_8B), catalog.get_gpu("l4"))
    fits = [sizing.Fit(s, length) for length in range(16, model(LLAMA_8B).context, 16)]
    closest = min(fits, key=lambda f: abs(f.shortfall))
    assert abs(closest.shortfall) < 0.005 * 2**30
    text = closest.message()
    assert text.endswith("; less than 0.01 GiB to spare" if closest.fits else "; short by less than 0.01 GiB")
    roomy = sizing.Fit(s, 1024)
    assert roomy.message().endswith(f"; {sizing.gib(-roomy.shortfall):.2f} GiB to spare")


@pytest.mark.parametrize(("gpu", "requested"), [("t4", "half"), ("t4", "bfloat16"), ("l4", "half")])
def test_float32_checkpoint_refused_a_16_bit_dtype_is_offered_float32(gpu, requested):
    # A float32 Gemma 2 checkpoint: vLLM refuses float16 for gemma2 ("use bfloat16 or float32
    # instead") and t4 has no bfloat16, so float32 on the pinned class is what runs there.
    m = replace(model(GEMMA_9B), id="test/gemma2-fp32", dtype="float32")
    fp32 = planning.plan(m, gpu=gpu, dtype="float32")
    text = refusal(m, gpu=gpu, dtype=requested)
    assert (
        f"float32 on {gpu}, which vLLM accepts: fits {fp32.sizing.shape} with max-model-len "
        f"{fp32.max_model_len} ("
    ) in text
