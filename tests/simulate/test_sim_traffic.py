"""Traces: shapes and CSV files (errors name the file, line and field)."""

from __future__ import annotations

import pytest
from sim_testlib import make_replica

from llmfleet.features.simulate import (
    ScalingSpec,
    TraceError,
    Trigger,
    constant,
    default_spike,
    diurnal,
    from_csv,
    ramp,
    spike,
)


def test_shapes():
    r = ramp(0, 10, ramp_s=100, hold_s=100, tail_rps=1, tail_s=100, step_s=10)
    assert r.duration_s == 300 and r.at(0).rps == 0 and r.at(50).rps == 5 and r.at(150).rps == 10
    assert r.at(250).rps == 1
    d = diurnal(1, 9, duration_s=86400, peak_at_s=14 * 3600)
    assert d.at(14 * 3600).rps == pytest.approx(9) and d.at(2 * 3600).rps == pytest.approx(1)
    s = spike(1, 5, before_s=60, spike_s=120, after_s=60)
    assert [s.at(t).rps for t in (0, 60, 179, 180)] == [1, 5, 5, 1]
    assert constant(2, 100).requests() == 200
    assert s.requests() == 60 + 600 + 60


def test_csv(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("time_s,rps,input_tokens,output_tokens\n0,1.5,512,128\n60,3,1024,256\n")
    trace = from_csv(path)
    assert trace.duration_s == 120 and trace.at(90).rps == 3 and trace.at(30).input_tokens == 512


@pytest.mark.parametrize(
    "text,message",
    [
        ("t,rps\n0,1\n", "line 1: header must name time_s, rps, input_tokens, output_tokens"),
        ("time_s,rps,input_tokens,output_tokens\n0,x,1,1\n", "line 2: field 'rps': 'x' is not a number"),
        ("time_s,rps,input_tokens,output_tokens\n0,1,1,1\n0,1,1,1\n", "line 3: field 'time_s'"),
        ("time_s,rps,input_tokens,output_tokens\n0,1,0,1\n", "line 2: field 'input_tokens'"),
        ("time_s,rps,input_tokens,output_tokens\n5,1,1,1\n", "the first row must be at 0"),
        (
            "time_s,rps,input_tokens,output_tokens\n0,-1,1,1\n",
            "line 2: field 'rps': must be a finite number >= 0",
        ),
        ("time_s,rps,input_tokens,output_tokens\n", "no data rows"),
    ],
)
def test_csv_errors_name_file_line_field(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(TraceError) as err:
        from_csv(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_csv_missing_file(tmp_path):
    with pytest.raises(TraceError, match="no such file"):
        from_csv(tmp_path / "nope.csv")


def test_default_spike_is_sized_from_the_configuration():
    replica = make_replica(startup_s=900.0)
    spec = ScalingSpec(
        triggers=(Trigger("q", "queue", 5.0),),
        min_replicas=1,
        max_replicas=4,
        behavior={"scaleDown": {"stabilizationWindowSeconds": 1200}},
    )
    trace = default_spike(replica, spec)
    mu = replica.capacity_rps(1024, 256)
    assert trace.at(0).rps == pytest.approx(0.5 * mu)
    assert trace.at(600).rps == pytest.approx(0.8 * 4 * mu)
    assert trace.duration_s == 600 + 3 * 900 + (2 * 1200 + 600)
    # Lengths shrink to fit a short max-model-len.
    short = default_spike(make_replica(max_model_len=512), spec)
    assert short.at(0).input_tokens + short.at(0).output_tokens <= 512


def test_requests_longer_than_max_model_len_are_an_error():
    from llmfleet.features.simulate import simulate

    with pytest.raises(TraceError, match="exceed max-model-len"):
        simulate(
            ScalingSpec(triggers=(Trigger("q", "queue", 5.0),), min_replicas=1, max_replicas=1),
            make_replica(max_model_len=1000),
            constant(1, 60, 1024, 256),
        )
