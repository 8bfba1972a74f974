"""llmfleet.model.promql.parse_error (mutation-testing survivor, issue 26): the error a rule
shows for a scaler's query, or None when the query parses."""

from __future__ import annotations

import pytest

from llmfleet.model.promql import parse_error

# (query as found in the manifest, error shown)
QUERIES = [
    ("sum(rate(vllm:num_requests_waiting[5m]))", None),
    ("sum(rate(vllm:num_requests_waiting[5m])", "unclosed left parenthesis"),
    ("", "the query is empty"),
    (None, "the query is empty"),
    (42, "the query is empty"),
]


@pytest.mark.parametrize(("query", "error"), QUERIES)
def test_parse_error_of_a_query(query, error):
    assert parse_error(query) == error
