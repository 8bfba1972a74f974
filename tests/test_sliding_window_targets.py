"""A model whose local layers keep only their window (Gemma 3) on a GPU chosen by hand: the
autoscaling targets count the KV a request really takes, instead of stopping new-model with
an internal error (regression: 'tokens of KV cache hold no request of 65536 tokens')."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from llmfleet.features.scaffold import plan, prepare
from llmfleet.model import autoscaling

REPO = Path(__file__).resolve().parents[1]
GEMMA3 = REPO / "tests/data/hf_configs/google--gemma-3-27b-it.json"


@pytest.mark.parametrize("gpu", ["l4", "a100-80gb", "h100-80gb"])
def test_gemma3_targets_count_the_sliding_window(tmp_path, monkeypatch, gpu):
    monkeypatch.setattr(prepare, "name_limit", lambda sc, root, overlays_dir=None: (plan.MAX_NAME, ""))
    (tmp_path / "overlays").mkdir()
    options = plan.NewModelOptions(model_id="google/gemma-3-27b-it", gpu=gpu, config_json=str(GEMMA3))
    sc = prepare.prepare(options, tmp_path / "overlays", REPO)
    s = sc.plan.sizing
    length = sc.plan.max_model_len
    assert s.kv_tokens < length, "the case this guards: fewer KV tokens than one full-context request"
    assert sc.plan.concurrency >= 1
    patch = yaml.safe_load(sc.files["patch-autoscaling-targets.yaml"])
    queue = next(op["value"] for op in patch if op["path"] == "/spec/triggers/0/metadata/threshold")
    # The queue target is the requests a replica holds at once, counted with what a request's
    # KV really takes: global layers the whole context, local layers their window.
    per_request = math.ceil(s.kv_bytes_per_sequence_per_gpu(length) / s.kv_bytes_per_token_per_gpu)
    assert per_request < length
    held = s.kv_tokens / per_request
    cap = autoscaling.default_max_num_seqs(s.gpu.memory_gib, s.gpu.name)
    assert int(queue) == max(1, math.floor(min(held, cap)))
    assert "sliding-window layers keep their window" in sc.files["patch-autoscaling-targets.yaml"]
