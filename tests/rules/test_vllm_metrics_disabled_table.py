"""vllm-metrics-disabled, edge by edge: --disable-log-stats turns off every vllm: metric, which
matters only when something reads them -- a PodMonitor or ServiceMonitor that reaches the
pods, or a ScaledObject / PrometheusRule query on a vllm: metric."""

from __future__ import annotations

import pytest

from rule_tables import findings, where

C0 = "/spec/template/spec/containers/0"


def deployment(args: str) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: m, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: m}}}}
  template:
    metadata: {{labels: {{app: m}}}}
    spec:
      containers: [{{name: vllm, image: vllm/vllm-openai:v0.33.0, args: {args}, ports: [{{name: http, containerPort: 8000}}]}}]
"""


POD_MONITOR = """---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: pm, namespace: llm}
spec: {selector: {matchLabels: {app: %s}}, podMetricsEndpoints: [{port: http}]}
"""
SERVICE_MONITOR = """---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: llm, labels: {scrape: "yes"}}
spec: {selector: {app: m}, ports: [{name: http, port: 8000}]}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: sm, namespace: llm}
spec: {selector: {matchLabels: {scrape: "yes"}}, endpoints: [{port: http}]}
"""
SCALER = """---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: so, namespace: llm}
spec:
  scaleTargetRef: {name: m}
  triggers: [{type: prometheus, metadata: {serverAddress: "http://p:9090", threshold: "5", query: '%s'}}]
"""

TABLE = [
    # (case, args, beside, reported)
    ("a PodMonitor scrapes the pods", "[m, --disable-log-stats]", POD_MONITOR % "m", True),
    ("a PodMonitor of other pods", "[m, --disable-log-stats]", POD_MONITOR % "other", False),
    ("a ServiceMonitor through the Service", "[m, --disable-log-stats]", SERVICE_MONITOR, True),
    (
        "a ScaledObject on a vllm: metric",
        "[m, --disable-log-stats]",
        SCALER % "sum(vllm:num_requests_waiting)",
        True,
    ),
    (
        "a ScaledObject on another metric",
        "[m, --disable-log-stats]",
        SCALER % "sum(http_requests_total)",
        False,
    ),
    ("nothing reads the metrics", "[m, --disable-log-stats]", "", False),
    ("metrics on, a PodMonitor scrapes", "[m]", POD_MONITOR % "m", False),
    ("the negative flag leaves metrics on", "[m, --no-disable-log-stats]", POD_MONITOR % "m", False),
]


@pytest.mark.parametrize(("case", "args", "beside", "reported"), TABLE, ids=[r[0] for r in TABLE])
def test_vllm_metrics_disabled_table(case, args, beside, reported):
    found = findings("vllm-metrics-disabled", deployment(args) + beside)
    assert where(found) == ([("warning", "Deployment", "m", f"{C0}/args/1")] if reported else [])


def test_the_message_names_what_reads_the_metrics():
    (row,) = findings("vllm-metrics-disabled", deployment("[m, --disable-log-stats]") + POD_MONITOR % "m")
    assert "turns off every vllm: metric, but PodMonitor llm/pm rely on them" in row[4]
