"""The default spike through each real overlay: what "absorbs the spike" means, asserted on
the run's own figures (tests/simulate/test_sim_overlays.py checks the flags only).

Absorbed: every request offered is served (none rejected or aborted), the queue is empty at
the end of the trace, the overload episodes end within the slow-to-absorb bound (the cold
load + 300 s), and the waits the report prints are the run's.  The waits themselves are NOT
bounded here: today the 8 B overlays' p99 wait (about 26 minutes) exceeds that bound while
no flag says so -- a question about the slow-to-absorb flag, which looks at overload
episodes, not at waits (docs/mutation.md, "Open questions").
"""

from __future__ import annotations

import pytest

from llmfleet.simulate import default_spike, simulate
from llmfleet.simulate.overlay import inputs_for
from llmfleet_testlib import overlay_names


def run(repository_model, overlay: str):
    [inputs] = inputs_for(repository_model.overlays[overlay])
    return simulate(inputs.spec, inputs.replica, default_spike(inputs.replica, inputs.spec))


@pytest.mark.parametrize("overlay", overlay_names())
def test_the_default_spike_is_absorbed(repository_model, overlay):
    result = run(repository_model, overlay)
    s = result.summary
    text = result.report()
    assert s["requests_rejected"] == 0 and s["requests_aborted"] == 0, text
    # Served up to the few still in flight when the trace ends.
    assert s["requests_served"] == pytest.approx(s["requests_offered"], rel=1e-3), text
    assert result.timeline.waiting[-1] == 0, text
    assert s["time_to_absorb_s"] <= s["absorb_bound_s"], text
    assert all(e.end_s is not None for e in result.episodes), text


@pytest.mark.parametrize("overlay", overlay_names())
def test_the_reported_waits_are_the_runs(repository_model, overlay):
    result = run(repository_model, overlay)
    s = result.summary
    assert 0 <= s["wait_p50_s"] <= s["wait_p95_s"] <= s["wait_p99_s"] <= s["wait_max_s"]
    # No request can wait longer than the trace lasts.
    assert s["wait_max_s"] <= s["duration_s"]
    # A spike above what the starting replicas serve makes requests wait.
    assert s["peak_waiting"] > 0 and s["wait_max_s"] > 0
    line = next(line for line in result.report().splitlines() if line.startswith("wait"))
    assert line.startswith("wait        p50 ")
    assert " p99 " in line and " max " in line
