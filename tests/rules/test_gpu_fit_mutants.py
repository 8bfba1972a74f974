"""gpu-fit on a model outside the catalog, sized from its id (issue 26, surviving mutants):
weights that cannot fit are an error that says vLLM refuses to start; the KV cache one
max-model-len sequence needs is at least tokens x parameters x the least KV bytes per token per
parameter of any catalogued model (16-bit KV), half that with an fp8 KV cache."""

from __future__ import annotations

import re

import pytest
from test_gpu_fit_unselected_table import C0, pod

from llmfleet.catalog import sizing
from rule_tables import findings

L4 = "llmfleet.io/gpu-class: l4"
GIB = 1024**3


def test_weights_that_cannot_fit_are_an_error():
    rows = findings("gpu-fit", pod("[acme/Custom-70B]", 1, L4))
    assert [r[:4] for r in rows] == [("error", "Deployment", "d", f"{C0}/args/0")]
    assert "acme/Custom-70B (≈ 70 B parameters by its name" in rows[0][4]
    assert rows[0][4].endswith("vLLM would refuse to start")


KV = [
    # (case, extra args, share of the 16-bit KV need)
    ("16-bit KV", "", 1.0),
    ("fp8 KV", ", --kv-cache-dtype, fp8", 0.5),
]


@pytest.mark.parametrize(("case", "extra", "share"), KV, ids=[r[0] for r in KV])
def test_one_sequence_kv_need(case, extra, share):
    length = 4_000_000
    rows = findings("gpu-fit", pod(f"[acme/Custom-8B, --max-model-len, '{length}'{extra}]", 1, L4))
    assert [r[:2] for r in rows] == [("warning", "Deployment")]
    need = re.search(r"less than the ≈ ([\d.]+) GiB one (\d+)-token sequence needs", rows[0][4])
    assert need is not None, rows[0][4]
    assert int(need.group(2)) == length
    expected = length * 8e9 * sizing.kv_per_param_lower_bound() * share / GIB
    assert float(need.group(1)) == pytest.approx(expected, abs=0.01)
