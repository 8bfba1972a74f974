"""alert-namespace, edge by edge: a PrometheusRule in the namespace of a model's pods that
filters on another namespace with ``namespace="X"`` watches series that are not the model's.
Only the equality matcher names one namespace; regexes and negations are not judged."""

from __future__ import annotations

import pytest

from rule_tables import findings, where


def manifest(expr: str, rule_namespace: str = "llm") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: m, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: m}}}}
  template:
    metadata: {{labels: {{app: m}}}}
    spec:
      containers: [{{name: vllm, image: "vllm/vllm-openai:v0.33.0", args: [org/m]}}]
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {{name: r, namespace: {rule_namespace}}}
spec:
  groups:
    - name: g
      rules:
        - {{alert: Queue, expr: '{expr}'}}
"""


W = "vllm:num_requests_waiting"
TABLE = [
    ("the model's namespace", f'sum({W}{{namespace="llm"}}) > 10', "llm", False),
    ("another namespace", f'sum({W}{{namespace="inference"}}) > 10', "llm", True),
    (
        "another namespace on the right-hand side",
        f'sum({W}{{namespace="llm"}}) > sum({W}{{namespace="other"}})',
        "llm",
        True,
    ),
    ("no namespace matcher", f"sum({W}) > 10", "llm", False),
    ("a regex is not judged", f'sum({W}{{namespace=~"inf.*"}}) > 10', "llm", False),
    ("a negation is not judged", f'sum({W}{{namespace!="inference"}}) > 10', "llm", False),
    ("a rule outside the model's namespace", f'sum({W}{{namespace="inference"}}) > 10', "monitoring", False),
    (
        "a query that does not parse is promql-syntax's",
        f'sum({W}{{namespace="inference"}} > 10',
        "llm",
        False,
    ),
]


@pytest.mark.parametrize(("case", "expr", "namespace", "reported"), TABLE, ids=[r[0] for r in TABLE])
def test_alert_namespace_table(case, expr, namespace, reported):
    found = findings("alert-namespace", manifest(expr, namespace))
    expected = [("error", "PrometheusRule", "r", "/spec/groups/0/rules/0/expr")] if reported else []
    assert where(found) == expected


def test_the_message_names_the_rule_and_both_namespaces():
    (row,) = findings("alert-namespace", manifest(f'sum({W}{{namespace="inference"}}) > 10'))
    assert row[4] == (
        "rule Queue filters on namespace 'inference', but it and the model run in 'llm': "
        "it watches series that are not this model's"
    )
