"""llmfleet.pipeline.redact pairs a container with its twin in the other version of an object
by name only (mutation-testing survivor, issue 26)."""

from __future__ import annotations

import pytest

from llmfleet.pipeline.redact import _find_twin

OTHER = {"spec": {"containers": [{"env": []}, {"name": "vllm", "env": [{"name": "A", "value": "1"}]}]}}

# (container, other object, twin expected)
TWINS = [
    ({"name": "vllm", "env": []}, OTHER, OTHER["spec"]["containers"][1]),
    ({"env": []}, OTHER, None),  # a nameless container has no twin, even beside a nameless one
    ({"name": "vllm", "env": []}, None, None),
    ({"name": "other", "env": []}, OTHER, None),
]


@pytest.mark.parametrize(("container", "other", "twin"), TWINS)
def test_find_twin_matches_by_name_only(container, other, twin):
    assert _find_twin(container, other) == twin
