"""The queue against closed forms: constant load below and above one replica's capacity.

With a fixed fleet (minReplicaCount = maxReplicaCount) the autoscaler never acts, so the queue
is a fluid FIFO in front of a server of capacity mu = X(B_max):

* below capacity (lambda < mu): nothing waits; the batch settles where X(r) = lambda, and by
  Little's law r = lambda x O x t(r);
* above capacity: after the batch fills (B_max requests), the queue grows at lambda - mu:
  Q(T) = lambda T - B_max - mu T (up to the few seconds the batch takes to fill), and the
  last request admitted by time T arrived at a = (mu T + B_max) / lambda: it waited T - a.
"""

from __future__ import annotations

import pytest
from sim_testlib import make_replica

from llmfleet.features.simulate import ScalingSpec, Trigger, constant, simulate


def fixed_fleet(replicas: int) -> ScalingSpec:
    return ScalingSpec(
        triggers=(Trigger("queue", "queue", 5.0),), min_replicas=replicas, max_replicas=replicas
    )


IN, OUT = 1024, 256


def test_replica_numbers_are_the_roofline_formulas():
    r = make_replica()
    # KV cache 20 000 tokens / 1280 per request = 15 sequences (below max_num_seqs 256).
    assert r.batch_limit(IN, OUT) == 15
    # Step at B=15: memory (16e9 + 15 x 1152 x 131072) / 300e9 = 0.06088 s;
    # compute 2 x 8e9 x 15 x 1280 / 256 / 121e12 = 0.00992 s -> memory bound.
    step = r.step_s(15, IN, OUT)
    assert step == pytest.approx((16e9 + 15 * 1152 * 131072) / 300e9)
    assert r.capacity_rps(IN, OUT) == pytest.approx(15 / (256 * step))
    assert r.prefill_s(1000) == pytest.approx(2 * 8e9 * 1000 / 121e12)
    assert r.decode_step_s(1, 2048) == pytest.approx((16e9 + 2048 * 131072) / 300e9)
    assert r.max_concurrency_at_max_len == pytest.approx(20000 / 8192)


def test_below_capacity_nothing_waits_and_littles_law_holds():
    r = make_replica()
    mu = r.capacity_rps(IN, OUT)
    lam = 0.5 * mu
    result = simulate(fixed_fleet(1), r, constant(lam, 1800, IN, OUT))
    assert result.summary["peak_waiting"] == 0
    assert result.summary["wait_max_s"] == 0
    # Steady batch: the fixed point of X(r) = lambda, found by bisection on the model.
    lo, hi = 0.0, float(r.batch_limit(IN, OUT))
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if r.throughput(mid, IN, OUT) < lam else (lo, mid)
    # Samples are taken after each second's completions: the batch the server worked on that
    # second is the sample plus the second's admissions (lambda x 1 s).
    running = result.timeline.running[-1] + lam
    assert running == pytest.approx(lo, rel=0.01)
    assert running == pytest.approx(lam * OUT * r.step_s(running, IN, OUT), rel=0.01)
    assert result.summary["requests_served"] == pytest.approx(
        lam * 1800 - result.timeline.running[-1], rel=0.001
    )
    assert result.ok


@pytest.mark.parametrize("factor", [1.5, 3.0])
def test_above_capacity_the_queue_grows_at_lambda_minus_mu(factor):
    r = make_replica()
    mu = r.capacity_rps(IN, OUT)
    batch = r.batch_limit(IN, OUT)
    lam = factor * mu
    horizon = 1800
    result = simulate(fixed_fleet(1), r, constant(lam, horizon, IN, OUT))
    tl = result.timeline
    t_end = tl.time_s[-1] + 1  # the last sample is taken after that second's arrivals
    expected_queue = lam * t_end - batch - mu * t_end
    assert tl.waiting[-1] == pytest.approx(expected_queue, rel=0.02)
    # Growth rate over the last 20 minutes.
    i = tl.time_s.index(600)
    slope = (tl.waiting[-1] - tl.waiting[i]) / (tl.time_s[-1] - 600)
    assert slope == pytest.approx(lam - mu, rel=0.01)
    # The longest wait: the last request admitted arrived at (mu T + B) / lambda, give or take
    # the seconds the batch took to fill at the start (at most B / lambda) and the 1 s step.
    last_arrival = (mu * horizon + batch) / lam
    assert result.summary["wait_max_s"] == pytest.approx(horizon - last_arrival, abs=batch / lam + 2)
    flags = {f.id for f in result.flags}
    assert "max-replicas-queue-growing" in flags


def test_two_replicas_split_the_load_evenly():
    r = make_replica()
    mu = r.capacity_rps(IN, OUT)
    one = simulate(fixed_fleet(1), r, constant(1.5 * mu, 900, IN, OUT))
    two = simulate(fixed_fleet(2), r, constant(3.0 * mu, 900, IN, OUT))
    assert two.timeline.waiting[-1] == pytest.approx(2 * one.timeline.waiting[-1], rel=0.001)
    below = simulate(fixed_fleet(2), r, constant(1.5 * mu, 900, IN, OUT))
    assert below.summary["peak_waiting"] == 0
