"""HPA decisions against cases computed by hand from the Kubernetes algorithm
(replica_calculator.go and horizontal.go; docs/reference/autoscaling.md)."""

from __future__ import annotations

import pytest

from llmfleet.features.simulate.hpa import (
    HorizontalController,
    HpaSettings,
    average_value_replicas,
    scale_down_limit,
    scale_up_limit,
    to_milli,
    value_replicas,
)
from llmfleet.features.simulate.spec import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    ScalingPolicy,
    ScalingRules,
    ScalingSpec,
    Trigger,
    resolve_behavior,
)


def spec(behavior=None, min_replicas=1, max_replicas=10, triggers=None) -> ScalingSpec:
    return ScalingSpec(
        triggers=triggers or (Trigger("q", "queue", 5.0),),
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        behavior=behavior,
    )


# -- replica_calculator.go --------------------------------------------------------------------


@pytest.mark.parametrize(
    "usage,status,expected",
    [
        (10.0, 2, 2),  # ratio 10 / (5 x 2) = 1.0
        (10.9, 2, 2),  # 1.09: inside the 10 % tolerance, keep the status replicas
        (11.0, 2, 2),  # 1.10: the bound is inclusive
        (11.1, 2, 3),  # 1.11: ceil(11.1 / 5) = 3
        (9.0, 2, 2),  # 0.90: inclusive lower bound
        (8.9, 2, 2),  # 0.89: ceil(8.9 / 5) = 2 -- outside the tolerance, same count
        (4.0, 3, 1),  # 4 / 15 = 0.27: ceil(4 / 5) = 1
        (0.0, 3, 0),  # nothing waiting: 0 (the HPA's minReplicas applies later)
        (26.0, 0, 6),  # no pods counted: ratio +Inf, ceil(26 / 5)
    ],
)
def test_average_value_proposal(usage, status, expected):
    assert average_value_replicas(usage, 5.0, status) == expected


@pytest.mark.parametrize(
    "usage,current,ready,expected",
    [
        (10.9, 3, 2, 3),  # ratio 1.09 inside the tolerance: the current (spec) replicas
        (12.0, 3, 2, 3),  # ratio 1.2: ceil(1.2 x 2 Ready) = 3
        (30.0, 3, 2, 6),  # ratio 3: ceil(3 x 2) = 6 -- Value counts Ready pods, not all pods
        (5.0, 4, 4, 2),  # ratio 0.5: ceil(0.5 x 4) = 2
    ],
)
def test_value_proposal(usage, current, ready, expected):
    assert value_replicas(usage, 10.0, current, ready) == expected


def test_metric_values_are_milli_quantities_as_keda_writes_them():
    assert to_milli(5.0) == 5000
    assert to_milli(0.0004) == 0  # "%.3f" -> "0.000"
    assert to_milli(0.0006) == 1
    assert to_milli(-3) == 0 and to_milli(float("nan")) == 0
    # 5.0004 / 5 is 1.00008 in floats but 5000/5000 = 1 in milli-units: inside, keep 1 replica.
    assert average_value_replicas(5.0004, 5.0, 1) == 1


def test_configurable_tolerance_per_direction():
    behavior = {"scaleUp": {"tolerance": "0"}, "scaleDown": {"tolerance": "50m"}}
    hpa = HorizontalController(spec(behavior))
    assert hpa.tolerances() == (0.05, 0.0)
    # 10.1 waiting on 2 pods (target 5): ratio 1.01 scales up with a 0 % tolerance.
    assert hpa.propose([10.1], 2, 2, 2)[0].replicas == 3
    # Without the feature gate the flag's 10 % applies to both directions.
    gated = HorizontalController(spec(behavior), HpaSettings(configurable_tolerance=False))
    assert gated.tolerances() == (0.1, 0.1)
    assert gated.propose([10.1], 2, 2, 2)[0].replicas == 2


# -- behavior defaults (pkg/apis/autoscaling/v2/defaults.go) --------------------------------------


def test_behavior_defaults_fill_each_missing_field():
    resolved = resolve_behavior({"scaleDown": {"stabilizationWindowSeconds": 600}})
    assert resolved.scale_up == DEFAULT_SCALE_UP
    assert resolved.scale_down.stabilization_window_s == 600
    assert resolved.scale_down.policies == DEFAULT_SCALE_DOWN.policies
    assert resolved.scale_down.select_policy == "Max"
    assert resolve_behavior(None) is None


# -- policies (calculateScale{Up,Down}Limit...) ---------------------------------------------------

UP = ScalingRules(0, "Max", (ScalingPolicy("Pods", 2, 60), ScalingPolicy("Percent", 100, 60)))


def test_scale_up_limit_max_and_min():
    assert scale_up_limit(1, [], [], UP, 0) == 3  # max(1+2, 1x2)
    assert scale_up_limit(5, [], [], UP, 0) == 10  # max(5+2, 5x2)
    assert scale_up_limit(5, [], [], ScalingRules(0, "Min", UP.policies), 0) == 7  # min(7, 10)
    assert scale_up_limit(5, [], [], ScalingRules(0, "Disabled", UP.policies), 0) == 5


def test_scale_up_limit_counts_changes_inside_the_period():
    events = [(0.0, 2)]  # 1 -> 3 at t=0
    # t=30: the period started with 3 - 2 = 1 pod: max(1+2, ceil(1 x 2)) = 3 -> no room.
    assert scale_up_limit(3, events, [], UP, 30) == 3
    # t=60: an event exactly periodSeconds old is outside the period (strictly After(cutoff)).
    assert scale_up_limit(3, events, [], UP, 60) == 6
    # A scale-down inside the period gives its pods back to the period start.
    assert scale_up_limit(3, [], [(50.0, 1)], UP, 60) == 8  # start 4: max(6, 8)


def test_scale_down_limit_truncates_percent():
    down = ScalingRules(None, "Max", (ScalingPolicy("Percent", 50, 60), ScalingPolicy("Pods", 1, 60)))
    # Max = the biggest change: min(int(5 x 0.5) = 2, 5 - 1 = 4) = 2.
    assert scale_down_limit(5, [], [], down, 0) == 2
    assert scale_down_limit(5, [], [], ScalingRules(None, "Min", down.policies), 0) == 4
    assert scale_down_limit(5, [], [(10.0, 2)], down, 30) == 3  # start 7: min(3, 6)


# -- the controller over several syncs ------------------------------------------------------------


def run(hpa, steps):
    """steps: (time, current, waiting); returns the desired replicas of each reconcile."""
    return [hpa.reconcile(t, current, current, current, [waiting]).desired for t, current, waiting in steps]


def test_no_behavior_uses_the_legacy_limits_and_300s_window():
    hpa = HorizontalController(spec(None, max_replicas=20))
    # 1 pod, 60 waiting (target 5): proposal 12, limited to max(2 x 1, 4) = 4.
    assert run(hpa, [(0, 1, 60)]) == [4]
    # 4 pods, 60 waiting: 12, limited to max(2 x 4, 4) = 8.
    assert run(hpa, [(15, 4, 60)]) == [8]
    # Load gone: the stabilization takes the max recommendation of the last 300 s, 12, which
    # the rate limit had held back -- so the HPA still goes UP to 12 (within max(2 x 8, 4)) ...
    assert run(hpa, [(30, 8, 0), (300, 12, 0), (315, 12, 0)]) == [12, 12, 12]
    # ... until every recommendation of 12 is older than 300 s (the last at t=15 is not Before
    # the cutoff at t=315 -- the legacy path keeps samples at the cutoff): then minReplicas.
    assert run(hpa, [(316, 12, 0)]) == [1]


def test_behavior_defaults_scale_up_4_pods_or_100_percent_per_15s():
    hpa = HorizontalController(spec({}, max_replicas=20))  # behavior present, all defaulted
    # Pods 4 -> 1 + 4 = 5; Percent 100 -> 2; Max -> 5 (the legacy path would give 4).
    assert run(hpa, [(0, 1, 100)]) == [5]
    # 15 s later the event at t=0 is out of the 15 s period: 5 + 4 = 9 vs 10 -> 10.
    assert run(hpa, [(15, 5, 100)]) == [10]


def test_scale_down_stabilization_window_takes_the_max_recommendation():
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 60}, "scaleUp": {"stabilizationWindowSeconds": 0}}
    hpa = HorizontalController(spec(behavior))
    steps = [
        (0, 4, 20),  # proposal 4 = current
        (15, 4, 5),  # proposal 1; window max(4 at t=0, 1) = 4
        (30, 4, 5),
        (45, 4, 5),
        (60, 4, 5),  # t=0 is not After(60 - 60): max of 1s = 1 -> Max policy 100 % allows 1
    ]
    assert run(hpa, steps) == [4, 4, 4, 4, 1]


def test_scale_up_stabilization_window_takes_the_min_recommendation():
    behavior = {"scaleUp": {"stabilizationWindowSeconds": 30}}
    hpa = HorizontalController(spec(behavior))
    # t=0 records 1 (the current count, recordInitialRecommendation) and proposal 4.
    # Up window 30 s: min over recommendations after t-30.
    assert run(hpa, [(0, 1, 20)]) == [1]  # min(1 initial, 4) = 1
    assert run(hpa, [(15, 1, 20)]) == [1]  # min(1, 4, 4) = 1
    assert run(hpa, [(30, 1, 20)]) == [4]  # t=0 records are no longer After(0): min(4, 4)


def test_one_pod_per_ten_minutes_policy():
    behavior = {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 600}],
        }
    }
    hpa = HorizontalController(spec(behavior))
    decisions = []
    current = 1
    for t in range(0, 1801, 15):
        d = hpa.reconcile(t, current, current, current, [100.0])  # wants 10 all along
        current = d.desired
        decisions.append((t, current))
    ups = [(t, c) for (t, c), (_, prev) in zip(decisions[1:], decisions) if c > prev]
    assert decisions[0] == (0, 2)
    assert ups == [(600, 3), (1200, 4), (1800, 5)]
    assert hpa.reconcile(1815, 5, 5, 5, [100.0]).reason == "q above target (ScaleUpLimit)"


def test_largest_proposal_wins_across_triggers():
    triggers = (Trigger("queue", "queue", 5.0), Trigger("rate", "request_rate", 2.0))
    hpa = HorizontalController(spec({}, triggers=triggers))
    decision = hpa.reconcile(0, 2, 2, 2, [15.0, 8.0])  # queue -> 3, rate -> 4
    assert [p.replicas for p in decision.proposals] == [3, 4]
    assert decision.metric_desired == 4 and decision.desired == 4


def test_invalid_metric_blocks_scale_down_but_not_scale_up():
    triggers = (Trigger("queue", "queue", 5.0), Trigger("rate", "request_rate", 2.0))
    hpa = HorizontalController(spec({}, triggers=triggers))
    assert hpa.reconcile(0, 4, 4, 4, [0.0, None]).desired == 4  # would go down: blocked
    assert hpa.reconcile(15, 4, 4, 4, [40.0, None]).desired == 8  # up: allowed


def test_min_max_bounds_and_disabled_at_zero():
    hpa = HorizontalController(spec({}, min_replicas=2, max_replicas=5))
    assert hpa.reconcile(0, 7, 7, 7, [0.0]).desired == 5
    assert hpa.reconcile(15, 1, 1, 1, [0.0]).desired == 2
    assert hpa.reconcile(30, 0, 0, 0, [100.0]).reason == "ScalingDisabled"
    assert hpa.reconcile(45, 5, 5, 5, [1000.0]).desired == 5  # TooManyReplicas


def test_keda_min_zero_gives_the_hpa_a_minimum_of_one():
    assert spec(min_replicas=0).hpa_min_replicas == 1
    hpa = HorizontalController(spec({"scaleDown": {"stabilizationWindowSeconds": 0}}, min_replicas=0))
    # Nothing waiting: proposal 0; 100 % per 15 s allows 0, the HPA's minimum of 1 stops it.
    assert hpa.reconcile(0, 3, 3, 3, [0.0]).desired == 1
