"""gpu-fit without a GPU class selected: the model's full default context on the smallest
catalog GPU class that holds the weights (a warning: the cluster's GPUs are not in the input)."""

from __future__ import annotations

import pytest

from rule_tables import findings, where

C0 = "/spec/template/spec/containers/0"


def pod(args: str, gpus: int = 1, selector: str = "") -> str:
    node_selector = f"\n      nodeSelector: {{{selector}}}" if selector else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: d, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: d}}}}
  template:
    metadata: {{labels: {{app: d}}}}
    spec:{node_selector}
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.33.0
          args: {args}
          resources: {{limits: {{nvidia.com/gpu: {gpus}}}}}
"""


LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
TABLE = [
    # (case, args, GPUs, node selector, expected (severity, pointer) or None)
    ("Llama-3.1-8B, full 131072 context, no GPU class", f"[{LLAMA}]", 1, "", ("warning", f"{C0}/args/0")),
    (
        "TP 2, still the full context",
        f"[{LLAMA}, --tensor-parallel-size, '2']",
        2,
        "",
        ("warning", f"{C0}/args/0"),
    ),
    ("a max-model-len that fits", f"[{LLAMA}, --max-model-len, '8192']", 1, "", None),
    ("a 4k-context model fits the smallest class", "[microsoft/Phi-3-mini-4k-instruct]", 1, "", None),
    ("a model outside the catalog: not judged", "[acme/Custom-8B]", 1, "", None),
    ("a max-model-len from an unresolved variable", f"[{LLAMA}, --max-model-len, $(LEN)]", 1, "", None),
    # With a GPU class selected the main check judges it (an error on an L4).
    ("GPU class selected", f"[{LLAMA}]", 1, "llmfleet.io/gpu-class: l4", ("error", f"{C0}/args/0")),
]


@pytest.mark.parametrize("args,gpus,selector,expected", [c[1:] for c in TABLE], ids=[c[0] for c in TABLE])
def test_gpu_fit_without_a_gpu_class(args, gpus, selector, expected):
    got = [(sev, ptr) for sev, _, _, ptr in where(findings("gpu-fit", pod(args, gpus, selector)))]
    assert got == ([expected] if expected else [])
