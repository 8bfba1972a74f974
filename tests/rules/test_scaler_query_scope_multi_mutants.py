"""scaler-query-scope's reason a KEDA query may return several series, and gpu-fit's reading of
vLLM's human-readable --max-model-len (issue 26, surviving mutants of list 2)."""

from __future__ import annotations

import pytest

from llmfleet.model.promql import parse_query
from llmfleet.pipeline.lint.rules.gpu_fit import parse_len
from llmfleet.pipeline.lint.rules.scaler_query_scope import multi_series

NOT_AGGREGATED = "it is not aggregated: it returns one series per pod (and engine)"
QUERIES = [
    # (query, reason or None)
    ("sum(vllm:num_requests_waiting)", None),
    ("vllm:num_requests_waiting + sum(vllm:num_requests_running)", NOT_AGGREGATED),
    ("sum(vllm:num_requests_running) + vllm:num_requests_waiting", NOT_AGGREGATED),
    ("sum by (pod) (vllm:num_requests_waiting)", "sum by (pod) returns one series per pod"),
    ("sum without (pod) (vllm:num_requests_waiting)", "sum can return several series"),
]


@pytest.mark.parametrize(("query", "reason"), QUERIES, ids=[r[0] for r in QUERIES])
def test_multi_series(query, reason):
    assert multi_series(parse_query(query)) == reason


LENGTHS = [
    ("16384", 16384),
    ("16k", 16000),
    ("16K", 16384),
    ("1m", 1_000_000),
    ("1M", 1_048_576),
    ("auto", None),
]


@pytest.mark.parametrize(("text", "tokens"), LENGTHS)
def test_parse_len(text, tokens):
    assert parse_len(text) == tokens
