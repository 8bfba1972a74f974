"""Each rule's docstring examples (``Passing::`` / ``Failing (pointer)::`` + a YAML block,
published in docs/rules.md) are executed: the passing one gives the rule no finding, the
failing one a finding (at the pointer the heading names, when it names a whole one).

Most examples are fragments: container fields, pod spec fields or a whole object.  They are
placed in a vLLM Deployment as they read (:func:`manifest`); the examples that need more
context than a fragment can give are listed in NOT_EXECUTED with the reason, so a new rule's
examples are executed or explicitly named here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import yaml

from llmfleet.pipeline.lint.registry import all_rules
from rule_tables import findings, rules

IMAGE = "vllm/vllm-openai:v0.33.0"
CONTAINER_KEYS = {
    "image",
    "args",
    "command",
    "startupProbe",
    "livenessProbe",
    "readinessProbe",
    "resources",
    "env",
    "lifecycle",
    "volumeMounts",
    "ports",
}
POD_KEYS = {
    "containers",
    "hostIPC",
    "volumes",
    "terminationGracePeriodSeconds",
    "nodeSelector",
    "tolerations",
    "affinity",
    "securityContext",
    "initContainers",
}

#: Rules whose docstring examples are not run here, and why.
NOT_EXECUTED = {
    "alert-coverage": "no YAML example (a prose description of the alerts)",
    "fleet-duplicate-model": "a fleet rule: no YAML example",
    "fleet-quota": "a fleet rule: the example is prose (tests/rules/test_fleet_quota_table.py)",
    "fleet-rollout-gpus": "a fleet rule: needs two overlays and a quota",
    "gateway-backend-lifetime": "a fleet rule: no YAML example",
    "gateway-routes-stale": "a fleet rule on the routes file: no manifest example",
    "alert-namespace": "the example is a PrometheusRule fragment without its model's namespace",
    "promql-syntax": "the example is a query string, not an object",
    "promql-unknown-metric": "the example is a query string, not an object",
    "promtool-rules": "needs promtool's results, attached by the pipeline",
    "scaler-bounds": "ScaledObject fragments without their target workload",
    "scaler-query-scope": "ScaledObject fragments without their target workload",
    "vllm-config-false": "serve.yaml fragments without the ConfigMap and the --config argument",
    "vllm-metrics-disabled": "needs a monitor or a query beside the Deployment",
    "secret-literal": "fragments of several object kinds",
    "model-cache": "the failing case is prose",
    "pod-security": "the failing case lists several fields in prose",
    "gpu-node-shape": "needs the cluster's node shapes",
    "auth-exposed": "the passing case is prose; the failing Service needs the pods it selects",
    "scaler-replicas": "the failing Deployment needs the ScaledObject a comment mentions",
    "scaler-target": "the passing ScaledObject needs the Deployment a comment mentions",
    "monitor-selector": "the failing case is prose",
    "vllm-service-links": "the failing Service needs the pods of its namespace",
    "argocd-repo-placeholder": "an Argo CD Application's source, not a pod fragment (tests/rules/ fixtures)",
    "instance-parallelism": "a KAITO Workspace fragment (inference/resource), not a pod fragment",
    "scaler-averaged-query": "ScaledObject triggers without their target workload",
    "scaler-recreate": "the failing Deployment needs the ScaledObject that scales it above one replica",
    "service-reference": "the failing case needs a self-contained input without the Service it names",
    "vllm-config-unreadable": "a serve.yaml file, read through the ConfigMap the --config argument names",
    "volume-rwo-shared": "the failing Deployment needs the claim a comment describes "
    "(tests/rules/test_volume_rwo_shared_table.py)",
}
#: Rules whose failing case is prose (only the passing example runs).
PASSING_ONLY = {"shutdown-prestop"}
#: apiVersion of the kinds the examples name without one.
API_VERSIONS = {
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "Service": "v1",
    "ConfigMap": "v1",
    "ScaledObject": "keda.sh/v1alpha1",
}


@dataclass(frozen=True)
class Example:
    rule: str
    passing: bool
    pointer: str  # "" when the heading names none (or an abbreviated one)
    text: str


def examples(rule_id: str, doc: str) -> list[Example]:
    """Each ``Passing...::`` / ``Failing...::`` heading (which may wrap) and its block."""
    out = []
    lines = doc.splitlines()
    i = 0
    while i < len(lines):
        if not re.match(r"^(Passing|Failing)", lines[i]):
            i += 1
            continue
        heading = lines[i]
        while not heading.rstrip().endswith("::") and i + 1 < len(lines) and lines[i + 1].strip():
            i += 1
            heading += " " + lines[i].strip()
        i += 1
        if not heading.rstrip().endswith("::"):
            continue  # a prose case, no example
        block = []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
            block.append(lines[i])
            i += 1
        pointer = re.search(r"``(/[^`]+)``", heading)
        out.append(
            Example(
                rule_id, heading.startswith("Passing"), pointer.group(1) if pointer else "", _dedent(block)
            )
        )
    return out


def _dedent(block: list[str]) -> str:
    indent = min((len(b) - len(b.lstrip()) for b in block if b.strip()), default=0)
    return "\n".join(b[indent:] for b in block).strip() + "\n"


def _container(fields: dict) -> dict:
    return {"name": "vllm", "image": IMAGE, "args": ["meta-llama/Llama-3.1-8B-Instruct"], **fields}


def manifest(text: str) -> str:
    """The example as a whole input: objects completed with their apiVersion and a name,
    fragments (container fields, pod spec fields, or ``spec:`` of a pod) in a vLLM Deployment."""
    data = yaml.safe_load(text)
    if isinstance(data, dict) and "kind" in data:
        metadata = {"name": "m", "namespace": "llm", **(data.get("metadata") or {})}
        return yaml.safe_dump({"apiVersion": API_VERSIONS[data["kind"]], **data, "metadata": metadata})
    if isinstance(data, dict) and set(data) == {"spec"}:
        data = data["spec"]
    if not isinstance(data, dict):
        raise ValueError(f"cannot place {text!r}")
    if set(data) <= CONTAINER_KEYS:
        spec = {"containers": [_container(data)]}
    elif set(data) <= POD_KEYS:
        # A pod-level example without containers is about the GPU pod of the examples before it.
        containers = data.get("containers") or [{"resources": {"limits": {"nvidia.com/gpu": 1}}}]
        spec = {**data, "containers": [_container(c) for c in containers]}
    else:
        raise ValueError(f"cannot place fields {sorted(data)}")
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "m", "namespace": "llm"},
        "spec": {
            "selector": {"matchLabels": {"app": "m"}},
            "template": {"metadata": {"labels": {"app": "m"}}, "spec": spec},
        },
    }
    return yaml.safe_dump(deployment, sort_keys=False)


#: Rules that are off by default run here too.
OPT_IN = rules(enabled=("image-digest",))

EXECUTED = [
    example
    for rule in all_rules()
    if rule.id not in NOT_EXECUTED
    for example in examples(rule.id, rule.doc or "")
]


def test_every_rule_is_executed_or_named():
    executed = {e.rule for e in EXECUTED}
    rules = {r.id for r in all_rules()}
    assert executed | set(NOT_EXECUTED) == rules
    assert not executed & set(NOT_EXECUTED)
    # Each executed rule has a failing example that is YAML (a prose one is not run).
    for rule in executed:
        assert any(not e.passing for e in EXECUTED if e.rule == rule) or rule in PASSING_ONLY, rule


@pytest.mark.parametrize(
    "example",
    EXECUTED,
    ids=[f"{e.rule}-{'passing' if e.passing else 'failing'}-{i}" for i, e in enumerate(EXECUTED)],
)
def test_docstring_example(example):
    found = findings(example.rule, manifest(example.text), OPT_IN)
    if example.passing:
        assert found == [], found
        return
    assert found, f"{example.rule}: the failing example gives no finding"
    if example.pointer:
        assert example.pointer in {row[3] for row in found}, found
