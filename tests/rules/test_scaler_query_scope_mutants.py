"""scaler-query-scope's selector match (issue 26, surviving mutants): a ``=~`` matcher is a
full-string regex match as in Prometheus; a regex that does not compile selects nothing."""

from __future__ import annotations

import pytest

from llmfleet.model.promql import Selector
from llmfleet.pipeline.lint.rules.scaler_query_scope import selects

M = "model_name"
TABLE = [
    # (case, matchers, value, selected)
    ("equal", [(M, "=", "qwen")], "qwen", True),
    ("equal, other value", [(M, "=", "qwen")], "llama", False),
    ("regex, full match", [(M, "=~", "qw.*")], "qwen", True),
    ("regex matching a part only", [(M, "=~", "we")], "qwen", False),
    ("a regex that does not compile", [(M, "=~", "qwen(")], "qwen", False),
    ("another label only", [("pod", "=", "x")], "qwen", False),
]


@pytest.mark.parametrize(("case", "matchers", "value", "selected"), TABLE, ids=[r[0] for r in TABLE])
def test_selects(case, matchers, value, selected):
    assert selects(Selector("vllm:num_requests_running", matchers), M, value) is selected
