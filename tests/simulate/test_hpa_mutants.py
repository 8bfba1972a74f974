"""HPA edges the mutation sample showed untested (issue 26): the Value-target proposal from zero
replicas (GetExternalMetricReplicas: ceil(usage / target) when the target has no pods) and the
legacy (no behavior) clamp's condition names (horizontal.go convertDesiredReplicasWithRules:
TooFewReplicas / TooManyReplicas / ScaleUpLimit)."""

from __future__ import annotations

import pytest
from test_sim_hpa import spec

from llmfleet.features.simulate.hpa import HorizontalController, value_replicas

FROM_ZERO = [
    # (usage, target, proposal)
    (250.0, 100.0, 3),
    (100.0, 100.0, 1),
    (0.0, 100.0, 0),
]


@pytest.mark.parametrize(("usage", "target", "expected"), FROM_ZERO)
def test_value_proposal_from_zero_replicas(usage, target, expected):
    assert value_replicas(usage, target, current_replicas=0, ready_pods=0) == expected


LEGACY = [
    # (case, min, max, current, queue value (target 5 per pod), desired, reason suffix)
    ("below minReplicas", 3, 10, 5, 0.0, 3, "(TooFewReplicas)"),
    ("above maxReplicas", 1, 4, 4, 100.0, 4, "(TooManyReplicas)"),
    ("above the scale-up limit", 1, 20, 2, 100.0, 4, "(ScaleUpLimit)"),
]


@pytest.mark.parametrize(
    ("case", "lo", "hi", "current", "value", "desired", "reason"), LEGACY, ids=[r[0] for r in LEGACY]
)
def test_legacy_clamp_reason(case, lo, hi, current, value, desired, reason):
    hpa = HorizontalController(spec(None, min_replicas=lo, max_replicas=hi))
    hpa.reconcile(0, current, current, current, [value])
    # 400 s on: past the legacy 5-minute scale-down stabilization window
    decision = hpa.reconcile(400, current, current, current, [value])
    assert decision.desired == desired
    assert decision.reason.endswith(reason), decision.reason
