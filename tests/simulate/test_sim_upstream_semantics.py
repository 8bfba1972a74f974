"""Four behaviours of the HPA and KEDA the simulation follows as upstream has them
(docs/reference/autoscaling.md cites the files): the HPAConfigurableTolerance gate by
Kubernetes version, a Value metric with pods but none Ready, ignoreNullValues/fallback, and
outdated scale events kept and counted."""

from __future__ import annotations

import pytest
from sim_testlib import make_replica

from llmfleet.features.simulate.engine import Simulation
from llmfleet.features.simulate.fallback import Fallback, Health
from llmfleet.features.simulate.hpa import (
    HorizontalController,
    HpaSettings,
    configurable_tolerance_default,
    scale_down_limit,
    store_scale_event,
)
from llmfleet.features.simulate.keda import KedaOperator
from llmfleet.features.simulate.spec import ScalingPolicy, ScalingRules, ScalingSpec, SpecError, Trigger
from llmfleet.features.simulate.traffic import constant

# -- 1. behavior.*.tolerance only where the HPAConfigurableTolerance gate is on -------------------


@pytest.mark.parametrize(
    ("version", "on"),
    [
        ("1.32.4", False),
        ("1.33.0", False),
        ("1.34.2", False),
        ("1.35.0", True),
        ("1.37.1", True),
        ("master", True),
    ],
)
def test_the_tolerance_gate_follows_the_kubernetes_version(version, on):
    assert configurable_tolerance_default(version) is on
    assert HpaSettings.for_kubernetes(version).configurable_tolerance is on


def test_a_scale_down_tolerance_counts_only_from_1_35():
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 0, "tolerance": 0.5}}
    scaled = ScalingSpec(
        triggers=(Trigger("q", "queue", 10.0),), min_replicas=1, max_replicas=10, behavior=behavior
    )
    # 4 replicas, 28 waiting: ratio 28 / 40 = 0.7, outside 0.1, inside 0.5.
    on_133 = HorizontalController(scaled, HpaSettings.for_kubernetes("1.33.0"))
    on_135 = HorizontalController(scaled, HpaSettings.for_kubernetes("1.35.0"))
    assert on_133.reconcile(0, 4, 4, 4, [28.0]).desired == 3
    assert on_135.reconcile(0, 4, 4, 4, [28.0]).desired == 4


def test_a_bad_version_is_named():
    with pytest.raises(ValueError, match="'one.two'"):
        configurable_tolerance_default("one.two")


# -- 2. a Value metric with pods but none Ready proposes 0 -----------------------------------------


def test_a_value_metric_with_pods_none_ready_proposes_zero():
    scaled = ScalingSpec(
        triggers=(Trigger("q", "queue", 10.0, metric_type="Value"),), min_replicas=1, max_replicas=10
    )
    hpa = HorizontalController(scaled)
    [proposal] = hpa.propose([50.0], current=3, status_replicas=3, ready_pods=0)
    assert proposal.replicas == 0  # ceil(5.0 x 0 ready pods), recorded like any proposal
    [no_pods] = hpa.propose([50.0], current=3, status_replicas=0, ready_pods=0)
    assert no_pods.replicas is None  # "no pods returned by selector": the metric is invalid


# -- 3. ignoreNullValues: "false" and fallback -------------------------------------------------------


def _scaled_object(metadata_extra=None, fallback=None, min_replicas=0):
    metadata = {"query": "sum(vllm:num_requests_waiting)", "threshold": "5"}
    metadata.update(metadata_extra or {})
    spec = {
        "minReplicaCount": min_replicas,
        "maxReplicaCount": 8,
        "triggers": [{"type": "prometheus", "name": "q", "metadata": metadata}],
    }
    if fallback is not None:
        spec["fallback"] = fallback
    return {"metadata": {"name": "server"}, "spec": spec}


def test_ignore_null_values_and_fallback_are_read_from_the_scaled_object():
    parsed = ScalingSpec.from_scaled_object(
        _scaled_object({"ignoreNullValues": "false"}, {"failureThreshold": 3, "replicas": 2})
    )
    assert parsed.triggers[0].ignore_null_values is False
    assert parsed.fallback == Fallback(3, 2, "static")
    assert ScalingSpec.from_scaled_object(_scaled_object()).triggers[0].ignore_null_values is True
    with pytest.raises(SpecError, match=r"spec.triggers\[0\].metadata.ignoreNullValues"):
        ScalingSpec.from_scaled_object(_scaled_object({"ignoreNullValues": "maybe"}))
    with pytest.raises(SpecError, match="spec.fallback.replicas"):
        ScalingSpec.from_scaled_object(_scaled_object(fallback={"failureThreshold": 3, "replicas": -1}))


def test_an_empty_result_is_an_error_without_ignore_null_values():
    for ignore, expected in (("true", 0.0), ("false", None)):
        scaled = ScalingSpec.from_scaled_object(_scaled_object({"ignoreNullValues": ignore}))
        sim = Simulation(scaled, make_replica(), constant(1.0, 120))
        sim._scrape(0.0)  # no pod: Prometheus has no series, the sum is empty
        assert sim.query(scaled.triggers[0], 0.0) == expected


def test_keda_keeps_the_replicas_while_a_trigger_errs():
    scaled = ScalingSpec.from_scaled_object(_scaled_object({"ignoreNullValues": "false"}))
    keda = KedaOperator(scaled)
    keda.last_active = 0.0
    assert keda.poll(1000.0, 2, [None]) is None  # inactive with an error: no scale to zero
    assert keda.poll(1000.0, 2, [0.0]).replicas == 0  # inactive without: to zero after cooldown
    zero_fallback = ScalingSpec.from_scaled_object(
        _scaled_object({"ignoreNullValues": "false"}, {"failureThreshold": 1, "replicas": 0})
    )
    keda = KedaOperator(zero_fallback)
    keda.last_active = 0.0
    assert keda.poll(1000.0, 2, [None]).replicas == 0  # a fallback of 0 replicas lets it go


def test_an_error_blocks_the_hpa_scale_down_until_the_fallback_takes_over():
    scaled = ScalingSpec.from_scaled_object(
        _scaled_object({"ignoreNullValues": "false"}, {"failureThreshold": 2, "replicas": 3}, min_replicas=1)
    )
    keda, hpa = KedaOperator(scaled), HorizontalController(scaled)
    trigger = scaled.triggers[0]
    served = [keda.hpa_value(trigger, None, 6, 6) for _ in range(3)]
    assert served[:2] == [None, None] and served[2] == 15.0  # 3 fallback replicas x threshold 5
    assert hpa.reconcile(0, 6, 6, 6, [None]).desired == 6  # the error: no scale-down
    assert hpa.reconcile(15, 6, 6, 6, [served[2]]).metric_desired == 3
    assert keda.hpa_value(trigger, 7.0, 6, 6) == 7.0 and keda.health.failures["q"] == 0


def test_a_value_fallback_divides_by_the_ready_pods():
    health = Health(Fallback(0, 4))
    trigger = Trigger("q", "queue", 5.0, metric_type="Value")
    assert health.serve(trigger, None, current=2, ready_pods=2, value_type=True) == 10.0
    assert health.serve(trigger, None, current=2, ready_pods=0, value_type=True) is None


# -- 4. outdated scale events are kept and counted -------------------------------------------------


def test_store_scale_event_replaces_one_outdated_event_and_keeps_the_others():
    events: list = []
    for now, change in ((0, 2), (15, 2), (45, 3)):
        events = store_scale_event(events, now, change, longest_period_s=15)
    assert sorted(events) == [(0, 2), (45, 3)]  # (15, 2) replaced, (0, 2) kept though outdated


def test_after_a_ramp_the_scale_down_counts_the_pods_the_ramp_added():
    behavior = {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": 4, "periodSeconds": 600}],
        },
    }
    scaled = ScalingSpec(
        triggers=(Trigger("q", "queue", 5.0),), min_replicas=1, max_replicas=10, behavior=behavior
    )
    hpa = HorizontalController(scaled)
    current = 3
    for now, waiting in ((0, 25.0), (15, 35.0), (45, 50.0)):  # 3 -> 5 -> 7 -> 10
        current = hpa.reconcile(now, current, current, current, [waiting]).desired
    assert current == 10
    # At t=300 the load is gone. The scale-down policy (4 pods per 600 s) starts from the
    # replicas 600 s ago: 10 - (2 + 3 added, the outdated event of t=0 still counted) = 5,
    # so 5 - 4 = 1. Dropping outdated events would start from 10 - 3 = 7 and stop at 3.
    assert hpa.reconcile(300, 10, 10, 10, [5.0]).desired == 1
    rules = ScalingRules(0, "Max", (ScalingPolicy("Pods", 4, 600),))
    assert scale_down_limit(10, [(45, 3)], [], rules, 300) == 3
