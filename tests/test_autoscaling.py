"""tools/llmfleet/model/autoscaling.py: per-replica KEDA targets from the sizing, and the
hand-written overlays carrying exactly the derived values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmfleet.catalog import entries as catalog
from llmfleet.catalog import sizing
from llmfleet.model import autoscaling
from llmfleet.model.autoscaling import derive_targets
from llmfleet.pipeline import render
from llmfleet_testlib import REPO_ROOT, overlay_names


@pytest.mark.parametrize(
    "kv_tokens, max_model_len, queue, kv",
    [
        (23_170, 8_192, 2, 0.64),  # Llama-3.1-8B on one L4: 2.83 at once
        (35_106, 16_384, 2, 0.53),  # Mistral-7B on one L4: 2.14
        (485_698, 65_536, 7, 0.85),  # Llama-3.1-70B on 4 x A100 80GB: 7.41, KV target capped
        (8_192, 8_192, 1, 0.5),  # exactly one full-length request: the most eager targets
        (12_288, 8_192, 1, 0.5),  # 1.5: 1 - 1/1.5 = 0.33, raised to the floor
        (40_960, 8_192, 5, 0.8),  # 5: 1 - 1/5 = 0.8 exactly
    ],
)
def test_targets_by_hand(kv_tokens, max_model_len, queue, kv):
    t = derive_targets(kv_tokens, max_model_len)
    assert (t.queue_depth, t.kv_cache_usage) == (queue, kv)
    assert t.concurrency == pytest.approx(kv_tokens / max_model_len)
    assert t.thresholds() == {"queue-depth": str(queue), "kv-cache-usage": autoscaling.format_fraction(kv)}
    assert len(t.reasoning) == 3 and f"{kv_tokens:,} tokens" in t.reasoning[0]


def test_max_num_seqs_caps_the_concurrency():
    t = derive_targets(1_000_000, 1_024, max_num_seqs=256)  # 976 by memory, 256 by vLLM
    assert t.queue_depth == 256 and t.kv_cache_usage == autoscaling.KV_TARGET_MAX
    assert "capped at max-num-seqs 256" in t.reasoning[0]


def test_targets_grow_with_capacity_and_stay_in_bounds():
    previous = None
    for kv_tokens in range(8_192, 8_192 * 40, 1_000):
        t = derive_targets(kv_tokens, 8_192)
        assert autoscaling.KV_TARGET_MIN <= t.kv_cache_usage <= autoscaling.KV_TARGET_MAX
        assert t.kv_cache_usage <= max(autoscaling.KV_TARGET_MIN, 1 - 8_192 / kv_tokens) + 1e-9
        if previous:
            assert t.queue_depth >= previous.queue_depth
            assert t.kv_cache_usage >= previous.kv_cache_usage
        previous = t


@pytest.mark.parametrize(
    "args, message",
    [
        ((4_000, 8_192), "hold no request of 8192 tokens"),
        ((0, 8_192), "kv_tokens must be a positive integer"),
        ((8_192, 0), "max_model_len must be a positive integer"),
        ((8_192, 1_024, 0), "max_num_seqs must be a positive integer"),
        ((True, 1), "kv_tokens must be a positive integer"),
        ((8_192.0, 1_024), "kv_tokens must be a positive integer"),
    ],
)
def test_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        derive_targets(*args)


@pytest.mark.parametrize(
    "memory, name, expected",
    [
        (22.05, "l4", 256),
        (79.25, "a100-80gb", 256),
        (39.5, "a100-40gb", 256),
        (79.11, "h100-80gb", 1024),
        (139.8, "h200-141gb", 1024),
        (180, "b200", 1024),
        (14.75, "t4", 256),
    ],
)
def test_vllm_default_max_num_seqs(memory, name, expected):
    assert autoscaling.default_max_num_seqs(memory, name) == expected


def test_format_fraction():
    assert [autoscaling.format_fraction(v) for v in (0.5, 0.64, 0.85, 0.8, 1.0)] == [
        "0.5",
        "0.64",
        "0.85",
        "0.8",
        "1",
    ]


# -- the hand-written overlays carry the derived values ------------------------------------------


def _overlay_sizing(overlay: Path):
    """serve.yaml and the sizing of ONE replica: a pod, or a multi-node group whose
    pipeline stages (pipeline-parallel-size, one per node) share one KV cache size."""
    serve = yaml.safe_load((overlay / "serve.yaml").read_text())
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    gpu = next(c.rsplit("/gpu-", 1)[1] for c in kustomization["components"] if "/gpu-" in c)
    model = catalog.resolve_model(serve["model"], None, None)
    s = sizing.size(
        model,
        catalog.get_gpu(gpu),
        serve.get("tensor-parallel-size", 1),
        serve.get("quantization"),
        serve.get("kv-cache-dtype", "auto"),
        serve.get("gpu-memory-utilization", sizing.DEFAULT_GPU_MEMORY_UTILIZATION),
        pp=serve.get("pipeline-parallel-size", 1),
    )
    return serve, s


@pytest.fixture(scope="module", params=overlay_names())
def overlay(request):
    path = REPO_ROOT / "overlays" / request.param
    result = render.render(path)
    assert result.ok, result.error
    docs = [d for d in yaml.safe_load_all(result.text) if d]
    return path, docs


def test_overlay_thresholds_are_derived_from_its_sizing(overlay):
    path, docs = overlay
    serve, s = _overlay_sizing(path)
    expected = derive_targets(
        s.kv_tokens,
        serve["max-model-len"],
        serve.get("max-num-seqs") or autoscaling.default_max_num_seqs(s.gpu.memory_gib, s.gpu.name),
    )
    scaled = next(d for d in docs if d["kind"] == "ScaledObject")
    got = {t["name"]: t["metadata"]["threshold"] for t in scaled["spec"]["triggers"]}
    assert got == expected.thresholds(), path.name


def test_overlay_scales_on_queue_and_kv_cache_not_throughput(overlay):
    _, docs = overlay
    scaled = next(d for d in docs if d["kind"] == "ScaledObject")
    triggers = {t["name"]: t for t in scaled["spec"]["triggers"]}
    assert set(triggers) == {"queue-depth", "kv-cache-usage"}
    for name, metric in (
        ("queue-depth", "vllm:num_requests_waiting{"),
        ("kv-cache-usage", "vllm:kv_cache_usage_perc{"),
    ):
        trigger = triggers[name]
        assert trigger["type"] == "prometheus"
        # AverageValue (KEDA's default) over a SUM: the threshold is per replica.
        assert trigger.get("metricType", "AverageValue") == "AverageValue"
        assert trigger["metadata"]["query"].startswith("sum(" + metric), trigger
    assert "request_success" not in yaml.safe_dump(scaled)


def test_serve_yaml_comments_state_the_sizing(overlay):
    path, _ = overlay
    serve, s = _overlay_sizing(path)
    text = (path / "serve.yaml").read_text()
    length = serve["max-model-len"]
    for figure in (
        f"{s.gpu.memory_gib:g} GiB",
        f"{sizing.gib(s.budget_bytes_per_gpu):.2f} GiB",
        f"{sizing.gib(s.kv_cache_bytes_per_gpu):.2f} GiB of KV cache",
        f"{s.kv_tokens:,} tokens",
        f"{s.concurrency(length):.2f} requests of {length} tokens",
    ):
        assert figure in text.replace("\n# ", " "), f"{path.name}/serve.yaml lacks {figure!r}"
    # Room for MIN_CONCURRENCY full-length requests, as the sizing requires of new overlays.
    assert s.holds(length, sizing.MIN_CONCURRENCY), path.name
