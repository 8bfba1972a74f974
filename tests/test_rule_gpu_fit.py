"""Lint rule gpu-fit: weights + one max-model-len sequence of KV must fit the GPU budget."""

from __future__ import annotations

import pytest

from llmfleet.model import OverlayModel
from llmfleet.pipeline.builtin_checks import RULE_CRASHED
from llmfleet.pipeline.lint.engine import RuleSet, lint_model
from llmfleet.pipeline.lint.registry import get_rule
from llmfleet.pipeline.lint.rules.gpu_fit import parse_len
from llmfleet.pipeline.manifests import load_text


def deployment(args: list[str], gpu_class: str = "l4", gpus: int = 1, name: str = "m") -> str:
    quoted = ", ".join(f'"{a}"' for a in args)
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: inference}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      nodeSelector: {{llmfleet.io/gpu-class: {gpu_class}}}
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.33.0
          args: [{quoted}]
          resources:
            requests: {{nvidia.com/gpu: {gpus}}}
            limits: {{nvidia.com/gpu: {gpus}}}
"""


def gpu_fit(text: str):
    resources, problems = load_text(text, "test.yaml")
    assert not problems, [p.message for p in problems]
    findings = lint_model(OverlayModel("", resources), RuleSet.configure())
    assert not [f for f in findings if f.rule == RULE_CRASHED], [f.message for f in findings]
    return [f for f in findings if f.rule == "gpu-fit"]


def test_good_small_manifest():
    # Llama-3.1-8B on one L4 at 16384: 14.96 + 2.5 + 2.0 = 19.46 GiB <= 20.29 GiB.
    assert gpu_fit(deployment(["meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "16384"])) == []


def test_bad_small_manifest():
    # The model's default 131072 tokens need 16 GiB of KV: 13.17 GiB over the L4 budget.
    findings = gpu_fit(deployment(["meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "131072"]))
    assert len(findings) == 1
    f = findings[0]
    assert (f.rule, f.severity.value, f.kind, f.name) == ("gpu-fit", "error", "Deployment", "m")
    assert f.path == "/spec/template/spec/containers/0/args/1"  # the --max-model-len option
    assert f.message == (
        "meta-llama/Llama-3.1-8B-Instruct does not fit 1 x l4 with max-model-len 131072: per GPU "
        "14.96 GiB weights + 2.50 GiB overhead + 16.00 GiB KV for one sequence = 33.46 GiB > "
        "0.92 x 22.05 GiB = 20.29 GiB; 13.17 GiB short (docs/reference/vllm.md §4); vLLM would refuse to start"
    )


def test_default_length_is_the_model_context():
    # No --max-model-len: vLLM uses max_position_embeddings (131072): the finding points at
    # the model argument.
    findings = gpu_fit(deployment(["meta-llama/Llama-3.1-8B-Instruct"]))
    assert [f.path for f in findings] == ["/spec/template/spec/containers/0/args/0"]


def test_tensor_parallel_70b():
    good = deployment(
        ["meta-llama/Llama-3.1-70B-Instruct", "--tensor-parallel-size", "4", "--max-model-len", "65536"],
        gpu_class="a100-80gb",
        gpus=4,
    )
    assert gpu_fit(good) == []
    bad = deployment(
        ["meta-llama/Llama-3.1-70B-Instruct", "--tensor-parallel-size", "2", "--max-model-len", "65536"],
        gpu_class="a100-80gb",
        gpus=2,
    )
    findings = gpu_fit(bad)
    assert [f.path for f in findings] == ["/spec/template/spec/containers/0/args/3"]
    assert "does not fit 2 x a100-80gb" in findings[0].message


def leaderworkerset(pp: int, util: str) -> str:
    """A two-node group of 8 x H100 per pod serving the 405B FP8 checkpoint."""

    def template(extra: str) -> str:
        return f"""
      spec:
        nodeSelector: {{llmfleet.io/gpu-class: h100-80gb}}
        containers:
          - name: vllm
            image: vllm/vllm-openai:v0.33.0
            args: [meta-llama/Llama-3.1-405B-Instruct-FP8, --tensor-parallel-size, "8",
                   --pipeline-parallel-size, "{pp}", --max-model-len, "131072",
                   --gpu-memory-utilization, "{util}", --nnodes, "2"{extra}]
            resources:
              requests: {{nvidia.com/gpu: 8}}
              limits: {{nvidia.com/gpu: 8}}"""

    return f"""
apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {{name: g, namespace: inference}}
spec:
  leaderWorkerTemplate:
    size: 2
    leaderTemplate:{template(', --node-rank, "0"')}
    workerTemplate:{template(', --node-rank, "1", --headless')}
"""


def test_pipeline_stages_of_a_multinode_group():
    """The heaviest stage is what must fit: 405B FP8 at TP 8 x PP 2 holds one 131072-token
    sequence in 0.55 x 79.11 GiB (23.87 GiB of weights per GPU), at PP 1 it does not
    (47.74 GiB); the headless worker is not reported on its own."""
    assert gpu_fit(leaderworkerset(2, "0.55")) == []
    findings = gpu_fit(leaderworkerset(1, "0.55"))
    assert [(f.kind, f.path) for f in findings] == [
        ("LeaderWorkerSet", "/spec/leaderWorkerTemplate/leaderTemplate/spec/containers/0/args/5")
    ]  # the option
    assert findings[0].message.startswith(
        "meta-llama/Llama-3.1-405B-Instruct-FP8 does not fit 8 x h100-80gb with max-model-len "
        "131072: per GPU 47.74 GiB weights + 3.00 GiB overhead + 7.88 GiB KV for one sequence"
    )
    assert "x 2 pipeline stages" not in findings[0].message


def test_config_file_setting_is_the_finding_path():
    text = (
        deployment(["--config", "/etc/vllm/serve.yaml"]).replace(
            "          resources:",
            "          volumeMounts: [{name: cfg, mountPath: /etc/vllm}]\n          resources:",
        )
        + """      volumes: [{name: cfg, configMap: {name: serve}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: serve, namespace: inference}
data:
  serve.yaml: |
    model: Qwen/Qwen2.5-7B-Instruct
    max-model-len: 32768
    gpu-memory-utilization: 0.5
"""
    )
    findings = gpu_fit(text)
    assert [(f.kind, f.name, f.path) for f in findings] == [("ConfigMap", "serve", "/data/serve.yaml")]
    assert "> 0.5 x 22.05 GiB = 11.03 GiB" in findings[0].message


@pytest.mark.parametrize(
    "args, gpu_class",
    [
        (["acme/Custom-Chat", "--max-model-len", "131072"], "l4"),  # size unknown
        (["meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "131072"], "v100"),  # unknown GPU
        (["meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "auto"], "l4"),  # vLLM fits it
        (["meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "16k"], "l4"),  # 16000 fits
        (["meta-llama/Llama-3.1-8B-Instruct", "--quantization", "fp8", "--max-model-len", "32768"], "l4"),
        (["meta-llama/Llama-3.1-8B-Instruct", "--kv-cache-dtype", "fp8", "--max-model-len", "32768"], "l4"),
    ],
)
def test_silent(args, gpu_class):
    assert gpu_fit(deployment(args, gpu_class=gpu_class)) == []


def test_parse_len():
    assert parse_len("16384") == 16384 and parse_len(8192) == 8192
    assert parse_len("16k") == 16000 and parse_len("16K") == 16384 and parse_len("25.6k") == 25600
    assert parse_len("auto") is None and parse_len("-1") is None and parse_len(-1) is None


def test_rule_is_registered_and_documented():
    r = get_rule("gpu-fit")
    assert r.severity.value == "error" and r.scope == "input"
    doc = r.doc.lower()
    assert "passing" in doc and "failing" in doc and "docs/reference/vllm.md §4" in r.rationale


def test_a_model_outside_the_catalog_is_sized_from_its_name():
    # 70 B parameters in bf16 are 130 GiB: more than one L4 holds, whatever the length
    [finding] = gpu_fit(deployment(["acme/Custom-70B-Chat"]))
    assert finding.severity.value == "error" and finding.path.endswith("/args/0")
    assert "≈ 70 B parameters by its name" in finding.message and "does not fit 1 x l4" in finding.message
    # the same model quantized (AWQ, by its name) on 4 × A100: fits
    assert (
        gpu_fit(
            deployment(
                ["acme/Custom-70B-Chat-AWQ", "--tensor-parallel-size", "4"], gpu_class="a100-80gb", gpus=4
            )
        )
        == []
    )
    # a mixture of experts counts every expert: 235 B in FP8 on 8 × H100 fits, on 2 does not
    assert gpu_fit(deployment(["Qwen/Qwen3-235B-A22B-FP8", "-tp", "8"], gpu_class="h100-80gb", gpus=8)) == []
    [moe] = gpu_fit(deployment(["Qwen/Qwen3-235B-A22B-FP8", "-tp", "2"], gpu_class="h100-80gb", gpus=2))
    assert "≈ 235 B parameters" in moe.message


def test_no_room_for_one_sequence_is_a_warning_for_an_estimate():
    # 13 B in bf16 leave ~2 GiB of a 40 GB A100 ... on an L4 nothing: 13 B x 2 = 24 GiB > 20.3
    text = deployment(["acme/Custom-7B-Chat", "--max-model-len", "1000000"], gpu_class="l4")
    [finding] = gpu_fit(text)
    assert finding.severity.value == "warning" and finding.path.endswith("/args/1")  # the option
    assert "an estimate" in finding.message
    assert gpu_fit(deployment(["acme/Custom-7B-Chat", "--max-model-len", "8192"], gpu_class="l4")) == []


# -- dtypes vLLM 0.33 refuses or falls back on (docs/reference/vllm-versions.md §6) ----------------


def test_float16_for_gemma2_is_refused_whatever_the_memory():
    findings = gpu_fit(
        deployment(["google/gemma-2-9b-it", "--dtype", "half", "--max-model-len", "4096"], "a100-80gb")
    )
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.value == "error" and f.path == "/spec/template/spec/containers/0/args/1"  # --dtype
    assert (
        "google/gemma-2-9b-it with --dtype half on a100-80gb: vLLM 0.33 refuses float16 for model "
        "type 'gemma2' (vllm/config/model.py _FLOAT16_NOT_SUPPORTED_MODELS" in f.message
    )


def test_bfloat16_on_a_t4_is_refused():
    findings = gpu_fit(deployment(["microsoft/Phi-3-mini-4k-instruct", "--dtype", "bfloat16"], "t4"))
    assert len(findings) == 1 and "t4 (Turing, compute capability 7.5) has no bfloat16" in findings[0].message


def test_auto_on_a_t4_falls_back_to_float32_and_is_sized_so():
    # Gemma 2 on one T4: float32 weights are 34.4 GiB, far over the 13.6 GiB budget.
    findings = gpu_fit(deployment(["google/gemma-2-9b-it", "--max-model-len", "4096"], "t4"))
    assert len(findings) == 1 and findings[0].severity.value == "error"
    assert "34.43 GiB weights in float32 (dtype auto on t4:" in findings[0].message
    # On four T4 it fits in float32; the fallback is still worth a warning.
    fits = gpu_fit(
        deployment(
            ["google/gemma-2-9b-it", "--max-model-len", "4096", "--tensor-parallel-size", "4"], "t4", gpus=4
        )
    )
    assert len(fits) == 1 and fits[0].severity.value == "warning"
    assert "runs in float32 on t4" in fits[0].message and "8.61 GiB of weights per GPU" in fits[0].message
    # The same model with bf16 on an L4: no finding.
    assert (
        gpu_fit(
            deployment(
                ["google/gemma-2-9b-it", "--max-model-len", "4096", "--tensor-parallel-size", "2"],
                "l4",
                gpus=2,
            )
        )
        == []
    )


def test_a_model_outside_the_catalog_is_recognised_by_its_name():
    findings = gpu_fit(deployment(["google/gemma-2-27b-it", "--dtype", "float16"], "h100-80gb"))
    assert len(findings) == 1
    assert (
        "google/gemma-2-27b-it (gemma2 by its name) with --dtype float16 on h100-80gb" in findings[0].message
    )
    # gemma-2b is Gemma 1, which vLLM serves in float16.
    assert [
        f
        for f in gpu_fit(deployment(["google/gemma-2b-it", "--dtype", "half"], "t4"))
        if "float16" in f.message
    ] == []
