"""``llmfleet cost --plot``: the chart's properties, checked on the matplotlib figure object
(not its pixels), and the capacity/break-even numbers it draws.

Properties (issue "cost that answers the real question"): a log-scale request axis; a
distinct colour and line style per overlay; a legend that never hides a line (outside the
axes); break-even points labelled, every label clear of the others, of the markers and of
every line; readable at half size (fonts of at least 10 px when the image is halved).
"""

from __future__ import annotations

import itertools

import pytest
from matplotlib.colors import to_rgba
from matplotlib.transforms import Bbox

from llmfleet.catalog import entries as catalog
from llmfleet.catalog import sizing
from llmfleet.features.cost import chart as cost_chart
from llmfleet.features.cost import estimate, report
from llmfleet.features.cost.estimate import ApiPricing, OverlayCost
from llmfleet.features.simulate.adapters import replica_from_sizing
from llmfleet.features.simulate.spec import KV_CACHE_USAGE_SUM, QUEUE, ScalingSpec, Trigger

API = ApiPricing()


def overlay(
    name: str,
    model_id: str,
    gpu: str,
    tp: int,
    length: int,
    min_r: int,
    max_r: int,
    kv_target: float | None = 0.7,
) -> OverlayCost:
    spec = catalog.find_model(model_id)
    size = sizing.size(spec, catalog.get_gpu(gpu), tp)
    replica = replica_from_sizing(size, length, load_s=0.0, name=name)
    triggers = [Trigger("queue-depth", QUEUE, 2.0)]
    if kv_target is not None:
        triggers.append(Trigger("kv-cache-usage", KV_CACHE_USAGE_SUM, kv_target))
    return OverlayCost(
        name,
        size.gpu,
        tp,
        min_r,
        max_r,
        "test",
        replica=replica,
        scaling=ScalingSpec(tuple(triggers), min_r, max_r),
    )


def fleet() -> list[OverlayCost]:
    """Two identical 8B overlays (the same cost line and break-even point), a Qwen at another
    break-even, a 70B whose break-even is out of reach at max replicas, a 70B that could serve
    its break-even volume only with more than min replicas, and one whose capacity is unknown."""
    unknown = OverlayCost(
        "mystery", catalog.get_gpu("a100-40gb"), 2, 1, 3, "test", capacity_problem="model not in the catalog"
    )
    return [
        overlay("llama-8b-a", "meta-llama/Llama-3.1-8B-Instruct", "l4", 1, 8192, 1, 4),
        overlay("llama-8b-b", "meta-llama/Llama-3.1-8B-Instruct", "l4", 1, 8192, 1, 4),
        overlay("qwen-h100", "Qwen/Qwen2.5-7B-Instruct", "h100-80gb", 1, 32768, 1, 3),
        overlay("llama-70b", "meta-llama/Llama-3.1-70B-Instruct", "a100-80gb", 4, 65536, 1, 1),
        overlay("llama-70b-h100", "meta-llama/Llama-3.1-70B-Instruct", "h100-80gb", 2, 16384, 1, 3),
        unknown,
    ]


@pytest.fixture(scope="module")
def chart():
    costs = fleet()
    fig = cost_chart.build(costs, API, 1000)
    fig.canvas.draw()
    yield fig, costs
    cost_chart.close(fig)


def overlay_lines(ax):
    return [line for line in ax.get_lines() if (line.get_gid() or "").startswith("overlay:")]


def dash_pattern(line):
    offset, dashes = line._unscaled_dash_pattern  # what the line is drawn with
    return (offset, tuple(dashes) if dashes else None)


def test_the_request_axis_is_logarithmic(chart):
    fig, _ = chart
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    low, high = ax.get_xlim()
    assert low <= 1000 <= high and high / low >= 1e4
    # The --requests-per-day marker is drawn at 1,000 requests/day, inside the axis.
    marker = next(line for line in ax.get_lines() if line.get_gid() == "requests")
    assert list(marker.get_xdata()) == [1000, 1000]


def test_every_overlay_has_its_own_colour_and_line_style(chart):
    fig, costs = chart
    lines = overlay_lines(fig.axes[0])
    assert [line.get_gid() for line in lines] == [f"overlay:{c.name}" for c in costs]
    colours = [to_rgba(line.get_color()) for line in lines]
    styles = [dash_pattern(line) for line in lines]
    assert len(set(colours)) == len(lines), colours
    assert len(set(styles)) == len(lines), styles
    # The two identical overlays: the first is drawn wider, a halo around the second.
    first, second = lines[0], lines[1]
    assert list(first.get_ydata()) == list(second.get_ydata())
    assert first.get_linewidth() > second.get_linewidth() + 1


def test_the_legend_names_every_line_and_hides_none(chart):
    fig, costs = chart
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    for c in costs:
        assert any(t.startswith(f"{c.name}:") for t in texts), c.name
    assert any(t.startswith("hosted API") for t in texts)
    assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    by_name = {t.split(":")[0]: t for t in texts}
    assert "break-even not reachable at max replicas" in by_name["llama-70b"]
    assert "capacity unknown" in by_name["mystery"]
    assert "no break-even (API cheaper at every volume)" in by_name["llama-70b-h100"]


def test_break_even_points_are_labelled_clear_of_everything(chart):
    fig, costs = chart
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_gid() == "break-even-label"]
    reachable = {
        (round(c.break_even(API), 3), round(c.per_day_min, 6))
        for c in costs
        if c.verdict(API)["status"] == "reachable"
    }
    # The identical 8B overlays share one point and one label naming both.
    assert len(reachable) == 2 and len(labels) == 2
    assert any("llama-8b-a, llama-8b-b" in t.get_text() for t in labels)
    markers = [line for line in ax.get_lines() if line.get_gid() == "break-even"]
    assert {
        (round(float(m.get_xdata()[0]), 3), round(float(m.get_ydata()[0]), 6)) for m in markers
    } == reachable
    boxes = [cost_chart.label_box(t, renderer) for t in labels]
    area = ax.get_window_extent(renderer)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    for box in boxes:
        assert area.contains(box.x0, box.y0) and area.contains(box.x1, box.y1)
        for line in ax.get_lines():
            path = line.get_transform().transform_path(line.get_path())
            if line.get_gid() == "break-even":
                x, y = path.vertices[0]
                assert not box.overlaps(Bbox.from_extents(x - 8, y - 8, x + 8, y + 8))
            else:
                assert not path.intersects_bbox(box, filled=False), (line.get_gid(), box)


def test_readable_at_half_size(chart):
    fig, _ = chart
    ax = fig.axes[0]
    texts = [
        ax.title,
        ax.xaxis.label,
        ax.yaxis.label,
        *ax.texts,
        *fig.legends[0].get_texts(),
        *ax.get_xticklabels(),
        *ax.get_yticklabels(),
    ]
    texts = [t for t in texts if t.get_visible() and t.get_text()]
    assert len(texts) > 10
    for text in texts:
        half_size_px = text.get_fontsize() * fig.dpi / 72 / 2
        assert half_size_px >= 10, (text.get_text(), text.get_fontsize())
    for line in overlay_lines(ax):
        assert line.get_linewidth() * fig.dpi / 72 / 2 >= 2


def test_the_repository_chart(cli, repo_copy, tmp_path):
    """The real overlays through the command: the same properties hold."""
    from llmfleet.pipeline.config import load_config
    from llmfleet.pipeline.runner import iter_overlay_models

    costs = [
        c for c in (estimate.overlay_cost(m) for _, m in iter_overlay_models(load_config(repo_copy))) if c
    ]
    fig = cost_chart.build(costs, API, 1000)
    try:
        fig.canvas.draw()
        ax = fig.axes[0]
        lines = overlay_lines(ax)
        assert len({to_rgba(line.get_color()) for line in lines}) == len(lines) == len(costs)
        assert len({dash_pattern(line) for line in lines}) == len(lines)
        renderer = fig.canvas.get_renderer()
        assert not fig.legends[0].get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    finally:
        cost_chart.close(fig)
    png = tmp_path / "estimate.png"
    result = cli(["cost", "--plot", str(png)], cwd=repo_copy)
    assert result.exit_code == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- the numbers the chart draws -------------------------------------------------------------------


def test_capacity_at_the_kv_target_by_hand():
    c = overlay("m", "meta-llama/Llama-3.1-8B-Instruct", "l4", 1, 8192, 1, 4, kv_target=0.6)
    cap = c.capacity(API)
    replica = c.replica
    held = 500 + 200 / 2  # a running request holds its prompt and half its output
    batch = 0.6 * replica.kv_tokens / held  # running requests at the KV-usage target
    assert batch < replica.batch_limit(500, 200)
    assert cap.basis == "autoscaling-target" and "kv-cache-usage target 0.6" in cap.detail
    assert cap.per_replica_rps == pytest.approx(replica.throughput(batch, 500, 200))
    assert cap.at_max_per_day == pytest.approx(4 * cap.per_replica_rps * 86_400)
    assert cap.full_at_max_per_day > cap.at_max_per_day


def test_capacity_without_a_target_is_the_sizing():
    c = overlay("m", "meta-llama/Llama-3.1-8B-Instruct", "l4", 1, 8192, 1, 4, kv_target=None)
    c.scaling = None
    cap = c.capacity(API)
    assert cap.basis == "sizing" and cap.per_replica_rps == cap.full_per_replica_rps


def test_unreachable_break_even_says_how_many_replicas_and_what_they_cost():
    c = overlay("llama-70b", "meta-llama/Llama-3.1-70B-Instruct", "a100-80gb", 4, 65536, 1, 1)
    v = c.verdict(API)
    cap = v["capacity"]
    assert v["break_even"] > cap.at_max_per_day and v["status"] == "not-reachable"
    assert v["replicas_for_break_even"] == -(-v["break_even"] // cap.per_replica_per_day)
    text = report.format_text([c], API, 1000)
    assert f"not reachable at max replicas: raise max replicas to {v['replicas_for_break_even']}" in text
    assert "the API is cheaper at every volume" in text
    assert c.cheaper_at(v["break_even"], API) == "api"
