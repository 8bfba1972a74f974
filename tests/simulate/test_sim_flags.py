"""Configurations the simulation must flag, and one it must not."""

from __future__ import annotations

import math

from sim_testlib import make_replica

from llmfleet.features.simulate import ScalingSpec, SimulationOptions, Trigger, simulate, spike
from llmfleet.features.simulate.traffic import Segment, Trace

IN, OUT = 1024, 256


def flags(result) -> set[str]:
    return {f.id for f in result.flags}


def good_spec(**overrides) -> ScalingSpec:
    behavior = {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 600,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}],
        },
    }
    values = {
        "triggers": (Trigger("queue", "queue", 5.0),),
        "min_replicas": 1,
        "max_replicas": 6,
        "behavior": behavior,
        "name": "good",
    }
    values.update(overrides)
    return ScalingSpec(**values)


def a_spike(replica):
    mu = replica.capacity_rps(IN, OUT)
    return spike(
        0.5 * mu, 4.0 * mu, before_s=300, spike_s=3600, after_s=1800, input_tokens=IN, output_tokens=OUT
    )


def test_a_responsive_configuration_is_not_flagged():
    replica = make_replica(startup_s=300.0)
    result = simulate(good_spec(), replica, a_spike(replica))
    assert result.ok, result.report()
    assert result.summary["replicas_max"] >= 5
    # It scaled back down after the spike.
    assert result.timeline.replicas[-1] < result.summary["replicas_max"]


def test_one_pod_per_ten_minutes_is_slow_to_absorb():
    replica = make_replica(startup_s=300.0)
    slow = {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 600}],
        }
    }
    result = simulate(good_spec(behavior=slow), replica, a_spike(replica))
    assert not result.ok
    assert "slow-to-absorb" in flags(result)
    flag = next(f for f in result.flags if f.id == "slow-to-absorb")
    assert flag.severity == "error" and "the bound is 600 s" in flag.message
    ups = [e.time_s for e in result.events if e.to_replicas > e.from_replicas]
    assert all(b - a >= 600 for a, b in zip(ups, ups[1:]))


def test_a_threshold_nothing_reaches_never_scales_out():
    replica = make_replica()
    result = simulate(good_spec(triggers=(Trigger("queue", "queue", 100000.0),)), replica, a_spike(replica))
    assert "never-scales-out" in flags(result)
    assert result.summary["replicas_max"] == 1


def test_a_trigger_that_is_not_simulated_reads_zero_and_is_reported():
    replica = make_replica()
    unknown = Trigger("cpu", None, 50.0, unsupported_reason="trigger type 'cpu' is not simulated")
    result = simulate(good_spec(triggers=(unknown,)), replica, a_spike(replica))
    assert {"trigger-not-simulated", "never-scales-out"} <= flags(result)


def test_max_replicas_too_low_lets_the_queue_grow():
    replica = make_replica(startup_s=60.0)
    result = simulate(good_spec(max_replicas=2), replica, a_spike(replica))
    assert "max-replicas-queue-growing" in flags(result)


def test_no_windows_on_an_oscillating_load_flaps():
    replica = make_replica(startup_s=30.0)
    mu = replica.capacity_rps(IN, OUT)
    segments = tuple(
        Segment(float(t), (2.5 * mu if (t // 300) % 2 else 0.2 * mu), IN, OUT) for t in range(0, 3600, 300)
    )
    nervous = {"scaleUp": {"stabilizationWindowSeconds": 0}, "scaleDown": {"stabilizationWindowSeconds": 0}}
    result = simulate(
        good_spec(behavior=nervous, triggers=(Trigger("running", "running", 4.0),)),
        replica,
        Trace(segments, 3600.0, "square wave"),
    )
    assert "flapping" in flags(result)
    calm = simulate(
        good_spec(triggers=(Trigger("running", "running", 4.0),)),
        replica,
        Trace(segments, 3600.0, "square wave"),
    )
    assert "flapping" not in flags(calm)


def test_a_load_longer_than_the_startup_window_never_becomes_ready():
    replica = make_replica(startup_s=None)
    result = simulate(good_spec(), replica, a_spike(replica))
    assert "replica-never-ready" in flags(result)
    assert result.summary["replicas_max"] > 1


def test_options_change_the_bounds():
    replica = make_replica(startup_s=300.0)
    strict = simulate(good_spec(), replica, a_spike(replica), SimulationOptions(absorb_bound_s=60))
    assert "slow-to-absorb" in flags(strict)
    assert math.isclose(strict.summary["absorb_bound_s"], 60)


def test_a_load_exactly_at_the_ready_capacity_is_not_an_overload():
    """The timeline rounds the Ready pods' capacity to 6 decimals; a fixed fleet offered exactly
    what it serves (the default spike's peak for min = max) must not read as load above it, while
    a load 1 % above it for longer than the bound still does."""
    from llmfleet.features.simulate.traffic import constant

    replica = make_replica(startup_s=300.0, memory_bandwidth_gbps=250)
    fixed = good_spec(min_replicas=1, max_replicas=1)
    exact = replica.capacity_rps(IN, OUT)
    assert exact - round(exact, 6) > 1e-7  # the timeline's rounding takes a little off it
    options = SimulationOptions(absorb_bound_s=600)
    at = simulate(fixed, replica, constant(exact, 3600, IN, OUT), options)
    assert "slow-to-absorb" not in flags(at)
    assert at.summary["time_to_absorb_s"] == 0
    above = simulate(fixed, replica, constant(exact * 1.01, 3600, IN, OUT), options)
    assert "slow-to-absorb" in flags(above)
