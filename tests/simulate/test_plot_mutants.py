"""The simulation plot (issue 26, surviving mutants): a 1000 x 650 px PNG whose legends name
every series, the offered load drawn against minutes, and the maxReplicaCount line."""

from __future__ import annotations

import struct

import pytest
from sim_testlib import make_replica

from llmfleet.features.simulate import ScalingSpec, Trigger, plot, simulate, spike

matplotlib = pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    from matplotlib.figure import Figure

    replica = make_replica(startup_s=120.0)
    mu = replica.capacity_rps(1024, 256)
    spec = ScalingSpec(triggers=(Trigger("queue", "queue", 5.0),), min_replicas=1, max_replicas=4)
    result = simulate(spec, replica, spike(0.5 * mu, 3 * mu, 300, 2400, 600))
    figures = []
    original = Figure.savefig

    def keep(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(Figure, "savefig", keep)
    try:
        path = plot(result, tmp_path_factory.mktemp("plot") / "sim.png")
    finally:
        mp.undo()
    return result, path, figures[0]


def test_png_size(drawn):
    _, path, _ = drawn
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1000, 650)


def test_legends_name_every_series(drawn):
    _, _, fig = drawn
    top, bottom = fig.axes[0], fig.axes[1]
    top_labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert {"Ready pods", "maxReplicaCount", "offered rps"} <= set(top_labels)
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == ["waiting requests", "running requests"]


def test_offered_load_spans_the_trace_in_minutes(drawn):
    result, _, fig = drawn
    load = fig.axes[2]  # the twin axis of the top panel
    (line,) = [line for line in load.get_lines() if line.get_label() == "offered rps"]
    assert max(line.get_xdata()) == pytest.approx(max(result.timeline.time_s) / 60)


def test_max_replica_line(drawn):
    _, _, fig = drawn
    (line,) = [line for line in fig.axes[0].get_lines() if line.get_label() == "maxReplicaCount"]
    assert set(line.get_ydata()) == {4}
    assert line.get_linewidth() == 1
