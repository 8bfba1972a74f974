"""The cold-load estimate (llmfleet.model.vllm.startup): 600 s + 6 s per GiB one node loads
above 15 GiB.  Every figure below is worked out by hand from that formula (1 GiB = 2**30 B)."""

from __future__ import annotations

import pytest

from llmfleet.model.vllm.startup import bytes_per_parameter, cold_load, cold_load_for


@pytest.mark.parametrize(
    ("gib", "seconds"),
    [
        (None, 600),  # size unknown: the floor
        (0.5, 600),  # below the floor: never less than 600 s
        (15.0, 600),  # exactly the floor
        (16.0, 606),  # one GiB above: + 6 s
        (25.0, 660),
        (15.4, 602),  # 600 + 2.4, rounded
        (15.6, 604),  # 600 + 3.6, rounded
    ],
)
def test_cold_load_for_a_size_per_node(gib, seconds):
    assert cold_load_for(gib).seconds == seconds


def test_the_reason_shows_the_arithmetic():
    assert cold_load_for(25.0, "m").why == "m: 25 GiB of weights per node: 600 s + 6 s × 10 GiB above 15 GiB"
    assert cold_load_for(None).why == "model size unknown: the 10-minute floor"


@pytest.mark.parametrize(
    ("model_id", "quantization", "nodes", "seconds"),
    [
        # 70e9 x 2 B = 130.385 GiB: 600 + 6 x 115.385 = 1292.3 -> 1292 s (about 22 minutes)
        ("acme/Foo-70B", None, 1, 1292),
        # the same on two nodes: 65.193 GiB each: 600 + 6 x 50.193 = 901.2 -> 901 s
        ("acme/Foo-70B", None, 2, 901),
        # FP8 by name: one byte a parameter, 65.193 GiB -> 901 s
        ("acme/Foo-70B-FP8", None, 1, 901),
        # AWQ by --quantization: half a byte, 32.596 GiB: 600 + 6 x 17.596 = 705.6 -> 706 s
        ("acme/Foo-70B", "awq", 1, 706),
        # 8 B in bf16 = 14.9 GiB: under the floor
        ("acme/Foo-8B", None, 1, 600),
        # no size in the name: the floor
        ("acme/Mystery", None, 1, 600),
        # zero nodes is read as one
        ("acme/Foo-70B", None, 0, 1292),
    ],
)
def test_cold_load_of_a_model_id(model_id, quantization, nodes, seconds):
    assert cold_load(model_id, quantization, nodes).seconds == seconds


def test_cold_load_label_names_the_nodes_only_when_several():
    assert "on 2 nodes" in cold_load("acme/Foo-70B", nodes=2).why
    assert "nodes" not in cold_load("acme/Foo-70B").why.split(":")[0]


@pytest.mark.parametrize(
    ("model_id", "quantization", "expected"),
    [
        ("acme/Foo-70B", None, 2.0),
        ("acme/Foo-70B", "FP8", 1.0),  # the method wins, case-insensitively
        ("acme/Foo-70B-AWQ", None, 0.5),
        ("acme/Foo-70B-4bit", None, 0.5),
        ("acme/Foo-70B-Int8", None, 1.0),
        ("acme/Foo-70B-AWQ", "fp8", 1.0),  # the method, not the name
        ("acme/Foo-70B-AWQ", "unknown-method", 0.5),  # an unknown method: the name decides
        ("acme/awqward-70B", None, 2.0),  # "awq" inside a word is not a hint
        ("awq/Foo-70B", None, 2.0),  # only the model name counts, not the organisation
    ],
)
def test_bytes_per_parameter(model_id, quantization, expected):
    assert bytes_per_parameter(model_id, quantization) == expected


def test_bytes_per_parameter_falls_back_to_the_dtype():
    assert bytes_per_parameter("acme/Foo-7B", None, dtype_bytes=4.0) == 4.0
