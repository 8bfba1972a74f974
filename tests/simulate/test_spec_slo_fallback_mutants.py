"""Bad ScaledObject input is named with its field and a message a user reads; an SLO is
breached only above its bound (issue 26, surviving mutants of list 2)."""

from __future__ import annotations

import copy

import pytest
from test_sim_spec import SO

from llmfleet.features.simulate import ScalingSpec, SpecError
from llmfleet.features.simulate.fallback import FallbackError, parse
from llmfleet.features.simulate.slo import Slo, breaches


def _with_trigger(trigger):
    so = copy.deepcopy(SO)
    so["spec"]["triggers"] = [trigger]
    return so


BAD = [
    # (case, trigger, message)
    ("not a mapping", "prometheus", "spec.triggers[0]: a trigger must be a mapping"),
    (
        "an infinite threshold",
        {
            **SO["spec"]["triggers"][0],
            "metadata": {**SO["spec"]["triggers"][0]["metadata"], "threshold": "inf"},
        },
        "spec.triggers[0].metadata.threshold: 'inf' is not a finite number",
    ),
]


@pytest.mark.parametrize(("case", "trigger", "message"), BAD, ids=[r[0] for r in BAD])
def test_bad_trigger_message(case, trigger, message):
    with pytest.raises(SpecError) as err:
        ScalingSpec.from_scaled_object(_with_trigger(trigger))
    assert str(err.value) == message


def test_fallback_not_a_mapping():
    with pytest.raises(FallbackError) as err:
        parse(["replicas", 2])
    assert str(err.value) == "spec.fallback: must be a mapping"


def test_a_wait_at_the_bound_is_no_breach():
    slo = Slo()
    at = {
        "wait_p95_s": slo.queue_wait_p95_s,
        "wait_p99_s": slo.queue_wait_p99_s,
        "ttft_p95_s": slo.ttft_p95_s,
        "ttft_p99_s": slo.ttft_p99_s,
    }
    assert breaches(at, slo) == []
    above = {**at, "wait_p99_s": slo.queue_wait_p99_s + 0.5}
    assert breaches(above, slo) == [("queue_wait_p99_s", slo.queue_wait_p99_s + 0.5, slo.queue_wait_p99_s)]
