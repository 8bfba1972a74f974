"""scaler-averaged-query: a KEDA query that is already an average must not be divided again.

KEDA's prometheus scaler exposes the query's value as an External metric whose target type is
``AverageValue`` unless ``metricType`` says otherwise; the HPA then divides the value by the
current replica count before comparing it with ``threshold`` (desired = ceil(value /
threshold)).  A query that already averages over the pods (``avg(...)``, ``sum(...) /
count(...)``) is divided twice: the desired count becomes the per-pod average over the
threshold, so a second replica is removed as soon as the load spreads over two, and the
fleet scales down while it is busy (docs/reference/cluster.md "KEDA prometheus trigger";
kedacore/keda pkg/scalers/prometheus_scaler.go, metricType default).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

AVERAGE_VALUE = "AverageValue"


def _unwrap(node: Any) -> Any:
    while type(node).__name__ == "ParenExpr":
        node = node.expr
    return node


def averaged(ast: Any) -> str:
    """How the query averages over series at its top ('' when it does not)."""
    node = _unwrap(ast)
    kind = type(node).__name__
    if kind == "AggregateExpr" and str(node.op) == "avg":
        return "avg(...)"
    if kind == "BinaryExpr" and str(node.op) == "/":
        lhs, rhs = _unwrap(node.lhs), _unwrap(node.rhs)
        if (
            type(lhs).__name__ == "AggregateExpr"
            and str(lhs.op) == "sum"
            and type(rhs).__name__ == "AggregateExpr"
            and str(rhs.op) == "count"
        ):
            return "sum(...) / count(...)"
    return ""


@rule(
    id="scaler-averaged-query",
    severity=Severity.ERROR,
    description="A ScaledObject prometheus trigger averages over pods in its query while its "
    "metricType is AverageValue (the default), so the HPA divides by the replica count twice",
    remediation="Query the total (sum(...)) and keep AverageValue with a per-replica threshold, "
    "or keep the average and set metricType: Value on the trigger.",
    rationale="Under AverageValue the HPA divides the metric by the current replicas; an average "
    "divided again makes the desired count the per-pod load over the threshold, and the "
    "fleet shrinks under load (docs/reference/cluster.md, KEDA prometheus trigger).",
    category="scaler",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        triggers: [{type: prometheus, metadata: {query: 'sum(vllm:num_requests_waiting{model_name="m"})', threshold: "5"}}]

    Passing (the average compared as a value)::

        triggers: [{type: prometheus, metricType: Value, metadata: {query: 'avg(DCGM_FI_DEV_GPU_UTIL)', threshold: "75"}}]

    Failing (``/spec/triggers/0/metadata/query``)::

        triggers: [{type: prometheus, metadata: {query: 'avg(DCGM_FI_DEV_GPU_UTIL)', threshold: "75"}}]
    """
    for scaler in model.scaled_objects:
        for trigger in scaler.triggers:
            query = trigger.query
            if query is None or not query.ok or trigger.metric_type != AVERAGE_VALUE:
                continue
            how = averaged(query.ast)
            if how:
                yield Problem(
                    scaler.resource,
                    f"{trigger.path}/metadata/query",
                    f"the query is already an average over pods ({how}) and metricType is "
                    f"{AVERAGE_VALUE}: the HPA divides it by the replica count again, so the "
                    "fleet scales down under load; query the total, or set metricType: Value",
                )
