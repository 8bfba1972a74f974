"""Reading a `vllm bench serve --save-result` file (issue 26, surviving mutants): a
pretty-printed file is read like a one-line one, an appended file gives its last run, a file
that holds no object is named; the in-flight count prefers the most requests seen in flight,
and the request rate is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmfleet.features.simulate.bench_result import BenchResultError, parse

VLLM_033 = Path(__file__).resolve().parents[1] / "data" / "bench-results" / "vllm-0.33.0-plateau.json"


@pytest.fixture(scope="module")
def data() -> dict:
    return json.loads(VLLM_033.read_text(encoding="utf-8"))


def test_pretty_printed_and_appended_files(data):
    one_line = parse(json.dumps(data), "r.json")
    assert parse(json.dumps(data, indent=2), "r.json").completed == one_line.completed
    earlier = {**data, "completed": 7}
    appended = json.dumps(earlier) + "\n" + json.dumps(data) + "\n"
    assert parse(appended, "r.json").completed == one_line.completed


def test_a_pretty_printed_array_is_named():
    with pytest.raises(BenchResultError, match=r"r.json: must hold a JSON object, got list"):
        parse("[\n  1\n]\n", "r.json")


IN_FLIGHT = [
    # (fields set (no mean latency in the file), in flight, source)
    (
        {"max_concurrent_requests": 24, "max_concurrency": 32, "num_prompts": 100},
        24,
        "max_concurrent_requests",
    ),
    ({"max_concurrency": 32, "num_prompts": 100}, 32, "max_concurrency"),
    ({"num_prompts": 100}, 100, "num_prompts"),
]


@pytest.mark.parametrize(("fields", "expected", "source"), IN_FLIGHT)
def test_in_flight_fallbacks(data, fields, expected, source):
    base = {k: v for k, v in data.items() if k not in ("mean_e2el_ms", "mean_latency_ms", *fields)}
    base.update({"max_concurrent_requests": None, "max_concurrency": None, "num_prompts": None})
    result = parse(json.dumps({**base, **fields}), "r.json")
    assert (result.concurrency, result.concurrency_source) == (expected, source)


def test_request_rate_is_kept(data):
    assert parse(json.dumps({**data, "request_rate": 4.0}), "r.json").request_rate == "4.0"
    assert parse(json.dumps({**data, "request_rate": "inf"}), "r.json").request_rate == "inf"
