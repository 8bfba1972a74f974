"""KEDA's activation, cooldown and metric cache (scale_scaledobjects.go RequestScale)."""

from __future__ import annotations

import pytest
from sim_testlib import make_replica

from llmfleet.features.simulate import ScalingSpec, SimulationOptions, Trigger, constant, simulate, spike
from llmfleet.features.simulate.keda import KedaOperator


def spec(**overrides) -> ScalingSpec:
    values = {
        "triggers": (Trigger("queue", "queue", 5.0, activation=2.0),),
        "min_replicas": 0,
        "max_replicas": 3,
    }
    values.update(overrides)
    return ScalingSpec(**values)


def test_activation_is_strictly_above_the_threshold():
    keda = KedaOperator(spec())
    assert keda.poll(0, 0, [2.0]) is None  # 2 is not > 2
    action = keda.poll(30, 0, [2.1])
    assert (action.previous, action.replicas) == (0, 1)  # max(minReplicaCount, 1)


def test_min_above_zero_scales_from_zero_to_min():
    keda = KedaOperator(spec(min_replicas=2))
    assert keda.poll(0, 0, [10.0]).replicas == 2
    # With minReplicaCount >= 1 an inactive trigger changes nothing (the HPA decides).
    assert keda.poll(30, 2, [0.0]) is None


def test_cooldown_before_scaling_to_zero():
    keda = KedaOperator(spec(cooldown_period_s=300))
    assert keda.poll(0, 1, [10.0]) is None  # active: LastActiveTime = 0
    assert keda.poll(300, 1, [0.0]) is None  # 0 + 300 is not Before(300)
    action = keda.poll(330, 1, [0.0])
    assert action.replicas == 0
    # Never active: initialCooldownPeriod (default 0) after creation.
    fresh = KedaOperator(spec(initial_cooldown_period_s=60))
    assert fresh.poll(30, 1, [0.0]) is None
    assert fresh.poll(90, 1, [0.0]).replicas == 0


def test_idle_replica_count():
    keda = KedaOperator(spec(min_replicas=2, idle_replicas=0, cooldown_period_s=0))
    assert keda.poll(0, 0, [5.0]).replicas == 2
    assert keda.poll(30, 2, [0.0]).replicas == 0


def test_cached_metrics_serve_the_last_poll():
    cached = Trigger("queue", "queue", 5.0, use_cached_metrics=True)
    keda = KedaOperator(spec(triggers=(cached,)))
    keda.poll(0, 1, [7.0])
    assert keda.served_value(cached, 99.0) == 7.0
    live = Trigger("q2", "queue", 5.0)
    assert keda.served_value(live, 99.0) == 99.0


def test_at_zero_replicas_a_vllm_metric_never_wakes_the_model():
    # With no pod there is no vllm:* series: the query is empty, KEDA reads 0 and never
    # activates -- requests are rejected for good. (Scale to zero needs a trigger on a metric
    # that exists without pods, e.g. the gateway's request counter.)
    replica = make_replica(startup_s=120.0)
    trace = spike(0.0, 0.5, before_s=60, spike_s=600, after_s=0)
    result = simulate(spec(triggers=(Trigger("queue", "queue", 5.0),)), replica, trace)
    assert result.events == []
    assert result.summary["requests_rejected"] == pytest.approx(0.5 * 600)
    assert {"requests-rejected", "never-scales-out"} <= {f.id for f in result.flags}


def test_scale_to_zero_after_cooldown_in_a_run():
    replica = make_replica()
    result = simulate(spec(cooldown_period_s=300), replica, constant(0.0, 900))
    assert result.timeline.replicas[0] == 0  # minReplicaCount 0: starts at 0
    warm = simulate(
        spec(cooldown_period_s=300), replica, constant(0.0, 900), SimulationOptions(initial_replicas=1)
    )
    assert [(e.by, e.from_replicas, e.to_replicas) for e in warm.events] == [("keda", 1, 0)]
    # Never active: initialCooldownPeriod 0 -> the first poll after t=0 (t=30) scales to 0.
    assert warm.events[0].time_s == 30
