"""promql-unknown-metric, edge by edge, against the exposed names of the vLLM metric catalog
(docs/reference/vllm.md §1): counters carry _total (and _created), histograms are only their
_bucket, _sum and _count (and _created) series, removed names point at their replacement, and
histogram_quantile needs the _bucket series."""

from __future__ import annotations

import pytest

from llmfleet.model.vllm import VLLM_VERSION
from rule_tables import findings

D = "vllm:e2e_request_latency_seconds"


def scaled(query: str) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: m, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: m}}}}
  template:
    metadata: {{labels: {{app: m}}}}
    spec: {{containers: [{{name: vllm, image: vllm/vllm-openai:v0.33.0, args: [m]}}]}}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: so, namespace: llm}}
spec:
  scaleTargetRef: {{name: m}}
  triggers: [{{type: prometheus, metadata: {{serverAddress: "http://p:9090", threshold: "5", query: '{query}'}}}}]
"""


TABLE = [
    # (case, query, part of the message or None)
    ("a gauge", "sum(vllm:num_requests_waiting)", None),
    ("a counter with _total", "sum(rate(vllm:request_success_total[1m]))", None),
    ("a counter's _created", "max(vllm:request_success_created)", None),
    ("a counter without _total", "sum(rate(vllm:request_success[1m]))", "use vllm:request_success_total"),
    ("a histogram's _bucket", f"sum(rate({D}_bucket[5m]))", None),
    ("a histogram's _count", f"sum(rate({D}_count[5m]))", None),
    ("a histogram by its base name", f"sum({D})", f"use {D}_bucket, {D}_sum or {D}_count"),
    (
        "a removed name",
        "sum(vllm:gpu_cache_usage_perc)",
        f"is not exported by vLLM {VLLM_VERSION}; use vllm:kv_cache_usage_perc",
    ),
    (
        "a removed name's series",
        "sum(rate(vllm:gpu_cache_usage_perc_total[1m]))",
        "use vllm:kv_cache_usage_perc",
    ),
    ("a connector family", "sum(vllm:nixl_anything)", None),
    ("an unknown name", "sum(vllm:made_up_metric)", f"is not a vLLM {VLLM_VERSION} metric"),
    ("not a vllm: metric", "sum(up)", None),
    (
        "histogram_quantile over _bucket",
        f"histogram_quantile(0.99, sum by (le) (rate({D}_bucket[5m])))",
        None,
    ),
    (
        "histogram_quantile over _sum",
        f"histogram_quantile(0.99, sum(rate({D}_sum[5m])))",
        f"histogram_quantile over {D}_sum, which is a histogram's sum series, not _bucket",
    ),
]


@pytest.mark.parametrize(("case", "query", "message"), TABLE, ids=[r[0] for r in TABLE])
def test_promql_unknown_metric_table(case, query, message):
    found = findings("promql-unknown-metric", scaled(query))
    if message is None:
        assert found == []
        return
    (row,) = found
    assert (row[0], row[1], row[2], row[3]) == (
        "error",
        "ScaledObject",
        "so",
        "/spec/triggers/0/metadata/query",
    )
    assert message in row[4]


def test_one_finding_per_name_however_often_it_is_used():
    found = findings(
        "promql-unknown-metric", scaled("sum(vllm:made_up) + sum(vllm:made_up) / sum(vllm:other_made_up)")
    )
    assert len(found) == 2


RELEASES = [
    # (case, image of the queried server or None for no server in the input, severity or None)
    ("the pinned release no longer exports it", "vllm/vllm-openai:v0.33.0", "error"),
    ("vLLM 0.8 still exports vllm:gpu_cache_usage_perc", "vllm/vllm-openai:v0.8.5", None),
    ("vLLM 0.11 hides it", "vllm/vllm-openai:v0.11.0", "error"),
    ("a release the image does not tell", "example.com/team/llm-server:2024-07", "warning"),
    ("no vLLM server in a foreign input", None, "warning"),
]


@pytest.mark.parametrize(("case", "image", "severity"), RELEASES, ids=[r[0] for r in RELEASES])
def test_a_removed_metric_is_judged_by_the_release_of_the_servers_it_queries(case, image, severity):
    text = scaled("sum(vllm:gpu_cache_usage_perc)")
    if image is None:
        text = text.split("---", 1)[1]
    else:
        text = text.replace("vllm/vllm-openai:v0.33.0", image)
        if not image.startswith("vllm/"):
            text = text.replace("args: [m]", "command: [vllm, serve], args: [m]")
    found = [(row[0], row[3]) for row in findings("promql-unknown-metric", text)]
    assert found == ([(severity, "/spec/triggers/0/metadata/query")] if severity else [])


def test_a_name_that_never_existed_is_an_error_without_any_server():
    text = scaled("sum(rate(vllm:request_latency_seconds_bucket[5m]))").split("---", 1)[1]
    assert [row[0] for row in findings("promql-unknown-metric", text)] == ["error"]
