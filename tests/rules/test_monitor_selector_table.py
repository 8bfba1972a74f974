"""monitor-selector, edge by edge: a PodMonitor must select a pod template of the input (in
its namespaceSelector's namespaces, its own by default) and scrape a port name a container
declares; a ServiceMonitor the same with Services and their port names."""

from __future__ import annotations

import pytest

from rule_tables import findings, where

PODS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: m, namespace: llm}
spec:
  selector: {matchLabels: {app: m}}
  template:
    metadata: {labels: {app: m}}
    spec:
      containers: [{name: vllm, image: vllm/vllm-openai:v0.33.0, args: [m], ports: [{name: http, containerPort: 8000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: m, namespace: llm, labels: {app: m}}
spec: {selector: {app: m}, ports: [{name: web, port: 8000}]}
"""


def pod_monitor(spec: str, namespace: str = "llm") -> str:
    return f"---\napiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {{name: pm, namespace: {namespace}}}\nspec: {spec}\n"


def service_monitor(spec: str) -> str:
    return f"---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {{name: sm, namespace: llm}}\nspec: {spec}\n"


TABLE = [
    # (case, monitor, expected (kind, name, pointer) list)
    (
        "PodMonitor: labels and port match",
        pod_monitor("{selector: {matchLabels: {app: m}}, podMetricsEndpoints: [{port: http}]}"),
        [],
    ),
    (
        "PodMonitor: no pod has the labels",
        pod_monitor("{selector: {matchLabels: {app: x}}, podMetricsEndpoints: [{port: http}]}"),
        [("PodMonitor", "pm", "/spec/selector")],
    ),
    (
        "PodMonitor: a port the container does not name",
        pod_monitor(
            "{selector: {matchLabels: {app: m}}, podMetricsEndpoints: [{port: http}, {port: metrics}]}"
        ),
        [("PodMonitor", "pm", "/spec/podMetricsEndpoints/1/port")],
    ),
    (
        "PodMonitor: an empty selector selects every pod",
        pod_monitor("{selector: {}, podMetricsEndpoints: [{port: http}]}"),
        [],
    ),
    (
        "PodMonitor in another namespace, no namespaceSelector",
        pod_monitor("{selector: {matchLabels: {app: m}}, podMetricsEndpoints: [{port: http}]}", "monitoring"),
        [("PodMonitor", "pm", "/spec/selector")],
    ),
    (
        "PodMonitor in another namespace, namespaceSelector names llm",
        pod_monitor(
            "{selector: {matchLabels: {app: m}}, namespaceSelector: {matchNames: [llm]}, podMetricsEndpoints: [{port: http}]}",
            "monitoring",
        ),
        [],
    ),
    (
        "ServiceMonitor: labels and port match",
        service_monitor("{selector: {matchLabels: {app: m}}, endpoints: [{port: web}]}"),
        [],
    ),
    (
        "ServiceMonitor: the container's port name is not the Service's",
        service_monitor("{selector: {matchLabels: {app: m}}, endpoints: [{port: http}]}"),
        [("ServiceMonitor", "sm", "/spec/endpoints/0/port")],
    ),
    (
        "ServiceMonitor: no Service has the labels",
        service_monitor("{selector: {matchLabels: {app: x}}, endpoints: [{port: web}]}"),
        [("ServiceMonitor", "sm", "/spec/selector")],
    ),
]


@pytest.mark.parametrize(("case", "monitor", "expected"), TABLE, ids=[r[0] for r in TABLE])
def test_monitor_selector_table(case, monitor, expected):
    assert where(findings("monitor-selector", PODS + monitor)) == sorted(("error", *e) for e in expected)


def test_the_message_lists_the_declared_port_names():
    monitor = pod_monitor("{selector: {matchLabels: {app: m}}, podMetricsEndpoints: [{port: metrics}]}")
    (row,) = findings("monitor-selector", PODS + monitor)
    assert row[4] == "port 'metrics' is not a container port name of the selected pods (http)"


def test_a_lone_monitor_file_is_not_judged_but_one_beside_workloads_is():
    monitor = pod_monitor("{selector: {matchLabels: {app: other}}, podMetricsEndpoints: [{port: http}]}")
    assert findings("monitor-selector", monitor) == []  # its pods are deployed from elsewhere
    assert where(findings("monitor-selector", PODS + monitor)) == [
        ("error", "PodMonitor", "pm", "/spec/selector")
    ]
