"""The HPA step when some of its metrics fail (llmfleet.features.simulate.hpa), against
horizontal.go's computeReplicasForMetrics: with at least one invalid metric the controller
scales only when the valid ones ask for MORE than the current count; with all invalid it keeps
the count and reports FailedGetExternalMetric.  Each figure is worked by hand: AverageValue
target 5 (queue) and 2 (rate), proposal ceil(value / target) outside the 10% tolerance."""

from __future__ import annotations

from llmfleet.features.simulate.hpa import HorizontalController
from llmfleet.features.simulate.spec import VALUE, ScalingSpec, Trigger

TRIGGERS = (Trigger("queue", "queue", 5.0), Trigger("rate", "request_rate", 2.0))


def controller(triggers=TRIGGERS, min_replicas=1, max_replicas=10) -> HorizontalController:
    return HorizontalController(
        ScalingSpec(triggers=triggers, min_replicas=min_replicas, max_replicas=max_replicas, behavior={})
    )


def test_every_metric_failing_keeps_the_count():
    decision = controller().reconcile(0, 4, 4, 4, [None, None])
    assert (decision.desired, decision.reason) == (4, "FailedGetExternalMetric")
    assert [p.replicas for p in decision.proposals] == [None, None]


def test_one_failing_metric_blocks_a_scale_down():
    # queue 0 -> proposal 0 < 4 current, rate missing: no scale down.
    decision = controller().reconcile(0, 4, 4, 4, [0.0, None])
    assert (decision.desired, decision.reason) == (4, "FailedGetExternalMetric")


def test_one_failing_metric_with_the_rest_at_the_current_count_is_not_a_failure():
    # queue 20 / (5 x 4) = 1.0: proposal 4 == current; not below it, so the step goes on.
    decision = controller().reconcile(0, 4, 4, 4, [20.0, None])
    assert decision.desired == 4
    assert decision.metric_desired == 4
    assert decision.reason == "within tolerance or stabilized"


def test_one_failing_metric_does_not_block_a_scale_up():
    # queue 40 -> ceil(40 / 5) = 8 > 4: scales up (Max policy: 4 pods or 100% per 15 s -> 8).
    decision = controller().reconcile(0, 4, 4, 4, [40.0, None])
    assert decision.desired == 8
    assert decision.reason == "queue above target"


def test_the_failing_metric_is_the_first_one():
    # Order does not matter: rate 16 / (2 x 4) = 2.0 -> ceil(16 / 2) = 8.
    decision = controller().reconcile(0, 4, 4, 4, [None, 16.0])
    assert decision.desired == 8 and decision.reason == "rate above target"


def test_a_value_metric_without_ready_pods_proposes_zero():
    # Upstream (horizontal.go, computeReplicasForMetrics with a Value target and pods but none
    # Ready) records a proposal of 0 rather than an invalid metric; the scale-down
    # stabilization window then keeps the 3 replicas (docs/reference/autoscaling.md).
    triggers = (Trigger("queue", "queue", 5.0, metric_type=VALUE),)
    decision = controller(triggers).reconcile(0, 3, 3, 0, [50.0])
    assert decision.proposals[0].replicas == 0
    assert decision.desired == 3 and decision.reason != "FailedGetExternalMetric"
    # With ready pods it is a proposal: ratio 50 / 5 = 10 x 3 ready = 30; the default scale-up
    # policies allow max(3 + 4 pods, 3 + 100%) = 7 in one step.
    ready = controller(triggers).reconcile(0, 3, 3, 3, [50.0])
    assert ready.proposals[0].replicas == 30 and ready.desired == 7
