"""Measured-capacity matching and parsing, and the diurnal trace (issue 26, surviving mutants)."""

from __future__ import annotations

import pytest

from llmfleet.features.simulate.capacity import Measured, _measured, matches
from llmfleet.features.simulate.traffic import diurnal

RAW = {
    "date": "2026-01-01",
    "vllm_version": "0.33.0",
    "gpu": "l4",
    "tp": 2,
    "pp": 1,
    "model": "Qwen/Qwen3-8B",
    "input_tokens": 512,
    "output_tokens": 128,
    "concurrency": 16,
    "output_tok_s": 900.0,
    "request_throughput": 7.0,
    "completed": 200,
    "source": "run.json sha256:0",
}


def test_ttft_p99_is_kept():
    measured = _measured({**RAW, "ttft_p99_ms": 850}, "capacity.yaml")
    assert measured is not None and measured.ttft_p99_ms == 850.0
    assert _measured(RAW, "capacity.yaml").ttft_p99_ms is None


SHAPES = [
    # (case, gpu, tp, pp, differs)
    ("same shape", "l4", 2, 1, False),
    ("other GPU", "a100", 2, 1, True),
    ("other tp", "l4", 1, 1, True),
    ("other pp only", "l4", 2, 2, True),
]


@pytest.mark.parametrize(("case", "gpu", "tp", "pp", "differs"), SHAPES, ids=[r[0] for r in SHAPES])
def test_matches_shape(case, gpu, tp, pp, differs):
    measured = Measured(**{**RAW, "input_tokens": 512.0, "output_tokens": 128.0})
    why = matches(measured, gpu, tp, pp, "Qwen/Qwen3-8B")
    if differs:
        assert (
            why == f"measured on 2 x l4 (tp 2, pp 1), the overlay runs {tp * pp} x {gpu} (tp {tp}, pp {pp})"
        )
    else:
        assert why is None


def test_diurnal_name_and_minute_steps():
    trace = diurnal(1.0, 5.0, duration_s=3600)
    assert trace.name == "diurnal 1..5 rps"
    assert [s.start_s for s in trace.segments[:3]] == [0.0, 60.0, 120.0]
    assert len(trace.segments) == 60
