"""gpu-toleration: a toleration key that is a near spelling of the GPU taint key (no "gpu" in
it) counts as misspelt; an unrelated key does not (issue 26, surviving mutants)."""

from __future__ import annotations

import pytest

from llmfleet.pipeline.lint.rules.gpu_toleration import misspelt

TABLE = [
    # (toleration key, misspelt)
    ("nvidia.com/gqu", True),  # one letter off, no "gpu" in it
    ("nvidia.com/GPU", True),
    ("nvidia.com/gpu", False),  # the key itself
    ("dedicated", False),
]


@pytest.mark.parametrize(("key", "expected"), TABLE, ids=[r[0] for r in TABLE])
def test_misspelt(key, expected):
    assert misspelt({"key": key, "operator": "Exists"}, "nvidia.com/gpu") is expected
