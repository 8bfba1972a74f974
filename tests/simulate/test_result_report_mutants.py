"""The text report of a simulation (issue 26, surviving mutants): the object's name or
'scaledobject', each trigger (an unsimulated one says so, an activation threshold is shown), the
worst wait, the SLO line and the verdict."""

from __future__ import annotations

import pytest
from sim_testlib import make_replica

from llmfleet.features.simulate import ScalingSpec, Trigger, constant, simulate, spike
from llmfleet.features.simulate.engine import SimulationOptions
from llmfleet.features.simulate.result import format_report
from llmfleet.features.simulate.slo import Slo


def _seconds(text: str) -> float:
    number, unit = text.split()
    return float(number) * {"s": 1, "min": 60, "h": 3600}[unit]


@pytest.fixture(scope="module")
def quiet():
    """An unnamed ScaledObject under a light constant load: nothing to flag."""
    replica = make_replica()
    spec = ScalingSpec(
        triggers=(
            Trigger("queue", "queue", 5.0, activation=2.0),
            Trigger("custom", None, 3.0),
        ),
        min_replicas=1,
        max_replicas=2,
    )
    return simulate(spec, replica, constant(0.1 * replica.capacity_rps(1024, 256), 1800))


def test_report_lines_of_a_quiet_run(quiet):
    lines = format_report(quiet).splitlines()
    assert lines[0].startswith("simulation  scaledobject: ")
    assert "trigger     queue: queue AverageValue target 5 (activation 2)" in lines
    assert "trigger     custom: not simulated AverageValue target 3" in lines
    wait = next(line for line in lines if line.startswith("wait        "))
    assert wait.endswith(f"max {wait.split('p50 ')[1].split(',')[0]}")  # no queue: max = p50
    assert not any(line.startswith("slo ") for line in lines)
    assert quiet.ok and lines[-1] == "result      ok"


def test_report_of_a_flagged_run_with_an_slo():
    replica = make_replica(startup_s=120.0)
    mu = replica.capacity_rps(1024, 256)
    spec = ScalingSpec(triggers=(Trigger("queue", "queue", 5.0),), min_replicas=1, max_replicas=4, name="srv")
    options = SimulationOptions(slo=Slo(source="test objective"))
    result = simulate(spec, replica, spike(0.5 * mu, 3 * mu, 300, 2400, 600), options)
    lines = format_report(result).splitlines()
    assert lines[0].startswith("simulation  srv: ")
    slo = next(line for line in lines if line.startswith("slo         "))
    assert slo.endswith("(test objective)")
    wait = next(line for line in lines if line.startswith("wait        "))
    # the worst wait is the summary's, in the report's units (s, min, h)
    assert _seconds(wait.split("max ")[1]) == pytest.approx(result.summary["wait_max_s"], rel=0.02)
    assert result.summary["wait_max_s"] > 120
    assert not result.ok and lines[-1] == "result      FLAGGED"
