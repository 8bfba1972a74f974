"""KEDA fallback replicas by behavior (keda pkg/fallback: static, currentReplicas,
currentReplicasIfHigher, currentReplicasIfLower) and the dict the simulation reports
(issue 26, surviving mutants)."""

from __future__ import annotations

import pytest

from llmfleet.features.simulate.fallback import parse

TABLE = [
    # (behavior, current replicas, fallback replicas)
    ("static", 2, 6),
    ("currentReplicas", 2, 2),
    ("currentReplicasIfHigher", 2, 6),
    ("currentReplicasIfHigher", 8, 8),
    ("currentReplicasIfLower", 2, 2),
    ("currentReplicasIfLower", 8, 6),
]


@pytest.mark.parametrize(("behavior", "current", "expected"), TABLE)
def test_fallback_replicas(behavior, current, expected):
    fallback = parse({"failureThreshold": 3, "replicas": 6, "behavior": behavior})
    assert fallback is not None
    assert fallback.replicas_for(current) == expected
    assert fallback.to_dict() == {"failure_threshold": 3, "replicas": 6, "behavior": behavior}
