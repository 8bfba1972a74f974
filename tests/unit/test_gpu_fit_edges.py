"""gpu-fit at its edges: the borderline band, a fit with little to spare, and the class a pod
that may land on several GPU classes is judged on.

Llama-3.1-8B-Instruct on one L4, worked by hand (docs/reference/vllm.md §4.1-4.4):
budget 0.92 x 22.05 GiB = 20.286 GiB; weights 14.9575 GiB (tests/test_catalog_sizing.py checks
them against §4.3); overhead 2.5 GiB; so 2.8285 GiB are left for KV.  KV per token:
2 x 32 layers x 8 KV heads x 128 x 2 B = 128 KiB, i.e. 8192 tokens per GiB.  The borderline
band is 10% of the budget: 2.0286 GiB.
"""

from __future__ import annotations

import pytest

from llmfleet.model import OverlayModel
from llmfleet.pipeline.builtin_checks import RULE_CRASHED
from llmfleet.pipeline.lint.engine import RuleSet, lint_model
from llmfleet.pipeline.manifests import load_text

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"


def deployment(args: list[str], scheduling: str, gpus: int = 1) -> str:
    quoted = ", ".join(f'"{a}"' for a in args)
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: m, namespace: inference}}
spec:
  selector: {{matchLabels: {{app: m}}}}
  template:
    metadata: {{labels: {{app: m}}}}
    spec:
      {scheduling}
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.33.0
          args: [{quoted}]
          resources:
            requests: {{nvidia.com/gpu: {gpus}}}
            limits: {{nvidia.com/gpu: {gpus}}}
"""


def on(gpu_class: str) -> str:
    return f"nodeSelector: {{llmfleet.io/gpu-class: {gpu_class}}}"


def on_any(*classes: str) -> str:
    values = ", ".join(classes)
    return (
        "affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: "
        f"[{{matchExpressions: [{{key: llmfleet.io/gpu-class, operator: In, values: [{values}]}}]}}]}}}}}}"
    )


def gpu_fit(text: str):
    resources, problems = load_text(text, "test.yaml")
    assert not problems, [p.message for p in problems]
    findings = lint_model(OverlayModel("", resources), RuleSet.configure())
    assert not [f for f in findings if f.rule == RULE_CRASHED], [f.message for f in findings]
    return [f for f in findings if f.rule == "gpu-fit"]


@pytest.mark.parametrize(
    ("length", "spare_gib"),
    [
        (20480, 0.3285),  # 2.5 GiB of KV: 0.33 GiB to spare
        (23000, 0.0209),  # 2.8076 GiB of KV: 0.02 GiB to spare
    ],
)
def test_a_fit_with_under_half_a_gib_to_spare_passes(length, spare_gib):
    assert gpu_fit(deployment([LLAMA_8B, "--max-model-len", str(length)], on("l4"))) == []


def test_just_past_the_budget_is_a_borderline_warning():
    # 24576 tokens = 3 GiB of KV: 0.1715 GiB short, well inside the 2.0286 GiB band.
    (finding,) = gpu_fit(deployment([LLAMA_8B, "--max-model-len", "24576"], on("l4")))
    assert finding.severity.value == "warning"
    assert "0.17 GiB short" in finding.message and "borderline" in finding.message


@pytest.mark.parametrize(
    ("length", "short", "severity"),
    [
        (39700, "2.02", "warning"),  # 4.8462 GiB of KV: 2.0177 GiB short < 2.0286
        (39850, "2.04", "error"),  # 4.8645 GiB of KV: 2.0360 GiB short > 2.0286
    ],
)
def test_the_borderline_band_ends_at_ten_percent_of_the_budget(length, short, severity):
    (finding,) = gpu_fit(deployment([LLAMA_8B, "--max-model-len", str(length)], on("l4")))
    assert finding.severity.value == severity
    assert f"{short} GiB short" in finding.message
    assert ("borderline" in finding.message) == (severity == "warning")
    assert "20.29 GiB" in finding.message  # 0.92 x 22.05


@pytest.mark.parametrize("order", [("l4", "h100-80gb"), ("h100-80gb", "l4")])
def test_a_pod_that_may_land_on_several_classes_is_judged_on_the_tightest(order):
    # 131072 tokens = 16 GiB of KV: fits an H100 (72.9 GiB budget), not an L4 (13.17 GiB short).
    (finding,) = gpu_fit(deployment([LLAMA_8B, "--max-model-len", "131072"], on_any(*order)))
    assert finding.severity.value == "error"
    assert "does not fit 1 x l4" in finding.message and "13.17 GiB short" in finding.message


def test_a_pod_whose_classes_all_fit_passes():
    assert gpu_fit(deployment([LLAMA_8B, "--max-model-len", "8192"], on_any("l4", "h100-80gb"))) == []
